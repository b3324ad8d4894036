package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/account"
	"github.com/hyperlieu/hyperlieu/notify"
	"github.com/hyperlieu/hyperlieu/store"
	"github.com/hyperlieu/hyperlieu/webhook"
)

// adminFixture stores n customers, each with a session, a refresh token,
// an audit entry and a notification, and a manager's alert about the
// first customer: history a scan would have to decode.
func adminFixture(t *testing.T, db *store.DB, n int, now time.Time) []hyperlieu.User {
	t.Helper()
	ctx := context.Background()
	var us []hyperlieu.User
	for i := range n {
		u := hyperlieu.User{ID: hyperlieu.NewID(), Email: fmt.Sprintf("c%d-%s@example.com", i, hyperlieu.NewID()[:6]),
			DisplayName: fmt.Sprintf("Customer %d", i), Roles: []hyperlieu.Role{hyperlieu.RoleCustomer}, CreatedAt: now}
		u.Prefs.MaxNotificationsPerDay = 3
		if i == 1 {
			u.Roles, u.DisplayName = []hyperlieu.Role{hyperlieu.RoleManager}, "Camille Manager"
		}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		us = append(us, u)
		if err := db.CreateSession(ctx, account.Session{ID: hyperlieu.NewID(), UserID: u.ID, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateRefreshToken(ctx, account.RefreshToken{Hash: hyperlieu.NewID(), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateAuditEntry(ctx, hyperlieu.AuditEntry{ID: fmt.Sprintf("%s-%03d", now.Format("20060102150405"), i), At: now,
			ActorID: "staff", ActorRole: hyperlieu.RoleManager, Action: "gesture", UserID: u.ID, ObjectID: "gesture:" + u.ID}); err != nil {
			t.Fatal(err)
		}
		note := notify.Notification{ID: hyperlieu.NewID(), UserID: u.ID, Kind: "offer", CreatedAt: now.Add(time.Duration(i) * time.Second),
			NotBefore: now, ExpiresAt: now.Add(time.Hour), Status: notify.StatusPending, Data: map[string]string{"campaignId": "c1"}}
		if err := db.CreateNotifications(ctx, []notify.Notification{note}); err != nil {
			t.Fatal(err)
		}
	}
	alert := notify.Notification{ID: hyperlieu.NewID(), UserID: us[1].ID, Kind: "low-rating", CreatedAt: now, NotBefore: now,
		ExpiresAt: now.Add(time.Hour), Status: notify.StatusPending, Data: map[string]string{"userId": us[0].ID, "comment": "meh"}}
	if err := db.CreateNotifications(ctx, []notify.Notification{alert}); err != nil {
		t.Fatal(err)
	}
	return us
}

// TestAdminPathCommands pins what the admins' lists, export and erasure
// cost (issue 15): every command an _id read, a keyed insert or a write by
// _id, a fixed number per page or per entry read; a filtered page reads a
// bounded share of the list and says where to go on.
func TestAdminPathCommands(t *testing.T) {
	var cmds commands
	db := newDBWith(t, store.Options{Monitor: cmds.monitor()})
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	us := adminFixture(t, db, 8, now)
	u := us[0]

	// Users: the list's head, one read past it, an entry and a user each.
	var page account.UserPage
	costsAtMost(t, &cmds, "user page of 3", 2+2*3, func() (err error) {
		page, err = db.FindUsersBy(ctx, account.UserQuery{Limit: 3})
		return err
	})
	if len(page.Items) != 3 || page.Items[0].ID != us[0].ID || page.Next == "" {
		t.Fatalf("user page = %+v, want the first 3 and a cursor", page)
	}
	seen := map[string]bool{}
	for page.Next != "" {
		for _, u := range page.Items {
			seen[u.ID] = true
		}
		next := page.Next
		costsAtMost(t, &cmds, "next user page", 2+2*3, func() (err error) {
			page, err = db.FindUsersBy(ctx, account.UserQuery{Limit: 3, After: next})
			return err
		})
	}
	for _, u := range page.Items {
		seen[u.ID] = true
	}
	if len(seen) != len(us) {
		t.Errorf("pages saw %d users, want %d", len(seen), len(us))
	}
	// A filtered page reads Limit numbers at a time (the head and one past
	// it per batch), within its bound.
	batches := (len(us) + 4) / 5
	costsAtMost(t, &cmds, "users by role, batches of 5", 2*batches+2*len(us), func() (err error) {
		page, err = db.FindUsersBy(ctx, account.UserQuery{Role: hyperlieu.RoleManager, Limit: 5})
		return err
	})
	if len(page.Items) != 1 || page.Items[0].ID != us[1].ID || page.Next != "" {
		t.Errorf("role=manager = %+v, want the manager, last page", page)
	}
	costsAtMost(t, &cmds, "users by text", 2*batches+2*len(us), func() (err error) {
		page, err = db.FindUsersBy(ctx, account.UserQuery{Text: "camille", Limit: 5})
		return err
	})
	if len(page.Items) != 1 || page.Items[0].ID != us[1].ID {
		t.Errorf("q=camille = %+v, want the manager", page)
	}
	costsAtMost(t, &cmds, "user by whole email: its key, the user", 2, func() (err error) {
		page, err = db.FindUsersBy(ctx, account.UserQuery{Text: us[2].Email, Limit: 5})
		return err
	})
	if len(page.Items) != 1 || page.Items[0].ID != us[2].ID {
		t.Errorf("q=<email> = %+v, want %s", page, us[2].ID)
	}
	if _, err := db.FindUsersBy(ctx, account.UserQuery{Limit: 5, After: "no-such-user"}); hyperlieu.KindOf(err) != hyperlieu.Invalid {
		t.Errorf("unknown cursor: %v, want Invalid", err)
	}
	// An older version's cursor, a user id, still pages on.
	costsAtMost(t, &cmds, "user page after an id cursor", 1+2+2*2, func() (err error) {
		page, err = db.FindUsersBy(ctx, account.UserQuery{Limit: 2, After: us[5].ID})
		return err
	})
	if len(page.Items) != 2 || page.Items[0].ID != us[6].ID {
		t.Errorf("after %s = %+v, want %s first", us[5].ID, page.Items, us[6].ID)
	}

	// The audit trail: recording lists the entry under everyone and each
	// person in one insert and one update (plus the head of a person this
	// instance has not listed yet), then stores it.
	costsAtMost(t, &cmds, "record an audit entry", 4, func() error {
		return db.CreateAuditEntry(ctx, hyperlieu.AuditEntry{ID: now.Format("20060102150405") + "-999", At: now, ActorID: us[1].ID,
			ActorRole: hyperlieu.RoleManager, Action: "gesture", UserID: u.ID})
	})
	var es []hyperlieu.AuditEntry
	costsAtMost(t, &cmds, "audit page of 3", 2+2*3, func() (err error) {
		es, err = db.FindAuditEntriesAfter(ctx, "", 3)
		return err
	})
	if len(es) != 3 {
		t.Fatalf("audit page = %v, want 3", es)
	}
	costsAtMost(t, &cmds, "next audit page: the cursor, then as above", 1+2+2*3, func() (err error) {
		es, err = db.FindAuditEntriesAfter(ctx, es[2].ID, 3)
		return err
	})
	if len(es) != 3 || es[0].UserID != us[3].ID {
		t.Errorf("second audit page = %v, want from %s's entry", es, us[3].ID)
	}
	costsAtMost(t, &cmds, "a person's audit entries", 2+2*2, func() (err error) {
		es, err = db.FindAuditEntriesOf(ctx, u.ID)
		return err
	})
	if len(es) != 2 {
		t.Errorf("entries of %s = %v, want 2", u.ID, es)
	}

	// Everyone's notifications: the list's head, one read past it, then per
	// notification its entry, itself, its outbox state and its open.
	var ns []notify.Notification
	var last notify.Notification
	costsAtMost(t, &cmds, "admins' notification page of 4", 2+6*4, func() (err error) {
		ns, last, err = db.FindAllNotificationPage(ctx, notify.Query{Limit: 4})
		return err
	})
	if len(ns) != 4 || last.ID != "" {
		t.Errorf("admins' page = %d notifications, last %q; want 4, none", len(ns), last.ID)
	}
	costsAtMost(t, &cmds, "admins' notifications by status", 2+6*(len(us)+1), func() (err error) {
		ns, _, err = db.FindAllNotificationPage(ctx, notify.Query{Statuses: []notify.Status{notify.StatusFailed}, Limit: 5})
		return err
	})
	if len(ns) != 0 {
		t.Errorf("failed notifications = %v, want none", ns)
	}

	// Export and erasure of the first customer.
	var sec map[string]any
	costsAtMost(t, &cmds, "export the account: user, session list, sessions", 1+2+2, func() (err error) {
		sec, err = db.ExportUser(ctx, u.ID)
		return err
	})
	if ss, _ := sec["sessions"].([]map[string]any); len(ss) != 1 {
		t.Errorf("exported sessions = %v, want 1", sec["sessions"])
	}
	sid := sec["sessions"].([]map[string]any)[0]["id"].(string)
	first := now.Add(-time.Minute)
	for _, at := range []time.Time{first, now} {
		costsAtMost(t, &cmds, "revoke a session: one update by _id", 1, func() error { return db.UpdateSessionRevoked(ctx, sid, at) })
	}
	if s, err := db.FindSession(ctx, sid); err != nil || !s.RevokedAt.Equal(first) {
		t.Errorf("revoked twice = %v, %v; want the first time %v", s.RevokedAt, err, first)
	}
	if ok, err := db.CreateSlots(ctx, []notify.SlotRequest{{Slots: []string{notify.ContactSlot(u, now.Format(time.DateOnly), 1)}}}, now); err != nil || !ok[0] {
		t.Fatalf("CreateSlots: %v %v", ok, err)
	}
	costsAtMost(t, &cmds, "erase the account", 20, func() error { return db.EraseUser(ctx, u.ID) })
	costsAtMost(t, &cmds, "erase the notifications", 30, func() error { return db.DeleteNotificationData(ctx, u.ID) })
	costsAtMost(t, &cmds, "erase from the audit trail", 12, func() error { return db.EraseAuditUser(ctx, u.ID) })
	traces, err := db.Traces(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(traces) > 0 {
		t.Errorf("erased user left %v", traces)
	}
	// The others are still listed; the erased one's entries are gone.
	page, err = db.FindUsersBy(ctx, account.UserQuery{Limit: 50})
	if err != nil || len(page.Items) != len(us)-1 {
		t.Errorf("users after erasure = %d (%v), want %d", len(page.Items), err, len(us)-1)
	}
	if es, err := db.FindAuditEntriesAfter(ctx, "", 50); err != nil || len(es) != len(us)+1 {
		t.Errorf("audit trail after erasure = %d entries (%v), want %d kept", len(es), err, len(us)+1)
	}
	if ns, err := db.FindNotificationPage(ctx, notify.Query{Limit: 50}); err != nil || len(ns) != len(us)-1 {
		t.Errorf("notifications after erasure = %d (%v), want %d (the alert about them too is gone)", len(ns), err, len(us)-1)
	}
}

// TestAdminNotificationPageIsBounded pins the admins' page by a status few
// notifications hold: it reads at most 200 notifications, returns what it
// found and where it stopped, and the next page goes on from there.
func TestAdminNotificationPageIsBounded(t *testing.T) {
	var cmds commands
	db := newDBWith(t, store.Options{Monitor: cmds.monitor()})
	ctx := context.Background()
	now := time.Now().UTC()
	var batch []notify.Notification
	for i := range 250 {
		batch = append(batch, notify.Notification{ID: fmt.Sprintf("n%03d", i), UserID: fmt.Sprintf("u%d", i%7), Kind: "offer",
			CreatedAt: now.Add(time.Duration(i) * time.Millisecond), NotBefore: now, ExpiresAt: now.Add(time.Hour), Status: notify.StatusPending})
		if len(batch) == 50 {
			if err := db.CreateNotifications(ctx, batch); err != nil {
				t.Fatal(err)
			}
			batch = nil
		}
	}
	cmds.take()
	ns, last, err := db.FindAllNotificationPage(ctx, notify.Query{Statuses: []notify.Status{notify.StatusFailed}, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	seen, scan := cmds.take()
	if len(ns) != 0 || last.ID != "n050" || len(scan) > 0 || len(seen) > 2+5*200 {
		t.Errorf("failed page: %d notifications, last %q, %d commands, scans %v; want none, n050, ≤ %d, none", len(ns), last.ID, len(seen), scan, 2+5*200)
	}
	ns, last, err = db.FindAllNotificationPage(ctx, notify.Query{Statuses: []notify.Status{notify.StatusFailed}, Limit: 10,
		AfterCreated: last.CreatedAt, AfterID: last.ID})
	if err != nil || len(ns) != 0 || last.ID != "" {
		t.Errorf("next failed page: %d, last %q, %v; want the end", len(ns), last.ID, err)
	}
	ns, _, err = db.FindAllNotificationPage(ctx, notify.Query{Statuses: []notify.Status{notify.StatusPending}, Limit: 10})
	if err != nil || len(ns) != 10 || ns[0].ID != "n249" {
		t.Errorf("pending page: %d, first %v, %v; want 10 from n249", len(ns), ns, err)
	}
}

// TestMigrateAdminLists stores what a version before the admin lists did
// (no list entries, no numbers) and checks that the migration lists it:
// the admins' pages, export and erasure find it, once.
func TestMigrateAdminLists(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	uid := hyperlieu.NewID()
	for _, d := range []struct {
		coll string
		doc  bson.D
	}{
		{"users", bson.D{{Key: "_id", Value: uid}, {Key: "email", Value: uid + "@example.com"}, {Key: "roles", Value: bson.A{"customer"}}, {Key: "createdAt", Value: now}}},
		{"sessions", bson.D{{Key: "_id", Value: "s-" + uid}, {Key: "userId", Value: uid}, {Key: "createdAt", Value: now}}},
		{"refresh_tokens", bson.D{{Key: "_id", Value: "r-" + uid}, {Key: "userId", Value: uid}, {Key: "createdAt", Value: now}}},
		{"audit_trail", bson.D{{Key: "_id", Value: "20260101000000-old"}, {Key: "at", Value: now}, {Key: "actorId", Value: "staff"}, {Key: "userId", Value: uid}, {Key: "action", Value: "gesture"}}},
		{"notifications", bson.D{{Key: "_id", Value: "note-old"}, {Key: "userId", Value: "manager"}, {Key: "createdAt", Value: now},
			{Key: "status", Value: "sent"}, {Key: "data", Value: bson.D{{Key: "userId", Value: uid}}}}},
	} {
		if err := db.InsertUnlisted(ctx, d.coll, d.doc); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range []int{5, 0} { // user, session, token, entry, notification (and about); then nothing
		n, err := db.MigrateAdminLists(ctx)
		if err != nil || n < want || i == 1 && n != 0 {
			t.Fatalf("MigrateAdminLists run %d = %d, %v; want %d", i+1, n, err, want)
		}
		if err := db.InsertUnlisted(ctx, "migrations", bson.D{{Key: "_id", Value: fmt.Sprintf("again-%d", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := db.FindUsersBy(ctx, account.UserQuery{Limit: 10})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != uid {
		t.Errorf("users = %+v, %v; want the older one", page.Items, err)
	}
	if es, err := db.FindAuditEntriesAfter(ctx, "", 10); err != nil || len(es) != 1 {
		t.Errorf("audit = %v, %v; want the older entry", es, err)
	}
	if es, err := db.FindAuditEntriesOf(ctx, uid); err != nil || len(es) != 1 {
		t.Errorf("audit of the user = %v, %v; want the older entry", es, err)
	}
	if ns, err := db.FindNotificationPage(ctx, notify.Query{Limit: 10}); err != nil || len(ns) != 1 {
		t.Errorf("notifications = %v, %v; want the older one", ns, err)
	}
	sec, err := db.ExportUser(ctx, uid)
	if ss, _ := sec["sessions"].([]map[string]any); err != nil || len(ss) != 1 {
		t.Errorf("exported sessions = %v, %v; want the older one", sec["sessions"], err)
	}
	for _, erase := range []func(context.Context, string) error{db.EraseUser, db.DeleteNotificationData, db.EraseAuditUser} {
		if err := erase(ctx, uid); err != nil {
			t.Fatal(err)
		}
	}
	if traces, err := db.Traces(ctx, uid); err != nil || len(traces) > 0 {
		t.Errorf("erased user left %v (%v)", traces, err)
	}
}

// TestWebhookAdminPathCommands pins the webhook paths of issue 15: the
// endpoints and the queue are read through their index, the event stream
// through its list (a cursor made up from a time included, and the lag
// respected), erasure and an endpoint's deletion by _id: no scan.
func TestWebhookAdminPathCommands(t *testing.T) {
	var cmds commands
	db := newDBWith(t, store.Options{Monitor: cmds.monitor()})
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	for _, id := range []string{"ep1", "ep2"} {
		if err := db.CreateWebhookEndpoint(ctx, webhook.Endpoint{ID: id, URL: "https://a.example/" + id, Types: []webhook.Type{webhook.RSVP}, CreatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	uid := hyperlieu.NewID()
	var events []webhook.Event
	for i := range 6 {
		e := webhook.Event{ID: hyperlieu.TimeIDBefore(at.Add(time.Duration(i)*time.Second)) + fmt.Sprintf("-%d", i), Type: webhook.RSVP, At: at,
			Data: map[string]string{"userId": fmt.Sprintf("other%d", i), "eventId": "e1"}}
		if i%2 == 0 {
			e.Data["userId"] = uid
		}
		events = append(events, e)
		if err := db.CreateWebhookEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
		for n, ep := range []string{"ep1", "ep2"} {
			d := webhook.Delivery{ID: webhook.DeliveryID(e.ID, ep), EndpointID: ep, Event: e, Status: webhook.Pending, NextAt: at, CreatedAt: at}
			if err := db.CreateWebhookSlot(ctx, ep, i+1, d.ID); err != nil {
				t.Fatal(err)
			}
			if err := db.CreateWebhookDelivery(ctx, d); err != nil {
				t.Fatal(err)
			}
			if n == 0 && i < 2 { // some finished
				d.Status, d.DoneAt = webhook.Delivered, at
				if err := db.FinishWebhookDelivery(ctx, d); err != nil {
					t.Fatal(err)
				}
			}
		}
	}

	var eps []webhook.Endpoint
	costsAtMost(t, &cmds, "endpoints: the index, one read each", 1+2, func() (err error) {
		eps, err = db.FindWebhookEndpoints(ctx)
		return err
	})
	if len(eps) != 2 {
		t.Errorf("endpoints = %v, want 2", eps)
	}
	var q []webhook.Delivery
	costsAtMost(t, &cmds, "the queue: the index, one read each", 1+10, func() (err error) {
		q, err = db.FindQueuedWebhookDeliveries(ctx)
		return err
	})
	if len(q) != 10 {
		t.Errorf("queue = %d deliveries, want 10", len(q))
	}
	var es []webhook.Event
	costsAtMost(t, &cmds, "stream page of 4: head, one past it, two per event", 2+2*4, func() (err error) {
		es, err = db.FindWebhookEventsBetween(ctx, "", "~", 4)
		return err
	})
	if len(es) != 4 || es[0].ID != events[0].ID {
		t.Fatalf("stream = %v, want the first 4", es)
	}
	costsAtMost(t, &cmds, "next stream page: the cursor, then as above", 1+2+2*2, func() (err error) {
		es, err = db.FindWebhookEventsBetween(ctx, es[3].ID, "~", 4)
		return err
	})
	if len(es) != 2 || es[0].ID != events[4].ID {
		t.Errorf("second stream page = %v, want the last 2", es)
	}
	made := hyperlieu.TimeIDBefore(at.Add(2*time.Second + time.Millisecond))
	costsAtMost(t, &cmds, "a cursor made from a time: a binary search of the list", 1+2+4+2+2*3, func() (err error) {
		es, err = db.FindWebhookEventsBetween(ctx, made, "~", 10)
		return err
	})
	if len(es) != 3 || es[0].ID != events[3].ID {
		t.Errorf("after %s = %v, want from %s", made, es, events[3].ID)
	}
	if es, err := db.FindWebhookEventsBetween(ctx, "", events[2].ID, 10); err != nil || len(es) != 2 {
		t.Errorf("held back from %s = %v, %v; want the first 2", events[2].ID, es, err)
	}

	costsAtMost(t, &cmds, "erase a user's events and deliveries", 40, func() error { return db.EraseUserEvents(ctx, uid) })
	if traces, err := db.Traces(ctx, uid); err != nil || len(traces) > 0 {
		t.Errorf("erased user left %v (%v)", traces, err)
	}
	costsAtMost(t, &cmds, "delete an endpoint: its slots, deliveries, itself", 20, func() error { return db.DeleteWebhookEndpoint(ctx, "ep1") })
	if q, err := db.FindQueuedWebhookDeliveries(ctx); err != nil || len(q) != 6 {
		t.Errorf("queue after deleting ep1 = %d, %v; want ep2's 6", len(q), err)
	}
	if eps, err := db.FindWebhookEndpoints(ctx); err != nil || len(eps) != 1 || eps[0].ID != "ep2" {
		t.Errorf("endpoints after delete = %v, %v; want ep2", eps, err)
	}
	if _, err := db.FindWebhookDelivery(ctx, webhook.DeliveryID(events[0].ID, "ep1")); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("ep1's finished delivery after delete: %v, want NotFound", err)
	}
}

// TestMigrateWebhookIndex stores endpoints, a queued delivery and events as
// a version before the index did, and checks that the migration names and
// lists them.
func TestMigrateWebhookIndex(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	at := time.Now().UTC()
	for _, d := range []struct {
		coll string
		doc  bson.D
	}{
		{"webhook_endpoints", bson.D{{Key: "_id", Value: "old-ep"}, {Key: "url", Value: "https://a.example/h"}, {Key: "types", Value: bson.A{"rsvp"}}, {Key: "createdAt", Value: at}}},
		{"webhook_queue", bson.D{{Key: "_id", Value: "0001.old-ep"}, {Key: "endpoint", Value: "old-ep"}, {Key: "eventId", Value: "0001"}, {Key: "createdAt", Value: at}}},
		{"webhook_events", bson.D{{Key: "_id", Value: "0001"}, {Key: "type", Value: "rsvp"}, {Key: "at", Value: at}, {Key: "data", Value: bson.D{{Key: "userId", Value: "ana"}}}, {Key: "users", Value: bson.A{"ana"}}}},
		{"webhook_events", bson.D{{Key: "_id", Value: "0002"}, {Key: "type", Value: "rsvp"}, {Key: "at", Value: at}, {Key: "data", Value: bson.D{}}}},
	} {
		if err := db.InsertRaw(ctx, d.coll, d.doc); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.ForgetMigration(ctx, "webhook-index-1"); err != nil {
		t.Fatal(err)
	}
	for range 2 { // a second run changes nothing
		if err := db.MigrateWebhookLists(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if eps, err := db.FindWebhookEndpoints(ctx); err != nil || len(eps) != 1 {
		t.Errorf("endpoints = %v, %v; want the older one", eps, err)
	}
	if q, err := db.FindQueuedWebhookDeliveries(ctx); err != nil || len(q) != 1 {
		t.Errorf("queue = %v, %v; want the older delivery", q, err)
	}
	if es, err := db.FindWebhookEventsBetween(ctx, "", "~", 10); err != nil || len(es) != 2 || es[0].ID != "0001" {
		t.Errorf("stream = %v, %v; want both older events, in order", es, err)
	}
	if err := db.EraseUserEvents(ctx, "ana"); err != nil {
		t.Fatal(err)
	}
	if es, _ := db.FindWebhookEventsBetween(ctx, "", "~", 10); len(es) != 2 || es[0].Data["userId"] != "erased" {
		t.Errorf("after erasure = %v, want ana erased", es)
	}
}

// TestSegmentLoopPagesUsersByKey: the hourly segment loop pages through
// every account in sign-up order by _id reads (three a page, then two per user), where an _id
// range decoded every user per page on the embedded database.
func TestSegmentLoopPagesUsersByKey(t *testing.T) {
	var cmds commands
	db := newDBWith(t, store.Options{Monitor: cmds.monitor()})
	ctx := context.Background()
	us := adminFixture(t, db, 5, time.Now().UTC().Truncate(time.Millisecond))
	var got []string
	after := ""
	for page := 0; ; page++ {
		var users []hyperlieu.User
		// The cursor's user, the list's head and one past it, then each
		// user's entry and document.
		costsAtMost(t, &cmds, fmt.Sprint("users page ", page), 3+2*2, func() (err error) {
			users, err = db.FindUsersAfter(ctx, after, 2)
			return err
		})
		for _, u := range users {
			got = append(got, u.ID)
		}
		if len(users) < 2 {
			break
		}
		after = users[len(users)-1].ID
	}
	if len(got) != len(us) {
		t.Fatalf("paged %d users, want %d", len(got), len(us))
	}
	for i, u := range us {
		if got[i] != u.ID {
			t.Errorf("user %d: %s, want %s (sign-up order)", i, got[i], u.ID)
		}
	}
}
