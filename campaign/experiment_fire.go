package campaign

import (
	"context"
	"fmt"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// fireArm is fire for a campaign with an experiment. The customer's arm
// decides the offer: a variant's, the winner's, or, in the holdout, none.
// Holdout customers go through the same rules (schedule, audience, caps,
// cooldown; not the daily cap, which only real contacts use) and take
// trigger slots, so their would-be triggers compare with real ones; they are
// counted in their arm only, never in the campaign's totals.
func (l *LocationService) fireArm(ctx context.Context, c Campaign, u hyperlieu.User, st *LocationState, entered, at time.Time) (*Offer, error) {
	reason, err := l.admit(ctx, c, u, at)
	if err != nil {
		return nil, err
	}
	arm, err := l.campaigns.arm(ctx, c, u.ID, at)
	if err != nil {
		return nil, err
	}
	serve := c.Experiment.Serve(arm)
	if reason == "" && serve == "" {
		reason = ReasonVariantStopped
	}
	if reason == "" {
		if ok, err := l.claimStay(ctx, c, u.ID, st, entered, at); !ok || err != nil {
			return nil, err
		}
	}
	holdout := serve == ArmHoldout
	var n int
	if reason == "" && holdout {
		n, reason, err = l.holdoutSlot(ctx, c, u.ID, st.Issued[c.ID]+1, at)
	} else if reason == "" {
		n, reason, err = l.claim(ctx, c, u, st.Issued[c.ID]+1, at)
	}
	if err != nil {
		return nil, err
	}
	if reason != "" {
		if !holdout {
			l.campaigns.count(ctx, c.ID, "suppressed."+reason)
		}
		if arm != "" {
			l.campaigns.countArm(ctx, c.ID, arm, "suppressed."+reason)
		}
		return nil, nil
	}
	if st.Issued == nil {
		st.Issued = map[string]int{}
	}
	st.Issued[c.ID] = n
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
	if holdout {
		return nil, nil
	}
	c.Offer = c.template(serve)
	o, err := l.offers.issueArm(ctx, c, u, TriggerKey(c.ID, u.ID, n), arm)
	if err != nil {
		return nil, err
	}
	l.announce(ctx, c, u, o, at)
	return &o, nil
}

// holdoutSlot takes a holdout customer's next trigger slot like claim, but
// without one of their daily contacts: nothing is sent.
func (l *LocationService) holdoutSlot(ctx context.Context, c Campaign, userID string, n int, at time.Time) (int, string, error) {
	for tries := 0; ; tries++ {
		next, reason, err := l.nextSlot(ctx, c, userID, n, at)
		if err != nil || reason != "" {
			return 0, reason, err
		}
		err = l.store.CreateTrigger(ctx, TriggerClaim{Key: TriggerKey(c.ID, userID, next), CampaignID: c.ID, UserID: userID, N: next, At: at})
		if err == nil {
			return next, "", nil
		}
		if hyperlieu.KindOf(err) != hyperlieu.Conflict || tries > 100 {
			return 0, "", fmt.Errorf("claim trigger: %w", err)
		}
		n = next + 1
	}
}
