package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/push"
)

// Claim is a worker's exclusive right to send one notification for a while.
// It is the document notification-ID#Seq, created by unique insert: exactly
// one worker, of any process, gets a given sequence number.
type Claim struct {
	NotificationID string
	Seq            int
	Owner          string
	Until          time.Time
}

// OutboxStore is what the outbox worker needs from the database.
type OutboxStore interface {
	// FindDueNotifications returns up to limit unfinished notifications with
	// NotBefore ≤ now, oldest due first (those under a live claim included).
	FindDueNotifications(ctx context.Context, now time.Time, limit int) ([]Notification, error)
	// CreateClaims inserts the claims in one round trip and reports, for
	// each, whether it was inserted (false: that sequence number is taken).
	// A claim is the "sending" mark: its owner and lease.
	CreateClaims(ctx context.Context, cs []Claim) ([]bool, error)
	// FindClaims returns the stored claims with the same notification and
	// sequence as cs (those that exist).
	FindClaims(ctx context.Context, cs []Claim) ([]Claim, error)
	// FindQueued returns the unfinished notifications of ids that exist
	// (a queue entry with a final outcome is not).
	FindQueued(ctx context.Context, ids []string) ([]Notification, error)
	// RecordOutcomes records the outbox fields of ns (status, reason,
	// attempts, last error, message ids, sent to, sent at, not before,
	// waits, claim, title and body) in a few round trips: a final outcome
	// once (a second one is dropped), any other as the notification's new
	// queued state. It does not check the stored claim: a worker that
	// outlived its lease may overwrite its successor's pending state, the
	// same bounded case as the duplicate send it already caused.
	RecordOutcomes(ctx context.Context, ns []Notification) error
	// DeleteQueued takes notifications whose outcome is final out of the
	// queue, in bulk.
	DeleteQueued(ctx context.Context, ids []string) error
	FindDevices(ctx context.Context, userIDs ...string) ([]Device, error)
	DeleteDeviceTokens(ctx context.Context, tokens []string) error
	FindUsers(ctx context.Context, ids []string) ([]hyperlieu.User, error)
}

// Queued is a notification Notify has just stored, with the customer and
// devices it read to queue it, handed to the outbox of the same process
// (Outbox.Enqueue) so that it is sent without looking for it or reading
// them again.
type Queued struct {
	Notification
	User    hyperlieu.User
	Devices []Device
	At      time.Time // when User and Devices were read
}

// PushObserver hears the outcome of every message sent to FCM.
type PushObserver interface {
	// Pushed is called once per message (one device) with its result,
	// PushSent, PushFailed or PushRetried, and FCM's error code, if any.
	Pushed(result, code string)
}

// Results of a push, for PushObserver.
const (
	PushSent    = "sent"
	PushFailed  = "failed"  // dead token or permanent error: not retried
	PushRetried = "retried" // temporary error: the notification goes back in the queue
)

// OutboxOptions tunes the outbox worker. Zero fields take defaults.
type OutboxOptions struct {
	Observer     PushObserver  // nil: nobody counts (metrics)
	Workers      int           // loops in this process; default 1
	BatchSize    int           // notifications claimed per round; default 100
	PollInterval time.Duration // pause when nothing is due; default 1s
	// ScanEvery is how often the queue is read when this process knows of
	// nothing due in it (see due); default 10s, never under PollInterval.
	ScanEvery   time.Duration
	Lease       time.Duration // claim duration; default 30s, must exceed a batch's send time
	MaxAttempts int           // sends before failed; default 5
	RetryBase   time.Duration // first retry delay, doubled each attempt, with jitter; default 5s
	MaxRetry    time.Duration // longest delay between attempts; default 1h
	// DeviceGrace is how long a notification waits for the customer's first
	// device (an app registers its token just after sign-up) before it is
	// suppressed for want of one; default 1h.
	DeviceGrace time.Duration
	Brand       string // signs the messages; default "Hyperlieu", as Options
	WorkerID    string // default host-pid-random
	Now         func() time.Time
	// OnSent, if set, is called once per notification that reached at least
	// one device, with its Data, after its outcome is recorded.
	OnSent func(ctx context.Context, data map[string]string)
	// OnFailed, if set, is told of each notification that has just failed
	// for good (webhooks publish notification.failed), after it is recorded.
	OnFailed func(ctx context.Context, n Notification)
}

