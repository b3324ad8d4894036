// Package metrics counts what operators watch in the domain (the outbox,
// pushes, location reports, campaign triggers, redemptions, sign-in
// throttles, database latency) as Prometheus series. It implements the small
// observer interfaces the areas and the store declare, so that only this
// package and api import Prometheus. Every label takes values from a short,
// fixed list: nothing a client sends becomes a label.
package metrics

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics holds the domain's series. Its methods are safe for concurrent use.
type Metrics struct {
	pushes      *prometheus.CounterVec
	reports     *prometheus.CounterVec
	entries     prometheus.Counter
	triggers    prometheus.Counter
	suppressed  *prometheus.CounterVec
	opens       prometheus.Counter
	redemptions prometheus.Counter
	throttles   *prometheus.CounterVec
	db          *prometheus.HistogramVec
	outbox      *queueGauges
	hooks       *webhookSeries // webhooks.go
}

// New returns the domain's series, all at zero.
func New() *Metrics {
	m := &Metrics{
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hyperlieu_pushes_total", Help: "Messages sent to FCM, one per device, by result (sent, failed, retried) and FCM error code (none on success).",
		}, []string{"result", "code"}),
		reports: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hyperlieu_location_reports_total", Help: "Location reports by outcome: accepted, inaccurate, stale, implausible, rejected.",
		}, []string{"outcome"}),
		entries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hyperlieu_campaign_entries_total", Help: "Customers entering a campaign's geofence.",
		}),
		triggers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hyperlieu_campaign_triggers_total", Help: "Campaign offers issued to customers.",
		}),
		suppressed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hyperlieu_campaign_suppressions_total", Help: "Campaign triggers held back, by reason.",
		}, []string{"reason"}),
		opens: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hyperlieu_campaign_opens_total", Help: "Campaign pushes opened by customers.",
		}),
		redemptions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hyperlieu_redemptions_total", Help: "Offers redeemed at a shop's till.",
		}),
		throttles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hyperlieu_auth_throttled_total",
			Help: "Sign-ins, sign-ups and token refreshes refused as too many (action), per account, client address or session (by).",
		}, []string{"action", "by"}),
		db: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hyperlieu_db_operation_duration_seconds", Help: "Database command latency by operation and outcome (ok, error).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"operation", "outcome"}),
		outbox: newQueueGauges(
			prometheus.NewDesc("hyperlieu_outbox_due_messages", "Notifications pending and due now, waiting for an outbox worker.", nil, nil),
			prometheus.NewDesc("hyperlieu_outbox_oldest_due_age_seconds", "How long the oldest due notification has waited (0 when none is due).", nil, nil)),
		hooks: newWebhookSeries(),
	}
	for _, o := range []string{"accepted", "inaccurate", "stale", "implausible", "rejected"} {
		m.reports.WithLabelValues(o)
	}
	for _, t := range throttleSeries {
		m.throttles.WithLabelValues(t[0], t[1])
	}
	m.pushes.WithLabelValues("sent", "none")
	return m
}

// OutboxReadEvery is how often, at most, scrapes ask the outbox's backlog:
// counting the due notifications decodes the queue on the embedded
// database, so scrapes in between reuse the last count (issue 15). The
// depth is then as of at most this long ago; the age grows from the
// oldest due time then read.
const OutboxReadEvery = 15 * time.Second

// WatchOutbox makes scrapes ask backlog for the outbox's depth and the time
// its oldest due message fell due, at most once per OutboxReadEvery.
func (m *Metrics) WatchOutbox(backlog func(ctx context.Context) (int, time.Time, error)) {
	m.outbox.backlog, m.outbox.every = backlog, OutboxReadEvery
}

// Collectors returns the series, to register with the /metrics registry.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.pushes, m.reports, m.entries, m.triggers, m.suppressed, m.opens,
		m.redemptions, m.throttles, m.db, m.outbox, m.hooks}
}

// queueGauges read a queue's depth and the age of its oldest entry at
// scrape time (the outbox's, the webhook queue's), at most once per every
// when it is set.
type queueGauges struct {
	depth, age *prometheus.Desc
	backlog    func(ctx context.Context) (int, time.Time, error) // nil until watched
	now        func() time.Time
	every      time.Duration

	mu     sync.Mutex
	readAt time.Time     // of the last read; zero before the first
	took   time.Duration // how long the last read took
	n      int
	oldest time.Time
}

// readCost bounds the share of time spent reading a queue for its gauges:
// the embedded database decodes the whole queue to read it, so after a
// read that took d the next waits at least readCost·d.
const readCost = 20

