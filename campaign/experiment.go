package campaign

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// ReasonVariantStopped suppresses the offer of a customer assigned to a
// stopped variant: they keep their arm (so its figures stay honest) and get
// nothing new from it, unless a winner is declared.
const ReasonVariantStopped = "variantStopped"

// minVisitGap is how long after the trigger a new stay in a shops geofence
// counts as a detected visit: a phone hopping at the fence's edge is not a
// return.
const minVisitGap = time.Hour

// maxReturnWindow is the longest return window a campaign may have.
const maxReturnWindow = 90 * 24 * time.Hour

// Assignment records the arm of a campaign's experiment a customer is in.
type Assignment struct {
	CampaignID, UserID, Arm string
	At                      time.Time
}

// Exposure is a customer's first trigger (or, in the holdout, would-be
// trigger) of a campaign with an experiment: returns are counted from it.
type Exposure struct {
	Arm string
	At  time.Time
}

// ExperimentStore keeps assignments and what is counted once per customer.
type ExperimentStore interface {
	// CreateAssignment inserts "<campaign>.<user>"; Conflict when the
	// customer is assigned already (the first assignment wins).
	CreateAssignment(ctx context.Context, a Assignment) error
	// FindAssignment returns NotFound when the customer is not assigned.
	FindAssignment(ctx context.Context, campaignID, userID string) (Assignment, error)
	// UpdateExposure records a customer's first trigger of a campaign on
	// their own document (an upsert: created by the first).
	UpdateExposure(ctx context.Context, userID, campaignID string, e Exposure) error
	// FindExposures returns a customer's exposures by campaign; none: empty.
	FindExposures(ctx context.Context, userID string) (map[string]Exposure, error)
	// CreateExperimentMark inserts key; Conflict when it is taken.
	CreateExperimentMark(ctx context.Context, key, userID string) error
}

// applyExperiment validates the experiment's fields of in and applies them
// to c. They change only in draft: moving customers between arms mid-run
// would spoil the figures (stop a variant or declare a winner instead).
func applyExperiment(p *hyperlieu.Problems, c *Campaign, in Input) error {
	if c.Experiment.ReturnDays == 0 {
		c.Experiment.ReturnDays = defaultReturnDays
	}
	if in.Variants == nil && in.HoldoutPercent == nil && in.ReturnDays == nil {
		return nil
	}
	if c.Status != Draft {
		return hyperlieu.Errorf(hyperlieu.Conflict, "variants, holdoutPercent and returnDays change only while the campaign is a draft; stop a variant or declare a winner instead")
	}
	if in.Variants != nil {
		c.Experiment.Variants = checkVariants(p, *in.Variants)
	}
	if in.HoldoutPercent != nil {
		c.Experiment.HoldoutPercent = checkHoldout(p, *in.HoldoutPercent)
	}
	if in.ReturnDays != nil {
		c.Experiment.ReturnDays = checkReturnDays(p, *in.ReturnDays)
	}
	return nil
}

// arm returns the customer's arm in c's experiment, assigning it on first
// sight: the stored assignment wins over a racing one on another instance.
// It returns "" (and records nothing) when every variant is stopped.
func (s *Service) arm(ctx context.Context, c Campaign, userID string, at time.Time) (string, error) {
	if arm, ok := s.arms.get(c.ID, userID); ok {
		return arm, nil
	}
	a, err := s.store.FindAssignment(ctx, c.ID, userID)
	if err == nil {
		s.arms.put(c.ID, userID, a.Arm)
		return a.Arm, nil
	}
	if hyperlieu.KindOf(err) != hyperlieu.NotFound {
		return "", fmt.Errorf("find assignment: %w", err)
	}
	arm := c.Experiment.Assign(Bucket(c.ID, userID))
	if arm == "" {
		return "", nil
	}
	err = s.store.CreateAssignment(ctx, Assignment{CampaignID: c.ID, UserID: userID, Arm: arm, At: at})
	if hyperlieu.KindOf(err) == hyperlieu.Conflict {
		if a, err = s.store.FindAssignment(ctx, c.ID, userID); err == nil {
			arm = a.Arm // another instance assigned first: theirs stands
		}
	}
	if err != nil {
		return "", fmt.Errorf("assign: %w", err)
	}
	s.arms.put(c.ID, userID, arm)
	return arm, nil
}

// maxCachedArms bounds the assignments one instance remembers.
const maxCachedArms = 100_000

// armCache remembers assignments read or made here, so that a customer's
// entry and trigger read theirs once. An assignment never changes once
// recorded, so the cache is exact; when full it starts over. Erasure
// forgets the customer here (other instances' entries age out with use).
type armCache struct {
	mu  sync.Mutex
	max int
	m   map[string]string
}

func newArmCache(max int) *armCache { return &armCache{max: max, m: map[string]string{}} }

