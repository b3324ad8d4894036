package store

import (
	"context"
	"math"
	"slices"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/campaign"
)

type offerDoc struct {
	ID         string     `bson:"_id"`
	Code       string     `bson:"code"`
	CampaignID string     `bson:"campaignId"`
	UserID     string     `bson:"userId"`
	Title      string     `bson:"title"`
	Body       string     `bson:"body"`
	Value      string     `bson:"value"`
	IssuedAt   time.Time  `bson:"issuedAt"`
	ExpiresAt  time.Time  `bson:"expiresAt"`
	RedeemedAt *time.Time `bson:"redeemedAt,omitempty"`
	ShopID     string     `bson:"shopId,omitempty"`
	TriggerKey string     `bson:"triggerKey"`
	Source     string     `bson:"source,omitempty"`
	SourceID   string     `bson:"sourceId,omitempty"`
	ShopIDs    []string   `bson:"shopIds,omitempty"`
	Arm        string     `bson:"arm,omitempty"`
}

func (d offerDoc) offer() campaign.Offer {
	return campaign.Offer{
		ID: d.ID, Code: d.Code, CampaignID: d.CampaignID, UserID: d.UserID, Title: d.Title, Body: d.Body, Value: d.Value,
		IssuedAt: d.IssuedAt.UTC(), ExpiresAt: d.ExpiresAt.UTC(), RedeemedAt: timeOf(d.RedeemedAt), ShopID: d.ShopID,
		TriggerKey: d.TriggerKey, Source: d.Source, SourceID: d.SourceID, ShopIDs: d.ShopIDs, Arm: d.Arm,
	}
}

// FindOffer returns the offer with id, or NotFound.
func (db *DB) FindOffer(ctx context.Context, id string) (campaign.Offer, error) {
	var d offerDoc
	if err := db.c("offers").FindOne(ctx, byID(id)).Decode(&d); err != nil {
		return campaign.Offer{}, translate(err, "offer")
	}
	return d.offer(), nil
}

// CreateOffer claims the offer's code (a document keyed by the code, so
// uniqueness is decided by one insert) and stores the offer. Conflict when
// the code is taken.
func (db *DB) CreateOffer(ctx context.Context, o campaign.Offer) error {
	if _, err := db.c("offer_codes").InsertOne(ctx, bson.D{{Key: "_id", Value: o.Code}, {Key: "offerId", Value: o.ID}}); err != nil {
		return translate(err, "offer code")
	}
	// Listed before it is stored, so that a stored offer is always in the
	// wallet; an entry whose offer never came is skipped by the wallet.
	if _, err := db.appendTo(ctx, walletList, []listItem{{Owner: o.UserID, Ref: o.ID}}); err != nil {
		_, _ = db.c("offer_codes").DeleteOne(ctx, byID(o.Code))
		return err
	}
	_, err := db.c("offers").InsertOne(ctx, offerDoc{
		ID: o.ID, Code: o.Code, CampaignID: o.CampaignID, UserID: o.UserID, Title: o.Title, Body: o.Body, Value: o.Value,
		IssuedAt: o.IssuedAt, ExpiresAt: o.ExpiresAt, TriggerKey: o.TriggerKey,
		Source: o.Source, SourceID: o.SourceID, ShopIDs: o.ShopIDs, Arm: o.Arm,
	})
	if err != nil {
		// A taken offer id (an issue with the same dedup key): free the code.
		_, _ = db.c("offer_codes").DeleteOne(ctx, byID(o.Code))
	}
	return translate(err, "offer")
}

// FindOfferByCode returns the offer with the (normalised) code, or NotFound.
func (db *DB) FindOfferByCode(ctx context.Context, code string) (campaign.Offer, error) {
	var c struct {
		OfferID string `bson:"offerId"`
	}
	if err := db.c("offer_codes").FindOne(ctx, byID(code)).Decode(&c); err != nil {
		return campaign.Offer{}, translate(err, "offer")
	}
	var d offerDoc
	if err := db.c("offers").FindOne(ctx, byID(c.OfferID)).Decode(&d); err != nil {
		return campaign.Offer{}, translate(err, "offer")
	}
	o := d.offer()
	// The redemption claim is the truth; the mark on the offer may lag it.
	var r redemptionDoc
	err := db.c("redemptions").FindOne(ctx, byID("redeem:"+o.ID)).Decode(&r)
	if err == nil && o.RedeemedAt.IsZero() {
		o.RedeemedAt, o.ShopID = r.At.UTC(), r.ShopID
	} else if err != nil && hyperlieu.KindOf(translate(err, "")) != hyperlieu.NotFound {
		return campaign.Offer{}, translate(err, "redemption")
	}
	return o, nil
}

