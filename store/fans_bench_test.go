package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/fan"
)

// BenchmarkFansRecordActivity pays one check-in (activity, ledger entry,
// segment recomputed) on the embedded database.
func BenchmarkFansRecordActivity(b *testing.B) {
	db := newDB(b)
	ctx := context.Background()
	fans := newFans(b, db, fan.Options{})
	u := newCustomer(b, db, time.Now().Add(-30*24*time.Hour))
	b.ResetTimer()
	for i := range b.N {
		if err := fans.RecordActivity(ctx, hyperlieu.Activity{UserID: u.ID, Kind: hyperlieu.ActivityCheckIn, SourceKey: fmt.Sprintf("b%d", i)}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFansClaimReward spends from a ledger of 200 entries.
func BenchmarkFansClaimReward(b *testing.B) {
	db := newDB(b)
	ctx := context.Background()
	fans := newFans(b, db, fan.Options{Earn: fan.EarningRules{CheckIn: 1000}})
	u := newCustomer(b, db, time.Now().Add(-30*24*time.Hour))
	for i := range 200 {
		if err := fans.RecordActivity(ctx, hyperlieu.Activity{UserID: u.ID, Kind: hyperlieu.ActivityCheckIn, SourceKey: fmt.Sprintf("c%d", i)}); err != nil {
			b.Fatal(err)
		}
	}
	r, err := fans.CreateReward(ctx, reward("Coffee", 1))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, _, err := fans.ClaimReward(ctx, u.ID, r.ID); err != nil {
			b.Fatal(err)
		}
	}
}
