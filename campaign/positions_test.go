package campaign_test

import (
	"context"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu/campaign"
	"github.com/hyperlieu/hyperlieu/geo"
)

// TestMovesAreRememberedNotWritten: a report that only moves the customer
// within StateRefresh is not written, yet this instance judges the next
// report against it (stale and speed checks stay exact on one instance);
// entering a fence is written at once, so another instance sharing the
// database does not fire the same stay again; the stored position catches
// up once it is StateRefresh old; erasure forgets the remembered one.
func TestMovesAreRememberedNotWritten(t *testing.T) {
	st, clk := newMemStore(), &clock{t: t0}
	a, b := newEngine(t, st, clk, nil, nil), newEngine(t, st, clk, nil, nil)
	a.launch(t, campaign.Input{Caps: &campaign.Caps{PerCustomer: 5}})
	if err := b.campaigns.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.customer("u1", 10)
	stored := func() time.Time {
		s, err := st.FindLocationState(context.Background(), "u1")
		if err != nil {
			t.Fatal(err)
		}
		return s.At
	}
	// Just outside the 100 m fence, near enough never to look too fast.
	edge := geo.Point{Lat: zoneCenter.Lat, Lng: zoneCenter.Lng + 0.002}
	step := geo.Point{Lat: edge.Lat + 0.0001, Lng: edge.Lng}
	a.walk(t, "u1", edge, t0)
	a.walk(t, "u1", step, t0.Add(5*time.Second))
	if got := stored(); !got.Equal(t0) {
		t.Fatalf("a report that only moved the customer was written: stored at %v, want %v", got, t0)
	}
	// On this instance, a report older than the remembered one is stale.
	res, err := a.location.Report(context.Background(), "u1", []campaign.LocationReport{{Point: edge, AccuracyM: 10, RecordedAt: t0.Add(2 * time.Second)}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rejected) != 1 || res.Rejected[0].Reason != campaign.ReportStale {
		t.Errorf("a report older than the remembered one: rejected %+v, want stale", res.Rejected)
	}
	// Entering is written at once: the other instance sees the stay.
	if got := a.walk(t, "u1", zoneCenter, t0.Add(10*time.Second)); len(got) != 1 {
		t.Fatalf("entering issued %d offers, want 1", len(got))
	}
	if got := stored(); !got.Equal(t0.Add(10 * time.Second)) {
		t.Errorf("entering a fence was not written: stored at %v", got)
	}
	inside := geo.Point{Lat: zoneCenter.Lat + 0.0001, Lng: zoneCenter.Lng}
	if got := b.walk(t, "u1", inside, t0.Add(12*time.Second)); len(got) != 0 {
		t.Errorf("the other instance fired the same stay again: %d offers", len(got))
	}
	// Once the stored position is StateRefresh (30 s) old, a move is written.
	a.walk(t, "u1", zoneCenter, t0.Add(20*time.Second))
	if got := stored(); !got.Equal(t0.Add(10 * time.Second)) {
		t.Errorf("a move within 30 s of the stored one was written: stored at %v", got)
	}
	a.walk(t, "u1", inside, t0.Add(41*time.Second))
	if got := stored(); !got.Equal(t0.Add(41 * time.Second)) {
		t.Errorf("a move 31 s after the stored one was not written: stored at %v", got)
	}
	// Erasure forgets the remembered position too.
	a.walk(t, "u1", zoneCenter, t0.Add(45*time.Second))
	if err := a.location.EraseUser(context.Background(), "u1"); err != nil {
		t.Fatal(err)
	}
	export, err := a.location.ExportUser(context.Background(), "u1")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := export["lastLocation"]; ok {
		t.Errorf("after erasure the export still has a last location: %v", export["lastLocation"])
	}
}
