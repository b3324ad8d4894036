package store_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/store"
	"github.com/hyperlieu/hyperlieu/webhook"
)

// TestWebhookDeliveryCommands pins issue 15 for webhooks under the command
// monitor: a delivery costs 8 keyed commands (was 10: its claims were
// deleted one by one, and it was read again before it was finished; then
// 6 and the poll's scan of the queue, now read by _id through its index),
// the admin's list reads by _id in proportion to the page (was a scan of
// the queue and of the history), and replaying another endpoint's
// delivery is not found.
func TestWebhookDeliveryCommands(t *testing.T) {
	var cmds commands
	db := newDBWith(t, store.Options{Monitor: cmds.monitor()})
	ctx := context.Background()
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(hook.Close)
	svc := webhook.NewService(db, webhook.Options{})
	admin := hyperlieu.Actor{UserID: "admin", Roles: []hyperlieu.Role{hyperlieu.RoleAdmin}}
	ep, err := svc.CreateEndpoint(ctx, admin, webhook.EndpointInput{URL: hook.URL, Types: []string{"rsvp"}})
	if err != nil {
		t.Fatal(err)
	}
	other, err := svc.CreateEndpoint(ctx, admin, webhook.EndpointInput{URL: hook.URL, Types: []string{"checkin"}})
	if err != nil {
		t.Fatal(err)
	}
	const events = 12
	cmds.take()
	for range events {
		if err := svc.Publish(ctx, webhook.Keyed{Event: webhook.Event{Type: webhook.RSVP, Data: map[string]string{"userId": "u1"}}}); err != nil {
			t.Fatal(err)
		}
	}
	seen, scan := cmds.take()
	t.Logf("publish of %d events to one endpoint: %d commands", events, len(seen))
	// The event's entries in the stream and under its user (one insert,
	// one update of the heads, read once), the event, the list slot (its
	// head read once, then a hint), the delivery's name in the queue's
	// index, the delivery.
	if len(seen) > 6*events+3 || len(scan) > 0 {
		t.Errorf("publish: %d commands %v, scans %v; want ≤ %d, none", len(seen), seen, scan, 6*events+3)
	}

	w := webhook.NewWorker(svc, webhook.WorkerOptions{Concurrency: 1}, quiet)
	if n, err := w.RunOnce(ctx); n != events || err != nil {
		t.Fatalf("RunOnce = %d, %v; want %d", n, err, events)
	}
	seen, scan = cmds.take()
	// The poll reads the endpoints' index and each endpoint, and the
	// queue's index (all by _id: no scan); the rest is per delivery.
	perDelivery := float64(len(seen)-4) / events
	t.Logf("round of %d deliveries: %d commands (%.1f per delivery), scans %v", events, len(seen), perDelivery, scan)
	// Its read from the queue, claim, read, lease, history upsert, queue
	// findAndModify, its name off the queue's index, claims.
	if perDelivery > 8 || len(scan) != 0 {
		t.Errorf("round: %.1f commands per delivery, scans %v; want ≤ 8, none", perDelivery, scan)
	}

	const limit = 5
	var listed []webhook.Delivery
	for before, pages := "", 0; pages <= events/limit; pages++ {
		ds, next, err := svc.Deliveries(ctx, admin, ep.ID, before, limit)
		if err != nil {
			t.Fatal(err)
		}
		seen, scan = cmds.take()
		t.Logf("page %d of %d: %d commands", pages, len(ds), len(seen))
		// The head or the cursor, then a slot and one or two reads each.
		if len(seen) > 3*(limit+1)+2 || len(scan) > 0 {
			t.Errorf("page %d: %d commands, scans %v; want ≤ %d, none", pages, len(seen), scan, 3*(limit+1)+2)
		}
		listed = append(listed, ds...)
		if before = next; next == "" {
			break
		}
	}
	if len(listed) != events {
		t.Fatalf("listed %d, want %d", len(listed), events)
	}
	for i := 1; i < len(listed); i++ {
		if listed[i].ID > listed[i-1].ID || listed[i].Status != webhook.Delivered {
			t.Errorf("listed %s after %s (%s); want newest first, delivered", listed[i].ID, listed[i-1].ID, listed[i].Status)
		}
	}
	if _, err := svc.Replay(ctx, admin, other.ID, listed[0].ID); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("replaying %s through another endpoint = %v, want NotFound", listed[0].ID, err)
	}
}

// TestWebhookListsBackfill: deliveries stored before the numbered lists
// are numbered once, in time order, and listed after the upgrade.
func TestWebhookListsBackfill(t *testing.T) {
	db, ctx := newDB(t), context.Background()
	at := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
	svc := webhook.NewService(db, webhook.Options{})
	admin := hyperlieu.Actor{UserID: "admin", Roles: []hyperlieu.Role{hyperlieu.RoleAdmin}}
	ep, err := svc.CreateEndpoint(ctx, admin, webhook.EndpointInput{URL: "https://a.example/h", Types: []string{"rsvp"}})
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range []string{"001", "002", "003"} {
		d := webhook.Delivery{ID: webhook.DeliveryID(ev, ep.ID), EndpointID: ep.ID, Status: webhook.Pending, NextAt: at, CreatedAt: at,
			Event: webhook.Event{ID: ev, Type: webhook.RSVP, At: at}}
		if err := db.CreateWebhookDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			d.Status, d.Attempts, d.DoneAt = webhook.Delivered, 1, at
			if err := db.FinishWebhookDelivery(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range 2 { // the second run is a no-op
		if err := db.MigrateWebhookLists(ctx); err != nil {
			t.Fatal(err)
		}
	}
	ds, _, err := svc.Deliveries(ctx, admin, ep.ID, "", 10)
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.Event.ID)
	}
	if err != nil || strings.Join(ids, ",") != "003,002,001" {
		t.Errorf("listed %v, %v; want 003,002,001", ids, err)
	}
	// New deliveries number on after the old ones.
	if err := svc.Publish(ctx, webhook.Keyed{Event: webhook.Event{Type: webhook.RSVP}}); err != nil {
		t.Fatal(err)
	}
	if ds, _, _ := svc.Deliveries(ctx, admin, ep.ID, "", 10); len(ds) != 4 || ds[3].Event.ID != "001" {
		t.Errorf("after a new one: %d listed; want 4, 001 last", len(ds))
	}
}
