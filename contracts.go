package hyperlieu

import (
	"context"
	"time"

	"github.com/hyperlieu/hyperlieu/geo"
)

// This file holds the few types through which the product's areas talk to
// each other: events and campaigns cause notifications; check-ins and
// redemptions feed loyalty; loyalty's segments feed campaign audiences.
// Each area depends on these small interfaces, not on the others' services,
// and every one is wired: there is no "area absent" mode.

// NotificationKind says what a message is about; templates are chosen by it.
type NotificationKind string

const (
	KindWelcome          NotificationKind = "welcome"
	KindJourney          NotificationKind = "journey"           // welcome journey steps
	KindOffer            NotificationKind = "offer"             // a campaign offer landed in the wallet
	KindEventAnnounced   NotificationKind = "event_announced"   // a new event near the customer
	KindEventReminder    NotificationKind = "event_reminder"    // one hour before, to those going
	KindEventChanged     NotificationKind = "event_changed"     // time or place moved
	KindEventCancelled   NotificationKind = "event_cancelled"   // to those going and waitlisted
	KindWaitlistPromoted NotificationKind = "waitlist_promoted" // a seat freed up for them
	KindLowRating        NotificationKind = "low_rating"        // to a shop's managers
	KindGesture          NotificationKind = "gesture"           // a manager's goodwill gesture
	KindReward           NotificationKind = "reward"            // points or a reward earned
	KindVisitAsk         NotificationKind = "visit_ask"         // "how was your visit?" after a visit
)

// NotificationRequest asks for one message to one user. The notification
// service renders it in the user's language and tone, applies their
// categories, quiet hours and (when Capped) daily cap, and queues it in the
// durable outbox; nothing is sent inline.
type NotificationRequest struct {
	UserID string
	Kind   NotificationKind
	// Category is one of MessageCategories, or "" for a service message about
	// something the user did (always delivered, never capped).
	Category string
	// Vars fill the template: e.g. "event", "shop" (a name, never an ID),
	// "when"/"startsAt", "offer", "code", "message", "points", "rating",
	// "comment", "reason"; "step" (journey) and "for" (reward) choose the
	// kind's variant texts. templates.go says which each kind uses. Values
	// are plain text.
	Vars map[string]string
	// Data is deep-link data for the app (e.g. "eventId", "offerId").
	Data        map[string]string
	CollapseKey string    // e.g. "event:<id>" or "campaign:<id>"
	NotBefore   time.Time // zero: now
	ExpiresAt   time.Time // zero: the service's default validity
	// Capped counts the message against the customer's maxNotificationsPerDay.
	// Leave it false when the producer reserved a slot itself (ReserveContact).
	Capped bool
	// DedupKey, when set, makes the request idempotent: the same key is queued
	// once, whoever asks and however often (retries, several instances).
	DedupKey string
}

// Notifier queues notifications. It returns an error only when they could
// not be recorded; a message suppressed by the customer's own rules is not
// an error.
type Notifier interface {
	Notify(ctx context.Context, reqs ...NotificationRequest) error
	// ReserveContact claims one of the customer's daily contacts for the day
	// that at falls on in their time zone. It returns false when the cap is
	// reached. It is exact across instances (claimed by unique insert).
	ReserveContact(ctx context.Context, u User, at time.Time) (bool, error)
}

// ActivityKind is something a customer did that loyalty counts.
type ActivityKind string

const (
	ActivityCheckIn    ActivityKind = "checkin"    // at an event
	ActivityRedemption ActivityKind = "redemption" // of an offer at a shop
	ActivityFeedback   ActivityKind = "feedback"   // about an event or a shop
	ActivityRSVP       ActivityKind = "rsvp"
)

// Activity is one customer action. SourceKey identifies it uniquely (e.g.
// "checkin:<eventId>:<userId>") so that recording it twice pays once.
type Activity struct {
	UserID    string
	Kind      ActivityKind
	SourceKey string
	ShopID    string
	EventID   string // the event checked in to or answered; "" for other kinds
	At        time.Time
	// Rating is the 1–5 rating of a feedback activity, 0 when unknown. Low
	// ratings (LowRating or less) are complaints, not devotion.
	Rating int
}

