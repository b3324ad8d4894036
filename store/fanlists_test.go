package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/fan"
)

func activityKeys(t *testing.T, db interface {
	FindActivitiesOf(context.Context, string) ([]hyperlieu.Activity, error)
}, userID string) []string {
	t.Helper()
	acts, err := db.FindActivitiesOf(context.Background(), userID)
	if err != nil {
		t.Fatalf("FindActivitiesOf: %v", err)
	}
	keys := []string{}
	for _, a := range acts {
		keys = append(keys, a.SourceKey)
	}
	return keys
}

// TestFanListsCrashAndReplay: an activity listed but never stored (a crash
// between the two) is not one; its retry is, once; a replay (Conflict),
// even for another customer, lists nothing more.
func TestFanListsCrashAndReplay(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	a := hyperlieu.Activity{UserID: "u1", Kind: hyperlieu.ActivityCheckIn, SourceKey: "checkin:1", ShopID: "s1", At: now}
	if err := db.ListActivityOnly(ctx, a); err != nil {
		t.Fatal(err)
	}
	if got := activityKeys(t, db, "u1"); len(got) != 0 {
		t.Fatalf("after a crash before the insert: %v, want none", got)
	}
	if err := db.CreateActivity(ctx, a); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if err := db.CreateActivity(ctx, a); hyperlieu.KindOf(err) != hyperlieu.Conflict {
		t.Fatalf("replay: %v, want Conflict", err)
	}
	other := a
	other.UserID = "u2"
	if err := db.CreateActivity(ctx, other); hyperlieu.KindOf(err) != hyperlieu.Conflict {
		t.Fatalf("replay for another customer: %v, want Conflict", err)
	}
	b := hyperlieu.Activity{UserID: "u1", Kind: hyperlieu.ActivityRedemption, SourceKey: "redeem:1", At: now.Add(-time.Hour)}
	if err := db.CreateActivity(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got := activityKeys(t, db, "u1"); len(got) != 2 || got[0] != "redeem:1" || got[1] != "checkin:1" {
		t.Errorf("u1's activities = %v, want [redeem:1 checkin:1] (oldest first)", got)
	}
	if got := activityKeys(t, db, "u2"); len(got) != 0 {
		t.Errorf("u2's activities = %v, want none (the replay was u1's)", got)
	}
	// A crash after the insert, before the listing was confirmed: the
	// pending entry's activity is read and counts.
	c := hyperlieu.Activity{UserID: "u1", Kind: hyperlieu.ActivityCheckIn, SourceKey: "checkin:2", At: now.Add(time.Minute)}
	if err := db.ListActivityOnly(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := db.StoreActivityOnly(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got := activityKeys(t, db, "u1"); len(got) != 3 || got[2] != "checkin:2" {
		t.Errorf("after a crash before the confirmation: %v, want checkin:2 last of 3", got)
	}
}

// TestMigrateFanLists lists the activities, ledger entries and referrals
// an older version stored, once, and erasure empties the lists.
func TestMigrateFanLists(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	a := hyperlieu.Activity{UserID: "u1", Kind: hyperlieu.ActivityCheckIn, SourceKey: "checkin:old", At: now.Add(-time.Hour)}
	e := fan.LedgerEntry{ID: "earn:checkin:checkin:old", UserID: "u1", Amount: 10, Reason: "checkin", SourceKey: "checkin:old", At: now.Add(-time.Hour)}
	r := fan.Referral{RefereeID: "u2", ReferrerID: "u1", Code: "C", Status: fan.ReferralPending, CreatedAt: now.Add(-time.Hour)}
	if err := db.InsertFansUnlisted(ctx, a, e, r); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateLedgerEntry(ctx, fan.LedgerEntry{ID: "earn:x:new", UserID: "u1", Amount: 5, At: now}); err != nil {
		t.Fatal(err)
	}
	if n, err := db.MigrateLists(ctx); err != nil || n != 3 {
		t.Fatalf("MigrateLists = %d, %v; want 3", n, err)
	}
	if n, err := db.MigrateLists(ctx); err != nil || n != 0 {
		t.Fatalf("second MigrateLists = %d, %v; want 0 (done once)", n, err)
	}
	if got := activityKeys(t, db, "u1"); len(got) != 1 || got[0] != a.SourceKey {
		t.Errorf("activities = %v, want the older one", got)
	}
	if got := ledgerSum(t, db, "u1"); got != 15 {
		t.Errorf("balance = %d, want 15 (older 10, newer 5)", got)
	}
	refs, err := db.FindReferralsBy(ctx, "u1")
	if err != nil || len(refs) != 1 || refs[0].RefereeID != "u2" {
		t.Fatalf("referrals = %+v, %v; want u2's", refs, err)
	}
	// The referee erased: gone from the referrer's page.
	if err := db.DeleteFanData(ctx, "u2", nil); err != nil {
		t.Fatal(err)
	}
	if refs, err := db.FindReferralsBy(ctx, "u1"); err != nil || len(refs) != 0 {
		t.Errorf("referrals after the referee's erasure = %+v, %v; want none", refs, err)
	}
	if err := db.DeleteFanData(ctx, "u1", nil); err != nil {
		t.Fatal(err)
	}
	if got := activityKeys(t, db, "u1"); len(got) != 0 {
		t.Errorf("activities after erasure = %v, want none", got)
	}
	if got := ledgerSum(t, db, "u1"); got != 0 {
		t.Errorf("balance after erasure = %d, want 0", got)
	}
}

// TestFansSpendTwoInstances earns and spends on two instances of one
// database at once: each sees every activity and entry, whichever wrote
// it, and exactly as many claims win as the balance affords.
func TestFansSpendTwoInstances(t *testing.T) {
	dbs, _ := sharedDB(t, 2)
	ctx := context.Background()
	fans := []*fan.Service{newFans(t, dbs[0], fan.Options{Earn: fan.EarningRules{CheckIn: 50}}), newFans(t, dbs[1], fan.Options{Earn: fan.EarningRules{CheckIn: 50}})}
	u := newCustomer(t, dbs[0], time.Now().Add(-30*24*time.Hour))
	r, err := fans[0].CreateReward(ctx, reward("Coffee", 40))
	if err != nil {
		t.Fatal(err)
	}
	concurrently(t, 20, func(i int) error { // each check-in twice, once on each instance
		return fans[i%2].RecordActivity(ctx, hyperlieu.Activity{UserID: u.ID, Kind: hyperlieu.ActivityCheckIn, SourceKey: fmt.Sprintf("checkin:%d", i/2)})
	})
	for _, db := range dbs {
		if got := activityKeys(t, db, u.ID); len(got) != 10 {
			t.Errorf("activities = %d, want 10 on either instance", len(got))
		}
		if got := ledgerSum(t, db, u.ID); got != 500 {
			t.Errorf("balance = %d, want 500 on either instance", got)
		}
	}
	var mu sync.Mutex
	wins := 0
	concurrently(t, 20, func(i int) error {
		_, _, err := fans[i%2].ClaimReward(ctx, u.ID, r.ID)
		if hyperlieu.KindOf(err) == hyperlieu.Conflict {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		wins++
		return err
	})
	if wins != 500/40 {
		t.Errorf("claims won %d times, want %d", wins, 500/40)
	}
	for _, db := range dbs {
		if got := ledgerSum(t, db, u.ID); got != 500-40*wins {
			t.Errorf("balance = %d, want %d", got, 500-40*wins)
		}
	}
}

// TestFanListsErasedElsewhere: what an instance holds of a customer's
// history goes once another instance erased them.
func TestFanListsErasedElsewhere(t *testing.T) {
	dbs, _ := sharedDB(t, 2)
	ctx := context.Background()
	fans := newFans(t, dbs[0], fan.Options{Earn: fan.EarningRules{CheckIn: 50}})
	u := newCustomer(t, dbs[0], time.Now().Add(-30*24*time.Hour))
	checkIn(t, fans, u.ID, "c1", time.Now())
	if got := activityKeys(t, dbs[1], u.ID); len(got) != 1 {
		t.Fatalf("activities read on the other instance = %v, want one", got)
	}
	if got := ledgerSum(t, dbs[1], u.ID); got != 50 {
		t.Fatalf("balance on the other instance = %d, want 50", got)
	}
	if err := dbs[0].DeleteFanData(ctx, u.ID, nil); err != nil {
		t.Fatal(err)
	}
	if got := activityKeys(t, dbs[1], u.ID); len(got) != 0 {
		t.Errorf("activities on the other instance after erasure = %v, want none", got)
	}
	if got := ledgerSum(t, dbs[1], u.ID); got != 0 {
		t.Errorf("balance on the other instance after erasure = %d, want 0", got)
	}
}
