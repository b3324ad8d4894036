package fan

import (
	"fmt"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// SegmentThresholds are the configurable limits between segments.
type SegmentThresholds struct {
	NewcomerPeriod time.Duration
	DevotedWindow  time.Duration
	DevotedMin     int
	DormantAfter   time.Duration
}

// Facts are what a segment is computed from.
type Facts struct {
	CreatedAt  time.Time
	Referred   bool
	Activities []hyperlieu.Activity
}

// Classify returns the customer's segment at now and a sentence saying why.
// The rules, in order:
//   - newcomer: the account is younger than NewcomerPeriod, or the first
//     check-in or redemption is (a first purchase after the newcomer
//     period starts a customer's story: it is not a drop);
//   - dormant: nothing done for DormantAfter (counting from sign-up when
//     nothing was ever done);
//   - prospect: no check-in or redemption yet (referred, invited, or just
//     browsing and RSVPing);
//   - devoted: at least DevotedMin activities in the last DevotedWindow,
//     complaints (feedback rated LowRating or less) not counted;
//   - wandering: a customer whose activity has dropped below that.
//
// Activities after now are ignored, so a timeline can be replayed.
func Classify(f Facts, now time.Time, t SegmentThresholds) (hyperlieu.Segment, string) {
	age := now.Sub(f.CreatedAt)
	if age < t.NewcomerPeriod {
		return hyperlieu.SegmentNewcomer, fmt.Sprintf("account is %s old, newcomer for %s", days(age), days(t.NewcomerPeriod))
	}
	var last, firstBuy time.Time
	recent := 0
	for _, a := range f.Activities {
		if a.At.After(now) {
			continue
		}
		if a.At.After(last) {
			last = a.At
		}
		if purchaseLike(a.Kind) && (firstBuy.IsZero() || a.At.Before(firstBuy)) {
			firstBuy = a.At
		}
		if now.Sub(a.At) <= t.DevotedWindow && !complaint(a) {
			recent++
		}
	}
	bought := !firstBuy.IsZero()
	if bought && now.Sub(firstBuy) < t.NewcomerPeriod {
		return hyperlieu.SegmentNewcomer, fmt.Sprintf("first check-in or redemption %s ago, a new customer for %s", days(now.Sub(firstBuy)), days(t.NewcomerPeriod))
	}
	since := last
	if since.IsZero() {
		since = f.CreatedAt
	}
	if idle := now.Sub(since); idle >= t.DormantAfter {
		if last.IsZero() {
			return hyperlieu.SegmentDormant, fmt.Sprintf("no activity in %s since sign-up (dormant after %s)", days(idle), days(t.DormantAfter))
		}
		return hyperlieu.SegmentDormant, fmt.Sprintf("last activity %s ago (dormant after %s)", days(idle), days(t.DormantAfter))
	}
	if !bought {
		if f.Referred {
			return hyperlieu.SegmentProspect, "referred by a customer; no check-in or redemption yet"
		}
		return hyperlieu.SegmentProspect, "no check-in or redemption yet"
	}
	if recent >= t.DevotedMin {
		return hyperlieu.SegmentDevoted, fmt.Sprintf("%d activities in the last %s (devoted from %d)", recent, days(t.DevotedWindow), t.DevotedMin)
	}
	return hyperlieu.SegmentWandering, fmt.Sprintf("a customer whose activity dropped: %d in the last %s (devoted from %d), last %s ago",
		recent, days(t.DevotedWindow), t.DevotedMin, days(now.Sub(last)))
}

// complaint reports whether a is feedback rated low: it says the customer
// cares enough to complain, not that they are devoted.
func complaint(a hyperlieu.Activity) bool {
	return a.Kind == hyperlieu.ActivityFeedback && a.Rating > 0 && a.Rating <= hyperlieu.LowRating
}

// days writes d in whole days, or hours when shorter than two days.
func days(d time.Duration) string {
	if d < 48*time.Hour {
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}
