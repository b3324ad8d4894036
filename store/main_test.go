package store_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
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

// newDBWith is newDB with options (the pools are set by sharedDBWith).
func newDBWith(t testing.TB, opts store.Options) *store.DB {
	t.Helper()
	dbs, _ := sharedDBWith(t, 1, opts)
	return dbs[0]
}
