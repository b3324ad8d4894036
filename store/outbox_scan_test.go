package store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/event"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/notify"
	"github.com/hyperlieu/hyperlieu/store"
)

// TestOutboxReadsItsQueueOnlyWhenSomethingIsDue: the embedded database
// decodes the whole queue to read it, so the outbox reads it when it knows
// something there is due (a message it saw held for later, a retry), and
// otherwise every ScanEvery, for what only the queue knows (another
// instance's work).
func TestOutboxReadsItsQueueOnlyWhenSomethingIsDue(t *testing.T) {
	var reads atomic.Int64
	mon := &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		if e.CommandName == "find" && e.Command.Lookup("find").StringValue() == "outbox_queue" {
			reads.Add(1)
		}
	}}
	db := newDBWith(t, store.Options{Monitor: mon})
	ctx := context.Background()
	t0 := time.Now().UTC()
	var mu sync.Mutex
	at := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return at }
	set := func(d time.Duration) { mu.Lock(); at = t0.Add(d); mu.Unlock() }

	var ob *notify.Outbox
	here := notify.NewService(db, notify.Options{OnQueued: func(qs []notify.Queued) { ob.Enqueue(qs) }}, quiet)
	elsewhere := notify.NewService(db, notify.Options{}, quiet) // another instance: no hand-over
	sender := &fakeSender{}
	ob = notify.NewOutbox(db, sender, notify.OutboxOptions{Now: clock, PollInterval: time.Second, ScanEvery: 10 * time.Second}, quiet)
	u := newUser(t, db, "Ada", func(p *hyperlieu.Preferences) { p.QuietHours = nil })
	if _, err := here.RegisterDevice(ctx, u.ID, notify.DeviceInput{Token: "tok-ada", Platform: "android"}); err != nil {
		t.Fatal(err)
	}
	run := func(step string, d time.Duration, wantReads int64, wantSent int) {
		t.Helper()
		set(d)
		if _, err := ob.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if got := reads.Load(); got != wantReads {
			t.Errorf("%s: %d reads of the queue so far, want %d", step, got, wantReads)
		}
		if got := len(sender.messages()); got != wantSent {
			t.Errorf("%s: %d sent so far, want %d", step, got, wantSent)
		}
	}
	note := func(svc *notify.Service, key string, notBefore time.Time) {
		t.Helper()
		if err := svc.Notify(ctx, hyperlieu.NotificationRequest{UserID: u.ID, Kind: hyperlieu.KindEventAnnounced, Category: hyperlieu.CategoryEvents,
			Vars: map[string]string{"event": "Atelier", "shop": "Lyon", "when": "samedi"}, DedupKey: key, NotBefore: notBefore}); err != nil {
			t.Fatal(err)
		}
	}
	reads.Store(0) // the device's registration may read it too: not the outbox
	run("start", 0, 1, 0)
	note(here, "held", t0.Add(5*time.Second)) // held: this outbox saw it
	run("before it is due", 3*time.Second, 1, 0)
	run("when it is due", 5*time.Second, 2, 1)
	note(elsewhere, "other", time.Time{}) // due now, but only the queue knows
	run("within ScanEvery", 8*time.Second, 2, 1)
	run("ScanEvery after the last read", 15*time.Second, 3, 2)
	run("nothing known", 20*time.Second, 3, 2)
}

// queueCommands counts the outbox's reads of its queue that are not by _id,
// and the `$in` deletes of it.
func queueCommands(reads, ins *atomic.Int64) *event.CommandMonitor {
	return &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		switch {
		case e.CommandName == "find" && e.Command.Lookup("find").StringValue() == "outbox_queue" && scans("find", e.Command) != "":
			reads.Add(1)
		case e.CommandName == "delete" && e.Command.Lookup("delete").StringValue() == "outbox_queue" && scans("delete", e.Command) != "":
			ins.Add(1)
		}
	}}
}

// TestOutboxSendsABurstBeyondItsMemoryWithoutScanning: work handed over past
// what the outbox keeps whole is kept by id and read by _id in its turn, so
// a burst of thousands costs no read of the queue (which the embedded
// database answers by decoding all of it, once per batch before).
func TestOutboxSendsABurstBeyondItsMemoryWithoutScanning(t *testing.T) {
	var reads, ins atomic.Int64
	db := newDBWith(t, store.Options{Monitor: queueCommands(&reads, &ins)})
	ctx := context.Background()
	var ob *notify.Outbox
	svc := notify.NewService(db, notify.Options{OnQueued: func(qs []notify.Queued) { ob.Enqueue(qs) }}, quiet)
	sender := &fakeSender{}
	// Batches of one: memory keeps 100 whole, the rest by id.
	ob = notify.NewOutbox(db, sender, notify.OutboxOptions{BatchSize: 1, PollInterval: time.Hour, ScanEvery: time.Hour}, quiet)
	var reqs []hyperlieu.NotificationRequest
	for i := range 110 {
		u := newUser(t, db, "Ada", func(p *hyperlieu.Preferences) { p.QuietHours = nil })
		if _, err := svc.RegisterDevice(ctx, u.ID, notify.DeviceInput{Token: "tok-" + u.ID, Platform: "android"}); err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, hyperlieu.NotificationRequest{UserID: u.ID, Kind: hyperlieu.KindEventAnnounced, Category: hyperlieu.CategoryEvents,
			Vars: map[string]string{"event": "Atelier", "shop": "Lyon", "when": "samedi"}, DedupKey: fmt.Sprint("burst:", i)})
	}
	if _, err := ob.RunOnce(ctx); err != nil { // the first round reads the queue once: nothing known yet
		t.Fatal(err)
	}
	reads.Store(0)
	if err := svc.Notify(ctx, reqs...); err != nil {
		t.Fatal(err)
	}
	for range 200 {
		n, err := ob.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	if got := len(sender.messages()); got != len(reqs) {
		t.Errorf("sent %d, want %d", got, len(reqs))
	}
	if got := reads.Load(); got != 0 {
		t.Errorf("%d reads of the queue for work handed over, want 0", got)
	}
}

