package campaign

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// Experiment limits.
const (
	MaxVariants       = 8
	MaxHoldoutPercent = 50
	defaultReturnDays = 7
)

// Arm IDs that are not variants: the holdout, and the campaign's own offer
// when it has a holdout but no variants.
const (
	ArmHoldout = "holdout"
	ArmOffer   = "offer"
)

// Variant is one version of a campaign's offer in an experiment. Its Weight
// is its share of the treated customers among the variants not stopped.
type Variant struct {
	ID        string // [a-z0-9]{1,16}; default v1, v2… by position
	Weight    int
	Texts     []OfferText
	Value     string
	Validity  time.Duration
	StoppedAt time.Time // zero while it is live
}

// Experiment splits a campaign's customers between offer variants and a
// holdout that gets nothing, to measure the offer's lift. The zero value is
// no experiment.
type Experiment struct {
	Variants       []Variant
	HoldoutPercent int    // 0 to MaxHoldoutPercent
	ReturnDays     int    // a return counts this many days after the trigger
	WinnerID       string // set: every treated customer gets this variant
	DecidedAt      time.Time
}

// On reports whether the campaign runs an experiment.
func (e Experiment) On() bool { return len(e.Variants) > 0 || e.HoldoutPercent > 0 }

// Variant returns the variant with id.
func (e Experiment) Variant(id string) (Variant, bool) {
	for _, v := range e.Variants {
		if v.ID == id {
			return v, true
		}
	}
	return Variant{}, false
}

// Arms lists the arm IDs stats are kept for: the variants (or ArmOffer) and
// the holdout when there is one.
func (e Experiment) Arms() []string {
	var out []string
	for _, v := range e.Variants {
		out = append(out, v.ID)
	}
	if len(out) == 0 {
		out = append(out, ArmOffer)
	}
	if e.HoldoutPercent > 0 {
		out = append(out, ArmHoldout)
	}
	return out
}

// template is the offer a customer in arm gets: the variant's texts, value
// and validity, with the campaign's budget.
func (c Campaign) template(arm string) OfferTemplate {
	v, ok := c.Experiment.Variant(arm)
	if !ok {
		return c.Offer
	}
	return OfferTemplate{Texts: v.Texts, Value: v.Value, Validity: v.Validity, Budget: c.Offer.Budget}
}

// Bucket maps a customer of a campaign to a number uniform in [0, 1): the
// first 8 bytes of sha256(campaignID ":" userID). It is the same on every
// instance and across restarts.
func Bucket(campaignID, userID string) float64 {
	sum := sha256.Sum256([]byte(campaignID + ":" + userID))
	return float64(binary.BigEndian.Uint64(sum[:8])>>11) / (1 << 53)
}

// Assign returns the arm for a customer not assigned yet: the holdout for
// the lowest HoldoutPercent of buckets, else the winner if one is declared,
// else a live variant chosen by weight over the rest of the bucket range
// (ArmOffer without variants). It returns "" when every variant is stopped.
func (e Experiment) Assign(bucket float64) string {
	h := float64(e.HoldoutPercent) / 100
	if bucket < h {
		return ArmHoldout
	}
	if e.WinnerID != "" {
		return e.WinnerID
	}
	if len(e.Variants) == 0 {
		return ArmOffer
	}
	total := 0
	for _, v := range e.Variants {
		if v.StoppedAt.IsZero() {
			total += v.Weight
		}
	}
	if total == 0 {
		return ""
	}
	x := (bucket - h) / (1 - h) * float64(total)
	acc := 0
	last := ""
	for _, v := range e.Variants {
		if !v.StoppedAt.IsZero() {
			continue
		}
		acc += v.Weight
		last = v.ID
		if x < float64(acc) {
			return v.ID
		}
	}
	return last // x rounds up to total
}

// Serve returns the arm whose offer a customer assigned to arm gets now: the
// winner once declared (the holdout stays held out, so the lift keeps being
// measured), nothing ("") for a stopped variant, else arm itself.
func (e Experiment) Serve(arm string) string {
	if arm == ArmHoldout {
		return ArmHoldout
	}
	if e.WinnerID != "" {
		return e.WinnerID
	}
	if v, ok := e.Variant(arm); ok && !v.StoppedAt.IsZero() {
		return ""
	}
	return arm
}

var variantID = regexp.MustCompile(`^[a-z0-9]{1,16}$`)

// checkVariants validates the variants, giving each an ID when it has none.
func checkVariants(p *hyperlieu.Problems, vs []Variant) []Variant {
	if len(vs) > MaxVariants {
		p.Add("variants", "must be at most %d", MaxVariants)
		return vs
	}
	seen := map[string]bool{}
	out := make([]Variant, len(vs))
	for i, v := range vs {
		f := fmt.Sprintf("variants[%d]", i)
		if v.ID == "" {
			v.ID = fmt.Sprintf("v%d", i+1)
		}
		switch {
		case !variantID.MatchString(v.ID):
			p.Add(f+".id", "must be 1 to 16 lowercase letters or digits")
		case v.ID == ArmHoldout || v.ID == ArmOffer:
			p.Add(f+".id", "%s is reserved", v.ID)
		case seen[v.ID]:
			p.Add(f+".id", "must be unique; %s is used twice", v.ID)
		}
		seen[v.ID] = true
		if v.Weight < 1 || v.Weight > 1000 {
			p.Add(f+".weight", "must be between 1 and 1000")
		}
		// The offer's own rules apply, under this variant's name.
		var q hyperlieu.Problems
		t := checkOffer(&q, OfferTemplate{Texts: v.Texts, Value: v.Value, Validity: v.Validity})
		for _, fe := range q {
			p.Add(f+strings.TrimPrefix(fe.Field, "offer"), "%s", fe.Detail)
		}
		v.Texts, v.StoppedAt = t.Texts, time.Time{}
		out[i] = v
	}
	return out
}

func checkHoldout(p *hyperlieu.Problems, pct int) int {
	if pct < 0 || pct > MaxHoldoutPercent {
		p.Add("holdoutPercent", "must be between 0 and %d", MaxHoldoutPercent)
	}
	return pct
}

func checkReturnDays(p *hyperlieu.Problems, d int) int {
	if d < 1 || d > 90 {
		p.Add("returnDays", "must be between 1 and 90")
	}
	return d
}
