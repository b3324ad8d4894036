package store_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/geo"
	"github.com/hyperlieu/hyperlieu/shop"
	"github.com/hyperlieu/hyperlieu/store"
)

// TestEventPathCommands runs the real event service over the embedded
// database under the command monitor and pins what the RSVP, waitlist,
// cancel, check-in, ticket scan, public page and personal feed paths cost
// (issue 15): none is a collection scan, and each is a small number of
// commands that does not grow with what other events and people stored.
func TestEventPathCommands(t *testing.T) {
	var cmds commands
	db := newDBWith(t, store.Options{Monitor: cmds.monitor()})
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var clock atomic.Pointer[time.Time]
	t0 := time.Now().UTC()
	clock.Store(&t0)
	now := func() time.Time { return *clock.Load() }
	shops := shop.NewService(db, db, shop.NewPlaces(now), quietArea{}, shop.Options{Now: now}, quiet)
	events := shop.NewEventService(db, shops, db, quietArea{}, quietArea{}, quietArea{}, shop.EventOptions{Now: now}, quiet)
	invitations := shop.NewInvitationService(events, db, quietReferrals{})

	admin := hyperlieu.Actor{UserID: "admin", Roles: []hyperlieu.Role{hyperlieu.RoleAdmin}}
	loc := geo.Point{Lat: 48.8566, Lng: 2.3522}
	sh, err := shops.CreateShop(ctx, admin, shop.Input{Name: "Atelier", Address: "Paris", Location: &loc, Timezone: "Europe/Paris"})
	if err != nil {
		t.Fatal(err)
	}
	newEvent := func(capacity int) shop.Event {
		t.Helper()
		title, cat := "Workshop", "workshop"
		from, to := t0.Add(24*time.Hour), t0.Add(26*time.Hour)
		e, err := events.CreateEvent(ctx, admin, sh.ID, shop.EventInput{Title: &title, Category: &cat, StartsAt: &from, EndsAt: &to, Capacity: &capacity})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	// Other events and people with RSVPs, so that a scan would have
	// something to decode.
	for i := range 20 {
		u := hyperlieu.User{ID: fmt.Sprintf("u%d", i), Email: fmt.Sprintf("u%d@example.com", i), DisplayName: fmt.Sprintf("U%d", i), CreatedAt: t0}
		u.Prefs.ShowInAttendeeLists = true
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		other := newEvent(50)
		for i := range 10 {
			if _, err := events.RSVP(ctx, fmt.Sprintf("u%d", i), other.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	e := newEvent(2)
	for _, u := range []string{"u1", "u2", "u3"} { // u3 waits
		if _, err := events.RSVP(ctx, u, e.ID); err != nil {
			t.Fatal(err)
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
	var st shop.RSVPState
	// Event, RSVP, ticket, the user's list (a galloping count of their
	// own 3 RSVPs: 4 reads; the entry), RSVP insert, the position's entry
	// in the user's claims and its head (for export and erasure), position,
	// the queue's refresh (the new position, the next one, the release
	// log), RSVP update, its re-read.
	pin("first RSVP, waitlisted", 17, func() (err error) {
		st, err = events.RSVP(ctx, "u4", e.ID)
		if err == nil && (st.Status != shop.Waitlisted || st.WaitlistPosition != 2) {
			err = fmt.Errorf("RSVP = %+v, want waitlisted second", st)
		}
		return err
	})
	pin("RSVP again", 4, func() error { _, err := events.RSVP(ctx, "u4", e.ID); return err })
	pin("my RSVP", 4, func() error { _, err := events.MyRSVP(ctx, "u4", e.ID); return err })
	// Event, shop, RSVP, the release (position, log count, log entry,
	// mark), RSVP update, the refresh (positions, two log entries), and the
	// RSVPs of the two seats this instance had not read (once per seat).
	pin("cancel, promoting the first waiting", 13, func() error { return events.CancelRSVP(ctx, "u1", e.ID) })
	if st, err := events.MyRSVP(ctx, "u3", e.ID); err != nil || st.Status != shop.Going {
		t.Fatalf("after a cancel u3 = %+v, %v; want going", st, err)
	}
	// Event, shop, the refresh, the first names of the two going.
	pin("public page", 6, func() error { _, err := invitations.Page(ctx, e.ID, ""); return err })
	// The user's list (4 entries and the end), their 4 RSVPs, and per
	// event: event, shop, the refresh.
	pin("my events", 25, func() error {
		mine, err := events.MyEvents(ctx, "u3", t0)
		if err == nil && len(mine) != 4 {
			err = fmt.Errorf("MyEvents = %d events, want 4", len(mine))
		}
		return err
	})

	opens := e.StartsAt.Add(-10 * time.Minute)
	clock.Store(&opens)
	// Event, shop, RSVP, the refresh, the check-in's entry in the
	// attendee's list (its head read, the first time this instance lists
	// for them; the entry; the head), the check-in (activity is faked).
	pin("check-in", 9, func() error { _, err := events.CheckIn(ctx, "u2", e.ID, &loc); return err })
	r3, err := db.FindRSVP(ctx, e.ID, "u3")
	if err != nil {
		t.Fatal(err)
	}
	// Event, shop, ticket, RSVP, RSVP again (seated), the refresh, the
	// entries under the attendee and the manager who scanned (two head
	// reads the first time, one insert, one head update), the check-in.
	pin("ticket scan", 12, func() error { _, err := events.ScanTicket(ctx, admin, e.ID, r3.TicketCode); return err })
}

type quietReferrals struct{}

func (quietReferrals) AttributeInvite(context.Context, hyperlieu.User, string, string, string, string) error {
	return nil
}
