package store_test

import (
	"context"
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
