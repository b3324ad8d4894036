package test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// Sign-up and token refresh are throttled like sign-in: per client address,
// and per session for refreshes, with a 429 problem that says when to retry.
func TestTrustSignupAndRefreshThrottled(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{
		"HYPERLIEU_SIGNUPS_PER_ADDR":          "3",
		"HYPERLIEU_REFRESHES_PER_SESSION":     "2",
		"HYPERLIEU_REFRESH_FAILURES_PER_ADDR": "3",
	})
	throttled := func(r response) {
		t.Helper()
		p := problemOf(t, r, http.StatusTooManyRequests)
		if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs < 1 {
			t.Errorf("Retry-After = %q, want a number of seconds", r.Header.Get("Retry-After"))
		}
		if p["detail"] == "" {
			t.Errorf("429 without a detail: %v", p)
		}
	}

	// A bad request does not count; a taken email does (it tells who has an account).
	problemOf(t, s.do(t, "POST", "/v1/auth/register", "", map[string]any{"email": "not an email", "password": "correct horse battery", "displayName": "X"}), http.StatusUnprocessableEntity)
	ana := s.register(t, "Ana")
	problemOf(t, s.do(t, "POST", "/v1/auth/register", "", map[string]any{"email": ana.Email, "password": "correct horse battery", "displayName": "Ana"}), http.StatusConflict)
	bob := s.register(t, "Bob")
	throttled(s.do(t, "POST", "/v1/auth/register", "", map[string]any{"email": "carl-throttle@e2e.test", "password": "correct horse battery", "displayName": "Carl"}))
	// Signing in is not signing up: Ana still gets in.
	s.login(t, ana.Email, "correct horse battery")

	// One session refreshes twice, then waits; the token refused is not used up.
	refresh := func(tok string) response {
		return s.do(t, "POST", "/v1/auth/refresh", "", map[string]any{"refreshToken": tok})
	}
	tok := bob.Refresh
	for range 2 {
		tok = authUser(t, want(t, refresh(tok), http.StatusOK)).Refresh
	}
	throttled(refresh(tok))
	// Another session of another account is not held back by Bob's.
	authUser(t, want(t, refresh(ana.Refresh), http.StatusOK))

	// Guessing refresh tokens from one address: 401 three times, then 429.
	for range 3 {
		problemOf(t, refresh("guessed-token"), http.StatusUnauthorized)
	}
	throttled(refresh("guessed-token"))

	// Operators see each throttle in the metrics.
	m := string(want(t, s.do(t, "GET", "/metrics", "", nil), http.StatusOK).Body)
	for _, series := range []string{
		`hyperlieu_auth_throttled_total{action="signup",by="address"} 1`,
		`hyperlieu_auth_throttled_total{action="refresh",by="session"} 1`,
		`hyperlieu_auth_throttled_total{action="refresh",by="address"} 1`,
	} {
		if !strings.Contains(m, series) {
			t.Errorf("/metrics lacks %s:\n%s", series, grepLines(m, "auth_throttled"))
		}
	}
}
