package campaign

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/geo"
)

// Report reasons for reports that were refused or ignored.
const (
	ReportInvalid     = "invalid"     // refused: a value is out of range
	ReportStale       = "stale"       // refused: older than the last report kept
	ReportInaccurate  = "inaccurate"  // kept, triggers nothing
	ReportImplausible = "implausible" // not kept: implies an impossible speed
)

// ReportProblem says why one report of a batch was refused or ignored.
type ReportProblem struct {
	Index  int // in the request
	Field  string
	Reason string // one of the Report… constants
	Detail string
}

// ReportResult is what a location request did.
type ReportResult struct {
	Cell      geo.Cell // of the last report kept; 0 if none
	Accepted  int
	Rejected  []ReportProblem // refused reports
	Ignored   []ReportProblem // kept or seen, but triggering nothing
	Triggered []Offer         // offers issued now
	Nearby    []hyperlieu.NearbyOffer
}

// Outcomes of a report for the metrics, beside the reasons above.
const (
	ReportAccepted = "accepted" // kept and matched against the campaigns
	ReportRejected = "rejected" // refused: ReportInvalid
)

func (l *LocationService) observe(outcome string) {
	if o := l.campaigns.opts.Observer; o != nil {
		o.LocationReport(outcome)
	}
}

// MaxReportsPerRequest bounds a batch.
const MaxReportsPerRequest = 100

// Report processes a customer's location reports, in time order. It returns
// Forbidden when the customer has not consented to location, Invalid when
// the batch is empty or too long, and, when batch is false, Invalid naming
// the field of a bad single report. In a batch, bad reports are listed in
// Rejected and the good ones still processed. A report that triggers
// nothing costs one read and one write (the user is cached briefly).
func (l *LocationService) Report(ctx context.Context, userID string, reports []LocationReport, batch bool) (ReportResult, error) {
	run, err := l.start(ctx, userID, reports)
	if err != nil {
		return ReportResult{}, err
	}
	run.batch = batch
	if err := run.all(ctx, reports); err != nil {
		return ReportResult{}, err
	}
	if err := run.save(ctx); err != nil {
		return ReportResult{}, err
	}
	return run.res, nil
}

// start checks the request and the customer's consent, and reads their
// state: a run ready to take the reports.
func (l *LocationService) start(ctx context.Context, userID string, reports []LocationReport) (*reportRun, error) {
	if len(reports) == 0 || len(reports) > MaxReportsPerRequest {
		return nil, hyperlieu.InvalidField("points", fmt.Sprintf("must hold 1 to %d reports", MaxReportsPerRequest))
	}
	u, err := l.user(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("location report: %w", err)
	}
	if !u.Prefs.LocationConsent {
		return nil, hyperlieu.Errorf(hyperlieu.Forbidden, `location sharing is off for this account: to share it, set "locationConsent": true with PATCH /v1/me`)
	}
	st, before, err := l.state(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("location state: %w", err)
	}
	return &reportRun{l: l, snap: l.campaigns.active(), u: u, st: st, before: before, now: l.opts.Now()}, nil
}

// all takes the reports in time order, and lists the offers nearby.
func (run *reportRun) all(ctx context.Context, reports []LocationReport) error {
	for _, i := range timeOrder(reports) {
		if err := run.take(ctx, i, reports[i]); err != nil {
			return err
		}
	}
	if run.res.Accepted > 0 {
		run.res.Nearby = run.l.nearby(run.snap, run.u, run.st.Point, run.l.opts.NearbyRadiusM)
	}
	if run.res.Triggered == nil {
		run.res.Triggered = []Offer{}
	}
	return nil
}

// save writes the customer's state back, when a report moved it (see keep).
func (run *reportRun) save(ctx context.Context) error {
	if run.res.Accepted == 0 {
		return nil
	}
	if err := run.keep(ctx); err != nil {
		return fmt.Errorf("save location state: %w", err)
	}
	return nil
}

// timeOrder returns the indexes of reports, oldest report first.
func timeOrder(reports []LocationReport) []int {
	order := make([]int, len(reports))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return reports[order[a]].RecordedAt.Before(reports[order[b]].RecordedAt) })
	return order
}

// reportRun is one Report call at work: the customer's state as the
// reports move it, and what they did.
type reportRun struct {
	l      *LocationService
	snap   *snapshot
	u      hyperlieu.User
	st     LocationState
	before decided // what the write may not skip
	res    ReportResult
	now    time.Time
	batch  bool
}

