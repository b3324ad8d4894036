package shop

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strings"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// Invitation is a customer's personal invitation to an event: its code goes
// in the share link /e/<event>?i=<code>. One per customer and event.
type Invitation struct {
	Code, EventID, InviterID string
	CreatedAt                time.Time
	Accepted                 []string // the IDs of those who signed up with it
}

// InviteAcceptance records that a newcomer signed up with an invitation. A
// person signs up once, so they accept at most one.
type InviteAcceptance struct {
	InviteeID, Code, EventID, InviterID string
	At                                  time.Time
}

// InvitationCounts are the stored counts of an event's invitations: who
// invited and who accepted, plus those erased since (counted, not named).
type InvitationCounts struct {
	Inviters, Invitees                              []string
	ErasedInviters, ErasedInvitees, ErasedCheckedIn int
}

// InvitationStore keeps invitations, keyed by code, with an index per
// inviter and counts per event, every write keyed by _id and idempotent.
type InvitationStore interface {
	// CreateInvitation stores inv (an existing code is kept as it is) and
	// indexes it under its inviter and its event.
	CreateInvitation(ctx context.Context, inv Invitation) error
	// FindInvitation returns NotFound for an unknown code.
	FindInvitation(ctx context.Context, code string) (Invitation, error)
	// FindInvitationsBy returns the inviter's invitations.
	FindInvitationsBy(ctx context.Context, inviterID string) ([]Invitation, error)
	// CreateInviteAcceptance records a, then adds the invitee to the
	// invitation and the event's counts. Conflict when the invitee already
	// accepted another invitation.
	CreateInviteAcceptance(ctx context.Context, a InviteAcceptance) error
	// FindInviteAcceptance returns NotFound when the user accepted none.
	FindInviteAcceptance(ctx context.Context, inviteeID string) (InviteAcceptance, error)
	FindInvitationCounts(ctx context.Context, eventID string) (InvitationCounts, error)
	// DeleteInvitee forgets that a accepted (keeping them counted in its
	// event, as checked in when checkedIn); DeleteInvitation deletes inv
	// (its inviter stays counted). Both are idempotent.
	DeleteInvitee(ctx context.Context, a InviteAcceptance, checkedIn bool) error
	DeleteInvitation(ctx context.Context, inv Invitation) error
}

// InvitationService holds the invitation use cases: share links, the public
// event page, sign-ups through them and their counts.
type InvitationService struct {
	events    *EventService
	store     InvitationStore
	referrals hyperlieu.InviteReferrals
}

// NewInvitationService returns the invitation use cases over events;
// referrals attributes sign-ups through an invitation to the inviter.
func NewInvitationService(events *EventService, store InvitationStore, referrals hyperlieu.InviteReferrals) *InvitationService {
	return &InvitationService{events: events, store: store, referrals: referrals}
}

// InviteCodeOf is the inviter's code for an event: derived by a hash, like
// referral codes, so that asking again gives the same link.
func InviteCodeOf(eventID, inviterID string) string {
	h := sha256.Sum256([]byte("hyperlieu-invite:" + eventID + ":" + inviterID))
	return strings.ToLower(base32.StdEncoding.EncodeToString(h[:10])) // 16 symbols, 80 bits
}

// Invite returns the caller's invitation to the event, with the event,
// creating it on first use (who accepted is MyInvitations' to say). NotFound
// for an unknown event; Forbidden unless the caller is going or waitlisted;
// Conflict once the event was cancelled or has ended.
func (s *InvitationService) Invite(ctx context.Context, userID, eventID string) (InvitationView, error) {
	e, err := s.events.store.FindEvent(ctx, eventID)
	if err != nil {
		return InvitationView{}, err
	}
	if err := s.inviting(e); err != nil {
		return InvitationView{}, err
	}
	r, err := s.events.store.FindRSVP(ctx, eventID, userID)
	if hyperlieu.KindOf(err) == hyperlieu.NotFound || (err == nil && !r.Live()) {
		return InvitationView{}, hyperlieu.Errorf(hyperlieu.Forbidden, "only people going to the event can invite friends to it")
	} else if err != nil {
		return InvitationView{}, err
	}
	inv := Invitation{Code: InviteCodeOf(eventID, userID), EventID: eventID, InviterID: userID, CreatedAt: s.events.now()}
	if err := s.store.CreateInvitation(ctx, inv); err != nil {
		return InvitationView{}, fmt.Errorf("invite: %w", err)
	}
	if inv, err = s.store.FindInvitation(ctx, inv.Code); err != nil {
		return InvitationView{}, err
	}
	return InvitationView{Invitation: inv, Event: e}, nil
}

// inviting returns Conflict unless the event still takes new people.
func (s *InvitationService) inviting(e Event) error {
	switch {
	case e.Cancelled():
		return hyperlieu.Errorf(hyperlieu.Conflict, "the event was cancelled")
	case !e.EndsAt.After(s.events.now()):
		return hyperlieu.Errorf(hyperlieu.Conflict, "the event is over")
	}
	return nil
}

// Invitee is someone who accepted an invitation, as the inviter sees them.
type Invitee struct {
	FirstName string
	CheckedIn bool
}

// InvitationView is an invitation with its event and who accepted it.
type InvitationView struct {
	Invitation
	Event    Event
	Invitees []Invitee
}

