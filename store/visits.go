package store

import (
	"context"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/fan"
)

// Visits are keyed by the visit's own key (once across instances),
// shop_visits by <user>.<shop>, visit_asks by the ask's ID (a hash of user,
// shop and period), visit_marks by what they mark once (ask IDs); visit_stats holds one
// document of counters per shop, moved by $inc. Every hot read and write is
// by _id; the userId indexes serve export and erasure only.
func visitIndexes() []indexSpec {
	return []indexSpec{
		{"visits", index(bson.D{{Key: "userId", Value: 1}})},
		{"shop_visits", index(bson.D{{Key: "userId", Value: 1}})},
		{"visit_asks", index(bson.D{{Key: "userId", Value: 1}})},
	}
}

type visitDoc struct {
	Key    string     `bson:"_id"`
	UserID string     `bson:"userId"`
	ShopID string     `bson:"shopId"`
	Source string     `bson:"source"`
	At     time.Time  `bson:"at"`
	LeftAt *time.Time `bson:"leftAt,omitempty"`
}

func (d visitDoc) visit() hyperlieu.Visit {
	return hyperlieu.Visit{Key: d.Key, UserID: d.UserID, ShopID: d.ShopID, Source: d.Source, At: d.At.UTC(), LeftAt: timeOf(d.LeftAt)}
}

// CreateVisit records a visit, listed under its customer (export,
// erasure: store/fanpaths.go); Conflict when its key is taken.
func (db *DB) CreateVisit(ctx context.Context, v hyperlieu.Visit) error {
	return db.insertIndexed(ctx, "visits", v.Key, visitDoc{v.Key, v.UserID, v.ShopID, v.Source, v.At, timePtr(v.LeftAt)}, "visit",
		listing{visitList, v.UserID})
}

type shopVisitDoc struct {
	ID           string     `bson:"_id"`
	UserID       string     `bson:"userId"`
	ShopID       string     `bson:"shopId"`
	LastAt       time.Time  `bson:"lastAt"`
	LastAskAt    *time.Time `bson:"lastAskAt,omitempty"`
	GesturedAt   *time.Time `bson:"gesturedAt,omitempty"`
	GestureAskID string     `bson:"gestureAskId,omitempty"`
}

func shopVisitID(userID, shopID string) string { return userID + "." + shopID }

// FindShopVisit returns the customer's record at the shop, or NotFound.
func (db *DB) FindShopVisit(ctx context.Context, userID, shopID string) (fan.ShopVisit, error) {
	var d shopVisitDoc
	if err := db.r("shop_visits").FindOne(ctx, byID(shopVisitID(userID, shopID))).Decode(&d); err != nil {
		return fan.ShopVisit{}, translate(err, "shop visit")
	}
	return fan.ShopVisit{UserID: d.UserID, ShopID: d.ShopID, LastAt: d.LastAt.UTC(), LastAskAt: timeOf(d.LastAskAt),
		GesturedAt: timeOf(d.GesturedAt), GestureAskID: d.GestureAskID}, nil
}

// UpdateShopVisit replaces the customer's record at the shop, or creates
// it, listed under the customer first (one _id read to know).
func (db *DB) UpdateShopVisit(ctx context.Context, sv fan.ShopVisit) error {
	id := shopVisitID(sv.UserID, sv.ShopID)
	if err := db.listNew(ctx, shopVisitList, "shop_visits", sv.UserID, id); err != nil {
		return err
	}
	d := shopVisitDoc{id, sv.UserID, sv.ShopID, sv.LastAt, timePtr(sv.LastAskAt), timePtr(sv.GesturedAt), sv.GestureAskID}
	_, err := db.c("shop_visits").ReplaceOne(ctx, byID(id), d, options.Replace().SetUpsert(true))
	return translate(err, "shop visit")
}

type visitAskDoc struct {
	ID         string     `bson:"_id"`
	UserID     string     `bson:"userId"`
	ShopID     string     `bson:"shopId"`
	Source     string     `bson:"source"`
	VisitAt    time.Time  `bson:"visitAt"`
	At         time.Time  `bson:"at"`
	ExpiresAt  time.Time  `bson:"expiresAt"`
	AnsweredAt *time.Time `bson:"answeredAt,omitempty"`
	Rating     int        `bson:"rating,omitempty"`
	GesturedAt *time.Time `bson:"gesturedAt,omitempty"`
}

func toVisitAskDoc(a fan.VisitAsk) visitAskDoc {
	return visitAskDoc{a.ID, a.UserID, a.ShopID, a.Source, a.VisitAt, a.At, a.ExpiresAt, timePtr(a.AnsweredAt), a.Rating, timePtr(a.GesturedAt)}
}

