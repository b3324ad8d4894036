package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/fan"
	"github.com/hyperlieu/hyperlieu/shop"
)

func TestInvitationsRetriesCountOnce(t *testing.T) {
	t.Parallel()
	db, ctx := newDB(t), context.Background()
	at := time.Date(2030, 5, 1, 18, 0, 0, 0, time.UTC)
	inv := shop.Invitation{Code: "code1", EventID: "ev1", InviterID: "ana", CreatedAt: at}
	acc := shop.InviteAcceptance{InviteeID: "fred", Code: "code1", EventID: "ev1", InviterID: "ana", At: at}
	for range 2 { // a retry after a crash does every step again
		if err := db.CreateInvitation(ctx, inv); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateInviteAcceptance(ctx, acc); err != nil {
			t.Fatal(err)
		}
	}
	other := acc
	other.Code = "code2"
	if err := db.CreateInviteAcceptance(ctx, other); hyperlieu.KindOf(err) != hyperlieu.Conflict {
		t.Errorf("a second acceptance = %v, want Conflict", err)
	}
	got, err := db.FindInvitationsBy(ctx, "ana")
	if err != nil || len(got) != 1 || len(got[0].Accepted) != 1 || got[0].Accepted[0] != "fred" {
		t.Fatalf("FindInvitationsBy = %+v, %v; want one invitation accepted by fred", got, err)
	}
	c, err := db.FindInvitationCounts(ctx, "ev1")
	if err != nil || len(c.Inviters) != 1 || len(c.Invitees) != 1 {
		t.Fatalf("counts = %+v, %v; want one of each", c, err)
	}
	for range 2 { // erasing twice counts once
		if err := db.DeleteInvitee(ctx, acc, true); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteInvitation(ctx, got[0]); err != nil {
			t.Fatal(err)
		}
	}
	c, _ = db.FindInvitationCounts(ctx, "ev1")
	if len(c.Inviters)+len(c.Invitees) != 0 || c.ErasedInviters != 1 || c.ErasedInvitees != 1 || c.ErasedCheckedIn != 1 {
		t.Errorf("counts after erasure = %+v, want only erased ones, once each", c)
	}
	if got, _ := db.FindInvitationsBy(ctx, "ana"); len(got) != 0 {
		t.Errorf("invitations after erasure = %+v", got)
	}
}

func TestFeedKeysRenewAndRevoke(t *testing.T) {
	t.Parallel()
	db, ctx := newDB(t), context.Background()
	at := time.Date(2030, 5, 1, 18, 0, 0, 0, time.UTC)
	k1 := fan.FeedKey{Hash: "h1", UserID: "ana", Kind: fan.FeedCalendar, CreatedAt: at}
	k2 := fan.FeedKey{Hash: "h2", UserID: "ana", Kind: fan.FeedCalendar, CreatedAt: at.Add(time.Hour)}
	w := fan.FeedKey{Hash: "w1", UserID: "ana", Kind: fan.FeedWidget, CreatedAt: at}
	for _, k := range []fan.FeedKey{k1, k2, w} {
		if err := db.CreateFeedKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.FindFeedKey(ctx, "h1"); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("renewed key = %v, want NotFound", err)
	}
	if k, err := db.FindFeedKey(ctx, "h2"); err != nil || k.UserID != "ana" || k.Kind != fan.FeedCalendar {
		t.Errorf("current key = %+v, %v", k, err)
	}
	if ks, err := db.FindFeedKeysOf(ctx, "ana", fan.FeedKinds); err != nil || len(ks) != 2 {
		t.Errorf("FindFeedKeysOf = %+v, %v; want calendar and widget", ks, err)
	}
	for range 2 {
		if err := db.DeleteFeedKey(ctx, "ana", fan.FeedCalendar); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.FindFeedKey(ctx, "h2"); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("revoked key = %v, want NotFound", err)
	}
	if _, err := db.FindFeedKey(ctx, "w1"); err != nil {
		t.Errorf("the widget key after revoking the calendar = %v", err)
	}
}
