package api

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/campaign"
	"github.com/hyperlieu/hyperlieu/geo"
)

// campaignRoutes are the marketers' campaigns: create, edit, run, preview
// and measure.
func (s *Server) campaignRoutes() []route {
	mk := only(hyperlieu.RoleMarketer, hyperlieu.RoleAdmin)
	return []route{
		{method: "POST", path: "/v1/campaigns", op: "createCampaign", access: mk, summary: "Create a draft geofenced campaign",
			in: campaignRequest{}, out: campaignResponse{}, status: 201, headers: []string{"Location"}, handler: s.postCampaign},
		{method: "GET", path: "/v1/campaigns", op: "listCampaigns", access: mk, summary: "List campaigns, newest first, optionally of one status",
			query: campaignsQuery{}, out: []campaignResponse{}, handler: s.getCampaigns},
		{method: "GET", path: "/v1/campaigns/:id", op: "getCampaign", access: mk, summary: "One campaign", out: campaignResponse{}, handler: s.getCampaign},
		{method: "PATCH", path: "/v1/campaigns/:id", op: "updateCampaign", access: mk, summary: "Change a campaign (geofence and audience only in draft or paused)",
			in: campaignRequest{}, out: campaignResponse{}, errs: []int{409}, handler: s.patchCampaign},
		{method: "POST", path: "/v1/campaigns/:id/activate", op: "activateCampaign", access: mk, summary: "Start (or resume) a campaign",
			out: campaignResponse{}, errs: []int{409, 422}, handler: s.transition("activate")},
		{method: "POST", path: "/v1/campaigns/:id/pause", op: "pauseCampaign", access: mk, summary: "Pause an active campaign",
			out: campaignResponse{}, errs: []int{409}, handler: s.transition("pause")},
		{method: "POST", path: "/v1/campaigns/:id/end", op: "endCampaign", access: mk, summary: "End a campaign for good",
			out: campaignResponse{}, errs: []int{409}, handler: s.transition("end")},
		{method: "GET", path: "/v1/campaigns/:id/cells", op: "getCampaignCells", access: mk, summary: "GeoJSON FeatureCollection of the H3 cells covering the geofence, with count and area",
			out: cellsResponse{}, handler: s.getCampaignCells},
		{method: "GET", path: "/v1/campaigns/:id/reach", op: "getCampaignReach", access: mk, summary: "Distinct consenting customers last seen inside the geofence in the past ?days=N (default 7)",
			query: reachQuery{}, out: reachResponse{}, handler: s.getCampaignReach},
		{method: "GET", path: "/v1/campaigns/:id/stats", op: "getCampaignStats", access: mk, summary: "The campaign's funnel counters",
			out: statsResponse{}, handler: s.getCampaignStats},
	}
}

type centerJSON struct {
	Lat float64 `json:"lat" api:"required,min=-90,max=90"`
	Lng float64 `json:"lng" api:"required,min=-180,max=180"`
}

type circleJSON struct {
	Center  centerJSON `json:"center" api:"required"`
	RadiusM float64    `json:"radiusM" api:"required,min=0"`
}

type shopsJSON struct {
	ShopIDs []string `json:"shopIds" api:"required,minItems=1,maxItems=500"`
	RadiusM float64  `json:"radiusM" api:"required,min=10,max=50000"`
}

// geofenceJSON is one of: a GeoJSON Polygon or MultiPolygon (type and
// coordinates, positions [lng, lat]), circles, or shops; on input also a
// GeoJSON Feature or FeatureCollection of such polygons. Its schema is
// written by hand (geofence_schema.go): reflection cannot say "one of".
type geofenceJSON struct {
	Type        string          `json:"type,omitempty"`
	Coordinates json.RawMessage `json:"coordinates,omitempty"`
	Geometry    *geofenceJSON   `json:"geometry,omitempty"` // Feature
	Features    []featureJSON   `json:"features,omitempty"` // FeatureCollection
	Circles     []circleJSON    `json:"circles,omitempty"`
	Shops       *shopsJSON      `json:"shops,omitempty"`
}

