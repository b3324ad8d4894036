package test

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The zone of these tests: a square of about 300 m around Notre-Dame's
// parvis, in Paris; in is its centre and out is 1 km east.
var (
	in  = [2]float64{48.8530, 2.3490} // lat, lng
	out = [2]float64{48.8530, 2.3626}
)

// square returns a GeoJSON Polygon of side 2*halfM metres around c.
func square(c [2]float64, halfM float64) map[string]any {
	dLat := halfM / 111_320
	dLng := halfM / (111_320 * math.Cos(c[0]*math.Pi/180))
	ring := [][]float64{
		{c[1] - dLng, c[0] - dLat}, {c[1] + dLng, c[0] - dLat}, {c[1] + dLng, c[0] + dLat},
		{c[1] - dLng, c[0] + dLat}, {c[1] - dLng, c[0] - dLat},
	}
	return map[string]any{"type": "Polygon", "coordinates": [][][]float64{ring}}
}

// campaign returns a valid campaign body; over replaces top-level fields.
func campaign(name string, over map[string]any) map[string]any {
	c := map[string]any{
		"name":     name,
		"geofence": square(in, 150),
		"trigger":  map[string]any{"kind": "enter"},
		"audience": map[string]any{"newcomers": true},
		"offer": map[string]any{
			"texts": []map[string]any{
				{"locale": "en", "formality": "formal", "title": name + " offer", "body": "Show this code at the till."},
				{"locale": "fr", "formality": "familiar", "title": name + " : une offre pour toi", "body": "Montre ce code en caisse."},
			},
			"value": "-20%", "validityHours": 24,
		},
		"caps": map[string]any{"perCustomer": 1},
	}
	for k, v := range over {
		c[k] = v
	}
	return c
}

// launch creates and activates a campaign and returns its id.
func (s *server) launch(t testing.TB, token string, body map[string]any) string {
	t.Helper()
	id := want(t, s.do(t, "POST", "/v1/campaigns", token, body), http.StatusCreated).JSON(t)["id"].(string)
	want(t, s.do(t, "POST", "/v1/campaigns/"+id+"/activate", token, nil), http.StatusOK)
	return id
}

// consenting registers a customer who shares their location and accepts up
// to 20 messages a day (so that only the tests about it meet the daily cap).
func (s *server) consenting(t testing.TB, name string) user {
	t.Helper()
	u := s.register(t, name)
	// No quiet hours: the tests run at any hour, and a default 21:00–08:00
	// window would suppress pushes only at night.
	want(t, s.do(t, "PATCH", "/v1/me", u.Token, map[string]any{"locationConsent": true, "maxNotificationsPerDay": 20, "quietHours": nil}), http.StatusOK)
	return u
}

type offerJSON struct {
	ID, Code, CampaignID, Title, State, ShopID string
}

type locationAnswer struct {
	Cell      string
	Accepted  int
	Triggered []offerJSON
	Rejected  []struct {
		Index         int
		Field, Reason string
	}
	Ignored []struct {
		Index         int
		Field, Reason string
	}
	Nearby struct {
		Offers []struct {
			CampaignID string
			DistanceM  float64
		}
	}
}

// report posts one location report.
func (s *server) report(t testing.TB, u user, p [2]float64, at time.Time, accuracy float64) locationAnswer {
	t.Helper()
	var a locationAnswer
	want(t, s.do(t, "POST", "/v1/me/location", u.Token, map[string]any{
		"lat": p[0], "lng": p[1], "accuracyM": accuracy, "recordedAt": at.UTC().Format(time.RFC3339Nano),
	}), http.StatusOK).Decode(t, &a)
	return a
}

func (s *server) wallet(t testing.TB, u user) []offerJSON {
	t.Helper()
	var os []offerJSON
	want(t, s.do(t, "GET", "/v1/me/offers", u.Token, nil), http.StatusOK).Decode(t, &os)
	return os
}

type statsJSON struct {
	Entered, Triggered, Pushed, Opened, Redeemed int
	Suppressed                                   map[string]int
}

func (s *server) stats(t testing.TB, token, id string) statsJSON {
	t.Helper()
	var st statsJSON
	want(t, s.do(t, "GET", "/v1/campaigns/"+id+"/stats", token, nil), http.StatusOK).Decode(t, &st)
	return st
}

