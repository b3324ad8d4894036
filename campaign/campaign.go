// Package campaign owns geofenced campaigns: the marketers' use cases, the
// in-memory fence index, the location engine that matches customers'
// reports against it and fires offers, and the offers' wallet and
// redemption at the till.
package campaign

import (
	"slices"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/geo"
)

// Status is where a campaign is in its life: draft → active ⇄ paused
// → ended. Only active campaigns are in the fence index.
type Status string

const (
	Draft  Status = "draft"
	Active Status = "active"
	Paused Status = "paused"
	Ended  Status = "ended"
)

// TriggerKind says when a customer in the geofence gets the offer.
type TriggerKind string

const (
	TriggerEnter TriggerKind = "enter" // on the transition from outside to inside
	TriggerDwell TriggerKind = "dwell" // inside for at least DwellSeconds
	TriggerExit  TriggerKind = "exit"  // leaving after at least MinDwellSeconds inside
)

// Suppression reasons, as counted in Stats.Suppressed.
const (
	ReasonSchedule   = "schedule"
	ReasonAudience   = "audience"
	ReasonNewcomer   = "newcomer"
	ReasonCap        = "cap"      // the per-customer count for this campaign is reached
	ReasonCooldown   = "cooldown" // too soon after this campaign's last offer to the customer
	ReasonDailyCap   = "dailyCap" // the customer's maxNotificationsPerDay is reached
	ReasonQuietHours = "quietHours"
	ReasonBudget     = "budget"
)

// Geofence is the zone of a campaign, as the marketer drew it: polygons
// (GeoJSON Polygon or MultiPolygon, holes honoured), circles, or a radius
// around shops. Fence is the geometry the index matches against; for shops
// it is the circles around their places when the campaign was last saved.
type Geofence struct {
	Type        string // "Polygon", "MultiPolygon", "circles" or "shops"
	Polygons    []geo.Polygon
	Circles     []geo.Circle
	ShopIDs     []string
	ShopRadiusM float64
	Fence       geo.Fence
}

// Trigger is when an offer goes out.
type Trigger struct {
	Kind            TriggerKind
	DwellSeconds    int // for TriggerDwell
	MinDwellSeconds int // for TriggerExit: shorter stays fire nothing on exit
}

// Schedule says when a campaign may fire, in its own time zone. Zero StartsAt
// or EndsAt leave that side open; no Days means every day; nil Hours means
// all day.
type Schedule struct {
	StartsAt, EndsAt time.Time
	Timezone         string
	Days             []time.Weekday
	Hours            *hyperlieu.ClockWindow
}

// Allows reports whether t is inside the schedule.
func (s Schedule) Allows(t time.Time) bool {
	if !s.StartsAt.IsZero() && t.Before(s.StartsAt) {
		return false
	}
	if !s.EndsAt.IsZero() && !t.Before(s.EndsAt) {
		return false
	}
	loc := hyperlieu.Zone(s.Timezone)
	lt := t.In(loc)
	if len(s.Days) > 0 && !slices.Contains(s.Days, lt.Weekday()) {
		return false
	}
	if s.Hours != nil && !s.Hours.Contains(t, loc) {
		return false
	}
	return true
}

// Audience is who a campaign addresses. No Segments means everyone.
// Newcomers (accounts younger than the newcomer period) are left out unless
// Newcomers is set or the newcomer segment is targeted (a welcome campaign).
type Audience struct {
	Segments  []hyperlieu.Segment
	Newcomers bool
}

// OfferText is the offer's wording in one locale and one formality.
type OfferText struct {
	Locale    string
	Formality hyperlieu.Formality
	Title     string
	Body      string
}

// OfferTemplate is what each triggered customer receives.
type OfferTemplate struct {
	Texts    []OfferText
	Value    string        // e.g. "-20%", "a free coffee"
	Validity time.Duration // how long an issued offer can be redeemed
	Budget   int           // total redemptions allowed; 0: unlimited
}

// Text returns the wording for a customer's locale and formality, falling
// back to the same locale in the other formality, then English, then the first.
func (o OfferTemplate) Text(locale string, f hyperlieu.Formality) OfferText {
	best, score := OfferText{}, -1
	for _, t := range o.Texts {
		s := 0
		switch {
		case t.Locale == locale && t.Formality == f:
			s = 4
		case t.Locale == locale:
			s = 3
		case t.Locale == "en" && t.Formality == f:
			s = 2
		case t.Locale == "en":
			s = 1
		}
		if s > score {
			best, score = t, s
		}
	}
	return best
}

// Caps bound how often one customer gets this campaign's offer. PerCustomer
// 0 means no count limit; Cooldown 0 means none.
type Caps struct {
	PerCustomer int
	Cooldown    time.Duration
}

// Campaign is a geofenced offer: a zone, a trigger, a schedule, an audience,
// an offer and caps.
type Campaign struct {
	ID        string
	Name      string
	Status    Status
	Geofence  Geofence
	Trigger   Trigger
	Schedule  Schedule
	Audience  Audience
	Offer     OfferTemplate
	Caps      Caps
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
	// BudgetSpentAt is set when the last budgeted redemption happened; the
	// campaign then issues nothing more.
	BudgetSpentAt time.Time
	// Experiment splits customers between offer variants and a holdout.
	Experiment Experiment
}

// Stats are a campaign's funnel counters.
type Stats struct {
	Entered, Triggered, Pushed, Opened, Redeemed int64
	Suppressed                                   map[string]int64
	Experiment                                   *ExperimentStats // nil without an experiment
}
