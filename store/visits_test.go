package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/fan"
)

// Visits, asks and marks are keyed inserts (the second is Conflict), the
// counters add up, and erasure takes the customer's records but not the
// shop's figures.
func TestVisitsKeyedAndErased(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Millisecond)
	v := hyperlieu.Visit{Key: "location:u1:s1:1", UserID: "u1", ShopID: "s1", Source: hyperlieu.VisitDetected, At: at, LeftAt: at.Add(time.Minute)}
	if err := db.CreateVisit(ctx, v); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateVisit(ctx, v); hyperlieu.KindOf(err) != hyperlieu.Conflict {
		t.Errorf("second CreateVisit = %v, want Conflict", err)
	}
	a := fan.VisitAsk{ID: "ask1", UserID: "u1", ShopID: "s1", Source: v.Source, VisitAt: at, At: at, ExpiresAt: at.Add(time.Hour)}
	if err := db.CreateVisitAsk(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateVisitAsk(ctx, a); hyperlieu.KindOf(err) != hyperlieu.Conflict {
		t.Errorf("second CreateVisitAsk = %v, want Conflict", err)
	}
	a.Rating, a.AnsweredAt = 2, at.Add(time.Minute)
	if err := db.UpdateVisitAsk(ctx, a); err != nil {
		t.Fatal(err)
	}
	if got, err := db.FindVisitAsk(ctx, "ask1"); err != nil || got != a {
		t.Errorf("FindVisitAsk = %+v, %v; want %+v", got, err, a)
	}
	if err := db.CreateVisitMark(ctx, "back:ask1", at); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateVisitMark(ctx, "back:ask1", at); hyperlieu.KindOf(err) != hyperlieu.Conflict {
		t.Errorf("second mark = %v, want Conflict", err)
	}
	sv := fan.ShopVisit{UserID: "u1", ShopID: "s1", LastAt: at, LastAskAt: at}
	if err := db.UpdateShopVisit(ctx, sv); err != nil {
		t.Fatal(err)
	}
	if got, err := db.FindShopVisit(ctx, "u1", "s1"); err != nil || got != sv {
		t.Errorf("FindShopVisit = %+v, %v; want %+v", got, err, sv)
	}
	for range 3 {
		if err := db.AddVisitStats(ctx, "s1", map[string]int64{"visits": 1, "asked": 1}); err != nil {
			t.Fatal(err)
		}
	}
	if c, err := db.FindVisitStats(ctx, "s1"); err != nil || c["visits"] != 3 || c["asked"] != 3 {
		t.Errorf("FindVisitStats = %v, %v; want 3 visits and 3 asked", c, err)
	}
	if c, err := db.FindVisitStats(ctx, "nowhere"); err != nil || len(c) != 0 {
		t.Errorf("FindVisitStats(none) = %v, %v; want empty", c, err)
	}
	if vs, asks, err := db.FindVisitsBy(ctx, "u1"); err != nil || len(vs) != 1 || len(asks) != 1 || !vs[0].LeftAt.Equal(v.LeftAt) {
		t.Errorf("FindVisitsBy = %v, %v, %v", vs, asks, err)
	}
	if err := db.DeleteVisitData(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if vs, asks, _ := db.FindVisitsBy(ctx, "u1"); len(vs)+len(asks) != 0 {
		t.Errorf("after erasure: %v %v", vs, asks)
	}
	if _, err := db.FindShopVisit(ctx, "u1", "s1"); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("FindShopVisit after erasure = %v, want NotFound", err)
	}
	if c, _ := db.FindVisitStats(ctx, "s1"); c["visits"] != 3 {
		t.Errorf("figures after erasure = %v, want kept", c)
	}
}
