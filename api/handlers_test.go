package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/account"
	"github.com/hyperlieu/hyperlieu/api"
	"github.com/hyperlieu/hyperlieu/token"
)

// accountStore is an in-memory account.Store: enough for the handlers'
// tests, which are about HTTP (status, problem body), not storage.
type accountStore struct {
	mu       sync.Mutex
	users    map[string]hyperlieu.User
	sessions map[string]account.Session
	tokens   map[string]account.RefreshToken
	used     map[string]bool
}

func newAccountStore() *accountStore {
	return &accountStore{users: map[string]hyperlieu.User{}, sessions: map[string]account.Session{},
		tokens: map[string]account.RefreshToken{}, used: map[string]bool{}}
}

func (m *accountStore) CreateUser(_ context.Context, u hyperlieu.User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.users {
		if o.Email == u.Email {
			return hyperlieu.Errorf(hyperlieu.Conflict, "email taken")
		}
	}
	m.users[u.ID] = u
	return nil
}

func (m *accountStore) FindUser(_ context.Context, id string) (hyperlieu.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if u, ok := m.users[id]; ok {
		return u, nil
	}
	return hyperlieu.User{}, hyperlieu.Errorf(hyperlieu.NotFound, "user not found")
}

// FindUsersBy ignores the filters: no test here lists users.
func (m *accountStore) FindUsersBy(_ context.Context, q account.UserQuery) (account.UserPage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []hyperlieu.User
	for _, u := range m.users {
		out = append(out, u)
	}
	return account.UserPage{Items: out[:min(len(out), q.Limit)]}, nil
}

func (m *accountStore) FindUserByEmail(_ context.Context, email string) (hyperlieu.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range m.users {
		if u.Email == email {
			return u, nil
		}
	}
	return hyperlieu.User{}, hyperlieu.Errorf(hyperlieu.NotFound, "user not found")
}

func (m *accountStore) UpdateUser(_ context.Context, u hyperlieu.User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.users[u.ID] = u
	return nil
}

func (m *accountStore) CreateSession(_ context.Context, s account.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions[s.ID] = s
	return nil
}

func (m *accountStore) FindSession(_ context.Context, id string) (account.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.sessions[id]; ok {
		return s, nil
	}
	return account.Session{}, hyperlieu.Errorf(hyperlieu.NotFound, "session not found")
}

func (m *accountStore) UpdateSessionRevoked(_ context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.sessions[id]
	s.RevokedAt = at
	m.sessions[id] = s
	return nil
}

func (m *accountStore) CreateRefreshToken(_ context.Context, t account.RefreshToken) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tokens[t.Hash] = t
	return nil
}

func (m *accountStore) FindRefreshToken(_ context.Context, hash string) (account.RefreshToken, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.tokens[hash]; ok {
		return t, nil
	}
	return account.RefreshToken{}, hyperlieu.Errorf(hyperlieu.NotFound, "token not found")
}

func (m *accountStore) UpdateRefreshTokenUsed(_ context.Context, hash string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.used[hash] {
		return hyperlieu.Errorf(hyperlieu.Conflict, "token used")
	}
	m.used[hash] = true
	return nil
}

// newTestServer returns the API over the real account use cases and the
// real token issuer, with an admin and a customer signed in.
func newTestServer(t testing.TB) (s *api.Server, admin, customer string) {
	t.Helper()
	pem, err := token.NewKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := token.ParseRing(pem)
	if err != nil {
		t.Fatal(err)
	}
	issuer := token.NewIssuer(ring, "hyperlieu", "hyperlieu", time.Hour, nil)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	accounts := account.NewService(newAccountStore(), issuer, account.Options{}, log)
	s = api.New(api.Services{Accounts: accounts}, api.Options{Verifier: issuer, Sessions: accounts, RequestTimeout: 5 * time.Second}, log)
	ctx := context.Background()
	if _, err := accounts.EnsureUser(ctx, "root@example.test", "a long admin password", "Root", hyperlieu.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	login := func(email, password string) string {
		a, err := accounts.Login(ctx, email, password, "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		return a.AccessToken
	}
	if _, err := accounts.Register(ctx, hyperlieu.Registration{Email: "cam@example.test", Password: "a long customer password", DisplayName: "Cam"}); err != nil {
		t.Fatal(err)
	}
	return s, login("root@example.test", "a long admin password"), login("cam@example.test", "a long customer password")
}

// TestHandlers drives the handlers in-process and checks each answer's
// status and, for errors, the problem document's fields.
func TestHandlers(t *testing.T) {
	s, admin, customer := newTestServer(t)
	tests := []struct {
		name, method, path, token, body string
		status                          int
		fields                          []string // problem errors[].field, for 422
	}{
		{"register", "POST", "/v1/auth/register", "", `{"email":"new@example.test","password":"long enough password","displayName":"New"}`, 201, nil},
		{"register twice", "POST", "/v1/auth/register", "", `{"email":"new@example.test","password":"long enough password","displayName":"New"}`, 409, nil},
		{"register, bad fields", "POST", "/v1/auth/register", "", `{"email":"nope","password":"short"}`, 422, []string{"email", "password", "displayName"}},
		{"register, wrong type", "POST", "/v1/auth/register", "", `{"email":42}`, 422, []string{"email"}},
		{"register, not JSON", "POST", "/v1/auth/register", "", `{"email":`, 400, nil},
		{"login, wrong password", "POST", "/v1/auth/login", "", `{"email":"cam@example.test","password":"wrong password!"}`, 401, nil},
		{"me, signed out", "GET", "/v1/me", "", "", 401, nil},
		{"me, bad token", "GET", "/v1/me", "not.a.token", "", 401, nil},
		{"me", "GET", "/v1/me", customer, "", 200, nil},
		// The schema (an enum) speaks first, then the use case (a time zone it does not know).
		{"me, bad preferences", "PATCH", "/v1/me", customer, `{"timezone":"Nowhere/City","locale":"xx"}`, 422, []string{"locale"}},
		{"me, bad time zone", "PATCH", "/v1/me", customer, `{"timezone":"Nowhere/City","locale":"fr"}`, 422, []string{"timezone"}},
		{"roles, as a customer", "POST", "/v1/admin/users/someone/roles", customer, `{"roles":["admin"]}`, 403, nil},
		// Validated by the use case now, not the handler: same answer.
		{"roles, missing", "POST", "/v1/admin/users/someone/roles", admin, `{}`, 422, []string{"roles"}},
		{"roles, unknown user", "POST", "/v1/admin/users/someone/roles", admin, `{"roles":["manager"]}`, 404, nil},
		{"unknown route", "GET", "/v1/nowhere", "", "", 404, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			res, err := s.App().Test(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.path, res.StatusCode, body, tt.status)
			}
			if tt.status < 400 {
				return
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
				t.Errorf("Content-Type = %q, want application/problem+json", ct)
			}
			var p struct {
				Status int
				Errors []struct{ Field string }
			}
			if err := json.Unmarshal(body, &p); err != nil || p.Status != tt.status {
				t.Fatalf("body = %s, want a problem document with status %d", body, tt.status)
			}
			var fields []string
			for _, e := range p.Errors {
				fields = append(fields, e.Field)
			}
			for _, f := range tt.fields {
				if !slices.Contains(fields, f) {
					t.Errorf("problem fields = %v, want %s among them", fields, f)
				}
			}
		})
	}
}
