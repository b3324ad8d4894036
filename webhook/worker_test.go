package webhook_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/webhook"
)

// memStore is webhook.Store in memory, with the database's keyed semantics.
type memStore struct {
	mu        sync.Mutex
	events    []webhook.Event
	keys      map[string]bool
	endpoints map[string]webhook.Endpoint
	queue     map[string]webhook.Delivery
	done      map[string]webhook.Delivery
	claims    map[string]time.Time
	slots     map[string]string
	reads     int // of the whole queue
}

func newMemStore() *memStore {
	return &memStore{keys: map[string]bool{}, endpoints: map[string]webhook.Endpoint{}, queue: map[string]webhook.Delivery{},
		done: map[string]webhook.Delivery{}, claims: map[string]time.Time{}, slots: map[string]string{}}
}

func (m *memStore) lock() func() { m.mu.Lock(); return m.mu.Unlock }

var errNotFound = hyperlieu.Errorf(hyperlieu.NotFound, "not found")
var errConflict = hyperlieu.Errorf(hyperlieu.Conflict, "exists")

func (m *memStore) CreateWebhookEvent(_ context.Context, e webhook.Event) error {
	defer m.lock()()
	m.events = append(m.events, e)
	return nil
}
func (m *memStore) CreateWebhookKey(_ context.Context, k string) error {
	defer m.lock()()
	m.keys[k] = true
	return nil
}
func (m *memStore) FindWebhookKey(_ context.Context, k string) (bool, error) {
	defer m.lock()()
	return m.keys[k], nil
}
func (m *memStore) FindWebhookEventsBetween(context.Context, string, string, int) ([]webhook.Event, error) {
	return nil, nil
}
func (m *memStore) EraseUserEvents(context.Context, string) error { return nil }
func (m *memStore) CreateWebhookEndpoint(_ context.Context, e webhook.Endpoint) error {
	defer m.lock()()
	m.endpoints[e.ID] = e
	return nil
}
func (m *memStore) FindWebhookEndpoints(context.Context) ([]webhook.Endpoint, error) {
	defer m.lock()()
	var out []webhook.Endpoint
	for _, e := range m.endpoints {
		out = append(out, e)
	}
	return out, nil
}
func (m *memStore) UpdateWebhookEndpointState(_ context.Context, e webhook.Endpoint) error {
	defer m.lock()()
	cur, ok := m.endpoints[e.ID]
	if !ok {
		return errNotFound
	}
	cur.Paused, cur.PausedReason, cur.PausedAt, cur.FailingSince = e.Paused, e.PausedReason, e.PausedAt, e.FailingSince
	m.endpoints[e.ID] = cur
	return nil
}
func (m *memStore) DeleteWebhookEndpoint(_ context.Context, id string) error {
	defer m.lock()()
	for k, d := range m.queue {
		if d.EndpointID == id {
			delete(m.queue, k)
		}
	}
	if _, ok := m.endpoints[id]; !ok {
		return errNotFound
	}
	delete(m.endpoints, id)
	return nil
}
func (m *memStore) CreateWebhookDelivery(_ context.Context, d webhook.Delivery) error {
	defer m.lock()()
	if _, ok := m.queue[d.ID]; ok {
		return errConflict
	}
	m.queue[d.ID] = d
	return nil
}
func (m *memStore) FindQueuedWebhookDeliveries(context.Context) ([]webhook.Delivery, error) {
	defer m.lock()()
	m.reads++
	var out []webhook.Delivery
	for _, d := range m.queue {
		out = append(out, d)
	}
	return out, nil
}
func (m *memStore) FindQueuedWebhookDelivery(_ context.Context, id string) (webhook.Delivery, error) {
	defer m.lock()()
	if d, ok := m.queue[id]; ok {
		return d, nil
	}
	return webhook.Delivery{}, errNotFound
}
func (m *memStore) UpdateQueuedWebhookDelivery(_ context.Context, d webhook.Delivery) error {
	defer m.lock()()
	if _, ok := m.queue[d.ID]; !ok {
		return errNotFound
	}
	m.queue[d.ID] = d
	return nil
}
func (m *memStore) FinishWebhookDelivery(_ context.Context, d webhook.Delivery) error {
	defer m.lock()()
	m.done[d.ID] = d
	delete(m.queue, d.ID)
	return nil
}
func (m *memStore) FindWebhookDelivery(_ context.Context, id string) (webhook.Delivery, error) {
	defer m.lock()()
	if d, ok := m.done[id]; ok {
		return d, nil
	}
	return webhook.Delivery{}, errNotFound
}
func (m *memStore) CreateWebhookSlot(_ context.Context, endpoint string, n int, id string) error {
	defer m.lock()()
	k := endpoint + "#" + strconv.Itoa(n)
	if _, ok := m.slots[k]; ok {
		return errConflict
	}
	m.slots[k] = id
	return nil
}
func (m *memStore) FindWebhookSlot(_ context.Context, endpoint string, n int) (string, error) {
	defer m.lock()()
	if id, ok := m.slots[endpoint+"#"+strconv.Itoa(n)]; ok {
		return id, nil
	}
	return "", errNotFound
}
func (m *memStore) CreateWebhookClaim(_ context.Context, id string, seq int, until time.Time) error {
	defer m.lock()()
	k := id + "#" + strconv.Itoa(seq)
	if _, ok := m.claims[k]; ok {
		return errConflict
	}
	m.claims[k] = until
	return nil
}
func (m *memStore) FindWebhookClaim(_ context.Context, id string, seq int) (time.Time, error) {
	defer m.lock()()
	if u, ok := m.claims[id+"#"+strconv.Itoa(seq)]; ok {
		return u, nil
	}
	return time.Time{}, errNotFound
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newClock() *clock               { return &clock{t: time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)} }
func quiet() *slog.Logger            { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
func adminActor() hyperlieu.Actor {
	return hyperlieu.Actor{UserID: "a", Roles: []hyperlieu.Role{hyperlieu.RoleAdmin}}
}
func rsvp(user string) webhook.Keyed {
	return webhook.Keyed{Event: webhook.Event{Type: webhook.RSVP, Data: map[string]string{"userId": user}}}
}

// hookServer answers status (set under mu) and counts attempts by delivery id,
// refusing requests whose signature does not verify at the clock's time.
type hookServer struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	tries  map[string]int
	bad    int
}

