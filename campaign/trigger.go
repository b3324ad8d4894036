package campaign

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// TriggerClaim records that a campaign fired for a customer (a trigger
// slot, TriggerKey) or that one of their stays was judged (StayKey):
// inserting its Key is what makes it happen once, whichever instance sees
// the report. It names neither the customer nor the campaign: its key is a
// MAC under the customer's claim key, so erasing the account leaves claims
// no one can tie to them (see hyperlieu.User.ClaimKey).
type TriggerClaim struct {
	Key string
	N   int
	At  time.Time
}

// StayKey is the unique key of one stay of u in campaign's geofence, named
// by the time they entered it. Claiming it before a trigger slot is what
// makes one stay fire once: two instances seeing the same report, or a
// phone retrying it, compute the same entry time and so the same key.
func StayKey(campaignID string, u hyperlieu.User, entered time.Time) string {
	return u.ClaimID("stay", campaignID, strconv.FormatInt(entered.UTC().UnixNano(), 10))
}

// TriggerKey is the unique key of the n-th trigger of campaign for u,
// n counting from 1.
func TriggerKey(campaignID string, u hyperlieu.User, n int) string {
	return u.ClaimID("trigger", campaignID, strconv.Itoa(n))
}

// fire applies a campaign's rules for a customer who met its trigger at at,
// in the stay that began at entered, and issues the offer if they allow it.
// It returns nil and no error when the offer is suppressed (the reason is
// counted in the campaign's stats) or when this stay was already judged,
// here or on another instance (perCustomer thus counts stays). In an
// experiment, the customer's arm decides the offer (see judgeArm).
func (l *LocationService) fire(ctx context.Context, c Campaign, u hyperlieu.User, st *LocationState, entered, at time.Time) (*Offer, error) {
	reason, err := l.admit(ctx, c, u, at)
	if err != nil {
		return nil, err
	}
	var arm, serve string
	if c.Experiment.On() {
		if arm, serve, err = l.judgeArm(ctx, c, u.ID, at); err != nil {
			return nil, err
		}
		if reason == "" && serve == "" {
			reason = ReasonVariantStopped
		}
	}
	holdout := serve == ArmHoldout
	var n int
	if reason == "" {
		if ok, err := l.claimStay(ctx, c, u, st, entered, at); !ok || err != nil {
			return nil, err
		}
		// Holdout customers take trigger slots but no daily contact.
		if n, reason, err = l.claim(ctx, c, u, st.Issued[c.ID]+1, at, !holdout); err != nil {
			return nil, err
		}
	}
	if reason != "" {
		l.suppressed(ctx, c, arm, holdout, reason)
		return nil, nil
	}
	if st.Issued == nil {
		st.Issued = map[string]int{}
	}
	st.Issued[c.ID] = n
	if arm != "" {
		l.countTrigger(ctx, c, u, arm, n, holdout, at)
	}
	if holdout {
		return nil, nil
	}
	if c.Experiment.On() {
		c.Offer = c.template(serve)
	}
	o, err := l.offers.issue(ctx, c, u, TriggerKey(c.ID, u, n), arm)
	if err != nil {
		return nil, err
	}
	l.announce(ctx, c, u, o, at)
	return &o, nil
}

// claimStay claims the stay that began at entered for the customer's
// trigger of c: false when it was already claimed, here or on another
// instance (the stay fired, or was refused, there), which marks st
// contended.
func (l *LocationService) claimStay(ctx context.Context, c Campaign, u hyperlieu.User, st *LocationState, entered, at time.Time) (bool, error) {
	err := l.store.CreateTrigger(ctx, TriggerClaim{Key: StayKey(c.ID, u, entered), At: at})
	switch {
	case hyperlieu.KindOf(err) == hyperlieu.Conflict:
		st.contended = true
		return false, nil
	case err != nil:
		return false, fmt.Errorf("claim stay: %w", err)
	}
	return true, nil
}

// admit applies the campaign's schedule, audience and budget to the
// customer at at: it returns the reason to suppress the offer, or "".
func (l *LocationService) admit(ctx context.Context, c Campaign, u hyperlieu.User, at time.Time) (string, error) {
	if !c.Schedule.Allows(at) {
		return ReasonSchedule, nil
	}
	welcome := slices.Contains(c.Audience.Segments, hyperlieu.SegmentNewcomer)
	if l.opts.NewcomerPeriod > 0 && at.Sub(u.CreatedAt) < l.opts.NewcomerPeriod && !c.Audience.Newcomers && !welcome {
		return ReasonNewcomer, nil
	}
	if len(c.Audience.Segments) > 0 {
		sg, err := l.segments.SegmentOf(ctx, u, at)
		if err != nil {
			return "", fmt.Errorf("segment of %s: %w", u.ID, err)
		}
		if !slices.Contains(c.Audience.Segments, sg) {
			return ReasonAudience, nil
		}
	}
	if !c.BudgetSpentAt.IsZero() {
		return ReasonBudget, nil
	}
	return "", nil
}

