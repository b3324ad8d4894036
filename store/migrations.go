package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/campaign"
)

// once runs migrate unless the migration name is recorded as done, and
// records it when migrate succeeds. Migrations must be idempotent: two
// instances starting together may both run one, and a crash between the
// run and the record runs it again. Reading the record is one _id read,
// so a start does not scan collections for work long done.
func (db *DB) once(ctx context.Context, name string, migrate func() error) error {
	switch err := db.r("migrations").FindOne(ctx, byID(name)).Err(); {
	case err == nil:
		return nil
	case !errors.Is(err, mongo.ErrNoDocuments):
		return translate(err, "migration")
	}
	if err := migrate(); err != nil {
		return err
	}
	_, err := db.c("migrations").InsertOne(ctx, bson.D{{Key: "_id", Value: name}, {Key: "at", Value: time.Now().UTC()}})
	if err = translate(err, "migration"); hyperlieu.KindOf(err) == hyperlieu.Conflict {
		return nil // another instance finished it too
	}
	return err
}

// MigrateLegacyCodes gives every reward and gesture code of the older
// format (ledger entries and gestures with a code) a wallet offer under
// the same code, redeemable like any other until expiresAt; a gesture's
// only at its shop. It runs once per database (codes issued since are
// wallet codes already) and returns how many it adopted; a run cut short
// is run again, and skips the codes it had adopted.
func (db *DB) MigrateLegacyCodes(ctx context.Context, expiresAt time.Time) (int, error) {
	n := 0
	err := db.once(ctx, "legacy-codes-1", func() (err error) {
		n, err = db.adoptLegacyCodes(ctx, expiresAt)
		return err
	})
	return n, err
}

func (db *DB) adoptLegacyCodes(ctx context.Context, expiresAt time.Time) (int, error) {
	hasCode := bson.D{{Key: "code", Value: bson.D{{Key: "$gt", Value: ""}}}}
	var legacy []campaign.Offer
	ledger, err := findMany(ctx, db.r("ledger"), hasCode, nil, "ledger", func(d ledgerDoc) ledgerDoc { return d })
	if err != nil {
		return 0, err
	}
	for _, e := range ledger {
		legacy = append(legacy, campaign.Offer{UserID: e.UserID, Code: e.Code, Title: strings.TrimPrefix(e.Reason, "reward: "),
			Source: hyperlieu.OfferFromReward, SourceID: e.ID, IssuedAt: e.At.UTC()})
	}
	gestures, err := findMany(ctx, db.r("gestures"), hasCode, nil, "gestures", func(d gestureDoc) gestureDoc { return d })
	if err != nil {
		return 0, err
	}
	for _, g := range gestures {
		legacy = append(legacy, campaign.Offer{UserID: g.UserID, Code: g.Code, Title: g.OfferTitle,
			Source: hyperlieu.OfferFromGesture, SourceID: g.ID, ShopIDs: []string{g.ShopID}, IssuedAt: g.At.UTC()})
	}
	n := 0
	for _, o := range legacy {
		code, ok := campaign.LegacyOfferCode(o.Code)
		if !ok {
			continue // already a wallet code (issued through the wallet)
		}
		o.ID, o.Code, o.ExpiresAt = "legacy:"+code, code, expiresAt
		switch err := db.CreateOffer(ctx, o); {
		case err == nil:
			n++
		case hyperlieu.KindOf(err) != hyperlieu.Conflict:
			return n, err
		}
	}
	return n, nil
}
