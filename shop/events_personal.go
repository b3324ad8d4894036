package shop

import (
	"context"
	"fmt"
	"slices"

	"github.com/hyperlieu/hyperlieu"
)

// EventPersonalStore finds and erases what is stored about one person,
// for export and erasure.
type EventPersonalStore interface {
	FindRSVPsBy(ctx context.Context, userID string) ([]RSVP, error)
	FindClaimsBy(ctx context.Context, userID string) ([]QueueClaim, error)
	FindCheckInsBy(ctx context.Context, userID string) ([]CheckIn, error)
	FindFeedbackBy(ctx context.Context, userID string) ([]Feedback, error)
	// DeleteEventUser deletes the user's RSVPs and ticket codes, and keeps
	// their check-ins, feedback ratings and queue positions without them
	// (a live position stays held, as an anonymous seat). Idempotent.
	DeleteEventUser(ctx context.Context, userID string) error
}

// ExportUser returns what the events area stores about the user: their
// RSVPs (with where each stands and its ticket code), every queue position
// they claimed, their check-ins and event feedback, and, for managers, the
// events they scheduled and the shops they manage. Every section is present,
// empty when there is nothing. It implements PersonalData.
func (s *EventService) ExportUser(ctx context.Context, userID string) (map[string]any, error) {
	rs, err := s.exportRSVPs(ctx, userID)
	if err != nil {
		return nil, err
	}

	claims, err := s.store.FindClaimsBy(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("export queue positions: %w", err)
	}
	qs := make([]map[string]any, len(claims))
	for i, c := range claims {
		qs[i] = map[string]any{"eventId": c.EventID, "position": c.N, "claimedAt": c.At}
		if !c.ReleasedAt.IsZero() {
			qs[i]["releasedAt"] = c.ReleasedAt
		}
	}

	cis, err := s.store.FindCheckInsBy(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("export check-ins: %w", err)
	}
	checkIns := make([]map[string]any, len(cis))
	for i, c := range cis {
		// Who scanned the ticket is a manager's identity, not the customer's data.
		checkIns[i] = map[string]any{"eventId": c.EventID, "method": c.Method, "at": c.At}
	}

	fbs, err := s.store.FindFeedbackBy(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("export event feedback: %w", err)
	}
	feedback := make([]map[string]any, len(fbs))
	for i, f := range fbs {
		feedback[i] = map[string]any{"eventId": f.EventID, "shopId": f.ShopID, "rating": f.Rating, "comment": f.Comment,
			"createdAt": f.CreatedAt, "updatedAt": f.UpdatedAt}
	}

	created, err := s.store.FindEvents(ctx, EventFilter{CreatedBy: userID})
	if err != nil {
		return nil, fmt.Errorf("export events created: %w", err)
	}
	evs := make([]map[string]any, len(created))
	for i, e := range created {
		evs[i] = map[string]any{"id": e.ID, "shopId": e.ShopID, "title": e.Title, "startsAt": e.StartsAt, "createdAt": e.CreatedAt}
	}
	shops, err := s.shops.store.FindShopsManagedBy(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("export shops managed: %w", err)
	}
	managed := make([]map[string]any, len(shops))
	for i, sh := range shops {
		managed[i] = map[string]any{"id": sh.ID, "name": sh.Name}
	}
	return map[string]any{
		"rsvps": rs, "queuePositions": qs, "checkIns": checkIns, "eventFeedback": feedback,
		"eventsCreated": evs, "shopsManaged": managed,
	}, nil
}