// MyInvitations returns the caller's invitations, each with the first names
// of those who signed up with it (erased accounts left out) and whether
// they came.
func (s *InvitationService) MyInvitations(ctx context.Context, userID string) ([]InvitationView, error) {
	invs, err := s.store.FindInvitationsBy(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("my invitations: %w", err)
	}
	out := make([]InvitationView, 0, len(invs))
	for _, inv := range invs {
		e, err := s.events.store.FindEvent(ctx, inv.EventID)
		if hyperlieu.KindOf(err) == hyperlieu.NotFound {
			continue
		} else if err != nil {
			return nil, err
		}
		v := InvitationView{Invitation: inv, Event: e, Invitees: []Invitee{}}
		for _, id := range inv.Accepted {
			u, err := s.events.users.FindUser(ctx, id)
			if hyperlieu.KindOf(err) == hyperlieu.NotFound {
				continue
			} else if err != nil {
				return nil, err
			}
			came, err := s.checkedIn(ctx, inv.EventID, id)
			if err != nil {
				return nil, err
			}
			v.Invitees = append(v.Invitees, Invitee{FirstName: u.FirstName(), CheckedIn: came})
		}
		out = append(out, v)
	}
	return out, nil
}

func (s *InvitationService) checkedIn(ctx context.Context, eventID, userID string) (bool, error) {
	_, err := s.events.store.FindCheckIn(ctx, eventID, userID)
	if hyperlieu.KindOf(err) == hyperlieu.NotFound {
		return false, nil
	}
	return err == nil, err
}

// InvitationStats are an event's invitation counts for its managers.
type InvitationStats struct {
	Sent, Accepted, CheckedIn int
}

// Stats counts an event's invitations: people who invited (sent), sign-ups
// through them (accepted), and of those, check-ins. Forbidden unless the
// actor manages the event's shop; NotFound for an unknown event.
func (s *InvitationService) Stats(ctx context.Context, a hyperlieu.Actor, eventID string) (InvitationStats, error) {
	_, sh, err := s.events.EventWithShop(ctx, eventID)
	if err != nil {
		return InvitationStats{}, err
	}
	if !canManage(a, sh) {
		return InvitationStats{}, hyperlieu.Errorf(hyperlieu.Forbidden, "you do not manage this shop")
	}
	c, err := s.store.FindInvitationCounts(ctx, eventID)
	if err != nil {
		return InvitationStats{}, fmt.Errorf("invitation stats: %w", err)
	}
	st := InvitationStats{Sent: len(c.Inviters) + c.ErasedInviters, Accepted: len(c.Invitees) + c.ErasedInvitees, CheckedIn: c.ErasedCheckedIn}
	for _, id := range c.Invitees {
		came, err := s.checkedIn(ctx, eventID, id)
		if err != nil {
			return InvitationStats{}, err
		}
		if came {
			st.CheckedIn++
		}
	}
	return st, nil
}

// CheckInviteCode returns Invalid naming inviteCode unless code is an
// invitation to an event still taking people, so that sign-up can refuse
// it before the account exists.
func (s *InvitationService) CheckInviteCode(ctx context.Context, code string) error {
	_, err := s.invitation(ctx, code)
	return err
}

func (s *InvitationService) invitation(ctx context.Context, code string) (Invitation, error) {
	inv, err := s.store.FindInvitation(ctx, strings.ToLower(strings.TrimSpace(code)))
	if hyperlieu.KindOf(err) == hyperlieu.NotFound {
		return Invitation{}, hyperlieu.InvalidField("inviteCode", "is not a known invitation code").WithMessage("unknown invitation code")
	} else if err != nil {
		return Invitation{}, err
	}
	e, err := s.events.store.FindEvent(ctx, inv.EventID)
	switch {
	case err != nil && hyperlieu.KindOf(err) != hyperlieu.NotFound:
		return Invitation{}, fmt.Errorf("invitation's event: %w", err) // a failure, not an expired invitation
	case err == nil:
		err = s.inviting(e)
	}
	if err != nil {
		return Invitation{}, hyperlieu.InvalidField("inviteCode", "is an invitation to an event that was cancelled or is over").WithMessage("invitation expired")
	}
	return inv, nil
}

// OnRegister is the invitations' part of a sign-up, for
// AccountOptions.OnRegister, to run before the fans' (which computes the
// newcomer's segment from their referral): a newcomer who gave an
// invitation code accepts it and is attributed to the inviter. A bad code
// does not undo the sign-up: its error is returned for the log.
func (s *InvitationService) OnRegister(ctx context.Context, u hyperlieu.User, in hyperlieu.Registration) error {
	if strings.TrimSpace(in.InviteCode) == "" {
		return nil
	}
	inv, err := s.invitation(ctx, in.InviteCode)
	if err != nil {
		return fmt.Errorf("invitation on register: %w", err)
	}
	a := InviteAcceptance{InviteeID: u.ID, Code: inv.Code, EventID: inv.EventID, InviterID: inv.InviterID, At: s.events.now()}
	if err := s.store.CreateInviteAcceptance(ctx, a); err != nil && hyperlieu.KindOf(err) != hyperlieu.Conflict {
		return fmt.Errorf("invitation on register: %w", err)
	}
	if err := s.referrals.AttributeInvite(ctx, u, inv.InviterID, inv.EventID, inv.Code, in.ClientAddr); err != nil {
		return fmt.Errorf("invitation on register: %w", err)
	}
	return nil
}
