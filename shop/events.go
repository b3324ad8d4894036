package shop

import (
	"context"
	"errors"
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
	CancelledAt     time.Time // zero unless cancelled
	CancelReason    string
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
	LowRating             = 2 // ratings at or below it need attention
)

// RSVPStatus is where an RSVP stands.
type RSVPStatus string

const (
	Going      RSVPStatus = "going"
	Waitlisted RSVPStatus = "waitlisted"
)

// RSVP is one person's answer to an event. Its Position in the event's queue
// decides everything: the first Capacity live positions are going, the
// others are waitlisted in position order.
type RSVP struct {
	EventID, UserID string
	Position        int // claimed queue position; 0 while being claimed
	TicketCode      string
	// JoinedWaitlisted says the person was waitlisted when they answered, so
	// that they are told when a seat frees up for them.
	JoinedWaitlisted bool
	CreatedAt        time.Time
	UpdatedAt        time.Time
	CancelledAt      time.Time // zero while the RSVP stands
}

// Live reports whether the RSVP holds a queue position.
func (r RSVP) Live() bool { return r.Position > 0 && r.CancelledAt.IsZero() }

// RSVPState is an RSVP and where it stands now.
type RSVPState struct {
	RSVP
	Status RSVPStatus
	// WaitlistPosition is 1 for the first in line; 0 when going.
	WaitlistPosition int
}

// QueueEntry is one live position in an event's queue. UserID is empty
// for an anonymous seat: one held by a person whose data was erased after
// the event started (see EraseUser).
type QueueEntry struct {
	N      int
	UserID string
}

// QueueClaim is a queue position as claimed by someone, live or released.
type QueueClaim struct {
	EventID, UserID string
	N               int
	At              time.Time
	ReleasedAt      time.Time // zero while live
}

// CheckIn records that an attendee was at the event. Method is "location"
// (self check-in) or "ticket" (scanned by a manager, By).
type CheckIn struct {
	EventID, UserID string
	Method          string
	By              string
	At              time.Time
}

// Feedback is an attendee's rating of an event; giving it again replaces it.
type Feedback struct {
	EventID, ShopID, UserID string
	Rating                  int
	Comment                 string
	CreatedAt, UpdatedAt    time.Time
}

// NeedsAttention reports whether the shop's managers should look at it.
func (f Feedback) NeedsAttention() bool { return f.Rating <= LowRating }

// EventFilter selects events. Zero fields select everything.
type EventFilter struct {
	ShopID   string
	From, To time.Time // events ending after From and starting before To
	Category string
	// CreatedBy selects the events a user scheduled.
	CreatedBy string
	Limit     int
}

// EventStore is what the event use cases need from the database.
type EventStore interface {
	CreateEvent(ctx context.Context, e Event) error
	// FindEvent returns NotFound when there is no such event.
	FindEvent(ctx context.Context, id string) (Event, error)
	UpdateEvent(ctx context.Context, e Event) error
	// FindEvents returns matching events ordered by start time.
	FindEvents(ctx context.Context, f EventFilter) ([]Event, error)

	// ClaimPosition claims queue position n of an event for a user, by a
	// unique insert. It returns Conflict when n is taken.
	ClaimPosition(ctx context.Context, eventID string, n int, userID string, at time.Time) error
	// CountPositions returns how many positions were ever claimed.
	CountPositions(ctx context.Context, eventID string) (int, error)
	// ReleasePosition gives position n back (it stays claimed, not live).
	ReleasePosition(ctx context.Context, eventID string, n int, at time.Time) error
	// Queue returns the live positions in order.
	Queue(ctx context.Context, eventID string) ([]QueueEntry, error)
	// CountLive returns how many live positions there are below n (all of
	// them when n is 0).
	CountLive(ctx context.Context, eventID string, below int) (int, error)

	// CreateRSVP returns Conflict if the user already has one for the event.
	CreateRSVP(ctx context.Context, r RSVP) error
	// FindRSVP returns NotFound when the user never answered.
	FindRSVP(ctx context.Context, eventID, userID string) (RSVP, error)
	UpdateRSVP(ctx context.Context, r RSVP) error
	FindRSVPs(ctx context.Context, eventID string) ([]RSVP, error)
	// FindRSVPByTicket returns NotFound for an unknown code.
	FindRSVPByTicket(ctx context.Context, eventID, code string) (RSVP, error)

	// CreateCheckIn returns Conflict if the user already checked in.
	CreateCheckIn(ctx context.Context, c CheckIn) error
	FindCheckIn(ctx context.Context, eventID, userID string) (CheckIn, error)
	// SaveFeedback creates or replaces the user's feedback on the event.
	SaveFeedback(ctx context.Context, f Feedback) error
	FindFeedback(ctx context.Context, eventID string) ([]Feedback, error)

	// What is stored about one person, for export and erasure.
	FindRSVPsBy(ctx context.Context, userID string) ([]RSVP, error)
	FindClaimsBy(ctx context.Context, userID string) ([]QueueClaim, error)
	FindCheckInsBy(ctx context.Context, userID string) ([]CheckIn, error)
	FindFeedbackBy(ctx context.Context, userID string) ([]Feedback, error)
	// EraseEventUser deletes the user's RSVPs and ticket codes, and keeps
	// their check-ins, feedback ratings and queue positions without them
	// (a live position stays held, as an anonymous seat). Idempotent.
	EraseEventUser(ctx context.Context, userID string) error
}

