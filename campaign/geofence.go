package campaign

import (
	"context"
	"fmt"
	"strings"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/geo"
)

// checkGeofence resolves the marketer's zone into a fence and adds the
// fence's problems to p, named in the request's terms. It returns an error
// (Invalid, or a failure to look shops up) when the zone cannot be resolved.
func (s *Service) checkGeofence(ctx context.Context, p *hyperlieu.Problems, in Geofence) (Geofence, error) {
	g, err := s.resolveGeofence(ctx, in)
	if err != nil {
		return Geofence{}, err
	}
	if ferr := g.Fence.Validate(s.opts.Limits); ferr != nil {
		field, reason := "geofence", ferr.Error()
		if fe, ok := ferr.(*geo.FenceError); ok {
			field, reason = geofenceField(g.Type, fe.Field), fe.Reason
		}
		p.Add(field, "%s", reason)
	}
	return g, nil
}

// geofenceField names a fence problem in the request's own terms.
func geofenceField(typ, field string) string {
	switch typ {
	case "Polygon":
		return strings.Replace(field, "geofence.polygons[0]", "geofence.coordinates", 1)
	case "MultiPolygon":
		return strings.Replace(field, "geofence.polygons", "geofence.coordinates", 1)
	case "shops":
		if strings.HasPrefix(field, "geofence.circles") {
			return "geofence.shops.radiusM"
		}
	}
	return field
}

// resolveGeofence turns the marketer's zone into a fence: shops become
// circles around their places.
func (s *Service) resolveGeofence(ctx context.Context, g Geofence) (Geofence, error) {
	var p hyperlieu.Problems
	switch g.Type {
	case "Polygon", "MultiPolygon":
		g.Circles, g.ShopIDs, g.ShopRadiusM = nil, nil, 0
		g.Fence = geo.Fence{Polygons: g.Polygons}
	case "circles":
		g.Polygons, g.ShopIDs, g.ShopRadiusM = nil, nil, 0
		g.Fence = geo.Fence{Circles: g.Circles}
	case "shops":
		return s.resolveShops(ctx, g)
	default:
		p.Add("geofence", "must be a GeoJSON Polygon or MultiPolygon, {circles: [...]} or {shops: {shopIds, radiusM}}")
	}
	return g, p.Err()
}

// resolveShops makes a shop-radius geofence's fence: a circle around each
// shop's place. It returns Invalid naming unknown shops.
func (s *Service) resolveShops(ctx context.Context, g Geofence) (Geofence, error) {
	var p hyperlieu.Problems
	g.Polygons, g.Circles = nil, nil
	if len(g.ShopIDs) == 0 || len(g.ShopIDs) > 500 {
		p.Add("geofence.shops.shopIds", "must list 1 to 500 shops")
	}
	if !(g.ShopRadiusM >= 10 && g.ShopRadiusM <= 50_000) {
		p.Add("geofence.shops.radiusM", "must be between 10 and 50000 metres")
	}
	if err := p.Err(); err != nil {
		return g, err
	}
	g.Fence = geo.Fence{}
	for i, id := range g.ShopIDs {
		pt, _, err := s.shops.ShopPlace(ctx, id)
		if err != nil {
			if hyperlieu.KindOf(err) == hyperlieu.NotFound {
				p.Add(fmt.Sprintf("geofence.shops.shopIds[%d]", i), "no shop %q", id)
				continue
			}
			return g, fmt.Errorf("shop %s: %w", id, err)
		}
		g.Fence.Circles = append(g.Fence.Circles, geo.Circle{Center: pt, RadiusM: g.ShopRadiusM})
	}
	return g, p.Err()
}

// Cell is one cell of a campaign's geofence cover, for a map preview.
type Cell struct {
	Cell     geo.Cell
	Boundary []geo.Point
	Inside   bool
	AreaM2   float64
}

// Cells returns the cells that cover a campaign's geofence.
func (s *Service) Cells(ctx context.Context, id string) ([]Cell, error) {
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return nil, err
	}
	cover, err := c.Geofence.Fence.Cover(geo.FenceResolution)
	if err != nil {
		return nil, fmt.Errorf("cover campaign %s: %w", id, err)
	}
	out := make([]Cell, 0, len(cover))
	for _, cc := range cover {
		b, err := geo.CellBoundary(cc.Cell)
		if err != nil {
			return nil, err
		}
		out = append(out, Cell{Cell: cc.Cell, Boundary: b, Inside: cc.Inside, AreaM2: geo.CellAreaM2(cc.Cell)})
	}
	return out, nil
}
