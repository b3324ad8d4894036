package test

import (
	"net/http"
	"strings"
	"testing"
)

// gestureShop creates a shop run by a new manager and returns both.
func (s *server) gestureShop(t testing.TB, admin user, name string) (shopID string, manager user) {
	t.Helper()
	var sh struct{ ID string }
	want(t, s.do(t, "POST", "/v1/shops", admin.Token, map[string]any{
		"name": name, "address": "1 rue de Rivoli, 75001 Paris", "location": map[string]any{"lat": 48.8566, "lng": 2.3522}, "timezone": "Europe/Paris",
	}), http.StatusCreated).Decode(t, &sh)
	manager = s.withRoles(t, "Manager of "+name, "manager")
	want(t, s.do(t, "POST", "/v1/shops/"+sh.ID+"/managers", admin.Token, map[string]any{"userId": manager.ID}), http.StatusOK)
	return sh.ID, manager
}

func TestTrustNoGestureToOneself(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	admin := s.admin(t)
	shopID, manon := s.gestureShop(t, admin, "Marais")
	p := problemOf(t, s.do(t, "POST", "/v1/shops/"+shopID+"/gestures", manon.Token, map[string]any{"userId": manon.ID, "message": "For me", "points": 500}), http.StatusForbidden)
	if d, _ := p["detail"].(string); !strings.Contains(d, "oneself") {
		t.Errorf("detail = %q, want the reason (a gesture to oneself)", d)
	}
	if l := s.loyalty(t, manon); l.Balance != 0 {
		t.Errorf("the manager's balance = %d, want 0", l.Balance)
	}
	// An offer to oneself is refused too; a gesture to a customer still works.
	problemOf(t, s.do(t, "POST", "/v1/shops/"+shopID+"/gestures", manon.Token, map[string]any{"userId": manon.ID, "message": "For me", "offer": map[string]any{"title": "Free lunch"}}), http.StatusForbidden)
	ana := s.register(t, "Ana")
	want(t, s.do(t, "POST", "/v1/shops/"+shopID+"/gestures", manon.Token, map[string]any{"userId": ana.ID, "message": "Thanks", "points": 10}), http.StatusCreated)
}
