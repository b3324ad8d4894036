package store_test

import (
	"context"
	"testing"

	"github.com/hyperlieu/hyperlieu/store"
)

// TestCampaignStatsReadByID: a campaign's stats are the sum of each
// instance's shard, found through the campaign's list of shards by _id (no
// campaignId query, which decoded every shard of every campaign on the
// embedded database); shards of an older version are listed once.
func TestCampaignStatsReadByID(t *testing.T) {
	dbs, _ := sharedDB(t, 2)
	ctx := context.Background()
	for i, db := range dbs {
		for range 2 { // the second count writes the listed shard only
			if err := db.UpdateCampaignStats(ctx, "c1", []string{"i1", "i2"}[i], map[string]int64{"entered": 1, "suppressed.cap": 2}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := dbs[0].UpdateCampaignStats(ctx, "c2", "i1", map[string]int64{"entered": 100}); err != nil {
		t.Fatal(err)
	}
	var cmds commands
	watched, err := store.Open(ctx, uri, dbs[0].Name(), store.Options{Monitor: cmds.monitor()}.ForEmbedded())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = watched.Close(ctx) })
	cmds.take()
	got, err := watched.FindCampaignStats(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if got["entered"] != 4 || got["suppressed.cap"] != 8 {
		t.Errorf("stats of c1 = %v, want entered 4, suppressed.cap 8 (two instances, two counts each)", got)
	}
	if seen, scan := cmds.take(); len(scan) > 0 {
		t.Errorf("stats read: commands %v, scans %v; want none", seen, scan)
	}

	if err := watched.InsertStatShardUnlisted(ctx, "c1", "old", map[string]int64{"entered": 10}); err != nil {
		t.Fatal(err)
	}
	if err := watched.MigrateKeys(ctx); err != nil {
		t.Fatal(err)
	}
	if err := watched.MigrateKeys(ctx); err != nil { // once is once
		t.Fatal(err)
	}
	if got, err := watched.FindCampaignStats(ctx, "c1"); err != nil || got["entered"] != 14 {
		t.Errorf("after listing an older shard, stats of c1 = %v, %v; want entered 14", got, err)
	}
}
