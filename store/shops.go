package store

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu/geo"
	"github.com/hyperlieu/hyperlieu/shop"
)

func shopIndexes() []indexSpec {
	return []indexSpec{
		{"shops", index(bson.D{{Key: "updatedAt", Value: 1}})},
		{"events", index(bson.D{{Key: "shopId", Value: 1}, {Key: "startsAt", Value: 1}})},
		{"events", index(bson.D{{Key: "updatedAt", Value: 1}})},
		{"events", index(bson.D{{Key: "startsAt", Value: 1}})},
		{"event_queue", index(bson.D{{Key: "eventId", Value: 1}, {Key: "n", Value: 1}})},
		{"rsvps", index(bson.D{{Key: "eventId", Value: 1}})},
		{"feedback", index(bson.D{{Key: "eventId", Value: 1}})},
		// Export and erasure read by person through keyed lists
		// (events_personal.go), no longer by userId.
	}
}

type pointDoc struct {
	Lat float64 `bson:"lat"`
	Lng float64 `bson:"lng"`
}

type shopDoc struct {
	ID           string     `bson:"_id"`
	Name         string     `bson:"name"`
	Address      string     `bson:"address"`
	Location     pointDoc   `bson:"location"`
	Cell         string     `bson:"cell"` // H3 cell at geo.Resolution, for queries by area
	Timezone     string     `bson:"timezone"`
	OpeningHours string     `bson:"openingHours"`
	ManagerIDs   []string   `bson:"managerIds"`
	CreatedAt    time.Time  `bson:"createdAt"`
	UpdatedAt    time.Time  `bson:"updatedAt"`
	DeletedAt    *time.Time `bson:"deletedAt,omitempty"`
}

func cellOf(p geo.Point) string {
	c, err := geo.CellOf(p)
	if err != nil {
		return ""
	}
	return c.String()
}

func toShopDoc(s shop.Shop) shopDoc {
	d := shopDoc{
		ID: s.ID, Name: s.Name, Address: s.Address, Location: pointDoc(s.Location), Cell: cellOf(s.Location),
		Timezone: s.Timezone, OpeningHours: s.OpeningHours, ManagerIDs: s.ManagerIDs,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
	}
	if d.ManagerIDs == nil {
		d.ManagerIDs = []string{}
	}
	if !s.DeletedAt.IsZero() {
		d.DeletedAt = &s.DeletedAt
	}
	return d
}

func (d shopDoc) shop() shop.Shop {
	s := shop.Shop{
		ID: d.ID, Name: d.Name, Address: d.Address, Location: geo.Point(d.Location),
		Timezone: d.Timezone, OpeningHours: d.OpeningHours, ManagerIDs: d.ManagerIDs,
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
	}
	if d.DeletedAt != nil {
		s.DeletedAt = d.DeletedAt.UTC()
	}
	return s
}

// CreateShop stores a new shop. Conflict if the ID is taken.
func (db *DB) CreateShop(ctx context.Context, s shop.Shop) error {
	if err := db.listManagers(ctx, s.ID, s.ManagerIDs); err != nil {
		return err
	}
	_, err := db.c("shops").InsertOne(ctx, toShopDoc(s))
	if err == nil {
		db.logPlace(ctx, "shop:"+s.ID)
	}
	return translate(err, "shop")
}

// FindShop returns the shop with id, deleted or not, or NotFound.
func (db *DB) FindShop(ctx context.Context, id string) (shop.Shop, error) {
	var d shopDoc
	if err := db.r("shops").FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return shop.Shop{}, translate(err, "shop")
	}
	return d.shop(), nil
}

// UpdateShop replaces the stored shop. NotFound if it is gone.
func (db *DB) UpdateShop(ctx context.Context, s shop.Shop) error {
	if err := db.listManagers(ctx, s.ID, s.ManagerIDs); err != nil {
		return err
	}
	err := db.replaceByID(ctx, "shops", s.ID, toShopDoc(s), "shop")
	if err == nil {
		db.logPlace(ctx, "shop:"+s.ID)
	}
	return err
}

// FindShopsChangedSince returns the shops updated after t, deleted ones
// included, oldest change first.
func (db *DB) FindShopsChangedSince(ctx context.Context, t time.Time) ([]shop.Shop, error) {
	return findMany(ctx, db.r("shops"), bson.D{{Key: "updatedAt", Value: bson.D{{Key: "$gt", Value: t}}}},
		options.Find().SetSort(bson.D{{Key: "updatedAt", Value: 1}}), "shops", shopDoc.shop)
}
