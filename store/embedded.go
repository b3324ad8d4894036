package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	_ "modernc.org/sqlite" // the driver FerretDB itself uses; see IndexIDs

	"github.com/hyperlieu/hyperlieu"
)

// Embedded is a FerretDB v1 server with its SQLite backend, run inside this
// process on a loopback port: the zero-setup database for development,
// demos and tests. It speaks the real MongoDB wire protocol, so the store
// code is the same as against MongoDB.
type Embedded struct {
	uri    string
	dir    string
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}
	lock   *os.File // held while running: one process per folder
}

// StartEmbedded starts FerretDB with its files under dir, listening on addr
// (a loopback address; port 0 picks a free one). It returns once the server
// answers a ping. It refuses a dir another process runs on (two FerretDBs
// on one set of SQLite files would each cache and overwrite the other's
// metadata). FerretDB's own log lines go to log at error level only: its warnings
// are protocol chatter (commands it does not implement, such as endSessions).
func StartEmbedded(ctx context.Context, dir, addr string, log *slog.Logger) (*Embedded, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded database: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("embedded database: %w", err)
	}
	lock, err := lockDir(abs)
	if err != nil {
		return nil, err
	}
	unlock := func() {
		if lock != nil {
			lock.Close() // closing the file releases the flock
		}
	}
	// FerretDB adds busy_timeout, WAL and auto_vacuum itself; synchronous(normal)
	// is safe with WAL (a crash loses at most the last transactions, never
	// corrupts) and makes inserts 2–3× faster.
	q := url.Values{"_pragma": {"synchronous(normal)"}}
	sqliteURL := (&url.URL{Scheme: "file", Opaque: abs + "/", RawQuery: q.Encode()}).String()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: addr},
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
		Logger:    quiet(log),
	})
	if err != nil {
		unlock()
		return nil, fmt.Errorf("embedded database: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e := &Embedded{uri: f.MongoDBURI(), dir: abs, log: log, cancel: cancel, done: make(chan struct{}), lock: lock}
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		_ = f.Run(runCtx)
	}()
	go func() {
		defer close(e.done)
		e.keepIndexingIDs(runCtx)
		<-ran
	}()
	if err := e.waitReady(ctx); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// keepIndexingIDs runs IndexIDs now and then, for collections created after start.
func (e *Embedded) keepIndexingIDs(ctx context.Context) {
	hyperlieu.Every(ctx, 5*time.Second, false, e.log, "indexing _id in the embedded database", e.IndexIDs)
}

// IndexIDs works around a FerretDB v1 (≥ 1.19) defect: its SQLite tables
// index _id on one JSON expression and query it with another, so SQLite
// never uses the index and every lookup by _id scans the whole collection
// (15–100 ms at 10k documents instead of 0.4–2 ms; see docs/ferretdb.md). It
// adds, for every collection of every database, an index on the expression
// the queries use. FerretDB ignores indexes it does not know and drops them
// with their collection. Idempotent; safe while FerretDB runs (WAL mode).
func (e *Embedded) IndexIDs(ctx context.Context) error {
	files, err := filepath.Glob(filepath.Join(e.dir, "*.sqlite"))
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := indexIDs(ctx, f); err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(f), err)
		}
	}
	return nil
}

func indexIDs(ctx context.Context, file string) error {
	q := url.Values{"_pragma": {"busy_timeout(10000)"}}
	db, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Opaque: file, RawQuery: q.Encode()}).String())
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT table_name FROM _ferretdb_collections`)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, t)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, t := range tables {
		stmt := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (_ferretdb_sjson->'$._id')`, t+"_hyperlieu_id", t)
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("index %s: %w", t, err)
		}
	}
	return nil
}

func quiet(log *slog.Logger) *slog.Logger {
	return slog.New(levelFilter{log.Handler(), slog.LevelError}).With("component", "ferretdb")
}

type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (h levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFilter{h.Handler.WithAttrs(a), h.min}
}

func (h levelFilter) WithGroup(n string) slog.Handler {
	return levelFilter{h.Handler.WithGroup(n), h.min}
}

func (e *Embedded) waitReady(ctx context.Context) error {
	c, err := mongo.Connect(options.Client().ApplyURI(e.uri).SetServerSelectionTimeout(10 * time.Second))
	if err != nil {
		return fmt.Errorf("embedded database: %w", err)
	}
	defer c.Disconnect(context.WithoutCancel(ctx))
	if err := c.Ping(ctx, nil); err != nil {
		return fmt.Errorf("embedded database did not answer: %w", err)
	}
	return nil
}

// URI is the mongodb:// address to connect to.
func (e *Embedded) URI() string { return e.uri }

// Close stops the server, waits for it to release its files, then
// releases the folder's lock.
func (e *Embedded) Close() {
	e.cancel()
	<-e.done
	if e.lock != nil {
		e.lock.Close()
	}
}
