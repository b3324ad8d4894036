package store

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/campaign"
	"github.com/hyperlieu/hyperlieu/geo"
)

func campaignIndexes() []indexSpec {
	return []indexSpec{
		{"campaign_stats", index(bson.D{{Key: "campaignId", Value: 1}})},
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
// It is listed in the campaigns' list first, so that a stored campaign is
// always listed (an entry whose campaign never came is skipped), and its
// creation is logged after.
func (db *DB) CreateCampaign(ctx context.Context, c campaign.Campaign) error {
	if _, err := db.appendTo(ctx, campaignList, []listItem{{Owner: campaignsOwner, Ref: c.ID}}); err != nil {
		return err
	}
	if _, err := db.c("campaigns").InsertOne(ctx, toCampaignDoc(c)); err != nil {
		return translate(err, "campaign")
	}
	return db.logCampaign(ctx, c.ID)
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
// statuses when some are given. It reads the campaigns' list and each
// campaign by _id (two reads a campaign): a query by status decodes every
// campaign on the embedded database. Callers are the marketers' list and
// the fence index's full load, which is rare (campaign/index.go).
func (db *DB) FindCampaigns(ctx context.Context, statuses ...campaign.Status) ([]campaign.Campaign, error) {
	ids, err := db.campaignIDs(ctx)
	if err != nil {
		return nil, err
	}
	all, err := findByIDs(ctx, db.r("campaigns"), ids, nil, "campaigns", campaignDoc.campaign)
	if err != nil {
		return nil, err
	}
	out := make([]campaign.Campaign, 0, len(all))
	for _, c := range all {
		if len(statuses) == 0 || slices.Contains(statuses, c.Status) {
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b campaign.Campaign) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

// Every campaign is listed, at creation, in one owner list (lists.go),
// and every write of a campaign is appended to one numbered change log,
// so that instances follow changes by _id reads (like place_changes for
// shops): two reads when nothing changed, one more per change. The log's
// entry comes after the write it names, so a reader that sees it reads
// the write.
var (
	campaignList    = ownerList{coll: "campaign_list", prefix: "c"}
	campaignChanges = ownerList{coll: "campaign_changes", prefix: "x"}
)

const campaignsOwner = "all"

// campaignIDs returns every campaign's id, newest first.
func (db *DB) campaignIDs(ctx context.Context) ([]string, error) {
	es, err := db.listPage(ctx, campaignList, campaignsOwner, 0, math.MaxInt)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.Ref
	}
	return ids, nil
}

// logCampaign appends a write of campaign id to the change log.
func (db *DB) logCampaign(ctx context.Context, id string) error {
	_, err := db.appendTo(context.WithoutCancel(ctx), campaignChanges, []listItem{{Owner: campaignsOwner, Ref: id}})
	return err
}

// CampaignChangeTop returns the number of the last campaign change (0: none).
func (db *DB) CampaignChangeTop(ctx context.Context) (int, error) {
	return db.listTop(ctx, campaignChanges, campaignsOwner)
}

// FindCampaignsChangedAfter returns the campaigns, of any status, written
// after change number after, each once, and the number of the last change
// read; a campaign gone since is left out.
func (db *DB) FindCampaignsChangedAfter(ctx context.Context, after int) ([]campaign.Campaign, int, error) {
	top, err := db.listTop(ctx, campaignChanges, campaignsOwner)
	if err != nil || top <= after {
		return nil, max(top, after), err
	}
	var ids []string
	for n := after + 1; n <= top; n++ {
		var e listEntry
		err := db.r(campaignChanges.coll).FindOne(ctx, byID(campaignChanges.entry(campaignsOwner, n))).Decode(&e)
		if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
			return nil, after, translate(err, campaignChanges.coll)
		}
		if e.Ref != "" {
			ids = append(ids, e.Ref)
		}
	}
	cs, err := findByIDs(ctx, db.r("campaigns"), ids, nil, "campaigns", campaignDoc.campaign)
	if err != nil {
		return nil, after, err
	}
	return cs, top, nil
}

// MigrateCampaignPaths gives what older versions stored the keys issue 15
// reads instead of queries, once per database each: the campaigns' list
// (campaigns were found by status) and the customers' presence (location
// states were found by cell). It returns how many it listed.
func (db *DB) MigrateCampaignPaths(ctx context.Context) (int, error) {
	n := 0
	err := db.once(ctx, "campaign-list-1", func() error {
		all, err := findMany(ctx, db.c("campaigns"), bson.D{}, options.Find().
			SetProjection(bson.D{{Key: "_id", Value: 1}}).SetSort(bson.D{{Key: "createdAt", Value: 1}, {Key: "_id", Value: 1}}),
			"campaigns", func(d idDoc) string { return d.ID })
		if err != nil {
			return err
		}
		listed, err := db.campaignIDs(ctx)
		if err != nil {
			return err
		}
		var items []listItem
		for _, id := range all {
			if !slices.Contains(listed, id) {
				items = append(items, listItem{Owner: campaignsOwner, Ref: id})
			}
		}
		n = len(items)
		for start := 0; start < len(items); start += 1000 {
			if _, err := db.appendTo(ctx, campaignList, items[start:min(start+1000, len(items))]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	k, err := db.MigratePresence(ctx)
	return n + k, err
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
	return db.logCampaign(ctx, c.ID)
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
	return db.logCampaign(ctx, id)
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

// FindConsentingUsers returns those of ids whose location consent is on,
// one read by _id each (a $in decodes every user on the embedded database).
func (db *DB) FindConsentingUsers(ctx context.Context, ids []string) ([]string, error) {
	type consentDoc struct {
		ID    string `bson:"_id"`
		Prefs struct {
			LocationConsent bool `bson:"locationConsent"`
		} `bson:"prefs"`
	}
	users, err := findByIDs(ctx, db.r("users"), ids, options.FindOne().SetProjection(bson.D{{Key: "prefs.locationConsent", Value: 1}}),
		"users", func(d consentDoc) consentDoc { return d })
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, u := range users {
		if u.Prefs.LocationConsent {
			out = append(out, u.ID)
		}
	}
	return out, nil
}
