package store

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/fan"
)

// ListActivityOnly lists a under its customer without storing it, as a
// crash between the listing and the insert would leave it.
func (db *DB) ListActivityOnly(ctx context.Context, a hyperlieu.Activity) error {
	raw, err := bson.Marshal(activityDoc{a.SourceKey, a.UserID, string(a.Kind), a.ShopID, a.At, a.EventID, a.Rating})
	if err != nil {
		return err
	}
	_, err = db.appendTo(ctx, activityList, []listItem{{Owner: a.UserID, Ref: a.SourceKey, Doc: raw, Pending: true}})
	return err
}

// StoreActivityOnly stores a without listing it, as the insert that a
// crash stopped before its listing was confirmed would (ListActivityOnly
// first).
func (db *DB) StoreActivityOnly(ctx context.Context, a hyperlieu.Activity) error {
	_, err := db.c("fan_activity").InsertOne(ctx, activityDoc{a.SourceKey, a.UserID, string(a.Kind), a.ShopID, a.At, a.EventID, a.Rating})
	return err
}

// InsertFansUnlisted stores an activity, a ledger entry and a referral as a
// version without fans' lists did, and forgets that their backfill ran.
func (db *DB) InsertFansUnlisted(ctx context.Context, a hyperlieu.Activity, e fan.LedgerEntry, r fan.Referral) error {
	if _, err := db.c("fan_activity").InsertOne(ctx, activityDoc{a.SourceKey, a.UserID, string(a.Kind), a.ShopID, a.At, a.EventID, a.Rating}); err != nil {
		return err
	}
	if _, err := db.c("ledger").InsertOne(ctx, ledgerDoc(e)); err != nil {
		return err
	}
	if _, err := db.c("referrals").InsertOne(ctx, toReferralDoc(r)); err != nil {
		return err
	}
	_, err := db.c("migrations").DeleteOne(ctx, byID("fan-lists-1"))
	return err
}
