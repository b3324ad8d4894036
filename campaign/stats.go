package campaign

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// suppressionReasons lists every Reason…, in the order stats show them.
var suppressionReasons = []string{ReasonSchedule, ReasonAudience, ReasonNewcomer, ReasonCap, ReasonCooldown, ReasonDailyCap, ReasonQuietHours, ReasonBudget, ReasonVariantStopped}

// Stats returns a campaign's counters.
func (s *Service) Stats(ctx context.Context, id string) (Stats, error) {
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return Stats{}, err
	}
	if err := s.FlushStats(ctx); err != nil {
		s.log.WarnContext(ctx, "campaign stats", "err", err)
	}
	m, err := s.store.FindCampaignStats(ctx, id)
	if err != nil {
		return Stats{}, fmt.Errorf("campaign stats: %w", err)
	}
	st := Stats{
		Entered: m["entered"], Triggered: m["triggered"], Pushed: m["pushed"], Opened: m["opened"], Redeemed: m["redeemed"],
		Suppressed: map[string]int64{},
	}
	for _, r := range suppressionReasons {
		st.Suppressed[r] = m["suppressed."+r]
	}
	st.Experiment = experimentStats(c.Experiment, m)
	return st, nil
}

// count adds to this instance's shard of a campaign's counters. The counts
// are kept in memory and written by Run every Poll (one update per campaign
// counted since) and by Stats before it reads, so that a report does not
// pay one database write per counter (issue 15). Until then, other
// instances' stats miss them; a crash loses at most one Poll's counts.
func (s *Service) count(_ context.Context, campaignID string, names ...string) {
	for _, n := range names {
		if s.opts.Observer != nil {
			event, reason, _ := strings.Cut(n, ".")
			s.opts.Observer.CampaignEvent(event, reason)
		}
	}
	d := make(map[string]int64, len(names))
	for _, n := range names {
		d[n]++
	}
	s.pending.add(campaignID, d)
}

// FlushStats writes the counts this instance kept in memory to its shards.
// Counts that fail to be written are kept for the next flush.
func (s *Service) FlushStats(ctx context.Context) error {
	var errs []error
	for id, d := range s.pending.take() {
		if err := s.store.UpdateCampaignStats(ctx, id, s.opts.InstanceID, d); err != nil {
			s.pending.add(id, d)
			errs = append(errs, fmt.Errorf("campaign %s stats: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// pendingStats are the counts not written yet, per campaign.
type pendingStats struct {
	mu sync.Mutex
	m  map[string]map[string]int64
}

// add adds the counts d to campaignID's.
func (p *pendingStats) add(campaignID string, d map[string]int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[string]map[string]int64{}
	}
	m := p.m[campaignID]
	if m == nil {
		m = make(map[string]int64, len(d))
		p.m[campaignID] = m
	}
	for n, v := range d {
		m[n] += v
	}
}

func (p *pendingStats) take() map[string]map[string]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.m
	p.m = nil
	return m
}

// NotificationOpened counts an opened push for the campaign named in the
// notification's data (key "campaignId"); others are ignored. Hook it to
// the notification service's "opened" event.
func (s *Service) NotificationOpened(ctx context.Context, data map[string]string) {
	if id := data["campaignId"]; id != "" {
		s.count(ctx, id, "opened")
		if arm := data["arm"]; arm != "" {
			s.countArm(ctx, id, arm, "opened")
		}
	}
}
