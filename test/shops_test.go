package test

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// paris is the Hôtel de Ville; the test shops sit at known offsets from it.
var paris = [2]float64{48.8566, 2.3522}

// offset returns the point d metres north and e metres east of p (flat
// approximation, good to millimetres at these distances).
func offset(p [2]float64, north, east float64) [2]float64 {
	const r = 6371008.8
	lat := p[0] + north/r*180/math.Pi
	lng := p[1] + east/(r*math.Cos(p[0]*math.Pi/180))*180/math.Pi
	return [2]float64{lat, lng}
}

// haversine mirrors geo.Distance, to check distances independently of the index.
func haversine(a, b [2]float64) float64 {
	const rad = math.Pi / 180
	sLat := math.Sin((b[0] - a[0]) * rad / 2)
	sLng := math.Sin((b[1] - a[1]) * rad / 2)
	h := sLat*sLat + math.Cos(a[0]*rad)*math.Cos(b[0]*rad)*sLng*sLng
	return 2 * 6371008.8 * math.Asin(math.Sqrt(h))
}

func (s *server) createShop(t testing.TB, token, name string, at [2]float64) string {
	t.Helper()
	r := want(t, s.do(t, "POST", "/v1/shops", token, map[string]any{
		"name": name, "address": "1 rue de Rivoli, Paris", "location": map[string]any{"lat": at[0], "lng": at[1]},
		"timezone": "Europe/Paris",
	}), http.StatusCreated).JSON(t)
	return r["id"].(string)
}

// managerOf returns a manager of the shop.
func (s *server) managerOf(t testing.TB, admin user, shopID, name string) user {
	t.Helper()
	m := s.withRoles(t, name, "manager")
	want(t, s.do(t, "POST", "/v1/shops/"+shopID+"/managers", admin.Token, map[string]any{"userId": m.ID}), http.StatusOK)
	return m
}

func TestShopsRolesAndBoundaries(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	admin := s.admin(t)
	a := s.createShop(t, admin.Token, "Shop A", paris)
	b := s.createShop(t, admin.Token, "Shop B", offset(paris, 500, 0))
	ma := s.managerOf(t, admin, a, "Manager A")
	cust := s.register(t, "Customer")
	plain := s.withRoles(t, "Unassigned", "manager")

	p := problemOf(t, s.do(t, "POST", "/v1/shops", admin.Token, map[string]any{
		"name": "", "address": "x", "location": map[string]any{"lat": 91, "lng": 2}, "timezone": "Mars/Olympus",
	}), http.StatusUnprocessableEntity)
	if got := fields(p); !slices.Equal(got, []string{"location.lat"}) { // the schema's bounds come first
		t.Errorf("fields = %v, want location.lat", got)
	}
	p = problemOf(t, s.do(t, "POST", "/v1/shops", admin.Token, map[string]any{
		"name": "", "address": "x", "location": map[string]any{"lat": 48, "lng": 2}, "timezone": "Mars/Olympus",
	}), http.StatusUnprocessableEntity)
	if got := fields(p); !slices.Equal(got, []string{"name", "timezone"}) {
		t.Errorf("fields = %v, want name, timezone", got)
	}
	p = problemOf(t, s.do(t, "POST", "/v1/shops", admin.Token, map[string]any{"name": "x", "address": "x", "location": map[string]any{"lat": 48}, "timezone": "Europe/Paris"}), http.StatusUnprocessableEntity)
	if got := fields(p); !slices.Equal(got, []string{"location.lng"}) {
		t.Errorf("fields = %v, want location.lng", got)
	}

	tests := []struct {
		name, method, path, token string
		body                      any
		status                    int
	}{
		{"customer creates shop", "POST", "/v1/shops", cust.Token, map[string]any{"name": "x"}, 403},
		{"manager creates shop", "POST", "/v1/shops", ma.Token, map[string]any{"name": "x"}, 403},
		{"manager patches own shop", "PATCH", "/v1/shops/" + a, ma.Token, map[string]any{"openingHours": "Mon-Sat 10-19"}, 200},
		{"manager patches other shop", "PATCH", "/v1/shops/" + b, ma.Token, map[string]any{"name": "mine"}, 403},
		{"unassigned manager patches", "PATCH", "/v1/shops/" + a, plain.Token, map[string]any{"name": "mine"}, 403},
		{"customer patches", "PATCH", "/v1/shops/" + a, cust.Token, map[string]any{"name": "mine"}, 403},
		{"manager adds manager", "POST", "/v1/shops/" + a + "/managers", ma.Token, map[string]any{"userId": cust.ID}, 403},
		{"customer cannot be manager", "POST", "/v1/shops/" + a + "/managers", admin.Token, map[string]any{"userId": cust.ID}, 409},
		{"unknown user", "POST", "/v1/shops/" + a + "/managers", admin.Token, map[string]any{"userId": "nobody"}, 404},
		{"manager creates event at other shop", "POST", "/v1/shops/" + b + "/events", ma.Token, eventBody("x", time.Hour, 5), 403},
		{"customer creates event", "POST", "/v1/shops/" + a + "/events", cust.Token, eventBody("x", time.Hour, 5), 403},
		{"manager deletes shop", "DELETE", "/v1/shops/" + a, ma.Token, nil, 403},
		{"unknown shop", "GET", "/v1/shops/nope", cust.Token, nil, 404},
		{"no token", "GET", "/v1/shops/" + a, "", nil, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(t, tt.method, tt.path, tt.token, tt.body)
			if r.Status != tt.status {
				t.Errorf("%s %s = %d, want %d: %s", tt.method, tt.path, r.Status, tt.status, r.Body)
			}
		})
	}

	// An event at B, then B's manager leaves: A's manager still cannot touch it.
	mb := s.managerOf(t, admin, b, "Manager B")
	ev := want(t, s.do(t, "POST", "/v1/shops/"+b+"/events", mb.Token, eventBody("B's launch", 2*time.Hour, 10)), http.StatusCreated).JSON(t)
	id := ev["id"].(string)
	for _, c := range []struct{ method, path string }{
		{"PATCH", "/v1/events/" + id}, {"POST", "/v1/events/" + id + "/cancel"},
		{"GET", "/v1/events/" + id + "/feedback"}, {"POST", "/v1/events/" + id + "/checkins"},
	} {
		problemOf(t, s.do(t, c.method, c.path, ma.Token, map[string]any{"reason": "x", "title": "y", "ticketCode": "z"}), http.StatusForbidden)
	}
	want(t, s.do(t, "DELETE", "/v1/shops/"+b+"/managers/"+mb.ID, admin.Token, nil), http.StatusNoContent)
	problemOf(t, s.do(t, "PATCH", "/v1/events/"+id, mb.Token, map[string]any{"title": "still mine?"}), http.StatusForbidden)

	// Deleting a shop keeps it and its events readable, and out of nearby search.
	want(t, s.do(t, "DELETE", "/v1/shops/"+b, admin.Token, nil), http.StatusNoContent)
	got := want(t, s.do(t, "GET", "/v1/shops/"+b, cust.Token, nil), http.StatusOK).JSON(t)
	if got["deletedAt"] == nil {
		t.Errorf("deleted shop = %v, want deletedAt", got)
	}
	want(t, s.do(t, "GET", "/v1/events/"+id, cust.Token, nil), http.StatusOK)
	near := want(t, s.do(t, "GET", fmt.Sprintf("/v1/nearby?lat=%v&lng=%v&radius=2000", paris[0], paris[1]), cust.Token, nil), http.StatusOK).JSON(t)
	for _, it := range near["items"].([]any) {
		if it.(map[string]any)["id"] == b {
			t.Errorf("deleted shop %s still in nearby results", b)
		}
	}
}

