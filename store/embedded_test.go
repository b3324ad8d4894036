package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/store"
)

// TestIndexIDs checks that lookups by _id in the embedded database use an
// index after IndexIDs, which FerretDB v1 alone does not provide.
func TestIndexIDs(t *testing.T) {
	if embedded == nil {
		t.Skip("MONGO_URI set: no embedded database")
	}
	db := newDB(t)
	ctx := context.Background()
	if err := db.CreateUser(ctx, hyperlieu.User{ID: "u1", Email: "u1@example.com", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := embedded.IndexIDs(ctx); err != nil {
		t.Fatalf("IndexIDs: %v", err)
	}
	if err := embedded.IndexIDs(ctx); err != nil {
		t.Fatalf("IndexIDs again: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(embeddedDir, "*.sqlite"))
	found := false
	for _, f := range files {
		sdb, err := sql.Open("sqlite", "file:"+f+"?mode=ro&_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		var table string
		err = sdb.QueryRow(`SELECT table_name FROM _ferretdb_collections WHERE name = 'users'`).Scan(&table)
		if err == nil {
			rows, err := sdb.Query(fmt.Sprintf(`EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM %q WHERE _ferretdb_sjson->'$._id' = 'u1'`, table))
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id, parent, notused int
				var detail string
				_ = rows.Scan(&id, &parent, &notused, &detail)
				if strings.Contains(detail, "_hyperlieu_id") {
					found = true
				}
			}
			rows.Close()
		}
		sdb.Close()
	}
	if !found {
		t.Errorf("no query plan for users by _id uses the _hyperlieu_id index")
	}
}

// TestEmbeddedLocksItsFolder checks that a second embedded database on the
// same folder is refused while the first runs, and starts once it closed.
func TestEmbeddedLocksItsFolder(t *testing.T) {
	dir, ctx, log := t.TempDir(), context.Background(), slog.New(slog.DiscardHandler)
	first, err := store.StartEmbedded(ctx, dir, "127.0.0.1:0", log)
	if err != nil {
		t.Fatal(err)
	}
	if second, err := store.StartEmbedded(ctx, dir, "127.0.0.1:0", log); err == nil {
		second.Close()
		t.Fatal("a second embedded database started on the same folder")
	} else if !strings.Contains(err.Error(), "in use by another hyperlieu process") {
		t.Errorf("error = %v, want it to say the folder is in use", err)
	}
	first.Close()
	third, err := store.StartEmbedded(ctx, dir, "127.0.0.1:0", log)
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	third.Close()
}