func TestCampaignValidationAndLifecycle(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"HYPERLIEU_FENCE_MAX_AREA_KM2": "50"})
	m := s.withRoles(t, "Mia Marketer", "marketer")
	cust := s.register(t, "Carl")

	problemOf(t, s.do(t, "POST", "/v1/campaigns", cust.Token, campaign("x", nil)), http.StatusForbidden)

	ring := func(pts ...[2]float64) map[string]any {
		r := [][]float64{}
		for _, p := range pts {
			r = append(r, []float64{p[1], p[0]})
		}
		return map[string]any{"type": "Polygon", "coordinates": [][][]float64{r}}
	}
	a, b, c, d := [2]float64{48.85, 2.34}, [2]float64{48.85, 2.35}, [2]float64{48.86, 2.35}, [2]float64{48.86, 2.34}
	bad := []struct {
		name     string
		geofence any
		field    string
	}{
		{"unclosed ring", ring(a, b, c, d), "geofence.coordinates"},
		{"three positions", ring(a, b, a), "geofence.coordinates"},
		{"latitude out of range", ring(a, b, [2]float64{95, 2.35}, a), "geofence.coordinates"},
		{"self-intersecting", ring(a, c, b, d, a), "geofence.coordinates"},
		{"area over the limit", square(in, 5000), "geofence"},
		{"antimeridian", ring([2]float64{10, 179}, [2]float64{10, -179}, [2]float64{11, -179}, [2]float64{11, 179}, [2]float64{10, 179}), "geofence.coordinates"},
		{"position of one number", map[string]any{"type": "Polygon", "coordinates": [][][]float64{{{2.3}}}}, "geofence.coordinates[0][0]"},
		{"two kinds at once", map[string]any{"type": "Polygon", "circles": []any{}}, "geofence"},
		{"circle radius zero", map[string]any{"circles": []any{map[string]any{"center": map[string]any{"lat": 48.85, "lng": 2.34}, "radiusM": 0}}}, "geofence.circles[0]"},
		{"not GeoJSON", map[string]any{"type": "Point", "coordinates": []float64{2.3, 48.8}}, "geofence"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			p := problemOf(t, s.do(t, "POST", "/v1/campaigns", m.Token, campaign(tt.name, map[string]any{"geofence": tt.geofence})), http.StatusUnprocessableEntity)
			if f := fields(p); len(f) != 1 || !strings.HasPrefix(f[0], tt.field) {
				t.Errorf("fields = %v, want one starting with %q (%v)", f, tt.field, p["errors"])
			}
		})
	}
	p := problemOf(t, s.do(t, "POST", "/v1/campaigns", m.Token, map[string]any{
		"name": "", "geofence": square(in, 100), "trigger": map[string]any{"kind": "dwell"},
		"schedule": map[string]any{"timezone": "Mars/Olympus", "days": []string{"someday"}},
		"offer":    map[string]any{"texts": []any{}, "validityHours": 0},
	}), http.StatusUnprocessableEntity)
	for _, f := range []string{"schedule.days[0]", "offer.texts", "offer.validityHours"} { // the schema's
		if !slices.Contains(fields(p), f) {
			t.Errorf("fields = %v, want %s among them", fields(p), f)
		}
	}
	p = problemOf(t, s.do(t, "POST", "/v1/campaigns", m.Token, map[string]any{
		"name": "", "geofence": square(in, 100), "trigger": map[string]any{"kind": "dwell"},
		"schedule": map[string]any{"timezone": "Mars/Olympus"},
		"offer":    map[string]any{"texts": []any{map[string]any{"locale": "fr", "formality": "formal", "title": "x"}}, "validityHours": 1},
	}), http.StatusUnprocessableEntity)
	for _, f := range []string{"name", "trigger.dwellSeconds"} { // the domain's
		if !slices.Contains(fields(p), f) {
			t.Errorf("fields = %v, want %s among them", fields(p), f)
		}
	}

	// A polygon with a hole, as a MultiPolygon with a second square.
	outer, hole := square(in, 150)["coordinates"].([][][]float64), square(in, 50)["coordinates"].([][][]float64)
	far := square(out, 100)["coordinates"].([][][]float64)
	body := campaign("Donut", map[string]any{"geofence": map[string]any{"type": "MultiPolygon", "coordinates": [][][][]float64{{outer[0], hole[0]}, far}}})
	cp := want(t, s.do(t, "POST", "/v1/campaigns", m.Token, body), http.StatusCreated).JSON(t)
	id := cp["id"].(string)
	if cp["status"] != "draft" {
		t.Errorf("status = %v, want draft", cp["status"])
	}
	var cells struct {
		Type     string
		Count    int
		AreaM2   float64
		Features []struct{ Properties struct{ Inside bool } }
	}
	want(t, s.do(t, "GET", "/v1/campaigns/"+id+"/cells", m.Token, nil), http.StatusOK).Decode(t, &cells)
	if cells.Type != "FeatureCollection" || cells.Count == 0 || cells.Count != len(cells.Features) || cells.AreaM2 <= 0 {
		t.Errorf("cells = %s %d cells (%d features) %.0f m², want a non-empty FeatureCollection", cells.Type, cells.Count, len(cells.Features), cells.AreaM2)
	}

	steps := []struct {
		method, path string
		body         any
		status       int
		wantStatus   string
	}{
		{"POST", "/pause", nil, 409, ""},
		{"POST", "/activate", nil, 200, "active"},
		{"PATCH", "", map[string]any{"geofence": square(in, 80)}, 409, ""},
		{"PATCH", "", map[string]any{"audience": map[string]any{"newcomers": false}}, 409, ""},
		{"PATCH", "", map[string]any{"name": "Renamed while active"}, 200, "active"},
		{"POST", "/pause", nil, 200, "paused"},
		{"PATCH", "", map[string]any{"geofence": square(in, 80)}, 200, "paused"},
		{"POST", "/activate", nil, 200, "active"},
		{"POST", "/end", nil, 200, "ended"},
		{"POST", "/activate", nil, 409, ""},
		{"PATCH", "", map[string]any{"name": "too late"}, 409, ""},
	}
	for i, st := range steps {
		r := s.do(t, st.method, "/v1/campaigns/"+id+st.path, m.Token, st.body)
		if r.Status != st.status {
			t.Fatalf("step %d: %s %s = %d, want %d: %s", i, st.method, st.path, r.Status, st.status, r.Body)
		}
		if st.wantStatus != "" && r.JSON(t)["status"] != st.wantStatus {
			t.Errorf("step %d: status = %v, want %s", i, r.JSON(t)["status"], st.wantStatus)
		}
	}
	var list []map[string]any
	want(t, s.do(t, "GET", "/v1/campaigns?status=ended", m.Token, nil), http.StatusOK).Decode(t, &list)
	if len(list) != 1 || list[0]["id"] != id || list[0]["name"] != "Renamed while active" {
		t.Errorf("GET /v1/campaigns?status=ended = %v, want the one campaign", list)
	}
	problemOf(t, s.do(t, "GET", "/v1/campaigns/nope", m.Token, nil), http.StatusNotFound)
}

