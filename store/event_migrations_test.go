package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu"
)

// TestMigrateEvents: RSVPs and released positions stored the way older
// versions did (no ticket, no entry in the user's list, no release log)
// are found by the keyed reads once MigrateEvents ran; running it again,
// or from a second instance, changes nothing.
func TestMigrateEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbs, name := sharedDB(t, 2)
	db := dbs[0]
	e := newEvent(t, db, "shop", "mgr")
	e2 := newEvent(t, db, "shop", "mgr")

	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	raw := client.Database(name)
	at := start.Add(-time.Hour)
	var docs []any
	for i, ev := range []string{e.ID, e2.ID} {
		docs = append(docs, bson.D{{Key: "_id", Value: "rsvp:" + ev + ":ana"}, {Key: "eventId", Value: ev}, {Key: "userId", Value: "ana"},
			{Key: "position", Value: 1}, {Key: "ticketCode", Value: "old-" + ev}, {Key: "createdAt", Value: at.Add(time.Duration(-i) * time.Minute)},
			{Key: "updatedAt", Value: at}})
	}
	if _, err := raw.Collection("rsvps").InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 3; n++ {
		if err := db.CreatePosition(ctx, e.ID, n, "u", at); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []int{1, 3} { // released the old way: marked only
		if _, err := raw.Collection("event_queue").UpdateOne(ctx, bson.D{{Key: "_id", Value: fmt.Sprintf("pos:%s:%d", e.ID, n)}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "released", Value: true}}}}); err != nil {
			t.Fatal(err)
		}
	}

	for _, d := range append(dbs, dbs...) {
		if err := d.MigrateEvents(ctx); err != nil {
			t.Fatalf("MigrateEvents: %v", err)
		}
	}
	if _, err := raw.Collection("migrations").DeleteOne(ctx, bson.D{{Key: "_id", Value: "event-keys-1"}}); err != nil {
		t.Fatal(err)
	}
	if err := dbs[1].MigrateEvents(ctx); err != nil { // as if cut short before its record
		t.Fatalf("MigrateEvents again: %v", err)
	}

	rs, err := db.FindRSVPsBy(ctx, "ana")
	if err != nil || len(rs) != 2 || rs[0].EventID != e2.ID || rs[1].EventID != e.ID {
		t.Errorf("FindRSVPsBy after the backfill = %+v, %v; want both, oldest first", rs, err)
	}
	if n, _ := raw.Collection("rsvp_lists").CountDocuments(ctx, bson.D{}); n != 2 {
		t.Errorf("ana's list has %d entries after three runs, want 2", n)
	}
	if r, err := db.FindRSVPByTicket(ctx, e.ID, "old-"+e.ID); err != nil || r.UserID != "ana" {
		t.Errorf("FindRSVPByTicket(old code) = %+v, %v; want ana's", r, err)
	}
	if _, err := db.FindRSVPByTicket(ctx, e.ID, "old-"+e2.ID); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("FindRSVPByTicket(another event's code) = %v, want NotFound", err)
	}
	rel, err := db.FindReleases(ctx, e.ID, 1)
	if slices.Sort(rel); err != nil || !slices.Equal(rel, []int{1, 3}) {
		t.Errorf("release log after the backfill = %v, %v; want 1 and 3 once each", rel, err)
	}
	if _, live := queueOf(t, db, e.ID); len(live) != 1 || live[0].N != 2 {
		t.Errorf("live after the backfill = %v, want position 2 only", live)
	}
}
