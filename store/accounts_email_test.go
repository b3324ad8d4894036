package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/store"
)

// TestSignInFindsTheEmailByKey: finding an account by email is two reads
// by _id (no scan of users on the embedded database), an email is taken
// once, erasure frees it, a key left by a crash does not block the email,
// and users stored before the keys existed get theirs once.
func TestSignInFindsTheEmailByKey(t *testing.T) {
	var cmds commands
	db := newDBWith(t, store.Options{Monitor: cmds.monitor()})
	ctx := context.Background()
	now := time.Now().UTC()
	user := func(id, email string) hyperlieu.User {
		return hyperlieu.User{ID: id, Email: email, DisplayName: id, CreatedAt: now, UpdatedAt: now}
	}
	for _, id := range []string{"a", "b", "c"} {
		if err := db.CreateUser(ctx, user(id, id+"@example.com")); err != nil {
			t.Fatal(err)
		}
	}
	cmds.take()
	u, err := db.FindUserByEmail(ctx, "b@example.com")
	if err != nil || u.ID != "b" {
		t.Fatalf("FindUserByEmail = %v, %v; want b", u.ID, err)
	}
	if seen, scan := cmds.take(); len(seen) != 2 || len(scan) > 0 {
		t.Errorf("sign-in lookup: %v, scans %v; want 2 finds by _id", seen, scan)
	}
	if _, err := db.FindUserByEmail(ctx, "nobody@example.com"); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("unknown email: %v, want NotFound", err)
	}
	if err := db.CreateUser(ctx, user("b2", "b@example.com")); hyperlieu.KindOf(err) != hyperlieu.Conflict {
		t.Errorf("a second account with b's email: %v, want Conflict", err)
	}
	if u, err := db.FindUserByEmail(ctx, "b@example.com"); err != nil || u.ID != "b" {
		t.Errorf("after the refused sign-up, b's email finds %v, %v; want b", u.ID, err)
	}

	// Erasure frees the email for a new account.
	if err := db.EraseUser(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindUserByEmail(ctx, "b@example.com"); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("erased account's email: %v, want NotFound", err)
	}
	if err := db.CreateUser(ctx, user("b3", "b@example.com")); err != nil {
		t.Fatalf("sign-up with an erased account's email: %v", err)
	}
	if u, err := db.FindUserByEmail(ctx, "b@example.com"); err != nil || u.ID != "b3" {
		t.Errorf("the new account's email finds %v, %v; want b3", u.ID, err)
	}

	// A key a crash left, naming a user never stored, is no account and
	// does not block the email.
	if err := db.KeyEmailTo(ctx, "d@example.com", "ghost"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindUserByEmail(ctx, "d@example.com"); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("a crash's key: %v, want NotFound", err)
	}
	if err := db.CreateUser(ctx, user("d", "d@example.com")); err != nil {
		t.Fatalf("sign-up over a crash's key: %v", err)
	}
	if u, err := db.FindUserByEmail(ctx, "d@example.com"); err != nil || u.ID != "d" {
		t.Errorf("after taking over the key: %v, %v; want d", u.ID, err)
	}

	// Users of an older version get their keys once.
	if err := db.InsertUserUnkeyed(ctx, "old", "old@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindUserByEmail(ctx, "old@example.com"); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Fatalf("before the migration: %v", err)
	}
	if err := db.MigrateKeys(ctx); err != nil {
		t.Fatal(err)
	}
	if u, err := db.FindUserByEmail(ctx, "old@example.com"); err != nil || u.ID != "old" {
		t.Errorf("after the migration: %v, %v; want old", u.ID, err)
	}
}
