package test

import (
	"net/http"
	"testing"
)

// TestRemovedRoleStopsAtOnce checks that a role an admin removes stops
// working for the access tokens already issued: at once on the instance
// that removed it (other instances follow within the 30 s session check),
// not when the token expires.
func TestRemovedRoleStopsAtOnce(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	m := s.withRoles(t, "Maud", "marketer")
	want(t, s.do(t, "GET", "/v1/campaigns", m.Token, nil), http.StatusOK)
	want(t, s.do(t, "POST", "/v1/admin/users/"+m.ID+"/roles", s.admin(t).Token, map[string]any{"roles": []string{}}), http.StatusOK)
	problemOf(t, s.do(t, "GET", "/v1/campaigns", m.Token, nil), http.StatusForbidden)
	// The token still signs its holder in, as the customer they remain.
	want(t, s.do(t, "GET", "/v1/me", m.Token, nil), http.StatusOK)
}
