package store_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/notify"
	"github.com/hyperlieu/hyperlieu/push"
	"github.com/hyperlieu/hyperlieu/push/fcmfake"
	"github.com/hyperlieu/hyperlieu/store"
)

var benchUsers = 500

// benchSetup creates benchUsers customers with one device each.
func benchSetup(b testing.TB) (*store.DB, *notify.Service, []string) {
	return benchSetupWith(b, newDB(b), notify.Options{})
}

func benchSetupWith(b testing.TB, db *store.DB, opts notify.Options) (*store.DB, *notify.Service, []string) {
	b.Helper()
	ctx := context.Background()
	svc := notify.NewService(db, opts, quiet)
	ids := make([]string, benchUsers)
	for i := range ids {
		now := time.Now().UTC()
		u := hyperlieu.User{ID: hyperlieu.NewID(), Email: fmt.Sprintf("b%d@example.com", i), DisplayName: "B",
			Roles: []hyperlieu.Role{hyperlieu.RoleCustomer}, Prefs: hyperlieu.DefaultPreferences("fr", "UTC"), CreatedAt: now, UpdatedAt: now}
		u.Prefs.QuietHours = nil
		if err := db.CreateUser(ctx, u); err != nil {
			b.Fatal(err)
		}
		if _, err := svc.RegisterDevice(ctx, u.ID, notify.DeviceInput{Token: "bench-" + u.ID, Platform: "android"}); err != nil {
			b.Fatal(err)
		}
		ids[i] = u.ID
	}
	return db, svc, ids
}

func fanOut(ids []string, round int) []hyperlieu.NotificationRequest {
	reqs := make([]hyperlieu.NotificationRequest, len(ids))
	for i, id := range ids {
		reqs[i] = hyperlieu.NotificationRequest{UserID: id, Kind: hyperlieu.KindEventAnnounced, Category: hyperlieu.CategoryEvents,
			Vars: map[string]string{"event": "Atelier", "shop": "Lyon", "when": "samedi"}, Data: map[string]string{"eventId": "e1"},
			CollapseKey: "event:e1", DedupKey: fmt.Sprintf("bench:%d:%s", round, id)}
	}
	return reqs
}