func (d visitAskDoc) ask() fan.VisitAsk {
	return fan.VisitAsk{ID: d.ID, UserID: d.UserID, ShopID: d.ShopID, Source: d.Source, VisitAt: d.VisitAt.UTC(), At: d.At.UTC(),
		ExpiresAt: d.ExpiresAt.UTC(), AnsweredAt: timeOf(d.AnsweredAt), Rating: d.Rating, GesturedAt: timeOf(d.GesturedAt)}
}

// CreateVisitAsk stores an ask, listed under its customer; Conflict when
// its ID is taken.
func (db *DB) CreateVisitAsk(ctx context.Context, a fan.VisitAsk) error {
	return db.insertIndexed(ctx, "visit_asks", a.ID, toVisitAskDoc(a), "visit ask", listing{visitAskList, a.UserID})
}

// FindVisitAsk returns the ask, or NotFound.
func (db *DB) FindVisitAsk(ctx context.Context, id string) (fan.VisitAsk, error) {
	var d visitAskDoc
	if err := db.r("visit_asks").FindOne(ctx, byID(id)).Decode(&d); err != nil {
		return fan.VisitAsk{}, translate(err, "visit ask")
	}
	return d.ask(), nil
}

// UpdateVisitAsk replaces the ask.
func (db *DB) UpdateVisitAsk(ctx context.Context, a fan.VisitAsk) error {
	_, err := db.c("visit_asks").ReplaceOne(ctx, byID(a.ID), toVisitAskDoc(a))
	return translate(err, "visit ask")
}

// CreateVisitMark inserts a once-marker; Conflict when key is taken.
func (db *DB) CreateVisitMark(ctx context.Context, key string, at time.Time) error {
	_, err := db.c("visit_marks").InsertOne(ctx, bson.D{{Key: "_id", Value: key}, {Key: "at", Value: at}})
	return translate(err, "visit mark")
}

// AddVisitStats adds deltas to the shop's visit counters: an upsert by
// design, never NotFound (the first count creates them).
func (db *DB) AddVisitStats(ctx context.Context, shopID string, deltas map[string]int64) error {
	inc := bson.D{}
	for k, v := range deltas {
		inc = append(inc, bson.E{Key: "c." + strings.ReplaceAll(k, ".", "_"), Value: v})
	}
	_, err := db.c("visit_stats").UpdateOne(ctx, byID(shopID), bson.D{{Key: "$inc", Value: inc}}, options.UpdateOne().SetUpsert(true))
	return translate(err, "visit stats")
}

// FindVisitStats returns the shop's visit counters (empty when none yet).
func (db *DB) FindVisitStats(ctx context.Context, shopID string) (map[string]int64, error) {
	var d struct {
		C map[string]int64 `bson:"c"`
	}
	err := db.r("visit_stats").FindOne(ctx, byID(shopID)).Decode(&d)
	if err = translate(err, "visit stats"); hyperlieu.KindOf(err) == hyperlieu.NotFound {
		return map[string]int64{}, nil
	}
	if err != nil {
		return nil, err
	}
	return d.C, nil
}

// FindVisitsBy returns the customer's visits and asks (export), oldest
// first, from their lists: two _id reads each.
func (db *DB) FindVisitsBy(ctx context.Context, userID string) ([]hyperlieu.Visit, []fan.VisitAsk, error) {
	vds, err := allOf(ctx, db, visitList, userID, "visits", "visits", func(d visitDoc) bool { return d.UserID == userID })
	if err != nil {
		return nil, nil, err
	}
	ads, err := allOf(ctx, db, visitAskList, userID, "visit_asks", "visit asks", func(d visitAskDoc) bool { return d.UserID == userID })
	if err != nil {
		return nil, nil, err
	}
	vs := make([]hyperlieu.Visit, len(vds))
	for i, d := range vds {
		vs[len(vds)-1-i] = d.visit()
	}
	asks := make([]fan.VisitAsk, len(ads))
	for i, d := range ads {
		asks[len(ads)-1-i] = d.ask()
	}
	return vs, asks, nil
}

// DeleteVisitData erases the customer's visits, asks and shop records, and
// their lists, by _id. The once-markers stay: they name hashed asks, not
// the customer, and keep the shop's figures from counting twice.
func (db *DB) DeleteVisitData(ctx context.Context, userID string) error {
	for _, x := range []struct {
		l    ownerList
		coll string
	}{{visitList, "visits"}, {shopVisitList, "shop_visits"}, {visitAskList, "visit_asks"}} {
		ids, err := db.listedRefs(ctx, x.l, userID)
		if err != nil {
			return err
		}
		if err := db.deleteByIDs(ctx, x.coll, ids); err != nil {
			return err
		}
		if err := db.dropList(ctx, x.l, userID); err != nil {
			return err
		}
	}
	return nil
}
