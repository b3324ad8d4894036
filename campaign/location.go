package campaign

import (
	"context"
	"log/slog"
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
	// AtShops maps each shop the customer is at (within the visit radius)
	// to the time they arrived: leaving after the minimum dwell is a visit.
	AtShops map[string]time.Time

	// Answers lists the stored answers to this customer's recent requests
	// (see ReportOnce), by id, with when each was stored.
	Answers map[string]time.Time

	// contended is set when a stay this request met was claimed by another
	// (a retry racing its first request, or another instance).
	contended bool
	// dropped lists the answers this request unlisted (pruneAnswers), to
	// delete once the state no longer lists them.
	dropped []string
}

// LocationStore is what the location engine needs from the database.
type LocationStore interface {
	hyperlieu.UserFinder
	LocationStateStore
	TriggerStore
	AnswerStore
}

// LocationStateStore keeps each customer's last position.
type LocationStateStore interface {
	// FindLocationState returns NotFound when the customer has no state yet.
	FindLocationState(ctx context.Context, userID string) (LocationState, error)
	// UpdateLocationState replaces the customer's state, creating it on the
	// first report (an upsert by design: the last writer wins, and what must
	// happen once is claimed by the trigger keys).
	UpdateLocationState(ctx context.Context, st LocationState) error
	// DeleteLocationStatesBefore erases the states last seen before a time
	// and returns how many.
	DeleteLocationStatesBefore(ctx context.Context, before time.Time) (int64, error)
	// DeleteLocationData deletes a customer's location state, offers and
	// trigger claims, and strips their identity from redemptions.
	DeleteLocationData(ctx context.Context, userID string) error
}

// TriggerStore keeps the trigger claims that make each trigger happen once.
type TriggerStore interface {
	// CreateTrigger returns Conflict when the key is taken.
	CreateTrigger(ctx context.Context, t TriggerClaim) error
	// FindTrigger returns NotFound when the key is free.
	FindTrigger(ctx context.Context, key string) (TriggerClaim, error)
}

// LocationOptions tunes the location engine. Zero fields take defaults.
type LocationOptions struct {
	Now            func() time.Time
	MaxAccuracyM   float64       // reports less precise are stored but trigger nothing; default 150
	MaxSpeedKmh    float64       // faster jumps are implausible; default 300
	NewcomerPeriod time.Duration // accounts younger are newcomers; 0: nobody is
	UserCacheTTL   time.Duration // how long a consenting user is cached; default 5s
	// StateRefresh: a report that only moves the customer is written once
	// the stored position is this old (positions.go); default 30s, and a
	// negative value writes every report.
	StateRefresh  time.Duration
	NearbyRadiusM float64       // radius of "nearby" offers in a report's answer; default 1000
	Retention     time.Duration // Run erases last positions unseen this long; default 30 days
	SweepEvery    time.Duration // how often Run sweeps; default 1h
	// Visits to shops: a stay within VisitRadiusM of a shop for at least
	// VisitMinDwell, ended by a report beyond it, is told to Visits. Nil
	// Shops or Visits detect none (this package's tests).
	Shops         hyperlieu.ShopLocator
	Visits        hyperlieu.VisitRecorder
	VisitRadiusM  float64       // default 50
	VisitMinDwell time.Duration // default 5 minutes
}

// LocationService turns location reports into offers: it matches each
// report against the fence index, keeps the customer's state, and fires the
// campaigns whose rules allow it.
type LocationService struct {
	store     LocationStore
	answers   AnswerStore
	campaigns *Service
	offers    *OfferService
	notifier  hyperlieu.Notifier
	segments  hyperlieu.Segmenter
	opts      LocationOptions
	log       *slog.Logger
	users     *userCache
	positions *expiring[position] // kept unwritten, see positions.go
}

// NewLocationService returns the location engine. Every collaborator is
// required: offers are pushed through notifier, which also holds the daily
// cap, and audiences are matched through segments.
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
	if opts.StateRefresh == 0 {
		opts.StateRefresh = 30 * time.Second
	}
	if opts.NearbyRadiusM == 0 {
		opts.NearbyRadiusM = 1000
	}
	if opts.Retention == 0 {
		opts.Retention = 30 * 24 * time.Hour
	}
	if opts.SweepEvery == 0 {
		opts.SweepEvery = time.Hour
	}
	if opts.VisitRadiusM == 0 {
		opts.VisitRadiusM = 50
	}
	if opts.VisitMinDwell == 0 {
		opts.VisitMinDwell = 5 * time.Minute
	}
	return &LocationService{
		store: store, answers: store, campaigns: campaigns, offers: offers, notifier: notifier, segments: segments,
		opts: opts, log: log, users: newUserCache(maxCachedUsers),
		positions: newExpiring[position](maxCachedUsers),
	}
}

// Run erases, every SweepEvery from now on, the last positions of customers
// not seen for longer than Retention, so that positions are not kept beyond
// it. It returns once ctx is done and the sweep under way, if any, has stopped.
func (l *LocationService) Run(ctx context.Context) {
	hyperlieu.Every(ctx, l.opts.SweepEvery, true, l.log, "sweep location states", l.sweep)
}

// sweep is one round of Run.
func (l *LocationService) sweep(ctx context.Context) error {
	n, err := l.store.DeleteLocationStatesBefore(ctx, l.opts.Now().Add(-l.opts.Retention))
	if n > 0 {
		l.log.InfoContext(ctx, "location states past retention erased", "count", n)
	}
	if err != nil {
		return err
	}
	_, err = l.answers.DeleteReportAnswersBefore(ctx, l.opts.Now().Add(-answerLifetime))
	return err
}
