package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/campaign"
)

func TestExperimentRoundTrip(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	c := campaign.Campaign{ID: "c1", Name: "AB", Status: campaign.Draft, Trigger: campaign.Trigger{Kind: campaign.TriggerEnter},
		Schedule: campaign.Schedule{Timezone: "Europe/Paris"}, CreatedAt: now, UpdatedAt: now,
		Experiment: campaign.Experiment{
			Variants: []campaign.Variant{
				{ID: "a", Weight: 1, Value: "-10%", Validity: 24 * time.Hour, Texts: []campaign.OfferText{{Locale: "en", Formality: hyperlieu.Formal, Title: "A"}}},
				{ID: "b", Weight: 3, Validity: time.Hour, StoppedAt: now, Texts: []campaign.OfferText{{Locale: "fr", Formality: hyperlieu.Familiar, Title: "B"}}},
			},
			HoldoutPercent: 20, ReturnDays: 7,
		}}
	if err := db.CreateCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	c.Experiment.WinnerID, c.Experiment.DecidedAt = "a", now
	if err := db.UpdateCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := db.FindCampaign(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(c.Experiment, got.Experiment); d != "" {
		t.Errorf("experiment differs (-want +got):\n%s", d)
	}
}

// TestAssignmentFirstWins: the first assignment is kept, whoever inserts
// next; a customer's exposures and marks go with their erasure.
func TestAssignmentFirstWins(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	// Customers are assigned in campaigns that exist: erasure finds their
	// keys through the campaigns' list.
	for _, id := range []string{"c1", "c2"} {
		if err := db.CreateCampaign(ctx, campaign.Campaign{ID: id, Status: campaign.Active, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.FindAssignment(ctx, "c1", "u1"); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Fatalf("FindAssignment before any = %v, want NotFound", err)
	}
	if err := db.CreateAssignment(ctx, campaign.Assignment{CampaignID: "c1", UserID: "u1", Arm: "a", At: now}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateAssignment(ctx, campaign.Assignment{CampaignID: "c1", UserID: "u1", Arm: "holdout", At: now}); hyperlieu.KindOf(err) != hyperlieu.Conflict {
		t.Errorf("second CreateAssignment = %v, want Conflict", err)
	}
	a, err := db.FindAssignment(ctx, "c1", "u1")
	if err != nil || a.Arm != "a" || !a.At.Equal(now) {
		t.Errorf("FindAssignment = %+v, %v; want arm a", a, err)
	}
	for _, id := range []string{"c1", "c2"} {
		if err := db.UpdateExposure(ctx, "u1", id, campaign.Exposure{Arm: "a", At: now}); err != nil {
			t.Fatal(err)
		}
	}
	exps, err := db.FindExposures(ctx, "u1")
	if err != nil || len(exps) != 2 || exps["c2"].Arm != "a" || !exps["c2"].At.Equal(now) {
		t.Errorf("FindExposures = %v, %v; want c1 and c2", exps, err)
	}
	if exps, err := db.FindExposures(ctx, "nobody"); err != nil || len(exps) != 0 {
		t.Errorf("FindExposures(nobody) = %v, %v; want none", exps, err)
	}
	if err := db.CreateExperimentMark(ctx, "returned:c1:u1", "u1"); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateExperimentMark(ctx, "returned:c1:u1", "u1"); hyperlieu.KindOf(err) != hyperlieu.Conflict {
		t.Errorf("second mark = %v, want Conflict", err)
	}
	if err := db.DeleteLocationData(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindAssignment(ctx, "c1", "u1"); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("assignment after erasure: %v, want NotFound", err)
	}
	if exps, _ := db.FindExposures(ctx, "u1"); len(exps) != 0 {
		t.Errorf("exposures after erasure = %v", exps)
	}
	if err := db.CreateExperimentMark(ctx, "returned:c1:u1", "u1"); err != nil {
		t.Errorf("mark after erasure: %v, want it gone", err)
	}
}
