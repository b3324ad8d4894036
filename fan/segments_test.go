package fan_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/fan"
)

// TestClassifyTimeline replays one customer's life on a scripted clock.
func TestClassifyTimeline(t *testing.T) {
	day := 24 * time.Hour
	start := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	th := fan.SegmentThresholds{NewcomerPeriod: 7 * day, DevotedWindow: 60 * day, DevotedMin: 3, DormantAfter: 180 * day}
	act := func(kind hyperlieu.ActivityKind, d int) hyperlieu.Activity {
		return hyperlieu.Activity{Kind: kind, At: start.Add(time.Duration(d) * day)}
	}
	facts := fan.Facts{CreatedAt: start, Referred: true, Activities: []hyperlieu.Activity{
		act(hyperlieu.ActivityRSVP, 2),
		act(hyperlieu.ActivityCheckIn, 20), act(hyperlieu.ActivityRedemption, 30), act(hyperlieu.ActivityCheckIn, 40),
		act(hyperlieu.ActivityCheckIn, 300),
	}}
	tests := []struct {
		day    int
		want   hyperlieu.Segment
		reason string
	}{
		{0, hyperlieu.SegmentNewcomer, "newcomer for 7 days"},
		{6, hyperlieu.SegmentNewcomer, ""},
		{7, hyperlieu.SegmentProspect, "referred"},
		{19, hyperlieu.SegmentProspect, ""},
		{20, hyperlieu.SegmentNewcomer, "first check-in or redemption"}, // a first purchase is not a drop
		{26, hyperlieu.SegmentNewcomer, "a new customer for 7 days"},
		{27, hyperlieu.SegmentWandering, "2 in the last 60 days"},
		{40, hyperlieu.SegmentDevoted, "4 activities in the last 60 days"},
		{85, hyperlieu.SegmentWandering, "2 in the last 60 days"},
		{101, hyperlieu.SegmentWandering, "0 in the last 60 days"},
		{220, hyperlieu.SegmentDormant, "last activity 180 days ago"},
		{300, hyperlieu.SegmentWandering, ""}, // back after a long time
	}
	for _, tt := range tests {
		at := start.Add(time.Duration(tt.day) * day)
		got, why := fan.Classify(facts, at, th)
		if got != tt.want || !strings.Contains(why, tt.reason) {
			t.Errorf("Classify(day %d) = %s (%q), want %s (%q)", tt.day, got, why, tt.want, tt.reason)
		}
	}
	// Never active at all: prospect, then dormant.
	idle := fan.Facts{CreatedAt: start}
	if got, _ := fan.Classify(idle, start.Add(30*day), th); got != hyperlieu.SegmentProspect {
		t.Errorf("Classify(idle, day 30) = %s, want prospect", got)
	}
	if got, _ := fan.Classify(idle, start.Add(200*day), th); got != hyperlieu.SegmentDormant {
		t.Errorf("Classify(idle, day 200) = %s, want dormant", got)
	}
}