// take judges report r, the i-th of the request: it is refused, ignored,
// or kept and matched against the campaigns. It returns an error only for
// a bad single report (Invalid) or a failure.
func (run *reportRun) take(ctx context.Context, i int, r LocationReport) error {
	l, st := run.l, &run.st
	if r.RecordedAt.IsZero() {
		r.RecordedAt = run.now
	}
	if field, detail := validateReport(r, run.now); field != "" {
		l.observe(ReportRejected)
		if !run.batch {
			return hyperlieu.InvalidField(field, detail)
		}
		run.res.Rejected = append(run.res.Rejected, ReportProblem{Index: i, Field: field, Reason: ReportInvalid, Detail: detail})
		return nil
	}
	if !st.At.IsZero() && r.RecordedAt.Before(st.At) {
		l.observe(ReportStale)
		run.res.Rejected = append(run.res.Rejected, ReportProblem{Index: i, Field: "recordedAt", Reason: ReportStale,
			Detail: "is older than the last report received (" + st.At.UTC().Format(time.RFC3339) + ")"})
		return nil
	}
	if !st.At.IsZero() && implausible(st.Point, st.At, r, l.opts.MaxSpeedKmh) {
		l.observe(ReportImplausible)
		run.res.Ignored = append(run.res.Ignored, ReportProblem{Index: i, Reason: ReportImplausible,
			Detail: fmt.Sprintf("implies moving faster than %g km/h since the last report", l.opts.MaxSpeedKmh)})
		return nil
	}
	cell, err := geo.CellOf(r.Point)
	if err != nil {
		return err
	}
	st.Cell, st.Point, st.At, st.AccuracyM = cell, r.Point, r.RecordedAt.UTC(), r.AccuracyM
	run.res.Cell = cell
	run.res.Accepted++
	if r.AccuracyM > l.opts.MaxAccuracyM {
		l.observe(ReportInaccurate)
		run.res.Ignored = append(run.res.Ignored, ReportProblem{Index: i, Field: "accuracyM", Reason: ReportInaccurate,
			Detail: fmt.Sprintf("is over %g m: the report is kept but triggers nothing", l.opts.MaxAccuracyM)})
		return nil
	}
	l.observe(ReportAccepted)
	offers, err := l.match(ctx, run.snap, run.u, st, r)
	if err != nil {
		return err
	}
	run.res.Triggered = append(run.res.Triggered, offers...)
	return nil
}

// validateReport returns the bad field and why, or "" when r is usable.
func validateReport(r LocationReport, now time.Time) (field, detail string) {
	p := r.Point
	switch {
	case math.IsNaN(p.Lat) || math.IsInf(p.Lat, 0) || p.Lat < -90 || p.Lat > 90:
		return "lat", "must be a number between -90 and 90"
	case math.IsNaN(p.Lng) || math.IsInf(p.Lng, 0) || p.Lng < -180 || p.Lng > 180:
		return "lng", "must be a number between -180 and 180"
	case math.IsNaN(r.AccuracyM) || r.AccuracyM < 0 || r.AccuracyM > 1e6:
		return "accuracyM", "must be a number of metres between 0 and 1000000"
	case r.RecordedAt.After(now.Add(2 * time.Minute)):
		return "recordedAt", "is more than 2 minutes in the future"
	case r.RecordedAt.Before(now.Add(-24 * time.Hour)):
		return "recordedAt", "is more than 24 hours old"
	}
	return "", ""
}

// implausible reports whether going from p at t to r implies a speed over
// maxKmh. Jumps under 200 m are never implausible: GPS jitters.
func implausible(p geo.Point, t time.Time, r LocationReport, maxKmh float64) bool {
	d := geo.Distance(p, r.Point)
	if d < 200 {
		return false
	}
	dt := r.RecordedAt.Sub(t).Seconds()
	if dt <= 0 {
		return true
	}
	return d/dt*3.6 > maxKmh
}

// match updates the customer's fence memberships for report r and fires
// the campaigns whose trigger it meets.
func (l *LocationService) match(ctx context.Context, snap *snapshot, u hyperlieu.User, st *LocationState, r LocationReport) ([]Offer, error) {
	var ids []string
	if snap.index != nil {
		ids = snap.index.Lookup(r.Point)
	}
	if err := l.visitShops(ctx, u, st, r); err != nil {
		return nil, err
	}
	offers, err := l.exits(ctx, snap, u, st, ids, r.RecordedAt.UTC())
	if err != nil {
		return nil, err
	}
	for id := range st.Inside {
		if !slices.Contains(ids, id) {
			delete(st.Inside, id)
			delete(st.Dwelled, id)
		}
	}
	for id := range st.Dwelled {
		if _, ok := st.Inside[id]; !ok {
			delete(st.Dwelled, id)
		}
	}
	at := r.RecordedAt.UTC()
	for _, id := range ids {
		c, ok := snap.campaigns[id]
		if !ok || !l.triggered(ctx, c, st, at) {
			continue
		}
		o, err := l.fire(ctx, c, u, st, st.Inside[c.ID], at)
		if err != nil {
			return nil, err
		}
		if o != nil {
			offers = append(offers, *o)
		}
	}
	return offers, nil
}

// triggered records that the customer is inside c's geofence at at, and
// reports whether that meets c's trigger: just entered, or a dwell long
// enough that was not judged yet in this stay.
func (l *LocationService) triggered(ctx context.Context, c Campaign, st *LocationState, at time.Time) bool {
	entered, was := st.Inside[c.ID]
	if !was {
		if st.Inside == nil {
			st.Inside = map[string]time.Time{}
		}
		st.Inside[c.ID], entered = at, at
		l.campaigns.count(ctx, c.ID, "entered")
		l.campaigns.experimentEntered(ctx, c, st.UserID, at)
	}
	switch c.Trigger.Kind {
	case TriggerEnter:
		return !was
	case TriggerExit:
		return false // judged on leaving (exits)
	case TriggerDwell:
		if at.Sub(entered) < time.Duration(c.Trigger.DwellSeconds)*time.Second {
			return false
		}
		if d, ok := st.Dwelled[c.ID]; ok && d.Equal(entered) {
			return false
		}
		if st.Dwelled == nil {
			st.Dwelled = map[string]time.Time{}
		}
		st.Dwelled[c.ID] = entered
	}
	return true
}
