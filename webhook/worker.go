package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// Headers of a delivery besides SignatureHeader.
const (
	DeliveryHeader = "Hyperlieu-Delivery" // the delivery id: the same on every attempt
	EventHeader    = "Hyperlieu-Event"    // the event type
)

// Observer counts deliveries; metrics.Metrics is one.
type Observer interface {
	// WebhookAttempted counts one attempt's outcome: "sent" (a 2xx),
	// "failed" (anything else), then for a failure "retried" (another
	// attempt is scheduled) or "dead" (dead-lettered).
	WebhookAttempted(result string)
	// WebhookEndpointPaused counts an endpoint paused for failing.
	WebhookEndpointPaused()
}

// WorkerOptions tune the worker. Zero fields take defaults.
type WorkerOptions struct {
	Concurrency    int           // attempts in flight; default 4
	Poll           time.Duration // how often the queue is read; default 1s
	Lease          time.Duration // a claim's exclusive right to send; default 30s, must exceed Timeout
	Timeout        time.Duration // one request; default 10s
	MaxAttempts    int           // attempts before a dead letter; default 8
	RetryBase      time.Duration // Backoff's base; default 10s
	RetryMax       time.Duration // Backoff's ceiling; default 1h
	AutoPauseAfter time.Duration // failing this long pauses the endpoint; default 24h
	Client         *http.Client  // default: one with no redirects followed
	Observer       Observer
	Now            func() time.Time
}

func (o *WorkerOptions) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Poll, time.Second)
	def(&o.Timeout, 10*time.Second)
	def(&o.Lease, 30*time.Second)
	def(&o.RetryBase, 10*time.Second)
	def(&o.RetryMax, time.Hour)
	def(&o.AutoPauseAfter, 24*time.Hour)
	if o.Lease <= o.Timeout {
		o.Lease = o.Timeout + 5*time.Second
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.Client == nil {
		// A redirect is an answer: following it would send the signed body
		// to a place the admin did not register.
		o.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Worker sends queued deliveries. Several, in several instances, may run
// on one queue: a delivery is attempted by whoever wins its next claim, a
// keyed insert "<delivery id>#<n>"; a claim whose lease ended (its holder
// died) is superseded by claim n+1. The one duplicate left is a crash
// after the receiver answered but before the outcome was recorded: the
// receiver deduplicates on the delivery id.
type Worker struct {
	svc  *Service
	opts WorkerOptions
	log  *slog.Logger

	mu   sync.Mutex
	seen seenQueue // the queue as the last round left it, for Backlog
}

// seenQueue is the queue as a round read it, less what the round finished.
type seenQueue struct {
	at      time.Time            // when it was read; zero before the first round
	created map[string]time.Time // queued delivery id → when it was queued
}

// NewWorker returns a worker over svc's store and endpoints.
func NewWorker(svc *Service, opts WorkerOptions, log *slog.Logger) *Worker {
	opts.defaults()
	return &Worker{svc: svc, opts: opts, log: log}
}

// Run polls the queue until ctx is done. Each round also refreshes the
// endpoints, so pauses and deletions made elsewhere apply within a poll.
func (w *Worker) Run(ctx context.Context) {
	hyperlieu.Every(ctx, w.opts.Poll, true, w.log, "webhook deliveries", func(ctx context.Context) error {
		_, err := w.RunOnce(ctx)
		return err
	})
}

// orphanAge is how old a queued delivery of an endpoint unknown after a
// refresh must be to be dropped: another instance, not yet refreshed, may
// have queued it for an endpoint deleted meanwhile; a younger one may be of
// an endpoint created since this refresh.
const orphanAge = time.Minute

// RunOnce attempts the due deliveries once, and returns how many were due.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	if err := w.svc.Refresh(ctx); err != nil {
		return 0, err
	}
	q, err := w.svc.store.FindQueuedWebhookDeliveries(ctx)
	if err != nil {
		return 0, fmt.Errorf("read webhook queue: %w", err)
	}
	now := w.opts.Now()
	w.saw(q, now)
	var due []Delivery
	orphans := map[string]bool{}
	for _, d := range q {
		ep, ok := w.svc.lookup(d.EndpointID)
		switch {
		case !ok && now.Sub(d.CreatedAt) > orphanAge:
			orphans[d.EndpointID] = true
		case ok && !ep.Paused && !d.NextAt.After(now) && !d.LeaseUntil.After(now):
			due = append(due, d)
		}
	}
	for id := range orphans {
		if err := w.svc.store.DeleteWebhookEndpoint(ctx, id); err != nil && hyperlieu.KindOf(err) != hyperlieu.NotFound {
			return 0, fmt.Errorf("drop deliveries of a deleted endpoint: %w", err)
		}
	}
	sort.Slice(due, func(i, j int) bool { return due[i].NextAt.Before(due[j].NextAt) })
	sem := make(chan struct{}, w.opts.Concurrency)
	var wg sync.WaitGroup
	for _, d := range due {
		if ctx.Err() != nil {
			break // stopping: what is left is attempted after the restart
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := w.attempt(ctx, d); err != nil && ctx.Err() == nil {
				w.log.ErrorContext(ctx, "webhook delivery", "delivery", d.ID, "err", err)
			}
		}()
	}
	wg.Wait()
	return len(due), nil
}

