package store_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/geo"
	"github.com/hyperlieu/hyperlieu/shop"
	"github.com/hyperlieu/hyperlieu/store"
)

// TestShopPathCommands runs the real shop and event services over the
// embedded database under the command monitor and pins what a manager's
// events, a shop's past events, the events list, the shops a manager
// manages and a customer's export and erasure cost (issue 15): none is a
// collection scan, and each costs what the person or the shop holds, read
// by _id, not what other shops and people stored.
func TestShopPathCommands(t *testing.T) {
	var cmds commands
	db := newDBWith(t, store.Options{Monitor: cmds.monitor()})
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var clock atomic.Pointer[time.Time]
	t0 := time.Now().UTC()
	clock.Store(&t0)
	now := func() time.Time { return *clock.Load() }
	places := shop.NewPlaces(now)
	shops := shop.NewService(db, db, places, quietArea{}, shop.Options{Now: now}, quiet)
	events := shop.NewEventService(db, shops, db, quietArea{}, quietArea{}, quietArea{}, shop.EventOptions{Now: now}, quiet)

	admin := hyperlieu.Actor{UserID: "admin", Roles: []hyperlieu.Role{hyperlieu.RoleAdmin}}
	for _, id := range []string{"mgr", "other"} {
		if err := db.CreateUser(ctx, hyperlieu.User{ID: id, Email: id + "@example.com", Roles: []hyperlieu.Role{hyperlieu.RoleManager}, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	loc := geo.Point{Lat: 48.8566, Lng: 2.3522}
	var sh shop.Shop
	for i := range 3 { // two other shops, so that a scan has something to decode
		s, err := shops.CreateShop(ctx, admin, shop.Input{Name: fmt.Sprintf("Atelier %d", i), Address: "Paris", Location: &loc, Timezone: "Europe/Paris"})
		if err != nil {
			t.Fatal(err)
		}
		manager := "other"
		if i == 0 {
			manager, sh = "mgr", s
		}
		if _, err := shops.AddManager(ctx, admin, s.ID, manager); err != nil {
			t.Fatal(err)
		}
	}
	mgr := hyperlieu.Actor{UserID: "mgr", Roles: []hyperlieu.Role{hyperlieu.RoleManager}}
	other := hyperlieu.Actor{UserID: "other", Roles: []hyperlieu.Role{hyperlieu.RoleManager}}
	schedule := func(a hyperlieu.Actor, shopID string, in time.Duration) shop.Event {
		t.Helper()
		title, cat, capacity := "Workshop", "workshop", 10
		from, to := now().Add(in), now().Add(in+2*time.Hour)
		e, err := events.CreateEvent(ctx, a, shopID, shop.EventInput{Title: &title, Category: &cat, StartsAt: &from, EndsAt: &to, Capacity: &capacity})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	// Three events at the manager's shop over two months, others elsewhere.
	mine := []shop.Event{schedule(mgr, sh.ID, 24*time.Hour), schedule(mgr, sh.ID, 48*time.Hour), schedule(mgr, sh.ID, 35*24*time.Hour)}
	for i := range 6 {
		schedule(other, shopsOf(t, shops, other)[i%2], time.Duration(i+1)*24*time.Hour)
	}
	// A customer who claimed seats, checked in, rated and was scanned, and
	// others who did the same at other events.
	for i, u := range []string{"ana", "ben", "cy"} {
		for _, e := range mine[:2] {
			at := e.StartsAt
			if err := db.CreatePosition(ctx, e.ID, i+1, u, at); err != nil {
				t.Fatal(err)
			}
			if err := db.CreateCheckIn(ctx, shop.CheckIn{EventID: e.ID, UserID: u, Method: "ticket", By: "mgr", At: at}); err != nil {
				t.Fatal(err)
			}
			if err := db.UpdateFeedback(ctx, shop.Feedback{EventID: e.ID, ShopID: sh.ID, UserID: u, Rating: 4, Comment: "good", CreatedAt: at, UpdatedAt: at}); err != nil {
				t.Fatal(err)
			}
		}
	}

	pin := func(what string, want int, do func() error) {
		t.Helper()
		cmds.take()
		if err := do(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		seen, scan := cmds.take()
		t.Logf("%s: %d commands %v", what, len(seen), seen)
		if len(seen) > want || len(scan) > 0 {
			t.Errorf("%s: %d commands %v, scans %v; want ≤ %d, none", what, len(seen), seen, scan, want)
		}
	}
	// A list of k: its head, one read past it, then each entry and the
	// document it names.
	list := func(k int) int { return 2 + 2*k }

	pin("a manager's events (export)", list(3), func() error {
		evs, err := db.FindEvents(ctx, shop.EventFilter{CreatedBy: "mgr"})
		if err == nil && len(evs) != 3 {
			err = fmt.Errorf("FindEvents(by mgr) = %d events, want 3", len(evs))
		}
		return err
	})
	pin("the shops a manager manages", 1+1, func() error {
		ss, err := db.FindShopsManagedBy(ctx, "mgr")
		if err == nil && (len(ss) != 1 || ss[0].ID != sh.ID) {
			err = fmt.Errorf("FindShopsManagedBy(mgr) = %v, want the one shop", ss)
		}
		return err
	})
	pin("a customer's queue claims", list(2), func() error { return wantLen(db.FindClaimsBy(ctx, "ana"))(2) })
	pin("a customer's check-ins", list(2), func() error { return wantLen(db.FindCheckInsBy(ctx, "ana"))(2) })
	pin("a customer's event feedback", list(2), func() error { return wantLen(db.FindFeedbackBy(ctx, "ana"))(2) })

	// Forty days on, the first two events are past: a shop's events from
	// a past date read its months' lists (this month, the last, the one
	// before: from less the longest event), the shop, and memory.
	later := t0.Add(40 * 24 * time.Hour)
	clock.Store(&later)
	if err := places.Sync(ctx, db); err != nil {
		t.Fatal(err)
	}
	pin("a shop's events from a past date", 1+3*2+list(3)-2, func() error {
		_, evs, err := events.ShopEvents(ctx, sh.ID, t0)
		if err == nil && (len(evs) != 3 || evs[0].ID != mine[0].ID) {
			err = fmt.Errorf("ShopEvents(from t0) = %d events, want 3, oldest first", len(evs))
		}
		return err
	})
	// Every shop's events from a past date: the same months' lists for all
	// shops (9 events), no shop read.
	pin("events from a past date", 3*2+2*9, func() error {
		evs, err := events.Events(ctx, shop.EventFilter{From: t0}, nil, nil)
		if err == nil && len(evs) != 9 {
			err = fmt.Errorf("Events(from t0) = %d events, want 9", len(evs))
		}
		return err
	})
	pin("upcoming events (from memory)", 0, func() error { _, err := events.Events(ctx, shop.EventFilter{From: later}, nil, nil); return err })

	// Export and erasure of a customer: keyed throughout, each list read
	// as above (RSVPs, claims, check-ins, feedback, events created, shops
	// managed); erasure re-keys each check-in and feedback (insert,
	// delete, and the event's feedback list), updates by _id what still
	// names them and drops their lists (head, probe, one bulk delete each).
	pin("a customer's export", 22, func() error { _, err := events.ExportUser(ctx, "ana"); return err })
	pin("a customer's erasure", 76, func() error { return events.EraseUser(ctx, "ana") })
	// A manager's: their shop drops them, the check-ins they scanned and
	// their events forget them.
	pin("a manager's erasure", 55, func() error { return events.EraseUser(ctx, "mgr") })
	if evs, err := db.FindEvents(ctx, shop.EventFilter{CreatedBy: "mgr"}); err != nil || len(evs) != 0 {
		t.Errorf("after erasure FindEvents(by mgr) = %v, %v; want none", evs, err)
	}
	if s, err := db.FindShop(ctx, sh.ID); err != nil || slices.Contains(s.ManagerIDs, "mgr") {
		t.Errorf("after erasure the shop = %+v, %v; want mgr gone from its managers", s, err)
	}
	if cis, err := db.FindCheckInsBy(ctx, "ben"); err != nil || len(cis) != 2 || cis[0].By != "" {
		t.Errorf("after the scanner's erasure ben's check-ins = %+v, %v; want two, scanned by nobody", cis, err)
	}
}

// TestShopPathsStillScanning pins what still queries by a field other than
// _id: the full reload of nearby search's shops and events, every 10
// minutes on each instance (a worker, not a request; its polls between are
// keyed), which reads every shop and every event anyway.
func TestShopPathsStillScanning(t *testing.T) {
	var cmds commands
	db := newDBWith(t, store.Options{Monitor: cmds.monitor()})
	ctx := context.Background()
	if _, err := db.FindShopsChangedSince(ctx, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindEventsChangedSince(ctx, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, scan := cmds.take(); len(scan) != 2 {
		t.Errorf("full reload of places: scans %v; want two (shops, events)", scan)
	}
}

func shopsOf(t testing.TB, shops *shop.Service, a hyperlieu.Actor) []string {
	t.Helper()
	page, err := shops.ListShops(context.Background(), shop.ListQuery{ManagedBy: a.UserID})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range page.Items {
		ids = append(ids, s.ID)
	}
	return ids
}

func wantLen[T any](got []T, err error) func(int) error {
	return func(n int) error {
		if err == nil && len(got) != n {
			err = fmt.Errorf("got %d, want %d", len(got), n)
		}
		return err
	}
}