// EventOptions are the event use cases' optional collaborators.
type EventOptions struct {
	Notifier hyperlieu.Notifier         // nil: nobody is told anything
	Activity hyperlieu.ActivityRecorder // nil: check-ins and feedback earn nothing
	Audience hyperlieu.NearbyAudience   // nil: new events are not announced
	Now      func() time.Time           // default time.Now
	// AnnounceRecency is how recent a location must be for an announcement.
	AnnounceRecency time.Duration // default 24h
}

// EventService holds the event use cases: scheduling, RSVPs and waitlists,
// attendee lists, check-ins, feedback and the notifications they cause.
type EventService struct {
	store EventStore
	shops *Service
	users hyperlieu.UserFinder
	opts  EventOptions
	log   *slog.Logger

	mu       sync.Mutex
	reminded map[string]bool // "<event>:<user>" reminders already queued by this instance
	claims   map[string]*claimer
}

// claimer serialises this instance's claims on one event's queue and
// remembers where the free positions start. It only saves work: the unique
// insert alone is what keeps positions exclusive, across instances too.
type claimer struct {
	sync.Mutex
	next int // 0: unknown
}

// NewEventService returns the event use cases.
func NewEventService(store EventStore, shops *Service, users hyperlieu.UserFinder, opts EventOptions, log *slog.Logger) *EventService {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.AnnounceRecency == 0 {
		opts.AnnounceRecency = 24 * time.Hour
	}
	return &EventService{store: store, shops: shops, users: users, opts: opts, log: log, reminded: map[string]bool{}, claims: map[string]*claimer{}}
}

func (s *EventService) now() time.Time { return s.opts.Now().UTC() }

// EventInput is a new event, or (EventPatch) changes to one; nil fields are
// absent.
type EventInput struct {
	Title, Description, Category *string
	StartsAt, EndsAt             *time.Time
	Capacity, MaxWaitlist        *int
	Location                     *geo.Point
	AnnounceRadiusM              *float64
}

