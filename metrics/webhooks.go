package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// webhookSeries count webhook deliveries (webhook.Observer) and read the
// queue's depth and age at scrape time.
type webhookSeries struct {
	attempts   *prometheus.CounterVec
	paused     prometheus.Counter
	backlog    func(ctx context.Context) (int, time.Time, error)
	depth, age *prometheus.Desc
	now        func() time.Time
}

// webhookResults are the outcomes webhook.Observer reports.
var webhookResults = []string{"sent", "failed", "retried", "dead"}

func newWebhookSeries() *webhookSeries {
	w := &webhookSeries{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hyperlieu_webhook_deliveries_total", Help: "Webhook delivery attempts by result: sent (2xx), failed; and failures then retried or dead-lettered (dead).",
		}, []string{"result"}),
		paused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hyperlieu_webhook_endpoints_paused_total", Help: "Webhook endpoints paused automatically for failing too long.",
		}),
		depth: prometheus.NewDesc("hyperlieu_webhook_queue_deliveries", "Webhook deliveries queued (not yet delivered nor dead-lettered), paused endpoints' included.", nil, nil),
		age:   prometheus.NewDesc("hyperlieu_webhook_queue_oldest_age_seconds", "How long ago the oldest queued webhook delivery was queued (0 when none is).", nil, nil),
		now:   time.Now,
	}
	for _, r := range webhookResults {
		w.attempts.WithLabelValues(r)
	}
	return w
}

// WebhookAttempted counts a delivery attempt's outcome (webhook.Observer).
func (m *Metrics) WebhookAttempted(result string) {
	m.hooks.attempts.WithLabelValues(oneOf(result, webhookResults...)).Inc()
}

// WebhookEndpointPaused counts an endpoint paused for failing (webhook.Observer).
func (m *Metrics) WebhookEndpointPaused() { m.hooks.paused.Inc() }

// WatchWebhooks makes every scrape ask backlog for the webhook queue's
// depth and the time its oldest delivery was queued.
func (m *Metrics) WatchWebhooks(backlog func(ctx context.Context) (int, time.Time, error)) {
	m.hooks.backlog = backlog
}

func (w *webhookSeries) Describe(ch chan<- *prometheus.Desc) {
	w.attempts.Describe(ch)
	w.paused.Describe(ch)
	ch <- w.depth
	ch <- w.age
}

func (w *webhookSeries) Collect(ch chan<- prometheus.Metric) {
	w.attempts.Collect(ch)
	w.paused.Collect(ch)
	if w.backlog == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, oldest, err := w.backlog(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(w.depth, err)
		return
	}
	age := 0.0
	if n > 0 {
		age = max(0, w.now().Sub(oldest).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(w.depth, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(w.age, prometheus.GaugeValue, age)
}
