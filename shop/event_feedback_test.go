package shop

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

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
