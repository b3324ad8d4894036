package campaign

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/geo"
)

// LocationReport is one position a customer's phone reported.
type LocationReport struct {
	Point      geo.Point
	AccuracyM  float64 // 0: unknown
	RecordedAt time.Time
}

// LocationState is what is kept about a customer's whereabouts: the last
// position (not a trail) and, per active campaign, when they entered its
// geofence. Any instance can take the customer's next report from it.
type LocationState struct {
	UserID    string
	Cell      geo.Cell
	Point     geo.Point
	At        time.Time
	AccuracyM float64
	// Inside maps each campaign whose geofence the customer is in to the
	// time they entered it.
	Inside map[string]time.Time
	// Dwelled maps a campaign to the entry time of the stay whose dwell was
	// already judged, so that one stay fires (or is suppressed) once.
	Dwelled map[string]time.Time
	// Issued counts this campaign's offers to the customer; a hint for the
	// next trigger slot, which the unique trigger keys make exact.
	Issued map[string]int
}

// TriggerClaim records that a campaign fired for a customer. Its Key is
// "trigger:<campaign>:<user>:<n>", n counting from 1: inserting it is what
// makes a trigger happen once, whichever instance sees the report.
type TriggerClaim struct {
	Key        string
	CampaignID string
	UserID     string
	N          int
	At         time.Time
}

// TriggerKey is the unique key of the n-th trigger of campaign for user.
func TriggerKey(campaignID, userID string, n int) string {
	return "trigger:" + campaignID + ":" + userID + ":" + strconv.Itoa(n)
}

// LocationStore is what the location engine needs from the database.
type LocationStore interface {
	FindUser(ctx context.Context, id string) (hyperlieu.User, error)
	// FindLocationState returns NotFound when the customer has no state yet.
	FindLocationState(ctx context.Context, userID string) (LocationState, error)
	SaveLocationState(ctx context.Context, st LocationState) error
	// ClaimTrigger returns Conflict when the key is taken.
	ClaimTrigger(ctx context.Context, t TriggerClaim) error
	// FindTrigger returns NotFound when the key is free.
	FindTrigger(ctx context.Context, key string) (TriggerClaim, error)
	// EraseLocationData deletes a customer's location state, offers and
	// trigger claims, and strips their identity from redemptions.
	EraseLocationData(ctx context.Context, userID string) error
}

// LocationOptions tunes the location engine. Zero fields take defaults.
type LocationOptions struct {
	Now            func() time.Time
	MaxAccuracyM   float64       // reports less precise are stored but trigger nothing; default 150
	MaxSpeedKmh    float64       // faster jumps are implausible; default 300
	NewcomerPeriod time.Duration // accounts younger are newcomers; 0: nobody is
	UserCacheTTL   time.Duration // how long a consenting user is cached; default 5s
	NearbyRadiusM  float64       // radius of "nearby" offers in a report's answer; default 1000
}

// LocationService turns location reports into offers: it matches each
// report against the fence index, keeps the customer's state, and fires the
// campaigns whose rules allow it.
type LocationService struct {
	store     LocationStore
	campaigns *Service
	offers    *OfferService
	notifier  hyperlieu.Notifier
	segments  hyperlieu.Segmenter
	opts      LocationOptions
	log       *slog.Logger
	users     userCache
}

// NewLocationService returns the location engine. notifier and segments may
// be nil: then nothing is pushed (offers still land in the wallet), no daily
// cap applies, and only campaigns for everyone fire.
func NewLocationService(store LocationStore, campaigns *Service, offers *OfferService, notifier hyperlieu.Notifier, segments hyperlieu.Segmenter, opts LocationOptions, log *slog.Logger) *LocationService {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxAccuracyM == 0 {
		opts.MaxAccuracyM = 150
	}
	if opts.MaxSpeedKmh == 0 {
		opts.MaxSpeedKmh = 300
	}
	if opts.UserCacheTTL == 0 {
		opts.UserCacheTTL = 5 * time.Second
	}
	if opts.NearbyRadiusM == 0 {
		opts.NearbyRadiusM = 1000
	}
	return &LocationService{
		store: store, campaigns: campaigns, offers: offers, notifier: notifier, segments: segments,
		opts: opts, log: log, users: userCache{m: map[string]cachedUser{}},
	}
}

