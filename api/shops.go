package api

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/geo"
	"github.com/hyperlieu/hyperlieu/shop"
)

// shopRoutes are shops, their managers and nearby search.
func (s *Server) shopRoutes() []route {
	manage := only(hyperlieu.RoleManager, hyperlieu.RoleAdmin)
	admin := only(hyperlieu.RoleAdmin)
	return []route{
		{method: "POST", path: "/v1/shops", op: "createShop", access: admin, summary: "Create a shop",
			in: shopRequest{}, out: shopResponse{}, status: 201, headers: []string{"Location"}, handler: s.postShop},
		{method: "GET", path: "/v1/shops/:id", op: "getShop", access: signedIn, summary: "A shop (deleted shops too, with deletedAt)",
			out: shopResponse{}, handler: s.getShop},
		{method: "PATCH", path: "/v1/shops/:id", op: "updateShop", access: manage, summary: "Change a shop (admins, or a manager of that shop)",
			in: shopPatchRequest{}, out: shopResponse{}, errs: []int{409}, handler: s.patchShop},
		{method: "DELETE", path: "/v1/shops/:id", op: "deleteShop", access: admin, summary: "Delete a shop; its events and history stay readable",
			status: 204, handler: s.deleteShop},
		{method: "POST", path: "/v1/shops/:id/managers", op: "addShopManager", access: admin, summary: "Make a user (with the manager role) a manager of the shop",
			in: managerRequest{}, out: shopResponse{}, errs: []int{409}, handler: s.postShopManager},
		{method: "DELETE", path: "/v1/shops/:id/managers/:userId", op: "removeShopManager", access: admin, summary: "Remove a manager from the shop",
			status: 204, handler: s.deleteShopManager},
		{method: "GET", path: "/v1/nearby", op: "listNearby", access: signedIn,
			summary: "Shops, upcoming events and offers within ?radius= metres (default 2000, at most 50000) of ?lat=&lng=, nearest first; ?cursor= for the next page, ?limit= (≤100)",
			query:   nearbyQuery{}, out: nearbyResponse{}, handler: s.getNearby},
	}
}

// latLng is a point on the wire; both members are required.
type latLng struct {
	Lat *float64 `json:"lat" api:"required,min=-90,max=90"`
	Lng *float64 `json:"lng" api:"required,min=-180,max=180"`
}

// point returns the point, recording missing members under field.
func (l *latLng) point(p *hyperlieu.Problems, field string) *geo.Point {
	if l == nil {
		return nil
	}
	if l.Lat == nil {
		p.Add(field+".lat", "is required")
	}
	if l.Lng == nil {
		p.Add(field+".lng", "is required")
	}
	if l.Lat == nil || l.Lng == nil {
		return nil
	}
	return &geo.Point{Lat: *l.Lat, Lng: *l.Lng}
}

type pointResponse struct {
	Lat  float64 `json:"lat"`
	Lng  float64 `json:"lng"`
	Cell string  `json:"cell" doc:"H3 cell at resolution 9"`
}

func newPoint(p geo.Point) pointResponse {
	r := pointResponse{Lat: p.Lat, Lng: p.Lng}
	if c, err := geo.CellOf(p); err == nil {
		r.Cell = c.String()
	}
	return r
}

type shopRequest struct {
	Name         string  `json:"name" api:"required"`
	Address      string  `json:"address" api:"required"`
	Location     *latLng `json:"location" api:"required"`
	Timezone     string  `json:"timezone" api:"required" doc:"IANA time zone, such as Europe/Paris"`
	OpeningHours string  `json:"openingHours,omitempty"`
}

type shopPatchRequest struct {
	Name         *string `json:"name"`
	Address      *string `json:"address"`
	Location     *latLng `json:"location"`
	Timezone     *string `json:"timezone"`
	OpeningHours *string `json:"openingHours"`
}

type managerRequest struct {
	UserID string `json:"userId" api:"required"`
}