func (a *armCache) get(campaignID, userID string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	arm, ok := a.m[campaignID+"."+userID]
	return arm, ok
}

func (a *armCache) put(campaignID, userID, arm string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.m) >= a.max {
		clear(a.m)
	}
	a.m[campaignID+"."+userID] = arm
}

// countArm adds to an arm's counters, kept in the campaign's stats shards
// as "x.<arm>.<name>" and written with its other counts (see count).
func (s *Service) countArm(_ context.Context, campaignID, arm string, names ...string) {
	d := make(map[string]int64, len(names))
	for _, n := range names {
		d["x."+arm+"."+n]++
	}
	s.pending.add(campaignID, d)
}

// once reports whether key is claimed now for the first time.
func (s *Service) once(ctx context.Context, key, userID string) bool {
	err := s.store.CreateExperimentMark(ctx, key, userID)
	if err != nil && hyperlieu.KindOf(err) != hyperlieu.Conflict {
		s.log.WarnContext(ctx, "experiment mark", "err", err)
	}
	return err == nil
}

// experimentEntered assigns a customer entering c's geofence to an arm and
// counts the entry there; for a shops geofence, a new stay long enough after
// their trigger is a detected visit, so a return.
func (s *Service) experimentEntered(ctx context.Context, c Campaign, userID string, at time.Time) {
	if !c.Experiment.On() {
		return
	}
	arm, err := s.arm(ctx, c, userID, at)
	if err != nil {
		s.log.WarnContext(ctx, "experiment entry", "campaign", c.ID, "err", err)
		return
	}
	if arm != "" {
		s.countArm(ctx, c.ID, arm, "entered")
	}
	if c.Geofence.Type != "shops" {
		return
	}
	exps, err := s.store.FindExposures(ctx, userID)
	if err != nil {
		s.log.WarnContext(ctx, "experiment exposures", "campaign", c.ID, "err", err)
		return
	}
	if e, ok := exps[c.ID]; ok && at.Sub(e.At) >= minVisitGap {
		s.returnedTo(ctx, c, userID, e, at)
	}
}

// Returned counts a customer's visit to the brand's shops at at (a check-in
// or a redemption) as a return for every experiment that triggered them in
// its return window.
func (s *Service) Returned(ctx context.Context, userID string, at time.Time) {
	exps, err := s.store.FindExposures(ctx, userID)
	if err != nil {
		s.log.WarnContext(ctx, "experiment exposures", "err", err)
		return
	}
	for id, e := range exps {
		if at.Sub(e.At) > maxReturnWindow {
			continue // past any window: no need to load the campaign
		}
		c, err := s.Campaign(ctx, id)
		if err != nil {
			continue // a campaign gone since: nothing to count
		}
		s.returnedTo(ctx, c, userID, e, at)
	}
}

// returnedTo counts the customer's return to c once, if at is in the
// return window of their exposure e.
func (s *Service) returnedTo(ctx context.Context, c Campaign, userID string, e Exposure, at time.Time) {
	days := c.Experiment.ReturnDays
	if days == 0 {
		days = defaultReturnDays
	}
	if at.Before(e.At) || at.Sub(e.At) > time.Duration(days)*24*time.Hour {
		return
	}
	if s.once(ctx, "returned:"+c.ID+":"+userID, userID) {
		s.countArm(ctx, c.ID, e.Arm, "returned")
	}
}

// redeemedArm counts a redemption for the offer's arm, and its customer
// once among the arm's redeemers.
func (s *Service) redeemedArm(ctx context.Context, o Offer) {
	if o.Arm == "" {
		return
	}
	names := []string{"redeemed"}
	if s.once(ctx, "redeemed:"+o.CampaignID+":"+o.UserID, o.UserID) {
		names = append(names, "redeemers")
	}
	s.countArm(ctx, o.CampaignID, o.Arm, names...)
}

// Returns passes customer actions on to Next and counts check-ins and
// redemptions as returns for the experiments that triggered the customer.
type Returns struct {
	Next      hyperlieu.ActivityRecorder
	Campaigns *Service
}

// RecordActivity records a, then counts it as a return if it is a visit.
func (r Returns) RecordActivity(ctx context.Context, a hyperlieu.Activity) error {
	if err := r.Next.RecordActivity(ctx, a); err != nil {
		return err
	}
	if a.Kind == hyperlieu.ActivityCheckIn || a.Kind == hyperlieu.ActivityRedemption {
		r.Campaigns.Returned(ctx, a.UserID, a.At)
	}
	return nil
}

// forget drops the customer's assignments, on erasure: a scan, but a rare one.
func (a *armCache) forget(userID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k := range a.m {
		if strings.HasSuffix(k, "."+userID) {
			delete(a.m, k)
		}
	}
}