// exportRSVPs lists the user's RSVPs, each with where it stands now.
func (s *EventService) exportRSVPs(ctx context.Context, userID string) ([]map[string]any, error) {
	rsvps, err := s.store.FindRSVPsBy(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("export rsvps: %w", err)
	}
	events := map[string]Event{}
	event := func(id string) (Event, bool, error) {
		if e, ok := events[id]; ok {
			return e, true, nil
		}
		e, err := s.store.FindEvent(ctx, id)
		if err != nil {
			return Event{}, false, err
		}
		events[id] = e
		return e, true, nil
	}
	rs := make([]map[string]any, 0, len(rsvps))
	for _, r := range rsvps {
		m := map[string]any{"eventId": r.EventID, "ticketCode": r.TicketCode, "position": r.Position,
			"createdAt": r.CreatedAt, "updatedAt": r.UpdatedAt}
		e, known, err := event(r.EventID)
		if err != nil && hyperlieu.KindOf(err) != hyperlieu.NotFound {
			return nil, fmt.Errorf("export rsvp %s: %w", r.EventID, err)
		}
		if known {
			m["event"], m["startsAt"] = e.Title, e.StartsAt
		}
		switch {
		case !r.CancelledAt.IsZero():
			m["status"], m["withdrawnAt"] = "withdrawn", r.CancelledAt
		case r.Position == 0 || !known:
			m["status"] = "pending"
		default:
			st, err := s.stateOf(ctx, e, r)
			if err != nil {
				return nil, fmt.Errorf("export rsvp %s: %w", r.EventID, err)
			}
			m["status"] = string(st.Status)
			if st.Status == Waitlisted {
				m["waitlistPosition"] = st.WaitlistPosition
			}
		}
		rs = append(rs, m)
	}
	return rs, nil
}

// EraseUser removes the user from the events area. It implements PersonalData.
//
// Seats: a seat at an event that has not started (and is not cancelled) is
// freed exactly as if the person had withdrawn, and the first on the
// waitlist is promoted and told; an erased person will not come. A seat at
// an event that has started, ended or was cancelled, or one they already
// checked in to, is kept as an anonymous seat, so the event's numbers stay
// what they were. Check-ins and ratings
// are kept without identity (comments are dropped); RSVPs and ticket codes
// are deleted; events they scheduled and check-ins they scanned forget them;
// they stop managing their shops. Erasing twice, or a user with no events
// data, is not an error.
func (s *EventService) EraseUser(ctx context.Context, userID string) error {
	now := s.now()
	claims, err := s.store.FindClaimsBy(ctx, userID)
	if err != nil {
		return fmt.Errorf("erase events: %w", err)
	}
	// Release first, while the positions still name the user: if a later step
	// fails, running the erasure again finds them and finishes.
	for _, c := range claims {
		if !c.ReleasedAt.IsZero() {
			continue
		}
		e, sh, err := s.EventWithShop(ctx, c.EventID)
		if hyperlieu.KindOf(err) == hyperlieu.NotFound {
			continue
		} else if err != nil {
			return fmt.Errorf("erase events: %w", err)
		}
		if e.Cancelled() || !e.StartsAt.After(now) {
			continue // kept, anonymous
		}
		if _, err := s.store.FindCheckIn(ctx, e.ID, userID); err == nil {
			continue // they came (check-in opens before the start): kept, anonymous
		} else if hyperlieu.KindOf(err) != hyperlieu.NotFound {
			return fmt.Errorf("erase events: %w", err)
		}
		if err := s.store.DeletePosition(ctx, e.ID, c.N, now); err != nil {
			return fmt.Errorf("erase events: free seat at %s: %w", e.ID, err)
		}
		s.promote(ctx, e, sh)
	}
	// They stop managing their shops before DeleteEventUser forgets which
	// shops those are.
	shops, err := s.shops.store.FindShopsManagedBy(ctx, userID)
	if err != nil {
		return fmt.Errorf("erase events: %w", err)
	}
	for _, sh := range shops {
		sh.ManagerIDs = slices.DeleteFunc(sh.ManagerIDs, func(id string) bool { return id == userID })
		if _, err := s.shops.save(ctx, sh); err != nil {
			return fmt.Errorf("erase events: %w", err)
		}
	}
	if err := s.store.DeleteEventUser(ctx, userID); err != nil {
		return err
	}
	events := make([]string, len(claims))
	for i, c := range claims {
		events[i] = c.EventID
	}
	s.forgetViews(events) // their positions no longer name them
	s.reminded.forgetUser(userID)
	return nil
}