// featureJSON is a GeoJSON Feature; its properties are ignored.
type featureJSON struct {
	Type     string        `json:"type"`
	Geometry *geofenceJSON `json:"geometry"`
}

type triggerJSON struct {
	Kind            string `json:"kind" api:"required,enum=enter|dwell|exit"`
	DwellSeconds    int    `json:"dwellSeconds,omitempty" api:"min=0,max=86400" doc:"For a dwell trigger: 10 to 86400"`
	MinDwellSeconds int    `json:"minDwellSeconds,omitempty" api:"min=0,max=86400" doc:"For an exit trigger: the stay needed before leaving fires it, 0 to 86400"`
}

type clockWindow struct {
	From string `json:"from" api:"required" doc:"HH:MM"`
	To   string `json:"to" api:"required" doc:"HH:MM"`
}

type scheduleJSON struct {
	StartsAt *time.Time   `json:"startsAt,omitempty"`
	EndsAt   *time.Time   `json:"endsAt,omitempty"`
	Timezone string       `json:"timezone,omitempty" doc:"IANA time zone of days and hours"`
	Days     []string     `json:"days,omitempty" api:"enum=mon|tue|wed|thu|fri|sat|sun"`
	Hours    *clockWindow `json:"hours,omitempty"`
}

type audienceJSON struct {
	Segments  []string `json:"segments,omitempty" api:"enum=all|newcomer|devoted|wandering|prospect|dormant" doc:"Empty or [all]: everyone"`
	Newcomers bool     `json:"newcomers"`
}

type offerTextJSON struct {
	Locale    string `json:"locale" api:"required,enum=en|fr"`
	Formality string `json:"formality" api:"required,enum=formal|familiar"`
	Title     string `json:"title" api:"required,maxLength=80"`
	Body      string `json:"body" api:"maxLength=500"`
}

func offerTextsOf(xs []offerTextJSON) []campaign.OfferText {
	var out []campaign.OfferText
	for _, x := range xs {
		out = append(out, campaign.OfferText{Locale: x.Locale, Formality: hyperlieu.Formality(x.Formality), Title: x.Title, Body: x.Body})
	}
	return out
}

func newOfferTexts(ts []campaign.OfferText) []offerTextJSON {
	out := make([]offerTextJSON, 0, len(ts))
	for _, t := range ts {
		out = append(out, offerTextJSON{Locale: t.Locale, Formality: string(t.Formality), Title: t.Title, Body: t.Body})
	}
	return out
}

type offerTemplateJSON struct {
	Texts         []offerTextJSON `json:"texts" api:"required,minItems=1"`
	Value         string          `json:"value" api:"maxLength=60"`
	ValidityHours int             `json:"validityHours" api:"required,min=1,max=8760"`
	Budget        int             `json:"budget" api:"min=0,max=10000000" doc:"Redemptions; 0: unlimited"`
}

type capsJSON struct {
	PerCustomer     int `json:"perCustomer" api:"min=0,max=1000" doc:"0: no limit"`
	CooldownSeconds int `json:"cooldownSeconds" api:"min=0,max=31536000"`
}

// campaignRequest creates a campaign, or patches one (absent fields stay).
type campaignRequest struct {
	Name     *string            `json:"name,omitempty"`
	Geofence *geofenceJSON      `json:"geofence,omitempty"`
	Trigger  *triggerJSON       `json:"trigger,omitempty"`
	Schedule *scheduleJSON      `json:"schedule,omitempty"`
	Audience *audienceJSON      `json:"audience,omitempty"`
	Offer    *offerTemplateJSON `json:"offer,omitempty"`
	Caps     *capsJSON          `json:"caps,omitempty"`
	// The experiment: only while the campaign is a draft.
	Variants       *[]variantJSON `json:"variants,omitempty" api:"maxItems=8" doc:"Offer variants (up to 8); each customer outside the holdout gets one, by weight"`
	HoldoutPercent *int           `json:"holdoutPercent,omitempty" api:"min=0,max=50" doc:"Share of customers who are matched and counted but get nothing"`
	ReturnDays     *int           `json:"returnDays,omitempty" api:"min=1,max=90" doc:"A visit this many days after the trigger counts as a return; default 7"`
}

