package store_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/event"

	"github.com/hyperlieu/hyperlieu/notify"
	"github.com/hyperlieu/hyperlieu/store"
)

// timedCommands is commands plus the time spent in each kind of command.
type timedCommands struct {
	commands
	tmu  sync.Mutex
	took map[string]time.Duration
	// queueIn counts the deletes by `$in` on the outbox queue, the one
	// scan the outbox makes on purpose: of unfinished work only.
	queueIn int
	// queueCounts counts DeleteQueued's counts of the queue.
	queueCounts int
}

func (c *timedCommands) monitor() *event.CommandMonitor {
	m := c.commands.monitor()
	started := m.Started
	m.Started = func(ctx context.Context, e *event.CommandStartedEvent) {
		if e.CommandName == "delete" && e.Command.Lookup("delete").StringValue() == "outbox_queue" && scans("delete", e.Command) != "" {
			c.tmu.Lock()
			c.queueIn++
			c.tmu.Unlock()
			return // not a scan of history: seen, not counted as one
		}
		if e.CommandName == "count" && e.Command.Lookup("count").StringValue() == "outbox_queue" {
			c.tmu.Lock()
			c.queueCounts++
			c.tmu.Unlock()
			return // DeleteQueued's count, at most once a minute (queueLen)
		}
		started(ctx, e)
	}
	m.Succeeded = func(_ context.Context, e *event.CommandSucceededEvent) {
		c.tmu.Lock()
		defer c.tmu.Unlock()
		if c.took == nil {
			c.took = map[string]time.Duration{}
		}
		c.took[e.CommandName] += e.Duration
	}
	return m
}

func (c *timedCommands) summary(seen []string) string {
	count := map[string]int{}
	for _, s := range seen {
		count[s]++
	}
	c.tmu.Lock()
	defer c.tmu.Unlock()
	var parts []string
	for name, n := range count {
		parts = append(parts, fmt.Sprintf("%s×%d (%v)", name, n, c.took[name].Round(time.Millisecond)))
	}
	sort.Strings(parts)
	c.took = nil
	return strings.Join(parts, ", ")
}

// TestOutboxCommandsPerBatch sends batches of notifications handed over by
// Notify (as in the server) and asserts the outbox's commands per batch,
// whatever its size: claims, outcomes and queue deletions in bulk, no read
// per message and no collection scan (issue 15).
func TestOutboxCommandsPerBatch(t *testing.T) {
	const users, batch = 120, 60
	var cmds timedCommands
	db := newDBWith(t, store.Options{Monitor: cmds.monitor()})
	var ob *notify.Outbox
	_, svc, ids := benchSetupWith(t, db, notify.Options{OnQueued: func(qs []notify.Queued) { ob.Enqueue(qs) }})
	sender := &fakeSender{}
	ob = notify.NewOutbox(db, sender, notify.OutboxOptions{BatchSize: batch}, quiet)
	ctx := context.Background()
	seen, _ := cmds.take()
	cmds.summary(seen)
	if err := svc.Notify(ctx, fanOut(ids[:users], 1)...); err != nil {
		t.Fatal(err)
	}
	seen, _ = cmds.take()
	t.Logf("Notify of %d: %d commands: %s", users, len(seen), cmds.summary(seen))
	for round := range users / batch {
		n, err := ob.RunOnce(ctx)
		if err != nil || n != batch {
			t.Fatalf("round %d: %d due, %v; want %d", round, n, err, batch)
		}
		seen, scan := cmds.take()
		t.Logf("round %d: %d commands for %d messages: %s", round, len(seen), batch, cmds.summary(seen))
		// One claim insert and one outcome insert (the fake answers at
		// once), and the queue deletion after the last batch (not seen).
		if len(seen) > 2 {
			t.Errorf("round %d: %d commands %v; want 2 for %d messages", round, len(seen), seen, batch)
		}
		for _, c := range seen {
			if c != "insert" && c != "delete" {
				t.Errorf("round %d: a %s command; want only inserts and deletes by _id", round, c)
			}
		}
		if len(scan) > 0 {
			t.Errorf("round %d: scans %v", round, scan)
		}
	}
	// The finished leave the queue in one command once the work handed
	// over is done.
	if cmds.queueCounts > 1 {
		t.Errorf("%d counts of the queue; want at most one a minute", cmds.queueCounts)
	}
	if cmds.queueIn != 1 {
		t.Errorf("%d deletes by $in on the queue; want one, at the end", cmds.queueIn)
	}
	if got := len(sender.messages()); got != users {
		t.Errorf("sent %d, want %d", got, users)
	}
}
