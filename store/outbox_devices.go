package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/notify"
)

// Devices are kept twice: devices (keyed by token: who holds it, so that a
// token can move between accounts) and device_lists (keyed by user: the
// devices of one account, under the hash of their token, which may hold
// characters a field name may not), so that the outbox and Notify read a
// customer's devices by _id. Each list entry is set or unset by an update
// by _id, never rewritten whole, so two registrations do not lose each other.
// The list also holds the ids of the user's parked notifications (those
// queued while the user had no device), under the hash of their id, so that
// a registration finds them by the _id read it makes anyway (issue 15).
const deviceListsColl = "device_lists"

type deviceListDoc struct {
	UserID  string               `bson:"_id"`
	Devices map[string]deviceDoc `bson:"devices"`
	Parked  map[string]string    `bson:"parked,omitempty"` // notification id by hashKey(id)
}

func tokenKey(token string) string { return "devices." + hashKey(token) }

// hashKey is a field name for s, which may hold characters one may not.
func hashKey(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// listParked lists the parked pending notifications of ns under their user,
// one upsert by _id per user in one bulk write. CreateNotifications calls it
// before queueing them: a crash in between leaves an id listed with nothing
// queued, which UpdateParked's update by _id ignores, never a parked
// notification no registration would find.
func (db *DB) listParked(ctx context.Context, ns []notify.Notification) error {
	byUser := map[string]bson.D{}
	var users []string
	for _, n := range ns {
		if n.Status != notify.StatusPending || !n.Parked {
			continue
		}
		if byUser[n.UserID] == nil {
			users = append(users, n.UserID)
		}
		byUser[n.UserID] = append(byUser[n.UserID], bson.E{Key: "parked." + hashKey(n.ID), Value: n.ID})
	}
	models := make([]mongo.WriteModel, len(users))
	for i, u := range users {
		models[i] = mongo.NewUpdateOneModel().SetFilter(byID(u)).SetUpdate(bson.D{{Key: "$set", Value: byUser[u]}}).SetUpsert(true)
	}
	return db.bulkByID(ctx, deviceListsColl, models)
}

// unlistParked takes ns, finished while parked, off their users' lists, so
// that a customer who never registers a device does not collect them: one
// $unset by _id per user, in one bulk write. A crash before it leaves them
// listed, for the next registration to update by _id to no effect.
func (db *DB) unlistParked(ctx context.Context, ns []notify.Notification) error {
	byUser := map[string]bson.D{}
	var users []string
	for _, n := range ns {
		if byUser[n.UserID] == nil {
			users = append(users, n.UserID)
		}
		byUser[n.UserID] = append(byUser[n.UserID], bson.E{Key: "parked." + hashKey(n.ID), Value: ""})
	}
	models := make([]mongo.WriteModel, len(users))
	for i, u := range users {
		models[i] = mongo.NewUpdateOneModel().SetFilter(byID(u)).SetUpdate(bson.D{{Key: "$unset", Value: byUser[u]}})
	}
	return db.bulkByID(ctx, deviceListsColl, models)
}

// migrateParked lists the notifications parked before the lists held them
// (MigrateOutbox): one scan of the queue, once.
func (db *DB) migrateParked(ctx context.Context) error {
	ns, err := findMany(ctx, db.c(queueColl), bson.D{{Key: "parked", Value: true}}, nil, "outbox queue", notificationDoc.notification)
	if err != nil {
		return err
	}
	return db.listParked(ctx, ns)
}

// UpdateDevice creates or refreshes the device keyed by its token, moving it
// to d.UserID; a refresh by the same user keeps its creation time.
func (db *DB) UpdateDevice(ctx context.Context, d notify.Device) error {
	var old deviceDoc
	err := db.c("devices").FindOne(ctx, byID(d.Token)).Decode(&old)
	switch {
	case err == nil && old.UserID == d.UserID:
		d.CreatedAt = old.CreatedAt
	case err == nil:
		if err := db.unlistDevice(ctx, old.UserID, d.Token); err != nil {
			return err
		}
	case !errors.Is(err, mongo.ErrNoDocuments):
		return translate(err, "device")
	}
	if err := db.listDevice(ctx, deviceDoc(d)); err != nil {
		return err
	}
	_, err = db.c("devices").ReplaceOne(ctx, byID(d.Token), deviceDoc(d), options.Replace().SetUpsert(true))
	return translate(err, "device")
}

// listDevice sets d in its user's list, creating the list if need be.
func (db *DB) listDevice(ctx context.Context, d deviceDoc) error {
	_, err := db.c(deviceListsColl).UpdateOne(ctx, byID(d.UserID),
		bson.D{{Key: "$set", Value: bson.D{{Key: tokenKey(d.Token), Value: d}}}}, options.UpdateOne().SetUpsert(true))
	return translate(err, "device")
}

func (db *DB) unlistDevice(ctx context.Context, userID, token string) error {
	_, err := db.c(deviceListsColl).UpdateOne(ctx, byID(userID), bson.D{{Key: "$unset", Value: bson.D{{Key: tokenKey(token), Value: ""}}}})
	return translate(err, "device")
}

// FindDevices returns the devices of the users, most recently refreshed
// first, by one _id read per user.
func (db *DB) FindDevices(ctx context.Context, userIDs ...string) ([]notify.Device, error) {
	lists, err := findByIDs(ctx, db.c(deviceListsColl), userIDs, nil, "devices", func(d deviceListDoc) deviceListDoc { return d })
	if err != nil {
		return nil, err
	}
	var out []notify.Device
	for _, l := range lists {
		for _, d := range l.Devices {
			d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
			out = append(out, notify.Device(d))
		}
	}
	slices.SortFunc(out, func(a, b notify.Device) int {
		return cmp.Or(b.UpdatedAt.Compare(a.UpdatedAt), cmp.Compare(a.Token, b.Token))
	})
	return out, nil
}

// DeleteDevice deletes token if userID owns it, else returns NotFound.
func (db *DB) DeleteDevice(ctx context.Context, userID, token string) error {
	var d deviceDoc
	err := db.c("devices").FindOne(ctx, byID(token)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) || (err == nil && d.UserID != userID) {
		return hyperlieu.Errorf(hyperlieu.NotFound, "device not found")
	}
	if err != nil {
		return translate(err, "device")
	}
	if err := db.unlistDevice(ctx, userID, token); err != nil {
		return err
	}
	_, err = db.c("devices").DeleteOne(ctx, byID(token))
	return translate(err, "device")
}

// DeleteDeviceTokens deletes the devices with these tokens, whoever owns
// them: one read and two writes by _id each (dead tokens are few).
func (db *DB) DeleteDeviceTokens(ctx context.Context, tokens []string) error {
	docs, err := findByIDs(ctx, db.c("devices"), tokens, nil, "devices", func(d deviceDoc) deviceDoc { return d })
	if err != nil {
		return err
	}
	dels := make([]mongo.WriteModel, len(docs))
	for i, d := range docs {
		if err := db.unlistDevice(ctx, d.UserID, d.Token); err != nil {
			return err
		}
		dels[i] = mongo.NewDeleteOneModel().SetFilter(byID(d.Token))
	}
	return db.bulkByID(ctx, "devices", dels)
}

// migrateDeviceLists lists every device under its user (MigrateOutbox).
func (db *DB) migrateDeviceLists(ctx context.Context) error {
	devs, err := findMany(ctx, db.c("devices"), bson.D{}, nil, "devices", func(d deviceDoc) deviceDoc { return d })
	if err != nil {
		return err
	}
	for _, d := range devs {
		if err := db.listDevice(ctx, d); err != nil {
			return err
		}
	}
	return nil
}
