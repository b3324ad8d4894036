package shop

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/geo"
)

// Event is a local community event at a shop: a workshop, a launch, an
// after-sales barcamp. Its seats are claimed by RSVPs in queue order.
type Event struct {
	ID, ShopID  string
	Title       string
	Description string
	Category    string
	StartsAt    time.Time
	EndsAt      time.Time
	Capacity    int
	// MaxWaitlist bounds the waitlist; -1 means unbounded, 0 no waitlist.
	MaxWaitlist     int
	Location        geo.Point
	AnnounceRadiusM float64
	CreatedBy       string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	// Revision counts the changes (updates and the cancellation): the ICS
	// SEQUENCE, which must grow with every change, however close together.
	Revision     int
	CancelledAt  time.Time // zero unless cancelled
	CancelReason string
}

// Cancelled reports whether the event was cancelled.
func (e Event) Cancelled() bool { return !e.CancelledAt.IsZero() }

// EventCategories are the kinds of events a shop can run.
var EventCategories = []string{"workshop", "launch", "barcamp", "meetup", "tasting", "other"}

// Event limits.
const (
	MaxEventCapacity      = 100_000
	MaxAnnounceRadiusM    = 50_000
	DefaultAnnounceRadius = 1000
	CheckInRadiusM        = 150
	CheckInOpensBefore    = 30 * time.Minute
	ReminderLead          = time.Hour
	// MaxEventLength bounds EndsAt-StartsAt, so that the events running at
	// a time are found among those that started at most this long before.
	MaxEventLength = 14 * 24 * time.Hour
	LowRating      = 2 // ratings at or below it need attention
)

// EventFilter selects events. Zero fields select everything.
type EventFilter struct {
	ShopID   string
	From, To time.Time // events ending after From and starting before To
	Category string
	// CreatedBy selects the events a user scheduled.
	CreatedBy string
	Limit     int
}

// EventStore keeps the events themselves.
type EventStore interface {
	CreateEvent(ctx context.Context, e Event) error
	// FindEvent returns NotFound when there is no such event.
	FindEvent(ctx context.Context, id string) (Event, error)
	// UpdateEvent replaces the stored event; NotFound if there is none.
	UpdateEvent(ctx context.Context, e Event) error
	// FindEvents returns matching events ordered by start time.
	FindEvents(ctx context.Context, f EventFilter) ([]Event, error)
}

// EventServiceStore is everything the event use cases need from the
// database: one role per use-case group, declared beside the code using it.
type EventServiceStore interface {
	EventStore
	QueueStore
	RSVPStore
	CheckInStore
	FeedbackStore
	EventPersonalStore
}

// EventOptions are the event use cases' settings.
type EventOptions struct {
	Now func() time.Time // default time.Now
	// AnnounceRecency is how recent a location must be for an announcement.
	AnnounceRecency time.Duration // default 24h
}

// EventService holds the event use cases: scheduling, RSVPs and waitlists,
// attendee lists, check-ins, feedback and the notifications they cause.
type EventService struct {
	store    EventServiceStore
	shops    *Service
	users    hyperlieu.UserFinder
	notifier hyperlieu.Notifier
	activity hyperlieu.ActivityRecorder
	audience hyperlieu.NearbyAudience
	opts     EventOptions
	log      *slog.Logger

	reminded   sentReminders // reminders already queued by this instance
	announcing sync.WaitGroup

	mu     sync.Mutex
	claims map[string]*claimer   // by event
	views  map[string]*queueView // by event
}

// NewEventService returns the event use cases. notifier tells people about
// their events, activity pays check-ins and feedback, audience finds who to
// announce a new event to; all are required.
func NewEventService(store EventServiceStore, shops *Service, users hyperlieu.UserFinder, notifier hyperlieu.Notifier,
	activity hyperlieu.ActivityRecorder, audience hyperlieu.NearbyAudience, opts EventOptions, log *slog.Logger) *EventService {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.AnnounceRecency == 0 {
		opts.AnnounceRecency = 24 * time.Hour
	}
	return &EventService{store: store, shops: shops, users: users, notifier: notifier, activity: activity, audience: audience,
		opts: opts, log: log, reminded: sentReminders{byEvent: map[string]*eventReminders{}}, claims: map[string]*claimer{}, views: map[string]*queueView{}}
}

func (s *EventService) now() time.Time { return s.opts.Now().UTC() }

// managedShop returns the shop of an event if the actor may run it;
// Forbidden otherwise.
func (s *EventService) managedShop(ctx context.Context, a hyperlieu.Actor, shopID string) (Shop, error) {
	sh, err := s.shops.store.FindShop(ctx, shopID)
	if err != nil {
		return Shop{}, err
	}
	if !canManage(a, sh) {
		return Shop{}, hyperlieu.Errorf(hyperlieu.Forbidden, "you do not manage this shop")
	}
	return sh, nil
}

