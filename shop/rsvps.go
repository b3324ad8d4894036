package shop

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// QueueStore keeps each event's queue of positions, claimed densely (1, 2,
// …) and read by position, and the log of positions given back.
type QueueStore interface {
	// CreatePosition claims queue position n of an event for a user, by a
	// unique insert. It returns Conflict when n is taken.
	CreatePosition(ctx context.Context, eventID string, n int, userID string, at time.Time) error
	// FindPositions returns the positions claimed from `from` on (1 is the
	// first), released ones too, up to the first one not claimed.
	FindPositions(ctx context.Context, eventID string, from int) ([]QueueClaim, error)
	// DeletePosition releases position n: it stays claimed, no longer live,
	// and is added to the release log. Releasing twice is not an error.
	DeletePosition(ctx context.Context, eventID string, n int, at time.Time) error
	// FindReleases returns the positions of the release log from entry
	// `from` on (1 is the first), in the order released, up to the first
	// missing entry; a position may appear more than once.
	FindReleases(ctx context.Context, eventID string, from int) ([]int, error)
}

// RSVPStore keeps people's answers to events.
type RSVPStore interface {
	// CreateRSVP returns Conflict if the user already has one for the event.
	CreateRSVP(ctx context.Context, r RSVP) error
	// FindRSVP returns NotFound when the user never answered.
	FindRSVP(ctx context.Context, eventID, userID string) (RSVP, error)
	// UpdateRSVP replaces the stored RSVP; NotFound if there is none.
	UpdateRSVP(ctx context.Context, r RSVP) error
	// FindRSVPByTicket returns NotFound for an unknown code.
	FindRSVPByTicket(ctx context.Context, eventID, code string) (RSVP, error)
}

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
		live, err := s.liveCount(ctx, e, 0)
		if err != nil {
			return RSVPState{}, err
		}
		if live >= e.Capacity+e.MaxWaitlist {
			return RSVPState{}, hyperlieu.Errorf(hyperlieu.Conflict, "the event is full and its waitlist is closed")
		}
	}
	n, err := s.claim(ctx, e, userID)
	if err != nil {
		return RSVPState{}, err
	}
	st, err := s.stateOf(ctx, e, RSVP{Position: n})
	if err != nil {
		return RSVPState{}, err
	}
	if e.MaxWaitlist >= 0 && st.WaitlistPosition > e.MaxWaitlist {
		_ = s.store.DeletePosition(context.WithoutCancel(ctx), eventID, n, now)
		return RSVPState{}, hyperlieu.Errorf(hyperlieu.Conflict, "the event is full and its waitlist is closed")
	}
	prev := r.Position
	r.Position, r.CancelledAt, r.UpdatedAt = n, time.Time{}, s.now()
	r.JoinedWaitlisted = st.Status == Waitlisted
	if err := s.store.UpdateRSVP(ctx, r); err != nil {
		_ = s.store.DeletePosition(context.WithoutCancel(ctx), eventID, n, now)
		return RSVPState{}, fmt.Errorf("rsvp: %w", err)
	}
	// Two claims by the same person (a crash takeover, or a re-RSVP racing
	// itself) leave one position unreferenced: give it back.
	if got, err := s.store.FindRSVP(ctx, eventID, userID); err == nil && got.Position != n {
		_ = s.store.DeletePosition(ctx, eventID, n, now)
		return s.stateOf(ctx, e, got)
	} else if err == nil && prev == 0 {
		sh, _ := s.shops.places.Shop(e.ShopID)
		a := hyperlieu.Activity{UserID: userID, Kind: hyperlieu.ActivityRSVP, SourceKey: "rsvp:" + eventID + ":" + userID, ShopID: sh.ID, At: now}
		if err := s.activity.RecordActivity(ctx, a); err != nil {
			s.log.WarnContext(ctx, "recording an rsvp failed", "event", eventID, "err", err)
		}
	}
	st.RSVP = r // where position n stood as it was claimed
	return st, nil
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