func TestShopsNearby(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	admin := s.admin(t)
	cust := s.register(t, "Walker")
	// Shops on a ring just inside and just outside 1000 m, in every direction,
	// and a few far away.
	type placed struct {
		id string
		at [2]float64
	}
	var shops []placed
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			angle := float64(i) * math.Pi / 12
			d := 999.0
			if i%2 == 1 {
				d = 1001
			}
			if i%6 == 5 {
				d = 40_000
			}
			at := offset(paris, d*math.Cos(angle), d*math.Sin(angle))
			id := s.createShop(inGoroutine{t}, admin.Token, fmt.Sprintf("Ring %d", i), at)
			mu.Lock()
			shops = append(shops, placed{id, at})
			mu.Unlock()
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	for _, radius := range []float64{1000, 500, 45_000} {
		var wantIDs []string
		for _, sh := range shops {
			if haversine(paris, sh.at) <= radius {
				wantIDs = append(wantIDs, sh.id)
			}
		}
		var gotIDs []string
		prev := -1.0
		cursor := ""
		for pages := 0; pages < 20; pages++ {
			path := fmt.Sprintf("/v1/nearby?lat=%v&lng=%v&radius=%v&limit=5", paris[0], paris[1], radius)
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			var page struct {
				Items []struct {
					Kind, ID  string
					DistanceM float64
				}
				NextCursor string
			}
			want(t, s.do(t, "GET", path, cust.Token, nil), http.StatusOK).Decode(t, &page)
			for _, it := range page.Items {
				if it.DistanceM < prev || it.DistanceM > radius {
					t.Errorf("radius %v: item %s at %v m after %v m", radius, it.ID, it.DistanceM, prev)
				}
				prev = it.DistanceM
				gotIDs = append(gotIDs, it.ID)
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		slices.Sort(gotIDs)
		slices.Sort(wantIDs)
		if !slices.Equal(gotIDs, wantIDs) {
			t.Errorf("radius %v: got %d shops %v, want %d %v", radius, len(gotIDs), gotIDs, len(wantIDs), wantIDs)
		}
	}

	bad := []struct{ query, field string }{
		{"lat=91&lng=2", "lat"},
		{"lat=48&lng=181", "lng"},
		{"lat=NaN&lng=2", "lat"},
		{"lat=48", "lng"},
		{"", "lat"},
		{"lat=48&lng=2&radius=50001", "radius"},
		{"lat=48&lng=2&radius=-5", "radius"},
		{"lat=48&lng=2&radius=abc", "radius"},
		{"lat=48&lng=2&cursor=zzz", "cursor"},
	}
	for _, b := range bad {
		p := problemOf(t, s.do(t, "GET", "/v1/nearby?"+b.query, cust.Token, nil), http.StatusUnprocessableEntity)
		if !slices.Contains(fields(p), b.field) {
			t.Errorf("GET /v1/nearby?%s fields = %v, want %s", b.query, fields(p), b.field)
		}
	}
}
