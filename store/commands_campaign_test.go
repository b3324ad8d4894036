package store_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/campaign"
	"github.com/hyperlieu/hyperlieu/geo"
	"github.com/hyperlieu/hyperlieu/notify"
	"github.com/hyperlieu/hyperlieu/store"
)

// TestCampaignPathCommands runs the marketers' and the workers' campaign
// paths over the embedded database under the command monitor, on two
// instances of one database, and asserts what each costs (issue 15): a
// reach estimate reads the campaign, the presence of its area and each
// customer there by _id; the index's poll is one read, a change another
// instance made four more; its full load and the marketers' list two reads
// a campaign; a report that moves a customer to another area writes no
// more than one that does not (presence is written in batches, one bulk
// update a flush); the retention sweep reads the presence list and
// documents, and the states of customers listed before the retention only;
// erasure deletes by _id (trigger claims name no one and stay). None of
// them is a collection scan.
func TestCampaignPathCommands(t *testing.T) {
	var cmds commands
	dbs, database := sharedDBWith(t, 2, store.Options{Monitor: cmds.monitor()})
	db, other := dbs[0], dbs[1]
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	instance := func(db *store.DB) (*campaign.Service, *campaign.LocationService) {
		campaigns := campaign.NewService(db, pathShops{}, campaign.Options{}, quiet)
		offers := campaign.NewOfferService(db, campaigns, pathShops{}, pathFans{}, campaign.OfferOptions{}, quiet)
		notes := notify.NewService(db, notify.Options{}, quiet)
		return campaigns, campaign.NewLocationService(db, campaigns, offers, notes, pathFans{}, campaign.LocationOptions{UserCacheTTL: time.Hour}, quiet)
	}
	campaigns, location := instance(db)
	measure := func(what string, f func() error) []string {
		t.Helper()
		cmds.take()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		seen, scan := cmds.take()
		t.Logf("%s: %d commands %v", what, len(seen), seen)
		if len(scan) > 0 {
			t.Errorf("%s: scans %v, want none", what, scan)
		}
		return seen
	}
	atMost := func(what string, seen []string, want int) {
		t.Helper()
		if len(seen) > want {
			t.Errorf("%s: %d commands %v; want ≤ %d", what, len(seen), seen, want)
		}
	}

	zone := geo.Point{Lat: 48.8530, Lng: 2.3490}
	admin := hyperlieu.Actor{UserID: "admin", Roles: []hyperlieu.Role{hyperlieu.RoleAdmin}}
	name := "Coffee"
	c, err := campaigns.CreateCampaign(ctx, admin, campaign.Input{Name: &name,
		Geofence: &campaign.Geofence{Type: "circles", Circles: []geo.Circle{{Center: zone, RadiusM: 100}}},
		Offer:    &campaign.OfferTemplate{Texts: []campaign.OfferText{{Locale: "en", Formality: hyperlieu.Formal, Title: "A coffee"}}, Validity: time.Hour},
		Caps:     &campaign.Caps{PerCustomer: 5}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := campaigns.Transition(ctx, admin, c.ID, "activate"); err != nil {
		t.Fatal(err)
	}
	// Ten customers: five inside the fence, one without consent inside,
	// two nearby outside it, two far away.
	now := time.Now().UTC()
	far := geo.Point{Lat: 48.95, Lng: 2.55}
	near := geo.Point{Lat: 48.8545, Lng: 2.3490} // ~170 m north
	where := []geo.Point{zone, zone, zone, zone, zone, zone, near, near, far, far}
	for i, p := range where {
		u := hyperlieu.User{ID: fmt.Sprintf("cust-%02d", i), Email: fmt.Sprintf("c%d@example.com", i), CreatedAt: now.Add(-time.Hour)}
		u.Prefs.LocationConsent, u.Prefs.MaxNotificationsPerDay = i != 5, 5
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if i == 5 { // who withdrew consent since their last report
			st := campaign.LocationState{UserID: u.ID, Cell: mustCell(t, p), Point: p, At: now.Add(-3 * time.Hour)}
			if err := db.UpdateLocationState(ctx, st); err != nil {
				t.Fatal(err)
			}
			if err := db.MovePresence(ctx, []campaign.PresenceMove{{UserID: u.ID, To: st.Cell, At: st.At}}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		reports := []campaign.LocationReport{{Point: p, AccuracyM: 10, RecordedAt: now.Add(-3 * time.Hour)}}
		key := ""
		if i == 0 { // its answer is stored, for erasure to find
			key = "h:first"
		}
		if _, err := location.ReportOnce(ctx, u.ID, key, reports, false, func(campaign.ReportResult) ([]byte, error) { return []byte("{}"), nil }); err != nil {
			t.Fatal(err)
		}
	}

	// Presence moves are written in one flush: the area documents' list
	// (a read, and an entry and its head the first time one is listed),
	// then one bulk update.
	seen := measure("presence flush of nine new customers", func() error { return campaigns.FlushPresence(ctx) })
	atMost("presence flush", seen, 1+2*4)
	if seen = measure("presence flush of nothing", func() error { return campaigns.FlushPresence(ctx) }); len(seen) != 0 {
		t.Errorf("presence flush of nothing: %v, want no command", seen)
	}

	// A report that moves a customer to another area costs what one that
	// does not: the state's read and write; the move is written with the
	// next flush.
	seen = measure("report moving to another area", func() error {
		reports := []campaign.LocationReport{{Point: near, AccuracyM: 10, RecordedAt: now.Add(-time.Hour)}}
		_, err := location.ReportOnce(ctx, "cust-08", "", reports, false, func(campaign.ReportResult) ([]byte, error) { return nil, nil })
		return err
	})
	atMost("report moving to another area", seen, 2)
	seen = measure("flush of one move", func() error { return campaigns.FlushPresence(ctx) })
	atMost("flush of one move", seen, 1)

	// Reach: the campaign, the area's presence, then each customer listed
	// there: their state, and the consent of those inside.
	var reach int
	seen = measure("reach", func() (err error) {
		reach, err = campaigns.Reach(ctx, c.ID, 1)
		return err
	})
	if reach != 5 {
		t.Errorf("reach = %d, want the 5 consenting customers inside", reach)
	}
	atMost("reach", seen, 1+3+9+6)

	// The index: a poll when nothing changed reads the change marker; a
	// change another instance made, the log's head, one past it, the
	// entry and the campaign.
	if seen = measure("index poll, nothing changed", func() error { return campaigns.Refresh(ctx) }); len(seen) != 1 {
		t.Errorf("index poll: %d commands %v, want 1", len(seen), seen)
	}
	otherCampaigns, _ := instance(other)
	if err := otherCampaigns.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := otherCampaigns.Transition(ctx, admin, c.ID, "pause"); err != nil {
		t.Fatal(err)
	}
	seen = measure("index poll after another instance's change", func() error { return campaigns.Refresh(ctx) })
	atMost("index poll after a change", seen, 5)
	if seen = measure("index poll, nothing changed since", func() error { return campaigns.Refresh(ctx) }); len(seen) != 1 {
		t.Errorf("index poll: %d commands %v, want 1", len(seen), seen)
	}
	// The full load of a starting instance, and the marketers' list: two
	// reads a campaign, and the lists' heads.
	fresh, _ := instance(db)
	seen = measure("index full load", func() error { return fresh.Refresh(ctx) })
	atMost("index full load", seen, 1+2+2+2*1)
	seen = measure("marketers' list", func() error {
		cs, err := campaigns.Campaigns(ctx, "")
		if err == nil && len(cs) != 1 {
			err = fmt.Errorf("%d campaigns, want 1", len(cs))
		}
		return err
	})
	atMost("marketers' list", seen, 2+2*1)

	// Retention: when nobody is past it, the presence list and documents;
	// past it, also each state listed, its delete and the documents'.
	var n int64
	seen = measure("sweep erasing nothing", func() (err error) {
		n, err = db.DeleteLocationStatesBefore(ctx, now.Add(-4*time.Hour))
		return err
	})
	if n != 0 || len(seen) > 2+2*3 {
		t.Errorf("sweep erasing nothing: %d erased, %d commands; want 0, ≤ %d", n, len(seen), 2+2*3)
	}

	// Erasure: by _id through the wallet, the campaigns' list and the
	// state (which lists the stored answers); the trigger claims name no
	// one and stay.
	cmds.take()
	if err := db.DeleteLocationData(ctx, "cust-00"); err != nil {
		t.Fatal(err)
	}
	seen, scan := cmds.take()
	t.Logf("erasure: %d commands %v", len(seen), seen)
	if len(scan) > 0 {
		t.Errorf("erasure: scans %v; want none", scan)
	}
	left := collectionsWith(t, database, "cust-00")
	for _, coll := range []string{"location_states", "presence", "offers", "offer_codes", "wallet", "triggers", "report_answers", "assignments", "experiment_marks", "exposures"} {
		if slices.Contains(left, coll) {
			t.Errorf("after erasure, cust-00 is still in %s (in %v)", coll, left)
		}
	}
	if reach, err := otherCampaigns.Reach(ctx, c.ID, 1); err != nil || reach != 4 {
		t.Errorf("reach after erasure = %d, %v; want 4", reach, err)
	}

	seen = measure("sweep erasing everyone", func() (err error) {
		n, err = db.DeleteLocationStatesBefore(ctx, now.Add(time.Hour))
		return err
	})
	if n != 9 {
		t.Errorf("sweep erased %d states, want the 9 left", n)
	}
	atMost("sweep erasing everyone", seen, 2+2*3+9+2*3)
	if st, err := db.FindLocationState(ctx, "cust-01"); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("state after the sweep = %+v, %v; want NotFound", st, err)
	}
	if ids, err := db.FindUsersPresentIn(ctx, []geo.Cell{mustCell(t, zone), mustCell(t, far)}); err != nil || len(ids) != 0 {
		t.Errorf("presence after the sweep = %v, %v; want none", ids, err)
	}
}

// TestSweepRelistsAndRepairs: a customer seen since the retention began is
// relisted at their state's time (read once, not every sweep), and one
// listed in the wrong area, as a move lost with a crash leaves them, is
// moved where their state is.
func TestSweepRelistsAndRepairs(t *testing.T) {
	var cmds commands
	db := newDBWith(t, store.Options{Monitor: cmds.monitor()})
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	here, there := geo.Point{Lat: 48.85, Lng: 2.35}, geo.Point{Lat: 48.95, Lng: 2.55}
	st := campaign.LocationState{UserID: "u1", Cell: mustCell(t, there), Point: there, At: now}
	if err := db.UpdateLocationState(ctx, st); err != nil {
		t.Fatal(err)
	}
	// Listed here a month ago: the move to there was lost.
	if err := db.MovePresence(ctx, []campaign.PresenceMove{{UserID: "u1", To: mustCell(t, here), At: now.Add(-31 * 24 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if n, err := db.DeleteLocationStatesBefore(ctx, now.Add(-30*24*time.Hour)); err != nil || n != 0 {
		t.Fatalf("sweep = %d, %v; want 0 (u1 was seen since)", n, err)
	}
	if ids, _ := db.FindUsersPresentIn(ctx, []geo.Cell{mustCell(t, here)}); len(ids) != 0 {
		t.Errorf("presence here = %v, want u1 moved away", ids)
	}
	if ids, _ := db.FindUsersPresentIn(ctx, []geo.Cell{mustCell(t, there)}); !slices.Equal(ids, []string{"u1"}) {
		t.Errorf("presence there = %v, want u1", ids)
	}
	cmds.take()
	if _, err := db.DeleteLocationStatesBefore(ctx, now.Add(-30*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, c := range cmds.seen {
		if c != "find" {
			t.Errorf("second sweep: %v; want reads of the list and documents only (u1 relisted at %v)", cmds.seen, now)
			break
		}
	}
}

// TestMigrateCampaignPaths lists the campaigns and location states an
// older version stored, once, beside those stored since.
func TestMigrateCampaignPaths(t *testing.T) {
	db, ctx := newDB(t), context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	old := campaign.Campaign{ID: "old", Name: "Old", Status: campaign.Active, CreatedAt: now.Add(-time.Hour), UpdatedAt: now.Add(-time.Hour)}
	if err := db.InsertCampaignUnlisted(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateCampaign(ctx, campaign.Campaign{ID: "new", Name: "New", Status: campaign.Draft, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	p := geo.Point{Lat: 48.85, Lng: 2.35}
	if err := db.InsertLocationStateUnlisted(ctx, campaign.LocationState{UserID: "u1", Cell: mustCell(t, p), Point: p, At: now}); err != nil {
		t.Fatal(err)
	}
	if n, err := db.MigrateCampaignPaths(ctx); err != nil || n != 2 {
		t.Fatalf("MigrateCampaignPaths = %d, %v; want 2 (a campaign, a state)", n, err)
	}
	if n, err := db.MigrateCampaignPaths(ctx); err != nil || n != 0 {
		t.Fatalf("second MigrateCampaignPaths = %d, %v; want 0 (done once)", n, err)
	}
	cs, err := db.FindCampaigns(ctx)
	if err != nil || len(cs) != 2 || cs[0].ID != "new" || cs[1].ID != "old" {
		t.Errorf("FindCampaigns = %v, %v; want new, old", cs, err)
	}
	if active, err := db.FindCampaigns(ctx, campaign.Active); err != nil || len(active) != 1 || active[0].ID != "old" {
		t.Errorf("FindCampaigns(active) = %v, %v; want old", active, err)
	}
	if ids, err := db.FindUsersPresentIn(ctx, []geo.Cell{mustCell(t, p)}); err != nil || !slices.Equal(ids, []string{"u1"}) {
		t.Errorf("FindUsersPresentIn = %v, %v; want u1", ids, err)
	}
	if n, err := db.DeleteLocationStatesBefore(ctx, now.Add(time.Minute)); err != nil || n != 1 {
		t.Errorf("sweep = %d, %v; want the older state erased", n, err)
	}
}

func mustCell(t testing.TB, p geo.Point) geo.Cell {
	t.Helper()
	c, err := geo.CellOf(p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