// Report reasons for reports that were refused or ignored.
const (
	ReportInvalid     = "invalid"     // refused: a value is out of range
	ReportStale       = "stale"       // refused: older than the last report kept
	ReportInaccurate  = "inaccurate"  // kept, triggers nothing
	ReportImplausible = "implausible" // not kept: implies an impossible speed
)

// ReportProblem says why one report of a batch was refused or ignored.
type ReportProblem struct {
	Index  int // in the request
	Field  string
	Reason string // one of the Report… constants
	Detail string
}

// ReportResult is what a location request did.
type ReportResult struct {
	Cell      geo.Cell // of the last report kept; 0 if none
	Accepted  int
	Rejected  []ReportProblem // refused reports
	Ignored   []ReportProblem // kept or seen, but triggering nothing
	Triggered []Offer         // offers issued now
	Nearby    []hyperlieu.NearbyOffer
}

// MaxReportsPerRequest bounds a batch.
const MaxReportsPerRequest = 100

// Report processes a customer's location reports, in time order. It returns
// Forbidden when the customer has not consented to location, Invalid when
// the batch is empty or too long, and, when batch is false, Invalid naming
// the field of a bad single report. In a batch, bad reports are listed in
// Rejected and the good ones still processed. A report that triggers
// nothing costs one read and one write (the user is cached briefly).
func (l *LocationService) Report(ctx context.Context, userID string, reports []LocationReport, batch bool) (ReportResult, error) {
	if len(reports) == 0 || len(reports) > MaxReportsPerRequest {
		return ReportResult{}, hyperlieu.InvalidField("points", fmt.Sprintf("must hold 1 to %d reports", MaxReportsPerRequest))
	}
	u, err := l.user(ctx, userID)
	if err != nil {
		return ReportResult{}, fmt.Errorf("location report: %w", err)
	}
	if !u.Prefs.LocationConsent {
		return ReportResult{}, hyperlieu.Errorf(hyperlieu.Forbidden, `location sharing is off for this account: to share it, set "locationConsent": true with PATCH /v1/me`)
	}
	st, err := l.store.FindLocationState(ctx, userID)
	if err != nil && hyperlieu.KindOf(err) != hyperlieu.NotFound {
		return ReportResult{}, fmt.Errorf("location state: %w", err)
	}
	st.UserID = userID
	now := l.opts.Now()
	order := make([]int, len(reports))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return reports[order[a]].RecordedAt.Before(reports[order[b]].RecordedAt) })

	var res ReportResult
	snap := l.campaigns.active()
	for _, i := range order {
		r := reports[i]
		if r.RecordedAt.IsZero() {
			r.RecordedAt = now
		}
		if field, detail := validateReport(r, now); field != "" {
			if !batch {
				return ReportResult{}, hyperlieu.InvalidField(field, detail)
			}
			res.Rejected = append(res.Rejected, ReportProblem{Index: i, Field: field, Reason: ReportInvalid, Detail: detail})
			continue
		}
		if !st.At.IsZero() && r.RecordedAt.Before(st.At) {
			res.Rejected = append(res.Rejected, ReportProblem{Index: i, Field: "recordedAt", Reason: ReportStale,
				Detail: "is older than the last report received (" + st.At.UTC().Format(time.RFC3339) + ")"})
			continue
		}
		if !st.At.IsZero() && implausible(st.Point, st.At, r, l.opts.MaxSpeedKmh) {
			res.Ignored = append(res.Ignored, ReportProblem{Index: i, Reason: ReportImplausible,
				Detail: fmt.Sprintf("implies moving faster than %g km/h since the last report", l.opts.MaxSpeedKmh)})
			continue
		}
		cell, err := geo.CellOf(r.Point)
		if err != nil {
			return ReportResult{}, err
		}
		st.Cell, st.Point, st.At, st.AccuracyM = cell, r.Point, r.RecordedAt.UTC(), r.AccuracyM
		res.Cell = cell
		res.Accepted++
		if r.AccuracyM > l.opts.MaxAccuracyM {
			res.Ignored = append(res.Ignored, ReportProblem{Index: i, Field: "accuracyM", Reason: ReportInaccurate,
				Detail: fmt.Sprintf("is over %g m: the report is kept but triggers nothing", l.opts.MaxAccuracyM)})
			continue
		}
		offers, err := l.match(ctx, snap, u, &st, r)
		if err != nil {
			return ReportResult{}, err
		}
		res.Triggered = append(res.Triggered, offers...)
	}
	if res.Accepted > 0 {
		if err := l.store.SaveLocationState(ctx, st); err != nil {
			return ReportResult{}, fmt.Errorf("save location state: %w", err)
		}
		res.Nearby = l.nearby(snap, u, st.Point, l.opts.NearbyRadiusM)
	}
	if res.Triggered == nil {
		res.Triggered = []Offer{}
	}
	return res, nil
}

