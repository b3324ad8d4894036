package store

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/fan"
)

// Public reviews share their shop feedback's _id; review_reports are keyed
// by <review>:<user> so a customer reports a review once. Both are deleted
// with the author's fans data (DeleteFanData).
func reviewIndexes() []indexSpec {
	return []indexSpec{
		{"reviews", index(bson.D{{Key: "shopId", Value: 1}, {Key: "at", Value: -1}})},
		{"reviews", index(bson.D{{Key: "userId", Value: 1}})},
		{"review_reports", index(bson.D{{Key: "userId", Value: 1}})},
	}
}

type reviewDoc struct {
	ID         string     `bson:"_id"`
	ShopID     string     `bson:"shopId"`
	UserID     string     `bson:"userId"`
	Author     string     `bson:"author"`
	Rating     int        `bson:"rating"`
	Comment    string     `bson:"comment"`
	At         time.Time  `bson:"at"`
	VisitedAt  time.Time  `bson:"visitedAt"`
	Answer     string     `bson:"answer,omitempty"`
	AnsweredBy string     `bson:"answeredBy,omitempty"`
	AnsweredAt *time.Time `bson:"answeredAt,omitempty"`
	Hidden     bool       `bson:"hidden"`
	HideReason string     `bson:"hideReason,omitempty"`
	HiddenBy   string     `bson:"hiddenBy,omitempty"`
	HiddenAt   *time.Time `bson:"hiddenAt,omitempty"`
	Reports    int        `bson:"reports"`
}

func toReviewDoc(r fan.Review) reviewDoc {
	return reviewDoc{r.ID, r.ShopID, r.UserID, r.Author, r.Rating, r.Comment, r.At, r.VisitedAt,
		r.Answer, r.AnsweredBy, timePtr(r.AnsweredAt), r.Hidden, r.HideReason, r.HiddenBy, timePtr(r.HiddenAt), r.Reports}
}

func (d reviewDoc) review() fan.Review {
	return fan.Review{ID: d.ID, ShopID: d.ShopID, UserID: d.UserID, Author: d.Author, Rating: d.Rating, Comment: d.Comment,
		At: d.At.UTC(), VisitedAt: d.VisitedAt.UTC(), Answer: d.Answer, AnsweredBy: d.AnsweredBy, AnsweredAt: timeOf(d.AnsweredAt),
		Hidden: d.Hidden, HideReason: d.HideReason, HiddenBy: d.HiddenBy, HiddenAt: timeOf(d.HiddenAt), Reports: d.Reports}
}

// CreateReview stores a new review, listed under its shop and its author,
// and counts it in the shop's visible reviews; Conflict when its ID is
// taken.
func (db *DB) CreateReview(ctx context.Context, r fan.Review) error {
	err := db.insertIndexed(ctx, "reviews", r.ID, toReviewDoc(r), "review",
		listing{shopReviewList, r.ShopID}, listing{userReviewList, r.UserID})
	if err != nil || r.Hidden {
		return err
	}
	return db.addReviewStats(ctx, r.ShopID, 1, r.Rating)
}

// review_stats holds per shop the count and the sum of the ratings of its
// visible reviews (a reader's average without reading them all), moved by
// $inc; "out:<review>" marks a review taken out of them (hidden or
// erased), claimed by a keyed insert so that it is taken out once.
const reviewStats = "review_stats"

func (db *DB) addReviewStats(ctx context.Context, shopID string, n, sum int) error {
	_, err := db.c(reviewStats).UpdateOne(ctx, byID(shopID),
		bson.D{{Key: "$inc", Value: bson.D{{Key: "count", Value: n}, {Key: "sum", Value: sum}}}}, options.UpdateOne().SetUpsert(true))
	return translate(err, "review stats")
}

// takeOutReview takes r out of its shop's visible reviews, once.
func (db *DB) takeOutReview(ctx context.Context, r fan.Review) error {
	_, err := db.c(reviewStats).InsertOne(ctx, bson.D{{Key: "_id", Value: "out:" + r.ID}})
	switch err = translate(err, "review stats"); {
	case hyperlieu.KindOf(err) == hyperlieu.Conflict:
		return nil // taken out already
	case err != nil:
		return err
	}
	return db.addReviewStats(ctx, r.ShopID, -1, -r.Rating)
}

// FindReviewStats returns the count and the sum of the ratings of the
// shop's visible reviews: one _id read.
func (db *DB) FindReviewStats(ctx context.Context, shopID string) (count, sum int, err error) {
	var d struct {
		Count int `bson:"count"`
		Sum   int `bson:"sum"`
	}
	err = db.r(reviewStats).FindOne(ctx, byID(shopID)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, 0, nil
	}
	return d.Count, d.Sum, translate(err, "review stats")
}

// FindReview returns the review, or NotFound.
func (db *DB) FindReview(ctx context.Context, id string) (fan.Review, error) {
	var d reviewDoc
	if err := db.r("reviews").FindOne(ctx, byID(id)).Decode(&d); err != nil {
		return fan.Review{}, translate(err, "review")
	}
	return d.review(), nil
}

