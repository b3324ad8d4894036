package store

import (
	"context"

	"github.com/hyperlieu/hyperlieu/campaign"
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
