package push_test

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu/push"
)

// batch is the size of the batches the benchmarks send.
const batch = 500

func messages(n int) []push.Message {
	msgs := make([]push.Message, n)
	for i := range msgs {
		msgs[i] = push.Message{
			ID: fmt.Sprint("n", i), Token: fmt.Sprint("tok-", i), Platform: "android",
			Title: "50% off tonight", Body: "At the corner bakery, until 22:00",
			Data:        map[string]string{"url": "hyperlieu://offers/7", "campaign": "c1"},
			CollapseKey: "campaign-c1", TTL: time.Hour,
		}
	}
	return msgs
}

// BenchmarkClientSend measures Client.Send through the SDK to fcmfake on
// loopback: one HTTP request per message, 50 at a time (the SDK's workers).
func BenchmarkClientSend(b *testing.B) {
	srv := newFake(b)
	c := newClient(b, srv)
	msgs := messages(batch)
	if _, err := c.Send(b.Context(), msgs[:1]); err != nil { // the OAuth token
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		results, err := c.Send(b.Context(), msgs)
		if err != nil || results[batch-1].Err != nil {
			b.Fatalf("Send: %v, %v", err, results[batch-1].Err)
		}
		b.StopTimer()
		srv.Reset() // keeps the fake's memory flat
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkLogSend(b *testing.B) {
	l := push.NewLog(io.Discard)
	msgs := messages(batch)
	for b.Loop() {
		if _, err := l.Send(b.Context(), msgs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "msgs/s")
}
