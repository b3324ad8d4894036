// Package webhook delivers the product's domain events to endpoints that
// admins register, signed and at least once, and keeps them as a stream
// for BI. This first part holds what a receiver must agree on: the event
// types, the event ids (also the stream's cursor), the signature and the
// retry schedule.
package webhook

import (
	"fmt"
	"sync"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// Type is the kind of a domain event, as receivers subscribe to it.
type Type string

const (
	OfferTriggered     Type = "offer.triggered"
	OfferRedeemed      Type = "offer.redeemed"
	RSVP               Type = "rsvp"
	WaitlistPromoted   Type = "waitlist.promoted"
	CheckIn            Type = "checkin"
	RatingLow          Type = "rating.low"
	Gesture            Type = "gesture"
	NotificationFailed Type = "notification.failed"
	AccountErased      Type = "account.erased"
)

// Types lists every event type an endpoint may subscribe to.
var Types = []Type{OfferTriggered, OfferRedeemed, RSVP, WaitlistPromoted, CheckIn, RatingLow, Gesture, NotificationFailed, AccountErased}

// Event is one domain fact. Data holds ids only (user, shop, event, offer…),
// never emails or names: the minimum a receiver needs to look things up.
type Event struct {
	ID   string // see IDs: unique, and ordered by time within one instance
	Type Type
	At   time.Time
	Data map[string]string
}

// IDs makes event ids: 13 decimal digits of Unix milliseconds, a 6-digit
// counter, then the instance's tag, e.g. "1764630000000-000042-k3x9q2".
// Compared as strings they sort by time, and within one instance strictly
// in the order made, even when the clock steps back or many events share a
// millisecond; the tag keeps instances' ids apart. Ids of different
// instances are ordered only as far as their clocks agree.
type IDs struct {
	mu   sync.Mutex
	tag  string
	last int64 // ms of the last id
	n    int   // counter within last
	now  func() time.Time
}

// NewIDs makes ids for one instance; now may be nil (time.Now).
func NewIDs(now func() time.Time) *IDs {
	if now == nil {
		now = time.Now
	}
	return &IDs{tag: hyperlieu.NewID()[:6], now: now}
}

// Next returns a new id, greater than every id this value made before.
func (g *IDs) Next() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	ms := g.now().UnixMilli()
	switch {
	case ms > g.last:
		g.last, g.n = ms, 0
	case g.n < 999999:
		g.n++
	default: // a million ids in one millisecond: borrow the next one
		g.last, g.n = g.last+1, 0
	}
	return fmt.Sprintf("%013d-%06d-%s", g.last, g.n, g.tag)
}

// IDBefore returns a string that sorts after every id made before t and
// before every id made at or after it: the stream serves ids below
// IDBefore(now - lag), so that an event another instance is still writing,
// with a slightly earlier time, is not skipped by a reader that moved on.
func IDBefore(t time.Time) string {
	return fmt.Sprintf("%013d", t.UnixMilli())
}
