package campaign_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/campaign"
	"github.com/hyperlieu/hyperlieu/geo"
)

func TestExitTriggerFiresAfterMinDwell(t *testing.T) {
	clk := &clock{t: t0}
	e := newEngine(t, newMemStore(), clk, nil, nil)
	c := e.launch(t, campaign.Input{Trigger: &campaign.Trigger{Kind: campaign.TriggerExit, MinDwellSeconds: 300}})
	e.customer("u1", 10)
	e.customer("u2", 10)
	steps := []struct {
		user string
		p    geo.Point
		at   time.Duration
		want int
	}{
		{"u1", zoneCenter, 0, 0},
		{"u1", zoneCenter, 4 * time.Minute, 0},
		{"u1", outside, 6 * time.Minute, 1}, // left after 6 minutes
		{"u1", outside, 7 * time.Minute, 0},
		{"u2", zoneCenter, 0, 0},
		{"u2", outside, 2 * time.Minute, 0}, // too early
	}
	for i, s := range steps {
		clk.Set(t0.Add(s.at))
		if got := e.walk(t, s.user, s.p, t0.Add(s.at)); len(got) != s.want {
			t.Errorf("step %d (%s at %v): offers = %d, want %d", i, s.user, s.at, len(got), s.want)
		}
	}
	st, _ := e.campaigns.Stats(context.Background(), c.ID)
	if st.Triggered != 1 || st.Entered != 2 {
		t.Errorf("stats = %+v, want 2 entered, 1 triggered", st)
	}
}

func TestExitTriggerValidation(t *testing.T) {
	e := newEngine(t, newMemStore(), &clock{t: t0}, nil, nil)
	admin := hyperlieu.Actor{UserID: "admin", Roles: []hyperlieu.Role{hyperlieu.RoleAdmin}}
	name := "x"
	_, err := e.campaigns.CreateCampaign(context.Background(), admin, campaign.Input{Name: &name,
		Trigger:  &campaign.Trigger{Kind: campaign.TriggerExit, MinDwellSeconds: -1},
		Geofence: &campaign.Geofence{Type: "circles", Circles: []geo.Circle{{Center: zoneCenter, RadiusM: 100}}},
		Offer:    &campaign.OfferTemplate{Texts: []campaign.OfferText{{Locale: "en", Formality: hyperlieu.Formal, Title: "A coffee"}}, Validity: time.Hour}})
	if !hasField(err, "trigger.minDwellSeconds") {
		t.Errorf("CreateCampaign(minDwellSeconds -1) = %v, want a problem naming trigger.minDwellSeconds", err)
	}
}

func hasField(err error, field string) bool {
	var e *hyperlieu.Error
	if !errors.As(err, &e) {
		return false
	}
	for _, f := range e.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}

type fakeLocator struct{ shops map[string]geo.Point }

func (f fakeLocator) ShopsWithin(_ context.Context, p geo.Point, radiusM float64) ([]string, error) {
	var out []string
	for id, at := range f.shops {
		if geo.Distance(p, at) <= radiusM {
			out = append(out, id)
		}
	}
	return out, nil
}

type visitLog struct {
	mu     sync.Mutex
	visits []hyperlieu.Visit
}

func (v *visitLog) RecordVisit(_ context.Context, x hyperlieu.Visit) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.visits = append(v.visits, x)
	return nil
}

func TestVisitDetectedOnExitAfterDwell(t *testing.T) {
	st, clk := newMemStore(), &clock{t: t0}
	e := newEngine(t, st, clk, nil, nil)
	log := &visitLog{}
	ls := campaign.NewLocationService(st, e.campaigns, e.offers, &fakeNotifier{}, fakeSegments(hyperlieu.SegmentDevoted), campaign.LocationOptions{
		Now: clk.Now, Shops: fakeLocator{map[string]geo.Point{"s1": zoneCenter}}, Visits: log, VisitRadiusM: 50, VisitMinDwell: 5 * time.Minute,
	}, discard)
	e.customer("u1", 10)
	near := geo.Point{Lat: zoneCenter.Lat + 0.0005, Lng: zoneCenter.Lng} // ~55 m: beyond the radius, within the exit margin
	for _, s := range []struct {
		p  geo.Point
		at time.Duration
	}{
		{zoneCenter, 0}, {near, 3 * time.Minute}, {zoneCenter, 6 * time.Minute}, {outside, 8 * time.Minute}, // one visit
		{zoneCenter, 20 * time.Minute}, {outside, 22 * time.Minute}, // too short
	} {
		clk.Set(t0.Add(s.at))
		if _, err := ls.Report(context.Background(), "u1", []campaign.LocationReport{{Point: s.p, AccuracyM: 10, RecordedAt: t0.Add(s.at)}}, false); err != nil {
			t.Fatal(err)
		}
	}
	if len(log.visits) != 1 {
		t.Fatalf("visits = %+v, want one", log.visits)
	}
	v := log.visits[0]
	if v.ShopID != "s1" || v.UserID != "u1" || v.Source != hyperlieu.VisitDetected || !v.At.Equal(t0) || !v.LeftAt.Equal(t0.Add(8*time.Minute)) || v.Key == "" {
		t.Errorf("visit = %+v, want u1 at s1 from t0, left 8 minutes later, keyed", v)
	}
}
