package hyperlieu_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

func TestEvery(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		hyperlieu.Every(ctx, time.Millisecond, true, log, "job", func(context.Context) error {
			if calls.Add(1) == 3 {
				cancel()
			}
			return errors.New("transient")
		})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Every did not stop when its context ended")
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("f called %d times, want 3 (errors do not stop the loop)", n)
	}
	if got := strings.Count(logs.String(), "job failed"); got != 2 {
		t.Errorf("logged %d failures, want 2 (not the one after cancellation):\n%s", got, logs.String())
	}
}

func TestEveryWaitsFirstUnlessImmediate(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	hyperlieu.Every(ctx, time.Hour, false, slog.Default(), "job", func(context.Context) error { called = true; return nil })
	if called {
		t.Errorf("Every(immediately=false) called f before the first interval")
	}
}
