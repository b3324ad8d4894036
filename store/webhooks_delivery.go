package store

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/webhook"
)

// Webhook endpoints are a few documents by id. Deliveries not finished are
// in webhook_queue, which stays small since the worker reads it whole each
// poll; finished ones (delivered, dead) move to webhook_deliveries, read by
// _id. webhook_claims holds one document per claim "<delivery id>#<n>",
// taken by unique insert; webhook_slots the endpoints' numbered lists of
// deliveries, "<endpoint id>#<n>" (webhook/list.go), which the admin's
// listing reads by _id.
const (
	webhookEndpoints  = "webhook_endpoints"
	webhookQueue      = "webhook_queue"
	webhookDeliveries = "webhook_deliveries"
	webhookClaims     = "webhook_claims"
	webhookSlots      = "webhook_slots"
	// webhookIndex holds two documents naming, by _id, the endpoints and
	// the queued deliveries (id by hashKey(id), each set or unset by an
	// update by _id), so that the endpoints and the queue are read by _id
	// rather than whole (issue 15).
	webhookIndex = "webhook_index"
	endpointsKey = "endpoints"
	queueKey     = "queue"
)

// indexSet names (or, with unset, forgets) ids in the index document key:
// one update by _id.
func (db *DB) indexSet(ctx context.Context, key string, ids []string, unset bool) error {
	if len(ids) == 0 {
		return nil
	}
	fields := bson.D{}
	for _, id := range ids {
		fields = append(fields, bson.E{Key: "ids." + hashKey(id), Value: id})
	}
	op := "$set"
	if unset {
		op = "$unset"
	}
	_, err := db.c(webhookIndex).UpdateOne(ctx, byID(key), bson.D{{Key: op, Value: fields}}, options.UpdateOne().SetUpsert(!unset))
	return translate(err, "webhook index")
}

// indexed returns the ids the index document key names.
func (db *DB) indexed(ctx context.Context, key string) ([]string, error) {
	var d struct {
		IDs map[string]string `bson:"ids"`
	}
	err := db.c(webhookIndex).FindOne(ctx, byID(key)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, translate(err, "webhook index")
	}
	ids := slices.Sorted(maps.Values(d.IDs))
	return ids, nil
}

func webhookIndexes() []indexSpec {
	return []indexSpec{
		{webhookDeliveries, index(bson.D{{Key: "endpoint", Value: 1}, {Key: "_id", Value: -1}})},
		{webhookDeliveries, index(bson.D{{Key: "users", Value: 1}})},
		{webhookEvents, index(bson.D{{Key: "users", Value: 1}})},
	}
}

type webhookEndpointDoc struct {
	ID           string    `bson:"_id"`
	URL          string    `bson:"url"`
	Types        []string  `bson:"types"`
	Secret       string    `bson:"secret"`
	CreatedAt    time.Time `bson:"createdAt"`
	Paused       bool      `bson:"paused"`
	PausedReason string    `bson:"pausedReason,omitempty"`
	PausedAt     time.Time `bson:"pausedAt,omitempty"`
	FailingSince time.Time `bson:"failingSince,omitempty"`
}

func (d webhookEndpointDoc) endpoint() webhook.Endpoint {
	e := webhook.Endpoint{ID: d.ID, URL: d.URL, Secret: d.Secret, CreatedAt: d.CreatedAt.UTC(), Paused: d.Paused,
		PausedReason: d.PausedReason, PausedAt: utcOrZero(d.PausedAt), FailingSince: utcOrZero(d.FailingSince)}
	for _, t := range d.Types {
		e.Types = append(e.Types, webhook.Type(t))
	}
	return e
}

func utcOrZero(t time.Time) time.Time {
	if t.IsZero() || t.Unix() <= 0 {
		return time.Time{}
	}
	return t.UTC()
}

// CreateWebhookEndpoint names e in the endpoints' index, then inserts it
// under its id (a crash between leaves a name the reader skips).
func (db *DB) CreateWebhookEndpoint(ctx context.Context, e webhook.Endpoint) error {
	if err := db.indexSet(ctx, endpointsKey, []string{e.ID}, false); err != nil {
		return err
	}
	d := webhookEndpointDoc{ID: e.ID, URL: e.URL, Secret: e.Secret, CreatedAt: e.CreatedAt.UTC()}
	for _, t := range e.Types {
		d.Types = append(d.Types, string(t))
	}
	_, err := db.c(webhookEndpoints).InsertOne(ctx, d)
	return translate(err, "webhook endpoint")
}

