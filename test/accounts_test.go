package test

import (
	"net/http"
	"slices"
	"testing"
)

func TestRegisterLoginMe(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	u := s.register(t, "Ana")
	me := want(t, s.do(t, "GET", "/v1/me", u.Token, nil), http.StatusOK).JSON(t)
	if me["id"] != u.ID || me["formality"] != "formal" || me["locationConsent"] != false {
		t.Errorf("GET /v1/me = %v, want id %s, formal, no location consent", me, u.ID)
	}
	if _, ok := me["passwordHash"]; ok {
		t.Errorf("GET /v1/me leaks the password hash: %v", me)
	}
	p := problemOf(t, s.do(t, "POST", "/v1/auth/register", "", map[string]any{"email": " " + u.Email + " ", "password": "another long one", "displayName": "Ana"}), http.StatusConflict)
	_ = p
	p = problemOf(t, s.do(t, "POST", "/v1/auth/register", "", map[string]any{"email": "bad", "password": "short", "displayName": ""}), http.StatusUnprocessableEntity)
	if got := fields(p); !slices.Equal(got, []string{"email", "password", "displayName"}) {
		t.Errorf("fields = %v, want email, password, displayName", got)
	}
}
