package shop

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/geo"
)

// PlaceStore is what Places reads to fill and refresh itself.
type PlaceStore interface {
	FindShopsChangedSince(ctx context.Context, t time.Time) ([]Shop, error)
	FindEventsChangedSince(ctx context.Context, t time.Time) ([]Event, error)
	// PlaceChangeTop returns the number of the last entry of the log of
	// shop and event writes.
	PlaceChangeTop(ctx context.Context) (int, error)
	// FindPlacesChangedAfter returns the shops and events the log names
	// after entry number after, and the number of the last entry read.
	FindPlacesChangedAfter(ctx context.Context, after int) ([]Shop, []Event, int, error)
}

// Places keeps shops and upcoming events in memory, indexed by H3 cell, for
// nearby search. It is filled from the database at start, updated on this
// instance's writes at once, and polls the database for other instances'
// writes (through a numbered log of shop and event writes), so they show up within one poll
// interval. Its methods are safe for concurrent use.
type Places struct {
	mu     sync.RWMutex
	idx    *geo.PointIndex // keys "shop:<id>" and "event:<id>"
	shops  map[string]Shop // every shop, deleted ones too (ShopPlace answers for them)
	events map[string]Event
	cursor int       // the last entry of the change log read
	fullAt time.Time // when everything was last read
	now    func() time.Time
}

// NewPlaces returns an empty index; now defaults to time.Now.
func NewPlaces(now func() time.Time) *Places {
	if now == nil {
		now = time.Now
	}
	return &Places{idx: geo.NewPointIndex(), shops: map[string]Shop{}, events: map[string]Event{}, now: now}
}

// fullEvery is how often Sync reads every shop and event again: the
// change log misses a write whose instance crashed before logging it.
const fullEvery = 10 * time.Minute

// Sync applies what changed in the database since the last sync: the
// writes the change log names after the last entry read (two reads by _id
// when nothing changed), or, the first time and every fullEvery,
// everything.
func (p *Places) Sync(ctx context.Context, st PlaceStore) error {
	p.mu.RLock()
	cursor, full := p.cursor, p.fullAt.IsZero() || p.now().Sub(p.fullAt) >= fullEvery
	p.mu.RUnlock()
	var shops []Shop
	var events []Event
	var err error
	if full {
		shops, events, cursor, err = p.readAll(ctx, st)
	} else {
		shops, events, cursor, err = st.FindPlacesChangedAfter(ctx, cursor)
	}
	if err != nil {
		return fmt.Errorf("sync places: %w", err)
	}
	for _, s := range shops {
		p.PutShop(s)
	}
	for _, e := range events {
		p.PutEvent(e)
	}
	p.mu.Lock()
	p.cursor = max(p.cursor, cursor)
	if full {
		p.fullAt = p.now()
	}
	p.mu.Unlock()
	p.prune()
	return nil
}

// readAll reads every shop and event, and the log's last entry before
// them, so that a write made meanwhile is read again from the log.
func (p *Places) readAll(ctx context.Context, st PlaceStore) ([]Shop, []Event, int, error) {
	top, err := st.PlaceChangeTop(ctx)
	if err != nil {
		return nil, nil, 0, err
	}
	shops, err := st.FindShopsChangedSince(ctx, time.Time{})
	if err != nil {
		return nil, nil, 0, err
	}
	events, err := st.FindEventsChangedSince(ctx, time.Time{})
	return shops, events, top, err
}

// Run syncs every interval until ctx is done, logging failures.
func (p *Places) Run(ctx context.Context, st PlaceStore, interval time.Duration, log *slog.Logger) {
	hyperlieu.Every(ctx, interval, false, log, "places sync", func(ctx context.Context) error { return p.Sync(ctx, st) })
}

// PutShop records a shop's current state; a newer stored state wins.
func (p *Places) PutShop(s Shop) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, ok := p.shops[s.ID]; ok && old.UpdatedAt.After(s.UpdatedAt) {
		return
	}
	p.shops[s.ID] = s
	if s.Deleted() {
		p.idx.Remove("shop:" + s.ID)
		return
	}
	_ = p.idx.Set("shop:"+s.ID, s.Location) // locations were validated before they were stored
}