// Backlog returns how many deliveries are queued and when the oldest was
// queued (dead letters are not in the queue), for the metrics: as the last
// round read the queue, less what it finished, when that round is at most
// two polls old; else from a read of the queue (issue 15: a scrape costs
// no command while the worker runs).
func (w *Worker) Backlog(ctx context.Context) (int, time.Time, error) {
	w.mu.Lock()
	fresh := !w.seen.at.IsZero() && w.opts.Now().Sub(w.seen.at) <= 2*w.opts.Poll
	n, oldest := len(w.seen.created), oldestOf(w.seen.created)
	w.mu.Unlock()
	if fresh {
		return n, oldest, nil
	}
	q, err := w.svc.store.FindQueuedWebhookDeliveries(ctx)
	if err != nil {
		return 0, time.Time{}, err
	}
	created := make(map[string]time.Time, len(q))
	for _, d := range q {
		created[d.ID] = d.CreatedAt
	}
	return len(q), oldestOf(created), nil
}

// saw records the queue a round read at now.
func (w *Worker) saw(q []Delivery, now time.Time) {
	created := make(map[string]time.Time, len(q))
	for _, d := range q {
		created[d.ID] = d.CreatedAt
	}
	w.mu.Lock()
	w.seen = seenQueue{at: now, created: created}
	w.mu.Unlock()
}

// finished takes delivery id out of the queue the last round read.
func (w *Worker) finished(id string) {
	w.mu.Lock()
	delete(w.seen.created, id)
	w.mu.Unlock()
}

func oldestOf(created map[string]time.Time) time.Time {
	var oldest time.Time
	for _, at := range created {
		if oldest.IsZero() || at.Before(oldest) {
			oldest = at
		}
	}
	return oldest
}

// attempt claims d, sends it, and records the outcome.
func (w *Worker) attempt(ctx context.Context, d Delivery) error {
	d, ok, err := w.claim(ctx, d)
	if err != nil || !ok {
		return err
	}
	ep, ok := w.svc.lookup(d.EndpointID)
	if !ok {
		return nil // deleted meanwhile; the deletion takes its deliveries
	}
	// A request under way, and its outcome, finish even if the server is
	// stopping: shutdown waits for them rather than count a failure.
	rec, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*w.opts.Timeout)
	defer cancel()
	sendErr := w.send(rec, ep, d)
	now := w.opts.Now().UTC()
	d.Attempts++
	d.LeaseUntil = time.Time{}
	if sendErr == nil {
		w.observe("sent")
		d.Status, d.LastError, d.DoneAt = Delivered, "", now
		if err := w.svc.store.FinishWebhookDelivery(rec, d); err != nil {
			return err
		}
		w.finished(d.ID)
		return w.endpointAnswered(rec, ep, now, true)
	}
	w.observe("failed")
	d.LastError = sendErr.Error()
	if d.Attempts >= w.opts.MaxAttempts {
		w.observe("dead")
		d.Status, d.DoneAt = Dead, now
		w.log.WarnContext(rec, "webhook delivery dead-lettered", "delivery", d.ID, "endpoint", ep.ID, "attempts", d.Attempts, "lastError", d.LastError)
		if err := w.svc.store.FinishWebhookDelivery(rec, d); err != nil {
			return err
		}
		w.finished(d.ID)
	} else {
		w.observe("retried")
		d.NextAt = now.Add(Backoff(w.opts.RetryBase, w.opts.RetryMax, d.Attempts, rand.Float64()))
		if err := w.svc.store.UpdateQueuedWebhookDelivery(rec, d); err != nil && hyperlieu.KindOf(err) != hyperlieu.NotFound {
			return err
		}
	}
	return w.endpointAnswered(rec, ep, now, false)
}

