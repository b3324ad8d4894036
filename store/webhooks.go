package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/webhook"
)

// Webhook events are keyed by their id, which is also the stream's cursor:
// the stream is one range on _id. webhook_keys holds the keys of published
// events, one document each, so that publishing is idempotent by insert.
const (
	webhookEvents = "webhook_events"
	webhookKeys   = "webhook_keys"
)

type webhookEventDoc struct {
	ID   string            `bson:"_id"`
	Type string            `bson:"type"`
	At   time.Time         `bson:"at"`
	Data map[string]string `bson:"data"`
	// Users are the user ids in Data, for erasure.
	Users []string `bson:"users,omitempty"`
}

func (d webhookEventDoc) event() webhook.Event {
	return webhook.Event{ID: d.ID, Type: webhook.Type(d.Type), At: d.At.UTC(), Data: d.Data}
}

// CreateWebhookEvent inserts e under its id.
func (db *DB) CreateWebhookEvent(ctx context.Context, e webhook.Event) error {
	doc := webhookEventDoc{ID: e.ID, Type: string(e.Type), At: e.At.UTC(), Data: e.Data, Users: usersOf(e.Data)}
	_, err := db.c(webhookEvents).InsertOne(ctx, doc)
	return translate(err, "webhook event")
}

// CreateWebhookKey records key; Conflict when it is recorded already.
func (db *DB) CreateWebhookKey(ctx context.Context, key string) error {
	_, err := db.c(webhookKeys).InsertOne(ctx, idDoc{ID: webhookKeyID(key)})
	return translate(err, "webhook key")
}

// FindWebhookKey reports whether key is recorded.
func (db *DB) FindWebhookKey(ctx context.Context, key string) (bool, error) {
	err := db.c(webhookKeys).FindOne(ctx, byID(webhookKeyID(key))).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	return err == nil, translate(err, "webhook key")
}

// webhookKeyID stores a key by its hash: keys are made of ids (source keys
// name the customer), which erasure must not leave behind.
func webhookKeyID(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// FindWebhookEventsBetween returns up to limit events with after < _id <
// before, in _id order; an empty slice when none match.
func (db *DB) FindWebhookEventsBetween(ctx context.Context, after, before string, limit int) ([]webhook.Event, error) {
	filter := bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}, {Key: "$lt", Value: before}}}}
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit))
	return findMany(ctx, db.c(webhookEvents), filter, opts, "webhook events", webhookEventDoc.event)
}

// EraseUserEvents removes userID from the events and the deliveries that
// name them: each id in their values becomes "erased". (A rare scan: the
// embedded database answers only _id without one.)
func (db *DB) EraseUserEvents(ctx context.Context, userID string) error {
	if err := db.eraseUserDeliveries(ctx, userID); err != nil {
		return err
	}
	docs, err := findMany(ctx, db.c(webhookEvents), bson.D{{Key: "users", Value: userID}}, nil, "webhook events",
		func(d webhookEventDoc) webhookEventDoc { return d })
	if err != nil {
		return err
	}
	for _, d := range docs {
		eraseFrom(d.Data, userID)
		d.Users = nil
		if err := db.replaceByID(ctx, webhookEvents, d.ID, d, "webhook event"); err != nil && hyperlieu.KindOf(err) != hyperlieu.NotFound {
			return err
		}
	}
	return nil
}

// usersOf returns the distinct values of data, each of which may be a
// person's id (userId, managerId …), for erasure.
func usersOf(data map[string]string) []string {
	var users []string
	for _, v := range data {
		if v != "" && !slices.Contains(users, v) {
			users = append(users, v)
		}
	}
	return users
}

// eraseFrom replaces userID by "erased" in the values of data.
func eraseFrom(data map[string]string, userID string) {
	for k, v := range data {
		data[k] = strings.ReplaceAll(v, userID, "erased")
	}
}
