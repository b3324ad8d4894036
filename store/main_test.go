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
		uri = e.URI()
	}
	return m.Run()
}

var dbSeq atomic.Int64

// newDB opens a fresh database for one test and drops it afterwards.
func newDB(t testing.TB) *store.DB {
	t.Helper()
	name := fmt.Sprintf("t%d_%s", dbSeq.Add(1), strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
	if len(name) > 60 {
		name = name[:60]
	}
	db, err := store.Open(context.Background(), uri, name, store.Options{MaxPoolSize: 4})
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
