package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/campaign"
	"github.com/hyperlieu/hyperlieu/store"
)

func walletOffer(user string, i int, at time.Time) campaign.Offer {
	return campaign.Offer{ID: fmt.Sprintf("%s-o%d", user, i), Code: fmt.Sprintf("C%s%04d", user, i), UserID: user, Title: "Coffee",
		IssuedAt: at, ExpiresAt: at.Add(time.Hour)}
}

// TestWalletAcrossInstances issues offers to one customer from two
// connections at once, as two instances would: every offer is in the
// wallet exactly once, newest first, and a redemption shows at once.
func TestWalletAcrossInstances(t *testing.T) {
	t.Parallel()
	dbs, _ := sharedDB(t, 2)
	db1, db2, ctx := dbs[0], dbs[1], context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	concurrently(t, 40, func(i int) error {
		return dbs[i%2].CreateOffer(ctx, walletOffer("u1", i, now.Add(time.Duration(i)*time.Second)))
	})
	if err := db2.CreateOffer(ctx, walletOffer("u2", 0, now)); err != nil {
		t.Fatal(err)
	}
	if err := db1.UpdateOfferRedeemed(ctx, campaign.Redemption{OfferID: "u1-o7", ShopID: "s1", At: now}); err != nil {
		t.Fatal(err)
	}
	for _, db := range []*store.DB{db1, db2} {
		w, err := db.FindOffersOf(ctx, "u1")
		if err != nil {
			t.Fatal(err)
		}
		if len(w) != 40 {
			t.Fatalf("wallet has %d offers, want 40", len(w))
		}
		for i, o := range w {
			if want := fmt.Sprintf("u1-o%d", 39-i); o.ID != want {
				t.Fatalf("wallet[%d] = %s, want %s (newest first, each once)", i, o.ID, want)
			}
			if redeemed := o.ID == "u1-o7"; redeemed != !o.RedeemedAt.IsZero() {
				t.Errorf("offer %s redeemed at %v, want redeemed %v", o.ID, o.RedeemedAt, redeemed)
			}
		}
	}
}

// TestWalletCommands lists a wallet among many others' offers: two _id
// reads per offer held and two more (the head, one past it), no scan.
func TestWalletCommands(t *testing.T) {
	t.Parallel()
	var cmds commands
	db := newDBWith(t, store.Options{Monitor: cmds.monitor()})
	ctx := context.Background()
	now := time.Now().UTC()
	for u := range 10 {
		for i := range 5 {
			if err := db.CreateOffer(ctx, walletOffer(fmt.Sprintf("u%d", u), i, now)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.CreateOffer(ctx, walletOffer("me", 0, now)); err != nil {
		t.Fatal(err)
	}
	cmds.take()
	if err := db.CreateOffer(ctx, walletOffer("me", 1, now)); err != nil {
		t.Fatal(err)
	}
	// Code, wallet entry, head, offer: this instance knows the last number.
	if seen, scan := cmds.take(); len(seen) != 4 || len(scan) > 0 {
		t.Errorf("CreateOffer: commands %v, scans %v; want 4, none", seen, scan)
	}
	w, err := db.FindOffersOf(ctx, "me")
	if err != nil || len(w) != 2 {
		t.Fatalf("FindOffersOf = %v, %v; want 2 offers", w, err)
	}
	if seen, scan := cmds.take(); len(seen) != 2+2*2 || len(scan) > 0 {
		t.Errorf("wallet of 2: commands %v, scans %v; want 6, none", seen, scan)
	}
}

// TestMigrateLists lists offers stored before wallets were lists, beside
// one listed since, once; erasure then empties the wallet and frees the
// codes, and an offer issued after it is listed again.
func TestMigrateLists(t *testing.T) {
	t.Parallel()
	db, ctx := newDB(t), context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	old := []campaign.Offer{walletOffer("u1", 0, now.Add(-3*time.Hour)), walletOffer("u1", 1, now.Add(-2*time.Hour)), walletOffer("u2", 0, now)}
	if err := db.InsertOffers(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateOffer(ctx, walletOffer("u1", 2, now.Add(-time.Hour))); err != nil {
		t.Fatal(err)
	}
	if n, err := db.MigrateLists(ctx); err != nil || n != 3 {
		t.Fatalf("MigrateLists = %d, %v; want 3, nil", n, err)
	}
	if n, err := db.MigrateLists(ctx); err != nil || n != 0 {
		t.Fatalf("second MigrateLists = %d, %v; want 0, nil (done once)", n, err)
	}
	w, err := db.FindOffersOf(ctx, "u1")
	if err != nil || len(w) != 3 || w[0].ID != "u1-o2" || w[2].ID != "u1-o0" {
		t.Fatalf("wallet = %+v, %v; want u1-o2, u1-o1, u1-o0", w, err)
	}

	if err := db.DeleteLocationData(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if w, err := db.FindOffersOf(ctx, "u1"); err != nil || len(w) != 0 {
		t.Errorf("wallet after erasure = %v, %v; want empty", w, err)
	}
	if _, err := db.FindOfferByCode(ctx, walletOffer("u1", 2, now).Code); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("code after erasure: %v, want NotFound", err)
	}
	if err := db.CreateOffer(ctx, walletOffer("u1", 3, now)); err != nil {
		t.Fatal(err)
	}
	if w, err := db.FindOffersOf(ctx, "u1"); err != nil || len(w) != 1 {
		t.Errorf("wallet after erasure and a new offer = %v, %v; want it", w, err)
	}
	if w, err := db.FindOffersOf(ctx, "u2"); err != nil || len(w) != 1 {
		t.Errorf("u2's wallet = %v, %v; want their offer untouched", w, err)
	}
}

// concurrently runs f(0) … f(n-1) at once and fails t on any error.
func concurrently(t *testing.T, n int, f func(i int) error) {
	t.Helper()
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs <- f(i) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