func (o *OutboxOptions) defaults() {
	if o.Workers <= 0 {
		o.Workers = 1
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 100
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.ScanEvery <= 0 {
		o.ScanEvery = 10 * time.Second
	}
	o.ScanEvery = max(o.ScanEvery, o.PollInterval)
	if o.Lease <= 0 {
		o.Lease = 30 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.RetryBase <= 0 {
		o.RetryBase = 5 * time.Second
	}
	if o.MaxRetry <= 0 {
		o.MaxRetry = time.Hour
	}
	if o.DeviceGrace <= 0 {
		o.DeviceGrace = time.Hour
	}
	if o.Brand == "" {
		o.Brand = "Hyperlieu"
	}
	if o.WorkerID == "" {
		host, _ := os.Hostname()
		o.WorkerID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hyperlieu.NewID()[:6])
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Outbox sends due notifications through a push.Sender.
//
// Delivery is at least once, and exactly once unless a worker outlives its
// lease. A worker claims a notification by inserting the claim document
// "<id>#<n>", n one more than the last claim its queue entry records; a
// unique insert is atomic on MongoDB and on the embedded FerretDB alike
// (whose updates are not), so two workers, in one process or several,
// never both get claim n, and the claim, with its owner and lease, is the
// "sending" mark. Winning claim n proves the copy read with claim n-1
// current; a winner that superseded a dead claim instead re-reads the queue
// entry and sends only if it is still due and has no final outcome. A
// claim whose lease ended (its worker crashed) is superseded by claim n+1.
// The one duplicate left: a worker that is still sending when its lease
// ends, or that crashed after FCM accepted a batch but before recording
// it, makes the next claim send again — at most once per lease or crash,
// and with the same notification id in the data payload, by which the app
// drops it.
type Outbox struct {
	store  OutboxStore
	sender push.Sender
	opts   OutboxOptions
	log    *slog.Logger

	mu       sync.Mutex
	mem      []Queued        // fed by Enqueue (and scans), oldest first
	later    []string        // ids Enqueue had no room for in mem, oldest first
	inflight map[string]bool // taken by a round of this process, or finished and still queued
	done     map[string]bool // finished and still queued (until compact)
	finished []string        // final outcomes recorded, still in the queue (see compact)
	oldest   time.Time       // when the first of finished was recorded
	nextScan time.Time       // when the queue is read next (see due)
	wake     chan struct{}
}

// snapshotAge is how long the customer and devices Notify read stay good
// enough to send with: a change made since (a device added on another
// instance, a new tone) is missed only by a message sent within seconds of
// being queued. Older entries, and the queue's, are read again.
const snapshotAge = 30 * time.Second

// NewOutbox returns a worker over store and sender.
func NewOutbox(store OutboxStore, sender push.Sender, opts OutboxOptions, log *slog.Logger) *Outbox {
	opts.defaults()
	return &Outbox{store: store, sender: sender, opts: opts, log: log.With("worker", opts.WorkerID),
		inflight: map[string]bool{}, done: map[string]bool{}, wake: make(chan struct{}, 1)}
}

// What the outbox keeps of the work handed over (Enqueue): up to memBatches
// batches whole, with the customer and devices Notify read; beyond that,
// up to maxLater ids, read from the queue by _id when their turn comes.
// Only past both is work left to a scan of the queue, which the embedded
// database answers by decoding all of it: a burst of a few thousand must
// not cost a scan a batch.
const (
	memBatches = 100
	maxLater   = 500_000
)

// Enqueue hands the outbox notifications this process has just queued
// (notify.Options.OnQueued), so that it sends them without a scan. Only
// those due now are kept (see memBatches): the queue collection holds every
// one anyway, and the next scan finds what memory dropped.
func (o *Outbox) Enqueue(qs []Queued) {
	now := o.opts.Now()
	o.mu.Lock()
	kept := 0
	for _, q := range qs {
		switch {
		case q.Status != StatusPending || q.Parked:
		case q.NotBefore.After(now):
			o.scanBy(q.NotBefore) // held for quiet hours: the queue has it
		case len(o.mem) < memBatches*o.opts.BatchSize:
			o.mem = append(o.mem, q)
			kept++
		case len(o.later) < maxLater:
			o.later = append(o.later, q.ID)
			kept++
		default:
			o.scanBy(now) // dropped: the queue has it
		}
	}
	o.mu.Unlock()
	if kept == 0 {
		return // held (quiet hours, no device yet): nothing to wake for
	}
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Run sends due notifications until ctx is done, then finishes the batch in
// hand and returns. Errors are logged and retried after PollInterval. The
// finished notifications are taken out of the queue beside the loops (see
// compact), so that no round waits for that delete: on the embedded
// database it is the costliest command a burst makes.
func (o *Outbox) Run(ctx context.Context) {
	finished, loops, compacted := make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
	go func() { o.compactor(ctx, finished, loops); close(compacted) }()
	var sending sync.WaitGroup
	for i := range o.opts.Workers {
		sending.Go(func() {
			// Staggered, so that loops of one process rarely race for the same batch.
			wait := time.Duration(i) * o.opts.PollInterval / time.Duration(o.opts.Workers)
			for {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				case <-o.wake:
				}
				// The batch in hand is finished even if ctx ends meanwhile:
				// leaving it would only delay it by a lease.
				bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.opts.Lease)
				n, err := o.round(bctx)
				cancel()
				select {
				case finished <- struct{}{}:
				default:
				}
				switch {
				case err != nil:
					o.log.Error("outbox round failed", "err", err)
					wait = o.opts.PollInterval
				case n < o.opts.BatchSize:
					wait = o.opts.PollInterval
				default:
					wait = 0
				}
			}
		})
	}
	sending.Wait()
	close(loops)
	<-compacted
}

// compactor runs compact after each round and every PollInterval (for the
// lease rule), until the loops are done; then it compacts what is left.
func (o *Outbox) compactor(ctx context.Context, finished <-chan struct{}, loops <-chan struct{}) {
	tick := time.NewTicker(o.opts.PollInterval)
	defer tick.Stop()
	for {
		select {
		case <-loops:
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
			defer cancel()
			o.compact(cctx, true)
			return
		case <-finished:
		case <-tick.C:
		}
		o.compact(ctx, false)
	}
}

// RunOnce claims and sends one batch of due notifications, takes those
// finished out of the queue when compact says it is time, and returns how
// many were due (claimed or not).
func (o *Outbox) RunOnce(ctx context.Context) (int, error) {
	n, err := o.round(ctx)
	o.compact(ctx, false)
	return n, err
}

// round claims and sends one batch of due notifications, and returns how
// many were due.
func (o *Outbox) round(ctx context.Context) (int, error) {
	now := o.opts.Now().UTC()
	due, snaps, err := o.due(ctx, now)
	defer o.release(due)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	claimed, err := o.claim(ctx, due, now)
	if err != nil || len(claimed) == 0 {
		return len(due), err
	}
	return len(due), o.send(ctx, claimed, snaps)
}

// due takes a batch: first what Enqueue handed over (whole, then by id),
// then, when that does not fill it and the scan schedule allows, the
// queue's (other instances' work, retries, what memory dropped), leaving
// out what this process holds. They are in flight until release.
func (o *Outbox) due(ctx context.Context, now time.Time) ([]Notification, map[string]Queued, error) {
	o.mu.Lock()
	var due []Notification
	snaps := map[string]Queued{}
	rest := o.mem[:0]
	for _, q := range o.mem {
		switch {
		case len(due) == o.opts.BatchSize:
			rest = append(rest, q)
		case !o.inflight[q.ID]:
			due, snaps[q.ID], o.inflight[q.ID] = append(due, q.Notification), q, true
		}
	}
	clear(o.mem[len(rest):])
	o.mem = rest
	var byID []string
	for len(due)+len(byID) < o.opts.BatchSize && len(o.later) > 0 {
		id := o.later[0]
		o.later = o.later[1:]
		if !o.inflight[id] {
			byID, o.inflight[id] = append(byID, id), true
		}
	}
	if len(o.later) == 0 {
		o.later = nil // let the backing array go
	}
	o.mu.Unlock()
	if len(byID) > 0 {
		ns, err := o.store.FindQueued(ctx, byID)
		o.mu.Lock()
		for _, id := range byID {
			delete(o.inflight, id)
		}
		if err != nil {
			o.later = append(byID, o.later...) // their turn again next round
			o.mu.Unlock()
			return due, snaps, fmt.Errorf("read handed-over notifications: %w", err)
		}
		for _, n := range ns { // the others are finished, or were never stored
			if !o.inflight[n.ID] {
				due, o.inflight[n.ID] = append(due, n), true
			}
		}
		o.mu.Unlock()
	}
	// The embedded database decodes the whole queue to read it, held
	// messages (quiet hours, no device) included, so it is read only when
	// something in it is known to be due: a time this process put there
	// (quiet hours' end, a retry, a wait for a device), what memory dropped,
	// the rest of a page a scan filled; and every ScanEvery for what it
	// cannot know (other instances' leftovers after a crash, a device that
	// unparked messages on another instance).
	o.mu.Lock()
	scan := len(due) < o.opts.BatchSize && !now.Before(o.nextScan)
	held := len(o.inflight)
	room := memBatches*o.opts.BatchSize - len(o.mem)
	if scan {
		o.nextScan = now.Add(o.opts.ScanEvery)
	}
	o.mu.Unlock()
	if !scan {
		return due, snaps, nil
	}
	// One read fills memory, not one batch: it costs the same, and a
	// backlog left by a crashed instance then costs a scan per memBatches
	// batches.
	limit := max(o.opts.BatchSize-len(due), room) + held
	start := time.Now()
	more, err := o.store.FindDueNotifications(ctx, now, limit)
	took := time.Since(start)
	if err != nil {
		return due, snaps, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(more) == limit {
		o.scanBy(now) // a full page: more may be due
	} else if wait := scanCost * took; wait > o.opts.ScanEvery {
		// A queue of held messages (quiet hours) is read at most
		// 1/scanCost of the time, however long it grows.
		o.nextScan = latest(o.nextScan, now.Add(wait))
	}
	for _, n := range more {
		switch {
		case o.inflight[n.ID]:
		case len(due) < o.opts.BatchSize:
			due, o.inflight[n.ID] = append(due, n), true
		case len(o.mem) < memBatches*o.opts.BatchSize:
			o.mem = append(o.mem, Queued{Notification: n}) // no snapshot: its customer is read when sent
		}
	}
	return due, snaps, nil
}

// compactShare: a compaction takes out at least 1/compactShare of the queue
// this process knows of.
const compactShare = 2

// scanCost bounds the time spent reading the queue when nothing is known
// due: after a read that took d, the next waits at least scanCost·d.
const scanCost = 20

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// scanBy makes the queue read no later than at; o.mu is held.
func (o *Outbox) scanBy(at time.Time) {
	if at.Before(o.nextScan) {
		o.nextScan = at
	}
}

func (o *Outbox) release(ns []Notification) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, n := range ns {
		if !o.done[n.ID] { // finished: in flight until compacted
			delete(o.inflight, n.ID)
		}
	}
}

// claim returns the notifications of due this worker now holds. The claim
// is the "sending" mark; nothing else is written before the send.
func (o *Outbox) claim(ctx context.Context, due []Notification, now time.Time) ([]Notification, error) {
	until := now.Add(o.opts.Lease)
	won, reread, err := o.insertClaims(ctx, due, now, until)
	if err != nil {
		return nil, err
	}
	if len(won) == 0 {
		return nil, nil
	}
	fresh := make([]Notification, 0, len(won))
	var stale []string
	for _, n := range due {
		if _, ok := won[n.ID]; !ok {
			continue
		}
		if reread[n.ID] {
			stale = append(stale, n.ID)
		} else {
			fresh = append(fresh, n)
		}
	}
	if len(stale) > 0 {
		again, err := o.store.FindQueued(ctx, stale)
		if err != nil {
			return nil, fmt.Errorf("claim notifications: %w", err)
		}
		fresh = append(fresh, again...)
	}
	var claimed []Notification
	for _, n := range fresh {
		seq := won[n.ID]
		if n.Status != StatusPending || n.NotBefore.After(now) || n.Claim >= seq {
			continue // finished or put back since we read it
		}
		// Every claim since the last recorded one counts as an attempt (the
		// ones skipped died with their worker), so that a message that
		// crashes the sender cannot loop forever.
		n.Attempts += seq - n.Claim
		n.Status, n.Claim, n.LeaseOwner, n.LeaseUntil = StatusSending, seq, o.opts.WorkerID, until
		claimed = append(claimed, n)
	}
	return claimed, nil
}

// insertClaims claims due by unique insert, in up to three rounds, and
// returns the claim number won for each notification and whether its copy
// must be read again.
func (o *Outbox) insertClaims(ctx context.Context, due []Notification, now, until time.Time) (won map[string]int, reread map[string]bool, err error) {
	try := make([]Claim, len(due))
	for i, n := range due {
		try[i] = Claim{NotificationID: n.ID, Seq: n.Claim + 1, Owner: o.opts.WorkerID, Until: until}
	}
	won = map[string]int{}
	// A claim won on the first try is the successor of the claim in our
	// copy: as nobody else holds it, nobody has changed the notification
	// since we read it (but a worker that outlived its lease, the bounded
	// duplicate of the type comment), so the copy is current. A claim won
	// by superseding a dead one was not taken from our copy, which may be
	// stale: only those notifications are read again.
	reread = map[string]bool{}
	for round := 0; round < 3 && len(try) > 0; round++ {
		ok, err := o.store.CreateClaims(ctx, try)
		if err != nil {
			return nil, nil, fmt.Errorf("claim notifications: %w", err)
		}
		var lost []Claim
		for i, c := range try {
			if ok[i] {
				won[c.NotificationID] = c.Seq
				reread[c.NotificationID] = round > 0
			} else {
				lost = append(lost, c)
			}
		}
		if len(lost) == 0 {
			break
		}
		// A taken number whose lease ended belongs to a worker that died
		// between claiming and marking the notification: supersede it.
		existing, err := o.store.FindClaims(ctx, lost)
		if err != nil {
			return nil, nil, fmt.Errorf("claim notifications: %w", err)
		}
		try = try[:0]
		for _, e := range existing {
			if e.Until.Before(now) {
				try = append(try, Claim{NotificationID: e.NotificationID, Seq: e.Seq + 1, Owner: o.opts.WorkerID, Until: until})
			}
		}
	}
	return won, reread, nil
}

// recordTimeout bounds the writes that record outcomes.
const recordTimeout = 10 * time.Second

// round is one batch in flight: which messages belong to which
// notification, and their results as they arrive.
type round struct {
	ns      []Notification
	msgs    []push.Message
	byOwner [][]int // byOwner[i]: the indexes in msgs of ns[i]'s messages
	mu      sync.Mutex
	results []push.Result
	known   []bool // results[j] arrived
	left    []int  // messages of ns[i] still unanswered
	done    chan int
}

// report stores message j's result and, its notification's last, says so.
func (r *round) report(j int, res push.Result, owner int) {
	r.mu.Lock()
	r.results[j], r.known[j] = res, true
	r.left[owner]--
	last := r.left[owner] == 0
	r.mu.Unlock()
	if last {
		r.done <- owner
	}
}

// send pushes the claimed notifications to their devices and records each
// notification's outcome as soon as its devices have answered, under a
// context of its own (the round's may run out meanwhile, and an outcome not
// recorded is sent again): outcomes that arrive while one is being written
// are written together next, so a fast batch costs a few writes and a slow
// device holds back nobody but itself.
func (o *Outbox) send(ctx context.Context, ns []Notification, snaps map[string]Queued) error {
	now := o.opts.Now().UTC()
	byUser, prefs, err := o.recipients(ctx, ns, snaps)
	if err != nil {
		return err
	}
	msgs, owner := o.messages(ns, byUser, prefs, now)
	// Each message gets half the lease, the SDK's retries included, so its
	// result (sent, or a temporary error for it alone) is back and recorded
	// while the claim still holds.
	deadline := time.Now().Add(o.opts.Lease / 2)
	r := &round{ns: ns, msgs: msgs, byOwner: make([][]int, len(ns)), results: make([]push.Result, len(msgs)),
		known: make([]bool, len(msgs)), left: make([]int, len(ns)), done: make(chan int, len(ns))}
	for j := range msgs {
		msgs[j].Deadline = deadline
		r.byOwner[owner[j]] = append(r.byOwner[owner[j]], j)
		r.left[owner[j]]++
	}
	for i := range ns {
		if r.left[i] == 0 {
			r.done <- i // expired, deferred or without a device: nothing to wait for
		}
	}
	sent := make(chan error, 1)
	go func() { sent <- o.push(ctx, msgs, func(j int, res push.Result) { r.report(j, res, owner[j]) }) }()
	var batchErr, firstErr error
	var final []string
	for recorded := 0; recorded < len(ns); {
		var group []int
		select {
		case i := <-r.done:
			group = append(group, i)
		case batchErr = <-sent:
			sent = nil
			if batchErr != nil {
				o.log.Error("push batch failed; retrying later", "messages", len(msgs), "err", batchErr)
				r.failRest()
			}
			continue
		}
		group = r.gather(group, len(ns)-recorded)
		done, err := o.record(ctx, r, group, batchErr)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		final = append(final, done...)
		recorded += len(group)
	}
	o.mu.Lock()
	if len(o.finished) == 0 {
		o.oldest = time.Now()
	}
	o.finished = append(o.finished, final...)
	for _, id := range final {
		o.inflight[id], o.done[id] = true, true // until compact: our scans skip it
	}
	o.mu.Unlock()
	return firstErr
}

// compact takes the finished notifications out of the queue, in one
// command for many batches: when the work handed over is done and no round
// is under way (a burst is over); when they make five batches and at least half the queue this
// process knows of (deleting them then costs a bounded read of the queue
// per message, see store.DeleteQueued); when the oldest was recorded half a
// lease ago (their claims keep other workers off them until the lease
// ends); or when forced. Until then this process's scans skip them; should
// it die first, the next worker finds their outcome (FindQueued) and
// deletes them instead of sending them again.
func (o *Outbox) compact(ctx context.Context, force bool) {
	o.mu.Lock()
	ids := o.finished
	known := len(o.mem) + len(o.later) + len(o.inflight)                   // finished ones are in flight until compacted
	idle := len(o.mem)+len(o.later) == 0 && len(o.inflight) == len(o.done) // no round under way
	due := force || idle || time.Since(o.oldest) >= o.opts.Lease/2 ||
		len(ids) >= max(5*o.opts.BatchSize, known/compactShare)
	if len(ids) == 0 || !due {
		o.mu.Unlock()
		return
	}
	o.finished = nil
	o.mu.Unlock()
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err := o.store.DeleteQueued(dctx, ids); err != nil {
		o.log.Error("take sent notifications out of the queue", "count", len(ids), "err", err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, id := range ids {
		delete(o.inflight, id)
		delete(o.done, id)
	}
}

// An outcome is written as soon as it is known, with those that follow it
// closely: answers arriving less than recordGap apart join one write, for
// at most recordLinger, so that a fast batch costs one write and a slow
// device delays nobody's record by more than that.
const (
	recordGap    = 10 * time.Millisecond
	recordLinger = 100 * time.Millisecond
)

// gather adds to group the notifications done within recordGap of each
// other, up to want in all or recordLinger.
func (r *round) gather(group []int, want int) []int {
	linger := time.NewTimer(recordLinger)
	defer linger.Stop()
	for len(group) < want {
		gap := time.NewTimer(recordGap)
		select {
		case i := <-r.done:
			group = append(group, i)
			gap.Stop()
			continue
		case <-gap.C:
		case <-linger.C:
		}
		return group
	}
	return group
}

// failRest ends the notifications still waiting for an answer: their
// batch failed.
func (r *round) failRest() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, n := range r.left {
		if n > 0 {
			r.left[i] = 0
			r.done <- i
		}
	}
}

// push sends msgs, reporting each result as soon as the sender can.
func (o *Outbox) push(ctx context.Context, msgs []push.Message, report func(int, push.Result)) error {
	if len(msgs) == 0 {
		return nil
	}
	if s, ok := o.sender.(push.Streamer); ok {
		return s.SendEach(ctx, msgs, report)
	}
	results, err := o.sender.Send(ctx, msgs)
	if err == nil && len(results) != len(msgs) {
		err = fmt.Errorf("sender returned %d results for %d messages", len(results), len(msgs))
	}
	if err != nil {
		return err
	}
	for j, res := range results {
		report(j, res)
	}
	return nil
}

// record settles and writes the outcomes of the notifications group of r,
// under a context of its own, and returns those that are final.
func (o *Outbox) record(ctx context.Context, r *round, group []int, batchErr error) ([]string, error) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	now := o.opts.Now().UTC()
	var dead []string
	batch := make([]Notification, len(group))
	sentNow := make([]int, len(group))
	r.mu.Lock()
	for k, i := range group {
		oc, d := tally(&r.ns[i], r, i, batchErr, o.opts.Observer)
		dead = append(dead, d...)
		o.settle(&r.ns[i], oc, now)
		batch[k], sentNow[k] = r.ns[i], oc.sent
	}
	r.mu.Unlock()
	if err := o.store.DeleteDeviceTokens(rctx, dead); err != nil {
		o.log.Error("delete unregistered tokens", "tokens", len(dead), "err", err)
	}
	if err := o.store.RecordOutcomes(rctx, batch); err != nil {
		return nil, fmt.Errorf("record push outcomes: %w", err)
	}
	var final []string
	for k, n := range batch {
		if n.Status != StatusPending {
			final = append(final, n.ID)
		} else {
			o.mu.Lock()
			o.scanBy(n.NotBefore) // retried, or waiting for a device
			o.mu.Unlock()
		}
		// Its first devices reached in this round: once per notification.
		if o.opts.OnSent != nil && sentNow[k] > 0 && len(n.SentTo) == sentNow[k] {
			o.opts.OnSent(rctx, n.Data)
		}
		if n.Status == StatusFailed && o.opts.OnFailed != nil {
			o.opts.OnFailed(rctx, n)
		}
	}
	return final, nil
}

// recipients returns the devices of the notifications' customers and the
// customers themselves (their current tone and quiet hours): as Notify read
// them when that is recent (snaps), else read now.
func (o *Outbox) recipients(ctx context.Context, ns []Notification, snaps map[string]Queued) (map[string][]Device, map[string]hyperlieu.User, error) {
	byUser := map[string][]Device{}
	prefs := map[string]hyperlieu.User{}
	var users []string
	for _, n := range ns {
		if q, ok := snaps[n.ID]; ok && time.Since(q.At) <= snapshotAge {
			byUser[n.UserID], prefs[n.UserID] = q.Devices, q.User
		}
	}
	for _, n := range ns {
		if _, ok := prefs[n.UserID]; !ok && !slices.Contains(users, n.UserID) {
			users = append(users, n.UserID)
		}
	}
	if len(users) == 0 {
		return byUser, prefs, nil
	}
	devs, err := o.store.FindDevices(ctx, users...)
	if err != nil {
		return nil, nil, fmt.Errorf("find devices: %w", err)
	}
	for _, d := range devs {
		byUser[d.UserID] = append(byUser[d.UserID], d)
	}
	us, err := o.store.FindUsers(ctx, users)
	if err != nil {
		return nil, nil, fmt.Errorf("find users: %w", err)
	}
	for _, u := range us {
		prefs[u.ID] = u
	}
	return byUser, prefs, nil
}

// messages renders the pushes to send now, one per device not yet reached;
// owner[j] is the index in ns of msgs[j]. Notifications that expired or
// fall in the customer's quiet hours are settled here instead.
func (o *Outbox) messages(ns []Notification, byUser map[string][]Device, prefs map[string]hyperlieu.User, now time.Time) (msgs []push.Message, owner []int) {
	for i := range ns {
		n := &ns[i]
		if !now.Before(n.ExpiresAt) {
			n.Status, n.Reason = StatusExpired, ReasonExpired
			continue
		}
		// The customer's current tone and quiet hours hold, even if they
		// changed them after the message was queued.
		if u, ok := prefs[n.UserID]; ok {
			n.Title, n.Body = renderFor(u, n.Kind, n.Vars, o.opts.Brand)
			if later := AfterQuietHours(now, u.Prefs.Location(), u.Prefs.QuietHours); later.After(now) {
				n.Status, n.NotBefore, n.Attempts = StatusPending, later.UTC(), n.Attempts-1
				if !later.Before(n.ExpiresAt) {
					n.Status, n.Reason = StatusExpired, ReasonQuietExpiry
				}
				continue
			}
		}
		for _, d := range byUser[n.UserID] {
			if slices.Contains(n.SentTo, d.Token) {
				continue
			}
			msgs = append(msgs, push.Message{
				ID: n.ID, Token: d.Token, Platform: d.Platform, Title: n.Title, Body: n.Body,
				Data: n.Data, CollapseKey: n.CollapseKey, TTL: n.ExpiresAt.Sub(now),
			})
			owner = append(owner, i)
		}
	}
	return msgs, owner
}

// outcome is what one notification's pushes came to.
type outcome struct {
	sent, dead, permanent int
	temporary             *push.TemporaryError
	lastErr               error
}

// tally folds the results of n (r.ns[i]) into its outcome, and lists the
// tokens FCM says are dead; a message with no result failed with its batch
// (batchErr). obs, if not nil, hears every result. r.mu is held.
func tally(n *Notification, r *round, i int, batchErr error, obs PushObserver) (outcome, []string) {
	var oc outcome
	var dead []string
	pushed := func(result, code string) {
		if obs != nil {
			obs.Pushed(result, code)
		}
	}
	for _, j := range r.byOwner[i] {
		m := r.msgs[j]
		if !r.known[j] {
			err := batchErr
			if err == nil {
				err = errors.New("push: no result")
			}
			oc.temporary, oc.lastErr = &push.TemporaryError{Code: "BATCH", Err: err}, err
			pushed(PushRetried, "BATCH")
			continue
		}
		var te *push.TemporaryError
		switch res := r.results[j]; {
		case res.Err == nil:
			oc.sent++
			n.SentTo = append(n.SentTo, m.Token)
			n.MessageIDs = append(n.MessageIDs, res.MessageID)
			pushed(PushSent, "")
		case errors.Is(res.Err, push.ErrUnregistered):
			oc.dead++
			dead = append(dead, m.Token)
			pushed(PushFailed, "UNREGISTERED")
		case errors.As(res.Err, &te):
			if oc.temporary == nil || te.RetryAfter > oc.temporary.RetryAfter {
				oc.temporary = te
			}
			oc.lastErr = res.Err
			pushed(PushRetried, te.Code)
		default:
			oc.permanent++
			oc.lastErr = res.Err
			pushed(PushFailed, "PERMANENT")
		}
	}
	return oc, dead
}

// settle moves a notification still sending to where its outcome puts it:
// sent, failed, retried later, or waiting for a device.
func (o *Outbox) settle(n *Notification, oc outcome, now time.Time) {
	n.LeaseOwner, n.LeaseUntil = "", time.Time{}
	if n.Status != StatusSending { // expired or deferred before sending
		return
	}
	if oc.lastErr != nil {
		n.LastError = oc.lastErr.Error()
	}
	switch {
	case oc.temporary != nil:
		o.retry(n, now, oc.temporary.RetryAt(now))
	case oc.permanent > 0 && len(n.SentTo) == 0:
		n.Status = StatusFailed
	case len(n.SentTo) > 0:
		n.Status, n.SentAt = StatusSent, now
	default: // no device, or only dead ones: wait for one, without counting an attempt
		n.Attempts--
		if now.Sub(n.CreatedAt) >= o.opts.DeviceGrace {
			n.Status, n.Reason = StatusSuppressed, ReasonNoDevice
			return
		}
		n.Waits++
		n.Status = StatusPending
		n.NotBefore = now.Add(min(o.opts.RetryBase<<min(n.Waits-1, 16), o.opts.MaxRetry))
		if !n.NotBefore.Before(n.ExpiresAt) {
			n.Status, n.Reason = StatusSuppressed, ReasonNoDevice
		}
	}
}

// retry puts n back in the queue after an exponential backoff with jitter,
// no sooner than retryAt (FCM's Retry-After, counted from its answer), or fails it when its attempts are spent
// or expires it when the next try would come too late.
func (o *Outbox) retry(n *Notification, now, retryAt time.Time) {
	if n.Attempts >= o.opts.MaxAttempts {
		n.Status = StatusFailed
		return
	}
	n.Status = StatusPending
	n.NotBefore = now.Add(Backoff(o.opts.RetryBase, o.opts.MaxRetry, n.Attempts, 0, rand.Float64()))
	if retryAt.After(n.NotBefore) {
		n.NotBefore = retryAt.UTC()
	}
	if !n.NotBefore.Before(n.ExpiresAt) {
		n.Status, n.Reason = StatusExpired, ReasonExpired
	}
}

// Backoff returns the delay before the attempt after attempt (1-based):
// base·2^(attempt-1), capped at ceiling, with jitter (r in [0,1) picks between
// half and all of it), and never less than retryAfter.
func Backoff(base, ceiling time.Duration, attempt int, retryAfter time.Duration, r float64) time.Duration {
	d := ceiling
	if shift := attempt - 1; shift < 30 && base<<shift < ceiling && base<<shift > 0 {
		d = base << shift
	}
	d = d/2 + time.Duration(r*float64(d/2))
	return max(d, retryAfter)
}