func newQueueGauges(depth, age *prometheus.Desc) *queueGauges {
	return &queueGauges{depth: depth, age: age, now: time.Now}
}

func (q *queueGauges) Describe(ch chan<- *prometheus.Desc) { ch <- q.depth; ch <- q.age }

func (q *queueGauges) Collect(ch chan<- prometheus.Metric) {
	if q.backlog == nil {
		return
	}
	n, oldest, err := q.read()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(q.depth, err)
		return
	}
	age := 0.0
	if n > 0 {
		age = max(0, q.now().Sub(oldest).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(q.depth, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(q.age, prometheus.GaugeValue, age)
}

// read asks backlog, or returns what it answered less than every ago.
// Concurrent scrapes wait for one read.
func (q *queueGauges) read() (int, time.Time, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	if !q.readAt.IsZero() && now.Sub(q.readAt) < max(q.every, readCost*q.took) {
		return q.n, q.oldest, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	n, oldest, err := q.backlog(ctx)
	if err != nil {
		return 0, time.Time{}, err
	}
	if q.every > 0 {
		q.readAt, q.n, q.oldest, q.took = now, n, oldest, time.Since(start)
	}
	return n, oldest, nil
}

// fcmCodes are the error codes FCM documents, and ours for failures of a
// whole batch or of another kind.
var fcmCodes = []string{"UNREGISTERED", "INVALID_ARGUMENT", "SENDER_ID_MISMATCH", "QUOTA_EXCEEDED", "UNAVAILABLE",
	"INTERNAL", "THIRD_PARTY_AUTH_ERROR", "DEADLINE_EXCEEDED", "UNKNOWN", "BATCH", "PERMANENT"}

// Pushed counts one message sent to FCM (notify.PushObserver).
func (m *Metrics) Pushed(result, code string) {
	switch {
	case code == "":
		code = "none"
	case strings.HasPrefix(code, "HTTP 5"):
		code = "HTTP_5XX"
	case !slices.Contains(fcmCodes, code):
		code = "OTHER"
	}
	m.pushes.WithLabelValues(oneOf(result, "sent", "failed", "retried"), code).Inc()
}

// LocationReport counts a location report (campaign.Observer).
func (m *Metrics) LocationReport(outcome string) {
	m.reports.WithLabelValues(oneOf(outcome, "accepted", "inaccurate", "stale", "implausible", "rejected")).Inc()
}

// suppressionReasons are campaign.Reason… and the quiet hours.
var suppressionReasons = []string{"schedule", "newcomer", "audience", "budget", "cap", "cooldown", "dailyCap", "quietHours"}

// CampaignEvent counts a step of a campaign's funnel (campaign.Observer).
func (m *Metrics) CampaignEvent(event, reason string) {
	switch event {
	case "entered":
		m.entries.Inc()
	case "triggered":
		m.triggers.Inc()
	case "suppressed":
		m.suppressed.WithLabelValues(oneOf(reason, suppressionReasons...)).Inc()
	case "opened":
		m.opens.Inc()
	case "redeemed":
		m.redemptions.Inc()
	}
}

// throttleSeries are the throttles account has: action and by.
var throttleSeries = [][2]string{{"signin", "account"}, {"signin", "address"}, {"signup", "address"}, {"refresh", "session"}, {"refresh", "address"}}

// Throttled counts a refused attempt (account.Observer); a pair it does not
// know counts as other, other, so that labels stay few.
func (m *Metrics) Throttled(action, by string) {
	for _, t := range throttleSeries {
		if t == [2]string{action, by} {
			m.throttles.WithLabelValues(action, by).Inc()
			return
		}
	}
	m.throttles.WithLabelValues("other", "other").Inc()
}

// dbOperations are the commands the store sends; others count as "other".
var dbOperations = []string{"find", "getMore", "insert", "update", "delete", "findAndModify", "aggregate", "count",
	"distinct", "createIndexes", "ping", "endSessions"}

// Command records a database command's latency (store.Observer).
func (m *Metrics) Command(name string, d time.Duration, failed bool) {
	outcome := "ok"
	if failed {
		outcome = "error"
	}
	m.db.WithLabelValues(oneOf(name, dbOperations...), outcome).Observe(d.Seconds())
}

// oneOf returns v if it is one of allowed, else "other": labels stay bounded
// even if a caller passes something new.
func oneOf(v string, allowed ...string) string {
	if slices.Contains(allowed, v) {
		return v
	}
	return "other"
}