// PutEvent records an event's current state: events that have not ended
// are kept, cancelled ones too (a shop's feeds show them), and only those
// not cancelled are searchable.
func (p *Places) PutEvent(e Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, ok := p.events[e.ID]; ok && old.UpdatedAt.After(e.UpdatedAt) {
		return
	}
	if !e.EndsAt.After(p.now()) {
		delete(p.events, e.ID)
		p.idx.Remove("event:" + e.ID)
		return
	}
	p.events[e.ID] = e
	if e.Cancelled() {
		p.idx.Remove("event:" + e.ID)
		return
	}
	_ = p.idx.Set("event:"+e.ID, e.Location)
}

// EventsOf returns up to limit of the shop's events that have not ended,
// cancelled ones too, by start: what its feeds and widget show, from
// memory (the database's query on shopId decoded every event on the
// embedded database, for every widget shown on a shop's site).
func (p *Places) EventsOf(shopID string, limit int) []Event {
	p.mu.RLock()
	defer p.mu.RUnlock()
	now := p.now()
	var out []Event
	for _, e := range p.events {
		if e.ShopID == shopID && e.EndsAt.After(now) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b Event) int { return cmp.Or(a.StartsAt.Compare(b.StartsAt), cmp.Compare(a.ID, b.ID)) })
	return out[:min(len(out), limit)]
}

// eventsWhere returns the events that have not ended, cancelled ones
// too, that keep accepts, by start.
func (p *Places) eventsWhere(keep func(Event) bool) []Event {
	p.mu.RLock()
	defer p.mu.RUnlock()
	now := p.now()
	var out []Event
	for _, e := range p.events {
		if e.EndsAt.After(now) && keep(e) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b Event) int { return cmp.Or(a.StartsAt.Compare(b.StartsAt), cmp.Compare(a.ID, b.ID)) })
	return out
}

// firstShopAt returns when the first shop known was created (the zero
// time when none is): no event starts before it.
func (p *Places) firstShopAt() time.Time {
	p.mu.RLock()
	defer p.mu.RUnlock()
	var first time.Time
	for _, s := range p.shops {
		if first.IsZero() || s.CreatedAt.Before(first) {
			first = s.CreatedAt
		}
	}
	return first
}

// prune drops events that have ended.
func (p *Places) prune() {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	for id, e := range p.events {
		if !e.EndsAt.After(now) {
			delete(p.events, id)
			p.idx.Remove("event:" + id)
		}
	}
}

// Shop returns the shop if it is known, deleted or not.
func (p *Places) Shop(id string) (Shop, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	s, ok := p.shops[id]
	return s, ok
}

// ShopsWithin returns the IDs of the shops (not deleted) within radiusM of
// center, from memory: the location engine detects visits with it on every
// report, so it never reads the database.
func (p *Places) ShopsWithin(_ context.Context, center geo.Point, radiusM float64) ([]string, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	var out []string
	for _, h := range p.idx.Within(center, radiusM) {
		if kind, id := splitKey(h.ID); kind == "shop" {
			if s, ok := p.shops[id]; ok && !s.Deleted() {
				out = append(out, id)
			}
		}
	}
	return out, nil
}

// Upcoming returns the known upcoming events starting in [from, to).
func (p *Places) Upcoming(from, to time.Time) []Event {
	p.mu.RLock()
	defer p.mu.RUnlock()
	var out []Event
	for _, e := range p.events {
		if !e.Cancelled() && !e.StartsAt.Before(from) && e.StartsAt.Before(to) {
			out = append(out, e)
		}
	}
	return out
}

// PlaceKind says what a nearby result is.
type PlaceKind string

const (
	PlaceShop  PlaceKind = "shop"
	PlaceEvent PlaceKind = "event"
	PlaceOffer PlaceKind = "offer"
)

// NearbyItem is one result of a nearby search: exactly one of Shop, Event
// and Offer is set, as Kind says.
type NearbyItem struct {
	Kind      PlaceKind
	ID        string
	DistanceM float64
	Shop      *Shop
	Event     *Event
	Offer     *hyperlieu.NearbyOffer
}

// MaxNearbyRadiusM is the largest radius of a nearby search.
const MaxNearbyRadiusM = 50_000

// within returns the shops and upcoming events within radiusM of center,
// nearest first, exact. Ties are broken by kind and ID so that paging is stable.
func (p *Places) within(center geo.Point, radiusM float64) []NearbyItem {
	p.mu.RLock()
	defer p.mu.RUnlock()
	now := p.now()
	var out []NearbyItem
	for _, h := range p.idx.Within(center, radiusM) {
		kind, id := splitKey(h.ID)
		switch kind {
		case "shop":
			if s, ok := p.shops[id]; ok && !s.Deleted() {
				out = append(out, NearbyItem{Kind: PlaceShop, ID: id, DistanceM: h.DistanceM, Shop: &s})
			}
		case "event":
			if e, ok := p.events[id]; ok && e.EndsAt.After(now) && !e.Cancelled() {
				out = append(out, NearbyItem{Kind: PlaceEvent, ID: id, DistanceM: h.DistanceM, Event: &e})
			}
		}
	}
	return out
}