// TestCampaignChangesReachSecondInstance checks that a campaign activated or
// paused through one instance is matched, or no longer, by another within seconds.
func TestCampaignChangesReachSecondInstance(t *testing.T) {
	t.Parallel()
	s1 := startServer(t, map[string]string{"HYPERLIEU_NEWCOMER_PERIOD": "0s"})
	s2 := startServer(t, map[string]string{"MONGO_URI": s1.MongoURI, "HYPERLIEU_NEWCOMER_PERIOD": "0s"})
	m := s1.withRoles(t, "Max", "marketer")
	u := s1.consenting(t, "Ugo")
	// Inside a 60 m circle, and 150 m north of its centre: near enough that
	// walking back and forth is never implausibly fast.
	near := [2]float64{in[0] + 150.0/111_320, in[1]}
	s2.report(t, u, near, time.Now(), 10) // known to s2 before the campaign exists
	body := campaign("Second instance", map[string]any{
		"geofence": map[string]any{"circles": []any{map[string]any{"center": map[string]any{"lat": in[0], "lng": in[1]}, "radiusM": 60}}},
		"caps":     map[string]any{"perCustomer": 0},
	})
	id := s1.launch(t, m.Token, body)

	// Walk in and out on s2 until it fires there.
	var fired []offerJSON
	deadline := time.Now().Add(15 * time.Second)
	for len(fired) == 0 && time.Now().Before(deadline) {
		fired = s2.report(t, u, in, time.Now(), 10).Triggered
		s2.report(t, u, near, time.Now(), 10)
		if len(fired) == 0 {
			time.Sleep(200 * time.Millisecond)
		}
	}
	if len(fired) != 1 || fired[0].CampaignID != id {
		t.Fatalf("triggered on s2 = %v, want the campaign %s activated on s1", fired, id)
	}

	want(t, s1.do(t, "POST", "/v1/campaigns/"+id+"/pause", m.Token, nil), http.StatusOK)
	deadline = time.Now().Add(15 * time.Second)
	quiet := 0
	for quiet < 3 && time.Now().Before(deadline) {
		// Three entries in a row without an offer: the pause has reached s2.
		if len(s2.report(t, u, in, time.Now(), 10).Triggered) == 0 {
			quiet++
		} else {
			quiet = 0
		}
		s2.report(t, u, near, time.Now(), 10)
	}
	if quiet < 3 {
		t.Fatalf("s2 still fires the campaign paused on s1")
	}
	if n := len(s1.wallet(t, u)); n < 1 {
		t.Errorf("wallet has %d offers, want at least 1", n)
	}
}

