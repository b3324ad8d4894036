package campaign

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/geo"
)

// Reach counts the distinct consenting customers last seen inside the
// campaign's geofence in the past days (1 to 90).
func (s *Service) Reach(ctx context.Context, id string, days int) (int, error) {
	if days < 1 || days > 90 {
		return 0, hyperlieu.InvalidField("days", "must be between 1 and 90")
	}
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return 0, err
	}
	cover, err := c.Geofence.Fence.Cover(geo.Resolution)
	if err != nil {
		return 0, fmt.Errorf("cover campaign %s: %w", id, err)
	}
	cells := make([]geo.Cell, len(cover))
	for i, cc := range cover {
		cells[i] = cc.Cell
	}
	ids, err := s.customersIn(ctx, cells, s.opts.Now().Add(-time.Duration(days)*24*time.Hour), c.Geofence.Fence.Contains)
	return len(ids), err
}

// customersIn returns the consenting customers last seen in cells since,
// at a point in. The store's presence names the customers who may be in
// cells; each one's stored state and consent are read by _id, so the cost
// is the area's customers, not every customer's.
func (s *Service) customersIn(ctx context.Context, cells []geo.Cell, since time.Time, in func(geo.Point) bool) ([]string, error) {
	// This instance's moves first (none: no command); other instances'
	// are at most a Poll late.
	if err := s.FlushPresence(ctx); err != nil {
		return nil, fmt.Errorf("write presence: %w", err)
	}
	candidates, err := s.store.FindUsersPresentIn(ctx, cells)
	if err != nil {
		return nil, fmt.Errorf("customers in cells: %w", err)
	}
	inCells := make(map[geo.Cell]bool, len(cells))
	for _, c := range cells {
		inCells[c] = true
	}
	var ids []string
	for _, id := range candidates {
		st, err := s.store.FindLocationState(ctx, id)
		if hyperlieu.KindOf(err) == hyperlieu.NotFound {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("customers in cells: %w", err)
		}
		if inCells[st.Cell] && !st.At.Before(since) && in(st.Point) {
			ids = append(ids, st.UserID)
		}
	}
	if len(ids) == 0 {
		return []string{}, nil
	}
	return s.store.FindConsentingUsers(ctx, ids)
}

// CustomersNear returns the consenting customers last seen within radiusM of
// p since a time. It implements the events area's NearbyAudience.
func (s *Service) CustomersNear(ctx context.Context, p geo.Point, radiusM float64, since time.Time) ([]string, error) {
	if err := p.Valid(); err != nil {
		return nil, hyperlieu.Errorf(hyperlieu.Invalid, "%v", err)
	}
	c, err := geo.CellOf(p)
	if err != nil {
		return nil, err
	}
	cells, err := geo.Disk(c, diskK(radiusM))
	if err != nil {
		return nil, err
	}
	return s.customersIn(ctx, cells, since, func(q geo.Point) bool { return geo.Distance(p, q) <= radiusM })
}

// diskK is how many rings of resolution-9 cells hold a radius (cells are
// at least ~150 m apart centre to edge).
func diskK(radiusM float64) int {
	return min(int(math.Ceil(radiusM/150))+1, geo.MaxDiskK)
}