var weekdays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func (r campaignRequest) input() (campaign.Input, error) {
	var p hyperlieu.Problems
	in := campaign.Input{Name: r.Name}
	if r.Geofence != nil {
		g := r.Geofence.geofence(&p)
		in.Geofence = &g
	}
	if t := r.Trigger; t != nil {
		in.Trigger = &campaign.Trigger{Kind: campaign.TriggerKind(t.Kind), DwellSeconds: t.DwellSeconds, MinDwellSeconds: t.MinDwellSeconds}
	}
	if sc := r.Schedule; sc != nil {
		s := campaign.Schedule{Timezone: sc.Timezone}
		if sc.StartsAt != nil {
			s.StartsAt = sc.StartsAt.UTC()
		}
		if sc.EndsAt != nil {
			s.EndsAt = sc.EndsAt.UTC()
		}
		for _, d := range sc.Days {
			s.Days = append(s.Days, time.Weekday(indexOf(weekdays, d))) // -1 for an unknown day: the domain names it
		}
		if sc.Hours != nil {
			s.Hours = &hyperlieu.ClockWindow{From: sc.Hours.From, To: sc.Hours.To}
		}
		in.Schedule = &s
	}
	if a := r.Audience; a != nil {
		au := campaign.Audience{Newcomers: a.Newcomers}
		for _, sg := range a.Segments {
			if sg != "all" {
				au.Segments = append(au.Segments, hyperlieu.Segment(sg))
			}
		}
		in.Audience = &au
	}
	if o := r.Offer; o != nil {
		in.Offer = &campaign.OfferTemplate{Texts: offerTextsOf(o.Texts), Value: o.Value, Validity: time.Duration(o.ValidityHours) * time.Hour, Budget: o.Budget}
	}
	if c := r.Caps; c != nil {
		in.Caps = &campaign.Caps{PerCustomer: c.PerCustomer, Cooldown: time.Duration(c.CooldownSeconds) * time.Second}
	}
	r.experimentInput(&in)
	return in, p.Err()
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// geofence reads the zone; shape problems are left to the domain, which
// names them. A GeoJSON Feature or FeatureCollection (as geojson.io and QGIS
// export) stands for the union of its Polygon and MultiPolygon geometries.
func (g geofenceJSON) geofence(p *hyperlieu.Problems) campaign.Geofence {
	kinds := 0
	if g.Type != "" || g.Coordinates != nil || g.Geometry != nil || g.Features != nil {
		kinds++
	}
	if g.Circles != nil {
		kinds++
	}
	if g.Shops != nil {
		kinds++
	}
	if kinds != 1 {
		p.Add("geofence", "give exactly one of: a GeoJSON Polygon, MultiPolygon, Feature or FeatureCollection (type, …), circles, or shops")
		return campaign.Geofence{}
	}
	switch {
	case g.Circles != nil:
		out := campaign.Geofence{Type: "circles"}
		for _, c := range g.Circles {
			out.Circles = append(out.Circles, geo.Circle{Center: geo.Point{Lat: c.Center.Lat, Lng: c.Center.Lng}, RadiusM: c.RadiusM})
		}
		return out
	case g.Shops != nil:
		return campaign.Geofence{Type: "shops", ShopIDs: g.Shops.ShopIDs, ShopRadiusM: g.Shops.RadiusM}
	}
	var polys []geo.Polygon
	ok := true
	switch g.Type {
	case "Feature":
		polys, ok = g.Geometry.polygons(p, "geofence.geometry")
	case "FeatureCollection":
		for i, f := range g.Features {
			ps, fok := f.Geometry.polygons(p, fmt.Sprintf("geofence.features[%d].geometry", i))
			polys, ok = append(polys, ps...), ok && fok
		}
		if ok && len(polys) == 0 {
			p.Add("geofence.features", "must hold at least one Polygon or MultiPolygon feature")
			ok = false
		}
	default:
		polys, ok = g.polygons(p, "geofence")
	}
	if !ok {
		return campaign.Geofence{}
	}
	if g.Type == "Polygon" || len(polys) == 1 && g.Type != "MultiPolygon" {
		return campaign.Geofence{Type: "Polygon", Polygons: polys}
	}
	return campaign.Geofence{Type: "MultiPolygon", Polygons: polys}
}

// polygons reads a Polygon or MultiPolygon geometry named field.
func (g *geofenceJSON) polygons(p *hyperlieu.Problems, field string) ([]geo.Polygon, bool) {
	if g == nil {
		p.Add(field, "is required")
		return nil, false
	}
	switch g.Type {
	case "Polygon":
		var rings [][][]float64
		if err := json.Unmarshal(g.Coordinates, &rings); err != nil {
			p.Add(field+".coordinates", "must be an array of rings, each an array of [lng, lat] positions")
			return nil, false
		}
		poly, ok := polygonOf(p, field+".coordinates", rings)
		return []geo.Polygon{poly}, ok
	case "MultiPolygon":
		var all [][][][]float64
		if err := json.Unmarshal(g.Coordinates, &all); err != nil {
			p.Add(field+".coordinates", "must be an array of polygons, each an array of rings of [lng, lat] positions")
			return nil, false
		}
		out := make([]geo.Polygon, 0, len(all))
		for i, rings := range all {
			poly, ok := polygonOf(p, fmt.Sprintf("%s.coordinates[%d]", field, i), rings)
			if !ok {
				return nil, false
			}
			out = append(out, poly)
		}
		return out, true
	}
	p.Add(field+".type", "must be Polygon or MultiPolygon")
	return nil, false
}

func polygonOf(p *hyperlieu.Problems, field string, rings [][][]float64) (geo.Polygon, bool) {
	poly := make(geo.Polygon, 0, len(rings))
	for i, r := range rings {
		ring := make(geo.Ring, 0, len(r))
		for j, pos := range r {
			if len(pos) < 2 || len(pos) > 3 {
				p.Add(fmt.Sprintf("%s[%d][%d]", field, i, j), "must be a position [lng, lat]")
				return nil, false
			}
			ring = append(ring, geo.Point{Lat: pos[1], Lng: pos[0]})
		}
		poly = append(poly, ring)
	}
	return poly, true
}

type campaignsQuery struct {
	Status string `query:"status" api:"enum=draft|active|paused|ended"`
}

type reachQuery struct {
	Days int `query:"days" api:"min=1,max=90,default=7" doc:"Days to look back"`
}

type campaignResponse struct {
	ID             string            `json:"id"`
	Name           string            `json:"name"`
	Status         string            `json:"status" api:"enum=draft|active|paused|ended"`
	Geofence       geofenceJSON      `json:"geofence"`
	AreaM2         float64           `json:"areaM2"`
	Trigger        triggerJSON       `json:"trigger"`
	Schedule       scheduleJSON      `json:"schedule"`
	Audience       audienceJSON      `json:"audience"`
	Offer          offerTemplateJSON `json:"offer"`
	Caps           capsJSON          `json:"caps"`
	CreatedBy      string            `json:"createdBy"`
	CreatedAt      time.Time         `json:"createdAt"`
	UpdatedAt      time.Time         `json:"updatedAt"`
	BudgetSpentAt  *time.Time        `json:"budgetSpentAt,omitempty"`
	Variants       []variantJSON     `json:"variants"`
	HoldoutPercent int               `json:"holdoutPercent"`
	ReturnDays     int               `json:"returnDays"`
	WinnerID       string            `json:"winnerId,omitempty"`
}

func positions(poly geo.Polygon) [][][]float64 {
	out := make([][][]float64, len(poly))
	for i, r := range poly {
		out[i] = make([][]float64, len(r))
		for j, pt := range r {
			out[i][j] = []float64{pt.Lng, pt.Lat}
		}
	}
	return out
}

func newCampaignResponse(c campaign.Campaign) campaignResponse {
	r := campaignResponse{
		ID: c.ID, Name: c.Name, Status: string(c.Status), AreaM2: c.Geofence.Fence.AreaM2(),
		Trigger:   triggerJSON{Kind: string(c.Trigger.Kind), DwellSeconds: c.Trigger.DwellSeconds, MinDwellSeconds: c.Trigger.MinDwellSeconds},
		Schedule:  scheduleJSON{Timezone: c.Schedule.Timezone, Days: []string{}},
		Audience:  audienceJSON{Segments: []string{}, Newcomers: c.Audience.Newcomers},
		Offer:     offerTemplateJSON{Texts: newOfferTexts(c.Offer.Texts), Value: c.Offer.Value, ValidityHours: int(c.Offer.Validity / time.Hour), Budget: c.Offer.Budget},
		Caps:      capsJSON{PerCustomer: c.Caps.PerCustomer, CooldownSeconds: int(c.Caps.Cooldown / time.Second)},
		CreatedBy: c.CreatedBy, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
	g := c.Geofence
	switch g.Type {
	case "Polygon":
		r.Geofence.Type = "Polygon"
		if len(g.Polygons) > 0 {
			r.Geofence.Coordinates, _ = json.Marshal(positions(g.Polygons[0]))
		}
	case "MultiPolygon":
		r.Geofence.Type = "MultiPolygon"
		all := make([][][][]float64, len(g.Polygons))
		for i, p := range g.Polygons {
			all[i] = positions(p)
		}
		r.Geofence.Coordinates, _ = json.Marshal(all)
	case "circles":
		for _, ci := range g.Circles {
			r.Geofence.Circles = append(r.Geofence.Circles, circleJSON{Center: centerJSON{ci.Center.Lat, ci.Center.Lng}, RadiusM: ci.RadiusM})
		}
	case "shops":
		r.Geofence.Shops = &shopsJSON{ShopIDs: g.ShopIDs, RadiusM: g.ShopRadiusM}
	}
	if !c.Schedule.StartsAt.IsZero() {
		t := c.Schedule.StartsAt
		r.Schedule.StartsAt = &t
	}
	if !c.Schedule.EndsAt.IsZero() {
		t := c.Schedule.EndsAt
		r.Schedule.EndsAt = &t
	}
	for _, d := range c.Schedule.Days {
		r.Schedule.Days = append(r.Schedule.Days, weekdays[d])
	}
	if h := c.Schedule.Hours; h != nil {
		r.Schedule.Hours = &clockWindow{From: h.From, To: h.To}
	}
	for _, sg := range c.Audience.Segments {
		r.Audience.Segments = append(r.Audience.Segments, string(sg))
	}
	if len(r.Audience.Segments) == 0 {
		r.Audience.Segments = []string{"all"}
	}
	if !c.BudgetSpentAt.IsZero() {
		t := c.BudgetSpentAt
		r.BudgetSpentAt = &t
	}
	r.experiment(c.Experiment)
	return r
}

// postCampaign handles POST /v1/campaigns.
func (s *Server) postCampaign(c fiber.Ctx) error {
	var in campaignRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	ci, err := in.input()
	if err != nil {
		return err
	}
	cp, err := s.svc.Campaigns.CreateCampaign(c.Context(), actor(c), ci)
	if err != nil {
		return err
	}
	c.Location("/v1/campaigns/" + cp.ID)
	return c.Status(fiber.StatusCreated).JSON(newCampaignResponse(cp))
}

// getCampaigns handles GET /v1/campaigns.
func (s *Server) getCampaigns(c fiber.Ctx) error {
	cs, err := s.svc.Campaigns.Campaigns(c.Context(), c.Query("status"))
	if err != nil {
		return err
	}
	out := make([]campaignResponse, len(cs))
	for i, cp := range cs {
		out[i] = newCampaignResponse(cp)
	}
	return c.JSON(out)
}

// getCampaign handles GET /v1/campaigns/{id}.
func (s *Server) getCampaign(c fiber.Ctx) error {
	cp, err := s.svc.Campaigns.Campaign(c.Context(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(newCampaignResponse(cp))
}

// patchCampaign handles PATCH /v1/campaigns/{id}.
func (s *Server) patchCampaign(c fiber.Ctx) error {
	var in campaignRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	ci, err := in.input()
	if err != nil {
		return err
	}
	cp, err := s.svc.Campaigns.UpdateCampaign(c.Context(), actor(c), c.Params("id"), ci)
	if err != nil {
		return err
	}
	return c.JSON(newCampaignResponse(cp))
}

// transition handles POST /v1/campaigns/{id}/activate, pause and end.
func (s *Server) transition(to string) fiber.Handler {
	return func(c fiber.Ctx) error {
		cp, err := s.svc.Campaigns.Transition(c.Context(), actor(c), c.Params("id"), to)
		if err != nil {
			return err
		}
		return c.JSON(newCampaignResponse(cp))
	}
}

type cellFeature struct {
	Type       string         `json:"type"`
	Geometry   map[string]any `json:"geometry"`
	Properties cellProperties `json:"properties"`
}

type cellProperties struct {
	Cell   string  `json:"cell"`
	Inside bool    `json:"inside"` // wholly inside the geofence; else on its boundary
	AreaM2 float64 `json:"areaM2"`
}

type cellsResponse struct {
	Type       string        `json:"type"`
	Features   []cellFeature `json:"features"`
	Count      int           `json:"count"`
	AreaM2     float64       `json:"areaM2"`
	Resolution int           `json:"resolution"`
}

// getCampaignCells handles GET /v1/campaigns/{id}/cells.
func (s *Server) getCampaignCells(c fiber.Ctx) error {
	cells, err := s.svc.Campaigns.Cells(c.Context(), c.Params("id"))
	if err != nil {
		return err
	}
	out := cellsResponse{Type: "FeatureCollection", Features: make([]cellFeature, 0, len(cells)), Count: len(cells), Resolution: geo.FenceResolution}
	for _, cl := range cells {
		ring := make([][]float64, 0, len(cl.Boundary)+1)
		for _, p := range cl.Boundary {
			ring = append(ring, []float64{p.Lng, p.Lat})
		}
		if len(cl.Boundary) > 0 {
			ring = append(ring, []float64{cl.Boundary[0].Lng, cl.Boundary[0].Lat})
		}
		out.AreaM2 += cl.AreaM2
		out.Features = append(out.Features, cellFeature{
			Type:       "Feature",
			Geometry:   map[string]any{"type": "Polygon", "coordinates": [][][]float64{ring}},
			Properties: cellProperties{Cell: cl.Cell.String(), Inside: cl.Inside, AreaM2: cl.AreaM2},
		})
	}
	return c.JSON(out)
}

type reachResponse struct {
	CampaignID string `json:"campaignId"`
	Days       int    `json:"days"`
	Customers  int    `json:"customers"`
}

// getCampaignReach handles GET /v1/campaigns/{id}/reach.
func (s *Server) getCampaignReach(c fiber.Ctx) error {
	days := 7
	if q := c.Query("days"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil {
			return hyperlieu.InvalidField("days", "must be a whole number of days")
		}
		days = n
	}
	n, err := s.svc.Campaigns.Reach(c.Context(), c.Params("id"), days)
	if err != nil {
		return err
	}
	return c.JSON(reachResponse{CampaignID: c.Params("id"), Days: days, Customers: n})
}

type statsResponse struct {
	Entered    int64            `json:"entered"`
	Triggered  int64            `json:"triggered"`
	Suppressed map[string]int64 `json:"suppressed"`
	Pushed     int64            `json:"pushed"`
	Opened     int64            `json:"opened"`
	Redeemed   int64            `json:"redeemed"`
	// Experiment has each arm's figures and lift; absent without an experiment.
	Experiment *experimentStatsJSON `json:"experiment,omitempty"`
}

// getCampaignStats handles GET /v1/campaigns/{id}/stats.
func (s *Server) getCampaignStats(c fiber.Ctx) error {
	st, err := s.svc.Campaigns.Stats(c.Context(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(statsResponse{Entered: st.Entered, Triggered: st.Triggered, Suppressed: st.Suppressed,
		Pushed: st.Pushed, Opened: st.Opened, Redeemed: st.Redeemed, Experiment: newExperimentStats(st.Experiment)})
}