func newHookServer(t *testing.T, secret string, c *clock) *hookServer {
	h := &hookServer{status: http.StatusOK, tries: map[string]int{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if webhook.Verify(secret, r.Header.Get(webhook.SignatureHeader), b, c.now(), webhook.Tolerance) != nil {
			h.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		h.tries[r.Header.Get(webhook.DeliveryHeader)]++
		w.WriteHeader(h.status)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) set(status int) { h.mu.Lock(); h.status = status; h.mu.Unlock() }

func setup(t *testing.T) (*webhook.Service, *memStore, *clock, *hookServer, webhook.Endpoint) {
	t.Helper()
	st, c := newMemStore(), newClock()
	svc := webhook.NewService(st, webhook.Options{Now: c.now})
	h := newHookServer(t, "0123456789abcdef-secret", c)
	ep, err := svc.CreateEndpoint(context.Background(), adminActor(), webhook.EndpointInput{URL: h.URL, Types: []string{"rsvp"}, Secret: "0123456789abcdef-secret"})
	if err != nil {
		t.Fatal(err)
	}
	return svc, st, c, h, ep
}

func TestCreateEndpointValidates(t *testing.T) {
	svc := webhook.NewService(newMemStore(), webhook.Options{})
	ctx := context.Background()
	for _, c := range []struct {
		in    webhook.EndpointInput
		field string
	}{
		{webhook.EndpointInput{URL: "mailto:a@b.c", Types: []string{"rsvp"}}, "url"},
		{webhook.EndpointInput{URL: "https://", Types: []string{"rsvp"}}, "url"},
		{webhook.EndpointInput{URL: "https://a.example/x#frag", Types: []string{"rsvp"}}, "url"},
		{webhook.EndpointInput{URL: "https://a.example/x", Types: []string{"rsvp", "order.paid"}}, "types"},
		{webhook.EndpointInput{URL: "https://a.example/x"}, "types"},
		{webhook.EndpointInput{URL: "https://a.example/x", Types: []string{"rsvp"}, Secret: "with spaces in it, long"}, "secret"},
	} {
		_, err := svc.CreateEndpoint(ctx, adminActor(), c.in)
		var he *hyperlieu.Error
		if !errors.As(err, &he) || he.Kind != hyperlieu.Invalid || len(he.Fields) == 0 || he.Fields[0].Field != c.field {
			t.Errorf("CreateEndpoint(%+v) = %v, want Invalid naming %s", c.in, err, c.field)
		}
	}
	if _, err := svc.CreateEndpoint(ctx, hyperlieu.Actor{UserID: "m", Roles: []hyperlieu.Role{hyperlieu.RoleMarketer}},
		webhook.EndpointInput{URL: "https://a.example/x", Types: []string{"rsvp"}}); hyperlieu.KindOf(err) != hyperlieu.Forbidden {
		t.Errorf("a marketer's CreateEndpoint = %v, want Forbidden", err)
	}
	ep, err := svc.CreateEndpoint(ctx, adminActor(), webhook.EndpointInput{URL: "https://a.example/x", Types: []string{"rsvp", "rsvp"}})
	if err != nil || !strings.HasPrefix(ep.Secret, "whsec_") || len(ep.Types) != 1 {
		t.Fatalf("CreateEndpoint = %+v, %v; want a made secret and one type", ep, err)
	}
	list, err := svc.Endpoints(ctx, adminActor())
	if err != nil || len(list) != 1 || list[0].Secret != "" {
		t.Errorf("Endpoints = %+v, %v; want one, without its secret", list, err)
	}
}

// A failing endpoint's delivery is retried after the backoff, dead-lettered
// after MaxAttempts; the endpoint, failing past AutoPauseAfter, is paused,
// and a paused endpoint is queued nothing new.
func TestWorkerRetriesDeadLettersAndPauses(t *testing.T) {
	obs := &countObserver{}
	svc, st, c, h, ep := setup(t)
	w := webhook.NewWorker(svc, webhook.WorkerOptions{MaxAttempts: 3, RetryBase: time.Second, RetryMax: time.Minute,
		AutoPauseAfter: 90 * time.Second, Observer: obs, Now: c.now}, quiet())
	ctx := context.Background()
	h.set(http.StatusInternalServerError)
	if err := svc.Publish(ctx, rsvp("u1")); err != nil {
		t.Fatal(err)
	}
	if n, err := w.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("RunOnce = %d, %v; want 1 due", n, err)
	}
	if n, _ := w.RunOnce(ctx); n != 0 {
		t.Errorf("RunOnce right after a failure attempted %d, want 0 (backing off)", n)
	}
	c.add(time.Minute)
	w.RunOnce(ctx) // second failure: failing 60s, not yet paused
	list, _ := svc.Endpoints(ctx, adminActor())
	if list[0].Paused || list[0].FailingSince.IsZero() {
		t.Errorf("after 60s of failures endpoint = %+v, want failing, not paused", list[0])
	}
	c.add(time.Minute)
	w.RunOnce(ctx) // third: dead, and failing 120s pauses it
	ds, _, err := svc.Deliveries(ctx, adminActor(), ep.ID, "", 0)
	if err != nil || len(ds) != 1 || ds[0].Status != webhook.Dead || ds[0].Attempts != 3 || ds[0].LastError != "HTTP 500" {
		t.Fatalf("Deliveries = %+v, %v; want one dead after 3 attempts, HTTP 500", ds, err)
	}
	list, _ = svc.Endpoints(ctx, adminActor())
	if !list[0].Paused || list[0].PausedReason != webhook.PausedFailing {
		t.Errorf("endpoint = %+v, want paused for failing", list[0])
	}
	if obs.counts["failed"] != 3 || obs.counts["retried"] != 2 || obs.counts["dead"] != 1 || obs.paused != 1 {
		t.Errorf("observed %v, %d paused; want 3 failed, 2 retried, 1 dead, 1 paused", obs.counts, obs.paused)
	}
	svc.Publish(ctx, rsvp("u2"))
	if len(st.queue) != 0 {
		t.Errorf("queued %d for a paused endpoint, want 0", len(st.queue))
	}
	// Replayed and resumed, it goes out once the receiver answers.
	h.set(http.StatusOK)
	if _, err := svc.Replay(ctx, adminActor(), ep.ID, ds[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Replay(ctx, adminActor(), ep.ID, ds[0].ID); hyperlieu.KindOf(err) != hyperlieu.Conflict {
		t.Errorf("second Replay = %v, want Conflict while queued", err)
	}
	if n, _ := w.RunOnce(ctx); n != 0 {
		t.Errorf("a paused endpoint's replay was attempted")
	}
	svc.SetEndpointPaused(ctx, adminActor(), ep.ID, false)
	w.RunOnce(ctx)
	if d, err := st.FindWebhookDelivery(ctx, ds[0].ID); err != nil || d.Status != webhook.Delivered || d.Attempts != 1 || h.bad != 0 {
		t.Errorf("after resume = %+v, %v (%d bad signatures); want delivered in 1 attempt", d, err, h.bad)
	}
}

// Two workers racing on one delivery send it once; a claim whose holder
// died is superseded once its lease lapsed.
func TestWorkersClaimOnce(t *testing.T) {
	svc, st, c, h, _ := setup(t)
	ctx := context.Background()
	svc.Publish(ctx, rsvp("u1"))
	w1 := webhook.NewWorker(svc, webhook.WorkerOptions{Now: c.now}, quiet())
	w2 := webhook.NewWorker(svc, webhook.WorkerOptions{Now: c.now}, quiet())
	var wg sync.WaitGroup
	for _, w := range []*webhook.Worker{w1, w2} {
		wg.Add(1)
		go func() { defer wg.Done(); w.RunOnce(ctx) }()
	}
	wg.Wait()
	h.mu.Lock()
	total := 0
	for _, n := range h.tries {
		total += n
	}
	h.mu.Unlock()
	if total != 1 {
		t.Errorf("two workers sent %d times, want once", total)
	}

	// A dead worker's claim #1 on a second delivery, lease running.
	svc.Publish(ctx, rsvp("u2"))
	var id string
	for k := range st.queue {
		id = k
	}
	st.CreateWebhookClaim(ctx, id, 1, c.now().Add(30*time.Second))
	if w1.RunOnce(ctx); len(st.queue) != 1 {
		t.Fatalf("a delivery under another's live claim was sent")
	}
	c.add(31 * time.Second)
	w1.RunOnce(ctx)
	if d, err := st.FindWebhookDelivery(ctx, id); err != nil || d.Status != webhook.Delivered || d.Claim != 2 {
		t.Errorf("after the lease lapsed = %+v, %v; want delivered under claim 2", d, err)
	}
}

type countObserver struct {
	mu     sync.Mutex
	counts map[string]int
	paused int
}

func (o *countObserver) WebhookAttempted(r string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.counts == nil {
		o.counts = map[string]int{}
	}
	o.counts[r]++
}

func (o *countObserver) WebhookEndpointPaused() { o.mu.Lock(); o.paused++; o.mu.Unlock() }

// A delivery another instance queued for an endpoint deleted meanwhile is
// dropped once it is old enough, not kept in the queue for ever.
func TestWorkerDropsOrphans(t *testing.T) {
	svc, st, c, _, _ := setup(t)
	ctx := context.Background()
	w := webhook.NewWorker(svc, webhook.WorkerOptions{Now: c.now}, quiet())
	st.CreateWebhookDelivery(ctx, webhook.Delivery{ID: "e1.gone", EndpointID: "gone", Status: webhook.Pending, NextAt: c.now(), CreatedAt: c.now()})
	w.RunOnce(ctx)
	if len(st.queue) != 1 {
		t.Fatalf("a fresh delivery of an unknown endpoint was dropped")
	}
	c.add(2 * time.Minute)
	w.RunOnce(ctx)
	if len(st.queue) != 0 {
		t.Errorf("queue = %v, want the orphan dropped", st.queue)
	}
}

// The backlog gauge reads what the worker's last round saw, less what it
// finished: a scrape while the worker runs reads nothing (issue 15).
func TestWorkerBacklogFromItsRound(t *testing.T) {
	svc, st, c, h, _ := setup(t)
	w := webhook.NewWorker(svc, webhook.WorkerOptions{Poll: time.Hour, RetryBase: time.Second, Now: c.now}, quiet())
	ctx := context.Background()
	if n, _, err := w.Backlog(ctx); n != 0 || err != nil || st.reads != 1 {
		t.Errorf("Backlog before any round = %d, %v after %d reads; want 0 from one read", n, err, st.reads)
	}
	h.set(http.StatusInternalServerError)
	svc.Publish(ctx, rsvp("u1"), rsvp("u2"))
	queuedAt := c.now()
	w.RunOnce(ctx)
	reads := st.reads
	n, oldest, err := w.Backlog(ctx)
	if n != 2 || !oldest.Equal(queuedAt) || err != nil || st.reads != reads {
		t.Errorf("Backlog = %d, %v, %v after %d more reads; want 2 failing, queued at %v, no read", n, oldest, err, st.reads-reads, queuedAt)
	}
	h.set(http.StatusOK)
	c.add(time.Minute)
	w.RunOnce(ctx)
	reads = st.reads
	if n, _, _ := w.Backlog(ctx); n != 0 || st.reads != reads {
		t.Errorf("Backlog after delivering = %d after %d more reads; want 0, no read", n, st.reads-reads)
	}
	c.add(3 * time.Hour) // the worker stopped polling: read again
	if n, _, _ := w.Backlog(ctx); n != 0 || st.reads != reads+1 {
		t.Errorf("Backlog with no recent round = %d after %d more reads; want 0 from one read", n, st.reads-reads)
	}
}

// The admin's list is each endpoint's numbered slots read newest first, in
// pages; a second instance (its own hints) numbers on where the first
// stopped; a replay keeps its place; another endpoint's delivery is not
// found, queued or not.
func TestDeliveriesListedAndReplayedPerEndpoint(t *testing.T) {
	svc, st, c, h, ep := setup(t)
	ctx := context.Background()
	other, err := svc.CreateEndpoint(ctx, adminActor(), webhook.EndpointInput{URL: h.URL, Types: []string{"rsvp"}, Secret: "0123456789abcdef-secret"})
	if err != nil {
		t.Fatal(err)
	}
	second := webhook.NewService(st, webhook.Options{Now: c.now})
	if err := second.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		p := svc
		if i%2 == 1 {
			p = second
		}
		if err := p.Publish(ctx, rsvp("u"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
		c.add(time.Millisecond)
	}
	var got []string
	for before, pages := "", 0; pages < 5; pages++ {
		ds, next, err := second.Deliveries(ctx, adminActor(), ep.ID, before, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.EndpointID != ep.ID {
				t.Errorf("listed %s of another endpoint", d.ID)
			}
			got = append(got, d.Event.Data["userId"])
		}
		if before = next; next == "" {
			break
		}
	}
	if strings.Join(got, ",") != "u4,u3,u2,u1,u0" {
		t.Errorf("listed %v, want u4..u0, newest first", got)
	}
	w := webhook.NewWorker(svc, webhook.WorkerOptions{Now: c.now}, quiet())
	if n, err := w.RunOnce(ctx); n != 10 || err != nil {
		t.Fatalf("RunOnce = %d, %v; want 10", n, err)
	}
	ds, _, _ := svc.Deliveries(ctx, adminActor(), ep.ID, "", 1)
	mine, theirs := ds[0], webhook.DeliveryID(ds[0].Event.ID, other.ID)
	if _, err := svc.Replay(ctx, adminActor(), ep.ID, theirs); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("replaying another endpoint's finished delivery = %v, want NotFound", err)
	}
	if _, err := svc.Replay(ctx, adminActor(), other.ID, theirs); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Replay(ctx, adminActor(), ep.ID, theirs); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("replaying another endpoint's queued delivery = %v, want NotFound", err)
	}
	if _, err := svc.Replay(ctx, adminActor(), other.ID, theirs); hyperlieu.KindOf(err) != hyperlieu.Conflict {
		t.Errorf("replaying a queued delivery again = %v, want Conflict", err)
	}
	if _, err := svc.Replay(ctx, adminActor(), ep.ID, mine.ID); err != nil {
		t.Fatal(err)
	}
	ds, _, _ = second.Deliveries(ctx, adminActor(), ep.ID, "", 10)
	if len(ds) != 5 || ds[0].ID != mine.ID || ds[0].Status != webhook.Pending {
		t.Errorf("after replay: %d listed, first %+v; want 5, the replayed one first and pending", len(ds), ds[0])
	}
}