// LowRating is the highest rating that is a complaint.
const LowRating = 2

// ActivityRecorder is told about customer actions (points, segments,
// referral rewards). Producers call it after their own write succeeded; it
// must be idempotent by SourceKey.
type ActivityRecorder interface {
	RecordActivity(ctx context.Context, a Activity) error
}

// Segment is the kind of fan a customer is, from their behaviour.
type Segment string

const (
	SegmentNewcomer  Segment = "newcomer"  // account younger than the newcomer period
	SegmentDevoted   Segment = "devoted"   // recent and frequent activity
	SegmentWandering Segment = "wandering" // was active, activity dropped
	SegmentProspect  Segment = "prospect"  // referred or invited, no purchase-like activity yet
	SegmentDormant   Segment = "dormant"   // no activity for long
)

// Segments lists every segment.
var Segments = []Segment{SegmentNewcomer, SegmentDevoted, SegmentWandering, SegmentProspect, SegmentDormant}

// Segmenter tells which segment a customer is in now.
type Segmenter interface {
	SegmentOf(ctx context.Context, u User, at time.Time) (Segment, error)
}

// PersonalData is implemented by every area that stores data about a person,
// so that a customer can take all of it (export) or have it erased.
type PersonalData interface {
	// ExportUser returns the area's data about the user as named sections of
	// JSON-ready values (maps, slices, strings, numbers, times), keys in
	// lowerCamelCase. No secrets (password hashes, token hashes).
	ExportUser(ctx context.Context, userID string) (map[string]any, error)
	// EraseUser removes or anonymises the user's data; aggregates (counters,
	// stats) are kept without identity. Erasing twice is not an error.
	EraseUser(ctx context.Context, userID string) error
}

// ShopDirectory tells the fans use cases about shops (implemented by the
// shops and events area).
type ShopDirectory interface {
	// ShopPlace returns NotFound when there is no such shop.
	ShopPlace(ctx context.Context, shopID string) (loc geo.Point, timezone string, err error)
	// ManagesShop reports whether userID is one of the shop's managers
	// (roles aside). NotFound when there is no such shop.
	ManagesShop(ctx context.Context, userID, shopID string) (bool, error)
	// MayManageShop is the one rule for "may this actor run this shop": nil
	// for an admin or a manager of the shop, Forbidden for anyone else,
	// NotFound when there is no such shop.
	MayManageShop(ctx context.Context, a Actor, shopID string) error
	// ShopName returns NotFound when there is no such shop.
	ShopName(ctx context.Context, shopID string) (string, error)
}

// DeviceTokens tells which push tokens a customer's devices have (the
// notifications area); referrals use it to refuse self-referral from one
// device.
type DeviceTokens interface {
	DeviceTokensOf(ctx context.Context, userID string) ([]string, error)
	// InstallIDsOf returns the app installs the user ever registered from
	// (tokens move between accounts; install ids stay in each one's history).
	InstallIDsOf(ctx context.Context, userID string) ([]string, error)
}

// UserFinder looks accounts up; the account store implements it.
type UserFinder interface {
	// FindUser returns NotFound when there is no such user.
	FindUser(ctx context.Context, id string) (User, error)
}

// NearbyAudience finds customers to announce a new event to. The
// location area implements it.
type NearbyAudience interface {
	// CustomersNear returns the IDs of customers who consented to location
	// use and whose last known location, reported since since, lies within
	// radiusM of p.
	CustomersNear(ctx context.Context, p geo.Point, radiusM float64, since time.Time) ([]string, error)
}

// NearbyOffer is an offer available at a place, as the campaigns area
// reports it for nearby search.
type NearbyOffer struct {
	ID, CampaignID, Title, ShopID string
	Location                      geo.Point
	DistanceM                     float64
}

// OfferSource lists the offers a customer can get around a point. The
// campaigns area implements it.
type OfferSource interface {
	// OffersNear returns offers within radiusM of p for userID, with their
	// exact distance.
	OffersNear(ctx context.Context, userID string, p geo.Point, radiusM float64) ([]NearbyOffer, error)
}

