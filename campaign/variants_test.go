package campaign_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/campaign"
)

// TestBucketStable pins the hash: changing it would move every customer
// of every running experiment to another arm.
func TestBucketStable(t *testing.T) {
	if got, want := campaign.Bucket("c1", "u1"), bucketC1U1; got != want {
		t.Errorf("Bucket(c1, u1) = %v, want %v", got, want)
	}
	for i := range 1000 {
		b := campaign.Bucket("c", strconv.Itoa(i))
		if b < 0 || b >= 1 {
			t.Fatalf("Bucket(c, %d) = %v, want in [0, 1)", i, b)
		}
	}
	if campaign.Bucket("c1", "u1") == campaign.Bucket("c2", "u1") {
		t.Error("Bucket is the same for two campaigns: a customer would be in the holdout of every campaign")
	}
}

// bucketC1U1 is (sha256("c1:u1")[:8] >> 11) / 2^53, computed apart.
const bucketC1U1 = 0.17397524388038

func twoVariants() []campaign.Variant {
	return []campaign.Variant{{ID: "a", Weight: 1}, {ID: "b", Weight: 3}}
}

// share assigns n customers and returns each arm's share.
func share(e campaign.Experiment, n int) map[string]float64 {
	out := map[string]float64{}
	for i := range n {
		out[e.Assign(campaign.Bucket("camp", "user"+strconv.Itoa(i)))] += 1 / float64(n)
	}
	return out
}

func TestAssignFollowsWeights(t *testing.T) {
	e := campaign.Experiment{Variants: twoVariants(), HoldoutPercent: 10}
	got := share(e, 20000)
	want := map[string]float64{campaign.ArmHoldout: 0.10, "a": 0.225, "b": 0.675}
	for arm, w := range want {
		if math.Abs(got[arm]-w) > 0.015 {
			t.Errorf("share of %s = %.3f, want %.3f ± 0.015", arm, got[arm], w)
		}
	}
	if len(got) != 3 {
		t.Errorf("arms = %v, want holdout, a and b only", got)
	}
}

func TestAssignWithoutVariants(t *testing.T) {
	got := share(campaign.Experiment{HoldoutPercent: 50}, 4000)
	if math.Abs(got[campaign.ArmHoldout]-0.5) > 0.03 || math.Abs(got[campaign.ArmOffer]-0.5) > 0.03 || len(got) != 2 {
		t.Errorf("shares = %v, want half holdout, half the campaign's offer", got)
	}
}

// TestStopAndWinner: a stopped variant's weight goes to the others for new
// customers, the holdout does not move, and a winner serves everyone
// outside the holdout.
func TestStopAndWinner(t *testing.T) {
	live := campaign.Experiment{Variants: twoVariants(), HoldoutPercent: 20}
	stopped := live
	stopped.Variants = twoVariants()
	stopped.Variants[1].StoppedAt = t0
	for i := range 2000 {
		b := campaign.Bucket("camp", strconv.Itoa(i))
		before, after := live.Assign(b), stopped.Assign(b)
		switch {
		case before == campaign.ArmHoldout && after != campaign.ArmHoldout, before != campaign.ArmHoldout && after == campaign.ArmHoldout:
			t.Fatalf("bucket %v moved between holdout and treatment: %s → %s", b, before, after)
		case after == "b":
			t.Fatalf("a stopped variant was assigned")
		}
	}
	if got := stopped.Serve("b"); got != "" {
		t.Errorf("Serve(stopped b) = %q, want nothing", got)
	}
	won := stopped
	won.WinnerID = "a"
	for arm, want := range map[string]string{"a": "a", "b": "a", campaign.ArmHoldout: campaign.ArmHoldout} {
		if got := won.Serve(arm); got != want {
			t.Errorf("with winner a, Serve(%s) = %q, want %q", arm, got, want)
		}
	}
	all := campaign.Experiment{Variants: []campaign.Variant{{ID: "a", Weight: 1, StoppedAt: t0}}}
	if got := all.Assign(0.5); got != "" {
		t.Errorf("Assign with every variant stopped = %q, want none", got)
	}
}