// validateReport returns the bad field and why, or "" when r is usable.
func validateReport(r LocationReport, now time.Time) (field, detail string) {
	p := r.Point
	switch {
	case math.IsNaN(p.Lat) || math.IsInf(p.Lat, 0) || p.Lat < -90 || p.Lat > 90:
		return "lat", "must be a number between -90 and 90"
	case math.IsNaN(p.Lng) || math.IsInf(p.Lng, 0) || p.Lng < -180 || p.Lng > 180:
		return "lng", "must be a number between -180 and 180"
	case math.IsNaN(r.AccuracyM) || r.AccuracyM < 0 || r.AccuracyM > 1e6:
		return "accuracyM", "must be a number of metres between 0 and 1000000"
	case r.RecordedAt.After(now.Add(2 * time.Minute)):
		return "recordedAt", "is more than 2 minutes in the future"
	case r.RecordedAt.Before(now.Add(-24 * time.Hour)):
		return "recordedAt", "is more than 24 hours old"
	}
	return "", ""
}

// implausible reports whether going from p at t to r implies a speed over
// maxKmh. Jumps under 200 m are never implausible: GPS jitters.
func implausible(p geo.Point, t time.Time, r LocationReport, maxKmh float64) bool {
	d := geo.Distance(p, r.Point)
	if d < 200 {
		return false
	}
	dt := r.RecordedAt.Sub(t).Seconds()
	if dt <= 0 {
		return true
	}
	return d/dt*3.6 > maxKmh
}

// match updates the customer's fence memberships for report r and fires
// the campaigns whose trigger it meets.
func (l *LocationService) match(ctx context.Context, snap *campaignSnapshot, u hyperlieu.User, st *LocationState, r LocationReport) ([]Offer, error) {
	var ids []string
	if snap.index != nil {
		ids = snap.index.Lookup(r.Point)
	}
	for id := range st.Inside {
		if !slices.Contains(ids, id) {
			delete(st.Inside, id)
			delete(st.Dwelled, id)
		}
	}
	for id := range st.Dwelled {
		if _, ok := st.Inside[id]; !ok {
			delete(st.Dwelled, id)
		}
	}
	at := r.RecordedAt.UTC()
	var offers []Offer
	for _, id := range ids {
		c, ok := snap.campaigns[id]
		if !ok {
			continue
		}
		entered, was := st.Inside[id]
		if !was {
			if st.Inside == nil {
				st.Inside = map[string]time.Time{}
			}
			st.Inside[id], entered = at, at
			l.campaigns.count(ctx, id, "entered")
		}
		switch c.Trigger.Kind {
		case TriggerEnter:
			if was {
				continue
			}
		case TriggerDwell:
			if at.Sub(entered) < time.Duration(c.Trigger.DwellSeconds)*time.Second {
				continue
			}
			if d, ok := st.Dwelled[id]; ok && d.Equal(entered) {
				continue
			}
			if st.Dwelled == nil {
				st.Dwelled = map[string]time.Time{}
			}
			st.Dwelled[id] = entered
		}
		o, err := l.fire(ctx, c, u, st, at)
		if err != nil {
			return nil, err
		}
		if o != nil {
			offers = append(offers, *o)
		}
	}
	return offers, nil
}

