package store

import (
	"context"
	"math"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/campaign"
	"github.com/hyperlieu/hyperlieu/geo"
)

func campaignIndexes() []indexSpec {
	return []indexSpec{
		{"campaigns", index(bson.D{{Key: "status", Value: 1}})},
		{"campaign_stamps", index(bson.D{{Key: "at", Value: 1}})},
		{"campaign_stats", index(bson.D{{Key: "campaignId", Value: 1}})},
		{"location_states", index(bson.D{{Key: "cell", Value: 1}, {Key: "at", Value: 1}})},
		{"offers", index(bson.D{{Key: "userId", Value: 1}})},
		{"report_answers", index(bson.D{{Key: "at", Value: 1}})},
	}
}

type campaignDoc struct {
	ID            string        `bson:"_id"`
	Name          string        `bson:"name"`
	Status        string        `bson:"status"`
	Geofence      geofenceDoc   `bson:"geofence"`
	Trigger       triggerDoc    `bson:"trigger"`
	Schedule      scheduleDoc   `bson:"schedule"`
	Audience      audienceDoc   `bson:"audience"`
	Offer         offerTmplDoc  `bson:"offer"`
	Caps          capsDoc       `bson:"caps"`
	CreatedBy     string        `bson:"createdBy"`
	CreatedAt     time.Time     `bson:"createdAt"`
	UpdatedAt     time.Time     `bson:"updatedAt"`
	BudgetSpentAt *time.Time    `bson:"budgetSpentAt,omitempty"`
	Experiment    experimentDoc `bson:"experiment"`
}

// geofenceDoc keeps the marketer's zone and the resolved fence; positions
// are [lng, lat] as in GeoJSON.
type geofenceDoc struct {
	Type        string       `bson:"type"`
	Polygons    []polygonDoc `bson:"polygons,omitempty"`
	Circles     []circleDoc  `bson:"circles,omitempty"`
	ShopIDs     []string     `bson:"shopIds,omitempty"`
	ShopRadiusM float64      `bson:"shopRadiusM,omitempty"`
	Fence       fenceDoc     `bson:"fence"`
}

type fenceDoc struct {
	Polygons []polygonDoc `bson:"polygons,omitempty"`
	Circles  []circleDoc  `bson:"circles,omitempty"`
}

type circleDoc struct {
	Lat     float64 `bson:"lat"`
	Lng     float64 `bson:"lng"`
	RadiusM float64 `bson:"radiusM"`
}

type triggerDoc struct {
	Kind         string `bson:"kind"`
	DwellSeconds int    `bson:"dwellSeconds,omitempty"`
	MinDwell     int    `bson:"minDwellSeconds,omitempty"`
}

type scheduleDoc struct {
	StartsAt *time.Time `bson:"startsAt,omitempty"`
	EndsAt   *time.Time `bson:"endsAt,omitempty"`
	Timezone string     `bson:"timezone"`
	Days     []int      `bson:"days,omitempty"`
	From     string     `bson:"from,omitempty"`
	To       string     `bson:"to,omitempty"`
}

type audienceDoc struct {
	Segments  []string `bson:"segments,omitempty"`
	Newcomers bool     `bson:"newcomers"`
}

type offerTextDoc struct {
	Locale    string `bson:"locale"`
	Formality string `bson:"formality"`
	Title     string `bson:"title"`
	Body      string `bson:"body"`
}

func toOfferTextDocs(ts []campaign.OfferText) []offerTextDoc {
	out := make([]offerTextDoc, 0, len(ts))
	for _, t := range ts {
		out = append(out, offerTextDoc{Locale: t.Locale, Formality: string(t.Formality), Title: t.Title, Body: t.Body})
	}
	return out
}

func offerTextsOf(ds []offerTextDoc) []campaign.OfferText {
	var out []campaign.OfferText
	for _, t := range ds {
		out = append(out, campaign.OfferText{Locale: t.Locale, Formality: hyperlieu.Formality(t.Formality), Title: t.Title, Body: t.Body})
	}
	return out
}

