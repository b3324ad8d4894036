package campaign

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/geo"
)

// Store is what the campaign use cases need from the database.
type Store interface {
	CampaignStore
	IndexStore
	StatsStore
	AudienceStore
	ExperimentStore
}

// CampaignStore keeps the campaigns the marketers edit.
type CampaignStore interface {
	// CreateCampaign stores a new campaign.
	CreateCampaign(ctx context.Context, c Campaign) error
	// FindCampaign returns NotFound when there is no such campaign.
	FindCampaign(ctx context.Context, id string) (Campaign, error)
	// FindCampaigns returns every campaign, newest first; with statuses, only those.
	FindCampaigns(ctx context.Context, statuses ...Status) ([]Campaign, error)
	// UpdateCampaign replaces the campaign; NotFound if it is gone.
	UpdateCampaign(ctx context.Context, c Campaign) error
	// UpdateCampaignsVersion writes a new change marker (an upsert: the
	// marker exists from the first change on).
	UpdateCampaignsVersion(ctx context.Context, v string) error
}

// IndexStore is what a refresh of the fence index reads.
type IndexStore interface {
	// FindCampaignsVersion returns the change marker, "" if none yet.
	FindCampaignsVersion(ctx context.Context) (string, error)
	FindCampaigns(ctx context.Context, statuses ...Status) ([]Campaign, error)
	// CampaignChangeTop returns the number of the last change to any
	// campaign (changes are numbered from 1 as they are stored).
	CampaignChangeTop(ctx context.Context) (int, error)
	// FindCampaignsChangedAfter returns the campaigns, of any status,
	// changed after change number after, and the last change's number.
	FindCampaignsChangedAfter(ctx context.Context, after int) ([]Campaign, int, error)
}

// StatsStore keeps the campaigns' funnel counters.
type StatsStore interface {
	// UpdateCampaignStats adds deltas to the counters of one instance's
	// shard (an upsert: a shard is created by its first count).
	UpdateCampaignStats(ctx context.Context, campaignID, instanceID string, deltas map[string]int64) error
	// FindCampaignStats sums the counters of every shard; missing counters are 0.
	FindCampaignStats(ctx context.Context, campaignID string) (map[string]int64, error)
}

// AudienceStore tells where consenting customers were last seen, for reach
// and for announcing events nearby.
type AudienceStore interface {
	// FindUsersPresentIn returns the customers whose stored position may
	// be in one of cells: a superset, each to check against their state.
	FindUsersPresentIn(ctx context.Context, cells []geo.Cell) ([]string, error)
	// FindLocationState returns NotFound when the customer has no state.
	FindLocationState(ctx context.Context, userID string) (LocationState, error)
	// MovePresence records where customers' stored positions moved (see
	// PresenceMove), for FindUsersPresentIn.
	MovePresence(ctx context.Context, moves []PresenceMove) error
	// FindConsentingUsers returns those of ids whose location consent is on.
	FindConsentingUsers(ctx context.Context, ids []string) ([]string, error)
}

// Options tunes the campaign use cases. Zero fields take defaults.
type Options struct {
	Now        func() time.Time
	Limits     geo.Limits    // geofence bounds; default 200 km², 50,000 cells
	Poll       time.Duration // how often the change marker is read; default 1s
	InstanceID string        // this process, for stats shards; default random
	Observer   Observer      // nil: nobody counts (metrics)
}

// Observer hears what operators count: the campaigns' funnel, summed over
// campaigns, and location reports by outcome.
type Observer interface {
	// CampaignEvent is called with what a campaign's stats count: entered,
	// triggered, suppressed (with its reason), pushed, opened, redeemed.
	CampaignEvent(event, reason string)
	// LocationReport is called once per report with its outcome: accepted,
	// inaccurate, stale, implausible or rejected.
	LocationReport(outcome string)
}

// Service holds the marketers' use cases and the in-memory fence index
// every location report is matched against.
type Service struct {
	store Store
	shops hyperlieu.ShopDirectory // where shops are, for shop-radius geofences
	opts  Options
	log   *slog.Logger
	snap  atomic.Pointer[snapshot]
	arms  *armCache // assignments seen here; they never change once made
	// pending holds the counts not yet written to the stats shard.
	pending pendingStats
	// presence holds the moves of stored positions not yet written (see
	// presence.go); flushing is held while they are written, and by an
	// erasure, so that a move taken before an erasure is not written after.
	presence presenceQueue
	flushing sync.Mutex

	mu       sync.Mutex // serialises refreshes, and guards:
	builder  *geo.FenceIndexBuilder
	built    map[string]time.Time // campaign → UpdatedAt of the fence in builder
	changes  int                  // the last campaign change loaded (store's change log)
	fullLoad time.Time            // when every active campaign was last loaded
}

// NewService returns the campaign use cases. Call Refresh before serving,
// and Run to follow other instances' changes.
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
	s := &Service{store: store, shops: shops, opts: opts, log: log, arms: newArmCache(maxCachedArms),
		builder: geo.NewFenceIndexBuilder(geo.FenceResolution), built: map[string]time.Time{}}
	s.snap.Store(&snapshot{campaigns: map[string]Campaign{}, cells: map[geo.Cell][]string{}})
	return s
}

// Input is a campaign as a marketer writes it. In a patch, nil fields stay
// as they are.
type Input struct {
	Name     *string
	Geofence *Geofence
	Trigger  *Trigger
	Schedule *Schedule
	Audience *Audience
	Offer    *OfferTemplate
	Caps     *Caps
	// The experiment's settings; they change only while the campaign is a draft.
	Variants       *[]Variant
	HoldoutPercent *int
	ReturnDays     *int
}

// CreateCampaign stores a new draft campaign. Name, geofence and offer are
// required; the trigger defaults to enter, caps to one offer per customer.
// It returns Invalid naming every bad field.
func (s *Service) CreateCampaign(ctx context.Context, a hyperlieu.Actor, in Input) (Campaign, error) {
	now := s.opts.Now().UTC()
	c := Campaign{
		ID: hyperlieu.NewID(), Status: Draft, CreatedBy: a.UserID, CreatedAt: now, UpdatedAt: now,
		Trigger:  Trigger{Kind: TriggerEnter},
		Schedule: Schedule{Timezone: defaultTimezone},
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
	if to == "activate" && c.Geofence.Type == "shops" {
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
	if err := s.store.UpdateCampaignsVersion(ctx, hyperlieu.NewID()); err != nil {
		return fmt.Errorf("mark campaigns changed: %w", err)
	}
	if err := s.Refresh(ctx); err != nil {
		return fmt.Errorf("refresh fence index: %w", err)
	}
	return nil
}
