package webhook

import (
	"context"
	"fmt"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// Status is where a delivery stands.
type Status string

const (
	Pending   Status = "pending"   // queued, waiting for its first or next attempt
	Delivered Status = "delivered" // a 2xx answered
	Dead      Status = "dead"      // MaxAttempts failed: dead-lettered, until replayed
)

// Delivery is one event for one endpoint. Its id, the event's id, a dot and
// the endpoint's id, is sent in DeliveryHeader and is the same on every
// attempt, so receivers deduplicate on it.
type Delivery struct {
	ID         string
	EndpointID string
	Event      Event
	Status     Status
	Attempts   int
	LastError  string // "HTTP 500", "timeout"…: never the receiver's body
	NextAt     time.Time
	CreatedAt  time.Time
	DoneAt     time.Time
	// Claim is the number of the last claim taken on it, LeaseUntil when
	// that claim's holder gives up its exclusive right to send.
	Claim      int
	LeaseUntil time.Time
	// Seq is its slot in its endpoint's list (list.go), kept when replayed.
	Seq int
}

// DeliveryID is the id of e's delivery to endpoint endpointID.
func DeliveryID(eventID, endpointID string) string { return eventID + "." + endpointID }

// QueueStore keeps deliveries. Unfinished ones are in a queue that stays
// small (read whole by the worker); finished ones move to a history.
type QueueStore interface {
	// CreateWebhookDelivery queues d under its id; Conflict when queued.
	CreateWebhookDelivery(ctx context.Context, d Delivery) error
	// FindQueuedWebhookDeliveries returns the whole queue.
	FindQueuedWebhookDeliveries(ctx context.Context) ([]Delivery, error)
	// FindQueuedWebhookDelivery returns queued delivery id; NotFound.
	FindQueuedWebhookDelivery(ctx context.Context, id string) (Delivery, error)
	// UpdateQueuedWebhookDelivery replaces queued d; NotFound when it left.
	UpdateQueuedWebhookDelivery(ctx context.Context, d Delivery) error
	// FinishWebhookDelivery writes d to the history, then takes it off
	// the queue, then drops its claims.
	FinishWebhookDelivery(ctx context.Context, d Delivery) error
	// FindWebhookDelivery returns finished delivery id; NotFound.
	FindWebhookDelivery(ctx context.Context, id string) (Delivery, error)
	// CreateWebhookClaim takes claim seq of delivery id until until;
	// Conflict when it is taken.
	CreateWebhookClaim(ctx context.Context, id string, seq int, until time.Time) error
	// FindWebhookClaim returns until of claim seq of delivery id; NotFound.
	FindWebhookClaim(ctx context.Context, id string, seq int) (time.Time, error)
}

// queue records one delivery of e per endpoint that wants it. A delivery
// queued already (a retried publish) is left as it is.
func (s *Service) queue(ctx context.Context, e Event) error {
	for _, ep := range s.endpointList() {
		if !ep.Wants(e.Type) {
			continue
		}
		d := Delivery{ID: DeliveryID(e.ID, ep.ID), EndpointID: ep.ID, Event: e, Status: Pending, NextAt: e.At, CreatedAt: s.opts.Now().UTC()}
		// Listed first: a crash between leaves a slot naming nothing,
		// which the list skips, not a delivery the list cannot show.
		if err := s.list(ctx, &d); err != nil {
			return fmt.Errorf("queue delivery: %w", err)
		}
		if err := s.store.CreateWebhookDelivery(ctx, d); err != nil && hyperlieu.KindOf(err) != hyperlieu.Conflict {
			return fmt.Errorf("queue delivery: %w", err)
		}
	}
	return nil
}

// MaxDeliveriesPage is the most deliveries Deliveries returns at once.
const MaxDeliveriesPage = 100

// Deliveries lists endpoint id's deliveries newest first, up to limit
// (1..MaxDeliveriesPage, 0 for 20), before the cursor before; next is the
// cursor of the following page ("" on the last). NotFound for an unknown
// endpoint, Invalid for a bad limit or cursor.
func (s *Service) Deliveries(ctx context.Context, a hyperlieu.Actor, id, before string, limit int) (ds []Delivery, next string, err error) {
	if err := mustAdmin(a); err != nil {
		return nil, "", err
	}
	if limit == 0 {
		limit = 20
	}
	var p hyperlieu.Problems
	if limit < 1 || limit > MaxDeliveriesPage {
		p.Add("limit", "must be between 1 and %d", MaxDeliveriesPage)
	}
	if len(before) > 128 {
		p.Add("before", "is not a cursor")
	}
	if err := p.Err(); err != nil {
		return nil, "", err
	}
	if _, err := s.endpoint(ctx, id); err != nil {
		return nil, "", err
	}
	from, err := s.listFrom(ctx, id, before)
	if err != nil {
		return nil, "", err
	}
	ds, err = s.listed(ctx, id, from, limit+1)
	if err != nil {
		return nil, "", err
	}
	if len(ds) > limit {
		ds, next = ds[:limit], ds[limit-1].ID
	}
	return ds, next, nil
}

// listFrom returns the slot a page of endpoint's list starts at: the newest,
// or the one below the cursor's (a delivery id). A cursor that names no
// delivery of the endpoint starts nowhere: an empty page.
func (s *Service) listFrom(ctx context.Context, endpoint, before string) (int, error) {
	if before == "" {
		return s.newest(ctx, endpoint)
	}
	d, err := s.findDelivery(ctx, before)
	if hyperlieu.KindOf(err) == hyperlieu.NotFound || (err == nil && d.EndpointID != endpoint) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("list deliveries: %w", err)
	}
	return d.Seq - 1, nil
}

// Replay queues a finished delivery (delivered or dead) of endpoint id
// again, with its id, at once and with a fresh count of attempts.
// NotFound when the endpoint has no such delivery (another endpoint's
// included); Conflict when it is queued (not finished, or replayed already).
func (s *Service) Replay(ctx context.Context, a hyperlieu.Actor, id, deliveryID string) (Delivery, error) {
	if err := mustAdmin(a); err != nil {
		return Delivery{}, err
	}
	if _, err := s.endpoint(ctx, id); err != nil {
		return Delivery{}, err
	}
	d, err := s.store.FindWebhookDelivery(ctx, deliveryID)
	if hyperlieu.KindOf(err) == hyperlieu.NotFound || (err == nil && d.EndpointID != id) {
		// Queued is a Conflict only for this endpoint's own delivery:
		// another endpoint's is not found here, queued or not.
		if q, qerr := s.store.FindQueuedWebhookDelivery(ctx, deliveryID); qerr == nil && q.EndpointID == id {
			return Delivery{}, hyperlieu.Errorf(hyperlieu.Conflict, "delivery is queued already")
		}
		return Delivery{}, hyperlieu.Errorf(hyperlieu.NotFound, "delivery not found")
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("replay: %w", err)
	}
	now := s.opts.Now().UTC()
	// Claims go on from the last one: numbers are never reused.
	d.Status, d.Attempts, d.LastError, d.NextAt, d.DoneAt, d.LeaseUntil = Pending, 0, "", now, time.Time{}, time.Time{}
	if err := s.store.CreateWebhookDelivery(ctx, d); err != nil {
		return Delivery{}, fmt.Errorf("replay: %w", err)
	}
	return d, nil
}
