package store_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hyperlieu/hyperlieu/store"
)

// uri is the server every test gets its own database on: MONGO_URI when set,
// else an embedded FerretDB started once for the package.
var uri string

// embedded is the package's FerretDB, nil when MONGO_URI is set.
var embedded *store.Embedded

// embeddedDir is where embedded keeps its files.
var embeddedDir string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	uri = os.Getenv("MONGO_URI")
	if uri == "" {
		dir, err := os.MkdirTemp("", "hyperlieu-store-test")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		e, err := store.StartEmbedded(context.Background(), dir, "127.0.0.1:0", slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer e.Close()
		uri, embedded, embeddedDir = e.URI(), e, dir
	}
	return m.Run()
}

var dbSeq atomic.Int64

// newDB opens a fresh database for one test and drops it afterwards.
func newDB(t testing.TB) *store.DB {
	t.Helper()
	return newDBWith(t, store.Options{})
}

// newDBWith is newDB with options (the pool size is set here).
func newDBWith(t testing.TB, opts store.Options) *store.DB {
	t.Helper()
	name := fmt.Sprintf("t%d_%s", dbSeq.Add(1), strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
	if len(name) > 60 {
		name = name[:60]
	}
	// The pools the server uses with FerretDB.
	if embedded != nil {
		opts = opts.ForEmbedded()
	}
	db, err := store.Open(context.Background(), uri, name, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_ = db.Drop(ctx)
		_ = db.Close(ctx)
	})
	return db
}
