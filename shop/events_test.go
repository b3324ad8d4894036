package shop

import (
	"context"
	"fmt"
	"slices"
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
	other := NewEventService(f.store, f.shops, f.store, f.notes, f.acts, audience(nil), EventOptions{Now: f.clock.Now}, discard)

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
	f.events = NewEventService(f.store, f.shops, f.store, notes, f.acts, crowd, EventOptions{Now: f.clock.Now}, discard)
	f.event(48*time.Hour, 10)
	f.events.Wait() // announcing runs in the background
	if got := len(notes.to(hyperlieu.KindEventAnnounced)); got != len(crowd) {
		t.Errorf("announced to %d customers, want %d", got, len(crowd))
	}
	if notes.calls != 3 || notes.largest != announceBatch {
		t.Errorf("Notify called %d times, largest batch %d; want 3 calls of at most %d", notes.calls, notes.largest, announceBatch)
	}
}

// TestRemindersForgetStartedEvents: what an instance remembers of the
// reminders it queued is dropped once the event starts, so it stays bounded
// by the events of the next hour however long the instance runs; the
// reminders themselves stay single.
func TestRemindersForgetStartedEvents(t *testing.T) {
	f := newFixture(t)
	e := f.event(3*time.Hour, 5) // starts at t0+3h
	f.rsvp(e, "ana", "ben")
	later := f.event(3*time.Hour+30*time.Minute, 5)
	f.rsvp(later, "cy")
	for _, st := range []struct {
		name string
		at   time.Duration // since t0
		want int           // reminders remembered
	}{
		{"before the hour", time.Hour, 0},
		{"within the hour of the first", 2*time.Hour + time.Minute, 2},
		{"within the hour of both", 2*time.Hour + 31*time.Minute, 3},
		{"the first started", 3*time.Hour + time.Minute, 1},
		{"both started", 3*time.Hour + 31*time.Minute, 0},
	} {
		f.clock.Set(t0.Add(st.at))
		if err := f.events.SendReminders(ctx); err != nil {
			t.Fatalf("%s: SendReminders: %v", st.name, err)
		}
		if got := f.events.reminded.size(); got != st.want {
			t.Errorf("%s: %d reminders remembered, want %d", st.name, got, st.want)
		}
	}
	if got, want := f.notes.to(hyperlieu.KindEventReminder), []string{"ana", "ben", "cy"}; !slices.Equal(got, want) {
		t.Errorf("reminded %v, want %v once each", got, want)
	}
}

// TestClaimersForgetStartedEvents: the per-event claim serialisers of events
// that started (which take no more answers) go when another event is claimed.
func TestClaimersForgetStartedEvents(t *testing.T) {
	f := newFixture(t)
	soon, later := f.event(time.Hour, 5), f.event(48*time.Hour, 5)
	f.rsvp(soon, "ana")
	f.rsvp(later, "ben")
	f.clock.Set(t0.Add(2 * time.Hour)) // soon has started
	next := f.event(24*time.Hour, 5)
	f.rsvp(next, "cy")
	f.events.mu.Lock()
	_, kept := f.events.claims[later.ID]
	_, stale := f.events.claims[soon.ID]
	n := len(f.events.claims)
	f.events.mu.Unlock()
	if stale || !kept || n != 2 {
		t.Errorf("claimers: %d, started event's kept %v, upcoming event's kept %v; want 2, false, true", n, stale, kept)
	}
}

// ctxNotifier fails like a real outbox would once its context is done.
type ctxNotifier struct{ notifier }

func (c *ctxNotifier) Notify(ctx context.Context, reqs ...hyperlieu.NotificationRequest) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return c.notifier.Notify(ctx, reqs...)
}

// gatedAudience answers once released.
type gatedAudience struct {
	audience
	release chan struct{}
}

func (g gatedAudience) CustomersNear(ctx context.Context, p geo.Point, r float64, since time.Time) ([]string, error) {
	<-g.release
	return g.audience.CustomersNear(ctx, p, r, since)
}

// TestAnnounceOutlivesTheRequest: the announcement is not cut short when
// the request that created the event ends (or times out) first.
func TestAnnounceOutlivesTheRequest(t *testing.T) {
	f := newFixture(t)
	notes := &ctxNotifier{}
	crowd := gatedAudience{audience{"ana", "ben"}, make(chan struct{})}
	f.events = NewEventService(f.store, f.shops, f.store, notes, f.acts, crowd, EventOptions{Now: f.clock.Now}, discard)
	reqCtx, cancel := context.WithCancel(ctx)
	start, end, title, cat, capacity := t0.Add(time.Hour), t0.Add(2*time.Hour), "Launch", "launch", 5
	if _, err := f.events.CreateEvent(reqCtx, f.manager, f.shop.ID, EventInput{Title: &title, Category: &cat, StartsAt: &start, EndsAt: &end, Capacity: &capacity}); err != nil {
		t.Fatal(err)
	}
	cancel() // the request is over before the announcement starts
	close(crowd.release)
	f.events.Wait()
	if got, want := notes.to(hyperlieu.KindEventAnnounced), []string{"ana", "ben"}; !slices.Equal(got, want) {
		t.Errorf("announced to %v, want %v", got, want)
	}
}
