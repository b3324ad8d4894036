package campaign

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/geo"
)

// CampaignStatus is where a campaign is in its life: draft → active ⇄ paused
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
)

// Suppression reasons, as counted in CampaignStats.Suppressed.
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
	Kind         TriggerKind
	DwellSeconds int // for TriggerDwell
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
}

// CampaignStats are a campaign's funnel counters.
type Stats struct {
	Entered, Triggered, Pushed, Opened, Redeemed int64
	Suppressed                                   map[string]int64
}

// CampaignStore is what the campaign use cases need from the database.
type Store interface {
	// CreateCampaign stores a new campaign.
	CreateCampaign(ctx context.Context, c Campaign) error
	// FindCampaign returns NotFound when there is no such campaign.
	FindCampaign(ctx context.Context, id string) (Campaign, error)
	// FindCampaigns returns every campaign, newest first; with statuses, only those.
	FindCampaigns(ctx context.Context, statuses ...Status) ([]Campaign, error)
	// UpdateCampaign replaces the campaign; NotFound if it is gone.
	UpdateCampaign(ctx context.Context, c Campaign) error
	// FindCampaignStamps returns the id and UpdatedAt of the campaigns, of
	// any status, whose UpdatedAt is at or after since.
	FindCampaignStamps(ctx context.Context, since time.Time) (map[string]time.Time, error)
	// FindCampaignsByID returns the campaigns among ids that exist.
	FindCampaignsByID(ctx context.Context, ids []string) ([]Campaign, error)
	// CampaignsVersion returns the change marker, "" if none yet.
	CampaignsVersion(ctx context.Context) (string, error)
	// SetCampaignsVersion writes a new change marker.
	SetCampaignsVersion(ctx context.Context, v string) error
	// AddCampaignStats adds deltas to the counters of one instance's shard.
	AddCampaignStats(ctx context.Context, campaignID, instanceID string, deltas map[string]int64) error
	// CampaignStats sums the counters of every shard; missing counters are 0.
	CampaignStats(ctx context.Context, campaignID string) (map[string]int64, error)
	// FindLocationStatesIn returns the states last seen in one of cells at or after since.
	FindLocationStatesIn(ctx context.Context, cells []geo.Cell, since time.Time) ([]LocationState, error)
	// FindConsentingUsers returns those of ids whose location consent is on.
	FindConsentingUsers(ctx context.Context, ids []string) ([]string, error)
}

// Shops are known through ShopDirectory (fans.go): where a shop is, for
// shop-radius geofences, and who manages it, for redemption.

// CampaignOptions tunes the campaign use cases. Zero fields take defaults.
type Options struct {
	Now        func() time.Time
	Limits     geo.Limits    // geofence bounds; default 200 km², 50,000 cells
	Poll       time.Duration // how often the change marker is read; default 1s
	InstanceID string        // this process, for stats shards; default random
}

// CampaignService holds the marketers' use cases and the in-memory fence
// index every location report is matched against.
type Service struct {
	store Store
	shops hyperlieu.ShopDirectory
	opts  Options
	log   *slog.Logger
	snap  atomic.Pointer[campaignSnapshot]

	mu       sync.Mutex // serialises refreshes, and guards:
	builder  *geo.FenceIndexBuilder
	built    map[string]time.Time // campaign → UpdatedAt of the fence in builder
	seen     time.Time            // the latest UpdatedAt loaded
	known    map[string]time.Time // campaign → UpdatedAt loaded, any status
	fullLoad time.Time            // when every active campaign was last loaded
}

// Campaign changes are loaded incrementally by UpdatedAt, looking back
// changeSkew to allow for instances' clocks disagreeing; every fullReload
// all active campaigns are loaded again, whatever happened.
const (
	changeSkew = 5 * time.Minute
	fullReload = 10 * time.Minute
)

// campaignSnapshot is an immutable view of the active campaigns; it is
// swapped whole, so that readers never lock.
type campaignSnapshot struct {
	version   string
	index     *geo.FenceIndex
	campaigns map[string]Campaign
	cells     map[geo.Cell][]string // cover cells → campaigns, for "nearby"
}

