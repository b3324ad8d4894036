package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/campaign"
	"github.com/hyperlieu/hyperlieu/geo"
)

func TestCampaignRoundTrip(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	sq := func(lat, lng, d float64) geo.Ring {
		return geo.Ring{{Lat: lat - d, Lng: lng - d}, {Lat: lat - d, Lng: lng + d}, {Lat: lat + d, Lng: lng + d}, {Lat: lat + d, Lng: lng - d}, {Lat: lat - d, Lng: lng - d}}
	}
	polys := []geo.Polygon{{sq(48.85, 2.35, 0.01), sq(48.85, 2.35, 0.002)}, {sq(48.9, 2.4, 0.003)}}
	c := campaign.Campaign{
		ID: "c1", Name: "Donut", Status: campaign.Active,
		Geofence: campaign.Geofence{Type: "MultiPolygon", Polygons: polys, Fence: geo.Fence{Polygons: polys}},
		Trigger:  campaign.Trigger{Kind: campaign.TriggerDwell, DwellSeconds: 120},
		Schedule: campaign.Schedule{StartsAt: now, Timezone: "Europe/Paris", Days: []time.Weekday{time.Monday}, Hours: &hyperlieu.ClockWindow{From: "08:00", To: "12:00"}},
		Audience: campaign.Audience{Segments: []hyperlieu.Segment{hyperlieu.SegmentDevoted}, Newcomers: true},
		Offer: campaign.OfferTemplate{Texts: []campaign.OfferText{{Locale: "fr", Formality: hyperlieu.Familiar, Title: "Salut", Body: "Un café ?"}},
			Value: "1 café", Validity: 48 * time.Hour, Budget: 10},
		Caps:      campaign.Caps{PerCustomer: 2, Cooldown: time.Hour},
		CreatedBy: "m", CreatedAt: now, UpdatedAt: now,
	}
	if err := db.CreateCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := db.FindCampaign(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(c, got); d != "" {
		t.Errorf("FindCampaign differs (-want +got):\n%s", d)
	}
	changed, top, err := db.FindCampaignsChangedAfter(ctx, 0)
	if err != nil || top != 1 || len(changed) != 1 || changed[0].ID != "c1" {
		t.Errorf("FindCampaignsChangedAfter(0) = %d campaigns, %d, %v; want c1, change 1", len(changed), top, err)
	}
	if all, err := db.FindCampaigns(ctx, campaign.Active); err != nil || len(all) != 1 {
		t.Errorf("FindCampaigns(active) = %d, %v; want c1", len(all), err)
	}
	if _, err := db.FindCampaign(ctx, "nope"); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("FindCampaign(nope) = %v, want NotFound", err)
	}
}

func TestClaimsAreUnique(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	now := time.Now().UTC()
	claims := []struct {
		name  string
		claim func() error
	}{
		{"trigger", func() error {
			return db.CreateTrigger(ctx, campaign.TriggerClaim{Key: campaign.TriggerKey("c", hyperlieu.User{ID: "u"}, 1), N: 1, At: now})
		}},
		{"redemption", func() error { return db.CreateRedemption(ctx, campaign.Redemption{OfferID: "o1", At: now}) }},
		{"budget slot", func() error { return db.CreateBudgetSlot(ctx, "c", 1, "o1") }},
		{"offer code", func() error {
			return db.CreateOffer(ctx, campaign.Offer{ID: hyperlieu.NewID(), Code: "ABCDEFGHJK0", UserID: "u", IssuedAt: now, ExpiresAt: now})
		}},
	}
	for _, c := range claims {
		if err := c.claim(); err != nil {
			t.Errorf("first %s claim: %v", c.name, err)
		}
		if err := c.claim(); hyperlieu.KindOf(err) != hyperlieu.Conflict {
			t.Errorf("second %s claim: %v, want Conflict", c.name, err)
		}
	}
	tr, err := db.FindTrigger(ctx, campaign.TriggerKey("c", hyperlieu.User{ID: "u"}, 1))
	if err != nil || tr.N != 1 {
		t.Errorf("FindTrigger = %+v, %v", tr, err)
	}
	o, err := db.FindOfferByCode(ctx, "ABCDEFGHJK0")
	if err != nil || o.RedeemedAt.IsZero() == false {
		t.Errorf("FindOfferByCode = %+v, %v; want the unredeemed offer", o, err)
	}
}

func TestLocationStateAndStats(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	p := geo.Point{Lat: 48.85, Lng: 2.35}
	cell, _ := geo.CellOf(p)
	st := campaign.LocationState{UserID: "u1", Cell: cell, Point: p, At: now, AccuracyM: 12,
		Inside: map[string]time.Time{"c1": now}, Dwelled: map[string]time.Time{"c1": now}, Issued: map[string]int{"c1": 2},
		Answers: map[string]time.Time{"report:u1:ab": now}}
	if err := db.UpdateLocationState(ctx, st); err != nil {
		t.Fatal(err)
	}
	got, err := db.FindLocationState(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	// What a request noted in passing (unexported) is not stored.
	if d := cmp.Diff(st, got, cmpopts.IgnoreUnexported(campaign.LocationState{})); d != "" {
		t.Errorf("FindLocationState differs (-want +got):\n%s", d)
	}
	if err := db.MovePresence(ctx, []campaign.PresenceMove{{UserID: "u1", To: cell, At: now}}); err != nil {
		t.Fatal(err)
	}
	in, err := db.FindUsersPresentIn(ctx, []geo.Cell{cell})
	if err != nil || len(in) != 1 {
		t.Errorf("FindUsersPresentIn = %v, %v; want u1", in, err)
	}
	for _, shard := range []string{"i1", "i2", "i1"} {
		if err := db.UpdateCampaignStats(ctx, "c1", shard, map[string]int64{"entered": 1, "suppressed.cap": 2}); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := db.FindCampaignStats(ctx, "c1")
	if err != nil || sum["entered"] != 3 || sum["suppressed.cap"] != 6 {
		t.Errorf("FindCampaignStats = %v, %v; want entered 3, suppressed.cap 6", sum, err)
	}
}

// TestCampaignUpdatesOfNothing: every update in the campaigns area that is
// not an upsert by design returns NotFound when nothing matched.
func TestCampaignUpdatesOfNothing(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	now := time.Now().UTC()
	updates := []struct {
		name   string
		update func() error
	}{
		{"UpdateCampaign", func() error { return db.UpdateCampaign(ctx, campaign.Campaign{ID: "nope", UpdatedAt: now}) }},
		{"UpdateBudgetSpent", func() error { return db.UpdateBudgetSpent(ctx, "nope", now) }},
		{"UpdateOfferRedeemed", func() error { return db.UpdateOfferRedeemed(ctx, campaign.Redemption{OfferID: "nope", At: now}) }},
	}
	for _, u := range updates {
		if err := u.update(); hyperlieu.KindOf(err) != hyperlieu.NotFound {
			t.Errorf("%s of nothing = %v, want NotFound", u.name, err)
		}
	}
	if top, err := db.CampaignChangeTop(ctx); err != nil || top != 0 {
		t.Errorf("CampaignChangeTop = %d, %v; want no change logged by the failed updates", top, err)
	}
}
