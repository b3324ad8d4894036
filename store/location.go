package store

import (
	"context"
	"maps"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/campaign"
	"github.com/hyperlieu/hyperlieu/geo"
)

// locationStateDoc is one customer's whereabouts, keyed by user id so that
// a report costs one read and one write by _id.
type locationStateDoc struct {
	UserID    string               `bson:"_id"`
	Cell      string               `bson:"cell"`
	Lat       float64              `bson:"lat"`
	Lng       float64              `bson:"lng"`
	At        time.Time            `bson:"at"`
	AccuracyM float64              `bson:"accuracyM"`
	Inside    map[string]time.Time `bson:"inside,omitempty"`
	Dwelled   map[string]time.Time `bson:"dwelled,omitempty"`
	Issued    map[string]int       `bson:"issued,omitempty"`
	AtShops   map[string]time.Time `bson:"atShops,omitempty"`
	Answers   map[string]time.Time `bson:"answers,omitempty"`
}

func (d locationStateDoc) state() campaign.LocationState {
	c, _ := geo.ParseCell(d.Cell)
	st := campaign.LocationState{
		UserID: d.UserID, Cell: c, Point: geo.Point{Lat: d.Lat, Lng: d.Lng}, At: d.At.UTC(), AccuracyM: d.AccuracyM,
		Inside: d.Inside, Dwelled: d.Dwelled, Issued: d.Issued, AtShops: d.AtShops, Answers: d.Answers,
	}
	for k, v := range st.AtShops {
		st.AtShops[k] = v.UTC()
	}
	for k, v := range st.Answers {
		st.Answers[k] = v.UTC()
	}
	for k, v := range st.Inside {
		st.Inside[k] = v.UTC()
	}
	for k, v := range st.Dwelled {
		st.Dwelled[k] = v.UTC()
	}
	return st
}

// FindLocationState returns a customer's state, or NotFound.
func (db *DB) FindLocationState(ctx context.Context, userID string) (campaign.LocationState, error) {
	var d locationStateDoc
	if err := db.r("location_states").FindOne(ctx, byID(userID)).Decode(&d); err != nil {
		return campaign.LocationState{}, translate(err, "location state")
	}
	return d.state(), nil
}

// UpdateLocationState replaces a customer's state, or creates it: an upsert
// by design, never NotFound, as the first report creates it. The last writer
// wins: what must happen once is claimed elsewhere, by unique inserts.
func (db *DB) UpdateLocationState(ctx context.Context, st campaign.LocationState) error {
	d := locationStateDoc{
		UserID: st.UserID, Cell: st.Cell.String(), Lat: st.Point.Lat, Lng: st.Point.Lng, At: st.At, AccuracyM: st.AccuracyM,
		Inside: st.Inside, Dwelled: st.Dwelled, Issued: st.Issued, AtShops: st.AtShops, Answers: st.Answers,
	}
	_, err := db.c("location_states").ReplaceOne(ctx, byID(st.UserID), d, options.Replace().SetUpsert(true))
	return translate(err, "location state")
}

// triggerClaimDoc is a claim keyed by a MAC under its customer's claim
// key: it names no one (see campaign.TriggerClaim).
type triggerClaimDoc struct {
	Key string    `bson:"_id"`
	N   int       `bson:"n,omitempty"`
	At  time.Time `bson:"at"`
}

// CreateTrigger inserts the trigger keyed by its Key; Conflict when taken.
func (db *DB) CreateTrigger(ctx context.Context, t campaign.TriggerClaim) error {
	_, err := db.c("triggers").InsertOne(ctx, triggerClaimDoc(t))
	return translate(err, "trigger")
}

// FindTrigger returns the trigger with key, or NotFound.
func (db *DB) FindTrigger(ctx context.Context, key string) (campaign.TriggerClaim, error) {
	var d triggerClaimDoc
	if err := db.r("triggers").FindOne(ctx, byID(key)).Decode(&d); err != nil {
		return campaign.TriggerClaim{}, translate(err, "trigger")
	}
	d.At = d.At.UTC()
	return campaign.TriggerClaim(d), nil
}

// DeleteLocationData deletes a customer's location state and presence,
// offers (and their codes), experiment data and stored answers, and blanks
// their id in their offers' redemptions, all by _id: through the wallet,
// the campaigns' list and the state, which lists every answer kept (see
// campaign.ReportOnce). Their trigger claims name no one and stay: the
// account's erasure deletes the key that ties them to the customer
// (hyperlieu.User.ClaimKey). Deleting twice is not an error.
func (db *DB) DeleteLocationData(ctx context.Context, userID string) error {
	offers, err := db.deleteOffersOf(ctx, userID)
	if err != nil {
		return err
	}
	if err := db.erasePresence(ctx, userID); err != nil {
		return err
	}
	var answers []string
	switch st, err := db.FindLocationState(ctx, userID); {
	case err == nil:
		answers = slices.Collect(maps.Keys(st.Answers))
	case hyperlieu.KindOf(err) != hyperlieu.NotFound:
		return err
	}
	if err := db.deleteByIDs(ctx, "report_answers", answers); err != nil { // answers quote offers
		return err
	}
	if err := db.deleteByIDs(ctx, "location_states", []string{userID}); err != nil {
		return err
	}
	if err := db.deleteExperimentData(ctx, userID); err != nil {
		return err
	}
	// A redemption is "redeem:<offer>"; updating one that is not there is a no-op.
	blank := make([]mongo.WriteModel, len(offers))
	for i, id := range offers {
		blank[i] = mongo.NewUpdateOneModel().SetFilter(byID("redeem:" + id)).
			SetUpdate(bson.D{{Key: "$set", Value: bson.D{{Key: "userId", Value: ""}}}})
	}
	return db.bulkByID(ctx, "redemptions", blank)
}

// reportAnswerDoc is a stored answer to a location request, keyed by
// "report:<user>:<key hash>" so that storing it once is one insert by _id.
type reportAnswerDoc struct {
	ID     string    `bson:"_id"`
	UserID string    `bson:"userId"`
	At     time.Time `bson:"at"`
	Answer []byte    `bson:"answer"`
}

// CreateReportAnswer stores the answer of key; Conflict when taken.
func (db *DB) CreateReportAnswer(ctx context.Context, key, userID string, at time.Time, answer []byte) error {
	_, err := db.c("report_answers").InsertOne(ctx, reportAnswerDoc{ID: key, UserID: userID, At: at, Answer: answer})
	return translate(err, "location report")
}

// FindReportAnswer returns the answer of key, or NotFound.
func (db *DB) FindReportAnswer(ctx context.Context, key string) ([]byte, error) {
	var d reportAnswerDoc
	if err := db.r("report_answers").FindOne(ctx, byID(key)).Decode(&d); err != nil {
		return nil, translate(err, "location report")
	}
	return d.Answer, nil
}

// DeleteReportAnswers deletes the answers of keys, by _id; those gone are
// skipped.
func (db *DB) DeleteReportAnswers(ctx context.Context, keys []string) error {
	return db.deleteByIDs(ctx, "report_answers", keys)
}

// DeleteReportAnswersBefore drops the answers stored before a time.
func (db *DB) DeleteReportAnswersBefore(ctx context.Context, before time.Time) (int64, error) {
	r, err := db.c("report_answers").DeleteMany(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: before}}}})
	if err != nil {
		return 0, translate(err, "location reports")
	}
	return r.DeletedCount, nil
}
