package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// webhookSeries count webhook deliveries (webhook.Observer) and read the
// queue's depth and age at scrape time.
type webhookSeries struct {
	attempts *prometheus.CounterVec
	paused   prometheus.Counter
	queue    *queueGauges
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
		queue: newQueueGauges(
			prometheus.NewDesc("hyperlieu_webhook_queue_deliveries", "Webhook deliveries queued (not yet delivered nor dead-lettered), paused endpoints' included.", nil, nil),
			prometheus.NewDesc("hyperlieu_webhook_queue_oldest_age_seconds", "How long ago the oldest queued webhook delivery was queued (0 when none is).", nil, nil)),
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
	m.hooks.queue.backlog = backlog
}

func (w *webhookSeries) Describe(ch chan<- *prometheus.Desc) {
	w.attempts.Describe(ch)
	w.paused.Describe(ch)
	w.queue.Describe(ch)
}

func (w *webhookSeries) Collect(ch chan<- prometheus.Metric) {
	w.attempts.Collect(ch)
	w.paused.Collect(ch)
	w.queue.Collect(ch)
}
