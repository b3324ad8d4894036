package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/account"
)

func TestUsers(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	u := hyperlieu.User{
		ID: hyperlieu.NewID(), Email: "ana@example.com", DisplayName: "Ana", PasswordHash: "h",
		Roles: []hyperlieu.Role{hyperlieu.RoleCustomer}, Prefs: hyperlieu.DefaultPreferences("fr", "Europe/Paris"),
		CreatedAt: now, UpdatedAt: now, ClaimKey: hyperlieu.NewClaimKey(),
	}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	dup := u
	dup.ID = hyperlieu.NewID()
	if err := db.CreateUser(ctx, dup); hyperlieu.KindOf(err) != hyperlieu.Conflict {
		t.Errorf("CreateUser(same email) = %v, want Conflict", err)
	}
	got, err := db.FindUserByEmail(ctx, "ana@example.com")
	if err != nil {
		t.Fatalf("FindUserByEmail: %v", err)
	}
	if diff := cmp.Diff(u, got); diff != "" {
		t.Errorf("FindUserByEmail mismatch (-want +got):\n%s", diff)
	}
	u.Prefs.QuietHours = nil
	u.Roles = append(u.Roles, hyperlieu.RoleAdmin)
	if err := db.UpdateUser(ctx, u); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	if got, _ := db.FindUser(ctx, u.ID); !cmp.Equal(u, got) {
		t.Errorf("FindUser after update = %+v, want %+v", got, u)
	}
	if _, err := db.FindUser(ctx, "nobody"); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("FindUser(nobody) = %v, want NotFound", err)
	}
	if err := db.UpdateUser(ctx, hyperlieu.User{ID: "nobody"}); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("UpdateUser(nobody) = %v, want NotFound", err)
	}
}

func TestUseRefreshTokenOnce(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := db.UpdateRefreshTokenUsed(ctx, "h1", time.Now())
			mu.Lock()
			defer mu.Unlock()
			switch hyperlieu.KindOf(err) {
			case hyperlieu.Conflict:
				conflicts++
			case hyperlieu.Internal:
				if err == nil {
					wins++
					return
				}
				t.Errorf("UpdateRefreshTokenUsed: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || conflicts != 9 {
		t.Errorf("10 concurrent uses: %d wins, %d conflicts; want 1 and 9", wins, conflicts)
	}
}

func TestSessions(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	s := account.Session{ID: "s1", UserID: "u1", CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	if err := db.CreateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	first := time.Now().UTC().Truncate(time.Millisecond)
	if err := db.UpdateSessionRevoked(ctx, "s1", first); err != nil {
		t.Fatal(err)
	}
	if err := db.UpdateSessionRevoked(ctx, "s1", first.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err := db.FindSession(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if !got.RevokedAt.Equal(first) {
		t.Errorf("RevokedAt = %v, want the first revocation %v", got.RevokedAt, first)
	}
}
