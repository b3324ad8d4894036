package test

import (
	"testing"
	"time"
)

// Issue 10, "Loyalty that cannot be gamed".

func TestLoyaltyIdempotentBySourceWhateverTheKind(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	admin := s.admin(t)
	ana := s.register(t, "Ana")

	// One source replayed as a check-in, then as a redemption and as
	// feedback: it paid as a check-in (50) the first time, and never again.
	key := "checkin:ev1:" + ana.ID
	s.recordActivity(t, admin, ana.ID, "checkin", key, time.Time{})
	s.recordActivity(t, admin, ana.ID, "redemption", key, time.Time{})
	s.recordActivity(t, admin, ana.ID, "feedback", key, time.Time{})
	if l := s.loyalty(t, ana); l.Balance != 50 || len(l.Recent) != 1 {
		t.Fatalf("loyalty after replays under other kinds = %+v, want balance 50 in one entry", l)
	}
}