// fire applies a campaign's rules for a customer who met its trigger at at,
// and issues the offer if they allow it. It returns nil and no error when
// the offer is suppressed (the reason is counted in the campaign's stats).
func (l *LocationService) fire(ctx context.Context, c Campaign, u hyperlieu.User, st *LocationState, at time.Time) (*Offer, error) {
	suppress := func(reason string) (*Offer, error) {
		l.campaigns.count(ctx, c.ID, "suppressed."+reason)
		return nil, nil
	}
	if !c.Schedule.Allows(at) {
		return suppress(ReasonSchedule)
	}
	welcome := slices.Contains(c.Audience.Segments, hyperlieu.SegmentNewcomer)
	if l.opts.NewcomerPeriod > 0 && at.Sub(u.CreatedAt) < l.opts.NewcomerPeriod && !c.Audience.Newcomers && !welcome {
		return suppress(ReasonNewcomer)
	}
	if len(c.Audience.Segments) > 0 {
		if l.segments == nil {
			return suppress(ReasonAudience)
		}
		sg, err := l.segments.SegmentOf(ctx, u, at)
		if err != nil {
			return nil, fmt.Errorf("segment of %s: %w", u.ID, err)
		}
		if !slices.Contains(c.Audience.Segments, sg) {
			return suppress(ReasonAudience)
		}
	}
	if !c.BudgetSpentAt.IsZero() {
		return suppress(ReasonBudget)
	}
	n, reason, err := l.nextSlot(ctx, c, u.ID, st.Issued[c.ID]+1, at)
	if err != nil {
		return nil, err
	}
	if reason != "" {
		return suppress(reason)
	}
	// The daily cap is claimed before the campaign's slot: losing a race for
	// the slot then wastes one of the day's contacts, never the campaign's cap.
	if l.notifier != nil {
		ok, err := l.notifier.ReserveContact(ctx, u, at)
		if err != nil {
			return nil, fmt.Errorf("reserve contact: %w", err)
		}
		if !ok {
			return suppress(ReasonDailyCap)
		}
	}
	for tries := 0; ; tries++ {
		err := l.store.ClaimTrigger(ctx, TriggerClaim{Key: TriggerKey(c.ID, u.ID, n), CampaignID: c.ID, UserID: u.ID, N: n, At: at})
		if err == nil {
			break
		}
		if hyperlieu.KindOf(err) != hyperlieu.Conflict || tries > 100 {
			return nil, fmt.Errorf("claim trigger: %w", err)
		}
		// Another instance fired meanwhile: judge again against its claim.
		if n, reason, err = l.nextSlot(ctx, c, u.ID, n+1, at); err != nil {
			return nil, err
		} else if reason != "" {
			return suppress(reason)
		}
	}
	if st.Issued == nil {
		st.Issued = map[string]int{}
	}
	st.Issued[c.ID] = n
	o, err := l.offers.issue(ctx, c, u, TriggerKey(c.ID, u.ID, n))
	if err != nil {
		return nil, err
	}
	counters := []string{"triggered"}
	quiet := inQuietHours(u.Prefs, at)
	if quiet {
		// The offer is in the wallet; the notification service holds the push
		// until the quiet hours end, or drops it if the offer expires first.
		counters = append(counters, "suppressed."+ReasonQuietHours)
	}
	if l.notifier != nil {
		txt := c.Offer.Text(u.Prefs.Locale, u.Prefs.Formality)
		err := l.notifier.Notify(ctx, hyperlieu.NotificationRequest{
			UserID: u.ID, Kind: hyperlieu.KindOffer, Category: hyperlieu.CategoryOffers,
			Vars:        map[string]string{"offer": txt.Title, "message": txt.Body, "code": o.Code, "value": c.Offer.Value},
			Data:        map[string]string{"offerId": o.ID, "campaignId": c.ID},
			CollapseKey: "campaign:" + c.ID, ExpiresAt: o.ExpiresAt, DedupKey: o.TriggerKey,
		})
		switch {
		case err != nil:
			// The offer is in the wallet; the app shows it even without a push.
			l.log.ErrorContext(ctx, "offer notification", "campaign", c.ID, "user", u.ID, "err", err)
		case !quiet:
			counters = append(counters, "pushed")
		}
	}
	l.campaigns.count(ctx, c.ID, counters...)
	return &o, nil
}