// slowQueue is the store with a queue read that takes d.
type slowQueue struct {
	*store.DB
	d     time.Duration
	reads atomic.Int64
}

func (s *slowQueue) FindDueNotifications(ctx context.Context, now time.Time, limit int) ([]notify.Notification, error) {
	s.reads.Add(1)
	time.Sleep(s.d)
	return s.DB.FindDueNotifications(ctx, now, limit)
}

// TestOutboxScanCostIsBounded: a queue that takes long to read (a night of
// messages held for quiet hours) is read, when nothing is known due, at
// most once per 20 times that read's length, not every ScanEvery.
func TestOutboxScanCostIsBounded(t *testing.T) {
	st := &slowQueue{DB: newDB(t), d: 100 * time.Millisecond}
	ctx := context.Background()
	t0 := time.Now().UTC()
	var mu sync.Mutex
	at := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return at }
	set := func(d time.Duration) { mu.Lock(); at = t0.Add(d); mu.Unlock() }
	ob := notify.NewOutbox(st, &fakeSender{}, notify.OutboxOptions{Now: clock, PollInterval: time.Second, ScanEvery: time.Second}, quiet)
	for _, step := range []struct {
		at    time.Duration
		reads int64
	}{{0, 1}, {1500 * time.Millisecond, 1}, {time.Minute, 2}} {
		set(step.at)
		if _, err := ob.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if got := st.reads.Load(); got != step.reads {
			t.Errorf("at %v: %d reads of the queue, want %d (a read of 100 ms waits ≥ 2 s, over ScanEvery 1 s)", step.at, got, step.reads)
		}
	}
}

// TestOutboxDeletesByIDBehindABacklog: taking finished work out of a queue
// that holds much else (a backlog) goes by _id, since a `$in` decodes the
// whole queue; out of a queue holding little else, by one `$in`.
func TestOutboxDeletesByIDBehindABacklog(t *testing.T) {
	var reads, ins atomic.Int64
	db := newDBWith(t, store.Options{Monitor: queueCommands(&reads, &ins)})
	ctx := context.Background()
	svc := notify.NewService(db, notify.Options{}, quiet)
	var reqs []hyperlieu.NotificationRequest
	for i := range 300 {
		u := newUser(t, db, "Ada", nil)
		reqs = append(reqs, hyperlieu.NotificationRequest{UserID: u.ID, Kind: hyperlieu.KindEventAnnounced, Category: hyperlieu.CategoryEvents,
			Vars: map[string]string{"event": "Atelier", "shop": "Lyon", "when": "samedi"}, DedupKey: fmt.Sprint("backlog:", i)})
	}
	if err := svc.Notify(ctx, reqs...); err != nil {
		t.Fatal(err)
	}
	ns, err := db.FindDueNotifications(ctx, time.Now().Add(time.Hour), 1000)
	if err != nil || len(ns) != len(reqs) {
		t.Fatalf("queue: %d, %v; want %d", len(ns), err, len(reqs))
	}
	ids := make([]string, len(ns))
	for i, n := range ns {
		ids[i] = n.ID
	}
	if err := db.DeleteQueued(ctx, ids[:55]); err != nil { // 300 queued: more than 5 a deleted one
		t.Fatal(err)
	}
	if got := ins.Load(); got != 0 {
		t.Errorf("behind a backlog: %d `$in` deletes, want 0 (by _id)", got)
	}
	if err := db.DeleteQueued(ctx, ids[55:]); err != nil { // the rest: the queue holds nothing else
		t.Fatal(err)
	}
	if got := ins.Load(); got != 1 {
		t.Errorf("the whole rest: %d `$in` deletes, want 1", got)
	}
	if left, err := db.FindDueNotifications(ctx, time.Now().Add(time.Hour), 1000); err != nil || len(left) != 0 {
		t.Errorf("queue after both: %d left, %v; want 0", len(left), err)
	}
}