type shopResponse struct {
	ID           string        `json:"id"`
	Name         string        `json:"name"`
	Address      string        `json:"address"`
	Location     pointResponse `json:"location"`
	Timezone     string        `json:"timezone"`
	OpeningHours string        `json:"openingHours"`
	ManagerIDs   []string      `json:"managerIds,omitempty"` // shown to admins and the shop's managers
	CreatedAt    time.Time     `json:"createdAt"`
	UpdatedAt    time.Time     `json:"updatedAt"`
	DeletedAt    *time.Time    `json:"deletedAt,omitempty"`
}

func newShopResponse(sh shop.Shop, a hyperlieu.Actor) shopResponse {
	r := shopResponse{
		ID: sh.ID, Name: sh.Name, Address: sh.Address, Location: newPoint(sh.Location), Timezone: sh.Timezone,
		OpeningHours: sh.OpeningHours, CreatedAt: sh.CreatedAt, UpdatedAt: sh.UpdatedAt,
	}
	if a.Is(hyperlieu.RoleAdmin) || sh.ManagedBy(a.UserID) {
		r.ManagerIDs = append([]string{}, sh.ManagerIDs...)
	}
	if sh.Deleted() {
		r.DeletedAt = &sh.DeletedAt
	}
	return r
}

// postShop handles POST /v1/shops.
func (s *Server) postShop(c fiber.Ctx) error {
	var in shopRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	var p hyperlieu.Problems
	loc := in.Location.point(&p, "location")
	if err := p.Err(); err != nil {
		return err
	}
	sh, err := s.svc.Shops.CreateShop(c.Context(), actor(c), shop.Input{
		Name: in.Name, Address: in.Address, Location: loc, Timezone: in.Timezone, OpeningHours: in.OpeningHours,
	})
	if err != nil {
		return err
	}
	c.Location("/v1/shops/" + sh.ID)
	return c.Status(fiber.StatusCreated).JSON(newShopResponse(sh, actor(c)))
}

// getShop handles GET /v1/shops/:id.
func (s *Server) getShop(c fiber.Ctx) error {
	sh, err := s.svc.Shops.Shop(c.Context(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(newShopResponse(sh, actor(c)))
}

// patchShop handles PATCH /v1/shops/:id.
func (s *Server) patchShop(c fiber.Ctx) error {
	var in shopPatchRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	var p hyperlieu.Problems
	loc := in.Location.point(&p, "location")
	if err := p.Err(); err != nil {
		return err
	}
	sh, err := s.svc.Shops.UpdateShop(c.Context(), actor(c), c.Params("id"), shop.Patch{
		Name: in.Name, Address: in.Address, Timezone: in.Timezone, OpeningHours: in.OpeningHours, Location: loc,
	})
	if err != nil {
		return err
	}
	return c.JSON(newShopResponse(sh, actor(c)))
}

// deleteShop handles DELETE /v1/shops/:id.
func (s *Server) deleteShop(c fiber.Ctx) error {
	if err := s.svc.Shops.DeleteShop(c.Context(), actor(c), c.Params("id")); err != nil {
		return err
	}
	return noContent(c)
}

// postShopManager handles POST /v1/shops/:id/managers.
func (s *Server) postShopManager(c fiber.Ctx) error {
	var in managerRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.UserID) == "" {
		var p hyperlieu.Problems
		p.Add("userId", "is required")
		return p.Err()
	}
	sh, err := s.svc.Shops.AddManager(c.Context(), actor(c), c.Params("id"), in.UserID)
	if err != nil {
		return err
	}
	return c.JSON(newShopResponse(sh, actor(c)))
}

// deleteShopManager handles DELETE /v1/shops/:id/managers/:userId.
func (s *Server) deleteShopManager(c fiber.Ctx) error {
	if err := s.svc.Shops.RemoveManager(c.Context(), actor(c), c.Params("id"), c.Params("userId")); err != nil {
		return err
	}
	return noContent(c)
}

type nearbyQuery struct {
	Lat    float64 `query:"lat" api:"required,min=-90,max=90" doc:"Latitude of the centre (WGS 84)"`
	Lng    float64 `query:"lng" api:"required,min=-180,max=180" doc:"Longitude of the centre (WGS 84)"`
	Radius float64 `query:"radius" api:"min=1,max=50000,default=2000" doc:"Metres around the centre"`
	Limit  int     `query:"limit" api:"min=1,max=100,default=20" doc:"Items per page"`
	Cursor string  `query:"cursor" doc:"nextCursor of the previous page"`
}

type nearbyItem struct {
	Kind       string        `json:"kind" api:"enum=shop|event|offer"`
	ID         string        `json:"id"`
	DistanceM  float64       `json:"distanceM"`
	Location   pointResponse `json:"location"`
	Name       string        `json:"name,omitempty"`    // shop
	Address    string        `json:"address,omitempty"` // shop
	Title      string        `json:"title,omitempty"`   // event, offer
	ShopID     string        `json:"shopId,omitempty"`  // event, offer
	CampaignID string        `json:"campaignId,omitempty"`
	Category   string        `json:"category,omitempty"`
	StartsAt   *time.Time    `json:"startsAt,omitempty"`
	EndsAt     *time.Time    `json:"endsAt,omitempty"`
}

type nearbyResponse struct {
	Items      []nearbyItem `json:"items"`
	NextCursor string       `json:"nextCursor,omitempty"`
}

// queryFloat parses an optional number parameter; NaN and infinities are
// refused here so that the domain sees only numbers.
func queryFloat(c fiber.Ctx, p *hyperlieu.Problems, name string) (float64, bool) {
	v := c.Query(name)
	if v == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		p.Add(name, "must be a number")
		return 0, false
	}
	return f, true
}