// BenchmarkNotifyFanOut queues one event announcement to each of 500
// customers in one Notify call (render, categories, quiet hours, dedup).
func BenchmarkNotifyFanOut(b *testing.B) {
	_, svc, ids := benchSetup(b)
	ctx, round := context.Background(), 0
	start := time.Now()
	for b.Loop() {
		round++
		if err := svc.Notify(ctx, fanOut(ids, round)...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(round*len(ids))/time.Since(start).Seconds(), "notifications/s")
}

// BenchmarkOutboxToFakeFCM drains 500 queued notifications through the
// outbox (claim, send, record) and the real Firebase client to fcmfake, on
// the embedded database: handed over by Notify in memory (as in the
// server), or found by scanning the queue (another instance's work).
func BenchmarkOutboxToFakeFCM(b *testing.B) {
	for _, batch := range []int{100, 500} {
		b.Run(fmt.Sprint("batch", batch), func(b *testing.B) { benchOutbox(b, batch, true) })
		b.Run(fmt.Sprint("batch", batch, "/scan"), func(b *testing.B) { benchOutbox(b, batch, false) })
	}
	for _, loops := range []int{1, 2} {
		b.Run(fmt.Sprint("batch100/run", loops), func(b *testing.B) { benchOutboxRun(b, 100, loops, 1) })
	}
	// A burst of ten fan-outs, five times what the outbox keeps in memory:
	// the rest is in the queue only.
	b.Run("batch100/run2/burst5000", func(b *testing.B) { benchOutboxRun(b, 100, 2, 10) })
}

// compactCounter counts the notifications the outbox has taken out of its
// queue: the last step of their work.
type compactCounter struct {
	*store.DB
	mu   sync.Mutex
	done int
	more chan struct{}
}

func (c *compactCounter) DeleteQueued(ctx context.Context, ids []string) error {
	err := c.DB.DeleteQueued(ctx, ids)
	c.mu.Lock()
	c.done += len(ids)
	c.mu.Unlock()
	select {
	case c.more <- struct{}{}:
	default:
	}
	return err
}

func (c *compactCounter) waitFor(n int) {
	for {
		c.mu.Lock()
		d := c.done
		c.mu.Unlock()
		if d >= n {
			return
		}
		<-c.more
	}
}

// benchOutboxRun is benchOutbox through the server's loop (Outbox.Run,
// with loops of it in the process): Notify's fan-outs are handed over at
// once when it is done, and timed until the last outcome is recorded
// (msgs/s: FCM has them all, and a crash would not send them again) and
// until the last is out of the queue (msgs/s-compacted: the compactor runs
// beside the loops, so in a steady stream its deletes overlap the next
// sends; here the last one is waited for).
func benchOutboxRun(b *testing.B, batch, loops, fanOuts int) {
	var mu sync.Mutex
	var held []notify.Queued
	opts := notify.Options{OnQueued: func(qs []notify.Queued) { mu.Lock(); held = append(held, qs...); mu.Unlock() }}
	db, svc, ids := benchSetupWith(b, newDB(b), opts)
	fake := fcmfake.New()
	defer fake.Close()
	client, err := push.New(context.Background(), push.Options{CredentialsJSON: fake.ServiceAccountJSON("bench"), Endpoint: fake.Endpoint()})
	if err != nil {
		b.Fatal(err)
	}
	counter := &compactCounter{DB: db, more: make(chan struct{}, 1)}
	var recorded compactCounter
	recorded.more = make(chan struct{}, 1)
	onSent := func(context.Context, map[string]string) {
		recorded.mu.Lock()
		recorded.done++
		recorded.mu.Unlock()
		select {
		case recorded.more <- struct{}{}:
		default:
		}
	}
	ob := notify.NewOutbox(counter, client, notify.OutboxOptions{BatchSize: batch, Workers: loops, OnSent: onSent}, quiet)
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { ob.Run(ctx); close(ran) }()
	defer func() { stop(); <-ran }()
	round := 0
	var busy, sending time.Duration
	for b.Loop() {
		b.StopTimer()
		for range fanOuts {
			round++
			if err := svc.Notify(context.Background(), fanOut(ids, round)...); err != nil {
				b.Fatal(err)
			}
		}
		mu.Lock()
		qs := held
		held = nil
		mu.Unlock()
		b.StartTimer()
		start := time.Now()
		ob.Enqueue(qs)
		recorded.waitFor(round * len(ids))
		sending += time.Since(start)
		counter.waitFor(round * len(ids))
		busy += time.Since(start)
	}
	if got, want := fake.Count(), round*len(ids); got != want {
		b.Fatalf("fake received %d, want %d", got, want)
	}
	b.ReportMetric(float64(round*len(ids))/sending.Seconds(), "msgs/s")
	b.ReportMetric(float64(round*len(ids))/busy.Seconds(), "msgs/s-compacted")
}

func benchOutbox(b *testing.B, batch int, handOver bool) {
	var ob *notify.Outbox
	opts := notify.Options{}
	if handOver {
		opts.OnQueued = func(qs []notify.Queued) { ob.Enqueue(qs) }
	}
	var cmds timedCommands
	db, svc, ids := benchSetupWith(b, newDBWith(b, store.Options{Monitor: cmds.monitor()}), opts)
	fake := fcmfake.New()
	defer fake.Close()
	client, err := push.New(context.Background(), push.Options{CredentialsJSON: fake.ServiceAccountJSON("bench"), Endpoint: fake.Endpoint()})
	if err != nil {
		b.Fatal(err)
	}
	oopts := notify.OutboxOptions{BatchSize: batch}
	if !handOver { // only the queue knows the work: read it every round
		oopts.PollInterval, oopts.ScanEvery = time.Nanosecond, time.Nanosecond
	}
	ob = notify.NewOutbox(db, client, oopts, quiet)
	ctx, round, commandsSeen := context.Background(), 0, 0
	var busy time.Duration
	for b.Loop() {
		round++
		b.StopTimer()
		if err := svc.Notify(ctx, fanOut(ids, round)...); err != nil {
			b.Fatal(err)
		}
		seen, _ := cmds.take()
		cmds.summary(seen)
		b.StartTimer()
		start := time.Now()
		// Until FCM has the round: found by scanning, work waits for the
		// scan schedule (at least scanCost times the last read), which this
		// figure includes.
		for fake.Count() < round*len(ids) {
			n, err := ob.RunOnce(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if n == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		took := time.Since(start)
		busy += took
		seen, _ = cmds.take()
		commandsSeen += len(seen)
		if testing.Verbose() {
			fmt.Fprintf(os.Stderr, "round %d: %d commands in %v: %s\n", round, len(seen), took, cmds.summary(seen))
		}
	}
	if got, want := fake.Count(), round*len(ids); got != want {
		b.Fatalf("fake received %d, want %d", got, want)
	}
	b.ReportMetric(float64(round*len(ids))/busy.Seconds(), "msgs/s")
	b.ReportMetric(float64(commandsSeen)/float64(round*len(ids)), "commands/msg")
}
