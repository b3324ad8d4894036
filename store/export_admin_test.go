package store

import (
	"bytes"
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Traces returns "<collection>/<_id>" of every document, in every
// collection, whose stored bytes hold s: erasure must leave none. It reads
// everything (a test's proof, not a request path).
func (db *DB) Traces(ctx context.Context, s string) ([]string, error) {
	names, err := db.db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, name := range names {
		cur, err := db.c(name).Find(ctx, bson.D{})
		if err != nil {
			return nil, err
		}
		for cur.Next(ctx) {
			if bytes.Contains(cur.Current, []byte(s)) {
				id := cur.Current.Lookup("_id").String()
				out = append(out, name+"/"+id)
			}
		}
		if err := cur.Close(ctx); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// InsertUnlisted stores doc in coll as a version before the admin lists
// did (no list entry, no number), and forgets that the lists were filled,
// so that MigrateAdminLists runs again.
func (db *DB) InsertUnlisted(ctx context.Context, coll string, doc bson.D) error {
	if _, err := db.c(coll).InsertOne(ctx, doc); err != nil {
		return err
	}
	_, err := db.c("migrations").DeleteOne(ctx, byID("admin-lists-1"))
	return err
}

// ForgetMigration forgets that the migration name ran, so that it runs
// again (over documents a test stored as an older version did).
func (db *DB) ForgetMigration(ctx context.Context, name string) error {
	_, err := db.c("migrations").DeleteOne(ctx, byID(name))
	return err
}

// InsertRaw stores doc in coll as it is, listed nowhere.
func (db *DB) InsertRaw(ctx context.Context, coll string, doc bson.D) error {
	_, err := db.c(coll).InsertOne(ctx, doc)
	return err
}
