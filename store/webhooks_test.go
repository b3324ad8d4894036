package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/webhook"
)

// Deliveries move from the queue to the history; claims and list slots are
// unique; erasure scrubs both; deleting the endpoint takes its deliveries
// and its list.
func TestWebhookDeliveries(t *testing.T) {
	t.Parallel()
	db, ctx := newDB(t), context.Background()
	at := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
	ep := webhook.Endpoint{ID: "ep1", URL: "https://a.example/h", Types: []webhook.Type{webhook.RSVP}, Secret: "s3cret-s3cret-s3cret", CreatedAt: at}
	if err := db.CreateWebhookEndpoint(ctx, ep); err != nil {
		t.Fatal(err)
	}
	ep.Paused, ep.PausedReason, ep.PausedAt = true, webhook.PausedFailing, at
	if err := db.UpdateWebhookEndpointState(ctx, ep); err != nil {
		t.Fatal(err)
	}
	eps, err := db.FindWebhookEndpoints(ctx)
	if err != nil || len(eps) != 1 || !eps[0].Paused || eps[0].Secret != ep.Secret || !eps[0].FailingSince.IsZero() || !eps[0].PausedAt.Equal(at) {
		t.Fatalf("FindWebhookEndpoints = %+v, %v", eps, err)
	}
	mk := func(ev, user string) webhook.Delivery {
		return webhook.Delivery{ID: webhook.DeliveryID(ev, "ep1"), EndpointID: "ep1", Status: webhook.Pending, NextAt: at, CreatedAt: at,
			Event: webhook.Event{ID: ev, Type: webhook.RSVP, At: at, Data: map[string]string{"userId": user, "eventId": "e1"}}}
	}
	a, b := mk("001", "ana"), mk("002", "ben")
	for _, d := range []webhook.Delivery{a, b} {
		// Published first, as webhook.Service does: erasure finds the
		// deliveries through the user's events.
		if err := db.CreateWebhookEvent(ctx, d.Event); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateWebhookDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.CreateWebhookDelivery(ctx, a); hyperlieu.KindOf(err) != hyperlieu.Conflict {
		t.Errorf("queueing twice = %v, want Conflict", err)
	}
	if err := db.CreateWebhookClaim(ctx, a.ID, 1, at); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateWebhookClaim(ctx, a.ID, 1, at); hyperlieu.KindOf(err) != hyperlieu.Conflict {
		t.Errorf("claiming twice = %v, want Conflict", err)
	}
	if until, err := db.FindWebhookClaim(ctx, a.ID, 1); err != nil || !until.Equal(at) {
		t.Errorf("FindWebhookClaim = %v, %v", until, err)
	}
	a.Claim, a.Attempts, a.Status, a.DoneAt = 1, 1, webhook.Delivered, at
	if err := db.FinishWebhookDelivery(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindQueuedWebhookDelivery(ctx, a.ID); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("finished delivery still queued: %v", err)
	}
	if _, err := db.FindWebhookClaim(ctx, a.ID, 1); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("finished delivery's claim kept: %v", err)
	}
	q, err := db.FindQueuedWebhookDeliveries(ctx)
	if err != nil || len(q) != 1 || q[0].ID != b.ID {
		t.Errorf("queue = %+v, %v; want b alone", q, err)
	}
	if err := db.CreateWebhookSlot(ctx, "ep1", 1, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateWebhookSlot(ctx, "ep1", 1, b.ID); hyperlieu.KindOf(err) != hyperlieu.Conflict {
		t.Errorf("taking a slot twice = %v, want Conflict", err)
	}
	if id, err := db.FindWebhookSlot(ctx, "ep1", 1); err != nil || id != a.ID {
		t.Errorf("FindWebhookSlot = %q, %v; want a", id, err)
	}

	if err := db.EraseUserEvents(ctx, "ana"); err != nil {
		t.Fatal(err)
	}
	if err := db.EraseUserEvents(ctx, "ben"); err != nil {
		t.Fatal(err)
	}
	done, _ := db.FindWebhookDelivery(ctx, a.ID)
	queued, _ := db.FindQueuedWebhookDelivery(ctx, b.ID)
	if done.Event.Data["userId"] != "erased" || queued.Event.Data["userId"] != "erased" || queued.Event.Data["eventId"] != "e1" {
		t.Errorf("after erasure: %v and %v, want userId erased, eventId kept", done.Event.Data, queued.Event.Data)
	}
	// A worker's update after the erasure does not write the id back.
	b.Attempts, b.LastError = 1, "HTTP 500"
	if err := db.UpdateQueuedWebhookDelivery(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.FindQueuedWebhookDelivery(ctx, b.ID); got.Event.Data["userId"] != "erased" || got.Attempts != 1 {
		t.Errorf("after the worker's update = %+v", got)
	}
	if err := db.FinishWebhookDelivery(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.FindWebhookDelivery(ctx, b.ID); got.Event.Data["userId"] != "erased" {
		t.Errorf("finished from a stale copy: %v", got.Event.Data)
	}

	if err := db.DeleteWebhookEndpoint(ctx, "ep1"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteWebhookEndpoint(ctx, "ep1"); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("deleting twice = %v, want NotFound", err)
	}
	if _, err := db.FindWebhookSlot(ctx, "ep1", 1); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("slot after delete: %v", err)
	}
}
