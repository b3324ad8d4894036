package shop

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/geo"
)

var ctx = context.Background()

// TestSendReminders runs the reminder on a scripted clock, on two
// instances: each person going is reminded once, from one hour before the
// start; nobody waitlisted, nobody at a cancelled event.
func TestSendReminders(t *testing.T) {
	f := newFixture(t)
	e := f.event(3*time.Hour, 2) // starts at t0+3h
	f.rsvp(e, "ana", "ben", "cy", "dan")
	gone := f.event(3*time.Hour, 5)
	f.rsvp(gone, "eve")
	if _, err := f.events.CancelEvent(ctx, f.manager, gone.ID, "flooded"); err != nil {
		t.Fatal(err)
	}
	// A second instance: its own memory of who was reminded, the same outbox.
	other := NewEventService(f.store, f.shops, f.store, EventOptions{Notifier: f.notes, Now: f.clock.Now}, slog.New(slog.NewTextHandler(io.Discard, nil)))

	steps := []struct {
		name string
		at   time.Duration // since t0
		do   func(t *testing.T)
		want []string // everyone reminded so far
	}{
		{"two hours before", time.Hour, nil, nil},
		{"exactly one hour before", 2 * time.Hour, nil, nil},
		{"just inside the hour", 2*time.Hour + time.Second, nil, []string{"ana", "ben"}},
		{"again, later", 2*time.Hour + 30*time.Minute, nil, []string{"ana", "ben"}},
		{"a seat frees up: Cy is going now", 2*time.Hour + 40*time.Minute, func(t *testing.T) {
			if err := f.events.CancelRSVP(ctx, "ben", e.ID); err != nil {
				t.Fatal(err)
			}
		}, []string{"ana", "ben", "cy"}},
		{"at the start", 3 * time.Hour, nil, []string{"ana", "ben", "cy"}},
		{"after the start", 3*time.Hour + time.Minute, nil, []string{"ana", "ben", "cy"}},
	}
	for _, st := range steps {
		f.clock.Set(t0.Add(st.at))
		if st.do != nil {
			st.do(t)
		}
		for _, s := range []*EventService{f.events, other, f.events} {
			if err := s.SendReminders(ctx); err != nil {
				t.Fatalf("%s: SendReminders: %v", st.name, err)
			}
		}
		if got := f.notes.to(hyperlieu.KindEventReminder); !slices.Equal(got, st.want) {
			t.Errorf("%s: reminded %v, want %v", st.name, got, st.want)
		}
	}
}

// TestWaitlistPromotion: a withdrawal promotes the first on the waitlist,
// who is told once, however often promotion runs afterwards.
func TestWaitlistPromotion(t *testing.T) {
	f := newFixture(t)
	e := f.event(24*time.Hour, 2)
	got := f.rsvp(e, "ana", "ben", "cy", "dan", "eve")
	for i, want := range []struct {
		status RSVPStatus
		pos    int
	}{{Going, 0}, {Going, 0}, {Waitlisted, 1}, {Waitlisted, 2}, {Waitlisted, 3}} {
		if got[i].Status != want.status || got[i].WaitlistPosition != want.pos {
			t.Fatalf("RSVP %d = %s/%d, want %s/%d", i, got[i].Status, got[i].WaitlistPosition, want.status, want.pos)
		}
	}
	steps := []struct {
		withdraw string
		promoted []string // told so far
		going    []string
	}{
		{"ana", []string{"cy"}, []string{"ben", "cy"}},
		{"dan", []string{"cy"}, []string{"ben", "cy"}}, // a waitlisted one leaving promotes nobody
		{"cy", []string{"cy", "eve"}, []string{"ben", "eve"}},
		{"ben", []string{"cy", "eve"}, []string{"eve"}}, // nobody left waiting
	}
	for _, st := range steps {
		if err := f.events.CancelRSVP(ctx, st.withdraw, e.ID); err != nil {
			t.Fatalf("CancelRSVP(%s): %v", st.withdraw, err)
		}
		if got := f.notes.to(hyperlieu.KindWaitlistPromoted); !slices.Equal(got, st.promoted) {
			t.Errorf("after %s withdrew: promoted %v, want %v", st.withdraw, got, st.promoted)
		}
		var going []string
		for _, u := range []string{"ana", "ben", "cy", "dan", "eve"} {
			if s, err := f.events.MyRSVP(ctx, u, e.ID); err == nil && s.Status == Going {
				going = append(going, u)
			}
		}
		if !slices.Equal(going, st.going) {
			t.Errorf("after %s withdrew: going %v, want %v", st.withdraw, going, st.going)
		}
	}
	if err := f.events.CancelRSVP(ctx, "ben", e.ID); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("CancelRSVP twice = %v, want NotFound", err)
	}
}

