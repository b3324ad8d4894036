package shop

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// memInvites is the invitation store in memory, with the real one's
// contract (codes kept once, one acceptance per invitee).
type memInvites struct {
	mu     sync.Mutex
	byCode map[string]Invitation
	accept map[string]InviteAcceptance
	counts map[string]*InvitationCounts
}

func newMemInvites() *memInvites {
	return &memInvites{byCode: map[string]Invitation{}, accept: map[string]InviteAcceptance{}, counts: map[string]*InvitationCounts{}}
}

func (m *memInvites) count(eventID string) *InvitationCounts {
	if m.counts[eventID] == nil {
		m.counts[eventID] = &InvitationCounts{}
	}
	return m.counts[eventID]
}

func (m *memInvites) CreateInvitation(_ context.Context, inv Invitation) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.byCode[inv.Code]; !ok {
		m.byCode[inv.Code] = inv
	}
	if c := m.count(inv.EventID); !slices.Contains(c.Inviters, inv.InviterID) {
		c.Inviters = append(c.Inviters, inv.InviterID)
	}
	return nil
}

func (m *memInvites) FindInvitation(_ context.Context, code string) (Invitation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	inv, ok := m.byCode[code]
	if !ok {
		return Invitation{}, hyperlieu.Errorf(hyperlieu.NotFound, "invitation not found")
	}
	return inv, nil
}

func (m *memInvites) FindInvitationsBy(_ context.Context, inviterID string) ([]Invitation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Invitation
	for _, inv := range m.byCode {
		if inv.InviterID == inviterID {
			out = append(out, inv)
		}
	}
	return out, nil
}

func (m *memInvites) CreateInviteAcceptance(_ context.Context, a InviteAcceptance) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.accept[a.InviteeID]; ok {
		return hyperlieu.Errorf(hyperlieu.Conflict, "already accepted")
	}
	m.accept[a.InviteeID] = a
	inv := m.byCode[a.Code]
	inv.Accepted = append(inv.Accepted, a.InviteeID)
	m.byCode[a.Code] = inv
	c := m.count(a.EventID)
	c.Invitees = append(c.Invitees, a.InviteeID)
	return nil
}

func (m *memInvites) FindInviteAcceptance(_ context.Context, inviteeID string) (InviteAcceptance, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.accept[inviteeID]
	if !ok {
		return InviteAcceptance{}, hyperlieu.Errorf(hyperlieu.NotFound, "no acceptance")
	}
	return a, nil
}

func (m *memInvites) FindInvitationCounts(_ context.Context, eventID string) (InvitationCounts, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return *m.count(eventID), nil
}

func (m *memInvites) DeleteInvitee(_ context.Context, a InviteAcceptance, checkedIn bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.count(a.EventID)
	if i := slices.Index(c.Invitees, a.InviteeID); i >= 0 {
		c.Invitees = slices.Delete(c.Invitees, i, i+1)
		c.ErasedInvitees++
		if checkedIn {
			c.ErasedCheckedIn++
		}
	}
	delete(m.accept, a.InviteeID)
	return nil
}

func (m *memInvites) DeleteInvitation(_ context.Context, inv Invitation) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.count(inv.EventID)
	if i := slices.Index(c.Inviters, inv.InviterID); i >= 0 {
		c.Inviters = slices.Delete(c.Inviters, i, i+1)
		c.ErasedInviters++
	}
	delete(m.byCode, inv.Code)
	return nil
}

// referrals records the attributions it is asked for.
type referrals struct{ got []string }

func (r *referrals) AttributeInvite(_ context.Context, u hyperlieu.User, inviterID, eventID, code, addr string) error {
	r.got = append(r.got, u.ID+"<"+inviterID+"@"+eventID+" from "+addr)
	return nil
}

