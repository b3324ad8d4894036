package store

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

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

// CreateReview stores a new review; Conflict when its ID is taken.
func (db *DB) CreateReview(ctx context.Context, r fan.Review) error {
	_, err := db.c("reviews").InsertOne(ctx, toReviewDoc(r))
	return translate(err, "review")
}

// FindReview returns the review, or NotFound.
func (db *DB) FindReview(ctx context.Context, id string) (fan.Review, error) {
	var d reviewDoc
	if err := db.r("reviews").FindOne(ctx, byID(id)).Decode(&d); err != nil {
		return fan.Review{}, translate(err, "review")
	}
	return d.review(), nil
}

// UpdateReview replaces the review.
func (db *DB) UpdateReview(ctx context.Context, r fan.Review) error {
	_, err := db.c("reviews").ReplaceOne(ctx, byID(r.ID), toReviewDoc(r))
	return translate(err, "review")
}

func (db *DB) reviewsWhere(ctx context.Context, filter bson.D) ([]fan.Review, error) {
	return findMany(ctx, db.r("reviews"), filter, options.Find().SetSort(bson.D{{Key: "at", Value: -1}, {Key: "_id", Value: 1}}),
		"reviews", reviewDoc.review)
}

// FindReviewsOf returns the shop's reviews, newest first, hidden ones included.
func (db *DB) FindReviewsOf(ctx context.Context, shopID string) ([]fan.Review, error) {
	return db.reviewsWhere(ctx, bson.D{{Key: "shopId", Value: shopID}})
}

// FindReviewsBy returns the user's reviews, newest first.
func (db *DB) FindReviewsBy(ctx context.Context, userID string) ([]fan.Review, error) {
	return db.reviewsWhere(ctx, bson.D{{Key: "userId", Value: userID}})
}

type reviewReportDoc struct {
	ID       string    `bson:"_id"`
	ReviewID string    `bson:"reviewId"`
	UserID   string    `bson:"userId"`
	Reason   string    `bson:"reason,omitempty"`
	At       time.Time `bson:"at"`
}

// CreateReviewReport records a report; Conflict when the user already reported it.
func (db *DB) CreateReviewReport(ctx context.Context, reviewID, userID, reason string, at time.Time) error {
	_, err := db.c("review_reports").InsertOne(ctx, reviewReportDoc{reviewID + ":" + userID, reviewID, userID, reason, at})
	return translate(err, "review report")
}
