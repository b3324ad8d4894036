package store

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/campaign"
)

// variantIndexes serve erasure only: every request-path read is by _id.
func variantIndexes() []indexSpec {
	return []indexSpec{
		{"assignments", index(bson.D{{Key: "userId", Value: 1}})},
		{"experiment_marks", index(bson.D{{Key: "userId", Value: 1}})},
	}
}

type variantDoc struct {
	ID              string         `bson:"id"`
	Weight          int            `bson:"weight"`
	Texts           []offerTextDoc `bson:"texts"`
	Value           string         `bson:"value"`
	ValiditySeconds int64          `bson:"validitySeconds"`
	StoppedAt       *time.Time     `bson:"stoppedAt,omitempty"`
}

// experimentDoc is always written, so that an update replaces it whole.
type experimentDoc struct {
	Variants       []variantDoc `bson:"variants"`
	HoldoutPercent int          `bson:"holdoutPercent"`
	ReturnDays     int          `bson:"returnDays"`
	WinnerID       string       `bson:"winnerId,omitempty"`
	DecidedAt      *time.Time   `bson:"decidedAt,omitempty"`
}

func toExperimentDoc(e campaign.Experiment) experimentDoc {
	d := experimentDoc{Variants: []variantDoc{}, HoldoutPercent: e.HoldoutPercent, ReturnDays: e.ReturnDays,
		WinnerID: e.WinnerID, DecidedAt: timePtr(e.DecidedAt)}
	for _, v := range e.Variants {
		d.Variants = append(d.Variants, variantDoc{ID: v.ID, Weight: v.Weight, Value: v.Value, ValiditySeconds: int64(v.Validity / time.Second),
			StoppedAt: timePtr(v.StoppedAt), Texts: toOfferTextDocs(v.Texts)})
	}
	return d
}

func (d experimentDoc) experiment() campaign.Experiment {
	e := campaign.Experiment{HoldoutPercent: d.HoldoutPercent, ReturnDays: d.ReturnDays, WinnerID: d.WinnerID, DecidedAt: timeOf(d.DecidedAt)}
	for _, vd := range d.Variants {
		e.Variants = append(e.Variants, campaign.Variant{ID: vd.ID, Weight: vd.Weight, Value: vd.Value, Texts: offerTextsOf(vd.Texts),
			Validity: time.Duration(vd.ValiditySeconds) * time.Second, StoppedAt: timeOf(vd.StoppedAt)})
	}
	return e
}

type assignmentDoc struct {
	ID         string    `bson:"_id"` // <campaign>.<user>
	CampaignID string    `bson:"campaignId"`
	UserID     string    `bson:"userId"`
	Arm        string    `bson:"arm"`
	At         time.Time `bson:"at"`
}

// CreateAssignment inserts the customer's arm keyed "<campaign>.<user>":
// the first insert wins on every instance; the others get Conflict.
func (db *DB) CreateAssignment(ctx context.Context, a campaign.Assignment) error {
	_, err := db.c("assignments").InsertOne(ctx, assignmentDoc{
		ID: a.CampaignID + "." + a.UserID, CampaignID: a.CampaignID, UserID: a.UserID, Arm: a.Arm, At: a.At,
	})
	return translate(err, "assignment")
}

// FindAssignment returns the customer's arm in the campaign, or NotFound.
func (db *DB) FindAssignment(ctx context.Context, campaignID, userID string) (campaign.Assignment, error) {
	var d assignmentDoc
	if err := db.r("assignments").FindOne(ctx, byID(campaignID+"."+userID)).Decode(&d); err != nil {
		return campaign.Assignment{}, translate(err, "assignment")
	}
	return campaign.Assignment{CampaignID: d.CampaignID, UserID: d.UserID, Arm: d.Arm, At: d.At.UTC()}, nil
}

type exposureDoc struct {
	Arm string    `bson:"arm"`
	At  time.Time `bson:"at"`
}

// UpdateExposure sets e for the campaign on the customer's own document of
// exposures (_id: the user id), so that a visit finds every experiment to
// count it for in one read by _id. It is an upsert by design.
func (db *DB) UpdateExposure(ctx context.Context, userID, campaignID string, e campaign.Exposure) error {
	_, err := db.c("exposures").UpdateOne(ctx, byID(userID),
		bson.D{{Key: "$set", Value: bson.D{{Key: "c." + campaignID, Value: exposureDoc{Arm: e.Arm, At: e.At}}}}},
		options.UpdateOne().SetUpsert(true))
	return translate(err, "exposure")
}

// FindExposures returns the customer's exposures by campaign; none: empty.
func (db *DB) FindExposures(ctx context.Context, userID string) (map[string]campaign.Exposure, error) {
	var d struct {
		C map[string]exposureDoc `bson:"c"`
	}
	err := db.r("exposures").FindOne(ctx, byID(userID)).Decode(&d)
	out := map[string]campaign.Exposure{}
	if err != nil {
		if hyperlieu.KindOf(translate(err, "")) == hyperlieu.NotFound {
			return out, nil
		}
		return nil, translate(err, "exposures")
	}
	for id, e := range d.C {
		out[id] = campaign.Exposure{Arm: e.Arm, At: e.At.UTC()}
	}
	return out, nil
}

// CreateExperimentMark inserts key, naming the customer for erasure;
// Conflict when it is taken.
func (db *DB) CreateExperimentMark(ctx context.Context, key, userID string) error {
	_, err := db.c("experiment_marks").InsertOne(ctx, bson.D{{Key: "_id", Value: key}, {Key: "userId", Value: userID}})
	return translate(err, "experiment mark")
}

// deleteExperimentData erases a customer's assignments, exposures and
// marks; the arms' counters stay, without identity. Each is keyed by
// campaign and customer ("<campaign>.<user>", "returned:…", "redeemed:…"),
// so it deletes those keys for every campaign in the campaigns' list: _id
// reads of the list and deletes by _id, however many customers there are.
func (db *DB) deleteExperimentData(ctx context.Context, userID string) error {
	campaigns, err := db.campaignIDs(ctx)
	if err != nil {
		return err
	}
	assignments := make([]string, len(campaigns))
	marks := make([]string, 0, 2*len(campaigns))
	for i, c := range campaigns {
		assignments[i] = c + "." + userID
		marks = append(marks, "returned:"+c+":"+userID, "redeemed:"+c+":"+userID)
	}
	if err := db.deleteByIDs(ctx, "assignments", assignments); err != nil {
		return err
	}
	if err := db.deleteByIDs(ctx, "experiment_marks", marks); err != nil {
		return err
	}
	return db.deleteByIDs(ctx, "exposures", []string{userID})
}