type offerTmplDoc struct {
	Texts           []offerTextDoc `bson:"texts"`
	Value           string         `bson:"value"`
	ValiditySeconds int64          `bson:"validitySeconds"`
	Budget          int            `bson:"budget"`
}

type capsDoc struct {
	PerCustomer     int   `bson:"perCustomer"`
	CooldownSeconds int64 `bson:"cooldownSeconds"`
}

// polygonDoc holds each ring as a flat [lng, lat, lng, lat, …] array:
// FerretDB v1 does not store arrays nested in arrays.
type polygonDoc struct {
	Rings []ringDoc `bson:"rings"`
}

type ringDoc struct {
	C []float64 `bson:"c"`
}

func toPolygonsDoc(ps []geo.Polygon) []polygonDoc {
	var out []polygonDoc
	for _, p := range ps {
		var d polygonDoc
		for _, r := range p {
			c := make([]float64, 0, 2*len(r))
			for _, pt := range r {
				c = append(c, pt.Lng, pt.Lat)
			}
			d.Rings = append(d.Rings, ringDoc{C: c})
		}
		out = append(out, d)
	}
	return out
}

func polygonsOf(d []polygonDoc) []geo.Polygon {
	var out []geo.Polygon
	for _, p := range d {
		poly := make(geo.Polygon, 0, len(p.Rings))
		for _, r := range p.Rings {
			ring := make(geo.Ring, 0, len(r.C)/2)
			for i := 0; i+1 < len(r.C); i += 2 {
				ring = append(ring, geo.Point{Lat: r.C[i+1], Lng: r.C[i]})
			}
			poly = append(poly, ring)
		}
		out = append(out, poly)
	}
	return out
}

func toCirclesDoc(cs []geo.Circle) []circleDoc {
	var out []circleDoc
	for _, c := range cs {
		out = append(out, circleDoc{Lat: c.Center.Lat, Lng: c.Center.Lng, RadiusM: c.RadiusM})
	}
	return out
}