// nextSlot finds the first trigger slot from n that the campaign's caps
// allow at at: it returns a reason instead when the count is reached or the
// previous trigger is too recent.
func (l *LocationService) nextSlot(ctx context.Context, c Campaign, userID string, n int, at time.Time) (int, string, error) {
	for {
		if c.Caps.PerCustomer > 0 && n > c.Caps.PerCustomer {
			return 0, ReasonCap, nil
		}
		if n > 1 {
			prev, err := l.store.FindTrigger(ctx, TriggerKey(c.ID, userID, n-1))
			switch {
			case hyperlieu.KindOf(err) == hyperlieu.NotFound:
				n-- // the hint ran ahead of the claims: step back
				continue
			case err != nil && hyperlieu.KindOf(err) != hyperlieu.NotFound:
				return 0, "", fmt.Errorf("find trigger: %w", err)
			case err == nil && c.Caps.Cooldown > 0 && at.Before(prev.At.Add(c.Caps.Cooldown)):
				return 0, ReasonCooldown, nil
			}
		}
		return n, "", nil
	}
}

// inQuietHours reports whether t falls in the customer's quiet hours.
func inQuietHours(p hyperlieu.Preferences, t time.Time) bool {
	if p.QuietHours == nil {
		return false
	}
	return p.QuietHours.Contains(t, p.Location())
}

// OffersNear returns the active campaigns' offers within about radiusM of p
// (to the nearest cell of their geofence), nearest first, worded for the
// customer. It implements the events area's OfferSource.
func (l *LocationService) OffersNear(ctx context.Context, userID string, p geo.Point, radiusM float64) ([]hyperlieu.NearbyOffer, error) {
	if err := p.Valid(); err != nil {
		return nil, hyperlieu.Errorf(hyperlieu.Invalid, "%v", err)
	}
	u, err := l.user(ctx, userID)
	if err != nil {
		return nil, err
	}
	return l.nearby(l.campaigns.active(), u, p, radiusM), nil
}

func (l *LocationService) nearby(snap *campaignSnapshot, u hyperlieu.User, p geo.Point, radiusM float64) []hyperlieu.NearbyOffer {
	out := []hyperlieu.NearbyOffer{}
	c0, err := geo.CellOf(p)
	if err != nil {
		return out
	}
	disk, err := geo.Disk(c0, diskK(radiusM))
	if err != nil {
		return out
	}
	// The disk of cells finds candidates; the distance is then measured
	// to the fence itself.
	seen := map[string]bool{}
	for _, cell := range disk {
		for _, id := range snap.cells[cell] {
			if seen[id] {
				continue
			}
			seen[id] = true
			c := snap.campaigns[id]
			d, at := fenceDistance(c.Geofence.Fence, p)
			if d > radiusM {
				continue
			}
			t := c.Offer.Text(u.Prefs.Locale, u.Prefs.Formality)
			// Location is where the offer starts to apply: the nearest point of its zone.
			n := hyperlieu.NearbyOffer{ID: id, CampaignID: id, Title: t.Title, Location: at, DistanceM: math.Round(d)}
			if len(c.Geofence.ShopIDs) == 1 {
				n.ShopID = c.Geofence.ShopIDs[0]
			}
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].DistanceM != out[j].DistanceM {
			return out[i].DistanceM < out[j].DistanceM
		}
		return out[i].CampaignID < out[j].CampaignID
	})
	return out
}