// NewCampaignService returns the campaign use cases. shops may be nil: then
// shop-radius geofences are refused. Call Refresh (or Watch) before serving.
func NewService(store Store, shops hyperlieu.ShopDirectory, opts Options, log *slog.Logger) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Limits == (geo.Limits{}) {
		opts.Limits = geo.Limits{MaxAreaM2: 200e6, MaxCells: 50_000}
	}
	if opts.Poll == 0 {
		opts.Poll = time.Second
	}
	if opts.InstanceID == "" {
		opts.InstanceID = hyperlieu.NewID()
	}
	s := &Service{store: store, shops: shops, opts: opts, log: log,
		builder: geo.NewFenceIndexBuilder(geo.FenceResolution), built: map[string]time.Time{}, known: map[string]time.Time{}}
	s.snap.Store(&campaignSnapshot{campaigns: map[string]Campaign{}, cells: map[geo.Cell][]string{}})
	return s
}

// CampaignInput is a campaign as a marketer writes it. In a patch, nil
// fields stay as they are.
type Input struct {
	Name     *string
	Geofence *Geofence
	Trigger  *Trigger
	Schedule *Schedule
	Audience *Audience
	Offer    *OfferTemplate
	Caps     *Caps
}

// CreateCampaign stores a new draft campaign. Name, geofence and offer are
// required; the trigger defaults to enter, caps to one offer per customer.
// It returns Invalid naming every bad field.
func (s *Service) CreateCampaign(ctx context.Context, a hyperlieu.Actor, in Input) (Campaign, error) {
	now := s.opts.Now().UTC()
	c := Campaign{
		ID: hyperlieu.NewID(), Status: Draft, CreatedBy: a.UserID, CreatedAt: now, UpdatedAt: now,
		Trigger:  Trigger{Kind: TriggerEnter},
		Schedule: Schedule{Timezone: "Europe/Paris"},
		Caps:     Caps{PerCustomer: 1},
	}
	var p hyperlieu.Problems
	if in.Name == nil {
		p.Add("name", "is required")
	}
	if in.Geofence == nil {
		p.Add("geofence", "is required")
	}
	if in.Offer == nil {
		p.Add("offer", "is required")
	}
	if err := p.Err(); err != nil {
		return Campaign{}, err
	}
	if err := s.apply(ctx, &c, in); err != nil {
		return Campaign{}, err
	}
	if err := s.store.CreateCampaign(ctx, c); err != nil {
		return Campaign{}, fmt.Errorf("create campaign: %w", err)
	}
	return c, nil
}

