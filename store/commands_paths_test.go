package store_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/campaign"
	"github.com/hyperlieu/hyperlieu/geo"
	"github.com/hyperlieu/hyperlieu/notify"
	"github.com/hyperlieu/hyperlieu/store"
)

// pathShops is a shop directory of one shop that everyone may manage.
type pathShops struct{}

func (pathShops) ShopPlace(context.Context, string) (geo.Point, string, error) {
	return geo.Point{Lat: 48.853, Lng: 2.349}, "Europe/Paris", nil
}
func (pathShops) ManagesShop(context.Context, string, string) (bool, error)    { return true, nil }
func (pathShops) MayManageShop(context.Context, hyperlieu.Actor, string) error { return nil }
func (pathShops) ShopName(context.Context, string) (string, error)             { return "Shop", nil }

type pathFans struct{}

func (pathFans) RecordActivity(context.Context, hyperlieu.Activity) error { return nil }
func (pathFans) SegmentOf(context.Context, hyperlieu.User, time.Time) (hyperlieu.Segment, error) {
	return hyperlieu.SegmentDevoted, nil
}

// TestRequestPathCommands runs the real location engine, wallet and till
// over the embedded database under the command monitor, and asserts what
// each request path costs (issue 15): a report that triggers nothing ≤ 2
// commands (1 when it only moves the customer within StateRefresh), one
// that fires an offer 18 (one less once this instance has stored a
// notification), a retry of it 2, a redemption 6, the wallet two per offer
// held plus two, an inbox page two plus at most six per notification read,
// none of them a collection scan. The admin, account and erasure paths are
// pinned in commands_admin_test.go.
func TestRequestPathCommands(t *testing.T) {
	var cmds commands
	db := newDBWith(t, store.Options{Monitor: cmds.monitor()})
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	campaigns := campaign.NewService(db, pathShops{}, campaign.Options{}, quiet)
	offers := campaign.NewOfferService(db, campaigns, pathShops{}, pathFans{}, campaign.OfferOptions{}, quiet)
	notes := notify.NewService(db, notify.Options{}, quiet)
	location := campaign.NewLocationService(db, campaigns, offers, notes, pathFans{}, campaign.LocationOptions{UserCacheTTL: time.Hour}, quiet)

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
	// Customers with some history, so that a scan would have something to
	// decode; each has a device, as the load generator's do.
	now := time.Now().UTC()
	for i := range 20 {
		u := hyperlieu.User{ID: fmt.Sprintf("u%d", i), Email: fmt.Sprintf("u%d@example.com", i), CreatedAt: now.Add(-time.Hour)}
		u.Prefs.LocationConsent, u.Prefs.MaxNotificationsPerDay = true, 5
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	report := func(what string, p geo.Point, at time.Time, want int) campaign.ReportResult {
		t.Helper()
		cmds.take()
		reports := []campaign.LocationReport{{Point: p, AccuracyM: 10, RecordedAt: at}}
		key, _ := campaign.ReportKey("", reports)
		var res campaign.ReportResult
		_, err := location.ReportOnce(ctx, "u1", key, reports, false, func(r campaign.ReportResult) ([]byte, error) {
			res = r
			return []byte("answer"), nil
		})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		seen, scan := cmds.take()
		t.Logf("%s: %d commands %v", what, len(seen), seen)
		if len(seen) > want || len(scan) > 0 {
			t.Errorf("%s: %d commands %v, scans %v; want ≤ %d, none", what, len(seen), seen, scan, want)
		}
		return res
	}
	away := geo.Point{Lat: 48.86, Lng: 2.36}
	report("first report (the user is read once, then cached)", away, now.Add(-3*time.Minute), 3)
	report("report that triggers nothing", away, now.Add(-2*time.Minute), 2)
	// Entering: state, stay, trigger slot, contact slot, code, wallet head
	// (read: this instance's first offer to u1), entry and head, offer,
	// Notify's user and dedup, inbox head and everyone's (read, likewise:
	// the admins' list), entries and heads, queue entry and notification,
	// the answer for a retry, state. Counters are written by
	// campaigns.Run, once a poll.
	res := report("report that fires one offer", zone, now.Add(-time.Minute), 18)
	if len(res.Triggered) != 1 {
		t.Fatalf("entering triggered %v, want one offer", res.Triggered)
	}
	report("retry of the report that fired", zone, now.Add(-time.Minute), 2)
	report("report inside, triggering nothing", zone, now, 2)
	// A report that only moves the customer, within StateRefresh (30 s) of
	// the stored one, is remembered, not written: one read.
	near := geo.Point{Lat: zone.Lat + 0.00005, Lng: zone.Lng}
	report("report 5 s later that only moves the customer", near, now.Add(5*time.Second), 1)
	report("another, 20 s later", zone, now.Add(20*time.Second), 1)
	report("one 31 s after the stored position: written", near, now.Add(31*time.Second), 2)

	// Redemption at the till: code, offer, redemption claim, campaign, the
	// claim, the mark on the offer (activity is the fans' area, faked here).
	cmds.take()
	if _, err := offers.Redeem(ctx, admin, "shop1", res.Triggered[0].Code); err != nil {
		t.Fatal(err)
	}
	seen, scan := cmds.take()
	t.Logf("redemption: %d commands %v", len(seen), seen)
	if len(seen) > 6 || len(scan) > 0 {
		t.Errorf("redemption: %d commands %v, scans %v; want ≤ 6, none", len(seen), seen, scan)
	}

	// The wallet: its head, one read past it, then the entry and the offer
	// of each offer held; the redemption shows.
	w, err := offers.Wallet(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	seen, scan = cmds.take()
	t.Logf("wallet: %d commands %v", len(seen), seen)
	if len(w) != 1 || w[0].State(time.Now()) != campaign.OfferRedeemed {
		t.Errorf("wallet = %+v, want the one offer, redeemed", w)
	}
	if len(seen) != 2+2*len(w) || len(scan) > 0 {
		t.Errorf("wallet: %d commands %v, scans %v; want %d, none", len(seen), seen, scan, 2+2*len(w))
	}

	// The inbox: its head, one read past it, then per notification its
	// entry, itself, its outcome or queue entry and claim, and its open.
	// (The customer's page filters on the outbox's state: the same reads.)
	if _, err := notes.Inbox(ctx, "u1", "", 20); err != nil {
		t.Fatal(err)
	}
	if _, scan = cmds.take(); len(scan) > 0 {
		t.Errorf("inbox: scans %v, want none", scan)
	}
	ns, err := db.FindNotificationPage(ctx, notify.Query{UserID: "u1", Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	seen, scan = cmds.take()
	t.Logf("inbox: %d commands %v", len(seen), seen)
	if len(ns) != 1 || len(seen) > 2+6*len(ns) || len(scan) > 0 {
		t.Errorf("inbox: %d notifications, %d commands %v, scans %v; want 1, ≤ %d, none", len(ns), len(seen), seen, scan, 2+6*len(ns))
	}
}
