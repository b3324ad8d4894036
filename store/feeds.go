package store

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/fan"
)

// Personal feed keys: feed_keys is keyed by the secret's hash (the lookup
// of every feed request), feed_owners by <user>:<kind> and names the
// current hash, so that a secret works only while it is its owner's
// current one: revoking or renewing is one keyed write, and a key left
// behind by a crash opens nothing.

type feedKeyDoc struct {
	Hash      string    `bson:"_id"`
	UserID    string    `bson:"userId"`
	Kind      string    `bson:"kind"`
	CreatedAt time.Time `bson:"createdAt"`
}

type feedOwnerDoc struct {
	ID        string    `bson:"_id"` // <user>:<kind>
	Hash      string    `bson:"hash"`
	CreatedAt time.Time `bson:"createdAt"`
}

// CreateFeedKey stores k, makes it current and deletes the key it replaced.
func (db *DB) CreateFeedKey(ctx context.Context, k fan.FeedKey) error {
	if _, err := db.c("feed_keys").InsertOne(ctx, feedKeyDoc(k)); err != nil {
		return translate(err, "feed key")
	}
	id := k.UserID + ":" + k.Kind
	var old feedOwnerDoc
	if err := db.r("feed_owners").FindOne(ctx, byID(id)).Decode(&old); err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return translate(err, "feed")
	}
	if _, err := db.c("feed_owners").ReplaceOne(ctx, byID(id), feedOwnerDoc{id, k.Hash, k.CreatedAt}, options.Replace().SetUpsert(true)); err != nil {
		return translate(err, "feed")
	}
	if old.Hash != "" && old.Hash != k.Hash {
		if _, err := db.c("feed_keys").DeleteOne(ctx, byID(old.Hash)); err != nil {
			return translate(err, "feed key")
		}
	}
	return nil
}

// FindFeedKey returns the key with hash while it is its owner's current one.
func (db *DB) FindFeedKey(ctx context.Context, hash string) (fan.FeedKey, error) {
	var d feedKeyDoc
	if err := db.r("feed_keys").FindOne(ctx, byID(hash)).Decode(&d); err != nil {
		return fan.FeedKey{}, translate(err, "feed")
	}
	var o feedOwnerDoc
	if err := db.r("feed_owners").FindOne(ctx, byID(d.UserID+":"+d.Kind)).Decode(&o); err != nil {
		return fan.FeedKey{}, translate(err, "feed")
	}
	if o.Hash != hash {
		return fan.FeedKey{}, hyperlieu.Errorf(hyperlieu.NotFound, "feed not found")
	}
	return fan.FeedKey{Hash: d.Hash, UserID: d.UserID, Kind: d.Kind, CreatedAt: d.CreatedAt.UTC()}, nil
}

// FindFeedKeysOf returns the user's current keys of kinds.
func (db *DB) FindFeedKeysOf(ctx context.Context, userID string, kinds []string) ([]fan.FeedKey, error) {
	ids := make([]string, len(kinds))
	for i, k := range kinds {
		ids[i] = userID + ":" + k
	}
	owners, err := findByIDs(ctx, db.r("feed_owners"), ids, nil, "feed", func(d feedOwnerDoc) feedOwnerDoc { return d })
	if err != nil {
		return nil, err
	}
	out := make([]fan.FeedKey, len(owners))
	for i, o := range owners {
		out[i] = fan.FeedKey{Hash: o.Hash, UserID: userID, Kind: o.ID[len(userID)+1:], CreatedAt: o.CreatedAt.UTC()}
	}
	return out, nil
}

// DeleteFeedKey revokes the user's key of kind: the owner's entry first,
// which alone makes the secret dead, then the key.
func (db *DB) DeleteFeedKey(ctx context.Context, userID, kind string) error {
	var old feedOwnerDoc
	err := db.r("feed_owners").FindOne(ctx, byID(userID+":"+kind)).Decode(&old)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil
	}
	if err != nil {
		return translate(err, "feed")
	}
	if _, err := db.c("feed_owners").DeleteOne(ctx, byID(userID+":"+kind)); err != nil {
		return translate(err, "feed")
	}
	_, err = db.c("feed_keys").DeleteOne(ctx, bson.D{{Key: "_id", Value: old.Hash}})
	return translate(err, "feed key")
}
