package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/notify"
	"github.com/hyperlieu/hyperlieu/store"
)

// TestOutboxParkedKeyed pins issue 15 for device registration: the user's
// parked notifications are found by the _id read of their device list, not
// by a scan of the queue, and a registration makes them due.
func TestOutboxParkedKeyed(t *testing.T) {
	var cmds commands
	db := newDBWith(t, store.Options{Monitor: cmds.monitor()})
	ctx := context.Background()
	svc := notify.NewService(db, notify.Options{}, quiet)
	now := time.Now().UTC()
	var users []string
	for _, id := range []string{"p1", "p2"} {
		u := hyperlieu.User{ID: id, Email: id + "@example.com", Roles: []hyperlieu.Role{hyperlieu.RoleCustomer},
			Prefs: hyperlieu.DefaultPreferences("fr", "UTC"), CreatedAt: now, UpdatedAt: now}
		u.Prefs.QuietHours = nil
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		users = append(users, id)
	}
	cmds.take()
	if err := svc.Notify(ctx, fanOut(users, 1)...); err != nil {
		t.Fatal(err)
	}
	if err := svc.Notify(ctx, fanOut(users[:1], 2)...); err != nil {
		t.Fatal(err)
	}
	seen, scan := cmds.take()
	t.Logf("two Notify calls parking 3 for 2 users: %d commands %v", len(seen), seen)
	if len(scan) > 0 {
		t.Errorf("Notify scans %v", scan)
	}
	if due := dueIDs(t, db, now.Add(time.Minute)); len(due) != 0 {
		t.Fatalf("due before any device: %v; want all parked", due)
	}

	cmds.take()
	if _, err := svc.RegisterDevice(ctx, "p1", notify.DeviceInput{Token: "tok-p1", Platform: "android"}); err != nil {
		t.Fatal(err)
	}
	seen, scan = cmds.take()
	t.Logf("registration unparking 2: %d commands %v", len(seen), seen)
	// devices read, device list set, device put, users read, list read,
	// queue and inbox updates, list unset, devices read.
	if len(seen) > 9 || len(scan) > 0 {
		t.Errorf("registration: %d commands %v, scans %v; want ≤ 9, none", len(seen), seen, scan)
	}
	if due := dueIDs(t, db, now.Add(time.Minute)); len(due) != 2 {
		t.Errorf("due after p1's device: %v; want p1's two", due)
	}
	cmds.take()
	// A second registration finds nothing left to unpark: the list was
	// emptied after the updates.
	if _, err := svc.RegisterDevice(ctx, "p1", notify.DeviceInput{Token: "tok-p1b", Platform: "android"}); err != nil {
		t.Fatal(err)
	}
	seen, scan = cmds.take()
	t.Logf("registration with none parked: %d commands %v", len(seen), seen)
	if len(seen) > 6 || len(scan) > 0 {
		t.Errorf("registration: %d commands %v, scans %v; want ≤ 6, none", len(seen), seen, scan)
	}
	if _, err := svc.RegisterDevice(ctx, "p2", notify.DeviceInput{Token: "tok-p2", Platform: "ios"}); err != nil {
		t.Fatal(err)
	}
	if due := dueIDs(t, db, now.Add(time.Minute)); len(due) != 3 {
		t.Errorf("due after p2's device: %v; want all three", due)
	}
}

// TestOutboxParkedBackfill: notifications parked before the device lists
// held them are listed once by MigrateOutbox, so that a registration after
// the upgrade still makes them due.
func TestOutboxParkedBackfill(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	svc := notify.NewService(db, notify.Options{}, quiet)
	now := time.Now().UTC()
	n := notify.Notification{ID: "old-parked", UserID: "p9", Kind: hyperlieu.KindEventAnnounced, Title: "T", Body: "B",
		Status: notify.StatusPending, Parked: true, CreatedAt: now, NotBefore: now.Add(time.Hour), ExpiresAt: now.Add(72 * time.Hour)}
	if err := store.CreateNotificationsUnlisted(ctx, db, []notify.Notification{n}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.MigrateOutbox(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RegisterDevice(ctx, "p9", notify.DeviceInput{Token: "tok-p9", Platform: "web"}); err != nil {
		t.Fatal(err)
	}
	if due := dueIDs(t, db, now.Add(time.Minute)); len(due) != 1 {
		t.Errorf("due after the device: %v; want the old parked one", due)
	}
}

func dueIDs(t *testing.T, db *store.DB, now time.Time) []string {
	t.Helper()
	ns, err := db.FindDueNotifications(context.Background(), now, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, n := range ns {
		if !n.Parked {
			ids = append(ids, n.ID)
		}
	}
	return ids
}

// TestOutboxParkedUnlistedWhenFinal: a parked notification whose outcome
// is final (no device came in time) leaves its user's list, so that a
// customer who never registers does not collect ids.
func TestOutboxParkedUnlistedWhenFinal(t *testing.T) {
	var cmds commands
	db := newDBWith(t, store.Options{Monitor: cmds.monitor()})
	ctx := context.Background()
	now := time.Now().UTC()
	n := notify.Notification{ID: "parked-1", UserID: "p7", Kind: hyperlieu.KindEventAnnounced, Title: "T", Body: "B",
		Status: notify.StatusPending, Parked: true, CreatedAt: now, NotBefore: now.Add(time.Hour), ExpiresAt: now.Add(72 * time.Hour)}
	if err := db.CreateNotifications(ctx, []notify.Notification{n}); err != nil {
		t.Fatal(err)
	}
	n.Status, n.Reason = notify.StatusSuppressed, notify.ReasonNoDevice
	cmds.take()
	if err := db.RecordOutcomes(ctx, []notify.Notification{n}); err != nil {
		t.Fatal(err)
	}
	if seen, scan := cmds.take(); len(seen) != 2 || len(scan) > 0 {
		t.Errorf("outcome of a parked one: %v, scans %v; want the outcome insert and the list's unset", seen, scan)
	}
	if err := db.UpdateParked(ctx, "p7", now); err != nil {
		t.Fatal(err)
	}
	if seen, _ := cmds.take(); len(seen) != 1 {
		t.Errorf("registration after it finished: %v; want the list read alone (nothing listed)", seen)
	}
}
