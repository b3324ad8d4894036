package store

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/hyperlieu/hyperlieu/fan"
)

// InsertFanPathsUnlisted stores, as a version before the fans' shop and
// person lists did (no list, no counts), a low rating, a gesture from
// manager, two reviews (one hidden, by someone else), a report, a visit,
// an ask, a shop record and a referral slot of userID, the manager (a user
// with the manager role), a reward and userID's devoted profile; and
// forgets that the migrations ran.
func (db *DB) InsertFanPathsUnlisted(ctx context.Context, userID, manager string, now time.Time) error {
	inserts := []struct {
		coll string
		doc  any
	}{
		{"shop_feedback", toShopFeedbackDoc(fan.ShopFeedback{ID: "fb-old", ShopID: "shop1", UserID: userID, Rating: 1, Comment: "cold", At: now})},
		{"gestures", gestureDoc{ID: "g-old", ShopID: "shop1", ManagerID: manager, UserID: userID, Message: "sorry", At: now}},
		{"reviews", toReviewDoc(fan.Review{ID: "rv-old1", ShopID: "shop1", UserID: userID, Rating: 4, Comment: "ok", At: now})},
		{"reviews", toReviewDoc(fan.Review{ID: "rv-old2", ShopID: "shop1", UserID: "zed", Rating: 2, Comment: "bad", At: now, Hidden: true})},
		{"review_reports", reviewReportDoc{"rv-old2:" + userID, "rv-old2", userID, "", now}},
		{"visits", visitDoc{Key: "v-old", UserID: userID, ShopID: "shop1", Source: "geo", At: now}},
		{"shop_visits", shopVisitDoc{ID: shopVisitID(userID, "shop1"), UserID: userID, ShopID: "shop1", LastAt: now}},
		{"visit_asks", toVisitAskDoc(fan.VisitAsk{ID: "ask-old", UserID: userID, ShopID: "shop1", At: now, ExpiresAt: now})},
		{"referral_slots", bson.D{{Key: "_id", Value: manager + ":2026-12:1"}, {Key: "referrerId", Value: manager}, {Key: "refereeId", Value: userID}}},
		{"users", userDoc{ID: manager, Email: manager + "@example.com", Roles: []string{"customer", "manager"}}},
		{"rewards", rewardDoc{ID: "rw-old", Name: "Tea", Cost: 10, Active: true, CreatedAt: now}},
		{"fan_profiles", fanProfileDoc{UserID: userID, Segment: "devoted", ComputedAt: now}},
	}
	for _, in := range inserts {
		if _, err := db.c(in.coll).InsertOne(ctx, in.doc); err != nil {
			return err
		}
	}
	for _, m := range []string{"fan-path-lists-1", "role-lists-1", "reward-lists-1", "segment-counts-1", "review-stats-1"} {
		if _, err := db.c("migrations").DeleteOne(ctx, byID(m)); err != nil {
			return err
		}
	}
	return nil
}