// Offer sources: where a wallet offer comes from.
const (
	OfferFromCampaign = "campaign"
	OfferFromReward   = "reward"
	OfferFromGesture  = "gesture"
)

// WalletOffer is an offer the brand hands a customer outside a campaign: a
// reward claimed for points, a manager's goodwill gesture.
type WalletOffer struct {
	UserID    string
	Source    string // OfferFromReward or OfferFromGesture
	SourceID  string // the reward or the gesture
	Title     string
	ShopIDs   []string // where it may be redeemed; empty: any shop
	ExpiresAt time.Time
	DedupKey  string // the same key issues one offer; "" for none
}

// Wallet issues offers into a customer's wallet, with the one code format
// every till redeems. The campaigns area implements it.
type Wallet interface {
	// IssueOffer stores the offer and returns its code; with the DedupKey
	// of an offer already issued, it returns that offer's code.
	IssueOffer(ctx context.Context, o WalletOffer) (code string, err error)
}

// InviteReferrals attributes a newcomer who signed up through an event
// invitation to the customer who invited them, under the referral rules
// (caps, same-device and per-address checks). The fans area implements it.
type InviteReferrals interface {
	// AttributeInvite records that u signed up with inviterID's invitation
	// code to eventID, from the client address addr; the pair is rewarded
	// when u checks in at that event. A newcomer already attributed keeps
	// their first referrer (Conflict).
	AttributeInvite(ctx context.Context, u User, inviterID, eventID, code, addr string) error
}

// Visit sources: how the brand knows a customer was at a shop.
const (
	VisitDetected   = "location"   // a dwell then an exit around the shop
	VisitCheckIn    = "checkin"    // at one of the shop's events
	VisitRedemption = "redemption" // of an offer at the shop's till
)

// Visit is a customer's stay at a shop, as one area saw it.
type Visit struct {
	UserID, ShopID string
	Source         string    // one of the Visit… sources
	At             time.Time // arrival (a check-in's or redemption's time)
	LeftAt         time.Time // zero unless detected
	// Key identifies the visit uniquely, so that recording it twice (a
	// retried report, two instances) counts it once.
	Key string
}

// VisitRecorder is told about visits to shops (the fans area implements it:
// the visit closes the loop with "how was your visit?").
type VisitRecorder interface {
	RecordVisit(ctx context.Context, v Visit) error
}

// ShopLocator finds shops around a point from memory (the shops area
// implements it); the location engine detects visits with it.
type ShopLocator interface {
	ShopsWithin(ctx context.Context, p geo.Point, radiusM float64) ([]string, error)
}

// AuditAction names what a member of staff did that moves value.
type AuditAction string

// The acts the audit trail records.
const (
	AuditGesture    AuditAction = "gesture"    // a goodwill gesture (points or an offer)
	AuditRedemption AuditAction = "redemption" // an offer redeemed at a till
	AuditActivity   AuditAction = "activity"   // an activity recorded by hand
)

// AuditEntry is one act of staff: who did it and in which role, when, for
// whom and what, as ids only (never messages, titles or codes).
type AuditEntry struct {
	ID        string // made by the Auditor; ids sort by time
	At        time.Time
	ActorID   string
	ActorRole Role
	Action    AuditAction
	UserID    string // for whom
	ShopID    string // where; "" for none
	ObjectID  string // the gesture, the offer, or the activity's source key
	Kind      string // for an activity, its kind
}

// Auditor keeps the audit trail (implemented by the audit area). Record is
// called after the act has happened: it never fails the act (a failed
// caller would be retried and act twice), it reports its own failures.
type Auditor interface {
	Record(ctx context.Context, e AuditEntry)
}

// ActingRole is the role a staff act is recorded under: as when the actor
// holds it, else admin when they hold that, else customer.
func (a Actor) ActingRole(as Role) Role {
	switch {
	case a.Is(as):
		return as
	case a.Is(RoleAdmin):
		return RoleAdmin
	}
	return RoleCustomer
}
