package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu"
)

// audit_trail is keyed by the entry's id, which sorts by time: a page is
// one range on _id.
const auditTrail = "audit_trail"

type auditDoc struct {
	ID        string    `bson:"_id"`
	At        time.Time `bson:"at"`
	ActorID   string    `bson:"actorId"`
	ActorRole string    `bson:"actorRole"`
	Action    string    `bson:"action"`
	UserID    string    `bson:"userId,omitempty"`
	ShopID    string    `bson:"shopId,omitempty"`
	ObjectID  string    `bson:"objectId,omitempty"`
	Kind      string    `bson:"kind,omitempty"`
}

func (d auditDoc) entry() hyperlieu.AuditEntry {
	return hyperlieu.AuditEntry{ID: d.ID, At: d.At.UTC(), ActorID: d.ActorID, ActorRole: hyperlieu.Role(d.ActorRole),
		Action: hyperlieu.AuditAction(d.Action), UserID: d.UserID, ShopID: d.ShopID, ObjectID: d.ObjectID, Kind: d.Kind}
}

// CreateAuditEntry inserts e under its id.
func (db *DB) CreateAuditEntry(ctx context.Context, e hyperlieu.AuditEntry) error {
	_, err := db.c(auditTrail).InsertOne(ctx, auditDoc{ID: e.ID, At: e.At.UTC(), ActorID: e.ActorID, ActorRole: string(e.ActorRole),
		Action: string(e.Action), UserID: e.UserID, ShopID: e.ShopID, ObjectID: e.ObjectID, Kind: e.Kind})
	return translate(err, "audit entry")
}

// FindAuditEntriesAfter returns up to limit entries with _id > after, in _id order.
func (db *DB) FindAuditEntriesAfter(ctx context.Context, after string, limit int) ([]hyperlieu.AuditEntry, error) {
	filter := bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}}}
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit))
	return findMany(ctx, db.r(auditTrail), filter, opts, "audit entries", auditDoc.entry)
}

// whoFilter matches the entries naming userID. (A rare scan, for export and
// erasure: the embedded database answers only _id without one.)
func whoFilter(userID string) bson.D {
	return bson.D{{Key: "$or", Value: bson.A{bson.D{{Key: "actorId", Value: userID}}, bson.D{{Key: "userId", Value: userID}}}}}
}

// FindAuditEntriesOf returns the entries naming userID, in _id order.
func (db *DB) FindAuditEntriesOf(ctx context.Context, userID string) ([]hyperlieu.AuditEntry, error) {
	return findMany(ctx, db.r(auditTrail), whoFilter(userID), options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}), "audit entries", auditDoc.entry)
}

// EraseAuditUser replaces userID by "erased" in the entries naming it, and
// in their object ids (an activity's source key may hold it).
func (db *DB) EraseAuditUser(ctx context.Context, userID string) error {
	docs, err := findMany(ctx, db.r(auditTrail), whoFilter(userID), nil, "audit entries", func(d auditDoc) auditDoc { return d })
	if err != nil {
		return err
	}
	for _, d := range docs {
		for _, f := range []*string{&d.ActorID, &d.UserID} {
			if *f == userID {
				*f = "erased"
			}
		}
		d.ObjectID = strings.ReplaceAll(d.ObjectID, userID, "erased")
		if err := db.replaceByID(ctx, auditTrail, d.ID, d, "audit entry"); err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
			return err
		}
	}
	return nil
}
