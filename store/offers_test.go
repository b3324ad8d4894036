package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/campaign"
	"github.com/hyperlieu/hyperlieu/fan"
)

// TestMigrateLegacyCodes adopts a reward code and a gesture code of the
// older format into the wallet: the till finds them by the code as typed,
// and a second start neither adopts nor reads anything more: the migration
// is recorded as done (no scan of the ledger at every start).
func TestMigrateLegacyCodes(t *testing.T) {
	t.Parallel()
	db, ctx := newDB(t), context.Background()
	reward, gesture := fan.NewRewardCode(), fan.NewRewardCode()
	now := time.Now().UTC()
	if err := db.CreateLedgerEntry(ctx, fan.LedgerEntry{ID: "claim1", UserID: "u1", Amount: -10, Reason: "reward: Coffee", Code: reward, SourceKey: "claim:1", At: now}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateGesture(ctx, fan.Gesture{ID: "g1", ShopID: "s1", ManagerID: "m1", UserID: "u1", Message: "Sorry", OfferTitle: "Cake", Code: gesture, At: now}); err != nil {
		t.Fatal(err)
	}
	exp := now.Add(24 * time.Hour)
	if n, err := db.MigrateLegacyCodes(ctx, exp); err != nil || n != 2 {
		t.Fatalf("MigrateLegacyCodes = %d, %v, want 2, nil", n, err)
	}
	late := fan.NewRewardCode() // cannot happen: codes are wallet codes now
	if err := db.CreateLedgerEntry(ctx, fan.LedgerEntry{ID: "claim2", UserID: "u1", Amount: -10, Reason: "reward: Tea", Code: late, SourceKey: "claim:2", At: now}); err != nil {
		t.Fatal(err)
	}
	if n, err := db.MigrateLegacyCodes(ctx, exp); err != nil || n != 0 {
		t.Fatalf("second MigrateLegacyCodes = %d, %v, want 0, nil (done once)", n, err)
	}
	for _, tc := range []struct{ typed, source, title string }{{reward, hyperlieu.OfferFromReward, "Coffee"}, {gesture, hyperlieu.OfferFromGesture, "Cake"}} {
		code, ok := campaign.NormalizeOfferCode(tc.typed)
		if !ok {
			t.Fatalf("NormalizeOfferCode(%q) refused an older code", tc.typed)
		}
		o, err := db.FindOfferByCode(ctx, code)
		if err != nil || o.UserID != "u1" || o.Source != tc.source || o.Title != tc.title {
			t.Errorf("FindOfferByCode(%q) = %+v, %v, want u1's %s offer %q", code, o, err, tc.source, tc.title)
		}
	}
	if w, _ := db.FindOffersOf(ctx, "u1"); len(w) != 2 {
		t.Errorf("wallet = %d offers, want 2", len(w))
	}
}
