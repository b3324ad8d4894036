package test

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
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

// Each manager has a daily budget of gesture points and offers, exact even
// when gestures race: claims are keyed inserts, not a counter rewritten.
func TestTrustGestureDailyBudgets(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"HYPERLIEU_GESTURE_POINTS_PER_DAY": "50", "HYPERLIEU_GESTURE_OFFERS_PER_DAY": "1"})
	admin := s.admin(t)
	shopID, manon := s.gestureShop(t, admin, "Marais")
	ana, bob := s.register(t, "Ana"), s.register(t, "Bob")
	gesture := func(m, to user, body map[string]any) response {
		body["userId"], body["message"] = to.ID, "Sorry about today"
		return s.do(t, "POST", "/v1/shops/"+shopID+"/gestures", m.Token, body)
	}
	refused := func(r response, left string) {
		t.Helper()
		p := problemOf(t, r, http.StatusTooManyRequests)
		if d, _ := p["detail"].(string); !strings.Contains(d, "budget") || !strings.Contains(d, left) {
			t.Errorf("detail = %q, want the budget and %q", d, left)
		}
		if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs < 1 || secs > 24*3600 {
			t.Errorf("Retry-After = %q, want the seconds until tomorrow", r.Header.Get("Retry-After"))
		}
	}

	// Five gestures of 20 points race for a budget of 50: two get through.
	statuses := make([]int, 5)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := map[string]any{"userId": ana.ID, "message": "Sorry", "points": 20}
			statuses[i] = s.do(inGoroutine{t}, "POST", "/v1/shops/"+shopID+"/gestures", manon.Token, body).Status
		}()
	}
	wg.Wait()
	created := 0
	for _, st := range statuses {
		switch st {
		case http.StatusCreated:
			created++
		case http.StatusTooManyRequests:
		default:
			t.Errorf("racing gesture answered %d", st)
		}
	}
	if created != 2 {
		t.Errorf("%d racing gestures of 20 points passed a budget of 50, want 2 (%v)", created, statuses)
	}
	if l := s.loyalty(t, ana); l.Balance != 40 {
		t.Errorf("balance = %d, want 40", l.Balance)
	}
	// 10 points are left: 20 is refused with what is left, 10 fits, then nothing.
	refused(gesture(manon, bob, map[string]any{"points": 20}), "10 left")
	want(t, gesture(manon, bob, map[string]any{"points": 10}), http.StatusCreated)
	refused(gesture(manon, bob, map[string]any{"points": 1}), "0 left")

	// One offer a day.
	want(t, gesture(manon, bob, map[string]any{"offer": map[string]any{"title": "Coffee"}}), http.StatusCreated)
	refused(gesture(manon, ana, map[string]any{"offer": map[string]any{"title": "Cake"}}), "0 left")

	// The budget is the manager's own: a colleague of the same shop has theirs.
	otto := s.withRoles(t, "Otto", "manager")
	want(t, s.do(t, "POST", "/v1/shops/"+shopID+"/managers", admin.Token, map[string]any{"userId": otto.ID}), http.StatusOK)
	want(t, gesture(otto, ana, map[string]any{"points": 50}), http.StatusCreated)
	if l := s.loyalty(t, bob); l.Balance != 10 {
		t.Errorf("Bob's balance = %d, want 10 (refused gestures gave nothing)", l.Balance)
	}
}
