package store

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu/notify"
)

// The outbox's working set lives apart from the inbox (issue 15), so that
// it stays small and the hot path only inserts:
//   - outbox_queue: a copy of every unfinished notification, keyed by its
//     id, inserted with it, deleted when its outcome is final and replaced
//     by _id when it is put back for later (a retry, quiet hours). Finding
//     due work scans this collection only: unfinished work, not history.
//   - notification_claims: a claim is the "sending" mark (owner, lease).
//   - notification_outcomes: a notification's final outcome, keyed by its id
//     and inserted once; the notification's read view merges it.
//
// The notifications collection keeps what Notify stored and is never
// updated by the outbox; reads fold in the outcome, else the queue entry.

const (
	queueColl    = "outbox_queue"
	outcomesColl = "notification_outcomes"
	claimsColl   = "notification_claims"
)

// outcomeDoc is a notification's final outbox fields.
type outcomeDoc struct {
	ID           string    `bson:"_id"`
	UserID       string    `bson:"userId"`
	NotBefore    time.Time `bson:"notBefore"`
	OutboxFields `bson:",inline"`
}

// FindDueNotifications returns up to limit queued notifications due by now,
// oldest due first. It scans the queue, which holds unfinished work only;
// those under a live claim are among them, and lose their claim.
func (db *DB) FindDueNotifications(ctx context.Context, now time.Time, limit int) ([]notify.Notification, error) {
	ns, err := findMany(ctx, db.c(queueColl), bson.D{{Key: "notBefore", Value: bson.D{{Key: "$lte", Value: now}}}},
		options.Find().SetSort(bson.D{{Key: "notBefore", Value: 1}}).SetLimit(int64(limit)),
		"outbox queue", notificationDoc.notification)
	db.queued.atLeast(len(ns))
	return ns, err
}

// FindQueued returns the queue entries of ids that exist and have no final
// outcome, by _id reads: an entry whose outcome was recorded by a worker
// that died before deleting it is deleted now instead of sent again.
func (db *DB) FindQueued(ctx context.Context, ids []string) ([]notify.Notification, error) {
	done, err := db.existing(ctx, outcomesColl, ids)
	if err != nil {
		return nil, err
	}
	var left, finished []string
	for _, id := range ids {
		if done[id] {
			finished = append(finished, id)
		} else {
			left = append(left, id)
		}
	}
	if err := db.DeleteQueued(ctx, finished); err != nil {
		return nil, err
	}
	return findByIDs(ctx, db.c(queueColl), left, nil, "outbox queue", notificationDoc.notification)
}

// RecordOutcomes records what became of ns: a final outcome is inserted
// into notification_outcomes (one insertMany for all; a second final
// outcome, from a worker that outlived its lease, is dropped), any other is
// the notification's new queue entry, replaced by _id. Final ones stay in
// the queue until DeleteQueued; parked ones (no device came) leave their
// user's device list, in one more bulk write when there are any.
func (db *DB) RecordOutcomes(ctx context.Context, ns []notify.Notification) error {
	var final []any
	var again []mongo.WriteModel
	var unparked []notify.Notification
	for _, n := range ns {
		if n.Status == notify.StatusPending {
			again = append(again, mongo.NewReplaceOneModel().SetFilter(byID(n.ID)).SetReplacement(toNotificationDoc(n)))
			continue
		}
		final = append(final, outcomeDoc{ID: n.ID, UserID: n.UserID, NotBefore: n.NotBefore, OutboxFields: toOutboxFields(n)})
		if n.Parked {
			unparked = append(unparked, n)
		}
	}
	if _, err := db.insertMany(ctx, outcomesColl, final); err != nil {
		return err
	}
	if err := db.unlistParked(ctx, unparked); err != nil {
		return err
	}
	return db.bulkByID(ctx, queueColl, again)
}

// DeleteQueued takes ids, whose outcomes are final, out of the queue: by
// _id, or by one `$in` when the queue is short next to them. FerretDB v1
// deletes a statement at a time (about 1 ms each under load), while a `$in`
// decodes the whole queue and deletes in one statement, five times cheaper
// per document as measured when the queue holds little else; behind a
// backlog (a burst of thousands, a night of quiet hours) it would decode
// that backlog at every compaction, so the cost per message stays bounded
// only by _id. On MongoDB both use _id.
func (db *DB) DeleteQueued(ctx context.Context, ids []string) error {
	defer db.queued.add(-len(ids))
	if len(ids) > maxUpdateBatch && db.queueLen(ctx) <= inCost*len(ids) {
		_, err := db.c(queueColl).DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
		return translate(err, "outbox queue")
	}
	return db.deleteByIDs(ctx, queueColl, ids)
}

