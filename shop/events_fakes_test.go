package shop

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/geo"
)

// This file holds the fakes behind the event use cases' unit tests: an
// in-memory store with the real one's contract (unique claims, NotFound,
// Conflict), a deduplicating notifier, an activity recorder and a clock.

// memStore implements EventStore, ShopStore and UserFinder in memory.
type memStore struct {
	mu       sync.Mutex
	shops    map[string]Shop
	users    map[string]hyperlieu.User
	events   map[string]Event
	queue    map[string]map[int]*QueueClaim // by event, then position
	rsvps    map[string]RSVP                // by "<event>/<user>"
	checkins map[string]CheckIn             // by "<event>/<key>"
	feedback map[string]Feedback            // by "<event>/<key>"
}

func newMemStore() *memStore {
	return &memStore{shops: map[string]Shop{}, users: map[string]hyperlieu.User{}, events: map[string]Event{},
		queue: map[string]map[int]*QueueClaim{}, rsvps: map[string]RSVP{}, checkins: map[string]CheckIn{}, feedback: map[string]Feedback{}}
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

func (m *memStore) ClaimPosition(_ context.Context, eventID string, n int, userID string, at time.Time) error {
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

func (m *memStore) CountPositions(_ context.Context, eventID string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.queue[eventID]), nil
}

func (m *memStore) ReleasePosition(_ context.Context, eventID string, n int, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.queue[eventID][n]; c != nil && c.ReleasedAt.IsZero() {
		c.ReleasedAt = at
	}
	return nil
}

// live returns the event's live positions in order; m.mu is held.
func (m *memStore) live(eventID string) []QueueEntry {
	var out []QueueEntry
	for _, c := range m.queue[eventID] {
		if c.ReleasedAt.IsZero() {
			out = append(out, QueueEntry{N: c.N, UserID: c.UserID})
		}
	}
	slices.SortFunc(out, func(a, b QueueEntry) int { return a.N - b.N })
	return out
}

func (m *memStore) Queue(_ context.Context, eventID string) ([]QueueEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.live(eventID), nil
}

func (m *memStore) CountLive(_ context.Context, eventID string, below int) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, qe := range m.live(eventID) {
		if below == 0 || qe.N < below {
			n++
		}
	}
	return n, nil
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
	m.rsvps[r.EventID+"/"+r.UserID] = r
	return nil
}

func (m *memStore) FindRSVPs(_ context.Context, eventID string) ([]RSVP, error) {
	return m.rsvpsWhere(func(r RSVP) bool { return r.EventID == eventID }), nil
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

func (m *memStore) SaveFeedback(_ context.Context, f Feedback) error {
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

// EraseEventUser mirrors the store's: anonymous check-ins and ratings keyed
// by the seat, positions without their user, RSVPs gone.
func (m *memStore) EraseEventUser(_ context.Context, userID string) error {
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

// notifier records notifications, queueing each DedupKey once as the real
// outbox does.
type notifier struct {
	mu   sync.Mutex
	sent []hyperlieu.NotificationRequest
	keys map[string]bool
	raw  int // requests, duplicates included
}

func (n *notifier) Notify(_ context.Context, reqs ...hyperlieu.NotificationRequest) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.raw += len(reqs)
	if n.keys == nil {
		n.keys = map[string]bool{}
	}
	for _, r := range reqs {
		if r.DedupKey != "" && n.keys[r.DedupKey] {
			continue
		}
		n.keys[r.DedupKey] = true
		n.sent = append(n.sent, r)
	}
	return nil
}

func (n *notifier) ReserveContact(context.Context, hyperlieu.User, time.Time) (bool, error) {
	return true, nil
}

// to returns who was sent a kind of notification, sorted, once per message.
func (n *notifier) to(kind hyperlieu.NotificationKind) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, r := range n.sent {
		if r.Kind == kind {
			out = append(out, r.UserID)
		}
	}
	slices.Sort(out)
	return out
}

// reset forgets what was sent (not the dedup keys).
func (n *notifier) reset() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent = nil
}

