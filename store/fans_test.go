package store_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/store"
)

func newFans(t *testing.T, db *store.DB, opts hyperlieu.FanOptions) *hyperlieu.FanService {
	t.Helper()
	return hyperlieu.NewFanService(db, nil, nil, nil, opts, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func newCustomer(t *testing.T, db *store.DB, created time.Time) hyperlieu.User {
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

func ledgerSum(t *testing.T, db *store.DB, userID string) int {
	t.Helper()
	es, err := db.LedgerOf(context.Background(), userID)
	if err != nil {
		t.Fatalf("LedgerOf: %v", err)
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
	fans := newFans(t, db, hyperlieu.FanOptions{Earn: hyperlieu.EarningRules{CheckIn: 50}})
	u := newCustomer(t, db, time.Now().Add(-30*24*time.Hour))
	r, err := fans.CreateReward(ctx, "Coffee", "", 40)
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
	fans := newFans(t, db, hyperlieu.FanOptions{ReferralCapPerMonth: 2, Earn: hyperlieu.EarningRules{ReferralReferrer: 100, ReferralReferee: 10}})
	referrer := newCustomer(t, db, time.Now())
	if err := fans.OnRegister(ctx, referrer, hyperlieu.Registration{}); err != nil {
		t.Fatal(err)
	}
	code := hyperlieu.ReferralCodeOf(referrer.ID)
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
	if count[hyperlieu.ReferralRewarded] != 2 || count[hyperlieu.ReferralRefused] != 3 {
		t.Errorf("referral statuses = %v, want 2 rewarded, 3 refused", count)
	}
}

func TestFansEraseLeavesNoTrace(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	fans := newFans(t, db, hyperlieu.FanOptions{})
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
	if es, _ := db.LedgerOf(ctx, u.ID); len(es) != 0 {
		t.Errorf("ledger after erase = %v, want none", es)
	}
	if as, _ := db.ActivitiesOf(ctx, u.ID); len(as) != 0 {
		t.Errorf("activities after erase = %v, want none", as)
	}
	if _, err := db.FindUserByEmail(ctx, u.Email); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("FindUserByEmail after erase = %v, want NotFound", err)
	}
	if _, err := db.FindReferralCode(ctx, hyperlieu.ReferralCodeOf(u.ID)); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("referral code after erase = %v, want NotFound", err)
	}
}
