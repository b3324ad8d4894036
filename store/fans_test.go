package store_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/fan"
	"github.com/hyperlieu/hyperlieu/geo"
	"github.com/hyperlieu/hyperlieu/store"
)

func newFans(t testing.TB, db *store.DB, opts fan.Options) *fan.Service {
	t.Helper()
	return fan.NewService(db, fakeShops{}, &fakeNotifier{}, fakeDevices{}, opts, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func newCustomer(t testing.TB, db *store.DB, created time.Time) hyperlieu.User {
	t.Helper()
	u := hyperlieu.User{
		ID: hyperlieu.NewID(), Email: hyperlieu.NewID() + "@example.com", DisplayName: "Fan", PasswordHash: "h",
		Roles: []hyperlieu.Role{hyperlieu.RoleCustomer}, Prefs: hyperlieu.DefaultPreferences("en", "Europe/Paris"),
		CreatedAt: created, UpdatedAt: created,
	}
	if err := db.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	return u
}

func ledgerSum(t testing.TB, db *store.DB, userID string) int {
	t.Helper()
	es, err := db.FindLedgerOf(context.Background(), userID)
	if err != nil {
		t.Fatalf("FindLedgerOf: %v", err)
	}
	sum := 0
	for _, e := range es {
		sum += e.Amount
	}
	return sum
}

// TestFansLedgerConcurrent earns (with replays) and spends at the same time,
// then spends a known balance from many goroutines: the balance is the sum
// of the ledger, never negative, and exactly as many claims win as it affords.
func TestFansLedgerConcurrent(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	fans := newFans(t, db, fan.Options{Earn: fan.EarningRules{CheckIn: 50}})
	u := newCustomer(t, db, time.Now().Add(-30*24*time.Hour))
	r, err := fans.CreateReward(ctx, reward("Coffee", 40))
	if err != nil {
		t.Fatalf("CreateReward: %v", err)
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	claims := 0
	for i := range 10 {
		for range 2 { // each check-in is recorded twice: it pays once
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := fans.RecordActivity(ctx, hyperlieu.Activity{UserID: u.ID, Kind: hyperlieu.ActivityCheckIn, SourceKey: fmt.Sprintf("checkin:e%d:%s", i, u.ID)}); err != nil {
					t.Errorf("RecordActivity: %v", err)
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := fans.ClaimReward(ctx, u.ID, r.ID)
			mu.Lock()
			defer mu.Unlock()
			switch hyperlieu.KindOf(err) {
			case hyperlieu.Conflict:
			case hyperlieu.Internal:
				if err != nil {
					t.Errorf("ClaimReward: %v", err)
					return
				}
				claims++
			default:
				t.Errorf("ClaimReward: %v", err)
			}
		}()
	}
	wg.Wait()
	l, err := fans.Loyalty(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := 10*50 - 40*claims; l.Balance != want || l.Balance != ledgerSum(t, db, u.ID) || l.Balance < 0 {
		t.Fatalf("balance = %d (ledger sum %d), want %d after %d claims", l.Balance, ledgerSum(t, db, u.ID), want, claims)
	}

	// Now only spends: exactly balance/cost of them may win.
	before := l.Balance
	wins := 0
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := fans.ClaimReward(ctx, u.ID, r.ID)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				wins++
			} else if hyperlieu.KindOf(err) != hyperlieu.Conflict {
				t.Errorf("ClaimReward: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != before/40 {
		t.Errorf("concurrent claims won %d times, want %d (balance %d, cost 40)", wins, before/40, before)
	}
	if got := ledgerSum(t, db, u.ID); got != before-40*wins || got < 0 {
		t.Errorf("ledger sum = %d, want %d", got, before-40*wins)
	}
}

// TestFansReferralCapExact rewards referrals of one referrer concurrently:
// never more than the monthly cap.
func TestFansReferralCapExact(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	fans := newFans(t, db, fan.Options{ReferralCapPerMonth: 2, Earn: fan.EarningRules{ReferralReferrer: 100, ReferralReferee: 10}})
	referrer := newCustomer(t, db, time.Now())
	if err := fans.OnRegister(ctx, referrer, hyperlieu.Registration{}); err != nil {
		t.Fatal(err)
	}
	code := fan.ReferralCodeOf(referrer.ID)
	var friends []hyperlieu.User
	for range 5 {
		f := newCustomer(t, db, time.Now())
		if err := fans.OnRegister(ctx, f, hyperlieu.Registration{ReferralCode: code}); err != nil {
			t.Fatal(err)
		}
		friends = append(friends, f)
	}
	var wg sync.WaitGroup
	for _, f := range friends {
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := fans.RecordActivity(ctx, hyperlieu.Activity{UserID: f.ID, Kind: hyperlieu.ActivityRedemption, SourceKey: "redeem:" + f.ID}); err != nil {
					t.Errorf("RecordActivity: %v", err)
				}
			}()
		}
	}
	wg.Wait()
	if got := ledgerSum(t, db, referrer.ID); got != 200 {
		t.Errorf("referrer earned %d, want 200 (cap 2 × 100)", got)
	}
	info, err := fans.MyReferral(ctx, referrer.ID)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, r := range info.Referrals {
		count[r.Status]++
	}
	if count[fan.ReferralRewarded] != 2 || count[fan.ReferralRefused] != 3 {
		t.Errorf("referral statuses = %v, want 2 rewarded, 3 refused", count)
	}
}

func TestFansEraseLeavesNoTrace(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	fans := newFans(t, db, fan.Options{})
	u := newCustomer(t, db, time.Now().Add(-time.Hour))
	if err := fans.OnRegister(ctx, u, hyperlieu.Registration{}); err != nil {
		t.Fatal(err)
	}
	if err := fans.RecordActivity(ctx, hyperlieu.Activity{UserID: u.ID, Kind: hyperlieu.ActivityCheckIn, SourceKey: "checkin:e1:" + u.ID}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := fans.EraseUser(ctx, u.ID); err != nil {
			t.Fatalf("EraseUser: %v", err)
		}
		if err := db.EraseUser(ctx, u.ID); err != nil {
			t.Fatalf("store EraseUser: %v", err)
		}
	}
	if es, _ := db.FindLedgerOf(ctx, u.ID); len(es) != 0 {
		t.Errorf("ledger after erase = %v, want none", es)
	}
	if as, _ := db.FindActivitiesOf(ctx, u.ID); len(as) != 0 {
		t.Errorf("activities after erase = %v, want none", as)
	}
	if _, err := db.FindUserByEmail(ctx, u.Email); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("FindUserByEmail after erase = %v, want NotFound", err)
	}
	if _, err := db.FindReferralCode(ctx, fan.ReferralCodeOf(u.ID)); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("referral code after erase = %v, want NotFound", err)
	}
}

// fakeShops knows one shop, managed by one user.
type fakeShops struct{ shopID, managerID string }

func (f fakeShops) ShopPlace(ctx context.Context, id string) (geo.Point, string, error) {
	if id != f.shopID {
		return geo.Point{}, "", hyperlieu.Errorf(hyperlieu.NotFound, "shop not found")
	}
	return geo.Point{Lat: 48.86, Lng: 2.35}, "Europe/Paris", nil
}

func (f fakeShops) ShopName(ctx context.Context, id string) (string, error) {
	if id != f.shopID {
		return "", hyperlieu.Errorf(hyperlieu.NotFound, "shop not found")
	}
	return "Le Comptoir", nil
}

func (f fakeShops) ManagesShop(ctx context.Context, userID, shopID string) (bool, error) {
	return shopID == f.shopID && userID == f.managerID, nil
}

func (f fakeShops) MayManageShop(ctx context.Context, a hyperlieu.Actor, shopID string) error {
	if ok, _ := f.ManagesShop(ctx, a.UserID, shopID); !a.CanManage(ok) {
		return hyperlieu.Errorf(hyperlieu.Forbidden, "you do not manage this shop")
	}
	return nil
}

// fakeNotifier records what would be queued.
type fakeNotifier struct {
	mu   sync.Mutex
	reqs []hyperlieu.NotificationRequest
}

func (n *fakeNotifier) Notify(ctx context.Context, reqs ...hyperlieu.NotificationRequest) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.reqs = append(n.reqs, reqs...)
	return nil
}