// recorder records activities once per SourceKey.
type recorder struct {
	mu   sync.Mutex
	seen map[string]hyperlieu.Activity
}

func (r *recorder) RecordActivity(_ context.Context, a hyperlieu.Activity) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = map[string]hyperlieu.Activity{}
	}
	if _, ok := r.seen[a.SourceKey]; !ok {
		r.seen[a.SourceKey] = a
	}
	return nil
}

func (r *recorder) has(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.seen[key]
	return ok
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// fixture is an event service over the fakes, with one shop and its manager.
type fixture struct {
	t       *testing.T
	clock   *clock
	store   *memStore
	notes   *notifier
	acts    *recorder
	events  *EventService
	shops   *Service
	shop    Shop
	manager hyperlieu.Actor
}

// t0 is when every fixture starts.
var t0 = time.Date(2030, 5, 1, 10, 0, 0, 0, time.UTC)

// shopAt is the fixture shop's location, Paris' Hôtel de Ville.
var shopAt = geo.Point{Lat: 48.8566, Lng: 2.3522}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, clock: &clock{t: t0}, store: newMemStore(), notes: &notifier{}, acts: &recorder{}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	places := NewPlaces(f.clock.Now)
	f.shops = NewService(f.store, f.store, places, Options{Now: f.clock.Now}, log)
	f.events = NewEventService(f.store, f.shops, f.store, EventOptions{Notifier: f.notes, Activity: f.acts, Now: f.clock.Now}, log)
	admin := hyperlieu.Actor{UserID: "admin", Roles: []hyperlieu.Role{hyperlieu.RoleAdmin}}
	loc := shopAt
	sh, err := f.shops.CreateShop(context.Background(), admin, Input{Name: "Atelier", Address: "1 rue de Rivoli", Location: &loc, Timezone: "Europe/Paris"})
	if err != nil {
		t.Fatal(err)
	}
	f.addUser("mgr", hyperlieu.RoleManager)
	if f.shop, err = f.shops.AddManager(context.Background(), admin, sh.ID, "mgr"); err != nil {
		t.Fatal(err)
	}
	f.manager = hyperlieu.Actor{UserID: "mgr", Roles: []hyperlieu.Role{hyperlieu.RoleManager}}
	return f
}

func (f *fixture) addUser(id string, roles ...hyperlieu.Role) {
	f.store.mu.Lock()
	defer f.store.mu.Unlock()
	f.store.users[id] = hyperlieu.User{ID: id, DisplayName: "Name of " + id, Roles: roles, Prefs: hyperlieu.Preferences{ShowInAttendeeLists: true}}
}

// event schedules an event starting `in` from now, lasting two hours.
func (f *fixture) event(in time.Duration, capacity int) Event {
	f.t.Helper()
	start, end := f.clock.Now().Add(in), f.clock.Now().Add(in+2*time.Hour)
	title, cat := "Workshop", "workshop"
	e, err := f.events.CreateEvent(context.Background(), f.manager, f.shop.ID, EventInput{
		Title: &title, Category: &cat, StartsAt: &start, EndsAt: &end, Capacity: &capacity,
	})
	if err != nil {
		f.t.Fatalf("CreateEvent: %v", err)
	}
	return e
}

// rsvp answers going for each user, in order, and returns their states.
func (f *fixture) rsvp(e Event, users ...string) []RSVPState {
	f.t.Helper()
	out := make([]RSVPState, len(users))
	for i, u := range users {
		if _, err := f.store.FindUser(context.Background(), u); err != nil {
			f.addUser(u)
		}
		st, err := f.events.RSVP(context.Background(), u, e.ID)
		if err != nil {
			f.t.Fatalf("RSVP(%s, %s): %v", u, e.ID, err)
		}
		out[i] = st
	}
	return out
}

// north returns the point d metres north of p: along a meridian the
// great-circle distance is exactly the arc.
func north(p geo.Point, d float64) geo.Point {
	return geo.Point{Lat: p.Lat + d/geo.EarthRadiusM*180/math.Pi, Lng: p.Lng}
}
