package store

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Embedded is a FerretDB v1 server with its SQLite backend, run inside this
// process on a loopback port: the zero-setup database for development,
// demos and tests. It speaks the real MongoDB wire protocol, so the store
// code is the same as against MongoDB.
type Embedded struct {
	uri    string
	cancel context.CancelFunc
	done   chan struct{}
}

// StartEmbedded starts FerretDB with its files under dir, listening on addr
// (a loopback address; port 0 picks a free one). It returns once the server
// answers a ping. FerretDB's own log lines go to log at error level only: its warnings
// are protocol chatter (commands it does not implement, such as endSessions).
func StartEmbedded(ctx context.Context, dir, addr string, log *slog.Logger) (*Embedded, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded database: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("embedded database: %w", err)
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
		return nil, fmt.Errorf("embedded database: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e := &Embedded{uri: f.MongoDBURI(), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(e.done)
		_ = f.Run(runCtx)
	}()
	if err := e.waitReady(ctx); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
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

// Close stops the server and waits for it to release its files.
func (e *Embedded) Close() {
	e.cancel()
	<-e.done
}
