package metrics_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hyperlieu/hyperlieu/metrics"
)

// The webhook series pass the lint, keep their labels bounded, and read the
// queue's depth and age at scrape time.
func TestWebhookSeries(t *testing.T) {
	m := metrics.New()
	m.WatchWebhooks(func(context.Context) (int, time.Time, error) { return 2, time.Now().Add(-90 * time.Second), nil })
	for _, r := range []string{"sent", "failed", "retried", "dead", "https://receiver.example/secret"} {
		m.WebhookAttempted(r)
	}
	m.WebhookEndpointPaused()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m.Collectors()...)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	want := `
# HELP hyperlieu_webhook_queue_deliveries Webhook deliveries queued (not yet delivered nor dead-lettered), paused endpoints' included.
# TYPE hyperlieu_webhook_queue_deliveries gauge
hyperlieu_webhook_queue_deliveries 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "hyperlieu_webhook_queue_deliveries"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg, "hyperlieu_webhook_deliveries_total"); err != nil || n != 5 {
		t.Errorf("deliveries series = %d, %v; want 5 (4 results and other)", n, err)
	}
}