// apply validates in and applies it to c, reporting every bad field.
func (s *Service) apply(ctx context.Context, c *Campaign, in Input) error {
	var p hyperlieu.Problems
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if n := utf8.RuneCountInString(name); n == 0 || n > 120 {
			p.Add("name", "must be 1 to 120 characters")
		}
		c.Name = name
	}
	if in.Geofence != nil {
		g, err := s.resolveGeofence(ctx, *in.Geofence)
		if err != nil {
			return err
		}
		if ferr := g.Fence.Validate(s.opts.Limits); ferr != nil {
			field, reason := "geofence", ferr.Error()
			if fe, ok := ferr.(*geo.FenceError); ok {
				field, reason = geofenceField(g.Type, fe.Field), fe.Reason
			}
			p.Add(field, "%s", reason)
		}
		c.Geofence = g
	}
	if in.Trigger != nil {
		t := *in.Trigger
		switch t.Kind {
		case TriggerEnter:
			t.DwellSeconds = 0
		case TriggerDwell:
			if t.DwellSeconds < 10 || t.DwellSeconds > 86400 {
				p.Add("trigger.dwellSeconds", "must be between 10 and 86400 for a dwell trigger")
			}
		default:
			p.Add("trigger.kind", "must be enter or dwell")
		}
		c.Trigger = t
	}
	if in.Schedule != nil {
		sc := *in.Schedule
		if sc.Timezone == "" {
			sc.Timezone = "Europe/Paris"
		}
		hyperlieu.ValidateTimezone(&p, "schedule.timezone", sc.Timezone)
		if !sc.StartsAt.IsZero() && !sc.EndsAt.IsZero() && !sc.EndsAt.After(sc.StartsAt) {
			p.Add("schedule.endsAt", "must be after startsAt")
		}
		for i, d := range sc.Days {
			if d < time.Sunday || d > time.Saturday {
				p.Add(fmt.Sprintf("schedule.days[%d]", i), "must be one of mon, tue, wed, thu, fri, sat, sun")
			}
		}
		if sc.Hours != nil {
			if _, err := hyperlieu.ParseClock(sc.Hours.From); err != nil {
				p.Add("schedule.hours.from", "%v", err)
			}
			if _, err := hyperlieu.ParseClock(sc.Hours.To); err != nil {
				p.Add("schedule.hours.to", "%v", err)
			}
			if sc.Hours.From == sc.Hours.To {
				p.Add("schedule.hours", "from and to must differ; leave hours out for all day")
			}
		}
		c.Schedule = sc
	}
	if in.Audience != nil {
		au := *in.Audience
		for i, sg := range au.Segments {
			if !slices.Contains(hyperlieu.Segments, sg) {
				p.Add(fmt.Sprintf("audience.segments[%d]", i), "must be one of %s", segmentList())
			}
		}
		c.Audience = au
	}
	if in.Offer != nil {
		o := *in.Offer
		if len(o.Texts) == 0 {
			p.Add("offer.texts", "needs at least one text")
		}
		for i, t := range o.Texts {
			f := fmt.Sprintf("offer.texts[%d]", i)
			hyperlieu.ValidateLocale(&p, f+".locale", t.Locale)
			if t.Formality != hyperlieu.Formal && t.Formality != hyperlieu.Familiar {
				p.Add(f+".formality", "must be formal or familiar")
			}
			if n := utf8.RuneCountInString(strings.TrimSpace(t.Title)); n == 0 || n > 80 {
				p.Add(f+".title", "must be 1 to 80 characters")
			}
			if utf8.RuneCountInString(t.Body) > 500 {
				p.Add(f+".body", "must be at most 500 characters")
			}
		}
		if utf8.RuneCountInString(o.Value) > 60 {
			p.Add("offer.value", "must be at most 60 characters")
		}
		if o.Validity < time.Hour || o.Validity > 365*24*time.Hour {
			p.Add("offer.validityHours", "must be between 1 and 8760")
		}
		if o.Budget < 0 || o.Budget > 10_000_000 {
			p.Add("offer.budget", "must be between 0 (unlimited) and 10000000")
		}
		c.Offer = o
	}
	if in.Caps != nil {
		cp := *in.Caps
		if cp.PerCustomer < 0 || cp.PerCustomer > 1000 {
			p.Add("caps.perCustomer", "must be between 0 (no limit) and 1000")
		}
		if cp.Cooldown < 0 || cp.Cooldown > 365*24*time.Hour {
			p.Add("caps.cooldownSeconds", "must be between 0 and 31536000")
		}
		c.Caps = cp
	}
	return p.Err()
}

// geofenceField names a fence problem in the request's own terms.
func geofenceField(typ, field string) string {
	switch typ {
	case "Polygon":
		return strings.Replace(field, "geofence.polygons[0]", "geofence.coordinates", 1)
	case "MultiPolygon":
		return strings.Replace(field, "geofence.polygons", "geofence.coordinates", 1)
	case "shops":
		if strings.HasPrefix(field, "geofence.circles") {
			return "geofence.shops.radiusM"
		}
	}
	return field
}

func segmentList() string {
	s := make([]string, len(hyperlieu.Segments))
	for i, sg := range hyperlieu.Segments {
		s[i] = string(sg)
	}
	return strings.Join(s, ", ")
}

// resolveGeofence turns the marketer's zone into a fence: shops become
// circles around their places.
func (s *Service) resolveGeofence(ctx context.Context, g Geofence) (Geofence, error) {
	var p hyperlieu.Problems
	switch g.Type {
	case "Polygon", "MultiPolygon":
		g.Circles, g.ShopIDs, g.ShopRadiusM = nil, nil, 0
		g.Fence = geo.Fence{Polygons: g.Polygons}
	case "circles":
		g.Polygons, g.ShopIDs, g.ShopRadiusM = nil, nil, 0
		g.Fence = geo.Fence{Circles: g.Circles}
	case "shops":
		g.Polygons, g.Circles = nil, nil
		if s.shops == nil {
			p.Add("geofence.shops", "shops are not available on this server")
			return g, p.Err()
		}
		if len(g.ShopIDs) == 0 || len(g.ShopIDs) > 500 {
			p.Add("geofence.shops.shopIds", "must list 1 to 500 shops")
		}
		if !(g.ShopRadiusM >= 10 && g.ShopRadiusM <= 50_000) {
			p.Add("geofence.shops.radiusM", "must be between 10 and 50000 metres")
		}
		if err := p.Err(); err != nil {
			return g, err
		}
		g.Fence = geo.Fence{}
		for i, id := range g.ShopIDs {
			pt, _, err := s.shops.ShopPlace(ctx, id)
			if err != nil {
				if hyperlieu.KindOf(err) == hyperlieu.NotFound {
					p.Add(fmt.Sprintf("geofence.shops.shopIds[%d]", i), "no shop %q", id)
					continue
				}
				return g, fmt.Errorf("shop %s: %w", id, err)
			}
			g.Fence.Circles = append(g.Fence.Circles, geo.Circle{Center: pt, RadiusM: g.ShopRadiusM})
		}
	default:
		p.Add("geofence", "must be a GeoJSON Polygon or MultiPolygon, {circles: [...]} or {shops: {shopIds, radiusM}}")
	}
	return g, p.Err()
}

