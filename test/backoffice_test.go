package test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

type shopItem struct {
	ID, Name string
}

type shopsPage struct {
	Items []shopItem
	Next  string
}

func (s *server) shops(t *testing.T, token, query string) shopsPage {
	t.Helper()
	var p shopsPage
	want(t, s.do(t, "GET", "/v1/shops?"+query, token, nil), http.StatusOK).Decode(t, &p)
	return p
}

func names(items []shopItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Name
	}
	return out
}

// TestBackOfficeLists covers the console's shop search (by name, near a
// point, the caller's own, page by page) and the admins' user search.
func TestBackOfficeLists(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	admin := s.admin(t)
	a := s.createShop(t, admin.Token, "Atelier Rivoli", paris)
	s.createShop(t, admin.Token, "Boutique Marais", offset(paris, 800, 0))
	s.createShop(t, admin.Token, "Comptoir Lyon", [2]float64{45.764, 4.8357})
	gone := s.createShop(t, admin.Token, "Ancienne Boutique", offset(paris, 100, 0))
	want(t, s.do(t, "DELETE", "/v1/shops/"+gone, admin.Token, nil), http.StatusNoContent)
	m := s.managerOf(t, admin, a, "Manon")
	cust := s.register(t, "Camille")

	if got := names(s.shops(t, cust.Token, "").Items); !slices.Equal(got, []string{"Atelier Rivoli", "Boutique Marais", "Comptoir Lyon"}) {
		t.Errorf("all shops = %v, want them by name, without the deleted one", got)
	}
	if got := names(s.shops(t, cust.Token, "q=BOUTIQUE").Items); !slices.Equal(got, []string{"Boutique Marais"}) {
		t.Errorf("q=BOUTIQUE = %v", got)
	}
	near := fmt.Sprintf("lat=%v&lng=%v&radiusM=1000", paris[0], paris[1])
	if got := names(s.shops(t, cust.Token, near).Items); !slices.Equal(got, []string{"Atelier Rivoli", "Boutique Marais"}) {
		t.Errorf("near Paris = %v, want nearest first", got)
	}
	if got := names(s.shops(t, m.Token, "managed=true").Items); !slices.Equal(got, []string{"Atelier Rivoli"}) {
		t.Errorf("managed=true = %v, want the manager's shop", got)
	}
	var seen []string
	page := s.shops(t, cust.Token, "limit=2")
	for i := 0; ; i++ {
		seen = append(seen, names(page.Items)...)
		if page.Next == "" || i > 3 {
			break
		}
		page = s.shops(t, cust.Token, "limit=2&cursor="+page.Next)
	}
	if !slices.Equal(seen, []string{"Atelier Rivoli", "Boutique Marais", "Comptoir Lyon"}) {
		t.Errorf("pages of 2 = %v", seen)
	}
	p := problemOf(t, s.do(t, "GET", "/v1/shops?lat=48.8&limit=0&cursor=zzz", cust.Token, nil), http.StatusUnprocessableEntity)
	if got := fields(p); !slices.Contains(got, "limit") {
		t.Errorf("bad query fields = %v, want limit", got)
	}

	var users struct {
		Items []struct {
			ID, Email string
			Roles     []string
		}
		Next string
	}
	want(t, s.do(t, "GET", "/v1/admin/users?role=manager", admin.Token, nil), http.StatusOK).Decode(t, &users)
	if len(users.Items) != 1 || users.Items[0].ID != m.ID {
		t.Errorf("role=manager = %+v, want only %s", users.Items, m.ID)
	}
	want(t, s.do(t, "GET", "/v1/admin/users?q=camille", admin.Token, nil), http.StatusOK).Decode(t, &users)
	if len(users.Items) != 1 || users.Items[0].ID != cust.ID {
		t.Errorf("q=camille = %+v, want %s", users.Items, cust.ID)
	}
	want(t, s.do(t, "GET", "/v1/admin/users?q="+strings.Split(cust.Email, "@")[0]+"@", admin.Token, nil), http.StatusOK).Decode(t, &users)
	if len(users.Items) != 1 || users.Items[0].ID != cust.ID {
		t.Errorf("q=<email prefix> = %+v, want %s", users.Items, cust.ID)
	}
	all := map[string]bool{}
	path := "/v1/admin/users?limit=1"
	for i := 0; i < 10; i++ {
		want(t, s.do(t, "GET", path, admin.Token, nil), http.StatusOK).Decode(t, &users)
		for _, u := range users.Items {
			all[u.ID] = true
		}
		if users.Next == "" {
			break
		}
		path = "/v1/admin/users?limit=1&cursor=" + users.Next
	}
	if len(all) != 3 || !all[admin.ID] || !all[m.ID] || !all[cust.ID] {
		t.Errorf("pages of 1 saw %v, want the 3 users", all)
	}
	problemOf(t, s.do(t, "GET", "/v1/admin/users", m.Token, nil), http.StatusForbidden)
	p = problemOf(t, s.do(t, "GET", "/v1/admin/users?role=boss", admin.Token, nil), http.StatusUnprocessableEntity)
	if got := fields(p); !slices.Equal(got, []string{"role"}) {
		t.Errorf("role=boss fields = %v", got)
	}
}