// TestNewLiftKnownValues checks the interval against Newcombe (1998),
// "Interval estimation for the difference between independent
// proportions", Table II, method 10.
func TestNewLiftKnownValues(t *testing.T) {
	for _, c := range []struct {
		x1, n1, x2, n2  int64
		diff, low, high float64
	}{
		{56, 70, 48, 80, 0.2, 0.0524, 0.3339},
		{9, 10, 3, 10, 0.6, 0.1705, 0.8090},
		{5, 56, 0, 29, 0.0893, -0.0381, 0.1926},
		{0, 10, 0, 20, 0, -0.1611, 0.2775},
		{0, 10, 0, 10, 0, -0.2775, 0.2775},
		{10, 10, 0, 20, 1, 0.6791, 1},
		{10, 10, 0, 10, 1, 0.6075, 1},
	} {
		l := campaign.NewLift(c.x1, c.n1, c.x2, c.n2)
		if math.Abs(l.Diff-c.diff) > 5e-5 || math.Abs(l.Low-c.low) > 5e-5 || math.Abs(l.High-c.high) > 5e-5 {
			t.Errorf("NewLift(%d/%d − %d/%d) = %.4f [%.4f, %.4f], want %.4f [%.4f, %.4f]",
				c.x1, c.n1, c.x2, c.n2, l.Diff, l.Low, l.High, c.diff, c.low, c.high)
		}
	}
	if l := campaign.NewLift(1, 10, 0, 0); l != nil {
		t.Errorf("NewLift with an empty holdout = %+v, want nil", l)
	}
	if l := campaign.NewLift(3, 10, 1, 10); l.Relative == nil || math.Abs(*l.Relative-2) > 1e-9 {
		t.Errorf("relative lift of 30%% over 10%% = %v, want 2", l.Relative)
	}
}

func fields(err error) []string {
	var he *hyperlieu.Error
	if !errors.As(err, &he) {
		return nil
	}
	var out []string
	for _, f := range he.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestVariantValidation(t *testing.T) {
	e := newEngine(t, newMemStore(), &clock{t: t0}, nil, nil)
	text := []campaign.OfferText{{Locale: "en", Formality: hyperlieu.Formal, Title: "Tea"}}
	good := campaign.Variant{Weight: 1, Texts: text, Validity: time.Hour}
	bad := []campaign.Variant{good, {Weight: 0, Texts: text, Validity: time.Hour}, {ID: "v1", Weight: 1, Texts: []campaign.OfferText{{Locale: "en", Formality: "rude", Title: ""}}, Validity: time.Minute}}
	hold, days := 60, 0
	name := "x"
	_, err := e.campaigns.CreateCampaign(context.Background(), hyperlieu.Actor{UserID: "m"}, campaign.Input{
		Name: &name, Geofence: &campaign.Geofence{Type: "circles", Circles: nil}, Offer: &campaign.OfferTemplate{Texts: text, Validity: time.Hour},
		Variants: &bad, HoldoutPercent: &hold, ReturnDays: &days,
	})
	got := fields(err)
	for _, f := range []string{"variants[1].weight", "variants[2].id", "variants[2].texts[0].formality", "variants[2].texts[0].title", "variants[2].validityHours", "holdoutPercent", "returnDays"} {
		if !slices.Contains(got, f) {
			t.Errorf("problems = %v, want one for %s", got, f)
		}
	}
	nine := slices.Repeat([]campaign.Variant{good}, 9)
	_, err = e.campaigns.CreateCampaign(context.Background(), hyperlieu.Actor{UserID: "m"}, campaign.Input{
		Name: &name, Geofence: &campaign.Geofence{Type: "circles"}, Offer: &campaign.OfferTemplate{Texts: text, Validity: time.Hour}, Variants: &nine,
	})
	if got := fields(err); !slices.Contains(got, "variants") {
		t.Errorf("problems for 9 variants = %v, want variants", got)
	}
}

// TestExperimentFrozenOnceRunning: moving customers between arms mid-run
// would spoil the figures, so the experiment changes only in draft.
func TestExperimentFrozenOnceRunning(t *testing.T) {
	e := newEngine(t, newMemStore(), &clock{t: t0}, nil, nil)
	vs := variantsOf("a", "b")
	c := e.launch(t, campaign.Input{Variants: &vs})
	hold := 10
	_, err := e.campaigns.UpdateCampaign(context.Background(), hyperlieu.Actor{}, c.ID, campaign.Input{HoldoutPercent: &hold})
	if hyperlieu.KindOf(err) != hyperlieu.Conflict {
		t.Errorf("patching the holdout of an active campaign: %v, want Conflict", err)
	}
}

func variantsOf(ids ...string) []campaign.Variant {
	var out []campaign.Variant
	for _, id := range ids {
		out = append(out, campaign.Variant{ID: id, Weight: 1, Value: "-" + id,
			Texts: []campaign.OfferText{{Locale: "en", Formality: hyperlieu.Formal, Title: "Offer " + id}}, Validity: time.Hour})
	}
	return out
}
