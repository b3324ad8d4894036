package shop

import (
	"context"
	"sync"
	"time"
)

// queueView is this instance's copy of one event's queue: every position
// claimed so far (positions are claimed densely, 1, 2, …) with its holder,
// and which were released. Claims and releases only ever add to it, so a
// refresh reads just what is new, by _id: the positions after the last one
// known and the release log's entries after the last one read, one read
// each plus one. A refreshed view is exact (every claim and release
// committed before the refresh is in it, on whatever instance it was made),
// so the seat counts it gives are too. Holders' names may be stale after an
// erasure on another instance; readers look people up and skip the erased.
type queueView struct {
	mu       sync.Mutex
	endsAt   time.Time // written and read under the service's mutex
	users    []string  // users[n-1] holds position n
	released []bool    // released[n-1]: position n was given back
	logged   int       // release log entries read
	// joined remembers, by position, whether its RSVP joined the waitlist
	// (final once the RSVP names the position); told, the promoted told
	// by this instance. Both only save reads and duplicate requests.
	joined map[int]bool
	told   map[int]bool
}

// viewOf returns the event's view, refreshed. Making a new one first drops
// those of ended events, so that what is kept is bounded by the events
// still running and those just read.
func (s *EventService) viewOf(ctx context.Context, e Event) (*queueView, error) {
	s.mu.Lock()
	now := s.now()
	v := perEvent(s.views, e.ID, func(old *queueView) bool { return !old.endsAt.After(now) },
		func() *queueView { return &queueView{joined: map[int]bool{}, told: map[int]bool{}} })
	v.endsAt = e.EndsAt // under s.mu, which perEvent reads it under
	s.mu.Unlock()
	v.mu.Lock()
	defer v.mu.Unlock()
	return v, v.refresh(ctx, s.store, e.ID)
}

// perEvent returns m's entry for eventID, made by fresh when missing.
// Making one first drops the entries done says are over, so that m holds
// only events still in play. The caller holds the service's mutex.
func perEvent[T any](m map[string]*T, eventID string, done func(*T) bool, fresh func() *T) *T {
	if v := m[eventID]; v != nil {
		return v
	}
	for id, old := range m {
		if done(old) {
			delete(m, id)
		}
	}
	v := fresh()
	m[eventID] = v
	return v
}

// forgetViews drops the views of events, after an erasure renamed their holders.
func (s *EventService) forgetViews(eventIDs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range eventIDs {
		delete(s.views, id)
	}
}

// refresh reads the claims and releases made since the last refresh; v.mu is held.
func (v *queueView) refresh(ctx context.Context, st QueueStore, eventID string) error {
	if err := v.readClaims(ctx, st, eventID); err != nil {
		return err
	}
	rel, err := st.FindReleases(ctx, eventID, v.logged+1)
	if err != nil {
		return err
	}
	for _, n := range rel {
		if n > len(v.users) {
			// Claimed and released since the positions were read: read on.
			if err := v.readClaims(ctx, st, eventID); err != nil {
				return err
			}
			if n > len(v.users) {
				return nil // not an entry a release makes: leave it unread
			}
		}
		if n >= 1 {
			v.released[n-1] = true
		}
		v.logged++
	}
	return nil
}

// readClaims reads the positions after the last one known; v.mu is held.
func (v *queueView) readClaims(ctx context.Context, st QueueStore, eventID string) error {
	claims, err := st.FindPositions(ctx, eventID, len(v.users)+1)
	if err != nil {
		return err
	}
	for _, c := range claims {
		v.users = append(v.users, c.UserID)
		v.released = append(v.released, !c.ReleasedAt.IsZero())
	}
	return nil
}

// claimed returns how many positions were ever claimed.
func (v *queueView) claimed() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.users)
}

// liveBelow returns how many live positions lie below n (all when n is 0).
func (v *queueView) liveBelow(n int) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	end := len(v.users)
	if n > 0 {
		end = min(end, n-1)
	}
	live := 0
	for _, r := range v.released[:end] {
		if !r {
			live++
		}
	}
	return live
}

// live returns the live positions in order.
func (v *queueView) live() []QueueEntry {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := []QueueEntry{}
	for i, u := range v.users {
		if !v.released[i] {
			out = append(out, QueueEntry{N: i + 1, UserID: u})
		}
	}
	return out
}

func (v *queueView) joinedAt(n int) (joined, known bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	joined, known = v.joined[n]
	return joined, known
}

func (v *queueView) setJoined(n int, joined bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.joined[n] = joined
}

func (v *queueView) wasTold(n int) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.told[n]
}

func (v *queueView) setTold(ns []int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, n := range ns {
		v.told[n] = true
	}
}

// queue returns the event's live positions in order, as of now.
func (s *EventService) queue(ctx context.Context, e Event) ([]QueueEntry, error) {
	v, err := s.viewOf(ctx, e)
	if err != nil {
		return nil, err
	}
	return v.live(), nil
}

// liveCount returns how many live positions of the event lie below n (all
// of them when n is 0), as of now.
func (s *EventService) liveCount(ctx context.Context, e Event, below int) (int, error) {
	v, err := s.viewOf(ctx, e)
	if err != nil {
		return 0, err
	}
	return v.liveBelow(below), nil
}