// FindWebhookEndpoints returns every endpoint (a few): the index, then one
// read by _id each. Every instance reads them each worker poll (Refresh),
// so another instance's registration, pause or deletion shows within a
// poll.
func (db *DB) FindWebhookEndpoints(ctx context.Context) ([]webhook.Endpoint, error) {
	ids, err := db.indexed(ctx, endpointsKey)
	if err != nil {
		return nil, err
	}
	return findByIDs(ctx, db.c(webhookEndpoints), ids, nil, "webhook endpoints", webhookEndpointDoc.endpoint)
}

// UpdateWebhookEndpointState sets e's pause and failure fields, by id.
func (db *DB) UpdateWebhookEndpointState(ctx context.Context, e webhook.Endpoint) error {
	return db.updateByID(ctx, webhookEndpoints, e.ID, bson.D{{Key: "$set", Value: bson.D{
		{Key: "paused", Value: e.Paused}, {Key: "pausedReason", Value: e.PausedReason},
		{Key: "pausedAt", Value: e.PausedAt.UTC()}, {Key: "failingSince", Value: e.FailingSince.UTC()},
	}}}, "webhook endpoint")
}

// DeleteWebhookEndpoint removes the queued and finished deliveries of
// endpoint id, found through its numbered list (webhook_slots: dense from
// 1, its end found by a galloping search), and the list, by _id; then the
// endpoint and its name in the index. NotFound when there was no endpoint.
// Deliveries go first so that a crash between leaves the endpoint, to
// delete again, not orphans.
func (db *DB) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	top, err := hyperlieu.LastTaken(0, func(n int) (bool, error) {
		err := db.c(webhookSlots).FindOne(ctx, byID(webhookClaimID(id, n)), options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
		if errors.Is(err, mongo.ErrNoDocuments) {
			return false, nil
		}
		return err == nil, translate(err, "webhook delivery slot")
	})
	if err != nil {
		return err
	}
	slots := make([]string, top)
	for n := 1; n <= top; n++ {
		slots[n-1] = webhookClaimID(id, n)
	}
	listed, err := findByIDs(ctx, db.c(webhookSlots), slots, nil, "webhook delivery slots", func(d webhookSlotDoc) string { return d.Delivery })
	if err != nil {
		return err
	}
	for _, coll := range []string{webhookQueue, webhookDeliveries} {
		if err := db.deleteByIDs(ctx, coll, listed); err != nil {
			return err
		}
	}
	if err := db.indexSet(ctx, queueKey, listed, true); err != nil {
		return err
	}
	if err := db.deleteByIDs(ctx, webhookSlots, slots); err != nil {
		return err
	}
	r, err := db.c(webhookEndpoints).DeleteOne(ctx, byID(id))
	if err != nil {
		return translate(err, "webhook endpoint")
	}
	if err := db.indexSet(ctx, endpointsKey, []string{id}, true); err != nil {
		return err
	}
	if r.DeletedCount == 0 {
		return hyperlieu.Errorf(hyperlieu.NotFound, "webhook endpoint not found")
	}
	return nil
}

type webhookDeliveryDoc struct {
	ID         string            `bson:"_id"`
	Endpoint   string            `bson:"endpoint"`
	EventID    string            `bson:"eventId"`
	Type       string            `bson:"type"`
	At         time.Time         `bson:"at"`
	Data       map[string]string `bson:"data"`
	Users      []string          `bson:"users,omitempty"` // the values of Data, for erasure
	Status     string            `bson:"status"`
	Attempts   int               `bson:"attempts"`
	LastError  string            `bson:"lastError,omitempty"`
	NextAt     time.Time         `bson:"nextAt"`
	CreatedAt  time.Time         `bson:"createdAt"`
	DoneAt     time.Time         `bson:"doneAt,omitempty"`
	Claim      int               `bson:"claim"`
	LeaseUntil time.Time         `bson:"leaseUntil"`
	Seq        int               `bson:"seq,omitempty"` // its slot in the endpoint's list
}

