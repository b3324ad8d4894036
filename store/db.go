// Package store keeps Hyperlieu's data in MongoDB (or the embedded FerretDB)
// and turns driver errors into hyperlieu errors.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"

	"github.com/hyperlieu/hyperlieu"
)

// DB is a connection to one database. Its methods are safe for concurrent use.
type DB struct {
	client *mongo.Client
	db     *mongo.Database
	// reads, when set, is a second connection pool that serves finds on the
	// embedded database, so reads run beside the one writing connection.
	readClient *mongo.Client
	reads      *mongo.Database
	// lists hints at the last numbers of the per-owner lists (lists.go).
	lists listHints
	// shards are the campaign stats shards this process listed (campaigns.go).
	shards sync.Map
	// finals keeps the list entries that can no longer change (fanlists.go).
	finals finalEntries
	// queued estimates the outbox queue's length (outbox.go, DeleteQueued).
	queued queueSize
	// rewards is this instance's copy of the rewards catalogue (rewards.go).
	rewards rewardCache
}

// Options tunes the connection.
type Options struct {
	// MaxPoolSize caps connections; the embedded FerretDB wants 1, because
	// its updates are not atomic against concurrent ones on other connections.
	MaxPoolSize uint64
	// ReadPoolSize, if set, opens a second pool of that many connections
	// for finds (see DB.r).
	ReadPoolSize uint64
	AppName      string
	// Observer, if set, hears every database command and how long it took.
	Observer Observer
	// Monitor, if set, sees every command the driver starts and finishes.
	// Tests use it to count a request's commands and check that each is a
	// read, insert or update by _id (issue 15).
	Monitor *event.CommandMonitor
}

// ForEmbedded sets the pools the embedded FerretDB wants: one connection
// for writes, since its updates are only serialised per connection, and a
// few for finds, which then run beside them.
func (o Options) ForEmbedded() Options {
	o.MaxPoolSize, o.ReadPoolSize = 1, 4
	return o
}

// Observer hears database commands (find, insert, update, …) as the driver
// runs them, for latency metrics.
type Observer interface {
	Command(name string, d time.Duration, failed bool)
}

// Open connects to uri, checks the server answers, and creates the indexes
// (idempotently: they are what make real MongoDB fast).
func Open(ctx context.Context, uri, database string, opts Options) (*DB, error) {
	co := options.Client().ApplyURI(uri).
		SetServerSelectionTimeout(10 * time.Second).
		// A safety net for work without a deadline of its own; requests are
		// bounded by their context (HYPERLIEU_REQUEST_TIMEOUT), and waiting
		// for the embedded database's one connection counts against this.
		SetTimeout(2 * time.Minute)
	if opts.MaxPoolSize > 0 {
		co.SetMaxPoolSize(opts.MaxPoolSize)
	}
	if opts.AppName != "" {
		co.SetAppName(opts.AppName)
	}
	if m := monitor(opts); m != nil {
		co.SetMonitor(m)
	}
	client, err := mongo.Connect(co)
	if err != nil {
		return nil, fmt.Errorf("connect to MongoDB: %w", err)
	}
	db := &DB{client: client, db: client.Database(database)}
	if err := db.Ping(ctx); err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, err
	}
	if opts.ReadPoolSize > 0 {
		rc, err := mongo.Connect(co.SetMaxPoolSize(opts.ReadPoolSize))
		if err != nil {
			_ = client.Disconnect(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("connect to MongoDB: %w", err)
		}
		db.readClient, db.reads = rc, rc.Database(database)
	}
	if err := db.createIndexes(ctx); err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, err
	}
	return db, nil
}

// MigrateKeys gives what older versions stored the keys and lists issue 15
// reads instead of queries: email keys for sign-in, the campaigns' lists of
// stats shards, the events' lists of feedback. Each runs once per database.
func (db *DB) MigrateKeys(ctx context.Context) error {
	for _, backfill := range []func(context.Context) error{db.keyAllEmails, db.listAllShards, db.listAllFeedback} {
		if err := backfill(ctx); err != nil {
			return err
		}
	}
	return nil
}

