package store_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/notify"
	"github.com/hyperlieu/hyperlieu/push"
	"github.com/hyperlieu/hyperlieu/store"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fakeSender records messages and fails the tokens it is told to.
type fakeSender struct {
	mu   sync.Mutex
	sent []push.Message
	errs map[string]error
}

func (f *fakeSender) Send(ctx context.Context, msgs []push.Message) ([]push.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rs := make([]push.Result, len(msgs))
	for i, m := range msgs {
		if err := f.errs[m.Token]; err != nil {
			rs[i].Err = err
			continue
		}
		f.sent = append(f.sent, m)
		rs[i].MessageID = fmt.Sprintf("projects/p/messages/%d", len(f.sent))
	}
	return rs, nil
}

func (f *fakeSender) messages() []push.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]push.Message(nil), f.sent...)
}

func newUser(t *testing.T, db *store.DB, name string, edit func(*hyperlieu.Preferences)) hyperlieu.User {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	u := hyperlieu.User{ID: hyperlieu.NewID(), Email: hyperlieu.NewID() + "@example.com", DisplayName: name,
		Roles: []hyperlieu.Role{hyperlieu.RoleCustomer}, Prefs: hyperlieu.DefaultPreferences("en", "UTC"), CreatedAt: now, UpdatedAt: now}
	u.Prefs.QuietHours = nil
	if edit != nil {
		edit(&u.Prefs)
	}
	if err := db.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func statusOf(t *testing.T, db *store.DB, id string) notify.Notification {
	t.Helper()
	n, err := db.FindNotification(context.Background(), id)
	if err != nil {
		t.Fatalf("FindNotification(%s): %v", id, err)
	}
	return n
}

func TestNotificationsNotify(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	svc := notify.NewService(db, notify.Options{}, quiet)
	u := newUser(t, db, "Ana", func(p *hyperlieu.Preferences) {
		p.Locale, p.Formality, p.MaxNotificationsPerDay = "fr", hyperlieu.Familiar, 2
		p.Categories = []string{hyperlieu.CategoryEvents}
	})
	var reqs []hyperlieu.NotificationRequest
	for i := range 3 {
		reqs = append(reqs, hyperlieu.NotificationRequest{UserID: u.ID, Kind: hyperlieu.KindEventAnnounced, Category: hyperlieu.CategoryEvents,
			Vars: map[string]string{"event": fmt.Sprint("Atelier ", i)}, Capped: true, DedupKey: fmt.Sprint("ev:", i)})
	}
	reqs = append(reqs,
		hyperlieu.NotificationRequest{UserID: u.ID, Kind: hyperlieu.KindOffer, Category: hyperlieu.CategoryOffers, DedupKey: "offer"},
		hyperlieu.NotificationRequest{UserID: u.ID, Kind: hyperlieu.KindGesture, Vars: map[string]string{"shop": "Lyon", "message": "Un café offert"}, DedupKey: "gesture"},
		hyperlieu.NotificationRequest{UserID: "nobody", Kind: hyperlieu.KindGesture},
	)
	if err := svc.Notify(ctx, reqs...); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	// The same requests again change nothing and spend no contact.
	if err := svc.Notify(ctx, reqs...); err != nil {
		t.Fatalf("Notify again: %v", err)
	}
	all, err := db.FindNotificationPage(ctx, notify.Query{UserID: u.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]notify.Status{}
	for _, n := range all {
		got[n.DedupKey] = n.Status
		if n.DedupKey == "gesture" && (n.Title != "Un geste de la boutique Lyon pour toi" || n.Body != "Un café offert") {
			t.Errorf("gesture rendered %q / %q, want the familiar French text", n.Title, n.Body)
		}
	}
	want := map[string]notify.Status{"ev:0": "pending", "ev:1": "pending", "ev:2": "suppressed", "offer": "suppressed", "gesture": "pending"}
	if len(all) != len(want) {
		t.Errorf("stored %d notifications, want %d", len(all), len(want))
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("status of %s = %q, want %q", k, got[k], w)
		}
	}
	if err := svc.Notify(ctx, hyperlieu.NotificationRequest{Kind: hyperlieu.KindOffer, Category: "spam"}); hyperlieu.KindOf(err) != hyperlieu.Invalid {
		t.Errorf("Notify(no user, bad category) = %v, want Invalid", err)
	}
}

func TestNotificationsReserveContactIsExact(t *testing.T) {
	db1, ctx := newDB(t), context.Background()
	// A second connection to the same database, as a second instance would have.
	db2, err := store.Open(ctx, uri, db1.Name(), store.Options{MaxPoolSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close(ctx)
	u := newUser(t, db1, "Ana", func(p *hyperlieu.Preferences) { p.MaxNotificationsPerDay = 3; p.Timezone = "Europe/Paris" })
	svcs := []*notify.Service{
		notify.NewService(db1, notify.Options{}, quiet),
		notify.NewService(db2, notify.Options{}, quiet),
	}
	at := time.Date(2025, 6, 1, 21, 30, 0, 0, time.UTC) // 23:30 in Paris
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for i := range 12 {
		wg.Go(func() {
			ok, err := svcs[i%2].ReserveContact(ctx, u, at)
			if err != nil {
				t.Errorf("ReserveContact: %v", err)
			}
			if ok {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if granted != 3 {
		t.Errorf("granted %d contacts, want exactly 3", granted)
	}
	// 22:30 UTC is already the next day in Paris: a fresh allowance.
	if ok, err := svcs[0].ReserveContact(ctx, u, at.Add(time.Hour)); !ok || err != nil {
		t.Errorf("ReserveContact(next day in Paris) = %v, %v, want true", ok, err)
	}
}

func TestNotificationsDevices(t *testing.T) {
	db, ctx := newDB(t), context.Background()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { now = now.Add(time.Second); return now }
	svc := notify.NewService(db, notify.Options{MaxDevices: 2, Now: clock}, quiet)
	a, b := newUser(t, db, "A", nil), newUser(t, db, "B", nil)
	for _, tok := range []string{"t1", "t2", "t3"} {
		if _, err := svc.RegisterDevice(ctx, a.ID, notify.DeviceInput{Token: tok, Platform: "android"}); err != nil {
			t.Fatal(err)
		}
	}
	tokens := func(u hyperlieu.User) []string {
		ds, err := db.FindDevices(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range ds {
			out = append(out, d.Token)
		}
		return out
	}
	if got := fmt.Sprint(tokens(a)); got != "[t3 t2]" {
		t.Errorf("devices of A = %v, want [t3 t2] (oldest dropped)", got)
	}
	if _, err := svc.RegisterDevice(ctx, b.ID, notify.DeviceInput{Token: "t2", Platform: "ios"}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(tokens(a), tokens(b)); got != "[t3] [t2]" {
		t.Errorf("devices after t2 changed hands = %v, want [t3] [t2]", got)
	}
	if err := svc.DeleteDevice(ctx, a.ID, "t2"); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("DeleteDevice(someone else's) = %v, want NotFound", err)
	}
	if _, err := svc.RegisterDevice(ctx, a.ID, notify.DeviceInput{Token: "", Platform: "nokia"}); hyperlieu.KindOf(err) != hyperlieu.Invalid {
		t.Errorf("RegisterDevice(bad) = %v, want Invalid", err)
	}
}

func TestNotificationsOutbox(t *testing.T) {
	db1, ctx := newDB(t), context.Background()
	db2, err := store.Open(ctx, uri, db1.Name(), store.Options{MaxPoolSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close(ctx)
	svc := notify.NewService(db1, notify.Options{}, quiet)
	sender := &fakeSender{errs: map[string]error{
		"dead":  fmt.Errorf("gone: %w", push.ErrUnregistered),
		"flaky": &push.TemporaryError{Code: "UNAVAILABLE"},
	}}
	const users = 40
	var reqs []hyperlieu.NotificationRequest
	var ids []hyperlieu.User
	for i := range users {
		u := newUser(t, db1, fmt.Sprint("U", i), nil)
		ids = append(ids, u)
		if _, err := svc.RegisterDevice(ctx, u.ID, notify.DeviceInput{Token: "tok-" + u.ID, Platform: "android"}); err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, hyperlieu.NotificationRequest{UserID: u.ID, Kind: hyperlieu.KindReward, Vars: map[string]string{"points": "10"}, DedupKey: "r:" + u.ID})
	}
	// The first user also has a dead device; the second only a flaky one.
	if _, err := svc.RegisterDevice(ctx, ids[0].ID, notify.DeviceInput{Token: "dead", Platform: "ios"}); err != nil {
		t.Fatal(err)
	}
	if err := db1.DeleteDeviceTokens(ctx, []string{"tok-" + ids[1].ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RegisterDevice(ctx, ids[1].ID, notify.DeviceInput{Token: "flaky", Platform: "web"}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Notify(ctx, reqs...); err != nil {
		t.Fatal(err)
	}

	// Two workers on two connections race for the same notifications.
	var failedMu sync.Mutex
	var failed []string
	opts := notify.OutboxOptions{BatchSize: 7, MaxAttempts: 3, RetryBase: time.Millisecond, MaxRetry: time.Millisecond, PollInterval: time.Millisecond,
		OnFailed: func(_ context.Context, n notify.Notification) {
			failedMu.Lock()
			defer failedMu.Unlock()
			failed = append(failed, n.ID)
		}}
	var wg sync.WaitGroup
	for i, db := range []*store.DB{db1, db2} {
		o := opts
		o.WorkerID = fmt.Sprint("w", i)
		ob := notify.NewOutbox(db, sender, o, quiet)
		wg.Go(func() {
			deadline := time.Now().Add(20 * time.Second)
			for idle := 0; idle < 5 && time.Now().Before(deadline); {
				n, err := ob.RunOnce(ctx)
				if err != nil {
					t.Errorf("RunOnce: %v", err)
					return
				}
				if n == 0 {
					idle++
					time.Sleep(5 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()

	perID := map[string]int{}
	for _, m := range sender.messages() {
		perID[m.ID]++
		if m.TTL <= 0 || m.TTL > 72*time.Hour {
			t.Errorf("TTL = %v, want within the default validity", m.TTL)
		}
	}
	for id, n := range perID {
		if n != 1 {
			t.Errorf("notification %s sent %d times, want once", id, n)
		}
	}
	if len(perID) != users-1 {
		t.Errorf("sent %d notifications, want %d", len(perID), users-1)
	}
	first := statusOf(t, db1, hyperlieuDedup(t, db1, ids[0]))
	if first.Status != notify.StatusSent || len(first.MessageIDs) != 1 {
		t.Errorf("first user's notification = %s with %v, want sent once", first.Status, first.MessageIDs)
	}
	if ds, _ := db1.FindDevices(ctx, ids[0].ID); len(ds) != 1 {
		t.Errorf("first user has %d devices, want 1 (dead token deleted)", len(ds))
	}
	flaky := statusOf(t, db1, hyperlieuDedup(t, db1, ids[1]))
	if flaky.Status != notify.StatusFailed || flaky.Attempts != 3 || flaky.LastError == "" {
		t.Errorf("flaky notification = %s after %d attempts (%q), want failed after 3 with an error", flaky.Status, flaky.Attempts, flaky.LastError)
	}
	if len(failed) != 1 || failed[0] != flaky.ID {
		t.Errorf("OnFailed told of %v, want only %s", failed, flaky.ID)
	}
}

// hyperlieuDedup returns the id of u's only notification.
func hyperlieuDedup(t *testing.T, db *store.DB, u hyperlieu.User) string {
	t.Helper()
	ns, err := db.FindNotificationPage(context.Background(), notify.Query{UserID: u.ID, Limit: 2})
	if err != nil || len(ns) != 1 {
		t.Fatalf("notifications of %s = %v, %v; want one", u.ID, ns, err)
	}
	return ns[0].ID
}

func TestNotificationsOutboxTakesOverExpiredLease(t *testing.T) {
	db, ctx := newDB(t), context.Background()
	svc := notify.NewService(db, notify.Options{}, quiet)
	u := newUser(t, db, "A", nil)
	if _, err := svc.RegisterDevice(ctx, u.ID, notify.DeviceInput{Token: "tok", Platform: "android"}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Notify(ctx, hyperlieu.NotificationRequest{UserID: u.ID, Kind: hyperlieu.KindWelcome}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	// A worker that dies mid-send: its sender never returns.
	crashed := notify.NewOutbox(db, blockingSender{}, notify.OutboxOptions{WorkerID: "crashed", Lease: time.Minute, Now: func() time.Time { return now }}, quiet)
	// Outcomes are recorded even when a round's context ends, so the crash
	// is a sender that never returns, on a goroutine left behind.
	go func() { _, _ = crashed.RunOnce(ctx) }()
	id := hyperlieuDedup(t, db, u)
	deadline := time.Now().Add(10 * time.Second)
	n := statusOf(t, db, id)
	for (n.Status != notify.StatusSending || n.LeaseOwner != "crashed") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		n = statusOf(t, db, id)
	}
	if n.Status != notify.StatusSending || n.LeaseOwner != "crashed" {
		t.Fatalf("after the crash: %s owned by %q, want sending by crashed", n.Status, n.LeaseOwner)
	}
	sender := &fakeSender{}
	for _, tt := range []struct {
		at   time.Duration
		sent int
	}{{30 * time.Second, 0}, {2 * time.Minute, 1}} {
		ob := notify.NewOutbox(db, sender, notify.OutboxOptions{WorkerID: "next", Now: func() time.Time { return now.Add(tt.at) }}, quiet)
		if _, err := ob.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if got := len(sender.messages()); got != tt.sent {
			t.Errorf("%v after the crash: sent %d, want %d", tt.at, got, tt.sent)
		}
	}
	if n := statusOf(t, db, id); n.Status != notify.StatusSent || n.Claim != 2 {
		t.Errorf("after takeover: %s with claim %d, want sent with claim 2", n.Status, n.Claim)
	}
}

type blockingSender struct{}

func (blockingSender) Send(ctx context.Context, _ []push.Message) ([]push.Result, error) {
	select {} // a worker that died mid-send never answers
}

func TestNotificationsPersonalData(t *testing.T) {
	db, ctx := newDB(t), context.Background()
	svc := notify.NewService(db, notify.Options{}, quiet)
	u, other := newUser(t, db, "A", nil), newUser(t, db, "B", nil)
	for _, x := range []hyperlieu.User{u, other} {
		if _, err := svc.RegisterDevice(ctx, x.ID, notify.DeviceInput{Token: "tok-" + x.ID, Platform: "ios"}); err != nil {
			t.Fatal(err)
		}
		if err := svc.Notify(ctx, hyperlieu.NotificationRequest{UserID: x.ID, Kind: hyperlieu.KindReward, Category: hyperlieu.CategoryLoyalty, Capped: true}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := svc.ExportUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d, n := got["devices"].([]any), got["notifications"].([]any); len(d) != 1 || len(n) != 1 {
		t.Errorf("ExportUser = %v, want one device and one notification", got)
	}
	for range 2 {
		if err := svc.EraseUser(ctx, u.ID); err != nil {
			t.Fatalf("EraseUser: %v", err)
		}
	}
	got, _ = svc.ExportUser(ctx, u.ID)
	if d, n := got["devices"].([]any), got["notifications"].([]any); len(d) != 0 || len(n) != 0 {
		t.Errorf("ExportUser after erase = %v, want nothing", got)
	}
	if got, _ := svc.ExportUser(ctx, other.ID); len(got["notifications"].([]any)) != 1 {
		t.Errorf("erasing A touched B: %v", got)
	}
}
