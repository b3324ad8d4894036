package store

import (
	"context"
	"math"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// listAllBy lists every document of coll in l under the owner its field
// ownerField names, unless listed already: the backfill of a list kept
// since documents of an older version exist (run it under db.once).
func (db *DB) listAllBy(ctx context.Context, l ownerList, coll, ownerField string) error {
	cur, err := db.r(coll).Find(ctx, bson.D{}, options.Find().SetProjection(bson.D{{Key: ownerField, Value: 1}}))
	if err != nil {
		return translate(err, coll)
	}
	var docs []bson.M
	if err := cur.All(ctx, &docs); err != nil {
		return translate(err, coll)
	}
	listed := map[string][]listEntry{}
	var items []listItem
	for _, doc := range docs {
		id, _ := doc["_id"].(string)
		owner, _ := doc[ownerField].(string)
		d := struct{ ID, Owner string }{id, owner}
		if d.ID == "" || d.Owner == "" {
			continue
		}
		if _, ok := listed[d.Owner]; !ok {
			if listed[d.Owner], err = db.listPage(ctx, l, d.Owner, 0, math.MaxInt); err != nil {
				return err
			}
		}
		if !slices.ContainsFunc(listed[d.Owner], func(e listEntry) bool { return e.Ref == d.ID }) {
			items = append(items, listItem{Owner: d.Owner, Ref: d.ID})
		}
	}
	_, err = db.appendTo(ctx, l, items)
	return err
}
