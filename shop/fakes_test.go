package shop

import (
	"context"
	"log/slog"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/geo"
)

// The collaborators behind the unit tests: a deduplicating notifier, an
// activity recorder, a clock, and the fixture wiring them together.

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

// audience returns the same customers wherever and whenever.
type audience []string

func (a audience) CustomersNear(context.Context, geo.Point, float64, time.Time) ([]string, error) {
	return a, nil
}

// noOffers has no offers anywhere.
type noOffers struct{}

func (noOffers) OffersNear(context.Context, string, geo.Point, float64) ([]hyperlieu.NearbyOffer, error) {
	return nil, nil
}

// discard is the tests' logger.
var discard = slog.New(slog.DiscardHandler)

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
	places := NewPlaces(f.clock.Now)
	f.shops = NewService(f.store, f.store, places, noOffers{}, Options{Now: f.clock.Now}, discard)
	f.events = NewEventService(f.store, f.shops, f.store, f.notes, f.acts, audience(nil), EventOptions{Now: f.clock.Now}, discard)
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
