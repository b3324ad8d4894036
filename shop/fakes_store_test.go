package shop

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// This file holds the store behind the shop and event use cases' unit
// tests: in memory, with the real one's contract (unique claims, NotFound,
// Conflict).

// memStore implements EventServiceStore, Store and UserFinder in memory.
type memStore struct {
	mu        sync.Mutex
	shops     map[string]Shop
	users     map[string]hyperlieu.User
	events    map[string]Event
	queue     map[string]map[int]*QueueClaim // by event, then position
	released  map[string][]int               // the release log, by event
	rsvps     map[string]RSVP                // by "<event>/<user>"
	checkins  map[string]CheckIn             // by "<event>/<key>"
	feedback  map[string]Feedback            // by "<event>/<key>"
	eventErr  error                          // if set, FindEvent fails with it
	eventsErr error                          // if set, FindEvents fails with it
}

func newMemStore() *memStore {
	return &memStore{shops: map[string]Shop{}, users: map[string]hyperlieu.User{}, events: map[string]Event{},
		queue: map[string]map[int]*QueueClaim{}, released: map[string][]int{}, rsvps: map[string]RSVP{}, checkins: map[string]CheckIn{}, feedback: map[string]Feedback{}}
}

func (m *memStore) CreateShop(_ context.Context, s Shop) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.shops[s.ID]; ok {
		return hyperlieu.Errorf(hyperlieu.Conflict, "shop exists")
	}
	s.ManagerIDs = slices.Clone(s.ManagerIDs)
	m.shops[s.ID] = s
	return nil
}

func (m *memStore) FindShop(_ context.Context, id string) (Shop, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.shops[id]
	if !ok {
		return Shop{}, hyperlieu.Errorf(hyperlieu.NotFound, "shop not found")
	}
	s.ManagerIDs = slices.Clone(s.ManagerIDs)
	return s, nil
}

func (m *memStore) UpdateShop(_ context.Context, s Shop) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.shops[s.ID]; !ok {
		return hyperlieu.Errorf(hyperlieu.NotFound, "shop not found")
	}
	s.ManagerIDs = slices.Clone(s.ManagerIDs)
	m.shops[s.ID] = s
	return nil
}

func (m *memStore) FindShopsChangedSince(context.Context, time.Time) ([]Shop, error) { return nil, nil }

func (m *memStore) FindShopsManagedBy(_ context.Context, userID string) ([]Shop, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Shop
	for _, s := range m.shops {
		if slices.Contains(s.ManagerIDs, userID) {
			s.ManagerIDs = slices.Clone(s.ManagerIDs)
			out = append(out, s)
		}
	}
	return out, nil
}

func (m *memStore) FindUser(_ context.Context, id string) (hyperlieu.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return hyperlieu.User{}, hyperlieu.Errorf(hyperlieu.NotFound, "user not found")
	}
	return u, nil
}

func (m *memStore) CreateEvent(_ context.Context, e Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events[e.ID] = e
	return nil
}

func (m *memStore) FindEvent(_ context.Context, id string) (Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.eventErr != nil {
		return Event{}, m.eventErr
	}
	e, ok := m.events[id]
	if !ok {
		return Event{}, hyperlieu.Errorf(hyperlieu.NotFound, "event not found")
	}
	return e, nil
}

func (m *memStore) UpdateEvent(_ context.Context, e Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.events[e.ID]; !ok {
		return hyperlieu.Errorf(hyperlieu.NotFound, "event not found")
	}
	m.events[e.ID] = e
	return nil
}

func (m *memStore) FindEvents(_ context.Context, f EventFilter) ([]Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.eventsErr != nil {
		return nil, m.eventsErr
	}
	var out []Event
	for _, e := range m.events {
		if (f.ShopID == "" || e.ShopID == f.ShopID) && (f.Category == "" || e.Category == f.Category) &&
			(f.CreatedBy == "" || e.CreatedBy == f.CreatedBy) &&
			(f.From.IsZero() || e.EndsAt.After(f.From)) && (f.To.IsZero() || e.StartsAt.Before(f.To)) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b Event) int { return cmp.Or(a.StartsAt.Compare(b.StartsAt), cmp.Compare(a.ID, b.ID)) })
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