// TestShopImportExport imports shops as CSV and GeoJSON, row problems
// reported and the rest saved, and exports them back in both formats.
func TestShopImportExport(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	admin := s.admin(t)
	a := s.createShop(t, admin.Token, "Atelier Rivoli", paris)

	csvBody := "\ufeffid,name,address,lat,lng,timezone,openingHours\n" +
		",Boutique Marais,2 rue des Rosiers,48.857,2.359,Europe/Paris,Tu-Su 11:00-19:00\n" +
		a + ",Atelier Rivoli (new),1 rue de Rivoli,,,Europe/Paris,\n" +
		",Nowhere,3 rue X,abc,2,Europe/Paris,\n" +
		",,4 rue Y,48.8,2.3,Mars/Olympus,\n" +
		"nosuchshop,Ghost,5 rue Z,48.8,2.3,Europe/Paris,\n"
	var res struct {
		Created, Updated int
		Errors           []struct {
			Row     int
			Feature *int
			Field   string
		}
	}
	want(t, s.doHeaders(t, "POST", "/v1/admin/shops/import", admin.Token, csvBody, map[string]string{"Content-Type": "text/csv"}), http.StatusOK).Decode(t, &res)
	var rowFields []string
	for _, e := range res.Errors {
		rowFields = append(rowFields, fmt.Sprintf("%d:%s", e.Row, e.Field))
	}
	if res.Created != 1 || res.Updated != 1 || !slices.Equal(rowFields, []string{"4:lat,lng", "5:name", "5:timezone", "6:id"}) {
		t.Errorf("CSV import = %d created, %d updated, errors %v", res.Created, res.Updated, rowFields)
	}
	if got := names(s.shops(t, admin.Token, "").Items); !slices.Equal(got, []string{"Atelier Rivoli (new)", "Boutique Marais"}) {
		t.Errorf("after the CSV import: %v", got)
	}

	geo := map[string]any{"type": "FeatureCollection", "features": []any{
		map[string]any{"type": "Feature", "geometry": map[string]any{"type": "Point", "coordinates": []float64{4.8357, 45.764}},
			"properties": map[string]any{"name": "Comptoir Lyon", "address": "1 place Bellecour", "timezone": "Europe/Paris"}},
		map[string]any{"type": "Feature", "properties": map[string]any{"name": "No place", "address": "x", "timezone": "Europe/Paris"}},
	}}
	want(t, s.doHeaders(t, "POST", "/v1/admin/shops/import", admin.Token, geo, map[string]string{"Content-Type": "application/geo+json"}), http.StatusOK).Decode(t, &res)
	if res.Created != 1 || len(res.Errors) != 1 || res.Errors[0].Feature == nil || *res.Errors[0].Feature != 1 || res.Errors[0].Field != "geometry" {
		t.Errorf("GeoJSON import = %+v", res)
	}
	// Not points at all: the document says what a feature is, so the file is refused.
	line := map[string]any{"type": "FeatureCollection", "features": []any{
		map[string]any{"type": "Feature", "geometry": map[string]any{"type": "LineString", "coordinates": [][]float64{{1, 2}, {3, 4}}}}}}
	p := problemOf(t, s.doHeaders(t, "POST", "/v1/admin/shops/import", admin.Token, line, map[string]string{"Content-Type": "application/geo+json"}), http.StatusUnprocessableEntity)
	if !slices.Contains(fields(p), "features[0].geometry.type") {
		t.Errorf("a LineString: fields = %v", fields(p))
	}
	problemOf(t, s.doHeaders(t, "POST", "/v1/admin/shops/import", admin.Token, "<shops/>", map[string]string{"Content-Type": "application/xml"}), http.StatusUnsupportedMediaType)
	problemOf(t, s.doHeaders(t, "POST", "/v1/admin/shops/import", admin.Token, `{"type": "Feature"}`, map[string]string{"Content-Type": "application/geo+json"}), http.StatusUnprocessableEntity)

	r := want(t, s.do(t, "GET", "/v1/admin/shops/export?format=csv", admin.Token, nil), http.StatusOK)
	lines := strings.Split(strings.TrimSpace(string(r.Body)), "\n")
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") || len(lines) != 4 || lines[0] != "id,name,address,lat,lng,timezone,openingHours" ||
		!strings.HasPrefix(lines[1], a+",Atelier Rivoli (new),") {
		t.Errorf("CSV export (%s):\n%s", r.Header.Get("Content-Type"), r.Body)
	}
	var fc struct {
		Type     string
		Features []struct {
			Geometry struct {
				Type        string
				Coordinates []float64
			}
			Properties struct{ ID, Name string }
		}
	}
	r = want(t, s.do(t, "GET", "/v1/admin/shops/export?format=geojson", admin.Token, nil), http.StatusOK)
	r.Decode(t, &fc)
	if r.Header.Get("Content-Type") != "application/geo+json" || fc.Type != "FeatureCollection" || len(fc.Features) != 3 ||
		fc.Features[2].Properties.Name != "Comptoir Lyon" || fc.Features[2].Geometry.Coordinates[0] != 4.8357 {
		t.Errorf("GeoJSON export = %+v", fc)
	}
	// What the export wrote, the import reads back: every shop updated.
	want(t, s.doHeaders(t, "POST", "/v1/admin/shops/import", admin.Token, r.Body, map[string]string{"Content-Type": "application/geo+json"}), http.StatusOK).Decode(t, &res)
	if res.Created != 0 || res.Updated != 3 || len(res.Errors) != 0 {
		t.Errorf("re-importing the export = %+v, want 3 updated", res)
	}
	problemOf(t, s.do(t, "GET", "/v1/admin/shops/export?format=xlsx", admin.Token, nil), http.StatusUnprocessableEntity)
	problemOf(t, s.do(t, "GET", "/v1/admin/shops/export", s.register(t, "Nobody").Token, nil), http.StatusForbidden)
}

