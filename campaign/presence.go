package campaign

import (
	"context"
	"sync"
	"time"

	"github.com/hyperlieu/hyperlieu/geo"
)

// PresenceMove says that a customer's stored position went from one cell
// to another (From zero: their first state; To zero: erased), at At. The
// store keeps, per coarse area, who is there (FindUsersPresentIn), so that
// a reach estimate or an event's announcement reads the area's customers
// by key instead of every customer's state.
type PresenceMove struct {
	UserID   string
	From, To geo.Cell
	At       time.Time
}

// maxQueuedMoves bounds the moves kept while the database does not take
// them; past it the oldest are dropped (the retention sweep puts a
// customer listed in the wrong area right, see store.MovePresence).
const maxQueuedMoves = 100_000

// presenceQueue holds the moves of stored positions to cells not yet
// written, one per customer (the first From, the last To): writing them on
// the report would add a command to every report that changes cell, so
// Service.Run writes them in batches, every Poll, and a reach estimate
// writes this instance's first. The zero value is ready.
type presenceQueue struct {
	mu    sync.Mutex
	moves map[string]PresenceMove
}

func (q *presenceQueue) add(m PresenceMove) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.moves == nil || len(q.moves) >= maxQueuedMoves {
		q.moves = map[string]PresenceMove{}
	}
	if prev, ok := q.moves[m.UserID]; ok {
		m.From = prev.From
	}
	q.moves[m.UserID] = m
}

func (q *presenceQueue) take() []PresenceMove {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]PresenceMove, 0, len(q.moves))
	for _, m := range q.moves {
		out = append(out, m)
	}
	q.moves = nil
	return out
}

// putBack requeues moves a write failed, under any queued since.
func (q *presenceQueue) putBack(ms []PresenceMove) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.moves == nil {
		q.moves = map[string]PresenceMove{}
	}
	for _, m := range ms {
		if later, ok := q.moves[m.UserID]; ok {
			later.From = m.From
			q.moves[m.UserID] = later
		} else if len(q.moves) < maxQueuedMoves {
			q.moves[m.UserID] = m
		}
	}
}

func (q *presenceQueue) forget(userID string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.moves, userID)
}

// FlushPresence writes the presence moves queued since the last flush;
// Run calls it every Poll. Moves it could not write are kept for the next.
func (s *Service) FlushPresence(ctx context.Context) error {
	s.flushing.Lock()
	defer s.flushing.Unlock()
	moves := s.presence.take()
	if len(moves) == 0 {
		return nil
	}
	if err := s.store.MovePresence(ctx, moves); err != nil {
		s.presence.putBack(moves)
		return err
	}
	return nil
}
