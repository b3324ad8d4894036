package store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"go.mongodb.org/mongo-driver/v2/event"

	"github.com/hyperlieu/hyperlieu/store"
)

// TestListAppendsOfOneInstanceNeverCollide: writers of one instance
// appending to one list at once (every notification goes to the admins'
// list) take distinct numbers from the instance's hints, one insert each,
// where they all took the same number and retried in turn.
func TestListAppendsOfOneInstanceNeverCollide(t *testing.T) {
	var inserts atomic.Int64
	mon := &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		if e.CommandName == "insert" && e.Command.Lookup("insert").StringValue() == "test_lists" {
			inserts.Add(1)
		}
	}}
	db := newDBWith(t, store.Options{Monitor: mon})
	ctx := context.Background()
	const writers = 16
	var mu sync.Mutex
	got := map[int]bool{}
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			n, err := db.AppendToTestList(ctx, "*", fmt.Sprint("ref", i))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			got[n] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	for n := 1; n <= writers; n++ {
		if !got[n] {
			t.Errorf("number %d not taken; taken %v", n, got)
		}
	}
	if n := inserts.Load(); n != writers {
		t.Errorf("%d inserts for %d appends, want one each (no collision)", n, writers)
	}
}
