package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu/notify"
	"github.com/hyperlieu/hyperlieu/store"
)

func inboxNote(user string, i int, st notify.Status, at time.Time) notify.Notification {
	return notify.Notification{ID: fmt.Sprintf("%s-n%d", user, i), UserID: user, Kind: "offer", CreatedAt: at, NotBefore: at,
		ExpiresAt: at.Add(time.Hour), Status: st}
}

// inboxIDs pages through user's notifications with statuses, limit a page,
// as the API's cursor does, and returns their ids in order.
func inboxIDs(t *testing.T, db *store.DB, user string, limit int, statuses ...notify.Status) []string {
	t.Helper()
	q := notify.Query{UserID: user, Statuses: statuses, Limit: limit}
	var ids []string
	for {
		ns, err := db.FindNotificationPage(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range ns {
			ids = append(ids, n.ID)
		}
		if len(ns) < limit {
			return ids
		}
		q.AfterCreated, q.AfterID = ns[len(ns)-1].CreatedAt, ns[len(ns)-1].ID
	}
}

// TestInboxAcrossInstances creates notifications for two customers in bulk
// from two connections at once, as two instances would: each customer's
// inbox pages through all of theirs once, newest first, and the status
// filter (pending only) still holds.
func TestInboxAcrossInstances(t *testing.T) {
	t.Parallel()
	dbs, _ := sharedDB(t, 2)
	db1, db2, ctx := dbs[0], dbs[1], context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	concurrently(t, 10, func(b int) error {
		st := notify.StatusPending
		if b%3 == 0 {
			st = notify.StatusSuppressed
		}
		return dbs[b%2].CreateNotifications(ctx, []notify.Notification{
			inboxNote("u1", 2*b, st, now), inboxNote("u2", b, st, now), inboxNote("u1", 2*b+1, st, now)})
	})
	all := inboxIDs(t, db1, "u1", 3)
	if len(all) != 20 || len(slices.Compact(slices.Sorted(slices.Values(all)))) != 20 {
		t.Errorf("u1's inbox = %v, want their 20 notifications, each once", all)
	}
	pending := inboxIDs(t, db2, "u1", 2, notify.StatusPending)
	for _, id := range pending {
		var b int
		fmt.Sscanf(id, "u1-n%d", &b)
		if (b/2)%3 == 0 {
			t.Errorf("pending page lists %s, which is suppressed", id)
		}
	}
	if len(pending) != 12 {
		t.Errorf("u1's pending = %v, want 12", pending)
	}
	if got := inboxIDs(t, db1, "u2", 4); len(got) != 10 {
		t.Errorf("u2's inbox = %v, want 10", got)
	}
}

// TestInboxMigrationAndErasure lists notifications stored before inboxes
// were lists, oldest first below the newer ones, and pages through them;
// erasure empties the inbox.
func TestInboxMigrationAndErasure(t *testing.T) {
	t.Parallel()
	db, ctx := newDB(t), context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	var old []notify.Notification
	for i := range 3 {
		old = append(old, inboxNote("u1", i, notify.StatusSent, now.Add(time.Duration(i-10)*time.Minute)))
	}
	if err := store.CreateNotificationsUnlisted(ctx, db, old); err != nil {
		t.Fatal(err)
	}
	if n, err := db.MigrateLists(ctx); err != nil || n != 3 {
		t.Fatalf("MigrateLists = %d, %v; want 3", n, err)
	}
	if err := db.CreateNotifications(ctx, []notify.Notification{inboxNote("u1", 3, notify.StatusPending, now)}); err != nil {
		t.Fatal(err)
	}
	if got, want := inboxIDs(t, db, "u1", 1), []string{"u1-n3", "u1-n2", "u1-n1", "u1-n0"}; !slices.Equal(got, want) {
		t.Errorf("inbox = %v, want %v", got, want)
	}
	if err := db.DeleteNotificationData(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if got := inboxIDs(t, db, "u1", 5); len(got) != 0 {
		t.Errorf("inbox after erasure = %v, want empty", got)
	}
}
