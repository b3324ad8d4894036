package campaign_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/campaign"
)

func armStats(t *testing.T, e *engine, id string) (campaign.Stats, map[string]campaign.ArmStats) {
	t.Helper()
	st, err := e.campaigns.Stats(context.Background(), id)
	if err != nil || st.Experiment == nil {
		t.Fatalf("Stats = %+v, %v; want experiment figures", st, err)
	}
	out := map[string]campaign.ArmStats{}
	for _, a := range st.Experiment.Arms {
		out[a.ID] = a
	}
	return st, out
}

// TestHoldoutGetsNothing: holdout customers are matched and counted as
// would-be triggers, with no offer and no notification; the others get
// their variant's offer, counted in their arm.
func TestHoldoutGetsNothing(t *testing.T) {
	n := &fakeNotifier{}
	e := newEngine(t, newMemStore(), &clock{t: t0}, n, nil)
	vs, hold := variantsOf("a", "b"), 30
	c := e.launch(t, campaign.Input{Variants: &vs, HoldoutPercent: &hold})
	want := map[string]int{}
	for i := range 40 {
		id := "u" + strconv.Itoa(i)
		e.customer(id, 10)
		e.walk(t, id, outside, t0.Add(-time.Minute))
		got := e.walk(t, id, zoneCenter, t0)
		arm := c.Experiment.Assign(campaign.Bucket(c.ID, id))
		want[arm]++
		switch {
		case arm == campaign.ArmHoldout && len(got) != 0:
			t.Errorf("holdout customer %s got %d offers", id, len(got))
		case arm != campaign.ArmHoldout && (len(got) != 1 || got[0].Arm != arm || got[0].Title != "Offer "+arm || got[0].Value != "-"+arm):
			t.Errorf("customer %s in arm %s got %+v, want that variant's offer", id, arm, got)
		}
	}
	for _, r := range n.sent {
		if campaign.Bucket(c.ID, r.UserID) < 0.3 {
			t.Errorf("holdout customer %s was notified", r.UserID)
		}
		if r.Data["arm"] == "" {
			t.Errorf("notification data %v has no arm: pushes and opens would count for none", r.Data)
		}
	}
	if want[campaign.ArmHoldout] == 0 || want["a"] == 0 || want["b"] == 0 {
		t.Fatalf("arms %v: the population does not cover every arm", want)
	}
	st, arms := armStats(t, e, c.ID)
	for arm, w := range want {
		a := arms[arm]
		if a.Customers != int64(w) || a.Entered != int64(w) || a.Triggered != int64(w) {
			t.Errorf("arm %s: customers %d, entered %d, triggered %d; want %d each", arm, a.Customers, a.Entered, a.Triggered, w)
		}
	}
	if treated := int64(40 - want[campaign.ArmHoldout]); st.Triggered != treated || st.Entered != 40 || int64(len(n.sent)) != treated {
		t.Errorf("campaign triggered %d, entered %d, notified %d; want %d, 40, %d", st.Triggered, st.Entered, len(n.sent), treated, treated)
	}
}

// TestReturnsAndLift: a check-in within the return window counts once per
// customer, later ones not at all, and each variant gets a lift over the
// holdout.
func TestReturnsAndLift(t *testing.T) {
	e := newEngine(t, newMemStore(), &clock{t: t0}, nil, nil)
	vs, hold := variantsOf("a"), 50
	c := e.launch(t, campaign.Input{Variants: &vs, HoldoutPercent: &hold})
	returns := campaign.Returns{Next: &fakeActivity{}, Campaigns: e.campaigns}
	checkIn := func(id string, at time.Time) {
		err := returns.RecordActivity(context.Background(), hyperlieu.Activity{UserID: id, Kind: hyperlieu.ActivityCheckIn, SourceKey: "checkin:" + id + at.String(), At: at})
		if err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]int64{}
	for i := range 40 {
		id := "u" + strconv.Itoa(i)
		e.customer(id, 10)
		e.walk(t, id, outside, t0.Add(-time.Minute))
		e.walk(t, id, zoneCenter, t0)
		arm := c.Experiment.Assign(campaign.Bucket(c.ID, id))
		if arm == "a" || i%4 == 0 { // treated customers come back more
			checkIn(id, t0.Add(24*time.Hour))
			checkIn(id, t0.Add(48*time.Hour)) // once per customer
			want[arm]++
		} else {
			checkIn(id, t0.Add(8*24*time.Hour)) // past the 7-day window
		}
	}
	_, arms := armStats(t, e, c.ID)
	a, h := arms["a"], arms[campaign.ArmHoldout]
	if a.Returned != want["a"] || h.Returned != want[campaign.ArmHoldout] {
		t.Fatalf("returned a %d, holdout %d; want %d, %d", a.Returned, h.Returned, want["a"], want[campaign.ArmHoldout])
	}
	l := a.ReturnedLift
	if l == nil || l.Diff <= 0 || l.Low > l.Diff || l.High < l.Diff || h.ReturnedLift != nil {
		t.Errorf("lift of a = %+v (holdout's %+v), want a positive difference inside its interval, none for the holdout", l, h.ReturnedLift)
	}
}

// TestStopThenWinner: after a variant is stopped new customers never get
// it; once a winner is declared, every treated customer gets the winner.
func TestStopThenWinner(t *testing.T) {
	e := newEngine(t, newMemStore(), &clock{t: t0}, nil, nil)
	vs := variantsOf("a", "b", "c")
	c := e.launch(t, campaign.Input{Variants: &vs, Caps: &campaign.Caps{}})
	ctx, admin := context.Background(), hyperlieu.Actor{UserID: "admin", Roles: []hyperlieu.Role{hyperlieu.RoleAdmin}}
	if _, err := e.campaigns.StopVariant(ctx, admin, c.ID, "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.campaigns.StopVariant(ctx, admin, c.ID, "zz"); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("stop an unknown variant: %v, want NotFound", err)
	}
	at := t0
	visit := func(id string) []campaign.Offer {
		at = at.Add(time.Minute)
		e.clock.Set(at)
		e.walk(t, id, outside, at)
		at = at.Add(time.Minute)
		e.clock.Set(at)
		return e.walk(t, id, zoneCenter, at)
	}
	for i := range 30 {
		id := "u" + strconv.Itoa(i)
		e.customer(id, 100)
		for _, o := range visit(id) {
			if o.Arm == "b" {
				t.Errorf("customer %s got stopped variant b", id)
			}
		}
	}
	if _, err := e.campaigns.DeclareWinner(ctx, admin, c.ID, "b"); hyperlieu.KindOf(err) != hyperlieu.Conflict {
		t.Errorf("a stopped variant wins: %v, want Conflict", err)
	}
	if _, err := e.campaigns.DeclareWinner(ctx, admin, c.ID, "c"); err != nil {
		t.Fatal(err)
	}
	got := 0
	for i := range 30 {
		for _, o := range visit("u" + strconv.Itoa(i)) {
			got++
			if o.Title != "Offer c" {
				t.Errorf("after the winner, customer got %q, want Offer c", o.Title)
			}
		}
	}
	if got != 30 {
		t.Errorf("offers after the winner = %d, want 30 (one per customer's new stay)", got)
	}
}
