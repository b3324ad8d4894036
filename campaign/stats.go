package campaign

import (
	"context"
	"fmt"
	"strings"
)

// suppressionReasons lists every Reason…, in the order stats show them.
var suppressionReasons = []string{ReasonSchedule, ReasonAudience, ReasonNewcomer, ReasonCap, ReasonCooldown, ReasonDailyCap, ReasonQuietHours, ReasonBudget, ReasonVariantStopped}

// Stats returns a campaign's counters.
func (s *Service) Stats(ctx context.Context, id string) (Stats, error) {
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return Stats{}, err
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

// count adds to this instance's shard of a campaign's counters. A failure is
// logged, not returned: counters must not undo what happened.
func (s *Service) count(ctx context.Context, campaignID string, names ...string) {
	d := make(map[string]int64, len(names))
	for _, n := range names {
		d[n]++
		if s.opts.Observer != nil {
			event, reason, _ := strings.Cut(n, ".")
			s.opts.Observer.CampaignEvent(event, reason)
		}
	}
	if err := s.store.UpdateCampaignStats(ctx, campaignID, s.opts.InstanceID, d); err != nil {
		s.log.WarnContext(ctx, "campaign stats", "campaign", campaignID, "err", err)
	}
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
