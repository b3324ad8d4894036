package metrics

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// A queue that is slow to read (the embedded database decodes all of it)
// is read for its gauges at most once per 20 times that read's length,
// however often it is scraped.
func TestQueueGaugesReadCostIsBounded(t *testing.T) {
	q := newQueueGauges(prometheus.NewDesc("d", "d", nil, nil), prometheus.NewDesc("a", "a", nil, nil))
	t0 := time.Now()
	at := t0
	q.now, q.every = func() time.Time { return at }, time.Millisecond
	reads := 0
	q.backlog = func(context.Context) (int, time.Time, error) {
		reads++
		time.Sleep(10 * time.Millisecond)
		return 1, t0, nil
	}
	for _, step := range []struct {
		after time.Duration
		reads int
	}{{0, 1}, {50 * time.Millisecond, 1}, {10 * time.Second, 2}} {
		at = t0.Add(step.after)
		if _, _, err := q.read(); err != nil {
			t.Fatal(err)
		}
		if reads != step.reads {
			t.Errorf("after %v: %d reads, want %d (a 10 ms read waits ≥ 200 ms)", step.after, reads, step.reads)
		}
	}
}