func TestInvitationsInviteSignUpAndCounts(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	refs := &referrals{}
	inv := NewInvitationService(f.events, newMemInvites(), refs)
	e := f.event(10*time.Minute, 5)
	f.addUser("ana")
	if _, err := inv.Invite(ctx, "ana", e.ID); hyperlieu.KindOf(err) != hyperlieu.Forbidden {
		t.Fatalf("Invite without an RSVP = %v, want Forbidden", err)
	}
	f.rsvp(e, "ana")
	a, err := inv.Invite(ctx, "ana", e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := inv.Invite(ctx, "ana", e.ID); b.Code != a.Code || a.Code != InviteCodeOf(e.ID, "ana") {
		t.Errorf("codes = %q then %q, want one stable code", a.Code, b.Code)
	}

	// Sign-up: unknown codes are refused naming inviteCode; a good one is
	// accepted once and attributed to the inviter.
	if err := inv.CheckInviteCode(ctx, "nope"); hyperlieu.KindOf(err) != hyperlieu.Invalid {
		t.Errorf("CheckInviteCode(nope) = %v, want Invalid", err)
	}
	f.addUser("fred")
	fred := hyperlieu.User{ID: "fred"}
	for range 2 {
		if err := inv.OnRegister(ctx, fred, hyperlieu.Registration{InviteCode: " " + a.Code + " ", ClientAddr: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
	}
	if len(refs.got) < 1 || refs.got[0] != "fred<ana@"+e.ID+" from 192.0.2.1" {
		t.Errorf("attributions = %v, want fred to ana at the event", refs.got)
	}
	f.rsvp(e, "fred")
	if _, err := f.events.CheckIn(ctx, "fred", e.ID, &shopAt); err != nil {
		t.Fatal(err)
	}
	st, err := inv.Stats(ctx, f.manager, e.ID)
	if err != nil || st != (InvitationStats{Sent: 1, Accepted: 1, CheckedIn: 1}) {
		t.Errorf("Stats = %+v, %v; want 1 sent, 1 accepted, 1 checked in", st, err)
	}
	if _, err := inv.Stats(ctx, hyperlieu.Actor{UserID: "ana"}, e.ID); hyperlieu.KindOf(err) != hyperlieu.Forbidden {
		t.Errorf("Stats for a customer = %v, want Forbidden", err)
	}
	mine, err := inv.MyInvitations(ctx, "ana")
	if err != nil || len(mine) != 1 || len(mine[0].Invitees) != 1 || mine[0].Invitees[0] != (Invitee{FirstName: "Name", CheckedIn: true}) {
		t.Errorf("MyInvitations = %+v, %v; want fred's first name, checked in", mine, err)
	}

	// Erasing both keeps the counts, unnamed.
	for _, id := range []string{"fred", "ana"} {
		if err := inv.EraseUser(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if st, _ := inv.Stats(ctx, f.manager, e.ID); st != (InvitationStats{Sent: 1, Accepted: 1, CheckedIn: 1}) {
		t.Errorf("Stats after erasure = %+v, want the same counts", st)
	}
	if err := inv.CheckInviteCode(ctx, a.Code); hyperlieu.KindOf(err) != hyperlieu.Invalid {
		t.Errorf("the code of an erased inviter = %v, want Invalid", err)
	}
}

func TestInvitationsClosedEventsAndThePage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inv := NewInvitationService(f.events, newMemInvites(), &referrals{})
	e, other := f.event(time.Hour, 3), f.event(time.Hour, 3)
	f.rsvp(e, "ana", "bob")
	f.rsvp(other, "ana")
	f.store.mu.Lock()
	u := f.store.users["bob"]
	u.Prefs.ShowInAttendeeLists = false
	f.store.users["bob"] = u
	f.store.mu.Unlock()
	a, err := inv.Invite(ctx, "ana", e.ID)
	if err != nil {
		t.Fatal(err)
	}
	o, err := inv.Invite(ctx, "ana", other.ID)
	if err != nil {
		t.Fatal(err)
	}

	p, err := inv.Page(ctx, e.ID, a.Code)
	if err != nil {
		t.Fatal(err)
	}
	if p.SeatsLeft != 1 || !slices.Equal(p.Going, []string{"Name"}) || p.MoreGoing != 1 || p.Inviter != "Name" || p.Code != a.Code {
		t.Errorf("Page = %+v, want 1 seat left, one name shown (bob hides), 1 more, the inviter", p)
	}
	// Another event's code names no inviter here.
	if p, _ := inv.Page(ctx, e.ID, o.Code); p.Inviter != "" || p.Code != "" {
		t.Errorf("Page with another event's code = %+v, want no inviter", p)
	}
	if _, err := inv.Page(ctx, "nope", ""); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("Page(nope) = %v, want NotFound", err)
	}

	// A cancelled event takes no invitations, and its codes no sign-ups.
	if _, err := f.events.CancelEvent(ctx, f.manager, e.ID, "flood"); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.Invite(ctx, "bob", e.ID); hyperlieu.KindOf(err) != hyperlieu.Conflict {
		t.Errorf("Invite to a cancelled event = %v, want Conflict", err)
	}
	if err := inv.CheckInviteCode(ctx, a.Code); hyperlieu.KindOf(err) != hyperlieu.Invalid {
		t.Errorf("CheckInviteCode of a cancelled event = %v, want Invalid", err)
	}

	// The personal calendar lists both, the cancelled one included.
	mine, err := f.events.MyEvents(ctx, "ana", f.clock.Now())
	if err != nil || len(mine) != 2 {
		t.Fatalf("MyEvents = %+v, %v; want two", mine, err)
	}
}

// TestInvitationCodeFailureIsNotExpiry: when the invitation's event cannot
// be read (the database fails), checking the code is that failure, not a
// 422 "invitation expired" that would turn the friend away for good.
func TestInvitationCodeFailureIsNotExpiry(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inv := NewInvitationService(f.events, newMemInvites(), &referrals{})
	e := f.event(time.Hour, 3)
	f.rsvp(e, "ana")
	a, err := inv.Invite(ctx, "ana", e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := inv.CheckInviteCode(ctx, a.Code); err != nil {
		t.Fatalf("CheckInviteCode of a good code: %v", err)
	}
	f.store.mu.Lock()
	f.store.eventErr = errors.New("database unavailable")
	f.store.mu.Unlock()
	err = inv.CheckInviteCode(ctx, a.Code)
	if err == nil || hyperlieu.KindOf(err) == hyperlieu.Invalid {
		t.Errorf("CheckInviteCode while the event cannot be read = %v (%v), want the failure itself", err, hyperlieu.KindOf(err))
	}
}