// Campaign returns one campaign. NotFound if there is none.
func (s *Service) Campaign(ctx context.Context, id string) (Campaign, error) {
	c, err := s.store.FindCampaign(ctx, id)
	if err != nil {
		return Campaign{}, fmt.Errorf("campaign %s: %w", id, err)
	}
	return c, nil
}

// Campaigns lists every campaign, newest first; status filters when not "".
func (s *Service) Campaigns(ctx context.Context, status string) ([]Campaign, error) {
	var sts []Status
	if status != "" {
		st := Status(status)
		if !slices.Contains([]Status{Draft, Active, Paused, Ended}, st) {
			return nil, hyperlieu.InvalidField("status", "must be draft, active, paused or ended")
		}
		sts = append(sts, st)
	}
	cs, err := s.store.FindCampaigns(ctx, sts...)
	if err != nil {
		return nil, fmt.Errorf("campaigns: %w", err)
	}
	return cs, nil
}

// UpdateCampaign applies a patch. The geofence and the audience change only
// in draft or paused (Conflict otherwise); an ended campaign changes no more.
func (s *Service) UpdateCampaign(ctx context.Context, a hyperlieu.Actor, id string, in Input) (Campaign, error) {
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return Campaign{}, err
	}
	switch {
	case c.Status == Ended:
		return Campaign{}, hyperlieu.Errorf(hyperlieu.Conflict, "campaign %s has ended and can no longer change", id)
	case (in.Geofence != nil || in.Audience != nil) && c.Status == Active:
		return Campaign{}, hyperlieu.Errorf(hyperlieu.Conflict, "the geofence and the audience change only while the campaign is draft or paused; pause it first")
	}
	if err := s.apply(ctx, &c, in); err != nil {
		return Campaign{}, err
	}
	c.UpdatedAt = s.opts.Now().UTC()
	if err := s.store.UpdateCampaign(ctx, c); err != nil {
		return Campaign{}, fmt.Errorf("update campaign: %w", err)
	}
	return c, s.changed(ctx)
}

// Transition moves a campaign in its lifecycle: to is "activate", "pause" or
// "end". It returns Conflict when the move is not allowed from the status.
func (s *Service) Transition(ctx context.Context, a hyperlieu.Actor, id, to string) (Campaign, error) {
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return Campaign{}, err
	}
	from := map[string][]Status{
		"activate": {Draft, Paused},
		"pause":    {Active},
		"end":      {Draft, Active, Paused},
	}
	target := map[string]Status{"activate": Active, "pause": Paused, "end": Ended}[to]
	if !slices.Contains(from[to], c.Status) {
		return Campaign{}, hyperlieu.Errorf(hyperlieu.Conflict, "a %s campaign cannot %s", c.Status, to)
	}
	if to == "activate" && c.Geofence.Type == "shops" && s.shops != nil {
		// Shops may have moved since the draft was saved.
		g, err := s.resolveGeofence(ctx, c.Geofence)
		if err != nil {
			return Campaign{}, err
		}
		c.Geofence = g
	}
	c.Status = target
	c.UpdatedAt = s.opts.Now().UTC()
	if err := s.store.UpdateCampaign(ctx, c); err != nil {
		return Campaign{}, fmt.Errorf("%s campaign: %w", to, err)
	}
	return c, s.changed(ctx)
}