// TestClassifyWhatCounts pins which activities count towards which segment.
func TestClassifyWhatCounts(t *testing.T) {
	day := 24 * time.Hour
	start := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	th := fan.SegmentThresholds{NewcomerPeriod: 7 * day, DevotedWindow: 60 * day, DevotedMin: 3, DormantAfter: 180 * day}
	at := func(d int) time.Time { return start.Add(time.Duration(d) * day) }
	act := func(kind hyperlieu.ActivityKind, d, rating int) hyperlieu.Activity {
		return hyperlieu.Activity{Kind: kind, At: at(d), Rating: rating}
	}
	tests := []struct {
		name   string
		acts   []hyperlieu.Activity
		day    int
		want   hyperlieu.Segment
		reason string
	}{
		{"first purchase after the newcomer period", []hyperlieu.Activity{act(hyperlieu.ActivityCheckIn, 40, 0)}, 41,
			hyperlieu.SegmentNewcomer, "first check-in or redemption 24h ago"},
		{"first purchase, then nothing for a newcomer period", []hyperlieu.Activity{act(hyperlieu.ActivityCheckIn, 40, 0)}, 47,
			hyperlieu.SegmentWandering, "1 in the last 60 days"},
		{"the first purchase is the earliest, not the latest", []hyperlieu.Activity{act(hyperlieu.ActivityRedemption, 45, 0), act(hyperlieu.ActivityCheckIn, 10, 0)}, 46,
			hyperlieu.SegmentWandering, "2 in the last 60 days"},
		{"complaints are not devotion", []hyperlieu.Activity{act(hyperlieu.ActivityCheckIn, 10, 0),
			act(hyperlieu.ActivityFeedback, 20, 1), act(hyperlieu.ActivityFeedback, 21, 2), act(hyperlieu.ActivityFeedback, 22, 1)}, 30,
			hyperlieu.SegmentWandering, "1 in the last 60 days"},
		{"praise counts", []hyperlieu.Activity{act(hyperlieu.ActivityCheckIn, 10, 0),
			act(hyperlieu.ActivityFeedback, 20, 5), act(hyperlieu.ActivityFeedback, 21, 3)}, 30,
			hyperlieu.SegmentDevoted, "3 activities"},
		{"feedback of unknown rating counts", []hyperlieu.Activity{act(hyperlieu.ActivityCheckIn, 10, 0),
			act(hyperlieu.ActivityFeedback, 20, 0), act(hyperlieu.ActivityRSVP, 21, 0)}, 30,
			hyperlieu.SegmentDevoted, "3 activities"},
		{"a complaint still keeps a customer from dormant", []hyperlieu.Activity{act(hyperlieu.ActivityCheckIn, 10, 0), act(hyperlieu.ActivityFeedback, 100, 1)}, 250,
			hyperlieu.SegmentWandering, "0 in the last 60 days"},
		{"a complaint is not a purchase", []hyperlieu.Activity{act(hyperlieu.ActivityFeedback, 20, 1)}, 30,
			hyperlieu.SegmentProspect, "no check-in or redemption"},
	}
	for _, tt := range tests {
		got, why := fan.Classify(fan.Facts{CreatedAt: start, Activities: tt.acts}, at(tt.day), th)
		if got != tt.want || !strings.Contains(why, tt.reason) {
			t.Errorf("%s: Classify(day %d) = %s (%q), want %s (%q)", tt.name, tt.day, got, why, tt.want, tt.reason)
		}
	}
}

func TestTierOf(t *testing.T) {
	tiers := []fan.Tier{{"member", 0}, {"silver", 200}, {"gold", 600}}
	tests := []struct {
		earned     int
		tier, next string
		needs      int
	}{
		{0, "member", "silver", 200},
		{199, "member", "silver", 1},
		{200, "silver", "gold", 400},
		{5000, "gold", "", 0},
	}
	for _, tt := range tests {
		tier, next, needs := fan.TierOf(tiers, tt.earned)
		if tier != tt.tier || next != tt.next || needs != tt.needs {
			t.Errorf("TierOf(%d) = %s, %s, %d, want %s, %s, %d", tt.earned, tier, next, needs, tt.tier, tt.next, tt.needs)
		}
	}
}

func TestRewardCode(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c := fan.NewRewardCode()
		if !fan.ValidRewardCode(c) || seen[c] {
			t.Fatalf("NewRewardCode() = %q: invalid or repeated", c)
		}
		seen[c] = true
		// Any single changed symbol is caught.
		b := []byte(c)
		if b[0] == '2' {
			b[0] = '3'
		} else {
			b[0] = '2'
		}
		if fan.ValidRewardCode(string(b)) {
			t.Errorf("ValidRewardCode(%q) = true for a typo of %q", b, c)
		}
	}
	if fan.ValidRewardCode("ABCD") {
		t.Errorf("ValidRewardCode(short) = true")
	}
}