// createShop creates a shop at the campaign zone's centre, run by mgrs.
func createShop(t *testing.T, s *server, admin user, mgrs ...user) string {
	t.Helper()
	r := s.do(t, "POST", "/v1/shops", admin.Token, map[string]any{
		"name": "Parvis", "address": "1 place Jean-Paul II, Paris",
		"location": map[string]any{"lat": in[0], "lng": in[1]}, "timezone": "Europe/Paris",
	})
	id, _ := want(t, r, http.StatusCreated).JSON(t)["id"].(string)
	for _, m := range mgrs {
		rr := s.do(t, "POST", "/v1/shops/"+id+"/managers", admin.Token, map[string]any{"userId": m.ID})
		if rr.Status >= 300 {
			t.Fatalf("adding manager: %d %s", rr.Status, rr.Body)
		}
	}
	return id
}

func TestRedemption(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"HYPERLIEU_NEWCOMER_PERIOD": "0s"})
	admin := s.admin(t)
	m1, m2 := s.withRoles(t, "Manon", "manager"), s.withRoles(t, "Mathis", "manager")
	other := s.withRoles(t, "Olga", "manager")
	shop := createShop(t, s, admin, m1, m2)
	mk := s.withRoles(t, "Marc", "marketer")
	id := s.launch(t, mk.Token, campaign("Budget of two", map[string]any{
		"offer": map[string]any{"texts": []any{map[string]any{"locale": "en", "formality": "formal", "title": "Two only"}}, "validityHours": 1, "budget": 2},
	}))
	base := time.Now().Add(-10 * time.Minute)
	var codes []string
	var customers []user
	for i := range 4 {
		u := s.consenting(t, fmt.Sprintf("Cust %d", i))
		customers = append(customers, u)
		s.report(t, u, out, base, 10)
		a := s.report(t, u, in, base.Add(5*time.Minute), 10)
		if len(a.Triggered) != 1 {
			t.Fatalf("customer %d: triggered %v, want one offer", i, a.Triggered)
		}
		codes = append(codes, a.Triggered[0].Code)
	}

	problemOf(t, s.do(t, "POST", "/v1/shops/"+shop+"/redemptions", other.Token, map[string]any{"code": codes[0]}), http.StatusForbidden)
	problemOf(t, s.do(t, "POST", "/v1/shops/"+shop+"/redemptions", m1.Token, map[string]any{"code": "0000000000Z"}), http.StatusUnprocessableEntity)
	typo := []byte(codes[0])
	typo[3] = map[bool]byte{true: 'A', false: 'B'}[typo[3] != 'A']
	problemOf(t, s.do(t, "POST", "/v1/shops/"+shop+"/redemptions", m1.Token, map[string]any{"code": string(typo)}), http.StatusUnprocessableEntity)

	// Two managers scan the same code at the same moment: one wins.
	statuses := make([]int, 2)
	var wg sync.WaitGroup
	for i, mgr := range []user{m1, m2} {
		wg.Go(func() {
			statuses[i] = s.do(inGoroutine{t}, "POST", "/v1/shops/"+shop+"/redemptions", mgr.Token, map[string]any{"code": strings.ToLower(codes[0])}).Status
		})
	}
	wg.Wait()
	slices.Sort(statuses)
	if !slices.Equal(statuses, []int{200, 409}) {
		t.Errorf("racing redemptions = %v, want one 200 and one 409", statuses)
	}
	want(t, s.do(t, "POST", "/v1/shops/"+shop+"/redemptions", m2.Token, map[string]any{"code": codes[1]}), http.StatusOK)
	p := problemOf(t, s.do(t, "POST", "/v1/shops/"+shop+"/redemptions", m1.Token, map[string]any{"code": codes[2]}), http.StatusConflict)
	if !strings.Contains(fmt.Sprint(p["detail"]), "budget") {
		t.Errorf("third redemption detail = %v, want the budget named", p["detail"])
	}
	if w := s.wallet(t, customers[0]); len(w) != 1 || w[0].State != "redeemed" || w[0].ShopID != shop {
		t.Errorf("wallet = %+v, want the offer redeemed at %s", w, shop)
	}
	if w := s.wallet(t, customers[2]); len(w) != 1 || w[0].State != "active" {
		t.Errorf("wallet of the over-budget customer = %+v, want the offer still active", w)
	}
	st := s.stats(t, mk.Token, id)
	if st.Redeemed != 2 || st.Triggered != 4 {
		t.Errorf("stats = %+v, want 4 triggered, 2 redeemed", st)
	}
	// The budget is spent: new entries are suppressed for it.
	u := s.consenting(t, "Late")
	s.report(t, u, out, base, 10)
	if a := s.report(t, u, in, base.Add(5*time.Minute), 10); len(a.Triggered) != 0 {
		t.Errorf("after the budget: triggered %v, want none", a.Triggered)
	}
	if st := s.stats(t, mk.Token, id); st.Suppressed["budget"] != 1 {
		t.Errorf("suppressed = %v, want budget 1", st.Suppressed)
	}

	// A campaign around the shop: its offers redeem there, not at another shop.
	r := want(t, s.do(t, "POST", "/v1/shops", admin.Token, map[string]any{
		"name": "Far", "address": "Lyon", "location": map[string]any{"lat": 45.76, "lng": 4.83}, "timezone": "Europe/Paris",
	}), http.StatusCreated)
	far, _ := r.JSON(t)["id"].(string)
	want(t, s.do(t, "POST", "/v1/shops/"+far+"/managers", admin.Token, map[string]any{"userId": m1.ID}), http.StatusOK)
	around := s.launch(t, mk.Token, campaign("Around the shop", map[string]any{
		"geofence": map[string]any{"shops": map[string]any{"shopIds": []string{shop}, "radiusM": 100}},
	}))
	problemOf(t, s.do(t, "POST", "/v1/campaigns", mk.Token, campaign("No such shop", map[string]any{
		"geofence": map[string]any{"shops": map[string]any{"shopIds": []string{"nope"}, "radiusM": 100}},
	})), http.StatusUnprocessableEntity)
	v := s.consenting(t, "Visitor")
	s.report(t, v, out, base.Add(6*time.Minute), 10)
	a := s.report(t, v, in, base.Add(8*time.Minute), 10)
	var code string
	for _, o := range a.Triggered {
		if o.CampaignID == around {
			code = o.Code
		}
	}
	if code == "" {
		t.Fatalf("entering the shop's circle triggered %v, want the shop campaign's offer", a.Triggered)
	}
	p = problemOf(t, s.do(t, "POST", "/v1/shops/"+far+"/redemptions", m1.Token, map[string]any{"code": code}), http.StatusConflict)
	if !strings.Contains(fmt.Sprint(p["detail"]), "shops") {
		t.Errorf("redemption at another shop: detail = %v, want the shops named", p["detail"])
	}
	want(t, s.do(t, "POST", "/v1/shops/"+shop+"/redemptions", m1.Token, map[string]any{"code": code}), http.StatusOK)

	// A manager who got an offer as a customer does not redeem it themselves.
	want(t, s.do(t, "PATCH", "/v1/me", m2.Token, map[string]any{"locationConsent": true, "maxNotificationsPerDay": 20, "quietHours": nil}), http.StatusOK)
	s.report(t, m2, out, base.Add(6*time.Minute), 10)
	own := ""
	for _, o := range s.report(t, m2, in, base.Add(8*time.Minute), 10).Triggered {
		if o.CampaignID == around {
			own = o.Code
		}
	}
	if own == "" {
		t.Fatal("the manager's own entry triggered no offer of the shop campaign")
	}
	p = problemOf(t, s.do(t, "POST", "/v1/shops/"+shop+"/redemptions", m2.Token, map[string]any{"code": own}), http.StatusForbidden)
	if !strings.Contains(fmt.Sprint(p["detail"]), "issued to you") {
		t.Errorf("own redemption: detail = %v, want the reason", p["detail"])
	}
	want(t, s.do(t, "POST", "/v1/shops/"+shop+"/redemptions", m1.Token, map[string]any{"code": own}), http.StatusOK)
}
