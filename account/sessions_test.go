package account_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/account"
)

// sessionStore is a Store that knows sessions only, and counts reads.
type sessionStore struct {
	account.Store // unused methods panic
	mu            sync.Mutex
	sessions      map[string]account.Session
	reads         int
}

// FindUser answers every session's account, as a customer.
func (f *sessionStore) FindUser(_ context.Context, id string) (hyperlieu.User, error) {
	return hyperlieu.User{ID: id, Roles: []hyperlieu.Role{hyperlieu.RoleCustomer}}, nil
}

func (f *sessionStore) FindSession(_ context.Context, id string) (account.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	s, ok := f.sessions[id]
	if !ok {
		return account.Session{}, hyperlieu.Errorf(hyperlieu.NotFound, "session not found")
	}
	return s, nil
}

func TestSessionActive(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	st := &sessionStore{sessions: map[string]account.Session{
		"live":    {ID: "live", UserID: "u1"},
		"revoked": {ID: "revoked", UserID: "u1", RevokedAt: now.Add(-time.Minute)},
	}}
	svc := account.NewService(st, nil, account.Options{Now: func() time.Time { return now }},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx := context.Background()
	for _, tt := range []struct {
		id   string
		want bool
	}{{"live", true}, {"revoked", false}, {"erased", false}} {
		if got, err := svc.SessionActive(ctx, tt.id); err != nil || got != tt.want {
			t.Errorf("SessionActive(%s) = %v, %v; want %v", tt.id, got, err, tt.want)
		}
	}
	// A live session is read once per TTL, not per request.
	reads := st.reads
	for range 10 {
		_, _ = svc.SessionActive(ctx, "live")
	}
	if st.reads != reads {
		t.Errorf("10 checks of a cached live session read the store %d times, want 0", st.reads-reads)
	}
	// Erasing the user on this instance ends the cached session at once.
	delete(st.sessions, "live")
	if err := svc.EraseUser(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := svc.SessionActive(ctx, "live"); got {
		t.Errorf("SessionActive(live) after EraseUser = true, want false")
	}
	// Revoked elsewhere: seen after the cache's TTL.
	st.sessions["other"] = account.Session{ID: "other", UserID: "u2"}
	_, _ = svc.SessionActive(ctx, "other")
	st.sessions["other"] = account.Session{ID: "other", UserID: "u2", RevokedAt: now}
	now = now.Add(31 * time.Second)
	if got, _ := svc.SessionActive(ctx, "other"); got {
		t.Errorf("a session revoked elsewhere is still live after the cache TTL")
	}
}
