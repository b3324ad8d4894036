package store_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/campaign"
	"github.com/hyperlieu/hyperlieu/notify"
)

// TestClaimKeysMigrateOlderClaims: claims an older version stored naming
// their customer are re-keyed under the customer's claim key, so that they
// still claim (a stay fires once, a slot is taken, a daily contact counts)
// and name no one; those of an account gone are deleted; accounts without
// claims get a key too; a second start changes nothing.
func TestClaimKeysMigrateOlderClaims(t *testing.T) {
	dbs, database := sharedDB(t, 1)
	db := dbs[0]
	ctx := context.Background()
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	raw := client.Database(database)
	now := time.Now().UTC().Truncate(time.Millisecond)
	entered := now.Add(-time.Minute)
	insert := func(coll string, docs ...bson.D) {
		t.Helper()
		for _, d := range docs {
			if _, err := raw.Collection(coll).InsertOne(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, id := range []string{"old-1", "old-2"} {
		insert("users", bson.D{{Key: "_id", Value: id}, {Key: "email", Value: id + "@example.com"},
			{Key: "passwordHash", Value: "hash-of-" + id}, {Key: "createdAt", Value: now}})
	}
	stay := "stay:camp1:old-1:" + strconv.FormatInt(entered.UnixNano(), 10)
	insert("triggers",
		bson.D{{Key: "_id", Value: stay}, {Key: "campaignId", Value: "camp1"}, {Key: "userId", Value: "old-1"}, {Key: "n", Value: 0}, {Key: "at", Value: now}},
		bson.D{{Key: "_id", Value: "trigger:camp1:old-1:1"}, {Key: "campaignId", Value: "camp1"}, {Key: "userId", Value: "old-1"}, {Key: "n", Value: 1}, {Key: "at", Value: now}},
		bson.D{{Key: "_id", Value: "trigger:camp1:gone:1"}, {Key: "campaignId", Value: "camp1"}, {Key: "userId", Value: "gone"}, {Key: "n", Value: 1}, {Key: "at", Value: now}})
	day := now.Format(time.DateOnly)
	insert("contact_slots", bson.D{{Key: "_id", Value: "contact:old-1:" + day + ":1"}, {Key: "userId", Value: "old-1"}, {Key: "at", Value: now}})

	n, err := db.MigrateClaimKeys(ctx)
	if err != nil || n != 4 {
		t.Fatalf("MigrateClaimKeys = %d, %v; want 4 claims re-keyed or deleted", n, err)
	}
	u, err := db.FindUser(ctx, "old-1")
	if err != nil || len(u.ClaimKey) != 32 {
		t.Fatalf("old-1 = %v, key %d bytes; want a 32-byte key", err, len(u.ClaimKey))
	}
	if u2, err := db.FindUser(ctx, "old-2"); err != nil || len(u2.ClaimKey) != 32 || slices.Equal(u2.ClaimKey, u.ClaimKey) {
		t.Errorf("old-2, without claims: key %x, %v; want its own", u2.ClaimKey, err)
	}
	if err := db.CreateTrigger(ctx, campaign.TriggerClaim{Key: campaign.StayKey("camp1", u, entered), At: now}); hyperlieu.KindOf(err) != hyperlieu.Conflict {
		t.Errorf("claiming the migrated stay again: %v, want Conflict", err)
	}
	if tr, err := db.FindTrigger(ctx, campaign.TriggerKey("camp1", u, 1)); err != nil || tr.N != 1 || !tr.At.Equal(now) {
		t.Errorf("migrated slot = %+v, %v", tr, err)
	}
	if ok, err := db.CreateSlots(ctx, []notify.SlotRequest{{Slots: []string{notify.ContactSlot(u, day, 1)}}}, now); err != nil || ok[0] {
		t.Errorf("today's migrated contact taken again: %v, %v; want refused", ok, err)
	}
	for _, who := range []string{"old-1", "gone"} {
		if left := collectionsWith(t, database, who); slices.Contains(left, "triggers") || slices.Contains(left, "contact_slots") {
			t.Errorf("%s still named in %v", who, left)
		}
	}
	if n, err := db.MigrateClaimKeys(ctx); err != nil || n != 0 {
		t.Errorf("second start: %d, %v; want nothing done", n, err)
	}
	if again, _ := db.FindUser(ctx, "old-1"); !slices.Equal(again.ClaimKey, u.ClaimKey) {
		t.Error("the second start changed the key")
	}
}

// TestClaimKeyIsKeptAndErased: an account stored without a claim key gets
// one, an update of the account never clears it, and erasure deletes it
// with the account.
func TestClaimKeyIsKeptAndErased(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	u := hyperlieu.User{ID: hyperlieu.NewID(), Email: "k@example.com", CreatedAt: time.Now().UTC()}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	stored, err := db.FindUser(ctx, u.ID)
	if err != nil || len(stored.ClaimKey) != 32 {
		t.Fatalf("stored key %d bytes, %v; want 32", len(stored.ClaimKey), err)
	}
	u.DisplayName = "Renamed" // u carries no key
	if err := db.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if again, _ := db.FindUser(ctx, u.ID); !slices.Equal(again.ClaimKey, stored.ClaimKey) || again.DisplayName != "Renamed" {
		t.Errorf("after an update: key kept %v, name %q", slices.Equal(again.ClaimKey, stored.ClaimKey), again.DisplayName)
	}
	if err := db.EraseUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindUser(ctx, u.ID); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("after erasure: %v, want NotFound", err)
	}
}