// TestGeofenceAsDrawn accepts a campaign zone as geojson.io and QGIS export
// it: a Feature, or a FeatureCollection of polygons.
func TestGeofenceAsDrawn(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	mk := s.withRoles(t, "Marketer", "marketer")
	feature := map[string]any{"type": "Feature", "properties": map[string]any{"name": "drawn"}, "geometry": square(paris, 100)}
	other := map[string]any{"type": "Feature", "properties": nil, "geometry": square(offset(paris, 2000, 0), 100)}
	for name, g := range map[string]any{
		"feature":    feature,
		"collection": map[string]any{"type": "FeatureCollection", "features": []any{feature, other}},
	} {
		r := want(t, s.do(t, "POST", "/v1/campaigns", mk.Token, campaign(name, map[string]any{"geofence": g})), http.StatusCreated)
		c := r.JSON(t)
		gf := c["geofence"].(map[string]any)
		wantType := map[string]string{"feature": "Polygon", "collection": "MultiPolygon"}[name]
		if gf["type"] != wantType || r.Header.Get("Location") != "/v1/campaigns/"+c["id"].(string) {
			t.Errorf("%s: geofence type %v, Location %q", name, gf["type"], r.Header.Get("Location"))
		}
	}
	p := problemOf(t, s.do(t, "POST", "/v1/campaigns", mk.Token, campaign("line", map[string]any{"geofence": map[string]any{
		"type": "Feature", "geometry": map[string]any{"type": "LineString", "coordinates": [][]float64{{1, 2}, {3, 4}}}}})), http.StatusUnprocessableEntity)
	if got := fields(p); len(got) != 1 || !strings.HasPrefix(got[0], "geofence.geometry") {
		t.Errorf("a LineString feature: fields = %v, want geofence.geometry", got)
	}
}