// claim takes d's next claim; false when another worker holds it or d left
// the queue. The returned copy is read after the claim was won.
func (w *Worker) claim(ctx context.Context, d Delivery) (Delivery, bool, error) {
	now := w.opts.Now()
	until := now.Add(w.opts.Lease)
	seq := d.Claim + 1
	for round := 0; ; round++ {
		err := w.svc.store.CreateWebhookClaim(ctx, d.ID, seq, until)
		if err == nil {
			break
		}
		if hyperlieu.KindOf(err) != hyperlieu.Conflict {
			return d, false, err
		}
		if round == 2 {
			return d, false, nil // contended: the next poll tries again
		}
		// Someone took claim seq: still theirs unless it lapsed.
		held, err := w.svc.store.FindWebhookClaim(ctx, d.ID, seq)
		if err != nil && hyperlieu.KindOf(err) != hyperlieu.NotFound {
			return d, false, err
		}
		if held.After(now) {
			return d, false, nil
		}
		seq++
	}
	fresh, err := w.svc.store.FindQueuedWebhookDelivery(ctx, d.ID)
	if hyperlieu.KindOf(err) == hyperlieu.NotFound {
		return d, false, nil // finished by another worker
	}
	if err != nil {
		return d, false, err
	}
	if fresh.Claim >= seq || fresh.NextAt.After(now) {
		return d, false, nil
	}
	fresh.Claim, fresh.LeaseUntil = seq, until
	if err := w.svc.store.UpdateQueuedWebhookDelivery(ctx, fresh); err != nil {
		return d, false, err
	}
	return fresh, true, nil
}

// body is what a receiver gets: the event, as in the stream.
type body struct {
	ID   string            `json:"id"`
	Type string            `json:"type"`
	At   time.Time         `json:"at"`
	Data map[string]string `json:"data"`
}

// send POSTs d to ep, signed; nil for a 2xx. Errors name the failure's
// class only: a receiver's answer is not stored.
func (w *Worker) send(ctx context.Context, ep Endpoint, d Delivery) error {
	b, err := json.Marshal(body{ID: d.Event.ID, Type: string(d.Event.Type), At: d.Event.At, Data: d.Event.Data})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, w.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(b))
	if err != nil {
		return errors.New("bad URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Hyperlieu-Webhooks/1")
	req.Header.Set(DeliveryHeader, d.ID)
	req.Header.Set(EventHeader, string(d.Event.Type))
	req.Header.Set(SignatureHeader, Sign(ep.Secret, w.opts.Now(), b))
	resp, err := w.opts.Client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return errors.New("timeout")
		}
		return errors.New("connection failed")
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return errors.New("HTTP " + strconv.Itoa(resp.StatusCode))
	}
	return nil
}

// endpointAnswered keeps ep's failure state: an answer clears it, the
// first failure starts it, and failing for AutoPauseAfter pauses ep. The
// pause is logged as a warning and counted: that is how admins are told
// (see docs/webhooks.md).
func (w *Worker) endpointAnswered(ctx context.Context, ep Endpoint, now time.Time, ok bool) error {
	cur, found := w.svc.lookup(ep.ID)
	if !found {
		return nil
	}
	switch {
	case ok && !cur.FailingSince.IsZero():
		cur.FailingSince = time.Time{}
	case ok || cur.Paused:
		return nil
	case cur.FailingSince.IsZero():
		cur.FailingSince = now
	case now.Sub(cur.FailingSince) >= w.opts.AutoPauseAfter:
		cur.Paused, cur.PausedReason, cur.PausedAt = true, PausedFailing, now
		w.log.WarnContext(ctx, "webhook endpoint paused: failing too long", "endpoint", cur.ID,
			"failingSince", cur.FailingSince, "autoPauseAfter", w.opts.AutoPauseAfter.String())
		if w.opts.Observer != nil {
			w.opts.Observer.WebhookEndpointPaused()
		}
	default:
		return nil
	}
	return w.svc.saveState(ctx, cur)
}

func (w *Worker) observe(result string) {
	if w.opts.Observer != nil {
		w.opts.Observer.WebhookAttempted(result)
	}
}