// walletSize bounds the wallet: its newest offers.
const walletSize = 500

// FindOffersOf returns a customer's newest offers (walletSize at most),
// newest first, from their wallet list (lists.go): _id reads only, as many
// as they hold, and the offers themselves, so their state is current.
func (db *DB) FindOffersOf(ctx context.Context, userID string) ([]campaign.Offer, error) {
	es, err := db.listPage(ctx, walletList, userID, 0, walletSize)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.Ref
	}
	os, err := findByIDs(ctx, db.r("offers"), ids, nil, "offers", offerDoc.offer)
	if err != nil {
		return nil, err
	}
	// Numbers follow claims; adopted offers (MigrateLists, legacy codes)
	// may be numbered after newer ones.
	slices.SortStableFunc(os, func(a, b campaign.Offer) int { return b.IssuedAt.Compare(a.IssuedAt) })
	return os, nil
}

// deleteOffersOf deletes a customer's offers, their codes and their
// wallet, by _id: every offer is in the wallet (listed before it is
// stored; older ones by MigrateLists). It returns the offers' ids.
func (db *DB) deleteOffersOf(ctx context.Context, userID string) ([]string, error) {
	es, err := db.listPage(ctx, walletList, userID, 0, math.MaxInt)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.Ref
	}
	codes, err := findByIDs(ctx, db.r("offers"), ids, options.FindOne().SetProjection(bson.D{{Key: "code", Value: 1}}),
		"offers", func(d offerDoc) string { return d.Code })
	if err != nil {
		return nil, err
	}
	if err := db.deleteByIDs(ctx, "offer_codes", codes); err != nil {
		return nil, err
	}
	if err := db.deleteByIDs(ctx, "offers", ids); err != nil {
		return nil, err
	}
	return ids, db.dropList(ctx, walletList, userID)
}

type redemptionDoc struct {
	ID         string    `bson:"_id"`
	OfferID    string    `bson:"offerId"`
	CampaignID string    `bson:"campaignId"`
	UserID     string    `bson:"userId"`
	ShopID     string    `bson:"shopId"`
	By         string    `bson:"by"`
	At         time.Time `bson:"at"`
}

// CreateRedemption inserts "redeem:<offerId>": exactly one of racing
// redemptions wins, on any instance; the others get Conflict.
func (db *DB) CreateRedemption(ctx context.Context, r campaign.Redemption) error {
	_, err := db.c("redemptions").InsertOne(ctx, redemptionDoc{
		ID: "redeem:" + r.OfferID, OfferID: r.OfferID, CampaignID: r.CampaignID, UserID: r.UserID, ShopID: r.ShopID, By: r.By, At: r.At,
	})
	return translate(err, "redemption")
}

// DeleteRedemption deletes a redemption claim; no error when there is none.
func (db *DB) DeleteRedemption(ctx context.Context, offerID string) error {
	_, err := db.c("redemptions").DeleteOne(ctx, byID("redeem:"+offerID))
	return translate(err, "redemption")
}

// CreateBudgetSlot inserts "budget:<campaign>:<n>"; Conflict when taken.
func (db *DB) CreateBudgetSlot(ctx context.Context, campaignID string, n int, offerID string) error {
	_, err := db.c("budget_slots").InsertOne(ctx, bson.D{
		{Key: "_id", Value: "budget:" + campaignID + ":" + strconv.Itoa(n)}, {Key: "offerId", Value: offerID},
	})
	return translate(err, "budget slot")
}

// UpdateOfferRedeemed records the redemption on the offer, for the wallet;
// NotFound when there is no such offer.
func (db *DB) UpdateOfferRedeemed(ctx context.Context, r campaign.Redemption) error {
	return db.updateByID(ctx, "offers", r.OfferID,
		bson.D{{Key: "$set", Value: bson.D{{Key: "redeemedAt", Value: r.At}, {Key: "shopId", Value: r.ShopID}}}}, "offer")
}
