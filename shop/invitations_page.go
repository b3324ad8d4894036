package shop

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// Public page limits: how many names it shows, and how many of the people
// going it reads to find them (one keyed read each).
const (
	pageNames     = 12
	pageNameReads = 60
)

// InvitePage is what the public page of a share link shows: nothing but
// the event, its shop, its seats and the first names of people going who
// chose to be shown in attendee lists.
type InvitePage struct {
	Event     Event
	Shop      Shop
	SeatsLeft int
	Going     []string // first names, at most pageNames
	MoreGoing int      // the others going
	// Inviter is the first name of whoever invited, when code is an
	// invitation to this event; Code is then that code.
	Inviter, Code string
}

// Page returns the public page of an event, as opened from an invitation
// code (which may be empty or wrong: the page still shows, without an
// inviter). NotFound for an unknown event.
func (s *InvitationService) Page(ctx context.Context, eventID, code string) (InvitePage, error) {
	e, sh, err := s.events.EventWithShop(ctx, eventID)
	if err != nil {
		return InvitePage{}, err
	}
	q, err := s.events.queue(ctx, e)
	if err != nil {
		return InvitePage{}, err
	}
	going := q[:min(len(q), e.Capacity)]
	p := InvitePage{Event: e, Shop: sh, SeatsLeft: e.Capacity - len(going), Going: []string{}}
	if code = strings.ToLower(strings.TrimSpace(code)); code != "" && len(code) <= 64 {
		if inv, err := s.store.FindInvitation(ctx, code); err == nil && inv.EventID == eventID {
			if u, err := s.events.users.FindUser(ctx, inv.InviterID); err == nil {
				p.Inviter, p.Code = u.FirstName(), inv.Code
			}
		}
	}
	for i, qe := range going {
		if i >= pageNameReads || len(p.Going) == pageNames {
			break
		}
		if qe.UserID == "" {
			continue
		}
		u, err := s.events.users.FindUser(ctx, qe.UserID)
		if hyperlieu.KindOf(err) == hyperlieu.NotFound {
			continue
		} else if err != nil {
			return InvitePage{}, err
		}
		if u.Prefs.ShowInAttendeeLists && u.FirstName() != "" {
			p.Going = append(p.Going, u.FirstName())
		}
	}
	p.MoreGoing = len(going) - len(p.Going)
	return p, nil
}

// MyEvent is an event a customer is going to or waitlisted for.
type MyEvent struct {
	Event  Event
	Shop   Shop
	Status RSVPStatus
}

// MyEvents returns the events the user holds a seat or a waitlist place at
// that end after since, by start; cancelled ones stay, marked so by the
// event, until they would have ended.
func (s *EventService) MyEvents(ctx context.Context, userID string, since time.Time) ([]MyEvent, error) {
	rs, err := s.store.FindRSVPsBy(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("my events: %w", err)
	}
	out := []MyEvent{}
	for _, r := range rs {
		if !r.Live() {
			continue
		}
		e, sh, err := s.EventWithShop(ctx, r.EventID)
		if hyperlieu.KindOf(err) == hyperlieu.NotFound {
			continue
		} else if err != nil {
			return nil, err
		}
		if !e.EndsAt.After(since) {
			continue
		}
		st, err := s.stateOf(ctx, e, r)
		if err != nil {
			return nil, err
		}
		out = append(out, MyEvent{Event: e, Shop: sh, Status: st.Status})
	}
	slices.SortFunc(out, func(a, b MyEvent) int { return a.Event.StartsAt.Compare(b.Event.StartsAt) })
	return out, nil
}

// ExportUser returns the user's invitations (with how many accepted each)
// and the invitation they signed up with, if any. It implements
// PersonalData.
func (s *InvitationService) ExportUser(ctx context.Context, userID string) (map[string]any, error) {
	invs, err := s.store.FindInvitationsBy(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("export invitations: %w", err)
	}
	sent := make([]map[string]any, len(invs))
	for i, inv := range invs {
		sent[i] = map[string]any{"eventId": inv.EventID, "code": inv.Code, "createdAt": inv.CreatedAt, "accepted": len(inv.Accepted)}
	}
	out := map[string]any{"invitations": sent, "invitationAccepted": nil}
	a, err := s.store.FindInviteAcceptance(ctx, userID)
	if err == nil {
		out["invitationAccepted"] = map[string]any{"eventId": a.EventID, "code": a.Code, "at": a.At}
	} else if hyperlieu.KindOf(err) != hyperlieu.NotFound {
		return nil, fmt.Errorf("export invitations: %w", err)
	}
	return out, nil
}

// EraseUser deletes the user's invitations (their links stop working) and
// their acceptance of one; the events' counts keep them, unnamed. Run it
// before the events area's erasure, which forgets whose check-ins were
// whose. It implements PersonalData.
func (s *InvitationService) EraseUser(ctx context.Context, userID string) error {
	a, err := s.store.FindInviteAcceptance(ctx, userID)
	switch {
	case err == nil:
		came, err := s.checkedIn(ctx, a.EventID, userID)
		if err != nil {
			return fmt.Errorf("erase invitations: %w", err)
		}
		if err := s.store.DeleteInvitee(ctx, a, came); err != nil {
			return fmt.Errorf("erase invitations: %w", err)
		}
	case hyperlieu.KindOf(err) != hyperlieu.NotFound:
		return fmt.Errorf("erase invitations: %w", err)
	}
	invs, err := s.store.FindInvitationsBy(ctx, userID)
	if err != nil {
		return fmt.Errorf("erase invitations: %w", err)
	}
	for _, inv := range invs {
		if err := s.store.DeleteInvitation(ctx, inv); err != nil {
			return fmt.Errorf("erase invitations: %w", err)
		}
	}
	return nil
}
