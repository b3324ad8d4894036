// Package webhook delivers the product's domain events to endpoints that
// admins register, signed and at least once, and keeps them as a stream
// for BI. This first part holds what a receiver must agree on: the event
// types, the event ids (also the stream's cursor), the signature and the
// retry schedule.
package webhook

import (
	"time"
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
	ID   string // see hyperlieu.TimeIDs: unique, and ordered by time within one instance
	Type Type
	At   time.Time
	Data map[string]string
}
