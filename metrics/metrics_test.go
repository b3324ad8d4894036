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

// TestSeriesAreLintCleanAndBounded feeds every observer method, including
// values no caller should send, and checks the series with the same lint as
// promtool check metrics, and that strange values land in "other".
func TestSeriesAreLintCleanAndBounded(t *testing.T) {
	m := metrics.New()
	m.WatchOutbox(func(context.Context) (int, time.Time, error) { return 3, time.Now().Add(-time.Minute), nil })
	m.Pushed("sent", "")
	m.Pushed("retried", "QUOTA_EXCEEDED")
	m.Pushed("failed", "HTTP 503")
	m.Pushed("exploded", "a code from a new SDK")
	m.LocationReport("stale")
	m.LocationReport("teleported")
	m.CampaignEvent("triggered", "")
	m.CampaignEvent("suppressed", "quietHours")
	m.CampaignEvent("suppressed", "user-123")
	m.CampaignEvent("redeemed", "")
	m.Throttled("signin", "account")
	m.Throttled("refresh", "session")
	m.Throttled("signin", "user-123")
	m.Command("find", 2*time.Millisecond, false)
	m.Command("someNewCommand", time.Millisecond, true)

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m.Collectors()...)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	got, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for _, mf := range got {
		for _, mt := range mf.GetMetric() {
			text.WriteString(mf.GetName())
			for _, l := range mt.GetLabel() {
				text.WriteString(" " + l.GetName() + "=" + l.GetValue())
			}
			text.WriteString("\n")
		}
	}
	for _, want := range []string{
		"hyperlieu_pushes_total code=OTHER result=other", "hyperlieu_pushes_total code=HTTP_5XX result=failed",
		"hyperlieu_location_reports_total outcome=other", "hyperlieu_campaign_suppressions_total reason=other",
		"hyperlieu_db_operation_duration_seconds operation=other outcome=error", "hyperlieu_outbox_due_messages",
		"hyperlieu_redemptions_total", "hyperlieu_auth_throttled_total action=signin by=account",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("no series %q in:\n%s", want, text.String())
		}
	}
	for _, leak := range []string{"user-123", "teleported", "someNewCommand", "a code from"} {
		if strings.Contains(text.String(), leak) {
			t.Errorf("the value %q became a label", leak)
		}
	}
}

// Scrapes ask the outbox's backlog at most once per OutboxReadEvery: the
// count decodes the queue on the embedded database (issue 15).
func TestOutboxBacklogReadOncePerPeriod(t *testing.T) {
	m := metrics.New()
	reads := 0
	m.WatchOutbox(func(context.Context) (int, time.Time, error) { reads++; return 3, time.Now().Add(-time.Minute), nil })
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.Collectors()...)
	for range 3 {
		if n, err := testutil.GatherAndCount(reg, "hyperlieu_outbox_due_messages"); err != nil || n != 1 {
			t.Fatalf("due messages series = %d, %v; want 1", n, err)
		}
	}
	if reads != 1 {
		t.Errorf("backlog read %d times by 3 scrapes; want once", reads)
	}
}
