package shop

import (
	"slices"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// TestQueueViewsAcrossInstances: each instance keeps its own copy of an
// event's queue and reads only what changed, yet what it answers is exact
// whoever made the change: a seat given back on one instance is seen at
// once on the other, the person promoted is told once, and the seat counts
// agree.
func TestQueueViewsAcrossInstances(t *testing.T) {
	f := newFixture(t)
	other := NewEventService(f.store, f.shops, f.store, f.notes, f.acts, audience(nil), EventOptions{Now: f.clock.Now}, discard)
	e := f.event(3*time.Hour, 1)
	f.rsvp(e, "ana", "ben") // ben waits
	if st, err := other.MyRSVP(ctx, "ben", e.ID); err != nil || st.Status != Waitlisted || st.WaitlistPosition != 1 {
		t.Fatalf("ben on the other instance = %+v, %v; want waitlisted first", st, err)
	}
	if err := other.CancelRSVP(ctx, "ana", e.ID); err != nil {
		t.Fatal(err)
	}
	if st, err := f.events.MyRSVP(ctx, "ben", e.ID); err != nil || st.Status != Going {
		t.Errorf("ben after ana withdrew elsewhere = %+v, %v; want going", st, err)
	}
	// A claim on one instance, then the next on the other, takes the next seat.
	if st, err := other.RSVP(ctx, "cy", e.ID); err != nil || st.Position != 3 || st.WaitlistPosition != 1 {
		t.Errorf("cy = %+v, %v; want position 3, waitlisted first", st, err)
	}
	if st, err := f.events.RSVP(ctx, "dan", e.ID); err != nil || st.Position != 4 || st.WaitlistPosition != 2 {
		t.Errorf("dan = %+v, %v; want position 4, waitlisted second", st, err)
	}
	// Ben withdraws here, Cy is promoted; both instances promote, Cy is told once.
	if err := f.events.CancelRSVP(ctx, "ben", e.ID); err != nil {
		t.Fatal(err)
	}
	other.promote(ctx, e, f.shop)
	if got := f.notes.to(hyperlieu.KindWaitlistPromoted); !slices.Equal(got, []string{"ben", "cy"}) {
		t.Errorf("promoted and told %v, want ben then cy", got)
	}
	for i, s := range []*EventService{f.events, other} {
		if going, waiting, err := s.Seats(ctx, e); going != 1 || waiting != 1 || err != nil {
			t.Errorf("instance %d: seats = %d going, %d waiting, %v; want 1, 1", i, going, waiting, err)
		}
	}
}

// TestQueueViewsForgetEndedEvents: an instance keeps the queues of events
// still running only.
func TestQueueViewsForgetEndedEvents(t *testing.T) {
	f := newFixture(t)
	soon := f.event(time.Hour, 5)
	later := f.event(24*time.Hour, 5)
	f.rsvp(soon, "ana")
	f.rsvp(later, "ben")
	f.clock.Set(t0.Add(4 * time.Hour)) // soon has ended
	f.rsvp(f.event(time.Hour, 5), "cy")
	f.events.mu.Lock()
	defer f.events.mu.Unlock()
	if _, kept := f.events.views[soon.ID]; kept || len(f.events.views) != 2 {
		t.Errorf("views kept for %d events (the ended one: %v), want the two running", len(f.events.views), kept)
	}
}