// monitor joins the Observer and the Monitor into one, or nil for neither.
func monitor(opts Options) *event.CommandMonitor {
	o, m := opts.Observer, opts.Monitor
	if o == nil {
		return m
	}
	if m == nil {
		m = &event.CommandMonitor{}
	}
	return &event.CommandMonitor{
		Started: m.Started,
		Succeeded: func(ctx context.Context, e *event.CommandSucceededEvent) {
			o.Command(e.CommandName, e.Duration, false)
			if m.Succeeded != nil {
				m.Succeeded(ctx, e)
			}
		},
		Failed: func(ctx context.Context, e *event.CommandFailedEvent) {
			o.Command(e.CommandName, e.Duration, true)
			if m.Failed != nil {
				m.Failed(ctx, e)
			}
		},
	}
}

// findByIDs reads the documents with these _ids one find each, skipping the
// missing. On the embedded FerretDB an _id read uses an index (see
// Embedded.IndexIDs) but `$in` decodes the whole collection, so N keyed
// reads beat one `$in` as soon as the collection holds more than a few
// hundred documents; the lists here are short (one request's users, slots).
func findByIDs[D, T any](ctx context.Context, coll *mongo.Collection, ids []string, opts *options.FindOneOptionsBuilder, what string, conv func(D) T) ([]T, error) {
	out := make([]T, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		var d D
		err := coll.FindOne(ctx, byID(id), opts).Decode(&d)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue
		}
		if err != nil {
			return nil, translate(err, what)
		}
		out = append(out, conv(d))
	}
	return out, nil
}

// bulkByID runs models, each filtered on _id alone, in unordered bulk writes
// of at most maxUpdateBatch (FerretDB v1 stops answering from 100 on).
func (db *DB) bulkByID(ctx context.Context, coll string, models []mongo.WriteModel) error {
	for start := 0; start < len(models); start += maxUpdateBatch {
		chunk := models[start:min(start+maxUpdateBatch, len(models))]
		if _, err := db.c(coll).BulkWrite(ctx, chunk, options.BulkWrite().SetOrdered(false)); err != nil {
			return translate(err, coll)
		}
	}
	return nil
}

// deleteByIDs deletes the documents of coll with these ids, one keyed
// statement each in unordered bulk writes: a delete by another field
// decodes the whole collection on the embedded database.
func (db *DB) deleteByIDs(ctx context.Context, coll string, ids []string) error {
	dels := make([]mongo.WriteModel, len(ids))
	for i, id := range ids {
		dels[i] = mongo.NewDeleteOneModel().SetFilter(byID(id))
	}
	return db.bulkByID(ctx, coll, dels)
}

// Close disconnects, waiting for in-flight operations until ctx is done.
func (db *DB) Close(ctx context.Context) error {
	if db.readClient != nil {
		_ = db.readClient.Disconnect(ctx)
	}
	return db.client.Disconnect(ctx)
}

// Ping returns Unavailable when the database does not answer.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.client.Ping(ctx, readpref.Primary()); err != nil {
		return &hyperlieu.Error{Kind: hyperlieu.Unavailable, Message: "database unavailable", Err: err}
	}
	return nil
}

// Drop deletes the whole database. Tests use it to clean up.
func (db *DB) Drop(ctx context.Context) error {
	return db.db.Drop(ctx)
}

func (db *DB) c(name string) *mongo.Collection { return db.db.Collection(name) }

// r is collection name for reading.
func (db *DB) r(name string) *mongo.Collection {
	if db.reads != nil {
		return db.reads.Collection(name)
	}
	return db.db.Collection(name)
}

type indexSpec struct {
	collection string
	model      mongo.IndexModel
}

func unique(keys bson.D) mongo.IndexModel {
	return mongo.IndexModel{Keys: keys, Options: options.Index().SetUnique(true)}
}

