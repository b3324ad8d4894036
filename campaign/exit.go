package campaign

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// exits fires the exit campaigns the customer just left, at at: those
// whose geofence holds them no more (ids are the fences they are in now)
// after a stay of at least the campaign's MinDwellSeconds. The stay's key
// makes one stay fire once, as for the other triggers; the caller then
// forgets the stays that ended.
func (l *LocationService) exits(ctx context.Context, snap *snapshot, u hyperlieu.User, st *LocationState, ids []string, at time.Time) ([]Offer, error) {
	var offers []Offer
	for id, entered := range st.Inside {
		if slices.Contains(ids, id) {
			continue
		}
		c, ok := snap.campaigns[id]
		if !ok || c.Trigger.Kind != TriggerExit {
			continue
		}
		if at.Sub(entered) < time.Duration(c.Trigger.MinDwellSeconds)*time.Second {
			continue // passing by is not a visit
		}
		o, err := l.fire(ctx, c, u, st, entered, at)
		if err != nil {
			return nil, err
		}
		if o != nil {
			offers = append(offers, *o)
		}
	}
	return offers, nil
}

// visitExitFactor widens the visit radius for leaving: a customer is gone
// only beyond it, so that GPS jitter at the edge makes no visits.
const visitExitFactor = 1.5

// visitShops follows the shops the customer is at, for report r: arriving
// within the visit radius starts a stay, a report beyond it ends it, and a
// stay of at least the minimum dwell is told to the visit recorder. The
// shops are looked up in memory: a report that visits nothing costs no I/O.
func (l *LocationService) visitShops(ctx context.Context, u hyperlieu.User, st *LocationState, r LocationReport) error {
	if l.opts.Shops == nil || l.opts.Visits == nil {
		return nil
	}
	at := r.RecordedAt.UTC()
	near, err := l.opts.Shops.ShopsWithin(ctx, r.Point, l.opts.VisitRadiusM*visitExitFactor)
	if err != nil {
		return fmt.Errorf("shops near: %w", err)
	}
	for id, arrived := range st.AtShops {
		if slices.Contains(near, id) {
			continue
		}
		delete(st.AtShops, id)
		if at.Sub(arrived) < l.opts.VisitMinDwell {
			continue
		}
		err := l.opts.Visits.RecordVisit(ctx, hyperlieu.Visit{
			UserID: u.ID, ShopID: id, Source: hyperlieu.VisitDetected, At: arrived, LeftAt: at,
			Key: "location:" + u.ID + ":" + id + ":" + strconv.FormatInt(arrived.UnixNano(), 10),
		})
		if err != nil {
			return fmt.Errorf("record visit: %w", err)
		}
	}
	if len(near) == 0 {
		return nil
	}
	in, err := l.opts.Shops.ShopsWithin(ctx, r.Point, l.opts.VisitRadiusM)
	if err != nil {
		return fmt.Errorf("shops near: %w", err)
	}
	for _, id := range in {
		if _, ok := st.AtShops[id]; !ok {
			if st.AtShops == nil {
				st.AtShops = map[string]time.Time{}
			}
			st.AtShops[id] = at
		}
	}
	return nil
}