// validate checks in and applies it to e; create says every required field must be there.
func (in EventInput) apply(p *hyperlieu.Problems, e *Event, now time.Time, create bool) {
	if in.Title != nil || create {
		validateText(p, "title", deref(in.Title), true, 120)
		e.Title = strings.TrimSpace(deref(in.Title))
	}
	if in.Description != nil {
		validateText(p, "description", *in.Description, false, 5000)
		e.Description = strings.TrimSpace(*in.Description)
	}
	if in.Category != nil || create {
		if !slices.Contains(EventCategories, deref(in.Category)) {
			p.Add("category", "must be one of %s", strings.Join(EventCategories, ", "))
		}
		e.Category = deref(in.Category)
	}
	if in.StartsAt != nil {
		e.StartsAt = in.StartsAt.UTC()
		if !e.StartsAt.After(now) {
			p.Add("startsAt", "must be in the future")
		}
	} else if create {
		p.Add("startsAt", "is required")
	}
	if in.EndsAt != nil {
		e.EndsAt = in.EndsAt.UTC()
	} else if create {
		p.Add("endsAt", "is required")
	}
	if !e.StartsAt.IsZero() && !e.EndsAt.IsZero() {
		if !e.EndsAt.After(e.StartsAt) {
			p.Add("endsAt", "must be after startsAt")
		} else if e.EndsAt.Sub(e.StartsAt) > 14*24*time.Hour {
			p.Add("endsAt", "must be at most 14 days after startsAt")
		}
	}
	if in.Capacity != nil || create {
		if c := deref(in.Capacity); c < 1 || c > MaxEventCapacity {
			p.Add("capacity", "must be between 1 and %d", MaxEventCapacity)
		}
		e.Capacity = deref(in.Capacity)
	}
	if in.MaxWaitlist != nil {
		if w := *in.MaxWaitlist; w < -1 || w > MaxEventCapacity {
			p.Add("maxWaitlist", "must be between 0 and %d, or -1 for no limit", MaxEventCapacity)
		}
		e.MaxWaitlist = *in.MaxWaitlist
	}
	if in.Location != nil {
		validatePoint(p, "location", in.Location, true)
		e.Location = *in.Location
	}
	if in.AnnounceRadiusM != nil {
		if r := *in.AnnounceRadiusM; !(r >= 0 && r <= MaxAnnounceRadiusM) {
			p.Add("announceRadiusM", "must be between 0 and %d", MaxAnnounceRadiusM)
		}
		e.AnnounceRadiusM = *in.AnnounceRadiusM
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

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
// accept event messages are told (best effort: a failure is logged).
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
	if err := s.announce(ctx, sh, e); err != nil {
		s.log.WarnContext(ctx, "announcing event failed", "event", e.ID, "err", err)
	}
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
	q, err := s.store.Queue(ctx, id)
	if err != nil {
		return Event{}, err
	}
	if going := min(len(q), old.Capacity); e.Capacity < going {
		return Event{}, hyperlieu.Errorf(hyperlieu.Conflict, "%d people are already going; capacity cannot drop below that", going)
	}
	e.UpdatedAt = now
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
// is set, only upcoming events within radiusM of it are searched, in memory.
func (s *EventService) Events(ctx context.Context, f EventFilter, near *geo.Point, radiusM float64) ([]Event, error) {
	var p hyperlieu.Problems
	if f.Category != "" && !slices.Contains(EventCategories, f.Category) {
		p.Add("category", "must be one of %s", strings.Join(EventCategories, ", "))
	}
	if near != nil {
		if err := near.Valid(); err != nil {
			p.Add("near", "%v", err)
		}
		if radiusM == 0 {
			radiusM = DefaultNearbyRadiusM
		}
		if !(radiusM > 0 && radiusM <= MaxNearbyRadiusM) {
			p.Add("radius", "must be between 1 and %d metres", MaxNearbyRadiusM)
		}
	}
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
		return s.store.FindEvents(ctx, f)
	}
	var out []Event
	for _, it := range s.shops.places.within(*near, radiusM) {
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
// by start. NotFound for an unknown shop.
func (s *EventService) ShopEvents(ctx context.Context, shopID string, from time.Time) (Shop, []Event, error) {
	sh, err := s.shops.store.FindShop(ctx, shopID)
	if err != nil {
		return Shop{}, nil, err
	}
	evs, err := s.store.FindEvents(ctx, EventFilter{ShopID: shopID, From: from, Limit: 200})
	return sh, evs, err
}

// pendingWait bounds how long an RSVP waits for a concurrent one by the same
// person, and pendingStale when a claim is considered abandoned by a crash.
const (
	pendingWait  = 3 * time.Second
	pendingStale = 15 * time.Second
)

// RSVP answers "going" to an event for userID and returns where the answer
// stands: going, or waitlisted at a position. Answering again returns the
// same RSVP. Conflict, with the reason, if the event was cancelled, has
// started, or is full with its waitlist closed. NotFound for an unknown event.
//
// Seats are never oversold, across any number of instances, by
// construction: each answer claims the next queue position by inserting a
// document whose key is the position, and the first Capacity live positions
// are the ones going.
func (s *EventService) RSVP(ctx context.Context, userID, eventID string) (RSVPState, error) {
	e, err := s.store.FindEvent(ctx, eventID)
	if err != nil {
		return RSVPState{}, err
	}
	if err := s.open(e); err != nil {
		return RSVPState{}, err
	}
	now := s.now()
	r, err := s.store.FindRSVP(ctx, eventID, userID)
	switch {
	case hyperlieu.KindOf(err) == hyperlieu.NotFound:
		r = RSVP{EventID: eventID, UserID: userID, TicketCode: hyperlieu.RandomToken(10), CreatedAt: now, UpdatedAt: now}
		if err := s.store.CreateRSVP(ctx, r); hyperlieu.KindOf(err) == hyperlieu.Conflict {
			if r, err = s.awaitClaim(ctx, eventID, userID); err != nil {
				return RSVPState{}, err
			}
		} else if err != nil {
			return RSVPState{}, fmt.Errorf("rsvp: %w", err)
		}
	case err != nil:
		return RSVPState{}, fmt.Errorf("rsvp: %w", err)
	case r.Position == 0 && r.CancelledAt.IsZero():
		if r, err = s.awaitClaim(ctx, eventID, userID); err != nil {
			return RSVPState{}, err
		}
	}
	if r.Live() {
		return s.stateOf(ctx, e, r)
	}
	// The user has no position (new, abandoned or cancelled): claim one.
	if e.MaxWaitlist >= 0 {
		live, err := s.store.CountLive(ctx, eventID, 0)
		if err != nil {
			return RSVPState{}, err
		}
		if live >= e.Capacity+e.MaxWaitlist {
			return RSVPState{}, hyperlieu.Errorf(hyperlieu.Conflict, "the event is full and its waitlist is closed")
		}
	}
	n, err := s.claim(ctx, eventID, userID)
	if err != nil {
		return RSVPState{}, err
	}
	st, err := s.stateOf(ctx, e, RSVP{Position: n})
	if err != nil {
		return RSVPState{}, err
	}
	if e.MaxWaitlist >= 0 && st.WaitlistPosition > e.MaxWaitlist {
		_ = s.store.ReleasePosition(context.WithoutCancel(ctx), eventID, n, now)
		return RSVPState{}, hyperlieu.Errorf(hyperlieu.Conflict, "the event is full and its waitlist is closed")
	}
	prev := r.Position
	r.Position, r.CancelledAt, r.UpdatedAt = n, time.Time{}, s.now()
	r.JoinedWaitlisted = st.Status == Waitlisted
	if err := s.store.UpdateRSVP(ctx, r); err != nil {
		_ = s.store.ReleasePosition(context.WithoutCancel(ctx), eventID, n, now)
		return RSVPState{}, fmt.Errorf("rsvp: %w", err)
	}
	// Two claims by the same person (a crash takeover, or a re-RSVP racing
	// itself) leave one position unreferenced: give it back.
	if got, err := s.store.FindRSVP(ctx, eventID, userID); err == nil && got.Position != n {
		_ = s.store.ReleasePosition(ctx, eventID, n, now)
		r = got
	} else if err == nil && prev == 0 && s.opts.Activity != nil {
		sh, _ := s.shops.places.Shop(e.ShopID)
		a := hyperlieu.Activity{UserID: userID, Kind: hyperlieu.ActivityRSVP, SourceKey: "rsvp:" + eventID + ":" + userID, ShopID: sh.ID, At: now}
		if err := s.opts.Activity.RecordActivity(ctx, a); err != nil {
			s.log.WarnContext(ctx, "recording an rsvp failed", "event", eventID, "err", err)
		}
	}
	return s.stateOf(ctx, e, r)
}

// awaitClaim waits for a concurrent RSVP by the same person to claim its
// position, and hands over an abandoned claim (a crash between the two writes).
func (s *EventService) awaitClaim(ctx context.Context, eventID, userID string) (RSVP, error) {
	deadline := time.Now().Add(pendingWait)
	for {
		r, err := s.store.FindRSVP(ctx, eventID, userID)
		if err != nil {
			return RSVP{}, err
		}
		if r.Position > 0 || !r.CancelledAt.IsZero() || s.now().Sub(r.UpdatedAt) > pendingStale {
			return r, nil
		}
		if time.Now().After(deadline) {
			return RSVP{}, &hyperlieu.Error{Kind: hyperlieu.Unavailable, Message: "your RSVP is being recorded; try again", RetryAfter: time.Second}
		}
		select {
		case <-ctx.Done():
			return RSVP{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// claim takes the lowest free queue position. Positions are claimed densely
// (every position below a claimed one is claimed), so the number claimed so
// far, plus one, is where the free ones start.
func (s *EventService) claim(ctx context.Context, eventID, userID string) (int, error) {
	s.mu.Lock()
	c := s.claims[eventID]
	if c == nil {
		c = &claimer{}
		s.claims[eventID] = c
	}
	s.mu.Unlock()
	c.Lock()
	defer c.Unlock()
	n := c.next
	if n == 0 {
		count, err := s.store.CountPositions(ctx, eventID)
		if err != nil {
			return 0, err
		}
		n = count + 1
	}
	for tries := 0; ; tries++ {
		err := s.store.ClaimPosition(ctx, eventID, n, userID, s.now())
		if err == nil {
			c.next = n + 1
			return n, nil
		}
		if hyperlieu.KindOf(err) != hyperlieu.Conflict {
			return 0, fmt.Errorf("claim position %d: %w", n, err)
		}
		if tries > 10_000 {
			return 0, &hyperlieu.Error{Kind: hyperlieu.Unavailable, Message: "too many people are answering at once; try again", RetryAfter: time.Second, Err: err}
		}
		n++
		if tries%4 == 3 { // under contention, jump to where the free positions are now
			if c, err := s.store.CountPositions(ctx, eventID); err == nil && c+1 > n {
				n = c + 1
			}
		}
	}
}

// stateOf says where a live RSVP stands: its rank among live positions.
func (s *EventService) stateOf(ctx context.Context, e Event, r RSVP) (RSVPState, error) {
	before, err := s.store.CountLive(ctx, e.ID, r.Position)
	if err != nil {
		return RSVPState{}, err
	}
	st := RSVPState{RSVP: r, Status: Going}
	if rank := before + 1; rank > e.Capacity {
		st.Status, st.WaitlistPosition = Waitlisted, rank-e.Capacity
	}
	return st, nil
}

// open returns Conflict, with the reason, unless the event takes answers.
func (s *EventService) open(e Event) error {
	switch now := s.now(); {
	case e.Cancelled():
		return hyperlieu.Errorf(hyperlieu.Conflict, "the event was cancelled")
	case !e.EndsAt.After(now):
		return hyperlieu.Errorf(hyperlieu.Conflict, "the event is over")
	case !e.StartsAt.After(now):
		return hyperlieu.Errorf(hyperlieu.Conflict, "the event has already started")
	}
	return nil
}

// MyRSVP returns the user's RSVP to an event and where it stands. NotFound
// if they have none standing.
func (s *EventService) MyRSVP(ctx context.Context, userID, eventID string) (RSVPState, error) {
	e, err := s.store.FindEvent(ctx, eventID)
	if err != nil {
		return RSVPState{}, err
	}
	r, err := s.store.FindRSVP(ctx, eventID, userID)
	if err == nil && !r.Live() {
		err = hyperlieu.Errorf(hyperlieu.NotFound, "you have no RSVP for this event")
	}
	if err != nil {
		return RSVPState{}, err
	}
	return s.stateOf(ctx, e, r)
}

// CancelRSVP withdraws the user's answer: their seat goes to the first in
// the waitlist, who is told. NotFound if they had none standing; Conflict
// once the event has started.
func (s *EventService) CancelRSVP(ctx context.Context, userID, eventID string) error {
	e, sh, err := s.EventWithShop(ctx, eventID)
	if err != nil {
		return err
	}
	r, err := s.store.FindRSVP(ctx, eventID, userID)
	if err == nil && !r.Live() {
		err = hyperlieu.Errorf(hyperlieu.NotFound, "you have no RSVP for this event")
	}
	if err != nil {
		return err
	}
	if !e.Cancelled() && !e.StartsAt.After(s.now()) {
		return hyperlieu.Errorf(hyperlieu.Conflict, "the event has already started")
	}
	now := s.now()
	if err := s.store.ReleasePosition(ctx, eventID, r.Position, now); err != nil {
		return fmt.Errorf("cancel rsvp: %w", err)
	}
	r.CancelledAt, r.UpdatedAt = now, now
	if err := s.store.UpdateRSVP(ctx, r); err != nil {
		return fmt.Errorf("cancel rsvp: %w", err)
	}
	if !e.Cancelled() {
		s.promote(ctx, e, sh)
	}
	return nil
}

// promote tells those who joined the waitlist and now hold a seat. The
// seat itself needs no write (the queue order decides it); the message is
// deduplicated per person, so concurrent promoters tell each person once.
func (s *EventService) promote(ctx context.Context, e Event, sh Shop) {
	if s.opts.Notifier == nil {
		return
	}
	q, err := s.store.Queue(ctx, e.ID)
	if err != nil {
		s.log.WarnContext(ctx, "promotion: reading the queue failed", "event", e.ID, "err", err)
		return
	}
	rsvps, err := s.store.FindRSVPs(ctx, e.ID)
	if err != nil {
		s.log.WarnContext(ctx, "promotion: reading rsvps failed", "event", e.ID, "err", err)
		return
	}
	joined := map[string]RSVP{}
	for _, r := range rsvps {
		joined[r.UserID] = r
	}
	var reqs []hyperlieu.NotificationRequest
	for _, qe := range q[:min(len(q), e.Capacity)] {
		r := joined[qe.UserID]
		if !r.JoinedWaitlisted || r.Position != qe.N {
			continue
		}
		req := s.request(e, sh, qe.UserID, hyperlieu.KindWaitlistPromoted, nil)
		req.DedupKey = fmt.Sprintf("promoted:%s:%s:%d", e.ID, qe.UserID, qe.N)
		reqs = append(reqs, req)
	}
	if len(reqs) > 0 {
		if err := s.opts.Notifier.Notify(ctx, reqs...); err != nil {
			s.log.WarnContext(ctx, "promotion: notifying failed", "event", e.ID, "err", err)
		}
	}
}

// request builds a service notification about an event for one user.
func (s *EventService) request(e Event, sh Shop, userID string, kind hyperlieu.NotificationKind, vars map[string]string) hyperlieu.NotificationRequest {
	v := map[string]string{
		"event": e.Title, "shop": sh.Name,
		"when": e.StartsAt.In(sh.Zone()).Format("Mon 2 Jan 2006 15:04 MST"),
		// startsAt lets the templates write "when" in each customer's language.
		"startsAt": e.StartsAt.In(sh.Zone()).Format(time.RFC3339),
	}
	for k, x := range vars {
		v[k] = x
	}
	return hyperlieu.NotificationRequest{
		UserID: userID, Kind: kind, Vars: v,
		Data:        map[string]string{"eventId": e.ID, "shopId": e.ShopID},
		CollapseKey: "event:" + e.ID,
	}
}

// tellEveryone notifies everyone going or waitlisted, once per key.
func (s *EventService) tellEveryone(ctx context.Context, e Event, sh Shop, kind hyperlieu.NotificationKind, key string, vars map[string]string) error {
	if s.opts.Notifier == nil {
		return nil
	}
	q, err := s.store.Queue(ctx, e.ID)
	if err != nil {
		return err
	}
	reqs := make([]hyperlieu.NotificationRequest, 0, len(q))
	for _, qe := range q {
		if qe.UserID == "" {
			continue // an anonymous seat: nobody to tell
		}
		req := s.request(e, sh, qe.UserID, kind, vars)
		req.DedupKey = key + ":" + qe.UserID
		reqs = append(reqs, req)
	}
	if len(reqs) == 0 {
		return nil
	}
	return s.opts.Notifier.Notify(ctx, reqs...)
}

// announce tells nearby customers about a new event (category events,
// capped: it is marketing, not service).
func (s *EventService) announce(ctx context.Context, sh Shop, e Event) error {
	if s.opts.Notifier == nil || s.opts.Audience == nil || e.AnnounceRadiusM <= 0 {
		return nil
	}
	ids, err := s.opts.Audience.CustomersNear(ctx, e.Location, e.AnnounceRadiusM, s.now().Add(-s.opts.AnnounceRecency))
	if err != nil {
		return err
	}
	// In batches, so that a crowded neighbourhood costs bounded memory and a
	// few round trips per batch, whatever its size.
	for batch := range slices.Chunk(ids, announceBatch) {
		reqs := make([]hyperlieu.NotificationRequest, 0, len(batch))
		for _, id := range batch {
			req := s.request(e, sh, id, hyperlieu.KindEventAnnounced, nil)
			req.Category, req.Capped = hyperlieu.CategoryEvents, true
			req.DedupKey = "announce:" + e.ID + ":" + id
			req.ExpiresAt = e.StartsAt
			reqs = append(reqs, req)
		}
		if err := s.opts.Notifier.Notify(ctx, reqs...); err != nil {
			return err
		}
	}
	return nil
}

// announceBatch is how many announcements are queued per Notify call.
const announceBatch = 500

// SendReminders queues the one-hour reminder for everyone going to an
// event that starts within ReminderLead. Each person is reminded once per
// event (DedupKey), however often and on however many instances it runs.
func (s *EventService) SendReminders(ctx context.Context) error {
	if s.opts.Notifier == nil {
		return nil
	}
	now := s.now()
	var errs []error
	for _, e := range s.shops.places.Upcoming(now, now.Add(ReminderLead)) {
		sh, ok := s.shops.places.Shop(e.ShopID)
		if !ok {
			continue
		}
		q, err := s.store.Queue(ctx, e.ID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var reqs []hyperlieu.NotificationRequest
		for _, qe := range q[:min(len(q), e.Capacity)] {
			if qe.UserID == "" {
				continue // an anonymous seat
			}
			key := "reminder:" + e.ID + ":" + qe.UserID
			s.mu.Lock()
			done := s.reminded[key]
			s.mu.Unlock()
			if done {
				continue
			}
			req := s.request(e, sh, qe.UserID, hyperlieu.KindEventReminder, nil)
			req.DedupKey, req.ExpiresAt = key, e.EndsAt
			reqs = append(reqs, req)
		}
		if len(reqs) == 0 {
			continue
		}
		if err := s.opts.Notifier.Notify(ctx, reqs...); err != nil {
			errs = append(errs, err)
			continue
		}
		s.mu.Lock()
		for _, r := range reqs {
			s.reminded[r.DedupKey] = true
		}
		s.mu.Unlock()
	}
	return errors.Join(errs...)
}

// RunReminders calls SendReminders every interval until ctx is done.
func (s *EventService) RunReminders(ctx context.Context, interval time.Duration) {
	hyperlieu.Every(ctx, interval, false, s.log, "event reminders", s.SendReminders)
}

// Attendee is one person in an event's list.
type Attendee struct {
	UserID, DisplayName string
	Status              RSVPStatus
	WaitlistPosition    int
	CheckedIn           bool
}

// Attendees lists who is going. The shop's managers (and admins) see
// everyone, waitlist included, with their IDs and check-ins. A customer who
// is going sees the display names of the others going who chose to be
// shown, and nothing else; anyone else gets Forbidden.
func (s *EventService) Attendees(ctx context.Context, a hyperlieu.Actor, eventID string) ([]Attendee, error) {
	e, sh, err := s.EventWithShop(ctx, eventID)
	if err != nil {
		return nil, err
	}
	q, err := s.store.Queue(ctx, eventID)
	if err != nil {
		return nil, err
	}
	manager := canManage(a, sh)
	if !manager {
		mine := slices.IndexFunc(q, func(x QueueEntry) bool { return x.UserID == a.UserID })
		if mine < 0 || mine >= e.Capacity {
			return nil, hyperlieu.Errorf(hyperlieu.Forbidden, "only people going to the event can see who else is going")
		}
		q = q[:min(len(q), e.Capacity)]
	}
	out := []Attendee{}
	for i, qe := range q {
		if qe.UserID == "" {
			continue // an anonymous seat
		}
		u, err := s.users.FindUser(ctx, qe.UserID)
		if hyperlieu.KindOf(err) == hyperlieu.NotFound {
			continue // erased account
		} else if err != nil {
			return nil, err
		}
		if !manager {
			if qe.UserID != a.UserID && u.Prefs.ShowInAttendeeLists {
				out = append(out, Attendee{DisplayName: u.DisplayName, Status: Going})
			}
			continue
		}
		at := Attendee{UserID: u.ID, DisplayName: u.DisplayName, Status: Going}
		if i >= e.Capacity {
			at.Status, at.WaitlistPosition = Waitlisted, i+1-e.Capacity
		}
		if _, err := s.store.FindCheckIn(ctx, eventID, u.ID); err == nil {
			at.CheckedIn = true
		}
		out = append(out, at)
	}
	return out, nil
}

// CheckIn checks the attendee in from where they stand: they must be going,
// within CheckInRadiusM of the event, from CheckInOpensBefore its start to
// its end. Invalid for a bad point; Conflict, with the reason, otherwise
// (already checked in included).
func (s *EventService) CheckIn(ctx context.Context, userID, eventID string, at *geo.Point) (CheckIn, error) {
	var p hyperlieu.Problems
	validatePoint(&p, "lat,lng", at, true)
	if err := p.Err(); err != nil {
		return CheckIn{}, err
	}
	e, sh, err := s.EventWithShop(ctx, eventID)
	if err != nil {
		return CheckIn{}, err
	}
	if err := s.seated(ctx, e, userID); err != nil {
		return CheckIn{}, err
	}
	if d := geo.Distance(*at, e.Location); d > CheckInRadiusM {
		return CheckIn{}, hyperlieu.Errorf(hyperlieu.Conflict, "you are %.0f m from the event; check in within %d m", d, CheckInRadiusM)
	}
	return s.checkIn(ctx, e, sh, CheckIn{EventID: eventID, UserID: userID, Method: "location", By: userID})
}

// ScanTicket checks in the holder of a ticket code, for a manager of the
// event's shop (Forbidden otherwise). NotFound for an unknown code;
// Conflict as for CheckIn.
func (s *EventService) ScanTicket(ctx context.Context, a hyperlieu.Actor, eventID, code string) (CheckIn, error) {
	var p hyperlieu.Problems
	validateText(&p, "ticketCode", code, true, 64)
	if err := p.Err(); err != nil {
		return CheckIn{}, err
	}
	e, sh, err := s.EventWithShop(ctx, eventID)
	if err != nil {
		return CheckIn{}, err
	}
	if !canManage(a, sh) {
		return CheckIn{}, hyperlieu.Errorf(hyperlieu.Forbidden, "you do not manage this shop")
	}
	r, err := s.store.FindRSVPByTicket(ctx, eventID, strings.TrimSpace(code))
	if err != nil {
		return CheckIn{}, err
	}
	if err := s.seated(ctx, e, r.UserID); err != nil {
		return CheckIn{}, err
	}
	return s.checkIn(ctx, e, sh, CheckIn{EventID: eventID, UserID: r.UserID, Method: "ticket", By: a.UserID})
}

// seated returns Conflict unless userID is going and check-in is open.
func (s *EventService) seated(ctx context.Context, e Event, userID string) error {
	now := s.now()
	switch {
	case e.Cancelled():
		return hyperlieu.Errorf(hyperlieu.Conflict, "the event was cancelled")
	case now.Before(e.StartsAt.Add(-CheckInOpensBefore)):
		return hyperlieu.Errorf(hyperlieu.Conflict, "check-in opens %d minutes before the start", int(CheckInOpensBefore.Minutes()))
	case now.After(e.EndsAt):
		return hyperlieu.Errorf(hyperlieu.Conflict, "the event is over")
	}
	r, err := s.store.FindRSVP(ctx, e.ID, userID)
	if hyperlieu.KindOf(err) == hyperlieu.NotFound || (err == nil && !r.Live()) {
		return hyperlieu.Errorf(hyperlieu.Conflict, "no seat is booked for this person")
	} else if err != nil {
		return err
	}
	st, err := s.stateOf(ctx, e, r)
	if err != nil {
		return err
	}
	if st.Status != Going {
		return hyperlieu.Errorf(hyperlieu.Conflict, "still on the waitlist (position %d)", st.WaitlistPosition)
	}
	return nil
}

func (s *EventService) checkIn(ctx context.Context, e Event, sh Shop, c CheckIn) (CheckIn, error) {
	c.At = s.now()
	err := s.store.CreateCheckIn(ctx, c)
	if err != nil && hyperlieu.KindOf(err) != hyperlieu.Conflict {
		return CheckIn{}, fmt.Errorf("check in: %w", err)
	}
	// Record the activity even on a repeat, so that a retry after a failed
	// recording still pays; the recorder is idempotent by SourceKey.
	if s.opts.Activity != nil {
		a := hyperlieu.Activity{UserID: c.UserID, Kind: hyperlieu.ActivityCheckIn, SourceKey: "checkin:" + e.ID + ":" + c.UserID, ShopID: sh.ID, At: c.At}
		if rerr := s.opts.Activity.RecordActivity(ctx, a); rerr != nil {
			return CheckIn{}, fmt.Errorf("record check-in: %w", rerr)
		}
	}
	if err != nil {
		return CheckIn{}, hyperlieu.Errorf(hyperlieu.Conflict, "already checked in")
	}
	return c, nil
}

// GiveFeedback records the user's rating of an event they checked in to,
// once it has started; giving it again replaces it. Invalid for a rating
// outside 1..5 or a long comment; Forbidden without a check-in; Conflict
// before the start. A low rating is sent to the shop's managers.
func (s *EventService) GiveFeedback(ctx context.Context, userID, eventID string, rating int, comment string) (Feedback, error) {
	var p hyperlieu.Problems
	if rating < 1 || rating > 5 {
		p.Add("rating", "must be between 1 and 5")
	}
	validateText(&p, "comment", comment, false, 2000)
	if err := p.Err(); err != nil {
		return Feedback{}, err
	}
	e, sh, err := s.EventWithShop(ctx, eventID)
	if err != nil {
		return Feedback{}, err
	}
	now := s.now()
	if now.Before(e.StartsAt) {
		return Feedback{}, hyperlieu.Errorf(hyperlieu.Conflict, "feedback opens when the event starts")
	}
	if _, err := s.store.FindCheckIn(ctx, eventID, userID); hyperlieu.KindOf(err) == hyperlieu.NotFound {
		return Feedback{}, hyperlieu.Errorf(hyperlieu.Forbidden, "only people who checked in can give feedback")
	} else if err != nil {
		return Feedback{}, err
	}
	f := Feedback{EventID: eventID, ShopID: e.ShopID, UserID: userID, Rating: rating,
		Comment: strings.TrimSpace(comment), CreatedAt: now, UpdatedAt: now}
	if err := s.store.SaveFeedback(ctx, f); err != nil {
		return Feedback{}, fmt.Errorf("save feedback: %w", err)
	}
	if s.opts.Activity != nil {
		a := hyperlieu.Activity{UserID: userID, Kind: hyperlieu.ActivityFeedback, SourceKey: "feedback:event:" + eventID + ":" + userID, ShopID: sh.ID, At: now}
		if err := s.opts.Activity.RecordActivity(ctx, a); err != nil {
			s.log.WarnContext(ctx, "recording feedback failed", "event", eventID, "err", err)
		}
	}
	if f.NeedsAttention() && s.opts.Notifier != nil {
		reqs := make([]hyperlieu.NotificationRequest, 0, len(sh.ManagerIDs))
		for _, m := range sh.ManagerIDs {
			req := s.request(e, sh, m, hyperlieu.KindLowRating, map[string]string{"rating": fmt.Sprint(rating), "comment": f.Comment})
			req.Data["userId"] = userID
			req.DedupKey = fmt.Sprintf("lowrating:%s:%s:%s", eventID, userID, m)
			reqs = append(reqs, req)
		}
		if len(reqs) > 0 {
			if err := s.opts.Notifier.Notify(ctx, reqs...); err != nil {
				s.log.WarnContext(ctx, "telling managers about a low rating failed", "event", eventID, "err", err)
			}
		}
	}
	return f, nil
}

// EventFeedback lists an event's feedback for the shop's managers
// (Forbidden otherwise), lowest ratings first.
func (s *EventService) EventFeedback(ctx context.Context, a hyperlieu.Actor, eventID string) ([]Feedback, error) {
	_, sh, err := s.EventWithShop(ctx, eventID)
	if err != nil {
		return nil, err
	}
	if !canManage(a, sh) {
		return nil, hyperlieu.Errorf(hyperlieu.Forbidden, "you do not manage this shop")
	}
	fs, err := s.store.FindFeedback(ctx, eventID)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(fs, func(a, b Feedback) int { return a.Rating - b.Rating })
	return fs, nil
}

// Seats returns how many people are going to the event and how many wait.
func (s *EventService) Seats(ctx context.Context, e Event) (going, waitlisted int, err error) {
	live, err := s.store.CountLive(ctx, e.ID, 0)
	if err != nil {
		return 0, 0, err
	}
	going = min(live, e.Capacity)
	return going, live - going, nil
}