// TestEventChangedNotifications: people going and waitlisted are told when
// the time or the place moves, and only then.
func TestEventChangedNotifications(t *testing.T) {
	str := func(s string) *string { return &s }
	num := func(n int) *int { return &n }
	at := func(d time.Duration) *time.Time { x := t0.Add(d); return &x }
	pt := func(p geo.Point) *geo.Point { return &p }
	tests := []struct {
		name  string
		patch EventInput
		told  bool
	}{
		{"title", EventInput{Title: str("New title")}, false},
		{"description and category", EventInput{Description: str("More"), Category: str("launch")}, false},
		{"capacity", EventInput{Capacity: num(3)}, false},
		{"same start", EventInput{StartsAt: at(24 * time.Hour)}, false},
		{"same place", EventInput{Location: pt(shopAt)}, false},
		{"start and end", EventInput{StartsAt: at(25 * time.Hour), EndsAt: at(27 * time.Hour)}, true},
		{"end only", EventInput{EndsAt: at(26*time.Hour + time.Minute)}, true},
		{"place", EventInput{Location: pt(north(shopAt, 10))}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			e := f.event(24*time.Hour, 1)
			f.rsvp(e, "ana", "ben") // going, waitlisted
			f.rsvp(f.event(24*time.Hour, 1), "other")
			if _, err := f.events.UpdateEvent(ctx, f.manager, e.ID, tt.patch); err != nil {
				t.Fatalf("UpdateEvent: %v", err)
			}
			var want []string
			if tt.told {
				want = []string{"ana", "ben"}
			}
			if got := f.notes.to(hyperlieu.KindEventChanged); !slices.Equal(got, want) {
				t.Errorf("UpdateEvent(%s) told %v, want %v", tt.name, got, want)
			}
		})
	}
	t.Run("cancel", func(t *testing.T) {
		f := newFixture(t)
		e := f.event(24*time.Hour, 1)
		f.rsvp(e, "ana", "ben")
		for range 2 {
			if _, err := f.events.CancelEvent(ctx, f.manager, e.ID, "flooded"); err != nil {
				t.Fatal(err)
			}
		}
		if got := f.notes.to(hyperlieu.KindEventCancelled); !slices.Equal(got, []string{"ana", "ben"}) {
			t.Errorf("CancelEvent told %v, want ana and ben once", got)
		}
		if got := f.notes.to(hyperlieu.KindEventChanged); got != nil {
			t.Errorf("CancelEvent sent changes to %v", got)
		}
	})
}

