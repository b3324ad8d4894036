package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu/geo"
	"github.com/hyperlieu/hyperlieu/shop"
	"github.com/hyperlieu/hyperlieu/store"
)

// TestPlacesFollowTheChangeLog: nearby search picks up another instance's
// shop and event writes from the numbered change log, by _id reads only
// (no query on updatedAt, which decoded every shop and event each poll on
// the embedded database), two reads when nothing changed.
func TestPlacesFollowTheChangeLog(t *testing.T) {
	dbs, _ := sharedDB(t, 2)
	here, other := dbs[0], dbs[1]
	var cmds commands
	watched, err := store.Open(context.Background(), uri, here.Name(), store.Options{Monitor: cmds.monitor()}.ForEmbedded())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = watched.Close(context.Background()) })
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	paris := geo.Point{Lat: 48.853, Lng: 2.349}
	if err := other.CreateShop(ctx, shop.Shop{ID: "s1", Name: "Lyon", Location: paris, Timezone: "Europe/Paris", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	places := shop.NewPlaces(nil)
	if err := places.Sync(ctx, watched); err != nil { // the first: everything
		t.Fatal(err)
	}
	if _, ok := places.Shop("s1"); !ok {
		t.Fatal("the first sync missed a shop")
	}
	sync := func(what string, want int) {
		t.Helper()
		cmds.take()
		if err := places.Sync(ctx, watched); err != nil {
			t.Fatal(err)
		}
		seen, scan := cmds.take()
		if len(scan) > 0 || (want > 0 && len(seen) != want) {
			t.Errorf("%s: commands %v, scans %v; want %d, no scan", what, seen, scan, want)
		}
	}
	sync("a sync with nothing changed", 2)
	ev := shop.Event{ID: "e1", ShopID: "s1", Title: "Atelier", StartsAt: now.Add(time.Hour), EndsAt: now.Add(2 * time.Hour),
		Capacity: 5, Location: paris, CreatedAt: now, UpdatedAt: now}
	if err := other.CreateEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}
	moved := shop.Shop{ID: "s1", Name: "Lyon 2", Location: paris, Timezone: "Europe/Paris", CreatedAt: now, UpdatedAt: now.Add(time.Second)}
	if err := other.UpdateShop(ctx, moved); err != nil {
		t.Fatal(err)
	}
	sync("a sync after another instance's writes", 0)
	if s, _ := places.Shop("s1"); s.Name != "Lyon 2" {
		t.Errorf("the shop's change was not picked up: %q", s.Name)
	}
	if up := places.Upcoming(now, now.Add(3*time.Hour)); len(up) != 1 || up[0].ID != "e1" {
		t.Errorf("upcoming = %v, want the new event", up)
	}
	sync("and nothing since", 2)
}
