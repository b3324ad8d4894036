package campaign

import (
	"context"
	"fmt"
)

// ExportUser returns what the location engine keeps about a customer: the
// last position kept and the wallet. It implements PersonalData.
func (l *LocationService) ExportUser(ctx context.Context, userID string) (map[string]any, error) {
	out := map[string]any{}
	st, before, err := l.state(ctx, userID)
	switch {
	case err == nil && before.exists:
		out["lastLocation"] = map[string]any{
			"lat": st.Point.Lat, "lng": st.Point.Lng, "cell": st.Cell.String(), "accuracyM": st.AccuracyM, "recordedAt": st.At,
		}
	case err != nil:
		return nil, fmt.Errorf("export location: %w", err)
	}
	offers, err := l.offers.Wallet(ctx, userID)
	if err != nil {
		return nil, err
	}
	list := make([]map[string]any, len(offers))
	for i, o := range offers {
		list[i] = map[string]any{"id": o.ID, "campaignId": o.CampaignID, "title": o.Title, "code": o.Code,
			"issuedAt": o.IssuedAt, "expiresAt": o.ExpiresAt, "redeemedAt": o.RedeemedAt, "shopId": o.ShopID}
	}
	out["offers"] = list
	exps, err := l.campaigns.store.FindExposures(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("export experiments: %w", err)
	}
	arms := make([]map[string]any, 0, len(exps))
	for id, e := range exps {
		arms = append(arms, map[string]any{"campaignId": id, "arm": e.Arm, "firstTriggeredAt": e.At})
	}
	out["experiments"] = arms
	return out, nil
}

// EraseUser deletes the customer's last position, offers and trigger
// claims; campaign counters and redemptions are kept without identity. It
// implements PersonalData; erasing twice is not an error.
func (l *LocationService) EraseUser(ctx context.Context, userID string) error {
	l.campaigns.flushing.Lock() // not to list them again once erased
	l.campaigns.presence.forget(userID)
	err := l.store.DeleteLocationData(ctx, userID)
	l.campaigns.flushing.Unlock()
	if err != nil {
		return fmt.Errorf("erase location data: %w", err)
	}
	l.positions.forget(userID)
	l.campaigns.arms.forget(userID)
	return nil
}