// CreateEvent schedules an event at a shop. The actor must manage the shop
// (Forbidden). The location defaults to the shop's. Invalid names every bad
// field; Conflict if the shop was deleted. Customers near the event who
// accept event messages are told, in the background (best effort: a
// failure is logged).
func (s *EventService) CreateEvent(ctx context.Context, a hyperlieu.Actor, shopID string, in EventInput) (Event, error) {
	sh, err := s.managedShop(ctx, a, shopID)
	if err != nil {
		return Event{}, err
	}
	if sh.Deleted() {
		return Event{}, hyperlieu.Errorf(hyperlieu.Conflict, "the shop was deleted")
	}
	now := s.now()
	e := Event{ID: hyperlieu.NewID(), ShopID: sh.ID, Location: sh.Location, MaxWaitlist: -1,
		AnnounceRadiusM: DefaultAnnounceRadius, CreatedBy: a.UserID, CreatedAt: now, UpdatedAt: now}
	var p hyperlieu.Problems
	in.apply(&p, &e, now, true)
	if err := p.Err(); err != nil {
		return Event{}, err
	}
	if err := s.store.CreateEvent(ctx, e); err != nil {
		return Event{}, fmt.Errorf("create event: %w", err)
	}
	s.shops.places.PutEvent(e)
	s.announceLater(ctx, sh, e)
	return e, nil
}

// Event returns an event, cancelled or past. NotFound if there is none.
func (s *EventService) Event(ctx context.Context, id string) (Event, error) {
	return s.store.FindEvent(ctx, id)
}

// EventWithShop returns an event and its shop.
func (s *EventService) EventWithShop(ctx context.Context, id string) (Event, Shop, error) {
	e, err := s.store.FindEvent(ctx, id)
	if err != nil {
		return Event{}, Shop{}, err
	}
	sh, err := s.shops.store.FindShop(ctx, e.ShopID)
	if err != nil {
		return Event{}, Shop{}, fmt.Errorf("shop of event %s: %w", id, err)
	}
	return e, sh, nil
}

// UpdateEvent changes an event. The actor must manage its shop (Forbidden);
// Conflict if it was cancelled or has ended, or if the capacity would drop
// below the people already going. When the time or place moves, everyone
// going or waitlisted is told.
func (s *EventService) UpdateEvent(ctx context.Context, a hyperlieu.Actor, id string, in EventInput) (Event, error) {
	e, sh, err := s.EventWithShop(ctx, id)
	if err != nil {
		return Event{}, err
	}
	if !canManage(a, sh) {
		return Event{}, hyperlieu.Errorf(hyperlieu.Forbidden, "you do not manage this shop")
	}
	now := s.now()
	switch {
	case e.Cancelled():
		return Event{}, hyperlieu.Errorf(hyperlieu.Conflict, "the event was cancelled")
	case !e.EndsAt.After(now):
		return Event{}, hyperlieu.Errorf(hyperlieu.Conflict, "the event has ended")
	}
	old := e
	var p hyperlieu.Problems
	in.apply(&p, &e, now, false)
	if err := p.Err(); err != nil {
		return Event{}, err
	}
	live, err := s.liveCount(ctx, old, 0)
	if err != nil {
		return Event{}, err
	}
	if going := min(live, old.Capacity); e.Capacity < going {
		return Event{}, hyperlieu.Errorf(hyperlieu.Conflict, "%d people are already going; capacity cannot drop below that", going)
	}
	e.UpdatedAt = now
	e.Revision++
	if err := s.store.UpdateEvent(ctx, e); err != nil {
		return Event{}, fmt.Errorf("update event %s: %w", id, err)
	}
	s.shops.places.PutEvent(e)
	if e.Capacity > old.Capacity {
		s.promote(ctx, e, sh)
	}
	if !e.StartsAt.Equal(old.StartsAt) || !e.EndsAt.Equal(old.EndsAt) || e.Location != old.Location {
		key := fmt.Sprintf("changed:%s:%d", e.ID, now.UnixNano())
		if err := s.tellEveryone(ctx, e, sh, hyperlieu.KindEventChanged, key, nil); err != nil {
			s.log.WarnContext(ctx, "telling about an event change failed", "event", e.ID, "err", err)
		}
	}
	return e, nil
}