type cursorJSON struct {
	D float64 `json:"d"`
	K string  `json:"k"`
	I string  `json:"i"`
}

func encodeCursor(c *shop.NearbyCursor) string {
	if c == nil {
		return ""
	}
	b, _ := json.Marshal(cursorJSON{c.DistanceM, string(c.Kind), c.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (*shop.NearbyCursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	var cj cursorJSON
	if err != nil || json.Unmarshal(b, &cj) != nil {
		return nil, false
	}
	return &shop.NearbyCursor{DistanceM: cj.D, Kind: shop.PlaceKind(cj.K), ID: cj.I}, true
}

// getNearby handles GET /v1/nearby.
func (s *Server) getNearby(c fiber.Ctx) error {
	var p hyperlieu.Problems
	q := shop.NearbyQuery{}
	lat, okLat := queryFloat(c, &p, "lat")
	lng, okLng := queryFloat(c, &p, "lng")
	if okLat && okLng {
		q.Center = &geo.Point{Lat: lat, Lng: lng}
	} else if len(p) == 0 {
		if !okLat {
			p.Add("lat", "is required")
		}
		if !okLng {
			p.Add("lng", "is required")
		}
	}
	if r, ok := queryFloat(c, &p, "radius"); ok {
		q.RadiusM = &r
	}
	if l, ok := queryFloat(c, &p, "limit"); ok {
		q.Limit = int(l)
		if l != math.Trunc(l) || l < 1 {
			p.Add("limit", "must be a whole number between 1 and 100")
		}
	}
	if cur := c.Query("cursor"); cur != "" {
		var ok bool
		if q.After, ok = decodeCursor(cur); !ok {
			p.Add("cursor", "is not a cursor this API returned")
		}
	}
	if err := p.Err(); err != nil {
		return err
	}
	page, err := s.svc.Shops.Nearby(c.Context(), userID(c), q)
	if err != nil {
		return err
	}
	out := nearbyResponse{Items: make([]nearbyItem, 0, len(page.Items)), NextCursor: encodeCursor(page.Next)}
	for _, it := range page.Items {
		n := nearbyItem{Kind: string(it.Kind), ID: it.ID, DistanceM: it.DistanceM}
		switch {
		case it.Shop != nil:
			n.Location, n.Name, n.Address = newPoint(it.Shop.Location), it.Shop.Name, it.Shop.Address
		case it.Event != nil:
			e := it.Event
			n.Location, n.Title, n.ShopID, n.Category = newPoint(e.Location), e.Title, e.ShopID, e.Category
			n.StartsAt, n.EndsAt = &e.StartsAt, &e.EndsAt
		case it.Offer != nil:
			o := it.Offer
			n.Location, n.Title, n.ShopID, n.CampaignID = newPoint(o.Location), o.Title, o.ShopID, o.CampaignID
		}
		out.Items = append(out.Items, n)
	}
	return c.JSON(out)
}
