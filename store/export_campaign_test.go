package store

import (
	"context"

	"github.com/hyperlieu/hyperlieu/campaign"
)

// InsertCampaignUnlisted stores a campaign as a version before the
// campaigns' list did, and forgets that the list was made.
func (db *DB) InsertCampaignUnlisted(ctx context.Context, c campaign.Campaign) error {
	if _, err := db.c("campaigns").InsertOne(ctx, toCampaignDoc(c)); err != nil {
		return err
	}
	_, err := db.c("migrations").DeleteOne(ctx, byID("campaign-list-1"))
	return err
}

// InsertLocationStateUnlisted stores a state as a version before presence
// did, and forgets that presence was made.
func (db *DB) InsertLocationStateUnlisted(ctx context.Context, st campaign.LocationState) error {
	if _, err := db.c("location_states").InsertOne(ctx, locationStateDoc{UserID: st.UserID, Cell: st.Cell.String(),
		Lat: st.Point.Lat, Lng: st.Point.Lng, At: st.At}); err != nil {
		return err
	}
	_, err := db.c("migrations").DeleteOne(ctx, byID("presence-1"))
	return err
}