// CancelEvent cancels an event and tells everyone going or waitlisted,
// with the reason. The actor must manage its shop (Forbidden). Cancelling
// twice is not an error; Conflict if it has ended.
func (s *EventService) CancelEvent(ctx context.Context, a hyperlieu.Actor, id, reason string) (Event, error) {
	e, sh, err := s.EventWithShop(ctx, id)
	if err != nil {
		return Event{}, err
	}
	if !canManage(a, sh) {
		return Event{}, hyperlieu.Errorf(hyperlieu.Forbidden, "you do not manage this shop")
	}
	if e.Cancelled() {
		return e, nil
	}
	var p hyperlieu.Problems
	validateText(&p, "reason", reason, true, 500)
	if err := p.Err(); err != nil {
		return Event{}, err
	}
	now := s.now()
	if !e.EndsAt.After(now) {
		return Event{}, hyperlieu.Errorf(hyperlieu.Conflict, "the event has ended")
	}
	e.CancelledAt, e.CancelReason, e.UpdatedAt = now, strings.TrimSpace(reason), now
	e.Revision++
	if err := s.store.UpdateEvent(ctx, e); err != nil {
		return Event{}, fmt.Errorf("cancel event %s: %w", id, err)
	}
	s.shops.places.PutEvent(e)
	if err := s.tellEveryone(ctx, e, sh, hyperlieu.KindEventCancelled, "cancelled:"+e.ID, map[string]string{"reason": e.CancelReason}); err != nil {
		s.log.WarnContext(ctx, "telling about a cancellation failed", "event", e.ID, "err", err)
	}
	return e, nil
}

// Events returns events matching the filter, ordered by start. When near
// is set, only upcoming events within radiusM of it (nil: the default
// radius) are searched, in memory. Invalid names every bad field.
func (s *EventService) Events(ctx context.Context, f EventFilter, near *geo.Point, radiusM *float64) ([]Event, error) {
	var p hyperlieu.Problems
	if f.Category != "" && !slices.Contains(EventCategories, f.Category) {
		p.Add("category", "must be one of %s", strings.Join(EventCategories, ", "))
	}
	if near != nil {
		if err := near.Valid(); err != nil {
			p.Add("near", "%v", err)
		}
	}
	radius := radiusOrDefault(&p, radiusM) // checked whenever given
	if !f.To.IsZero() && !f.To.After(f.From) {
		p.Add("to", "must be after from")
	}
	if f.Limit == 0 {
		f.Limit = 100
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	if near == nil {
		return s.listEvents(ctx, f, s.shops.places.firstShopAt())
	}
	var out []Event
	for _, it := range s.shops.places.within(*near, radius) {
		e := it.Event
		if e == nil || (f.Category != "" && e.Category != f.Category) || (f.ShopID != "" && e.ShopID != f.ShopID) ||
			(!f.From.IsZero() && !e.EndsAt.After(f.From)) || (!f.To.IsZero() && !e.StartsAt.Before(f.To)) {
			continue
		}
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b Event) int { return a.StartsAt.Compare(b.StartsAt) })
	if len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// ShopEvents returns a shop's events ending after from (cancelled ones too),
// by start, at most 200. NotFound for an unknown shop. Those that have not
// ended (the feeds', the widget's, a manager's default) come from memory,
// as nearby search has them; only a from in the past reads the database.
func (s *EventService) ShopEvents(ctx context.Context, shopID string, from time.Time) (Shop, []Event, error) {
	const most = 200
	sh, err := s.shops.store.FindShop(ctx, shopID)
	if err != nil {
		return Shop{}, nil, err
	}
	if !from.Before(s.now().Add(-time.Second)) {
		return sh, s.shops.places.EventsOf(shopID, most), nil
	}
	evs, err := s.listEvents(ctx, EventFilter{ShopID: shopID, From: from, Limit: most}, sh.CreatedAt)
	return sh, evs, err
}

// listEvents returns the events f selects, by start, at most f.Limit (0:
// all): those that have not ended from memory (Places holds them all),
// and, when f.From is in the past, those that started before now from the
// database, which reads them month by month through keyed lists (issue
// 15), from no earlier than firstAt: an event starts after it was
// scheduled, so after its shop was created.
func (s *EventService) listEvents(ctx context.Context, f EventFilter, firstAt time.Time) ([]Event, error) {
	keep := func(e Event) bool {
		return (f.ShopID == "" || e.ShopID == f.ShopID) && (f.Category == "" || e.Category == f.Category) &&
			(f.From.IsZero() || e.EndsAt.After(f.From)) && (f.To.IsZero() || e.StartsAt.Before(f.To))
	}
	out := s.shops.places.eventsWhere(keep)
	now := s.now()
	if past := f; f.From.Before(now.Add(-time.Second)) && !firstAt.IsZero() {
		past.From = maxTime(f.From, firstAt)
		if past.To.IsZero() || past.To.After(now) {
			past.To = now
		}
		if past.From.Before(past.To) {
			evs, err := s.store.FindEvents(ctx, past)
			if err != nil {
				return nil, err
			}
			known := make(map[string]bool, len(out))
			for _, e := range out {
				known[e.ID] = true
			}
			for _, e := range evs {
				if !known[e.ID] { // memory has the newest state of those not ended
					out = append(out, e)
				}
			}
			slices.SortFunc(out, func(a, b Event) int { return cmp.Or(a.StartsAt.Compare(b.StartsAt), cmp.Compare(a.ID, b.ID)) })
		}
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
