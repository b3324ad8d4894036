package campaign

import (
	"context"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// judgeArm returns the customer's arm of c's experiment and what it serves:
// a variant's offer, the winner's, the holdout (nothing), or "" when their
// variant was stopped. Holdout customers go through the same rules
// (schedule, audience, caps, cooldown; not the daily cap, which only real
// contacts use) and take trigger slots, so their would-be triggers compare
// with real ones; they are counted in their arm only, never in the
// campaign's totals.
func (l *LocationService) judgeArm(ctx context.Context, c Campaign, userID string, at time.Time) (arm, serve string, err error) {
	arm, err = l.campaigns.arm(ctx, c, userID, at)
	if err != nil {
		return "", "", err
	}
	return arm, c.Experiment.Serve(arm), nil
}

// suppressed counts a suppressed trigger in the campaign's totals (not a
// holdout customer's) and in the customer's arm, if any.
func (l *LocationService) suppressed(ctx context.Context, c Campaign, arm string, holdout bool, reason string) {
	if !holdout {
		l.campaigns.count(ctx, c.ID, "suppressed."+reason)
	}
	if arm != "" {
		l.campaigns.countArm(ctx, c.ID, arm, "suppressed."+reason)
	}
}

// countTrigger counts the n-th trigger of an experiment's customer in their
// arm, and records their exposure on the first.
func (l *LocationService) countTrigger(ctx context.Context, c Campaign, u hyperlieu.User, arm string, n int, holdout bool, at time.Time) {
	counters := []string{"triggered"}
	if n == 1 {
		counters = append(counters, "customers")
		if err := l.campaigns.store.UpdateExposure(ctx, u.ID, c.ID, Exposure{Arm: arm, At: at}); err != nil {
			l.log.WarnContext(ctx, "record exposure", "campaign", c.ID, "err", err)
		}
	}
	if !holdout && inQuietHours(u.Prefs, at) {
		counters = append(counters, "suppressed."+ReasonQuietHours)
	}
	l.campaigns.countArm(ctx, c.ID, arm, counters...)
}
