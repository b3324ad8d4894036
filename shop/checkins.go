package shop

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/geo"
)

// CheckInStore keeps who came to which event.
type CheckInStore interface {
	// CreateCheckIn returns Conflict if the user already checked in.
	CreateCheckIn(ctx context.Context, c CheckIn) error
	// FindCheckIn returns NotFound when the user did not check in.
	FindCheckIn(ctx context.Context, eventID, userID string) (CheckIn, error)
}

// CheckIn records that an attendee was at the event. Method is "location"
// (self check-in) or "ticket" (scanned by a manager, By).
type CheckIn struct {
	EventID, UserID string
	Method          string
	By              string
	At              time.Time
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
	q, err := s.queue(ctx, e)
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
	a := hyperlieu.Activity{UserID: c.UserID, Kind: hyperlieu.ActivityCheckIn, SourceKey: "checkin:" + e.ID + ":" + c.UserID, ShopID: sh.ID, EventID: e.ID, At: c.At}
	if rerr := s.activity.RecordActivity(ctx, a); rerr != nil {
		return CheckIn{}, fmt.Errorf("record check-in: %w", rerr)
	}
	if err != nil {
		return CheckIn{}, hyperlieu.Errorf(hyperlieu.Conflict, "already checked in")
	}
	return c, nil
}
