package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/shop"
)

// An event's queue is two dense numbered sequences, each read and written by
// _id only (issue 15):
//   - its positions, pos:<event>:<n> in event_queue, claimed by unique insert,
//     so a seat is given once across any number of instances; each is marked
//     released on its own document when given back;
//   - its release log, rel:<event>:<m> in event_releases, one entry per
//     release naming the position, appended (by unique insert) before the
//     position is marked. Reading the log's new entries tells a reader
//     which positions were released since it last looked, exactly, at the
//     cost of those entries; an entry may repeat (two releases racing),
//     readers count a position once.
// Both are dense (entry n exists only once n-1 does), so "read on from n
// until NotFound" is the whole tail, and its length a galloping search.

// queueDoc is one claimed position of an event's queue.
type queueDoc struct {
	ID         string     `bson:"_id"` // pos:<event>:<n>
	EventID    string     `bson:"eventId"`
	N          int        `bson:"n"`
	UserID     string     `bson:"userId"`
	At         time.Time  `bson:"at"`
	Released   bool       `bson:"released"`
	ReleasedAt *time.Time `bson:"releasedAt,omitempty"`
}

func (d queueDoc) claim() shop.QueueClaim {
	c := shop.QueueClaim{EventID: d.EventID, N: d.N, UserID: d.UserID, At: d.At.UTC()}
	if d.Released {
		c.ReleasedAt = d.At.UTC() // released before releasedAt was kept
		if d.ReleasedAt != nil {
			c.ReleasedAt = d.ReleasedAt.UTC()
		}
	}
	return c
}

// releaseDoc is one entry of an event's release log.
type releaseDoc struct {
	ID      string    `bson:"_id"` // rel:<event>:<m>
	EventID string    `bson:"eventId"`
	N       int       `bson:"n"` // the position released
	At      time.Time `bson:"at"`
}

func posID(eventID string, n int) string { return fmt.Sprintf("pos:%s:%d", eventID, n) }
func relID(eventID string, m int) string { return fmt.Sprintf("rel:%s:%d", eventID, m) }

// CreatePosition claims position n of the event's queue for userID.
// Conflict if it is taken. The claim is listed under userID first
// (peopleLists), so that their export and erasure find every position
// that names them, a claim cut short by a crash too; a listed position
// another claimant took is skipped by the readers.
func (db *DB) CreatePosition(ctx context.Context, eventID string, n int, userID string, at time.Time) error {
	if userID != "" {
		if _, err := db.appendTo(ctx, peopleLists, []listItem{{Owner: claimsOf(userID), Ref: posID(eventID, n)}}); err != nil {
			return err
		}
	}
	_, err := db.c("event_queue").InsertOne(ctx, queueDoc{ID: posID(eventID, n), EventID: eventID, N: n, UserID: userID, At: at})
	return translate(err, "queue position")
}

// FindPositions returns the event's claimed positions from `from` on (1
// is the first), released ones too, up to the first one not claimed: one
// _id read each, plus one.
func (db *DB) FindPositions(ctx context.Context, eventID string, from int) ([]shop.QueueClaim, error) {
	return readRun(ctx, db.r("event_queue"), from, func(n int) string { return posID(eventID, n) }, "queue", queueDoc.claim)
}

// FindReleases returns the positions of the event's release log from entry
// `from` on (1 is the first), in the order released, up to the first
// missing entry. A position may appear more than once.
func (db *DB) FindReleases(ctx context.Context, eventID string, from int) ([]int, error) {
	return readRun(ctx, db.r("event_releases"), from, func(m int) string { return relID(eventID, m) }, "queue releases",
		func(d releaseDoc) int { return d.N })
}

// DeletePosition releases position n: the claim stays, no longer live.
// The release is logged first and then marked on the position, so that a
// position marked released is always in the log; releasing again (after a
// crash between the two, or twice) logs it at most once more and keeps the
// first time if it was marked. Releasing a position never claimed is not
// an error. Only the position's holder releases it.
func (db *DB) DeletePosition(ctx context.Context, eventID string, n int, at time.Time) error {
	var d queueDoc
	err := db.c("event_queue").FindOne(ctx, byID(posID(eventID, n))).Decode(&d)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return nil
	case err != nil:
		return translate(err, "queue position")
	case d.Released:
		return nil
	}
	if _, err := appendDense(ctx, db, "event_releases", func(m int) string { return relID(eventID, m) },
		func(id string, _ int) any { return releaseDoc{ID: id, EventID: eventID, N: n, At: at} }, "queue release"); err != nil {
		return err
	}
	return db.updateByID(ctx, "event_queue", d.ID,
		bson.D{{Key: "$set", Value: bson.D{{Key: "released", Value: true}, {Key: "releasedAt", Value: at}}}}, "queue position")
}

// readRun reads the documents key(from), key(from+1), … by _id up to the
// first missing one.
func readRun[D, T any](ctx context.Context, coll *mongo.Collection, from int, key func(int) string, what string, conv func(D) T) ([]T, error) {
	out := []T{}
	for n := max(from, 1); ; n++ {
		var d D
		err := coll.FindOne(ctx, byID(key(n))).Decode(&d)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return out, nil
		}
		if err != nil {
			return nil, translate(err, what)
		}
		out = append(out, conv(d))
	}
}

// denseCount returns how many of key(1), key(2), … exist in coll, which
// form a dense prefix: a galloping search of O(log n) _id reads.
func denseCount(ctx context.Context, coll *mongo.Collection, key func(int) string, what string) (int, error) {
	idOnly := options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})
	exists := func(n int) (bool, error) {
		err := coll.FindOne(ctx, byID(key(n)), idOnly).Err()
		if errors.Is(err, mongo.ErrNoDocuments) {
			return false, nil
		}
		return err == nil, translate(err, what)
	}
	return hyperlieu.LastTaken(0, exists)
}

// appendDense inserts doc(key(n), n) at the first free n of a dense
// sequence, by unique insert (so concurrent appenders take one number
// each), and returns n.
func appendDense(ctx context.Context, db *DB, coll string, key func(int) string, doc func(id string, n int) any, what string) (int, error) {
	n, err := denseCount(ctx, db.c(coll), key, what)
	if err != nil {
		return 0, err
	}
	for tries := 0; ; tries++ {
		n++
		_, err := db.c(coll).InsertOne(ctx, doc(key(n), n))
		err = translate(err, what)
		if err == nil {
			return n, nil
		}
		if hyperlieu.KindOf(err) != hyperlieu.Conflict || tries > 1000 {
			return 0, err
		}
	}
}
