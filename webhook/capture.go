package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// Publisher records events for delivery and the stream. Publish returns
// once they are stored; Key, when set, makes an event idempotent (the same
// key is published once).
type Publisher interface {
	Publish(ctx context.Context, es ...Keyed) error
}

// Keyed is an event and the key that makes its publication idempotent
// ("" for none).
type Keyed struct {
	Key   string
	Event Event
}

// Notifier wraps a hyperlieu.Notifier: the requests that stand for domain
// facts (an offer triggered, a waitlist promotion, a low rating, a
// gesture) are published, then the requests are passed on unchanged. A
// failure to publish is returned before anything is queued, so that the
// producer's retry does both.
type Notifier struct {
	Next hyperlieu.Notifier
	Pub  Publisher
	Now  func() time.Time
}

// Notify publishes the events of reqs, then queues reqs.
func (n Notifier) Notify(ctx context.Context, reqs ...hyperlieu.NotificationRequest) error {
	if es := EventsOfNotifications(now(n.Now), reqs); len(es) > 0 {
		if err := n.Pub.Publish(ctx, es...); err != nil {
			return err
		}
	}
	return n.Next.Notify(ctx, reqs...)
}

// ReserveContact passes through.
func (n Notifier) ReserveContact(ctx context.Context, u hyperlieu.User, at time.Time) (bool, error) {
	return n.Next.ReserveContact(ctx, u, at)
}

// EventsOfNotifications maps notification requests to events. A low rating
// is one request per manager, but one event: its key leaves the manager out.
func EventsOfNotifications(at time.Time, reqs []hyperlieu.NotificationRequest) []Keyed {
	var out []Keyed
	seen := map[string]bool{}
	for _, r := range reqs {
		var k Keyed
		switch r.Kind {
		case hyperlieu.KindOffer:
			k = keyed(r.DedupKey, OfferTriggered, at, r.UserID, r.Data, "offerId", "campaignId")
		case hyperlieu.KindWaitlistPromoted:
			k = keyed(r.DedupKey, WaitlistPromoted, at, r.UserID, r.Data, "eventId", "shopId")
		case hyperlieu.KindGesture:
			k = keyed(r.DedupKey, Gesture, at, r.UserID, r.Data, "gestureId", "shopId")
		case hyperlieu.KindLowRating:
			// r.UserID is the manager told; the customer who rated is Data's userId.
			k = keyed("", RatingLow, at, r.Data["userId"], r.Data, "feedbackId", "eventId", "shopId")
			k.Key = "rating.low:" + r.Data["feedbackId"] + ":" + r.Data["eventId"] + ":" + r.Data["shopId"] + ":" + r.Data["userId"]
		default:
			continue
		}
		if k.Key != "" && seen[k.Key] {
			continue
		}
		seen[k.Key] = true
		out = append(out, k)
	}
	return out
}

// Activity wraps a hyperlieu.ActivityRecorder: check-ins, redemptions and
// RSVPs are published, keyed by their SourceKey (producers record again on
// a retry), then recorded.
type Activity struct {
	Next hyperlieu.ActivityRecorder
	Pub  Publisher
}

// RecordActivity publishes a's event, then records it.
func (a Activity) RecordActivity(ctx context.Context, act hyperlieu.Activity) error {
	if k, ok := EventOfActivity(act); ok {
		if err := a.Pub.Publish(ctx, k); err != nil {
			return err
		}
	}
	return a.Next.RecordActivity(ctx, act)
}

// EventOfActivity maps an activity to its event; false for kinds that have
// none (feedback: its low ratings come through the managers' notifications).
func EventOfActivity(a hyperlieu.Activity) (Keyed, bool) {
	types := map[hyperlieu.ActivityKind]Type{
		hyperlieu.ActivityCheckIn: CheckIn, hyperlieu.ActivityRedemption: OfferRedeemed, hyperlieu.ActivityRSVP: RSVP,
	}
	t, ok := types[a.Kind]
	if !ok {
		return Keyed{}, false
	}
	data := map[string]string{"userId": a.UserID}
	if a.ShopID != "" {
		data["shopId"] = a.ShopID
	}
	// The source key names what was done: "checkin:<eventId>:<userId>",
	// "rsvp:<eventId>:<userId>", "redemption:<offerId>".
	if parts := strings.Split(a.SourceKey, ":"); len(parts) >= 2 {
		switch t {
		case OfferRedeemed:
			data["offerId"] = parts[1]
		default:
			data["eventId"] = parts[1]
		}
	}
	return Keyed{Key: string(t) + ":" + a.SourceKey, Event: Event{Type: t, At: a.At.UTC(), Data: data}}, true
}

// Eraser scrubs a user from stored events and queued deliveries.
type Eraser interface {
	EraseUserEvents(ctx context.Context, userID string) error
}

// Personal is this area's hyperlieu.PersonalData: it keeps ids only, so it
// exports nothing; erasing scrubs the user from queued deliveries and the
// stream, then publishes account.erased so that receivers erase them too
// (that event carries the id, the least they need). Place it after the
// accounts area, so the event says the erasure is done.
type Personal struct {
	Store Eraser
	Pub   Publisher
	Now   func() time.Time
}

// ExportUser returns no sections.
func (p Personal) ExportUser(context.Context, string) (map[string]any, error) { return nil, nil }

// EraseUser scrubs, then publishes account.erased (once per user).
func (p Personal) EraseUser(ctx context.Context, userID string) error {
	err := p.Store.EraseUserEvents(ctx, userID)
	perr := p.Pub.Publish(ctx, Keyed{Key: "account.erased:" + userID, Event: Event{
		Type: AccountErased, At: now(p.Now).UTC(), Data: map[string]string{"userRef": UserRef(userID)},
	}})
	return errors.Join(err, perr)
}

// keyed builds an event whose data is userID and the named keys of data
// that are set: ids only, never the template's texts.
func keyed(key string, t Type, at time.Time, userID string, data map[string]string, keys ...string) Keyed {
	d := map[string]string{}
	if userID != "" {
		d["userId"] = userID
	}
	for _, k := range keys {
		if v := data[k]; v != "" {
			d[k] = v
		}
	}
	if key != "" {
		key = string(t) + ":" + key
	}
	return Keyed{Key: key, Event: Event{Type: t, At: at.UTC(), Data: d}}
}

func now(f func() time.Time) time.Time {
	if f == nil {
		return time.Now()
	}
	return f()
}

// FailedNotification is the event of a notification that failed for good
// (the outbox's OnFailed); kind is its NotificationKind.
func FailedNotification(notificationID, userID, kind string, at time.Time) Keyed {
	return Keyed{Key: "notification.failed:" + notificationID, Event: Event{Type: NotificationFailed, At: at.UTC(),
		Data: map[string]string{"notificationId": notificationID, "userId": userID, "kind": kind}}}
}

// UserRef is how account.erased names the person: the hex SHA-256 of their
// id, so that a receiver holding the id can match it while the stream
// itself keeps no trace of whom was erased.
func UserRef(userID string) string {
	h := sha256.Sum256([]byte(userID))
	return hex.EncodeToString(h[:])
}