// TestCheckIn: from 30 minutes before the start to the end, within 150 m,
// for people going, once.
func TestCheckIn(t *testing.T) {
	start := t0.Add(time.Hour)
	end := start.Add(2 * time.Hour)
	tests := []struct {
		name string
		at   time.Time
		who  string
		from geo.Point
		prep func(f *fixture, e Event)
		want hyperlieu.Kind // Internal: accepted
	}{
		{"31 minutes before", start.Add(-CheckInOpensBefore - time.Second), "ana", shopAt, nil, hyperlieu.Conflict},
		{"30 minutes before", start.Add(-CheckInOpensBefore), "ana", shopAt, nil, hyperlieu.Internal},
		{"at the start", start, "ana", shopAt, nil, hyperlieu.Internal},
		{"at the end", end, "ana", shopAt, nil, hyperlieu.Internal},
		{"just after the end", end.Add(time.Nanosecond), "ana", shopAt, nil, hyperlieu.Conflict},
		{"149.99 m away", start, "ana", north(shopAt, 149.99), nil, hyperlieu.Internal},
		{"150.01 m away", start, "ana", north(shopAt, 150.01), nil, hyperlieu.Conflict},
		{"5 km away", start, "ana", north(shopAt, 5000), nil, hyperlieu.Conflict},
		{"bad point", start, "ana", geo.Point{Lat: 91, Lng: 0}, nil, hyperlieu.Invalid},
		{"waitlisted", start, "ben", shopAt, nil, hyperlieu.Conflict},
		{"no RSVP", start, "cy", shopAt, nil, hyperlieu.Conflict},
		{"withdrawn", start, "ana", shopAt, func(f *fixture, e Event) {
			f.clock.Set(t0)
			if err := f.events.CancelRSVP(ctx, "ana", e.ID); err != nil {
				t.Fatal(err)
			}
		}, hyperlieu.Conflict},
		{"cancelled event", start, "ana", shopAt, func(f *fixture, e Event) {
			f.clock.Set(t0)
			if _, err := f.events.CancelEvent(ctx, f.manager, e.ID, "flooded"); err != nil {
				t.Fatal(err)
			}
		}, hyperlieu.Conflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			e := f.event(time.Hour, 1)
			f.rsvp(e, "ana", "ben")
			f.addUser("cy")
			if tt.prep != nil {
				tt.prep(f, e)
			}
			f.clock.Set(tt.at)
			from := tt.from
			c, err := f.events.CheckIn(ctx, tt.who, e.ID, &from)
			if tt.want == hyperlieu.Internal {
				if err != nil {
					t.Fatalf("CheckIn(%s at %v, %.2f m) = %v, want accepted", tt.who, tt.at.Sub(start), geo.Distance(from, shopAt), err)
				}
				if c.UserID != tt.who || c.Method != "location" || !c.At.Equal(tt.at) {
					t.Errorf("CheckIn = %+v", c)
				}
				if _, err := f.events.CheckIn(ctx, tt.who, e.ID, &from); hyperlieu.KindOf(err) != hyperlieu.Conflict {
					t.Errorf("CheckIn twice = %v, want Conflict", err)
				}
				if !f.acts.has("checkin:" + e.ID + ":" + tt.who) {
					t.Errorf("check-in activity not recorded")
				}
				return
			}
			if hyperlieu.KindOf(err) != tt.want {
				t.Errorf("CheckIn(%s at %v, %.2f m) = %v, want %v", tt.who, tt.at.Sub(start), geo.Distance(from, shopAt), err, tt.want)
			}
			if f.acts.has("checkin:" + e.ID + ":" + tt.who) {
				t.Errorf("a refused check-in was recorded as an activity")
			}
		})
	}
}

// TestScanTicket: only the shop's managers scan, a ticket checks its holder in once.
func TestScanTicket(t *testing.T) {
	f := newFixture(t)
	e := f.event(time.Hour, 1)
	sts := f.rsvp(e, "ana", "ben")
	f.clock.Set(e.StartsAt)
	stranger := hyperlieu.Actor{UserID: "zed", Roles: []hyperlieu.Role{hyperlieu.RoleManager}}
	tests := []struct {
		name string
		by   hyperlieu.Actor
		code string
		want hyperlieu.Kind
	}{
		{"another shop's manager", stranger, sts[0].TicketCode, hyperlieu.Forbidden},
		{"the customer", hyperlieu.Actor{UserID: "ana"}, sts[0].TicketCode, hyperlieu.Forbidden},
		{"unknown code", f.manager, "nope", hyperlieu.NotFound},
		{"empty code", f.manager, " ", hyperlieu.Invalid},
		{"waitlisted holder", f.manager, sts[1].TicketCode, hyperlieu.Conflict},
		{"going holder", f.manager, sts[0].TicketCode, hyperlieu.Internal},
		{"again", f.manager, sts[0].TicketCode, hyperlieu.Conflict},
	}
	for _, tt := range tests {
		c, err := f.events.ScanTicket(ctx, tt.by, e.ID, tt.code)
		if hyperlieu.KindOf(err) != tt.want || (tt.want == hyperlieu.Internal && err != nil) {
			t.Errorf("%s: ScanTicket = %v, want %v", tt.name, err, tt.want)
		}
		if err == nil && (c.UserID != "ana" || c.Method != "ticket" || c.By != "mgr") {
			t.Errorf("%s: ScanTicket = %+v, want ana by ticket, scanned by mgr", tt.name, c)
		}
	}
}