// changed tells every instance to reload the active campaigns, and reloads here.
func (s *Service) changed(ctx context.Context) error {
	if err := s.store.SetCampaignsVersion(ctx, hyperlieu.NewID()); err != nil {
		return fmt.Errorf("mark campaigns changed: %w", err)
	}
	if err := s.Refresh(ctx); err != nil {
		return fmt.Errorf("refresh fence index: %w", err)
	}
	return nil
}

// Refresh rebuilds the fence index from the active campaigns if the change
// marker moved since the last build.
func (s *Service) Refresh(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.store.CampaignsVersion(ctx)
	if err != nil {
		return err
	}
	if old := s.snap.Load(); old.index != nil && old.version == v {
		return nil
	}
	old := s.snap.Load()
	snap := &campaignSnapshot{version: v, campaigns: map[string]Campaign{}, cells: map[geo.Cell][]string{}}
	if old.index == nil || time.Since(s.fullLoad) > fullReload {
		cs, err := s.store.FindCampaigns(ctx, Active)
		if err != nil {
			return err
		}
		clear(s.known)
		for _, c := range cs {
			snap.campaigns[c.ID] = c
			s.known[c.ID] = c.UpdatedAt
			s.seen = hyperlieu.Later(s.seen, c.UpdatedAt)
		}
		s.fullLoad = time.Now()
	} else {
		// Read the stamps of recent changes (small), then load only the
		// campaigns not yet seen at that stamp.
		stamps, err := s.store.FindCampaignStamps(ctx, s.seen.Add(-changeSkew))
		if err != nil {
			return err
		}
		var ids []string
		for id, at := range stamps {
			if k, ok := s.known[id]; !ok || !k.Equal(at) {
				ids = append(ids, id)
			}
		}
		maps.Copy(snap.campaigns, old.campaigns)
		if len(ids) > 0 {
			cs, err := s.store.FindCampaignsByID(ctx, ids)
			if err != nil {
				return err
			}
			for _, c := range cs {
				if c.Status == Active {
					snap.campaigns[c.ID] = c
				} else {
					delete(snap.campaigns, c.ID)
				}
				s.known[c.ID] = c.UpdatedAt
				s.seen = hyperlieu.Later(s.seen, c.UpdatedAt)
			}
		}
	}
	// Only new or changed fences are covered again: with thousands of
	// campaigns, one change must not cost thousands of covers.
	for id := range s.built {
		if c, ok := snap.campaigns[id]; !ok || !c.UpdatedAt.Equal(s.built[id]) {
			s.builder.Remove(id)
			delete(s.built, id)
		}
	}
	for id, c := range snap.campaigns {
		if _, ok := s.built[id]; ok {
			continue
		}
		if err := s.builder.Add(id, c.Geofence.Fence); err != nil {
			s.log.ErrorContext(ctx, "campaign geofence cannot be indexed; skipped", "campaign", id, "err", err)
			delete(snap.campaigns, id)
			continue
		}
		s.built[id] = c.UpdatedAt
	}
	for id := range snap.campaigns {
		cover, _ := s.builder.CoverOf(id)
		for _, cc := range cover {
			snap.cells[cc.Cell] = append(snap.cells[cc.Cell], id)
		}
	}
	snap.index = s.builder.Build()
	s.snap.Store(snap)
	return nil
}

// Watch refreshes the index every Poll until ctx is done, so that a change
// made through any instance is live on this one within a few seconds.
func (s *Service) Watch(ctx context.Context) {
	hyperlieu.Every(ctx, s.opts.Poll, false, s.log, "refresh campaigns", s.Refresh)
}

// active returns the current snapshot.
func (s *Service) active() *campaignSnapshot { return s.snap.Load() }

// CoverCell is one cell of a campaign's geofence cover, for a map preview.
type Cell struct {
	Cell     geo.Cell
	Boundary []geo.Point
	Inside   bool
	AreaM2   float64
}

// Cells returns the cells that cover a campaign's geofence.
func (s *Service) Cells(ctx context.Context, id string) ([]Cell, error) {
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return nil, err
	}
	cover, err := c.Geofence.Fence.Cover(geo.FenceResolution)
	if err != nil {
		return nil, fmt.Errorf("cover campaign %s: %w", id, err)
	}
	out := make([]Cell, 0, len(cover))
	for _, cc := range cover {
		b, err := geo.CellBoundary(cc.Cell)
		if err != nil {
			return nil, err
		}
		out = append(out, Cell{Cell: cc.Cell, Boundary: b, Inside: cc.Inside, AreaM2: geo.CellAreaM2(cc.Cell)})
	}
	return out, nil
}

