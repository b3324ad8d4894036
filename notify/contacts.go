package notify

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// AfterQuietHours returns t, or, when t falls within the quiet hours q in
// loc, the end of those quiet hours: the next q.To on the customer's wall
// clock, so that a DST change in between is accounted for. Nil or malformed
// quiet hours change nothing.
func AfterQuietHours(t time.Time, loc *time.Location, q *hyperlieu.QuietHours) time.Time {
	if q == nil {
		return t
	}
	return q.End(t, loc)
}

// ReserveContact claims one of u's daily contacts for the day at falls on in
// their time zone, and returns false when all MaxNotificationsPerDay are
// taken (or the cap is 0). Each contact is a slot document keyed by
// ContactSlot, claimed by unique insert, so the cap is
// exact across instances and on FerretDB; it names no one, so erasing the
// account (and its claim key) leaves nothing to find.
func (s *Service) ReserveContact(ctx context.Context, u hyperlieu.User, at time.Time) (bool, error) {
	req := contactSlots(u, at)
	if len(req.Slots) == 0 {
		return false, nil
	}
	ok, err := s.store.CreateSlots(ctx, []SlotRequest{req}, s.opts.Now().UTC())
	if err != nil {
		return false, fmt.Errorf("reserve contact: %w", err)
	}
	return ok[0], nil
}

// contactSlots are u's daily contacts for the day at falls on in their time zone.
func contactSlots(u hyperlieu.User, at time.Time) SlotRequest {
	day := at.In(u.Prefs.Location()).Format(time.DateOnly)
	req := SlotRequest{Slots: make([]string, max(u.Prefs.MaxNotificationsPerDay, 0))}
	for i := range req.Slots {
		req.Slots[i] = ContactSlot(u, day, i+1)
	}
	return req
}

// ContactSlot is the key of u's n-th daily contact on day (YYYY-MM-DD, in
// their time zone).
func ContactSlot(u hyperlieu.User, day string, n int) string {
	return u.ClaimID("contact", day, strconv.Itoa(n))
}

// welcomeVars are the welcome's limits as u's preferences say them. The
// outbox renders the welcome again with them when it sends it, so that it
// states the quiet hours and daily limit of then, not of sign-up. Only what
// holds is said: no "at most 0 messages", no quiet hours the customer does
// not have (the templates do without them). The welcome itself is a service
// message, outside the daily limit, and its text says so.
func welcomeVars(u hyperlieu.User) map[string]string {
	vars := map[string]string{}
	if n := u.Prefs.MaxNotificationsPerDay; n > 0 {
		vars["max"] = strconv.Itoa(n)
	}
	if q := u.Prefs.QuietHours; q != nil {
		vars["quietFrom"], vars["quietTo"] = q.From, q.To
	}
	return vars
}

// Welcome queues the message that greets a new customer and tells them what
// the brand will send and how often. It is a service message (never capped
// or refused) and idempotent per user. The welcome journey builds on it.
func (s *Service) Welcome(ctx context.Context, u hyperlieu.User) error {
	vars := welcomeVars(u)
	return s.Notify(ctx, hyperlieu.NotificationRequest{
		UserID: u.ID, Kind: hyperlieu.KindWelcome, Vars: vars,
		Data: map[string]string{"screen": "preferences"}, CollapseKey: "welcome",
		DedupKey: "welcome:" + u.ID,
	})
}
