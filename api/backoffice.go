package api

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v3"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/account"
	"github.com/hyperlieu/hyperlieu/geo"
	"github.com/hyperlieu/hyperlieu/shop"
)

// backOfficeRoutes are the console's lists and searches, and shop import
// and export.
func (s *Server) backOfficeRoutes() []route {
	admin := only(hyperlieu.RoleAdmin)
	return []route{
		{method: "GET", path: "/v1/shops", op: "listShops", access: signedIn,
			summary: "Shops by name, or nearest first near lat,lng; managed=true: the caller's own shops. From memory, paginated",
			query:   shopsQuery{}, out: shopPage{}, handler: s.getShops},
		{method: "POST", path: "/v1/admin/shops/import", op: "importShops", access: admin,
			summary: "Create and update shops from CSV (a header row: id,name,address,lat,lng,timezone,openingHours) or a GeoJSON FeatureCollection of points; rows with problems are skipped and reported",
			in:      shopFeatureCollection{}, inTypes: []string{"text/csv", "application/geo+json"}, out: importResponse{}, handler: s.postShopsImport},
		{method: "GET", path: "/v1/admin/shops/export", op: "exportShops", access: admin,
			summary: "Every shop as CSV (the import's columns) or as a GeoJSON FeatureCollection of points",
			query:   exportQuery{}, out: shopFeatureCollection{}, contents: []string{"text/csv", "application/geo+json"}, handler: s.getShopsExport},
	}
}

type shopsQuery struct {
	Q       string  `query:"q" api:"maxLength=200" doc:"In the name or the address, ignoring case"`
	Lat     float64 `query:"lat" api:"min=-90,max=90" doc:"With lng: nearest first"`
	Lng     float64 `query:"lng" api:"min=-180,max=180"`
	RadiusM float64 `query:"radiusM" api:"min=1,max=50000,default=5000" doc:"Metres around lat,lng"`
	Managed bool    `query:"managed" doc:"true: only the shops the caller manages"`
	Limit   int     `query:"limit" api:"min=1,max=200,default=50"`
	Cursor  string  `query:"cursor" doc:"next of the previous page"`
}

type shopPage struct {
	Items []shopResponse `json:"items"`
	Next  string         `json:"next,omitempty" doc:"The cursor of the next page; absent on the last"`
}

// getShops handles GET /v1/shops.
func (s *Server) getShops(c fiber.Ctx) error {
	var p hyperlieu.Problems
	q := shop.ListQuery{Text: c.Query("q"), Cursor: strings.Clone(c.Query("cursor"))}
	lat, okLat := queryFloat(c, &p, "lat")
	lng, okLng := queryFloat(c, &p, "lng")
	switch {
	case okLat && okLng:
		q.Near = &geo.Point{Lat: lat, Lng: lng}
	case okLat != okLng:
		p.Add("lat,lng", "give both or neither")
	}
	q.RadiusM, _ = queryFloat(c, &p, "radiusM")
	limit, _ := queryFloat(c, &p, "limit")
	q.Limit = int(limit)
	if c.Query("managed") == "true" || c.Query("managed") == "1" {
		q.ManagedBy = userID(c)
	}
	if err := p.Err(); err != nil {
		return err
	}
	page, err := s.svc.Shops.ListShops(c.Context(), q)
	if err != nil {
		return err
	}
	out := shopPage{Items: make([]shopResponse, len(page.Items)), Next: page.Next}
	for i, sh := range page.Items {
		out.Items[i] = newShopResponse(sh, actor(c))
	}
	return c.JSON(out)
}

type usersQuery struct {
	Q      string `query:"q" api:"maxLength=200" doc:"In the email or the display name, ignoring case; with an @, the start of the email"`
	Role   string `query:"role" api:"enum=customer|manager|marketer|admin"`
	Limit  int    `query:"limit" api:"min=1,max=200,default=50"`
	Cursor string `query:"cursor" doc:"next of the previous page"`
}

type userPage struct {
	Items []userResponse `json:"items"`
	Next  string         `json:"next,omitempty" doc:"The cursor of the next page; absent on the last"`
}