// Reach counts the distinct consenting customers last seen inside the
// campaign's geofence in the past days (1 to 90).
func (s *Service) Reach(ctx context.Context, id string, days int) (int, error) {
	if days < 1 || days > 90 {
		return 0, hyperlieu.InvalidField("days", "must be between 1 and 90")
	}
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return 0, err
	}
	cover, err := c.Geofence.Fence.Cover(geo.Resolution)
	if err != nil {
		return 0, fmt.Errorf("cover campaign %s: %w", id, err)
	}
	cells := make([]geo.Cell, len(cover))
	for i, cc := range cover {
		cells[i] = cc.Cell
	}
	ids, err := s.customersIn(ctx, cells, s.opts.Now().Add(-time.Duration(days)*24*time.Hour), c.Geofence.Fence.Contains)
	return len(ids), err
}

// customersIn returns the consenting customers last seen in cells since,
// at a point in.
func (s *Service) customersIn(ctx context.Context, cells []geo.Cell, since time.Time, in func(geo.Point) bool) ([]string, error) {
	states, err := s.store.FindLocationStatesIn(ctx, cells, since)
	if err != nil {
		return nil, fmt.Errorf("customers in cells: %w", err)
	}
	var ids []string
	for _, st := range states {
		if in(st.Point) {
			ids = append(ids, st.UserID)
		}
	}
	if len(ids) == 0 {
		return []string{}, nil
	}
	return s.store.FindConsentingUsers(ctx, ids)
}

// CustomersNear returns the consenting customers last seen within radiusM of
// p since a time. It implements the events area's NearbyAudience.
func (s *Service) CustomersNear(ctx context.Context, p geo.Point, radiusM float64, since time.Time) ([]string, error) {
	if err := p.Valid(); err != nil {
		return nil, hyperlieu.Errorf(hyperlieu.Invalid, "%v", err)
	}
	c, err := geo.CellOf(p)
	if err != nil {
		return nil, err
	}
	cells, err := geo.Disk(c, diskK(radiusM))
	if err != nil {
		return nil, err
	}
	return s.customersIn(ctx, cells, since, func(q geo.Point) bool { return geo.Distance(p, q) <= radiusM })
}

// diskK is how many rings of resolution-9 cells hold a radius (cells are
// at least ~150 m apart centre to edge).
func diskK(radiusM float64) int {
	return min(int(math.Ceil(radiusM/150))+1, geo.MaxDiskK)
}

// Stats returns a campaign's counters.
func (s *Service) Stats(ctx context.Context, id string) (Stats, error) {
	if _, err := s.Campaign(ctx, id); err != nil {
		return Stats{}, err
	}
	m, err := s.store.CampaignStats(ctx, id)
	if err != nil {
		return Stats{}, fmt.Errorf("campaign stats: %w", err)
	}
	st := Stats{
		Entered: m["entered"], Triggered: m["triggered"], Pushed: m["pushed"], Opened: m["opened"], Redeemed: m["redeemed"],
		Suppressed: map[string]int64{},
	}
	for _, r := range []string{ReasonSchedule, ReasonAudience, ReasonNewcomer, ReasonCap, ReasonCooldown, ReasonDailyCap, ReasonQuietHours, ReasonBudget} {
		st.Suppressed[r] = m["suppressed."+r]
	}
	return st, nil
}

// count adds to this instance's shard of a campaign's counters. A failure is
// logged, not returned: counters must not undo what happened.
func (s *Service) count(ctx context.Context, campaignID string, names ...string) {
	d := make(map[string]int64, len(names))
	for _, n := range names {
		d[n]++
	}
	if err := s.store.AddCampaignStats(ctx, campaignID, s.opts.InstanceID, d); err != nil {
		s.log.WarnContext(ctx, "campaign stats", "campaign", campaignID, "err", err)
	}
}

// NotificationOpened counts an opened push for the campaign named in the
// notification's data (key "campaignId"); others are ignored. Hook it to
// the notification service's "opened" event.
func (s *Service) NotificationOpened(ctx context.Context, data map[string]string) {
	if id := data["campaignId"]; id != "" {
		s.count(ctx, id, "opened")
	}
}