// claimer serialises this instance's claims on one event's queue and
// remembers where the free positions start. It only saves work: the unique
// insert alone is what keeps positions exclusive, across instances too.
type claimer struct {
	sync.Mutex
	next     int       // 0: unknown
	startsAt time.Time // no claims after it: then the claimer can go
}

// claimerFor returns the event's claimer. Making a new one first drops those
// of events that started, so that the map holds only events still taking
// answers.
func (s *EventService) claimerFor(e Event) *claimer {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	c := perEvent(s.claims, e.ID, func(old *claimer) bool { return !old.startsAt.After(now) }, func() *claimer { return &claimer{} })
	c.startsAt = e.StartsAt
	return c
}

// claim takes the lowest free queue position. Positions are claimed densely
// (every position below a claimed one is claimed, as each claimant tries n
// only once n-1 is taken), so the number claimed so far, plus one, is where
// the free ones start.
func (s *EventService) claim(ctx context.Context, e Event, userID string) (int, error) {
	eventID := e.ID
	c := s.claimerFor(e)
	c.Lock()
	defer c.Unlock()
	n := c.next
	if n == 0 {
		v, err := s.viewOf(ctx, e)
		if err != nil {
			return 0, err
		}
		n = v.claimed() + 1
	}
	for tries := 0; ; tries++ {
		err := s.store.CreatePosition(ctx, eventID, n, userID, s.now())
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
			if v, err := s.viewOf(ctx, e); err == nil && v.claimed()+1 > n {
				n = v.claimed() + 1
			}
		}
	}
}

// stateOf says where a live RSVP stands: its rank among live positions.
func (s *EventService) stateOf(ctx context.Context, e Event, r RSVP) (RSVPState, error) {
	before, err := s.liveCount(ctx, e, r.Position)
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
	if err := s.store.DeletePosition(ctx, eventID, r.Position, now); err != nil {
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
// Whether a seat's RSVP joined the waitlist is read once per position (it
// does not change), so a promotion costs the queue's refresh and the reads
// of seats not seen before.
func (s *EventService) promote(ctx context.Context, e Event, sh Shop) {
	v, err := s.viewOf(ctx, e)
	if err != nil {
		s.log.WarnContext(ctx, "promotion: reading the queue failed", "event", e.ID, "err", err)
		return
	}
	q := v.live()
	var reqs []hyperlieu.NotificationRequest
	var told []int
	for _, qe := range q[:min(len(q), e.Capacity)] {
		if qe.UserID == "" {
			continue // an anonymous seat
		}
		joined, known := v.joinedAt(qe.N)
		if !known {
			r, err := s.store.FindRSVP(ctx, e.ID, qe.UserID)
			if hyperlieu.KindOf(err) == hyperlieu.NotFound {
				continue
			} else if err != nil {
				s.log.WarnContext(ctx, "promotion: reading an rsvp failed", "event", e.ID, "err", err)
				return
			}
			if r.Position != qe.N {
				continue // not theirs yet, or no longer: read again next time
			}
			joined = r.JoinedWaitlisted
			v.setJoined(qe.N, joined)
		}
		if !joined || v.wasTold(qe.N) {
			continue
		}
		req := s.request(e, sh, qe.UserID, hyperlieu.KindWaitlistPromoted, nil)
		req.DedupKey = fmt.Sprintf("promoted:%s:%s:%d", e.ID, qe.UserID, qe.N)
		reqs = append(reqs, req)
		told = append(told, qe.N)
	}
	if len(reqs) == 0 {
		return
	}
	if err := s.notifier.Notify(ctx, reqs...); err != nil {
		s.log.WarnContext(ctx, "promotion: notifying failed", "event", e.ID, "err", err)
		return
	}
	v.setTold(told)
}

// Seats returns how many people are going to the event and how many wait.
func (s *EventService) Seats(ctx context.Context, e Event) (going, waitlisted int, err error) {
	live, err := s.liveCount(ctx, e, 0)
	if err != nil {
		return 0, 0, err
	}
	going = min(live, e.Capacity)
	return going, live - going, nil
}