func newWebhookDeliveryDoc(d webhook.Delivery) webhookDeliveryDoc {
	return webhookDeliveryDoc{ID: d.ID, Endpoint: d.EndpointID, EventID: d.Event.ID, Type: string(d.Event.Type), At: d.Event.At.UTC(),
		Data: d.Event.Data, Status: string(d.Status), Attempts: d.Attempts, LastError: d.LastError, NextAt: d.NextAt.UTC(),
		CreatedAt: d.CreatedAt.UTC(), DoneAt: d.DoneAt.UTC(), Claim: d.Claim, LeaseUntil: d.LeaseUntil.UTC(),
		Users: usersOf(d.Event.Data), Seq: d.Seq}
}

func (d webhookDeliveryDoc) delivery() webhook.Delivery {
	return webhook.Delivery{ID: d.ID, EndpointID: d.Endpoint,
		Event:  webhook.Event{ID: d.EventID, Type: webhook.Type(d.Type), At: d.At.UTC(), Data: d.Data},
		Status: webhook.Status(d.Status), Attempts: d.Attempts, LastError: d.LastError, NextAt: d.NextAt.UTC(),
		CreatedAt: d.CreatedAt.UTC(), DoneAt: utcOrZero(d.DoneAt), Claim: d.Claim, LeaseUntil: utcOrZero(d.LeaseUntil), Seq: d.Seq}
}

// CreateWebhookDelivery names d in the queue's index, then queues it;
// Conflict when it is queued already. A crash between leaves a name the
// worker skips.
func (db *DB) CreateWebhookDelivery(ctx context.Context, d webhook.Delivery) error {
	if err := db.indexSet(ctx, queueKey, []string{d.ID}, false); err != nil {
		return err
	}
	_, err := db.c(webhookQueue).InsertOne(ctx, newWebhookDeliveryDoc(d))
	return translate(err, "webhook delivery")
}

// FindQueuedWebhookDeliveries returns the whole queue: the queue's index,
// then one read by _id per queued delivery.
func (db *DB) FindQueuedWebhookDeliveries(ctx context.Context) ([]webhook.Delivery, error) {
	ids, err := db.indexed(ctx, queueKey)
	if err != nil {
		return nil, err
	}
	return findByIDs(ctx, db.c(webhookQueue), ids, nil, "webhook deliveries", webhookDeliveryDoc.delivery)
}

// FindQueuedWebhookDelivery returns queued delivery id; NotFound.
func (db *DB) FindQueuedWebhookDelivery(ctx context.Context, id string) (webhook.Delivery, error) {
	return db.findWebhookDelivery(ctx, webhookQueue, id)
}

// FindWebhookDelivery returns finished delivery id; NotFound.
func (db *DB) FindWebhookDelivery(ctx context.Context, id string) (webhook.Delivery, error) {
	return db.findWebhookDelivery(ctx, webhookDeliveries, id)
}

func (db *DB) findWebhookDelivery(ctx context.Context, coll, id string) (webhook.Delivery, error) {
	var d webhookDeliveryDoc
	if err := db.c(coll).FindOne(ctx, byID(id)).Decode(&d); err != nil {
		return webhook.Delivery{}, translate(err, "webhook delivery")
	}
	return d.delivery(), nil
}

// UpdateQueuedWebhookDelivery sets queued d's attempt fields (not the
// event, which erasure may have rewritten since d was read); NotFound when
// it left the queue.
func (db *DB) UpdateQueuedWebhookDelivery(ctx context.Context, d webhook.Delivery) error {
	return db.updateByID(ctx, webhookQueue, d.ID, bson.D{{Key: "$set", Value: bson.D{
		{Key: "status", Value: string(d.Status)}, {Key: "attempts", Value: d.Attempts}, {Key: "lastError", Value: d.LastError},
		{Key: "nextAt", Value: d.NextAt.UTC()}, {Key: "claim", Value: d.Claim}, {Key: "leaseUntil", Value: d.LeaseUntil.UTC()},
	}}}, "webhook delivery")
}

