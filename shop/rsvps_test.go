package shop

import (
	"slices"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

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
