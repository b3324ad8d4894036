package test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Issue 10, "Loyalty that cannot be gamed".

func TestLoyaltyIdempotentBySourceWhateverTheKind(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	admin := s.admin(t)
	ana := s.register(t, "Ana")

	// One source replayed as a check-in, then as a redemption and as
	// feedback: it paid as a check-in (50) the first time, and never again.
	key := "checkin:ev1:" + ana.ID
	s.recordActivity(t, admin, ana.ID, "checkin", key, time.Time{})
	s.recordActivity(t, admin, ana.ID, "redemption", key, time.Time{})
	s.recordActivity(t, admin, ana.ID, "feedback", key, time.Time{})
	if l := s.loyalty(t, ana); l.Balance != 50 || len(l.Recent) != 1 {
		t.Fatalf("loyalty after replays under other kinds = %+v, want balance 50 in one entry", l)
	}
}

// referralInfo is what GET /v1/me/referral answers.
type referralInfo struct {
	Code              string
	RewardedThisMonth int
	MonthlyCap        int
	Referrals         []struct{ Status, Reason string }
}

func (s *server) referral(t testing.TB, u user) referralInfo {
	t.Helper()
	var info referralInfo
	want(t, s.do(t, "GET", "/v1/me/referral", u.Token, nil), http.StatusOK).Decode(t, &info)
	return info
}

// referred signs a newcomer up with a referral code.
func (s *server) referred(t testing.TB, name, code string) user {
	t.Helper()
	userSeq.Lock()
	userSeq.n++
	email := fmt.Sprintf("%s-%d@e2e.test", strings.ToLower(name), userSeq.n)
	userSeq.Unlock()
	return authUser(t, want(t, s.do(t, "POST", "/v1/auth/register", "", map[string]any{
		"email": email, "password": "correct horse battery", "displayName": name, "referralCode": code,
	}), http.StatusCreated))
}

func TestLoyaltyErasedAccountsEarnNothing(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"HYPERLIEU_REFERRAL_CAP": "1"})
	admin := s.admin(t)

	// A rewarded friend who erases their account still holds the month's
	// slot: the count shown agrees with the cap that refuses the next one.
	rita := s.register(t, "Rita")
	fred := s.referred(t, "Fred", s.referral(t, rita).Code)
	s.recordActivity(t, admin, fred.ID, "checkin", "checkin:e1:"+fred.ID, time.Time{})
	want(t, s.do(t, "DELETE", "/v1/me", fred.Token, nil), http.StatusNoContent)
	if info := s.referral(t, rita); info.RewardedThisMonth != 1 {
		t.Errorf("rewardedThisMonth after the friend's erasure = %d, want 1 (the slot is still used)", info.RewardedThisMonth)
	}
	flo := s.referred(t, "Flo", s.referral(t, rita).Code)
	s.recordActivity(t, admin, flo.ID, "checkin", "checkin:e1:"+flo.ID, time.Time{})
	if info := s.referral(t, rita); info.RewardedThisMonth != 1 || len(info.Referrals) != 1 || info.Referrals[0].Status != "refused" {
		t.Errorf("referral after the cap = %+v, want 1 rewarded this month and Flo refused", info)
	}

	// Two referrers erase their accounts before their friends' first
	// check-in: nothing is paid to nobody, and no friend takes another's slot.
	var friends []user
	for _, name := range []string{"Rob", "Ron"} {
		r := s.register(t, name)
		friends = append(friends, s.referred(t, "Friend"+name, s.referral(t, r).Code))
		want(t, s.do(t, "DELETE", "/v1/me", r.Token, nil), http.StatusNoContent)
	}
	for _, f := range friends {
		s.recordActivity(t, admin, f.ID, "checkin", "checkin:e1:"+f.ID, time.Time{})
		var v struct {
			Referral *struct{ Status, Reason string }
		}
		want(t, s.do(t, "GET", "/v1/admin/users/"+f.ID, admin.Token, nil), http.StatusOK).Decode(t, &v)
		if v.Referral == nil || v.Referral.Status != "refused" || !strings.Contains(v.Referral.Reason, "erased") {
			t.Errorf("referral of a friend of an erased referrer = %+v, want refused because erased", v.Referral)
		}
	}
	if n := countDocs(t, s.MongoURI, "ledger", bson.D{{Key: "userId", Value: ""}}); n != 0 {
		t.Errorf("%d ledger entries with an empty user", n)
	}
	if n := countDocs(t, s.MongoURI, "referral_slots", bson.D{{Key: "referrerId", Value: ""}}); n != 0 {
		t.Errorf("%d referral slots of an empty referrer", n)
	}
}

// countDocs counts the documents of coll matching filter in the server's database.
func countDocs(t testing.TB, uri, coll string, filter bson.D) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	n, err := client.Database("hyperlieu").Collection(coll).CountDocuments(ctx, filter)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLoyaltySameDeviceReferralByInstallID(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	admin := s.admin(t)
	rita := s.register(t, "Rita")
	device := func(u user, token, install string) {
		t.Helper()
		want(t, s.do(t, "POST", "/v1/me/devices", u.Token, map[string]any{"token": token, "platform": "android", "installId": install}), http.StatusOK)
	}
	device(rita, "tok-rita-phone", "install-rita-phone")

	// Fred signs up with Rita's code on her phone: the push token moves to
	// his account, but the install is the same, so the referral is refused.
	fred := s.referred(t, "Fred", s.referral(t, rita).Code)
	device(fred, "tok-rita-phone", "install-rita-phone")
	s.recordActivity(t, admin, fred.ID, "checkin", "checkin:e1:"+fred.ID, time.Time{})
	info := s.referral(t, rita)
	if len(info.Referrals) != 1 || info.Referrals[0].Status != "refused" || !strings.Contains(info.Referrals[0].Reason, "same device") {
		t.Errorf("referral from the referrer's own phone = %+v, want refused for the same device", info.Referrals)
	}
	if l := s.loyalty(t, rita); l.Balance != 0 {
		t.Errorf("referrer balance = %d, want 0", l.Balance)
	}

	// A friend on a phone of their own is rewarded.
	flo := s.referred(t, "Flo", info.Code)
	device(flo, "tok-flo-phone", "install-flo-phone")
	s.recordActivity(t, admin, flo.ID, "checkin", "checkin:e1:"+flo.ID, time.Time{})
	if l := s.loyalty(t, rita); l.Balance != 100 {
		t.Errorf("referrer balance after a friend on their own phone = %d, want 100", l.Balance)
	}
	problemOf(t, s.do(t, "POST", "/v1/me/devices", flo.Token, map[string]any{"token": "t2", "platform": "ios", "installId": "has space"}), http.StatusUnprocessableEntity)
}

func TestLoyaltyReferralSignUpsPerAddressWeek(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"HYPERLIEU_REFERRALS_PER_ADDR_WEEK": "2"})
	rita := s.register(t, "Rita")
	code := s.referral(t, rita).Code
	// Every sign-up succeeds; past 2 from this address, the referral is refused.
	for _, name := range []string{"Fred", "Flo", "Fay"} {
		s.referred(t, name, code)
	}
	var refused []string
	for _, r := range s.referral(t, rita).Referrals {
		if r.Status == "refused" {
			refused = append(refused, r.Reason)
		}
	}
	if len(refused) != 1 || !strings.Contains(refused[0], "address") {
		t.Errorf("refused referrals = %v, want one, for the address limit", refused)
	}
}