// inCost is how many queue entries a `$in` delete may decode per entry it
// deletes before deleting by _id is cheaper (see DeleteQueued).
const inCost = 5

// queueSize estimates the outbox queue's length: what this process queued
// less what it took out, raised to what a read of the queue saw (other
// instances' work), and counted again at most once a minute when it is
// about to pick `$in`. It only picks the cheaper way to delete.
type queueSize struct {
	n          atomic.Int64
	countAfter atomic.Int64 // unix nanoseconds before which no count is made
}

// queueLen is the queue's estimated length, counted first (work held for
// quiet hours that another instance queued, or that was there before this
// process started) unless the last count is under a minute old, or under
// 20 times its own length: the embedded database may decode the queue to
// count it.
func (db *DB) queueLen(ctx context.Context) int {
	q := &db.queued
	if now := time.Now(); now.UnixNano() >= q.countAfter.Load() {
		n, err := db.c(queueColl).EstimatedDocumentCount(ctx)
		if err == nil {
			q.n.Store(n)
		}
		q.countAfter.Store(now.Add(max(time.Minute, 20*time.Since(now))).UnixNano())
	}
	return q.load()
}

func (q *queueSize) add(n int) {
	if q.n.Add(int64(n)) < 0 {
		q.n.Store(0)
	}
}

func (q *queueSize) load() int { return int(q.n.Load()) }

func (q *queueSize) atLeast(n int) {
	for cur := q.n.Load(); int64(n) > cur && !q.n.CompareAndSwap(cur, int64(n)); cur = q.n.Load() {
	}
}

// withOutbox folds into ns (as Notify stored them) their final outcome or,
// still unfinished, their queue entry and its live claim: one or two _id
// reads each, for a bounded page.
func (db *DB) withOutbox(ctx context.Context, ns []notify.Notification, now time.Time) error {
	for i := range ns {
		n := &ns[i]
		var o outcomeDoc
		err := db.c(outcomesColl).FindOne(ctx, byID(n.ID)).Decode(&o)
		if err == nil {
			applyOutbox(n, o.OutboxFields)
			n.NotBefore = o.NotBefore.UTC()
			continue
		}
		if !errors.Is(err, mongo.ErrNoDocuments) {
			return translate(err, "notification outcomes")
		}
		var q notificationDoc
		err = db.c(queueColl).FindOne(ctx, byID(n.ID)).Decode(&q)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue // finished before the queue existed: the stored fields hold
		}
		if err != nil {
			return translate(err, "outbox queue")
		}
		applyOutbox(n, q.OutboxFields)
		n.NotBefore, n.Parked = q.NotBefore.UTC(), q.Parked
		if err := db.withClaim(ctx, n, now); err != nil {
			return err
		}
	}
	return nil
}

// withClaim shows n as sending while a claim after its recorded one holds.
func (db *DB) withClaim(ctx context.Context, n *notify.Notification, now time.Time) error {
	var c claimDoc
	err := db.c(claimsColl).FindOne(ctx, byID(claimID(notify.Claim{NotificationID: n.ID, Seq: n.Claim + 1}))).Decode(&c)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil
	}
	if err != nil {
		return translate(err, "claims")
	}
	n.Claim++
	if c.Until.After(now) {
		n.Status, n.LeaseOwner, n.LeaseUntil = notify.StatusSending, c.Owner, c.Until.UTC()
	}
	return nil
}

func applyOutbox(n *notify.Notification, f OutboxFields) {
	m := notificationDoc{OutboxFields: f}.notification()
	n.Title, n.Body, n.Status, n.Reason, n.Attempts, n.LastError = m.Title, m.Body, m.Status, m.Reason, m.Attempts, m.LastError
	n.MessageIDs, n.SentTo, n.SentAt, n.Waits, n.Claim, n.Parked = m.MessageIDs, m.SentTo, m.SentAt, m.Waits, m.Claim, m.Parked
	n.LeaseOwner, n.LeaseUntil = m.LeaseOwner, m.LeaseUntil
}

