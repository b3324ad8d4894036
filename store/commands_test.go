package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/campaign"
	"github.com/hyperlieu/hyperlieu/geo"
	"github.com/hyperlieu/hyperlieu/notify"
	"github.com/hyperlieu/hyperlieu/store"
)

// commands records the commands the driver sends, as "name" plus, for a
// command the embedded FerretDB would answer with a collection scan, why.
type commands struct {
	mu   sync.Mutex
	seen []string
	scan []string
}

func (c *commands) monitor() *event.CommandMonitor {
	return &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.seen = append(c.seen, e.CommandName)
		if why := scans(e.CommandName, e.Command); why != "" {
			c.scan = append(c.scan, e.CommandName+": "+why)
		}
	}}
}

// take returns the commands since the last take and forgets them.
// costsAtMost runs one store verb under the monitor and checks that it
// costs at most want commands, none of them a scan.
func costsAtMost(t *testing.T, cmds *commands, what string, want int, run func() error) {
	t.Helper()
	cmds.take()
	if err := run(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	seen, scan := cmds.take()
	t.Logf("%s: %d commands %v", what, len(seen), seen)
	if len(seen) > want || len(scan) > 0 {
		t.Errorf("%s: %d commands %v, scans %v; want ≤ %d, none", what, len(seen), seen, scan, want)
	}
}

func (c *commands) take() (seen, scan []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen, scan = c.seen, c.scan
	c.seen, c.scan = nil, nil
	return seen, scan
}

// scans says why cmd is not keyed (empty when it is): a find must filter on
// exactly {_id: <scalar>}, an update or delete on {_id: <scalar>} per
// statement; inserts are keyed by their _id.
func scans(name string, cmd bson.Raw) string {
	switch name {
	case "find":
		return keyed(cmd.Lookup("filter"))
	case "update", "delete":
		// Statements travel in a document sequence the monitor folds into
		// the command as an array.
		field, key := "updates", "q"
		if name == "delete" {
			field, key = "deletes", "q"
		}
		arr, ok := cmd.Lookup(field).ArrayOK()
		if !ok {
			return "no statements"
		}
		vals, _ := arr.Values()
		for _, v := range vals {
			if why := keyed(v.Document().Lookup(key)); why != "" {
				return why
			}
		}
	case "findAndModify":
		return keyed(cmd.Lookup("query"))
	case "insert", "ping", "hello", "isMaster", "endSessions", "createIndexes", "dropDatabase":
	default:
		return "not a keyed command"
	}
	return ""
}

func keyed(filter bson.RawValue) string {
	doc, ok := filter.DocumentOK()
	if !ok {
		return "no filter"
	}
	elems, _ := doc.Elements()
	if len(elems) != 1 || elems[0].Key() != "_id" || elems[0].Value().Type == bson.TypeEmbeddedDocument {
		return "filter " + doc.String()
	}
	return ""
}

// TestHotPathCommandsAreKeyed replays the store verbs of a location report
// (the one that triggers nothing, then the one that fires an offer and
// queues its notification) and asserts how many commands each costs and
// that every one is an _id read, a keyed insert or an update by _id, which
// the embedded FerretDB answers from an index (issue 15).
func TestHotPathCommandsAreKeyed(t *testing.T) {
	var cmds commands
	db := newDBWith(t, store.Options{Monitor: cmds.monitor()})
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	// Some history, so that a scan would have something to decode.
	for i := range 20 {
		u := hyperlieu.User{ID: fmt.Sprintf("u%d", i), Email: fmt.Sprintf("u%d@example.com", i), CreatedAt: now}
		u.Prefs.MaxNotificationsPerDay = 3
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	cmds.take()

	// A report that triggers nothing: read and write the location state.
	_, err := db.FindLocationState(ctx, "u1")
	if hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Fatalf("FindLocationState: %v", err)
	}
	cell, err := geo.CellOf(geo.Point{Lat: 48.85, Lng: 2.35})
	if err != nil {
		t.Fatal(err)
	}
	st := campaign.LocationState{UserID: "u1", Cell: cell, At: now}
	if err := db.UpdateLocationState(ctx, st); err != nil {
		t.Fatal(err)
	}
	seen, scan := cmds.take()
	if len(seen) > 2 || len(scan) > 0 {
		t.Errorf("report that triggers nothing: commands %v, scans %v; want ≤ 2, none", seen, scan)
	}

	// A report that fires one offer, and the notification it queues.
	if err := db.CreateTrigger(ctx, campaign.TriggerClaim{Key: "c1:u1:1", N: 1, At: now}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateOffer(ctx, campaign.Offer{ID: "o1", Code: "CODE1", CampaignID: "c1", UserID: "u1", IssuedAt: now, ExpiresAt: now.Add(time.Hour), TriggerKey: "c1:u1:1"}); err != nil {
		t.Fatal(err)
	}
	if us, err := db.FindUsers(ctx, []string{"u1"}); err != nil || len(us) != 1 {
		t.Fatalf("FindUsers: %v %v", us, err)
	}
	if ids, err := db.FindNotificationIDs(ctx, []string{"dedup-o1"}); err != nil || len(ids) != 0 {
		t.Fatalf("FindNotificationIDs: %v %v", ids, err)
	}
	slots := notify.SlotRequest{Slots: []string{"contact:u1:2026-12-01:1", "contact:u1:2026-12-01:2", "contact:u1:2026-12-01:3"}}
	if ok, err := db.CreateSlots(ctx, []notify.SlotRequest{slots}, now); err != nil || !ok[0] {
		t.Fatalf("CreateSlots: %v %v", ok, err)
	}
	if _, err := db.FindDevices(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	n := notify.Notification{ID: "dedup-o1", UserID: "u1", Kind: "offer", CreatedAt: now, NotBefore: now, ExpiresAt: now.Add(time.Hour), Status: notify.StatusPending}
	if err := db.CreateNotifications(ctx, []notify.Notification{n}); err != nil {
		t.Fatal(err)
	}
	if err := db.UpdateLocationState(ctx, st); err != nil {
		t.Fatal(err)
	}
	seen, scan = cmds.take()
	// trigger, offer code, wallet head (the first offer this instance
	// gives u1), wallet entry and head, offer, user, dedup, slot, devices
	// (by user id), inbox head and everyone's (the admins' list: the first
	// notification this instance stores), entries (one insert) and heads
	// (one update), outbox queue entry, notification, state.
	if len(seen) > 17 || len(scan) > 0 {
		t.Errorf("report that fires one offer: %d commands %v, scans %v; want ≤ 17, none", len(seen), seen, scan)
	}

	// The second contact of the day takes the next slot: one more insert
	// per taken slot, still no read.
	if ok, err := db.CreateSlots(ctx, []notify.SlotRequest{slots, slots}, now); err != nil || !ok[0] || !ok[1] {
		t.Fatalf("CreateSlots twice: %v %v", ok, err)
	}
	if ok, err := db.CreateSlots(ctx, []notify.SlotRequest{slots}, now); err != nil || ok[0] {
		t.Fatalf("CreateSlots past the cap: %v %v; want refused", ok, err)
	}
	if _, scan = cmds.take(); len(scan) > 0 {
		t.Errorf("contact slots: scans %v", scan)
	}
}

// TestCommandMonitorSeesScans pins the detector itself on a verb that
// reads a whole collection (a migration, which may: it runs once).
func TestCommandMonitorSeesScans(t *testing.T) {
	var cmds commands
	db := newDBWith(t, store.Options{Monitor: cmds.monitor()})
	if _, err := db.MigrateAdminLists(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, scan := cmds.take(); len(scan) == 0 {
		t.Errorf("a migration: no scan seen; want its reads of whole collections seen")
	}
}
