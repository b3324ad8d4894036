package store

import (
	"context"

	"github.com/hyperlieu/hyperlieu/campaign"
	"github.com/hyperlieu/hyperlieu/notify"
)

// InsertOffers stores offers in bulk (one insertMany, no codes), so that a
// benchmark can start from a database that already holds many.
func (db *DB) InsertOffers(ctx context.Context, os []campaign.Offer) error {
	docs := make([]any, len(os))
	for i, o := range os {
		docs[i] = offerDoc{ID: o.ID, Code: o.Code, CampaignID: o.CampaignID, UserID: o.UserID, Title: o.Title,
			IssuedAt: o.IssuedAt, ExpiresAt: o.ExpiresAt, TriggerKey: o.TriggerKey}
	}
	_, err := db.insertMany(ctx, "offers", docs)
	return err
}

// InsertUserUnkeyed stores a user as a version without email keys did, and
// forgets that the email keys were made, so that the next Open makes them.
func (db *DB) InsertUserUnkeyed(ctx context.Context, id, email string) error {
	if _, err := db.c("users").InsertOne(ctx, userDoc{ID: id, Email: email}); err != nil {
		return err
	}
	_, err := db.c("migrations").DeleteOne(ctx, byID("user-emails-1"))
	return err
}

// KeyEmailTo points email's key at userID, as a crash between the key and
// the user would leave it.
func (db *DB) KeyEmailTo(ctx context.Context, email, userID string) error {
	_, err := db.c(emailKeys).InsertOne(ctx, emailKeyDoc{email, userID})
	return err
}

// CreateNotificationsUnlisted stores ns as a version before the parked
// lists did: queued and in the inbox, not listed under their user.
func CreateNotificationsUnlisted(ctx context.Context, db *DB, ns []notify.Notification) error {
	docs := make([]any, len(ns))
	for i, n := range ns {
		docs[i] = toNotificationDoc(n)
	}
	if _, err := db.insertMany(ctx, queueColl, docs); err != nil {
		return err
	}
	_, err := db.insertMany(ctx, "notifications", docs)
	return err
}

// InsertStatShardUnlisted stores a stats shard as a version without shard
// lists did, and forgets that the lists were made.
func (db *DB) InsertStatShardUnlisted(ctx context.Context, campaignID, instanceID string, counts map[string]int64) error {
	if _, err := db.c("campaign_stats").InsertOne(ctx, statsDoc{ID: "stat:" + campaignID + ":" + instanceID, CampaignID: campaignID, C: counts}); err != nil {
		return err
	}
	_, err := db.c("migrations").DeleteOne(ctx, byID("stat-shards-1"))
	return err
}

// AppendToTestList appends ref to owner's list in a list kept for tests.
func (db *DB) AppendToTestList(ctx context.Context, owner, ref string) (int, error) {
	ns, err := db.appendTo(ctx, ownerList{coll: "test_lists", prefix: "t"}, []listItem{{Owner: owner, Ref: ref}})
	if err != nil {
		return 0, err
	}
	return ns[0], nil
}