func (n *fakeNotifier) ReserveContact(ctx context.Context, u hyperlieu.User, at time.Time) (bool, error) {
	return true, nil
}

func (n *fakeNotifier) kinds(userID string) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, r := range n.reqs {
		if r.UserID == userID {
			out = append(out, string(r.Kind)+":"+r.Vars["step"])
		}
	}
	return out
}

type fakeDevices map[string][]string

func (d fakeDevices) DeviceTokensOf(ctx context.Context, userID string) ([]string, error) {
	return d[userID], nil
}

func (d fakeDevices) InstallIDsOf(ctx context.Context, userID string) ([]string, error) {
	return d[userID], nil
}

func TestFansFeedbackGestureFlow(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	now := time.Now().UTC()
	manager := newCustomer(t, db, now)
	manager.Roles = append(manager.Roles, hyperlieu.RoleManager)
	if err := db.UpdateUser(ctx, manager); err != nil {
		t.Fatal(err)
	}
	other := newCustomer(t, db, now)
	other.Roles = append(other.Roles, hyperlieu.RoleManager)
	if err := db.UpdateUser(ctx, other); err != nil {
		t.Fatal(err)
	}
	ana := newCustomer(t, db, now)
	n := &fakeNotifier{}
	clock := now
	fans := fan.NewService(db, fakeShops{"shop1", manager.ID}, n, fakeDevices{}, fan.Options{Now: func() time.Time { return clock }}, slog.New(slog.NewTextHandler(io.Discard, nil)))

	if _, err := fans.GiveFeedback(ctx, ana.ID, "nope", 3, ""); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("GiveFeedback(unknown shop) = %v, want NotFound", err)
	}
	low, err := fans.GiveFeedback(ctx, ana.ID, "shop1", 1, "Cold coffee")
	if err != nil {
		t.Fatal(err)
	}
	if got := n.kinds(manager.ID); len(got) != 1 || got[0] != "low_rating:" {
		t.Errorf("manager notifications = %v, want one low_rating", got)
	}
	if got := n.kinds(other.ID); len(got) != 0 {
		t.Errorf("another shop's manager got %v, want nothing", got)
	}
	mgr := hyperlieu.Actor{UserID: manager.ID, Roles: []hyperlieu.Role{hyperlieu.RoleManager}}
	intruder := hyperlieu.Actor{UserID: other.ID, Roles: []hyperlieu.Role{hyperlieu.RoleManager}}
	if _, _, err := fans.ShopFeedback(ctx, intruder, "shop1", true, "", 0); hyperlieu.KindOf(err) != hyperlieu.Forbidden {
		t.Errorf("ShopFeedback(other manager) = %v, want Forbidden", err)
	}
	if fs, _, err := fans.ShopFeedback(ctx, mgr, "shop1", true, "", 0); err != nil || len(fs) != 1 {
		t.Fatalf("ShopFeedback(needs attention) = %v, %v, want the low rating", fs, err)
	}
	if _, err := fans.MakeGesture(ctx, mgr, "shop1", fan.GestureRequest{UserID: other.ID, FeedbackID: low.ID, Message: "Sorry", Points: 5}); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("MakeGesture(feedback of someone else) = %v, want NotFound", err)
	}
	g, err := fans.MakeGesture(ctx, mgr, "shop1", fan.GestureRequest{UserID: ana.ID, FeedbackID: low.ID, Message: "Sorry", OfferTitle: "A hot coffee on us"})
	if err != nil {
		t.Fatal(err)
	}
	if !fan.ValidRewardCode(g.Code) {
		t.Errorf("gesture code %q is not a valid code", g.Code)
	}
	if fs, _, _ := fans.ShopFeedback(ctx, mgr, "shop1", true, "", 0); len(fs) != 0 {
		t.Errorf("needs attention after gesture = %v, want none", fs)
	}
	n.mu.Lock()
	var gesture *hyperlieu.NotificationRequest
	for i, r := range n.reqs {
		if r.Kind == hyperlieu.KindGesture {
			gesture = &n.reqs[i]
		}
	}
	n.mu.Unlock()
	if gesture == nil || gesture.UserID != ana.ID || gesture.Category != "" || gesture.Vars["code"] != g.Code || gesture.Vars["message"] != "Sorry" {
		t.Errorf("gesture notification = %+v, want a service message to Ana with the code and message", gesture)
	}
	// Stats on a scripted clock: back 30 days later counts, not 90.
	st, _ := fans.ShopGestureStats(ctx, mgr, "shop1")
	if st.Customers != 1 || st.CameBack != 0 {
		t.Errorf("stats = %+v, want 1 customer, none back", st)
	}
	clock = now.Add(90 * 24 * time.Hour)
	if err := fans.RecordActivity(ctx, hyperlieu.Activity{UserID: ana.ID, Kind: hyperlieu.ActivityCheckIn, SourceKey: "late", At: now.Add(89 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if st, _ := fans.ShopGestureStats(ctx, mgr, "shop1"); st.CameBack != 0 {
		t.Errorf("stats after a check-in 89 days later = %+v, want none back", st)
	}
	if err := fans.RecordActivity(ctx, hyperlieu.Activity{UserID: ana.ID, Kind: hyperlieu.ActivityCheckIn, SourceKey: "soon", At: now.Add(30 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if st, _ := fans.ShopGestureStats(ctx, mgr, "shop1"); st.CameBack != 1 {
		t.Errorf("stats after a check-in 30 days later = %+v, want 1 back", st)
	}
	// Erasing Ana keeps the shop's numbers.
	if err := fans.EraseUser(ctx, ana.ID); err != nil {
		t.Fatal(err)
	}
	if st, _ := fans.ShopGestureStats(ctx, mgr, "shop1"); st.Customers != 1 || st.CameBack != 1 {
		t.Errorf("stats after erasure = %+v, want 1 customer, 1 back", st)
	}
	if fs, _, _ := fans.ShopFeedback(ctx, mgr, "shop1", false, "", 0); len(fs) != 1 || fs[0].UserID != "" || fs[0].Comment != "" || fs[0].Rating != 1 {
		t.Errorf("feedback after erasure = %+v, want the rating without author or comment", fs)
	}
}

func TestFansReferralFraud(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	a, b, c := newCustomer(t, db, time.Now()), newCustomer(t, db, time.Now()), newCustomer(t, db, time.Now())
	devices := fakeDevices{a.ID: {"tok-a", "tok-shared"}, b.ID: {"tok-shared"}, c.ID: {"tok-c"}}
	fans := fan.NewService(db, fakeShops{}, &fakeNotifier{}, devices, fan.Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, u := range []hyperlieu.User{a, b, c} {
		if err := fans.OnRegister(ctx, u, hyperlieu.Registration{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := fans.Attribute(ctx, a, fan.ReferralCodeOf(a.ID)); hyperlieu.KindOf(err) != hyperlieu.Invalid {
		t.Errorf("Attribute(own code) = %v, want Invalid", err)
	}
	for _, u := range []hyperlieu.User{b, c} {
		if err := fans.Attribute(ctx, u, fan.ReferralCodeOf(a.ID)); err != nil {
			t.Fatal(err)
		}
		if err := fans.RecordActivity(ctx, hyperlieu.Activity{UserID: u.ID, Kind: hyperlieu.ActivityCheckIn, SourceKey: "c:" + u.ID}); err != nil {
			t.Fatal(err)
		}
	}
	if err := fans.Attribute(ctx, c, fan.ReferralCodeOf(b.ID)); hyperlieu.KindOf(err) != hyperlieu.Conflict {
		t.Errorf("Attribute(second referrer) = %v, want Conflict", err)
	}
	rb, _ := db.FindReferral(ctx, b.ID)
	rc, _ := db.FindReferral(ctx, c.ID)
	if rb.Status != fan.ReferralRefused || rc.Status != fan.ReferralRewarded {
		t.Errorf("statuses = %s (%s), %s; want refused (same device), rewarded", rb.Status, rb.Reason, rc.Status)
	}
	if got := ledgerSum(t, db, a.ID); got != 100 {
		t.Errorf("referrer earned %d, want 100 (one honest referral)", got)
	}
}

// TestFansJourney steps a clock through the first days: each step is sent
// once, when due, and not after the customer refused its category.
func TestFansJourney(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	start := time.Now().UTC().Add(-time.Hour)
	n := &fakeNotifier{}
	clock := start
	fans := fan.NewService(db, fakeShops{}, n, fakeDevices{}, fan.Options{Now: func() time.Time { return clock }}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	u := newCustomer(t, db, start)
	if err := fans.OnRegister(ctx, u, hyperlieu.Registration{}); err != nil {
		t.Fatal(err)
	}
	shy := newCustomer(t, db, start)
	shy.Prefs.Categories = []string{hyperlieu.CategoryEvents}
	if err := db.UpdateUser(ctx, shy); err != nil {
		t.Fatal(err)
	}
	for _, d := range []int{1, 3, 4, 7, 8, 30} {
		clock = start.Add(time.Duration(d) * 24 * time.Hour)
		if _, err := fans.RefreshSegments(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := n.kinds(u.ID); slices.Contains(got, "welcome:") || !slices.Contains(got, "journey:events_near_you") || !slices.Contains(got, "journey:first_offer") {
		t.Errorf("notifications of a new customer = %v, want both steps and no welcome (the notification service sends it)", got)
	}
	if got := n.kinds(shy.ID); slices.Contains(got, "journey:first_offer") || !slices.Contains(got, "journey:events_near_you") {
		t.Errorf("notifications of a customer refusing offers = %v, want the events step only", got)
	}
}

// reward asks for an active reward named name costing cost points.
func reward(name string, cost int) fan.RewardPatch {
	return fan.RewardPatch{Name: &name, Cost: &cost}
}