// UpdateReview replaces the review; a hidden one is taken out of its
// shop's visible reviews (once).
func (db *DB) UpdateReview(ctx context.Context, r fan.Review) error {
	_, err := db.c("reviews").ReplaceOne(ctx, byID(r.ID), toReviewDoc(r))
	if err != nil || !r.Hidden {
		return translate(err, "review")
	}
	return db.takeOutReview(ctx, r)
}

// reviewScan bounds the entries a page reads per review asked, when hidden
// ones are skipped.
const reviewScan = 3

// FindReviewsOf returns up to limit of the shop's reviews written before
// the cursor before (0: the newest), newest first, hidden ones only
// withHidden, and the cursor of the next page (0 at the end): two _id
// reads per review, at most reviewScan entries read per review asked.
func (db *DB) FindReviewsOf(ctx context.Context, shopID string, withHidden bool, before, limit int) ([]fan.Review, int, error) {
	scan := limit
	if !withHidden {
		scan = limit * reviewScan
	}
	ds, next, err := pageOf(ctx, db, shopReviewList, shopID, before, limit, scan, "reviews", "reviews", func(d reviewDoc) bool {
		return d.ShopID == shopID && (withHidden || !d.Hidden)
	})
	return reviewsOf(ds), next, err
}

func reviewsOf(ds []reviewDoc) []fan.Review {
	out := make([]fan.Review, len(ds))
	for i, d := range ds {
		out[i] = d.review()
	}
	return out
}

// FindReviewsBy returns the user's reviews, newest first, from their list.
func (db *DB) FindReviewsBy(ctx context.Context, userID string) ([]fan.Review, error) {
	ds, err := allOf(ctx, db, userReviewList, userID, "reviews", "reviews", func(d reviewDoc) bool { return d.UserID == userID })
	out := reviewsOf(ds)
	slices.SortStableFunc(out, func(a, b fan.Review) int { return cmp.Or(b.At.Compare(a.At), cmp.Compare(a.ID, b.ID)) })
	return out, err
}

type reviewReportDoc struct {
	ID       string    `bson:"_id"`
	ReviewID string    `bson:"reviewId"`
	UserID   string    `bson:"userId"`
	Reason   string    `bson:"reason,omitempty"`
	At       time.Time `bson:"at"`
}

// CreateReviewReport records a report, listed under its author (erasure);
// Conflict when the user already reported it.
func (db *DB) CreateReviewReport(ctx context.Context, reviewID, userID, reason string, at time.Time) error {
	id := reviewID + ":" + userID
	return db.insertIndexed(ctx, "review_reports", id, reviewReportDoc{id, reviewID, userID, reason, at}, "review report",
		listing{userReportList, userID})
}

// deleteReviewData deletes the user's reviews (taking the visible ones
// out of their shops' figures) and reports, and their lists, by _id.
func (db *DB) deleteReviewData(ctx context.Context, userID string) error {
	mine, err := db.FindReviewsBy(ctx, userID)
	if err != nil {
		return err
	}
	ids := make([]string, len(mine))
	for i, r := range mine {
		ids[i] = r.ID
		if !r.Hidden {
			if err := db.takeOutReview(ctx, r); err != nil {
				return err
			}
		}
	}
	if err := db.deleteByIDs(ctx, "reviews", ids); err != nil {
		return err
	}
	reports, err := db.listedRefs(ctx, userReportList, userID)
	if err != nil {
		return err
	}
	if err := db.deleteByIDs(ctx, "review_reports", reports); err != nil {
		return err
	}
	for _, l := range []ownerList{userReviewList, userReportList} {
		if err := db.dropList(ctx, l, userID); err != nil {
			return err
		}
	}
	return nil
}

// countAllReviews sets, once per database, the shops' review figures from
// the reviews stored before they were counted, and marks the hidden ones
// as taken out (it reads every review).
func (db *DB) countAllReviews(ctx context.Context) error {
	return db.once(ctx, "review-stats-1", func() error {
		all, err := findMany(ctx, db.c("reviews"), bson.D{}, nil, "reviews", reviewDoc.review)
		if err != nil {
			return err
		}
		type figures struct{ count, sum int }
		shops := map[string]figures{}
		var out []any
		for _, r := range all {
			f := shops[r.ShopID]
			if r.Hidden {
				out = append(out, bson.D{{Key: "_id", Value: "out:" + r.ID}})
			} else {
				f.count, f.sum = f.count+1, f.sum+r.Rating
			}
			shops[r.ShopID] = f
		}
		if _, err := db.insertMany(ctx, reviewStats, out); err != nil {
			return err
		}
		models := make([]mongo.WriteModel, 0, len(shops))
		for id, f := range shops {
			models = append(models, mongo.NewUpdateOneModel().SetFilter(byID(id)).SetUpsert(true).
				SetUpdate(bson.D{{Key: "$set", Value: bson.D{{Key: "count", Value: f.count}, {Key: "sum", Value: f.sum}}}}))
		}
		return db.bulkByID(ctx, reviewStats, models)
	})
}