// UpdateParked makes the user's parked notifications due at due: it reads
// their ids from the user's device list by _id (listParked put them there
// before queueing them), updates each by _id in the queue and the inbox,
// and only then takes them off the list, so that a crash in between leaves
// them listed for the next registration (the updates are idempotent, and a
// racing outbox update needs no atomicity).
func (db *DB) UpdateParked(ctx context.Context, userID string, due time.Time) error {
	var l deviceListDoc
	err := db.r(deviceListsColl).FindOne(ctx, byID(userID), options.FindOne().SetProjection(bson.D{{Key: "parked", Value: 1}})).Decode(&l)
	if errors.Is(err, mongo.ErrNoDocuments) || (err == nil && len(l.Parked) == 0) {
		return nil
	}
	if err != nil {
		return translate(err, "device list")
	}
	set := bson.D{{Key: "$set", Value: bson.D{{Key: "parked", Value: false}, {Key: "notBefore", Value: due}}}}
	models := make([]mongo.WriteModel, 0, len(l.Parked))
	unset := make(bson.D, 0, len(l.Parked))
	for key, id := range l.Parked {
		models = append(models, mongo.NewUpdateOneModel().SetFilter(byID(id)).SetUpdate(set))
		unset = append(unset, bson.E{Key: "parked." + key, Value: ""})
	}
	if err := db.bulkByID(ctx, queueColl, models); err != nil {
		return err
	}
	if err := db.bulkByID(ctx, "notifications", models); err != nil {
		return err
	}
	_, err = db.c(deviceListsColl).UpdateOne(ctx, byID(userID), bson.D{{Key: "$unset", Value: unset}})
	return translate(err, "device list")
}

// OutboxBacklog returns how many queued notifications are due by now, and
// when the oldest of them fell due (zero when none is): one find of their
// due times, a scan of the queue (unfinished work only), which the metrics
// make at most once per metrics.OutboxReadEvery.
func (db *DB) OutboxBacklog(ctx context.Context, now time.Time) (int, time.Time, error) {
	f := bson.D{{Key: "notBefore", Value: bson.D{{Key: "$lte", Value: now}}}}
	type due struct {
		NotBefore time.Time `bson:"notBefore"`
	}
	ds, err := findMany(ctx, db.r(queueColl), f, options.Find().SetProjection(bson.D{{Key: "notBefore", Value: 1}}),
		"outbox queue", func(d due) time.Time { return d.NotBefore })
	if err != nil || len(ds) == 0 {
		return 0, time.Time{}, err
	}
	db.queued.atLeast(len(ds))
	return len(ds), slices.MinFunc(ds, time.Time.Compare).UTC(), nil
}

// MigrateOutbox fills the queue with the notifications that were pending or
// sending before it existed and the per-user device lists with the devices,
// then lists the parked ones under their user, each once per database
// (db.once). Every write is keyed, so a start that dies
// half-way is finished by the next.
func (db *DB) MigrateOutbox(ctx context.Context) (int, error) {
	n := 0
	err := db.once(ctx, "outbox-queue-v1", func() (err error) {
		n, err = db.adoptUnfinished(ctx)
		if err != nil {
			return err
		}
		return db.migrateDeviceLists(ctx)
	})
	if err != nil {
		return n, err
	}
	return n, db.once(ctx, "parked-lists-v1", func() error { return db.migrateParked(ctx) })
}

func (db *DB) adoptUnfinished(ctx context.Context) (int, error) {
	ns, err := db.findNotifications(ctx, bson.D{{Key: "status", Value: bson.D{{Key: "$in", Value: bson.A{
		string(notify.StatusPending), string(notify.StatusSending)}}}}}, nil)
	if err != nil {
		return 0, err
	}
	docs := make([]any, len(ns))
	for i, n := range ns {
		n.Status, n.LeaseOwner, n.LeaseUntil = notify.StatusPending, "", time.Time{} // a live claim still holds
		docs[i] = toNotificationDoc(n)
	}
	if _, err := db.insertMany(ctx, queueColl, docs); err != nil {
		return 0, err
	}
	db.queued.add(len(docs))
	return len(ns), nil
}
