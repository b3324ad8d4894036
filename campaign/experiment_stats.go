package campaign

import "math"

// z95 is the standard normal quantile of a two-sided 95% interval.
const z95 = 1.959963984540054

// LiftMethod names how lift intervals are computed, for the API to say.
const LiftMethod = "newcombe-wilson-95"

// ArmStats are one arm's funnel. Customers counts the distinct customers
// triggered (or, in the holdout, who would have been); Redeemers and
// Returned count customers once each, so that they are proportions of
// Customers.
type ArmStats struct {
	ID                            string
	Holdout, Stopped, Winner      bool
	Weight                        int
	Customers, Entered, Triggered int64
	Pushed, Opened, Redeemed      int64
	Redeemers, Returned           int64
	Suppressed                    map[string]int64
	ReturnedRate, RedeemedRate    float64
	ReturnedLift, RedeemedLift    *Lift // nil for the holdout, or while either arm has no customer
}

// Lift is the difference of an arm's rate and the holdout's, in [-1, 1],
// with its 95% interval; Relative is the ratio minus one, nil when the
// holdout's rate is 0.
type Lift struct {
	Diff, Low, High float64
	Relative        *float64
}

// ExperimentStats are every arm's figures, holdout last.
type ExperimentStats struct {
	Arms           []ArmStats
	HoldoutPercent int
	WinnerID       string
	ReturnDays     int
	Method         string
}

// experimentStats reads the arms' counters (x.<arm>.<name>) out of a
// campaign's summed stats; nil without an experiment.
func experimentStats(e Experiment, m map[string]int64) *ExperimentStats {
	if !e.On() {
		return nil
	}
	out := &ExperimentStats{HoldoutPercent: e.HoldoutPercent, WinnerID: e.WinnerID, ReturnDays: e.ReturnDays, Method: LiftMethod}
	var hold *ArmStats
	for _, id := range e.Arms() {
		get := func(n string) int64 { return m["x."+id+"."+n] }
		a := ArmStats{
			ID: id, Holdout: id == ArmHoldout, Winner: id == e.WinnerID,
			Customers: get("customers"), Entered: get("entered"), Triggered: get("triggered"),
			Pushed: get("pushed"), Opened: get("opened"), Redeemed: get("redeemed"),
			Redeemers: get("redeemers"), Returned: get("returned"), Suppressed: map[string]int64{},
		}
		if v, ok := e.Variant(id); ok {
			a.Weight, a.Stopped = v.Weight, !v.StoppedAt.IsZero()
		}
		for _, r := range suppressionReasons {
			a.Suppressed[r] = get("suppressed." + r)
		}
		a.ReturnedRate, a.RedeemedRate = rate(a.Returned, a.Customers), rate(a.Redeemers, a.Customers)
		out.Arms = append(out.Arms, a)
	}
	if n := len(out.Arms); out.Arms[n-1].Holdout {
		hold = &out.Arms[n-1]
	}
	for i := range out.Arms {
		a := &out.Arms[i]
		if hold == nil || a.Holdout {
			continue
		}
		a.ReturnedLift = NewLift(a.Returned, a.Customers, hold.Returned, hold.Customers)
		a.RedeemedLift = NewLift(a.Redeemers, a.Customers, hold.Redeemers, hold.Customers)
	}
	return out
}

func rate(x, n int64) float64 {
	if n == 0 {
		return 0
	}
	return float64(x) / float64(n)
}

// NewLift compares x1 successes out of n1 with x2 out of n2: the
// difference of proportions with Newcombe's hybrid score interval (his
// method 10, from each proportion's Wilson interval), which stays inside
// [-1, 1] and behaves at rates near 0 or 1 and small counts, where the Wald
// interval does not. It returns nil when n1 or n2 is 0.
func NewLift(x1, n1, x2, n2 int64) *Lift {
	if n1 <= 0 || n2 <= 0 {
		return nil
	}
	p1, p2 := float64(x1)/float64(n1), float64(x2)/float64(n2)
	l1, u1 := Wilson(x1, n1)
	l2, u2 := Wilson(x2, n2)
	d := p1 - p2
	lift := &Lift{
		Diff: d,
		Low:  d - math.Sqrt((p1-l1)*(p1-l1)+(u2-p2)*(u2-p2)),
		High: d + math.Sqrt((u1-p1)*(u1-p1)+(p2-l2)*(p2-l2)),
	}
	if p2 > 0 {
		r := p1/p2 - 1
		lift.Relative = &r
	}
	return lift
}

// Wilson returns the 95% Wilson score interval of x successes out of n > 0.
func Wilson(x, n int64) (low, high float64) {
	p, nf := float64(x)/float64(n), float64(n)
	z2 := z95 * z95
	centre := p + z2/(2*nf)
	half := z95 * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	den := 1 + z2/nf
	return max(0, (centre-half)/den), min(1, (centre+half)/den)
}