func splitKey(k string) (kind, id string) {
	for i := range len(k) {
		if k[i] == ':' {
			return k[:i], k[i+1:]
		}
	}
	return "", k
}

// NearbyQuery is a nearby search. After is the cursor of the previous page.
type NearbyQuery struct {
	Center  *geo.Point
	RadiusM *float64 // nil: DefaultNearbyRadiusM
	After   *NearbyCursor
	Limit   int // 0: 20; at most 100
	// Categories restricts event results to these categories; empty: all.
}

// DefaultNearbyRadiusM is the radius of a nearby search that names none.
const DefaultNearbyRadiusM = 2000

// radiusOrDefault checks the radius of a search near a point (nearby
// search, events near) and returns it, DefaultNearbyRadiusM when absent.
// A radius that is given must be in (0, MaxNearbyRadiusM]: 0 is not "the
// default".
func radiusOrDefault(p *hyperlieu.Problems, radiusM *float64) float64 {
	if radiusM == nil {
		return DefaultNearbyRadiusM
	}
	if r := *radiusM; !(r > 0 && r <= MaxNearbyRadiusM) { // also rejects NaN
		p.Add("radius", "must be between 1 and %d metres", MaxNearbyRadiusM)
	}
	return *radiusM
}

// NearbyCursor is where a page of nearby results ended: the last item's
// distance and key. The next page starts strictly after it.
type NearbyCursor struct {
	DistanceM float64
	Kind      PlaceKind
	ID        string
}

func itemLess(a NearbyItem, c NearbyCursor) int {
	return cmp.Or(cmp.Compare(a.DistanceM, c.DistanceM), cmp.Compare(a.Kind, c.Kind), cmp.Compare(a.ID, c.ID))
}

// NearbyPage is one page of nearby results and, if there are more, the
// cursor of the next page.
type NearbyPage struct {
	Items []NearbyItem
	Next  *NearbyCursor
}

// Nearby returns the shops, upcoming events and offers within the radius of
// a point, each with its exact distance, nearest first. Invalid names a
// missing or out-of-range point or radius.
func (s *Service) Nearby(ctx context.Context, userID string, q NearbyQuery) (NearbyPage, error) {
	var p hyperlieu.Problems
	if q.Center == nil {
		p.Add("lat", "is required")
		p.Add("lng", "is required")
	} else if err := q.Center.Valid(); err != nil {
		p.Add("lat,lng", "%v", err)
	}
	radiusM := radiusOrDefault(&p, q.RadiusM)
	if q.Limit == 0 {
		q.Limit = 20
	}
	if q.Limit < 1 || q.Limit > 100 {
		p.Add("limit", "must be between 1 and 100")
	}
	if err := p.Err(); err != nil {
		return NearbyPage{}, err
	}
	items := s.places.within(*q.Center, radiusM)
	offers, err := s.offers.OffersNear(ctx, userID, *q.Center, radiusM)
	if err != nil {
		return NearbyPage{}, fmt.Errorf("offers near: %w", err)
	}
	for _, o := range offers {
		if o.DistanceM <= radiusM {
			items = append(items, NearbyItem{Kind: PlaceOffer, ID: o.ID, DistanceM: o.DistanceM, Offer: &o})
		}
	}
	slices.SortFunc(items, func(a, b NearbyItem) int {
		return itemLess(a, NearbyCursor{DistanceM: b.DistanceM, Kind: b.Kind, ID: b.ID})
	})
	if q.After != nil {
		i, _ := slices.BinarySearchFunc(items, *q.After, itemLess)
		for i < len(items) && itemLess(items[i], *q.After) <= 0 {
			i++
		}
		items = items[i:]
	}
	var page NearbyPage
	if len(items) > q.Limit {
		items = items[:q.Limit]
		last := items[len(items)-1]
		page.Next = &NearbyCursor{DistanceM: last.DistanceM, Kind: last.Kind, ID: last.ID}
	}
	page.Items = items
	return page, nil
}
