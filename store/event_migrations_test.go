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
	"github.com/hyperlieu/hyperlieu/shop"
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

// TestMigrateEventLists: events, positions, check-ins, feedback and shops
// stored the way older versions did (listed nowhere) are found by the
// keyed lists once MigrateEvents ran, each once however often it runs.
func TestMigrateEventLists(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbs, name := sharedDB(t, 2)
	db := dbs[0]
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	raw := client.Database(name)
	at := start.Add(-48 * time.Hour)
	insert := func(coll string, docs ...bson.D) {
		t.Helper()
		for _, d := range docs {
			if _, err := raw.Collection(coll).InsertOne(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
	}
	insert("shops", bson.D{{Key: "_id", Value: "s1"}, {Key: "name", Value: "Atelier"}, {Key: "managerIds", Value: bson.A{"mgr"}},
		{Key: "createdAt", Value: at}, {Key: "updatedAt", Value: at}})
	insert("events", bson.D{{Key: "_id", Value: "e1"}, {Key: "shopId", Value: "s1"}, {Key: "title", Value: "Workshop"}, {Key: "category", Value: "workshop"},
		{Key: "startsAt", Value: start}, {Key: "endsAt", Value: start.Add(2 * time.Hour)}, {Key: "createdBy", Value: "mgr"},
		{Key: "createdAt", Value: at}, {Key: "updatedAt", Value: at}})
	insert("event_queue", bson.D{{Key: "_id", Value: "pos:e1:1"}, {Key: "eventId", Value: "e1"}, {Key: "n", Value: 1}, {Key: "userId", Value: "ana"}, {Key: "at", Value: at}})
	insert("checkins", bson.D{{Key: "_id", Value: "checkin:e1:ana"}, {Key: "eventId", Value: "e1"}, {Key: "userId", Value: "ana"},
		{Key: "method", Value: "ticket"}, {Key: "by", Value: "mgr"}, {Key: "at", Value: start}})
	insert("feedback", bson.D{{Key: "_id", Value: "feedback:e1:ana"}, {Key: "eventId", Value: "e1"}, {Key: "shopId", Value: "s1"}, {Key: "userId", Value: "ana"},
		{Key: "rating", Value: 4}, {Key: "createdAt", Value: start}, {Key: "updatedAt", Value: start}})

	found := func() string {
		t.Helper()
		var got []int
		for _, n := range []func() (int, error){
			func() (int, error) {
				evs, err := db.FindEvents(ctx, shop.EventFilter{CreatedBy: "mgr"})
				return len(evs), err
			},
			func() (int, error) {
				evs, err := db.FindEvents(ctx, shop.EventFilter{ShopID: "s1", From: at, To: start.Add(time.Hour)})
				return len(evs), err
			},
			func() (int, error) { ss, err := db.FindShopsManagedBy(ctx, "mgr"); return len(ss), err },
			func() (int, error) { cs, err := db.FindClaimsBy(ctx, "ana"); return len(cs), err },
			func() (int, error) { cs, err := db.FindCheckInsBy(ctx, "ana"); return len(cs), err },
			func() (int, error) { fs, err := db.FindFeedbackBy(ctx, "ana"); return len(fs), err },
		} {
			k, err := n()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, k)
		}
		return fmt.Sprint(got)
	}
	if got := found(); got != "[0 0 0 0 0 0]" {
		t.Fatalf("before the migration the lists find %s, want nothing", got)
	}
	for range 2 {
		for _, d := range dbs {
			if err := d.MigrateEvents(ctx); err != nil {
				t.Fatalf("MigrateEvents: %v", err)
			}
		}
		if got := found(); got != "[1 1 1 1 1 1]" {
			t.Errorf("after the migration the lists find %s, want each once", got)
		}
		// Run it again as if never recorded: nothing is listed twice.
		if _, err := raw.Collection("migrations").DeleteOne(ctx, bson.D{{Key: "_id", Value: "event-lists-2"}}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := raw.Collection("event_people").CountDocuments(ctx, bson.D{{Key: "ref", Value: "checkin:e1:ana"}}); err != nil || n != 2 {
		t.Errorf("check-in listed %d times, %v; want twice (attendee, scanner)", n, err)
	}
	// The scanner's erasure finds the check-in it scanned.
	if err := db.DeleteEventUser(ctx, "mgr"); err != nil {
		t.Fatal(err)
	}
	if cs, err := db.FindCheckInsBy(ctx, "ana"); err != nil || len(cs) != 1 || cs[0].By != "" {
		t.Errorf("after the scanner's erasure = %+v, %v; want scanned by nobody", cs, err)
	}
	if where := collectionsWith(t, name, "mgr"); len(where) != 1 || where[0] != "shops" {
		t.Errorf("after the manager's erasure they are in %v; want only the shop (the shop service takes them off it)", where)
	}
}
