package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/webhook"
)

// Webhook events are keyed by their id, which is also the stream's cursor;
// the stream is read through webhookEventList. webhook_keys holds the keys of published
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
	N     int      `bson:"listN,omitempty"` // its number in the stream (webhookEventList)
}

func (d webhookEventDoc) event() webhook.Event {
	return webhook.Event{ID: d.ID, Type: webhook.Type(d.Type), At: d.At.UTC(), Data: d.Data}
}

// webhookEventList numbers the stream under everyone, and lists each
// event under every value of its data (each may be a person's id), for
// erasure: both read by _id (issue 15).
var webhookEventList = ownerList{coll: "webhook_event_lists", prefix: "e"}

// CreateWebhookEvent lists e (one insert, one update of the heads), then
// inserts it under its id with its number in the stream. Listed first: a
// crash between leaves an entry naming nothing, which the stream skips
// once it is older than maxEventWrite.
func (db *DB) CreateWebhookEvent(ctx context.Context, e webhook.Event) error {
	doc := webhookEventDoc{ID: e.ID, Type: string(e.Type), At: e.At.UTC(), Data: e.Data, Users: usersOf(e.Data)}
	items := []listItem{{Owner: everyone, Ref: e.ID}}
	for _, u := range doc.Users {
		if u != everyone {
			items = append(items, listItem{Owner: u, Ref: e.ID})
		}
	}
	ns, err := db.appendTo(ctx, webhookEventList, items)
	if err != nil {
		return err
	}
	doc.N = ns[0]
	_, err = db.c(webhookEvents).InsertOne(ctx, doc)
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

// maxEventWrite bounds how long an event's writer may take between
// listing it and storing it: the stream waits that long for a listed event
// it cannot read, then takes it for a writer that died.
const maxEventWrite = time.Minute

// FindWebhookEventsBetween returns up to limit events after the event
// after and with ids below before, in the stream's order (ids' order as
// far as the instances' clocks agree; an event listed late comes late
// rather than never). Keyed: the cursor's number (one read; an id never
// stored is placed by a binary search of the list), the list's head and
// one read past it, two reads per event.
func (db *DB) FindWebhookEventsBetween(ctx context.Context, after, before string, limit int) ([]webhook.Event, error) {
	from, err := db.eventNumber(ctx, after)
	if err != nil {
		return nil, err
	}
	stale := hyperlieu.TimeIDBefore(time.Now().Add(-maxEventWrite))
	out := []webhook.Event{}
	for len(out) < limit {
		es, next, err := db.listAfter(ctx, webhookEventList, everyone, from, limit-len(out))
		if err != nil {
			return nil, err
		}
		byRef, err := docsByRef(ctx, db.r(webhookEvents), es, "webhook events", func(d webhookEventDoc) string { return d.ID })
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			d, ok := byRef[e.Ref]
			switch {
			case e.Ref >= before:
				return out, nil // held back: the stream's lag
			case !ok && e.Ref >= stale:
				return out, nil // being written: wait for it
			case ok && d.N == e.N:
				out = append(out, d.event())
			} // else a dead writer's, or listed twice
		}
		if next == "" {
			break
		}
		from, _ = strconv.Atoi(next)
	}
	return out, nil
}

// eventNumber returns the stream number after which to read for the
// cursor after: its event's, or, for an id never stored (a cursor made up
// from a time), the last number whose event id is at most after.
func (db *DB) eventNumber(ctx context.Context, after string) (int, error) {
	if after == "" {
		return 0, nil
	}
	var d webhookEventDoc
	switch err := db.r(webhookEvents).FindOne(ctx, byID(after)).Decode(&d); {
	case err == nil && d.N > 0:
		return d.N, nil
	case err != nil && !errors.Is(err, mongo.ErrNoDocuments):
		return 0, translate(err, "webhook event")
	}
	top, err := db.listTop(ctx, webhookEventList, everyone)
	if err != nil {
		return 0, err
	}
	lo, hi := 0, top // entries up to lo are at most after; above hi, past it
	for lo < hi {
		mid := (lo + hi + 1) / 2
		var e listEntry
		err := db.r(webhookEventList.coll).FindOne(ctx, byID(webhookEventList.entry(everyone, mid))).Decode(&e)
		if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
			return 0, translate(err, "webhook events")
		}
		if e.Ref <= after { // a hole reads as at most after
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo, nil
}

// EraseUserEvents removes userID from the events and the deliveries that
// name them: each id in their values becomes "erased". The events are the
// user's list; their deliveries are keyed by event and endpoint
// (webhook.DeliveryID), read in the queue and the history for every
// endpoint (a deleted endpoint's deliveries went with it). All by _id.
func (db *DB) EraseUserEvents(ctx context.Context, userID string) error {
	ids, err := db.listedRefs(ctx, webhookEventList, userID)
	if err != nil {
		return err
	}
	docs, err := findByIDs(ctx, db.c(webhookEvents), ids, nil, "webhook events", func(d webhookEventDoc) webhookEventDoc { return d })
	if err != nil {
		return err
	}
	if err := db.eraseUserDeliveries(ctx, userID, ids); err != nil {
		return err
	}
	for _, d := range docs {
		eraseFrom(d.Data, userID)
		d.Users = nil
		if err := db.replaceByID(ctx, webhookEvents, d.ID, d, "webhook event"); err != nil && hyperlieu.KindOf(err) != hyperlieu.NotFound {
			return err
		}
	}
	return db.dropList(ctx, webhookEventList, userID)
}

// migrateWebhookEvents numbers the events stored before the stream was a
// list, in id order, and lists each under the values of its data.
func (db *DB) migrateWebhookEvents(ctx context.Context) (int, error) {
	return db.listEveryone(ctx, webhookEventList, webhookEvents, "_id", func(d bson.Raw) []listItem {
		var e webhookEventDoc
		if bson.Unmarshal(d, &e) != nil {
			return nil
		}
		var items []listItem
		for _, u := range e.Users {
			if u != everyone {
				items = append(items, listItem{Owner: u, Ref: e.ID})
			}
		}
		return items
	})
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