// getUsers handles GET /v1/admin/users.
func (s *Server) getUsers(c fiber.Ctx) error {
	var p hyperlieu.Problems
	limit, _ := queryFloat(c, &p, "limit")
	if err := p.Err(); err != nil {
		return err
	}
	page, err := s.svc.Accounts.ListUsers(c.Context(), actor(c), account.UserQuery{
		Text: c.Query("q"), Role: hyperlieu.Role(c.Query("role")), Limit: int(limit), After: strings.Clone(c.Query("cursor")),
	})
	if err != nil {
		return err
	}
	out := userPage{Items: make([]userResponse, len(page.Items)), Next: page.Next}
	for i, u := range page.Items {
		out.Items[i] = newUserResponse(u)
	}
	return c.JSON(out)
}

// shopFeatureCollection is shops as GeoJSON: points with the shop in the
// properties. On import, a feature's problems are reported, not refused.
type shopFeatureCollection struct {
	Type     string        `json:"type" api:"required,enum=FeatureCollection"`
	Features []shopFeature `json:"features" api:"required"`
}

type shopFeature struct {
	Type       string         `json:"type" api:"enum=Feature"`
	Geometry   *pointGeometry `json:"geometry"`
	Properties shopProperties `json:"properties"`
}

type pointGeometry struct {
	Type        string    `json:"type" api:"enum=Point"`
	Coordinates []float64 `json:"coordinates" doc:"[longitude, latitude]"`
}

type shopProperties struct {
	ID           string `json:"id,omitempty" doc:"On import: the shop to update; absent: a new shop"`
	Name         string `json:"name"`
	Address      string `json:"address"`
	Timezone     string `json:"timezone"`
	OpeningHours string `json:"openingHours,omitempty"`
}

type importProblem struct {
	Row     int    `json:"row,omitempty" doc:"CSV: the line, the header being 1"`
	Feature *int   `json:"feature,omitempty" doc:"GeoJSON: the index in features, from 0"`
	Field   string `json:"field"`
	Detail  string `json:"detail"`
}

type importResponse struct {
	Created int             `json:"created"`
	Updated int             `json:"updated"`
	Errors  []importProblem `json:"errors"`
}

// csvColumns are the columns of the CSV import and export.
var csvColumns = []string{"id", "name", "address", "lat", "lng", "timezone", "openingHours"}

// postShopsImport handles POST /v1/admin/shops/import.
func (s *Server) postShopsImport(c fiber.Ctx) error {
	ct := strings.ToLower(c.Get(fiber.HeaderContentType))
	var rows []shop.ImportRow
	var bad []shop.ImportProblem
	geojson := !strings.HasPrefix(ct, "text/csv")
	switch {
	case !geojson:
		var err error
		if rows, bad, err = csvRows(c.Body()); err != nil {
			return err
		}
	case isJSON(ct):
		var in shopFeatureCollection
		if err := decode(c, &in); err != nil {
			return err
		}
		rows, bad = featureRows(in)
	default:
		return fiber.NewError(fiber.StatusUnsupportedMediaType, "the body must be text/csv or application/geo+json")
	}
	res, err := s.svc.Shops.ImportShops(c.Context(), actor(c), rows)
	if err != nil {
		return err
	}
	out := importResponse{Created: res.Created, Updated: res.Updated, Errors: []importProblem{}}
	for _, pr := range append(bad, res.Problems...) {
		ip := importProblem{Field: pr.Field, Detail: pr.Detail}
		if geojson {
			i := pr.Index
			ip.Feature = &i
		} else {
			ip.Row = pr.Index
		}
		out.Errors = append(out.Errors, ip)
	}
	return c.JSON(out)
}