// FinishWebhookDelivery writes d to the history (an upsert: a replayed
// delivery finishes again), then takes it off the queue, then drops its
// claims (one bulk write). A crash in between leaves it queued, to be
// attempted again, or claims that no one reads (numbers go on from d.Claim).
// The queued copy comes back from its deletion: if erasure rewrote its
// event since d was read, the history takes the rewrite too (an erasure
// after the deletion finds the history written already).
func (db *DB) FinishWebhookDelivery(ctx context.Context, d webhook.Delivery) error {
	doc := newWebhookDeliveryDoc(d)
	if _, err := db.c(webhookDeliveries).ReplaceOne(ctx, byID(d.ID), doc, options.Replace().SetUpsert(true)); err != nil {
		return translate(err, "webhook delivery")
	}
	var q webhookDeliveryDoc
	switch err := db.c(webhookQueue).FindOneAndDelete(ctx, byID(d.ID)).Decode(&q); {
	case err == nil && !maps.Equal(q.Data, doc.Data):
		err := db.updateByID(ctx, webhookDeliveries, d.ID, bson.D{{Key: "$set", Value: bson.D{
			{Key: "data", Value: q.Data}, {Key: "users", Value: usersOf(q.Data)}}}}, "webhook delivery")
		if err != nil {
			return err
		}
	case err != nil && !errors.Is(err, mongo.ErrNoDocuments):
		return translate(err, "webhook delivery")
	}
	if err := db.indexSet(ctx, queueKey, []string{d.ID}, true); err != nil {
		return err
	}
	// Claims past d.Claim may exist (superseded ones); a few more cover
	// them. One bulk write of deletes by _id.
	dels := make([]mongo.WriteModel, 0, d.Claim+3)
	for n := 1; n <= d.Claim+3; n++ {
		dels = append(dels, mongo.NewDeleteOneModel().SetFilter(byID(webhookClaimID(d.ID, n))))
	}
	return db.bulkByID(ctx, webhookClaims, dels)
}

type webhookSlotDoc struct {
	ID       string `bson:"_id"` // <endpoint id>#<n>
	Endpoint string `bson:"endpoint"`
	Delivery string `bson:"delivery"`
}

// CreateWebhookSlot takes slot n of endpoint's list for deliveryID;
// Conflict when it is taken.
func (db *DB) CreateWebhookSlot(ctx context.Context, endpoint string, n int, deliveryID string) error {
	_, err := db.c(webhookSlots).InsertOne(ctx, webhookSlotDoc{ID: webhookClaimID(endpoint, n), Endpoint: endpoint, Delivery: deliveryID})
	return translate(err, "webhook delivery slot")
}

// FindWebhookSlot returns the delivery in endpoint's slot n; NotFound.
func (db *DB) FindWebhookSlot(ctx context.Context, endpoint string, n int) (string, error) {
	var d webhookSlotDoc
	if err := db.r(webhookSlots).FindOne(ctx, byID(webhookClaimID(endpoint, n))).Decode(&d); err != nil {
		return "", translate(err, "webhook delivery slot")
	}
	return d.Delivery, nil
}

// MigrateWebhookLists numbers the deliveries stored before the endpoints'
// lists, per endpoint in id (time) order, once per database: one scan of
// the queue and of the history. Every write is keyed and the numbering is
// the same on a second run, so a start that dies half-way is finished by
// the next.
//
// Then, once too, the endpoints' and the queue's index and the event
// stream's list (migrateWebhookIndex), before the endpoints are loaded.
func (db *DB) MigrateWebhookLists(ctx context.Context) error {
	if err := db.migrateWebhookSlots(ctx); err != nil {
		return err
	}
	return db.once(ctx, "webhook-index-1", func() error {
		_, err := db.migrateWebhookIndex(ctx)
		return err
	})
}

func (db *DB) migrateWebhookSlots(ctx context.Context) error {
	return db.once(ctx, "webhook-lists-v1", func() error {
		byEndpoint := map[string][]string{}
		for _, coll := range []string{webhookQueue, webhookDeliveries} {
			ds, err := findMany(ctx, db.c(coll), bson.D{}, options.Find().SetProjection(bson.D{{Key: "endpoint", Value: 1}}),
				"webhook deliveries", func(d webhookDeliveryDoc) webhookDeliveryDoc { return d })
			if err != nil {
				return err
			}
			for _, d := range ds {
				if !slices.Contains(byEndpoint[d.Endpoint], d.ID) { // a replayed one is in both
					byEndpoint[d.Endpoint] = append(byEndpoint[d.Endpoint], d.ID)
				}
			}
		}
		for ep, ids := range byEndpoint {
			if err := db.numberDeliveries(ctx, ep, ids); err != nil {
				return err
			}
		}
		return nil
	})
}

