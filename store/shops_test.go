package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/geo"
	"github.com/hyperlieu/hyperlieu/shop"
)

// TestShopsStore: shops round-trip, Conflict and NotFound as documented,
// changes since a time, shops by manager.
func TestShopsStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	t0 := time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)
	a := shop.Shop{ID: "a", Name: "Atelier", Address: "Paris", Location: geo.Point{Lat: 48.8566, Lng: 2.3522},
		Timezone: "Europe/Paris", OpeningHours: "Mon-Sat", ManagerIDs: []string{"m1", "m2"}, CreatedAt: t0, UpdatedAt: t0}
	b := shop.Shop{ID: "b", Name: "Boutique", Address: "Lyon", Location: geo.Point{Lat: 45.76, Lng: 4.83},
		Timezone: "Europe/Paris", ManagerIDs: []string{}, CreatedAt: t0, UpdatedAt: t0.Add(time.Hour)}
	for _, s := range []shop.Shop{a, b} {
		if err := db.CreateShop(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.CreateShop(ctx, a); hyperlieu.KindOf(err) != hyperlieu.Conflict {
		t.Errorf("CreateShop twice = %v, want Conflict", err)
	}
	got, err := db.FindShop(ctx, "a")
	if err != nil || !cmp.Equal(got, a) {
		t.Errorf("FindShop = %v, %v; diff (-got +want):\n%s", got, err, cmp.Diff(got, a))
	}
	if _, err := db.FindShop(ctx, "nope"); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("FindShop(unknown) = %v, want NotFound", err)
	}
	if err := db.UpdateShop(ctx, shop.Shop{ID: "nope"}); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("UpdateShop(unknown) = %v, want NotFound", err)
	}
	b.DeletedAt, b.UpdatedAt, b.ManagerIDs = t0.Add(2*time.Hour), t0.Add(2*time.Hour), []string{"m2"}
	if err := db.UpdateShop(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.FindShop(ctx, "b"); !got.Deleted() || !got.DeletedAt.Equal(b.DeletedAt) {
		t.Errorf("deleted shop = %+v, want DeletedAt %v", got, b.DeletedAt)
	}

	tests := []struct {
		since time.Time
		want  []string
	}{
		{time.Time{}, []string{"a", "b"}},
		{t0, []string{"b"}},
		{t0.Add(2 * time.Hour), nil},
	}
	for _, tt := range tests {
		shops, err := db.FindShopsChangedSince(ctx, tt.since)
		var ids []string
		for _, s := range shops {
			ids = append(ids, s.ID)
		}
		if err != nil || !cmp.Equal(ids, tt.want) {
			t.Errorf("FindShopsChangedSince(%v) = %v, %v; want %v", tt.since, ids, err, tt.want)
		}
	}
	for user, want := range map[string][]string{"m1": {"a"}, "m2": {"a", "b"}, "m3": nil} {
		shops, err := db.FindShopsManagedBy(ctx, user)
		var ids []string
		for _, s := range shops {
			ids = append(ids, s.ID)
		}
		if err != nil || !cmp.Equal(ids, want) {
			t.Errorf("FindShopsManagedBy(%s) = %v, %v; want %v", user, ids, err, want)
		}
	}
}
