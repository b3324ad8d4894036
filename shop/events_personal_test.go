package shop

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// TestEraseUser: an upcoming seat is freed for the waitlist; a seat at a
// started event stays, anonymous, and nobody is told anything on its behalf.
func TestEraseUser(t *testing.T) {
	f := newFixture(t)
	later := f.event(48*time.Hour, 1)
	f.rsvp(later, "ana", "ben", "cy")
	now := f.event(time.Hour, 3)
	f.rsvp(now, "ana", "dan")
	f.clock.Set(now.StartsAt.Add(-10 * time.Minute))
	here := shopAt
	if _, err := f.events.CheckIn(ctx, "ana", now.ID, &here); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(now.StartsAt.Add(30 * time.Minute))
	if _, err := f.events.GiveFeedback(ctx, "ana", now.ID, 2, "Ana's words"); err != nil {
		t.Fatal(err)
	}
	f.notes.reset()

	for range 2 { // twice is not an error
		if err := f.events.EraseUser(ctx, "ana"); err != nil {
			t.Fatalf("EraseUser: %v", err)
		}
	}
	if got := f.notes.to(hyperlieu.KindWaitlistPromoted); !slices.Equal(got, []string{"ben"}) {
		t.Errorf("promoted %v, want ben once", got)
	}
	seats := func(e Event) [2]int {
		g, w, err := f.events.Seats(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		return [2]int{g, w}
	}
	if got := seats(later); got != [2]int{1, 1} {
		t.Errorf("later: going, waiting = %v, want ben going and cy waiting", got)
	}
	if got := seats(now); got != [2]int{2, 0} {
		t.Errorf("started: going, waiting = %v, want 2 (ana's seat kept, anonymous)", got)
	}
	fbs, _ := f.events.EventFeedback(ctx, f.manager, now.ID)
	if len(fbs) != 1 || fbs[0].UserID != "" || fbs[0].Rating != 2 || fbs[0].Comment != "" {
		t.Errorf("feedback after erasure = %+v, want rating 2 without ana or her words", fbs)
	}
	att, err := f.events.Attendees(ctx, f.manager, now.ID)
	if err != nil || len(att) != 1 || att[0].UserID != "dan" {
		t.Errorf("attendees after erasure = %+v, %v; want dan only", att, err)
	}
	// The anonymous seat is told nothing when the event moves.
	later2 := now.EndsAt.Add(time.Hour)
	if _, err := f.events.UpdateEvent(ctx, f.manager, now.ID, EventInput{EndsAt: &later2}); err != nil {
		t.Fatal(err)
	}
	if got := f.notes.to(hyperlieu.KindEventChanged); !slices.Equal(got, []string{"dan"}) {
		t.Errorf("change told %v, want dan only", got)
	}
	for _, find := range []func() (int, error){
		func() (int, error) { r, err := f.store.FindRSVPsBy(ctx, "ana"); return len(r), err },
		func() (int, error) { r, err := f.store.FindClaimsBy(ctx, "ana"); return len(r), err },
		func() (int, error) { r, err := f.store.FindCheckInsBy(ctx, "ana"); return len(r), err },
		func() (int, error) { r, err := f.store.FindFeedbackBy(ctx, "ana"); return len(r), err },
	} {
		if n, err := find(); n != 0 || err != nil {
			t.Errorf("after erasure %d records still name ana (%v)", n, err)
		}
	}
	doc, err := f.events.ExportUser(ctx, "ana")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range doc {
		if s, ok := v.([]map[string]any); !ok || len(s) != 0 {
			t.Errorf("export after erasure: %s = %v, want empty", k, v)
		}
	}

	// A manager: off the shop, off the events they scheduled.
	if err := f.events.EraseUser(ctx, "mgr"); err != nil {
		t.Fatal(err)
	}
	if sh, _ := f.store.FindShop(ctx, f.shop.ID); sh.ManagedBy("mgr") {
		t.Errorf("shop still managed by the erased manager: %v", sh.ManagerIDs)
	}
	if e, _ := f.store.FindEvent(ctx, later.ID); e.CreatedBy != "" {
		t.Errorf("event still created by %q", e.CreatedBy)
	}
}

// TestExportUser: every section, where each RSVP stands, lowerCamel keys.
func TestExportUser(t *testing.T) {
	f := newFixture(t)
	e := f.event(24*time.Hour, 1)
	f.rsvp(e, "ben", "ana")
	gone := f.event(24*time.Hour, 1)
	f.rsvp(gone, "ana")
	if err := f.events.CancelRSVP(ctx, "ana", gone.ID); err != nil {
		t.Fatal(err)
	}
	doc, err := f.events.ExportUser(ctx, "ana")
	if err != nil {
		t.Fatal(err)
	}
	rs := doc["rsvps"].([]map[string]any)
	var statuses []string
	for _, r := range rs {
		statuses = append(statuses, r["status"].(string))
		for k := range r {
			if k[0] < 'a' || k[0] > 'z' || strings.ContainsAny(k, "_ ") {
				t.Errorf("export key %q is not lowerCamel", k)
			}
		}
		if r["ticketCode"] == "" {
			t.Errorf("exported rsvp without its ticket code: %v", r)
		}
	}
	slices.Sort(statuses)
	if !slices.Equal(statuses, []string{"waitlisted", "withdrawn"}) {
		t.Errorf("exported statuses = %v, want waitlisted and withdrawn", statuses)
	}
	if qs := doc["queuePositions"].([]map[string]any); len(qs) != 2 {
		t.Errorf("queuePositions = %v, want 2", qs)
	}
	mgr, err := f.events.ExportUser(ctx, "mgr")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(mgr["eventsCreated"].([]map[string]any)); n != 2 {
		t.Errorf("eventsCreated = %d, want 2", n)
	}
	if n := len(mgr["shopsManaged"].([]map[string]any)); n != 1 {
		t.Errorf("shopsManaged = %d, want 1", n)
	}
}