// fenceDistance returns the distance in metres from p to the nearest point
// of f, and that point: p itself inside; exact for circles; for polygons, to
// the nearest edge in a local flat projection (within a metre at the
// distances "nearby" uses).
func fenceDistance(f geo.Fence, p geo.Point) (float64, geo.Point) {
	if f.Contains(p) {
		return 0, p
	}
	best, at := math.Inf(1), p
	for _, c := range f.Circles {
		d := geo.Distance(p, c.Center)
		if e := math.Max(0, d-c.RadiusM); e < best {
			// The nearest point of a circle lies on the way to its centre.
			t := c.RadiusM / d
			best, at = e, geo.Point{Lat: c.Center.Lat + (p.Lat-c.Center.Lat)*t, Lng: c.Center.Lng + (p.Lng-c.Center.Lng)*t}
		}
	}
	const mPerDeg = math.Pi * geo.EarthRadiusM / 180
	kx := mPerDeg * math.Cos(p.Lat*math.Pi/180)
	for _, poly := range f.Polygons {
		for _, r := range poly {
			for i := 0; i+1 < len(r); i++ {
				ax, ay := (r[i].Lng-p.Lng)*kx, (r[i].Lat-p.Lat)*mPerDeg
				bx, by := (r[i+1].Lng-p.Lng)*kx, (r[i+1].Lat-p.Lat)*mPerDeg
				dx, dy := bx-ax, by-ay
				t := 0.0
				if l := dx*dx + dy*dy; l > 0 {
					t = math.Max(0, math.Min(1, -(ax*dx+ay*dy)/l))
				}
				if d := math.Hypot(ax+t*dx, ay+t*dy); d < best {
					best, at = d, geo.Point{Lat: r[i].Lat + t*(r[i+1].Lat-r[i].Lat), Lng: r[i].Lng + t*(r[i+1].Lng-r[i].Lng)}
				}
			}
		}
	}
	return best, at
}

// user returns the account, cached for UserCacheTTL when it consents to
// location (so that a customer who just turned consent on is seen at once,
// and one who turned it off within the TTL).
func (l *LocationService) user(ctx context.Context, id string) (hyperlieu.User, error) {
	now := time.Now()
	if u, ok := l.users.get(id, now); ok {
		return u, nil
	}
	u, err := l.store.FindUser(ctx, id)
	if err != nil {
		return hyperlieu.User{}, err
	}
	if u.Prefs.LocationConsent {
		l.users.put(u, now.Add(l.opts.UserCacheTTL))
	}
	return u, nil
}

type cachedUser struct {
	u       hyperlieu.User
	expires time.Time
}

// userCache is a small per-instance cache of accounts.
type userCache struct {
	mu sync.Mutex
	m  map[string]cachedUser
}

func (c *userCache) get(id string, now time.Time) (hyperlieu.User, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || now.After(e.expires) {
		return hyperlieu.User{}, false
	}
	return e.u, true
}

func (c *userCache) put(u hyperlieu.User, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= 200_000 { // bound memory: start over
		c.m = map[string]cachedUser{}
	}
	c.m[u.ID] = cachedUser{u: u, expires: expires}
}

// ExportUser returns what the location engine keeps about a customer: the
// last position kept and the wallet. It implements PersonalData.
func (l *LocationService) ExportUser(ctx context.Context, userID string) (map[string]any, error) {
	out := map[string]any{}
	st, err := l.store.FindLocationState(ctx, userID)
	switch {
	case err == nil:
		out["lastLocation"] = map[string]any{
			"lat": st.Point.Lat, "lng": st.Point.Lng, "cell": st.Cell.String(), "accuracyM": st.AccuracyM, "recordedAt": st.At,
		}
	case hyperlieu.KindOf(err) != hyperlieu.NotFound:
		return nil, fmt.Errorf("export location: %w", err)
	}
	offers, err := l.offers.Wallet(ctx, userID)
	if err != nil {
		return nil, err
	}
	list := make([]map[string]any, len(offers))
	for i, o := range offers {
		list[i] = map[string]any{"id": o.ID, "campaignId": o.CampaignID, "title": o.Title, "code": o.Code,
			"issuedAt": o.IssuedAt, "expiresAt": o.ExpiresAt, "redeemedAt": o.RedeemedAt, "shopId": o.ShopID}
	}
	out["offers"] = list
	return out, nil
}

// EraseUser deletes the customer's last position, offers and trigger
// claims; campaign counters and redemptions are kept without identity. It
// implements PersonalData; erasing twice is not an error.
func (l *LocationService) EraseUser(ctx context.Context, userID string) error {
	if err := l.store.EraseLocationData(ctx, userID); err != nil {
		return fmt.Errorf("erase location data: %w", err)
	}
	return nil
}