func index(keys bson.D) mongo.IndexModel {
	return mongo.IndexModel{Keys: keys}
}

// indexes lists every index, collection by collection.
func indexes() []indexSpec {
	var all []indexSpec
	for _, f := range []func() []indexSpec{
		accountIndexes,
		notificationIndexes, // devices, notifications, contact slots
		shopIndexes,         // shops, events, queues, RSVPs, check-ins, feedback
		fanIndexes,          // fans
		reviewIndexes,       // public reviews
		visitIndexes,        // visits, asks and their counters
		campaignIndexes,     // campaigns, location states, triggers, offers
		variantIndexes,      // experiments' assignments and marks
		webhookIndexes,      // webhook deliveries, events
		listIndexes,         // wallet and inbox entries
	} {
		all = append(all, f()...)
	}
	return all
}

func (db *DB) createIndexes(ctx context.Context) error {
	for _, ix := range indexes() {
		if _, err := db.c(ix.collection).Indexes().CreateOne(ctx, ix.model); err != nil {
			return fmt.Errorf("create index on %s: %w", ix.collection, err)
		}
	}
	return nil
}

// findMany runs a query on coll and returns every document decoded as D and
// converted with conv; what names the things in errors. opts may be nil. The
// result is empty, not nil, when nothing matches.
func findMany[D, T any](ctx context.Context, coll *mongo.Collection, filter any, opts *options.FindOptionsBuilder, what string, conv func(D) T) ([]T, error) {
	cur, err := coll.Find(ctx, filter, opts)
	if err != nil {
		return nil, translate(err, what)
	}
	var docs []D
	if err := cur.All(ctx, &docs); err != nil {
		return nil, translate(err, what)
	}
	out := make([]T, len(docs))
	for i, d := range docs {
		out[i] = conv(d)
	}
	return out, nil
}

// idDoc reads a document's _id alone.
type idDoc struct {
	ID string `bson:"_id"`
}

// translate turns driver errors into hyperlieu errors; what names the thing.
func translate(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return &hyperlieu.Error{Kind: hyperlieu.NotFound, Message: what + " not found", Err: err}
	case isDuplicate(err):
		return &hyperlieu.Error{Kind: hyperlieu.Conflict, Message: what + " already exists", Err: err}
	case mongo.IsTimeout(err), mongo.IsNetworkError(err), errors.Is(err, context.DeadlineExceeded):
		return &hyperlieu.Error{Kind: hyperlieu.Unavailable, Message: "database unavailable", Err: err}
	}
	return err
}

// isDuplicate is the one duplicate-key check: the driver's, plus FerretDB
// v1's generic error for an update that violates a unique index (it lacks
// code 11000).
func isDuplicate(err error) bool {
	return mongo.IsDuplicateKeyError(err) || strings.Contains(err.Error(), "E11000")
}

// replaceByID replaces the document whose _id is id. Like every update in
// this package, it returns NotFound when no document matched.
func (db *DB) replaceByID(ctx context.Context, coll, id string, doc any, what string) error {
	r, err := db.c(coll).ReplaceOne(ctx, byID(id), doc)
	return matched(r, err, what)
}

// updateByID applies update to the document whose _id is id; NotFound when
// none matched.
func (db *DB) updateByID(ctx context.Context, coll, id string, update any, what string) error {
	r, err := db.c(coll).UpdateOne(ctx, byID(id), update)
	return matched(r, err, what)
}

// matched turns an update's outcome into this package's errors.
func matched(r *mongo.UpdateResult, err error, what string) error {
	if err != nil {
		return translate(err, what)
	}
	if r.MatchedCount == 0 {
		return hyperlieu.Errorf(hyperlieu.NotFound, "%s not found", what)
	}
	return nil
}

// byID filters on _id, the one query the embedded database answers without a scan.
func byID(id string) bson.D { return bson.D{{Key: "_id", Value: id}} }