// claim takes the customer's next trigger slot of campaign c, from n on,
// and, with contact, one of their daily contacts: it returns the slot, or
// the reason (caps, cooldown, daily cap) why there is none.
func (l *LocationService) claim(ctx context.Context, c Campaign, u hyperlieu.User, n int, at time.Time, contact bool) (int, string, error) {
	n, reason, err := l.nextSlot(ctx, c, u, n, at)
	if err != nil || reason != "" {
		return 0, reason, err
	}
	// The daily cap is claimed before the campaign's slot: losing a race for
	// the slot then wastes one of the day's contacts, never the campaign's cap.
	if contact {
		ok, err := l.notifier.ReserveContact(ctx, u, at)
		if err != nil {
			return 0, "", fmt.Errorf("reserve contact: %w", err)
		}
		if !ok {
			return 0, ReasonDailyCap, nil
		}
	}
	for tries := 0; ; tries++ {
		err := l.store.CreateTrigger(ctx, TriggerClaim{Key: TriggerKey(c.ID, u, n), N: n, At: at})
		if err == nil {
			return n, "", nil
		}
		if hyperlieu.KindOf(err) != hyperlieu.Conflict || tries > 100 {
			return 0, "", fmt.Errorf("claim trigger: %w", err)
		}
		// Another instance fired meanwhile: judge again against its claim.
		if n, reason, err = l.nextSlot(ctx, c, u, n+1, at); err != nil || reason != "" {
			return 0, reason, err
		}
	}
}

// nextSlot finds the first trigger slot from n that the campaign's caps
// allow at at: it returns a reason instead when the count is reached or the
// previous trigger is too recent.
func (l *LocationService) nextSlot(ctx context.Context, c Campaign, u hyperlieu.User, n int, at time.Time) (int, string, error) {
	for {
		if c.Caps.PerCustomer > 0 && n > c.Caps.PerCustomer {
			return 0, ReasonCap, nil
		}
		if n > 1 {
			prev, err := l.store.FindTrigger(ctx, TriggerKey(c.ID, u, n-1))
			switch {
			case hyperlieu.KindOf(err) == hyperlieu.NotFound:
				n-- // the hint ran ahead of the claims: step back
				continue
			case err != nil:
				return 0, "", fmt.Errorf("find trigger: %w", err)
			case c.Caps.Cooldown > 0 && at.Before(prev.At.Add(c.Caps.Cooldown)):
				return 0, ReasonCooldown, nil
			}
		}
		return n, "", nil
	}
}

// announce queues the push of offer o, issued to u at at, and counts it.
// A failure to queue is logged: the offer is in the wallet, and the app
// shows it even without a push.
func (l *LocationService) announce(ctx context.Context, c Campaign, u hyperlieu.User, o Offer, at time.Time) {
	counters := []string{"triggered"}
	quiet := inQuietHours(u.Prefs, at)
	if quiet {
		// The notification service holds the push until the quiet hours
		// end, or drops it if the offer expires first.
		counters = append(counters, "suppressed."+ReasonQuietHours)
	}
	txt := c.Offer.Text(u.Prefs.Locale, u.Prefs.Formality)
	data := map[string]string{"offerId": o.ID, "campaignId": c.ID}
	if o.Arm != "" {
		data["arm"] = o.Arm // pushes and opens count for the experiment's arm
	}
	err := l.notifier.Notify(ctx, hyperlieu.NotificationRequest{
		UserID: u.ID, Kind: hyperlieu.KindOffer, Category: hyperlieu.CategoryOffers,
		Vars:        map[string]string{"offer": txt.Title, "message": txt.Body, "code": o.Code, "value": c.Offer.Value},
		Data:        data,
		CollapseKey: "campaign:" + c.ID, ExpiresAt: o.ExpiresAt, DedupKey: o.TriggerKey,
	})
	if err != nil {
		l.log.ErrorContext(ctx, "offer notification", "campaign", c.ID, "user", u.ID, "err", err)
	}
	// "pushed" is counted by the outbox when the push is sent (NotificationPushed).
	l.campaigns.count(ctx, c.ID, counters...)
}

// inQuietHours reports whether t falls in the customer's quiet hours.
func inQuietHours(p hyperlieu.Preferences, t time.Time) bool {
	return p.QuietHours != nil && p.QuietHours.Contains(t, p.Location())
}