// numberDeliveries gives endpoint's deliveries ids slots 1… in id order.
func (db *DB) numberDeliveries(ctx context.Context, endpoint string, ids []string) error {
	slices.Sort(ids)
	slots := make([]any, len(ids))
	seqs := make([]mongo.WriteModel, len(ids))
	for i, id := range ids {
		slots[i] = webhookSlotDoc{ID: webhookClaimID(endpoint, i+1), Endpoint: endpoint, Delivery: id}
		seqs[i] = mongo.NewUpdateOneModel().SetFilter(byID(id)).SetUpdate(bson.D{{Key: "$set", Value: bson.D{{Key: "seq", Value: i + 1}}}})
	}
	for start := 0; start < len(slots); start += maxUpdateBatch {
		if _, err := db.insertMany(ctx, webhookSlots, slots[start:min(start+maxUpdateBatch, len(slots))]); err != nil {
			return err
		}
	}
	for _, coll := range []string{webhookQueue, webhookDeliveries} {
		if err := db.bulkByID(ctx, coll, seqs); err != nil {
			return err
		}
	}
	return nil
}

type webhookClaimDoc struct {
	ID    string    `bson:"_id"`
	Until time.Time `bson:"until"`
}

func webhookClaimID(id string, seq int) string { return id + "#" + strconv.Itoa(seq) }

// CreateWebhookClaim inserts claim seq of delivery id; Conflict when taken.
func (db *DB) CreateWebhookClaim(ctx context.Context, id string, seq int, until time.Time) error {
	_, err := db.c(webhookClaims).InsertOne(ctx, webhookClaimDoc{ID: webhookClaimID(id, seq), Until: until.UTC()})
	return translate(err, "webhook claim")
}

// FindWebhookClaim returns until of claim seq of delivery id; NotFound.
func (db *DB) FindWebhookClaim(ctx context.Context, id string, seq int) (time.Time, error) {
	var d webhookClaimDoc
	if err := db.c(webhookClaims).FindOne(ctx, byID(webhookClaimID(id, seq))).Decode(&d); err != nil {
		return time.Time{}, translate(err, "webhook claim")
	}
	return d.Until.UTC(), nil
}

// eraseUserDeliveries rewrites userID out of the queued and finished
// deliveries of events (ids), as EraseUserEvents does for the events: a
// delivery is keyed by its event and endpoint, so it is read by _id for
// every endpoint.
func (db *DB) eraseUserDeliveries(ctx context.Context, userID string, events []string) error {
	endpoints, err := db.indexed(ctx, endpointsKey)
	if err != nil {
		return err
	}
	var ids []string
	for _, e := range events {
		for _, ep := range endpoints {
			ids = append(ids, webhook.DeliveryID(e, ep))
		}
	}
	for _, coll := range []string{webhookQueue, webhookDeliveries} {
		docs, err := findByIDs(ctx, db.c(coll), ids, nil, "webhook deliveries", func(d webhookDeliveryDoc) webhookDeliveryDoc { return d })
		if err != nil {
			return err
		}
		for _, d := range docs {
			if !slices.Contains(d.Users, userID) {
				continue
			}
			eraseFrom(d.Data, userID)
			// Only the data changes: a worker's concurrent write of the
			// attempt fields would otherwise be lost, or lose the erasure.
			err := db.updateByID(ctx, coll, d.ID, bson.D{{Key: "$set", Value: bson.D{{Key: "data", Value: d.Data}, {Key: "users", Value: bson.A{}}}}}, "webhook delivery")
			if err != nil && hyperlieu.KindOf(err) != hyperlieu.NotFound {
				return err
			}
		}
	}
	return nil
}

// migrateWebhookIndex names, once per database, the endpoints and queued
// deliveries stored before the index (one scan of each, both small), and
// numbers the events stored before the stream was a list.
func (db *DB) migrateWebhookIndex(ctx context.Context) (int, error) {
	n := 0
	for _, x := range []struct{ coll, key string }{{webhookEndpoints, endpointsKey}, {webhookQueue, queueKey}} {
		ids, err := findMany(ctx, db.c(x.coll), bson.D{}, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}),
			x.coll, func(d idDoc) string { return d.ID })
		if err != nil {
			return n, err
		}
		for start := 0; start < len(ids); start += 1000 {
			if err := db.indexSet(ctx, x.key, ids[start:min(start+1000, len(ids))], false); err != nil {
				return n, err
			}
		}
		n += len(ids)
	}
	k, err := db.migrateWebhookEvents(ctx)
	return n + k, err
}