func (m *memStore) CreatePosition(_ context.Context, eventID string, n int, userID string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.queue[eventID]
	if q == nil {
		q = map[int]*QueueClaim{}
		m.queue[eventID] = q
	}
	if _, taken := q[n]; taken {
		return hyperlieu.Errorf(hyperlieu.Conflict, "queue position already exists")
	}
	q[n] = &QueueClaim{EventID: eventID, N: n, UserID: userID, At: at}
	return nil
}

func (m *memStore) FindPositions(_ context.Context, eventID string, from int) ([]QueueClaim, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []QueueClaim{}
	for n := max(from, 1); m.queue[eventID][n] != nil; n++ {
		out = append(out, *m.queue[eventID][n])
	}
	return out, nil
}

func (m *memStore) DeletePosition(_ context.Context, eventID string, n int, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.queue[eventID][n]; c != nil && c.ReleasedAt.IsZero() {
		m.released[eventID] = append(m.released[eventID], n)
		c.ReleasedAt = at
	}
	return nil
}

func (m *memStore) FindReleases(_ context.Context, eventID string, from int) ([]int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	log := m.released[eventID]
	return slices.Clone(log[min(max(from, 1)-1, len(log)):]), nil
}

func (m *memStore) CreateRSVP(_ context.Context, r RSVP) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := r.EventID + "/" + r.UserID
	if _, ok := m.rsvps[k]; ok {
		return hyperlieu.Errorf(hyperlieu.Conflict, "rsvp already exists")
	}
	m.rsvps[k] = r
	return nil
}

func (m *memStore) FindRSVP(_ context.Context, eventID, userID string) (RSVP, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rsvps[eventID+"/"+userID]
	if !ok {
		return RSVP{}, hyperlieu.Errorf(hyperlieu.NotFound, "rsvp not found")
	}
	return r, nil
}

func (m *memStore) UpdateRSVP(_ context.Context, r RSVP) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := r.EventID + "/" + r.UserID
	if _, ok := m.rsvps[k]; !ok {
		return hyperlieu.Errorf(hyperlieu.NotFound, "rsvp not found")
	}
	m.rsvps[k] = r
	return nil
}

func (m *memStore) rsvpsWhere(ok func(RSVP) bool) []RSVP {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []RSVP
	for _, r := range m.rsvps {
		if ok(r) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b RSVP) int { return cmp.Compare(a.EventID+a.UserID, b.EventID+b.UserID) })
	return out
}

func (m *memStore) FindRSVPByTicket(_ context.Context, eventID, code string) (RSVP, error) {
	for _, r := range m.rsvpsWhere(func(r RSVP) bool { return r.EventID == eventID && r.TicketCode == code }) {
		return r, nil
	}
	return RSVP{}, hyperlieu.Errorf(hyperlieu.NotFound, "ticket not found")
}

func (m *memStore) CreateCheckIn(_ context.Context, c CheckIn) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := c.EventID + "/" + c.UserID
	if _, ok := m.checkins[k]; ok {
		return hyperlieu.Errorf(hyperlieu.Conflict, "check-in already exists")
	}
	m.checkins[k] = c
	return nil
}

func (m *memStore) FindCheckIn(_ context.Context, eventID, userID string) (CheckIn, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.checkins[eventID+"/"+userID]
	if !ok {
		return CheckIn{}, hyperlieu.Errorf(hyperlieu.NotFound, "check-in not found")
	}
	return c, nil
}

func (m *memStore) UpdateFeedback(_ context.Context, f Feedback) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := f.EventID + "/" + f.UserID
	if old, ok := m.feedback[k]; ok {
		f.CreatedAt = old.CreatedAt
	}
	m.feedback[k] = f
	return nil
}

func (m *memStore) FindFeedback(_ context.Context, eventID string) ([]Feedback, error) {
	return m.feedbackWhere(func(f Feedback) bool { return f.EventID == eventID }), nil
}

func (m *memStore) feedbackWhere(ok func(Feedback) bool) []Feedback {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Feedback
	for _, f := range m.feedback {
		if ok(f) {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b Feedback) int { return a.UpdatedAt.Compare(b.UpdatedAt) })
	return out
}
