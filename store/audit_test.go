package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/fan"
)

// TestAuditTrail pages entries by _id range and erases a person from them.
func TestAuditTrail(t *testing.T) {
	t.Parallel()
	db, ctx := newDB(t), context.Background()
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for i := range 3 {
		e := hyperlieu.AuditEntry{ID: fmt.Sprintf("%013d-000000-x", i), At: at, ActorID: "m1", ActorRole: hyperlieu.RoleManager,
			Action: hyperlieu.AuditActivity, UserID: "u1", ObjectID: "checkin:e1:u1", Kind: "checkin"}
		if err := db.CreateAuditEntry(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	page, err := db.FindAuditEntriesAfter(ctx, "", 2)
	if err != nil || len(page) != 2 || page[0].ID != "0000000000000-000000-x" || !page[0].At.Equal(at) || page[0].Kind != "checkin" {
		t.Fatalf("first page = %+v, %v", page, err)
	}
	rest, err := db.FindAuditEntriesAfter(ctx, page[1].ID, 2)
	if err != nil || len(rest) != 1 {
		t.Fatalf("after %s = %+v, %v; want the last entry", page[1].ID, rest, err)
	}
	if err := db.EraseAuditUser(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if mine, err := db.FindAuditEntriesOf(ctx, "u1"); err != nil || len(mine) != 0 {
		t.Errorf("entries of u1 after erasure = %+v, %v", mine, err)
	}
	all, _ := db.FindAuditEntriesAfter(ctx, "", 10)
	if len(all) != 3 || all[0].UserID != "erased" || all[0].ObjectID != "checkin:e1:erased" || all[0].ActorID != "m1" {
		t.Errorf("after erasure = %+v, want 3 entries for erased, still by m1", all)
	}
}

// TestGestureClaims: a claim's id is taken once; the loser reads the winner.
func TestGestureClaims(t *testing.T) {
	t.Parallel()
	db, ctx := newDB(t), context.Background()
	won, err := db.CreateGestureClaim(ctx, fan.GestureClaim{ID: "points:m1:2026-12-02:1", Amount: 30, GestureID: "g1"})
	if err != nil || won.GestureID != "g1" {
		t.Fatalf("first claim = %+v, %v", won, err)
	}
	lost, err := db.CreateGestureClaim(ctx, fan.GestureClaim{ID: "points:m1:2026-12-02:1", Amount: 5, GestureID: "g2"})
	if err != nil || lost != won {
		t.Errorf("second claim of the id = %+v, %v; want the first claim %+v", lost, err, won)
	}
}