func circlesOf(d []circleDoc) []geo.Circle {
	var out []geo.Circle
	for _, c := range d {
		out = append(out, geo.Circle{Center: geo.Point{Lat: c.Lat, Lng: c.Lng}, RadiusM: c.RadiusM})
	}
	return out
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func toCampaignDoc(c campaign.Campaign) campaignDoc {
	g := c.Geofence
	d := campaignDoc{
		ID: c.ID, Name: c.Name, Status: string(c.Status),
		Geofence: geofenceDoc{
			Type: g.Type, Polygons: toPolygonsDoc(g.Polygons), Circles: toCirclesDoc(g.Circles),
			ShopIDs: g.ShopIDs, ShopRadiusM: g.ShopRadiusM,
			Fence: fenceDoc{Polygons: toPolygonsDoc(g.Fence.Polygons), Circles: toCirclesDoc(g.Fence.Circles)},
		},
		Trigger: triggerDoc{Kind: string(c.Trigger.Kind), DwellSeconds: c.Trigger.DwellSeconds, MinDwell: c.Trigger.MinDwellSeconds},
		Schedule: scheduleDoc{
			StartsAt: timePtr(c.Schedule.StartsAt), EndsAt: timePtr(c.Schedule.EndsAt), Timezone: c.Schedule.Timezone,
		},
		Audience: audienceDoc{Newcomers: c.Audience.Newcomers},
		Offer: offerTmplDoc{
			Value: c.Offer.Value, ValiditySeconds: int64(c.Offer.Validity / time.Second), Budget: c.Offer.Budget,
			Texts: toOfferTextDocs(c.Offer.Texts),
		},
		Caps:      capsDoc{PerCustomer: c.Caps.PerCustomer, CooldownSeconds: int64(c.Caps.Cooldown / time.Second)},
		CreatedBy: c.CreatedBy, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		BudgetSpentAt: timePtr(c.BudgetSpentAt), Experiment: toExperimentDoc(c.Experiment),
	}
	for _, wd := range c.Schedule.Days {
		d.Schedule.Days = append(d.Schedule.Days, int(wd))
	}
	if h := c.Schedule.Hours; h != nil {
		d.Schedule.From, d.Schedule.To = h.From, h.To
	}
	for _, s := range c.Audience.Segments {
		d.Audience.Segments = append(d.Audience.Segments, string(s))
	}
	return d
}

func (d campaignDoc) campaign() campaign.Campaign {
	g := d.Geofence
	c := campaign.Campaign{
		ID: d.ID, Name: d.Name, Status: campaign.Status(d.Status),
		Geofence: campaign.Geofence{
			Type: g.Type, Polygons: polygonsOf(g.Polygons), Circles: circlesOf(g.Circles),
			ShopIDs: g.ShopIDs, ShopRadiusM: g.ShopRadiusM,
			Fence: geo.Fence{Polygons: polygonsOf(g.Fence.Polygons), Circles: circlesOf(g.Fence.Circles)},
		},
		Trigger: campaign.Trigger{Kind: campaign.TriggerKind(d.Trigger.Kind), DwellSeconds: d.Trigger.DwellSeconds, MinDwellSeconds: d.Trigger.MinDwell},
		Schedule: campaign.Schedule{
			StartsAt: timeOf(d.Schedule.StartsAt), EndsAt: timeOf(d.Schedule.EndsAt), Timezone: d.Schedule.Timezone,
		},
		Audience: campaign.Audience{Newcomers: d.Audience.Newcomers},
		Offer: campaign.OfferTemplate{
			Value: d.Offer.Value, Validity: time.Duration(d.Offer.ValiditySeconds) * time.Second, Budget: d.Offer.Budget,
			Texts: offerTextsOf(d.Offer.Texts),
		},
		Caps:      campaign.Caps{PerCustomer: d.Caps.PerCustomer, Cooldown: time.Duration(d.Caps.CooldownSeconds) * time.Second},
		CreatedBy: d.CreatedBy, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
		BudgetSpentAt: timeOf(d.BudgetSpentAt), Experiment: d.Experiment.experiment(),
	}
	for _, wd := range d.Schedule.Days {
		c.Schedule.Days = append(c.Schedule.Days, time.Weekday(wd))
	}
	if d.Schedule.From != "" {
		c.Schedule.Hours = &hyperlieu.ClockWindow{From: d.Schedule.From, To: d.Schedule.To}
	}
	for _, s := range d.Audience.Segments {
		c.Audience.Segments = append(c.Audience.Segments, hyperlieu.Segment(s))
	}
	return c
}

// CreateCampaign stores a new campaign.
func (db *DB) CreateCampaign(ctx context.Context, c campaign.Campaign) error {
	if _, err := db.c("campaigns").InsertOne(ctx, toCampaignDoc(c)); err != nil {
		return translate(err, "campaign")
	}
	return db.stamp(ctx, c.ID, c.UpdatedAt)
}

// FindCampaign returns the campaign with id, or NotFound.
func (db *DB) FindCampaign(ctx context.Context, id string) (campaign.Campaign, error) {
	var d campaignDoc
	if err := db.r("campaigns").FindOne(ctx, byID(id)).Decode(&d); err != nil {
		return campaign.Campaign{}, translate(err, "campaign")
	}
	return d.campaign(), nil
}

// FindCampaigns returns the campaigns, newest first, only those with one of
// statuses when some are given.
func (db *DB) FindCampaigns(ctx context.Context, statuses ...campaign.Status) ([]campaign.Campaign, error) {
	filter := bson.D{}
	if len(statuses) > 0 {
		sts := make([]string, len(statuses))
		for i, s := range statuses {
			sts[i] = string(s)
		}
		filter = bson.D{{Key: "status", Value: bson.D{{Key: "$in", Value: sts}}}}
	}
	return findMany(ctx, db.r("campaigns"), filter, options.Find().SetSort(bson.D{{Key: "createdAt", Value: -1}}),
		"campaigns", campaignDoc.campaign)
}

// Each campaign has a small stamp document (_id: campaign id, at: its
// updatedAt) in campaign_stamps, so that instances looking for recent
// changes scan small documents, not whole campaigns (FerretDB filters
// by scanning).
func (db *DB) stamp(ctx context.Context, id string, at time.Time) error {
	_, err := db.c("campaign_stamps").UpdateOne(ctx, byID(id),
		bson.D{{Key: "$set", Value: bson.D{{Key: "at", Value: at}}}}, options.UpdateOne().SetUpsert(true))
	return translate(err, "campaign stamp")
}

// FindCampaignStamps returns the id and updatedAt of the campaigns updated
// at or after since.
func (db *DB) FindCampaignStamps(ctx context.Context, since time.Time) (map[string]time.Time, error) {
	cur, err := db.r("campaign_stamps").Find(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$gte", Value: since}}}})
	if err != nil {
		return nil, translate(err, "campaigns")
	}
	var docs []struct {
		ID string    `bson:"_id"`
		At time.Time `bson:"at"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, translate(err, "campaigns")
	}
	out := make(map[string]time.Time, len(docs))
	for _, d := range docs {
		out[d.ID] = d.At.UTC()
	}
	return out, nil
}

// FindCampaignsByID returns the campaigns among ids that exist, one lookup
// by _id each (the fast path on every backend).
func (db *DB) FindCampaignsByID(ctx context.Context, ids []string) ([]campaign.Campaign, error) {
	var out []campaign.Campaign
	for _, id := range ids {
		c, err := db.FindCampaign(ctx, id)
		if hyperlieu.KindOf(err) == hyperlieu.NotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// UpdateCampaign replaces the stored campaign; NotFound if it is gone. The
// budget mark is kept: it is set by redemptions, not by marketers.
func (db *DB) UpdateCampaign(ctx context.Context, c campaign.Campaign) error {
	d := toCampaignDoc(c)
	set := bson.D{}
	raw, err := bson.Marshal(d)
	if err != nil {
		return err
	}
	var m bson.D
	if err := bson.Unmarshal(raw, &m); err != nil {
		return err
	}
	for _, e := range m {
		if e.Key != "_id" && e.Key != "budgetSpentAt" {
			set = append(set, e)
		}
	}
	if err := db.updateByID(ctx, "campaigns", c.ID, bson.D{{Key: "$set", Value: set}}, "campaign"); err != nil {
		return err
	}
	return db.stamp(ctx, c.ID, c.UpdatedAt)
}

// UpdateBudgetSpent records that a campaign's redemption budget is spent;
// NotFound when there is no such campaign. It moves updatedAt too, so that
// every instance's index reloads the campaign.
func (db *DB) UpdateBudgetSpent(ctx context.Context, id string, at time.Time) error {
	err := db.updateByID(ctx, "campaigns", id,
		bson.D{{Key: "$set", Value: bson.D{{Key: "budgetSpentAt", Value: at}, {Key: "updatedAt", Value: at}}}}, "campaign")
	if err != nil {
		return err
	}
	return db.stamp(ctx, id, at)
}

const campaignsVersionID = "campaigns-version"

// FindCampaignsVersion returns the campaigns' change marker, "" if never set.
func (db *DB) FindCampaignsVersion(ctx context.Context) (string, error) {
	var d struct {
		Value string `bson:"value"`
	}
	err := db.r("meta").FindOne(ctx, byID(campaignsVersionID)).Decode(&d)
	if hyperlieu.KindOf(translate(err, "")) == hyperlieu.NotFound {
		return "", nil
	}
	return d.Value, translate(err, "campaigns version")
}

// UpdateCampaignsVersion writes a new change marker. It is an upsert by
// design, never NotFound: the marker exists from the first change on. Any
// new value will do, so concurrent writers need no atomicity: each leaves a
// value nobody has built.
func (db *DB) UpdateCampaignsVersion(ctx context.Context, v string) error {
	_, err := db.c("meta").UpdateOne(ctx, byID(campaignsVersionID),
		bson.D{{Key: "$set", Value: bson.D{{Key: "value", Value: v}}}}, options.UpdateOne().SetUpsert(true))
	return translate(err, "campaigns version")
}

// UpdateCampaignStats adds deltas to one instance's shard of a campaign's
// counters. It is an upsert by design, never NotFound: a shard is created by
// its first count, and listed under its campaign before that (see
// statShards). Each instance writes only its own shard, over one
// connection in embedded mode, so the increments are exact even on FerretDB.
func (db *DB) UpdateCampaignStats(ctx context.Context, campaignID, instanceID string, deltas map[string]int64) error {
	shard := "stat:" + campaignID + ":" + instanceID
	if err := db.listShard(ctx, campaignID, shard); err != nil {
		return err
	}
	inc := bson.D{}
	for k, v := range deltas {
		inc = append(inc, bson.E{Key: "c." + strings.ReplaceAll(k, ".", "_"), Value: v})
	}
	_, err := db.c("campaign_stats").UpdateOne(ctx, byID(shard),
		bson.D{{Key: "$inc", Value: inc}, {Key: "$set", Value: bson.D{{Key: "campaignId", Value: campaignID}}}},
		options.UpdateOne().SetUpsert(true))
	return translate(err, "campaign stats")
}

type statsDoc struct {
	ID         string           `bson:"_id"`
	CampaignID string           `bson:"campaignId"`
	C          map[string]int64 `bson:"c"`
}

// FindCampaignStats sums every shard of a campaign's counters, read by _id
// from the campaign's list of shards.
func (db *DB) FindCampaignStats(ctx context.Context, campaignID string) (map[string]int64, error) {
	entries, err := db.listPage(ctx, statShards, campaignID, 0, math.MaxInt)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.Ref
	}
	docs, err := findByIDs(ctx, db.r("campaign_stats"), ids, nil, "campaign stats", func(d statsDoc) statsDoc { return d })
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, d := range docs {
		for k, v := range d.C {
			out[strings.ReplaceAll(k, "_", ".")] += v
		}
	}
	return out, nil
}

// A campaign's stats shards, one per instance that counted for it, are an
// owner list (lists.go) of the campaign: a query on campaignId decoded
// every shard of every campaign on the embedded database at each stats
// read. A shard is listed before its first count, once per process (a
// shard that exists was listed then).
var statShards = ownerList{coll: "campaign_stat_shards", prefix: "s"}

func (db *DB) listShard(ctx context.Context, campaignID, shard string) error {
	if _, done := db.shards.Load(shard); done {
		return nil
	}
	if err := db.listNew(ctx, statShards, "campaign_stats", campaignID, shard); err != nil {
		return err
	}
	db.shards.Store(shard, true)
	return nil
}

// listAllShards lists, once per database, the shards counted before they
// were listed.
func (db *DB) listAllShards(ctx context.Context) error {
	return db.once(ctx, "stat-shards-1", func() error {
		_, err := db.backfillList(ctx, backfill{l: statShards, coll: "campaign_stats", owner: "campaignId", by: "campaignId"})
		return err
	})
}

// FindConsentingUsers returns those of ids whose location consent is on.
func (db *DB) FindConsentingUsers(ctx context.Context, ids []string) ([]string, error) {
	return findMany(ctx, db.r("users"),
		bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}, {Key: "prefs.locationConsent", Value: true}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}),
		"users", func(d idDoc) string { return d.ID })
}
