package hyperlieu

import (
	"context"
	"log/slog"
	"time"
)

// Every calls f every interval until ctx is done, the first time at once if
// immediately is set. An error is logged as what and the loop goes on: the
// background jobs (reminders, segments, index refreshes, sweeps) catch up on
// their next round.
func Every(ctx context.Context, interval time.Duration, immediately bool, log *slog.Logger, what string, f func(context.Context) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	if !immediately {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
	for {
		if err := f(ctx); err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, what+" failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
