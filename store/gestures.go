package store

import (
	"context"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/fan"
)

// gesture_claims holds managers' daily gesture budget claims, keyed
// <kind>:<manager>:<day>:<n>: one insert per claim, one read by _id per claim
// seen; no index is needed.
const gestureClaims = "gesture_claims"

type gestureClaimDoc struct {
	ID        string `bson:"_id"`
	Amount    int    `bson:"amount"`
	GestureID string `bson:"gestureId"`
}

// CreateGestureClaim inserts c under its id and returns it, or, when the id
// is taken, returns the claim stored there.
func (db *DB) CreateGestureClaim(ctx context.Context, c fan.GestureClaim) (fan.GestureClaim, error) {
	_, err := db.c(gestureClaims).InsertOne(ctx, gestureClaimDoc(c))
	if err == nil {
		return c, nil
	}
	if hyperlieu.KindOf(translate(err, "")) != hyperlieu.Conflict {
		return fan.GestureClaim{}, translate(err, "gesture claim")
	}
	var d gestureClaimDoc
	if err := db.r(gestureClaims).FindOne(ctx, byID(c.ID)).Decode(&d); err != nil {
		return fan.GestureClaim{}, translate(err, "gesture claim")
	}
	return fan.GestureClaim(d), nil
}
