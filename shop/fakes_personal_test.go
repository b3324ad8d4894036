package shop

import (
	"context"
	"fmt"
)

// The personal-data half of memStore: what EventPersonalStore finds and erases.

func (m *memStore) FindRSVPsBy(_ context.Context, userID string) ([]RSVP, error) {
	return m.rsvpsWhere(func(r RSVP) bool { return r.UserID == userID }), nil
}

func (m *memStore) FindClaimsBy(_ context.Context, userID string) ([]QueueClaim, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []QueueClaim
	for _, q := range m.queue {
		for _, c := range q {
			if c.UserID == userID {
				out = append(out, *c)
			}
		}
	}
	return out, nil
}

func (m *memStore) FindCheckInsBy(_ context.Context, userID string) ([]CheckIn, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []CheckIn
	for _, c := range m.checkins {
		if c.UserID == userID {
			out = append(out, c)
		}
	}
	return out, nil
}

func (m *memStore) FindFeedbackBy(_ context.Context, userID string) ([]Feedback, error) {
	return m.feedbackWhere(func(f Feedback) bool { return f.UserID == userID }), nil
}

// DeleteEventUser mirrors the store's: anonymous check-ins and ratings keyed
// by the seat, positions without their user, RSVPs gone.
func (m *memStore) DeleteEventUser(_ context.Context, userID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	seat := map[string]int{}
	for k, r := range m.rsvps {
		if r.UserID == userID {
			seat[r.EventID] = r.Position
			delete(m.rsvps, k)
		}
	}
	for k, c := range m.checkins {
		if c.UserID == userID {
			delete(m.checkins, k)
			c.UserID, c.By = "", ""
			m.checkins[fmt.Sprintf("%s/#%d", c.EventID, seat[c.EventID])] = c
		}
	}
	for k, f := range m.feedback {
		if f.UserID == userID {
			delete(m.feedback, k)
			f.UserID, f.Comment = "", ""
			m.feedback[fmt.Sprintf("%s/#%d", f.EventID, seat[f.EventID])] = f
		}
	}
	for _, q := range m.queue {
		for _, c := range q {
			if c.UserID == userID {
				c.UserID = ""
			}
		}
	}
	for id, e := range m.events {
		if e.CreatedBy == userID {
			e.CreatedBy = ""
			m.events[id] = e
		}
	}
	return nil
}