// TestGiveFeedback: ratings 1..5 by people who checked in, from the start;
// giving again replaces; low ratings go to the shop's managers.
func TestGiveFeedback(t *testing.T) {
	start := t0.Add(time.Hour)
	tests := []struct {
		name    string
		at      time.Time
		who     string
		rating  int
		comment string
		want    hyperlieu.Kind
		alert   bool
	}{
		{"rating 0", start, "ana", 0, "", hyperlieu.Invalid, false},
		{"rating 6", start, "ana", 6, "", hyperlieu.Invalid, false},
		{"long comment", start, "ana", 4, strings.Repeat("x", 2001), hyperlieu.Invalid, false},
		{"before the start", start.Add(-time.Nanosecond), "ana", 4, "", hyperlieu.Conflict, false},
		{"no check-in", start, "ben", 4, "", hyperlieu.Forbidden, false},
		{"at the start", start, "ana", 4, "Nice", hyperlieu.Internal, false},
		{"days later", start.Add(72 * time.Hour), "ana", 5, "", hyperlieu.Internal, false},
		{"rating 3", start, "ana", 3, "", hyperlieu.Internal, false},
		{"rating 2", start, "ana", 2, "Too loud", hyperlieu.Internal, true},
		{"rating 1", start, "ana", 1, "", hyperlieu.Internal, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			e := f.event(time.Hour, 5)
			f.rsvp(e, "ana", "ben")
			f.clock.Set(start.Add(-10 * time.Minute))
			here := shopAt
			if _, err := f.events.CheckIn(ctx, "ana", e.ID, &here); err != nil {
				t.Fatal(err)
			}
			f.clock.Set(tt.at)
			fb, err := f.events.GiveFeedback(ctx, tt.who, e.ID, tt.rating, tt.comment)
			if hyperlieu.KindOf(err) != tt.want || (tt.want == hyperlieu.Internal && err != nil) {
				t.Fatalf("GiveFeedback(%s, %d) = %v, want %v", tt.who, tt.rating, err, tt.want)
			}
			var alerted []string
			if tt.alert {
				alerted = []string{"mgr"}
			}
			if got := f.notes.to(hyperlieu.KindLowRating); !slices.Equal(got, alerted) {
				t.Errorf("GiveFeedback(rating %d) alerted %v, want %v", tt.rating, got, alerted)
			}
			if err != nil {
				return
			}
			if fb.NeedsAttention() != tt.alert {
				t.Errorf("NeedsAttention() = %v for rating %d", fb.NeedsAttention(), tt.rating)
			}
			// Again: replaces, keeps when it was first given.
			f.clock.Set(tt.at.Add(time.Minute))
			if _, err := f.events.GiveFeedback(ctx, "ana", e.ID, 5, "Changed my mind"); err != nil {
				t.Fatal(err)
			}
			list, err := f.events.EventFeedback(ctx, f.manager, e.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 1 || list[0].Rating != 5 || list[0].Comment != "Changed my mind" || !list[0].CreatedAt.Equal(tt.at) {
				t.Errorf("feedback after giving it again = %+v, want one, rating 5, created at %v", list, tt.at)
			}
			if !f.acts.has("feedback:event:" + e.ID + ":ana") {
				t.Errorf("feedback activity not recorded")
			}
			if _, err := f.events.EventFeedback(ctx, hyperlieu.Actor{UserID: "ana"}, e.ID); hyperlieu.KindOf(err) != hyperlieu.Forbidden {
				t.Errorf("EventFeedback by a customer = %v, want Forbidden", err)
			}
		})
	}
}

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

// audience returns the same customers wherever and whenever.
type audience []string

func (a audience) CustomersNear(context.Context, geo.Point, float64, time.Time) ([]string, error) {
	return a, nil
}

// countingNotifier counts Notify calls and the largest batch.
type countingNotifier struct {
	notifier
	calls, largest int
}

func (c *countingNotifier) Notify(ctx context.Context, reqs ...hyperlieu.NotificationRequest) error {
	c.calls++
	c.largest = max(c.largest, len(reqs))
	return c.notifier.Notify(ctx, reqs...)
}

// TestAnnounceInBatches: a new event is announced to every nearby customer,
// in bounded batches however many they are.
func TestAnnounceInBatches(t *testing.T) {
	f := newFixture(t)
	var crowd audience
	for i := range 2*announceBatch + 1 {
		crowd = append(crowd, fmt.Sprintf("c%04d", i))
	}
	notes := &countingNotifier{}
	f.events = NewEventService(f.store, f.shops, f.store, EventOptions{Notifier: notes, Audience: crowd, Now: f.clock.Now},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	f.event(48*time.Hour, 10)
	if got := len(notes.to(hyperlieu.KindEventAnnounced)); got != len(crowd) {
		t.Errorf("announced to %d customers, want %d", got, len(crowd))
	}
	if notes.calls != 3 || notes.largest != announceBatch {
		t.Errorf("Notify called %d times, largest batch %d; want 3 calls of at most %d", notes.calls, notes.largest, announceBatch)
	}
}