// csvRows reads a CSV import: a header naming the columns (any order, id
// and openingHours optional), then a shop a line.
func csvRows(body []byte) ([]shop.ImportRow, []shop.ImportProblem, error) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\ufeff")))) // spreadsheets write a BOM
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, nil, hyperlieu.Errorf(hyperlieu.Malformed, "the CSV has no header row")
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	var p hyperlieu.Problems
	for _, need := range []string{"name", "address", "lat", "lng", "timezone"} {
		if _, ok := col[need]; !ok {
			p.Add("header", "needs a %s column", need)
		}
	}
	if err := p.Err(); err != nil {
		return nil, nil, err
	}
	var rows []shop.ImportRow
	var bad []shop.ImportProblem
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, hyperlieu.Errorf(hyperlieu.Malformed, "the CSV cannot be read at line %d: %v", line, err)
		}
		if len(rows) >= shop.MaxImportRows {
			return nil, nil, &hyperlieu.Error{Kind: hyperlieu.Invalid, Message: "too many shops",
				Fields: []hyperlieu.FieldError{{Field: "body", Detail: fmt.Sprintf("must hold at most %d shops", shop.MaxImportRows)}}}
		}
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		row := shop.ImportRow{Index: line, ID: get("id"), Input: shop.Input{
			Name: get("name"), Address: get("address"), Timezone: get("timezone"), OpeningHours: get("openingHours")}}
		lat, lng := get("lat"), get("lng")
		if lat != "" || lng != "" {
			la, err1 := strconv.ParseFloat(lat, 64)
			ln, err2 := strconv.ParseFloat(lng, 64)
			if err1 != nil || err2 != nil {
				bad = append(bad, shop.ImportProblem{Index: line, Field: "lat,lng", Detail: "must be numbers such as 48.8566 and 2.3522"})
				continue
			}
			row.Location = &geo.Point{Lat: la, Lng: ln}
		}
		rows = append(rows, row)
	}
	return rows, bad, nil
}

// featureRows reads a GeoJSON import.
func featureRows(in shopFeatureCollection) ([]shop.ImportRow, []shop.ImportProblem) {
	var rows []shop.ImportRow
	var bad []shop.ImportProblem
	for i, f := range in.Features {
		pr := f.Properties
		row := shop.ImportRow{Index: i, ID: pr.ID, Input: shop.Input{
			Name: pr.Name, Address: pr.Address, Timezone: pr.Timezone, OpeningHours: pr.OpeningHours}}
		switch g := f.Geometry; {
		case g == nil && pr.ID != "": // an update keeps the shop's location
		case g == nil || g.Type != "Point" || len(g.Coordinates) < 2:
			bad = append(bad, shop.ImportProblem{Index: i, Field: "geometry", Detail: "must be a GeoJSON Point [lng, lat]"})
			continue
		default:
			row.Location = &geo.Point{Lat: g.Coordinates[1], Lng: g.Coordinates[0]}
		}
		rows = append(rows, row)
	}
	return rows, bad
}

type exportQuery struct {
	Format string `query:"format" api:"enum=csv|geojson,default=csv"`
}

// getShopsExport handles GET /v1/admin/shops/export.
func (s *Server) getShopsExport(c fiber.Ctx) error {
	shops := s.svc.Shops.AllShops(c.Context())
	if c.Query("format") == "geojson" {
		fc := shopFeatureCollection{Type: "FeatureCollection", Features: make([]shopFeature, len(shops))}
		for i, sh := range shops {
			fc.Features[i] = shopFeature{Type: "Feature",
				Geometry:   &pointGeometry{Type: "Point", Coordinates: []float64{sh.Location.Lng, sh.Location.Lat}},
				Properties: shopProperties{ID: sh.ID, Name: sh.Name, Address: sh.Address, Timezone: sh.Timezone, OpeningHours: sh.OpeningHours}}
		}
		body, err := json.Marshal(fc)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, "application/geo+json")
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="shops.geojson"`)
		return c.Send(body)
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(csvColumns) // a bytes.Buffer does not fail
	for _, sh := range shops {
		_ = w.Write([]string{sh.ID, sh.Name, sh.Address, strconv.FormatFloat(sh.Location.Lat, 'f', -1, 64),
			strconv.FormatFloat(sh.Location.Lng, 'f', -1, 64), sh.Timezone, sh.OpeningHours})
	}
	w.Flush()
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="shops.csv"`)
	return c.Send(b.Bytes())
}
