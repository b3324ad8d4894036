package campaign

import (
	"context"
	"math"
	"sort"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/geo"
)

// OffersNear returns the active campaigns' offers within about radiusM of p
// (to the nearest cell of their geofence), nearest first, worded for the
// customer. It implements the events area's OfferSource.
func (l *LocationService) OffersNear(ctx context.Context, userID string, p geo.Point, radiusM float64) ([]hyperlieu.NearbyOffer, error) {
	if err := p.Valid(); err != nil {
		return nil, hyperlieu.Errorf(hyperlieu.Invalid, "%v", err)
	}
	u, err := l.user(ctx, userID)
	if err != nil {
		return nil, err
	}
	return l.nearby(l.campaigns.active(), u, p, radiusM), nil
}

// nearby lists the offers of snap's campaigns within radiusM of p, worded
// for u, nearest first.
func (l *LocationService) nearby(snap *snapshot, u hyperlieu.User, p geo.Point, radiusM float64) []hyperlieu.NearbyOffer {
	out := []hyperlieu.NearbyOffer{}
	c0, err := geo.CellOf(p)
	if err != nil {
		return out
	}
	disk, err := geo.Disk(c0, diskK(radiusM))
	if err != nil {
		return out
	}
	// The disk of cells finds candidates; the distance is then measured
	// to the fence itself.
	seen := map[string]bool{}
	for _, cell := range disk {
		for _, id := range snap.cells[cell] {
			if seen[id] {
				continue
			}
			seen[id] = true
			c := snap.campaigns[id]
			d, at := fenceDistance(c.Geofence.Fence, p)
			if d > radiusM {
				continue
			}
			t := c.Offer.Text(u.Prefs.Locale, u.Prefs.Formality)
			// Location is where the offer starts to apply: the nearest point of its zone.
			n := hyperlieu.NearbyOffer{ID: id, CampaignID: id, Title: t.Title, Location: at, DistanceM: math.Round(d)}
			if len(c.Geofence.ShopIDs) == 1 {
				n.ShopID = c.Geofence.ShopIDs[0]
			}
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].DistanceM != out[j].DistanceM {
			return out[i].DistanceM < out[j].DistanceM
		}
		return out[i].CampaignID < out[j].CampaignID
	})
	return out
}

// fenceDistance returns the distance in metres from p to the nearest point
// of f, and that point: p itself inside; exact for circles; for polygons, to
// the nearest edge in a local flat projection (within a metre at the
// distances "nearby" uses).
func fenceDistance(f geo.Fence, p geo.Point) (float64, geo.Point) {
	if f.Contains(p) {
		return 0, p
	}
	best, at := math.Inf(1), p
	for _, c := range f.Circles {
		d := geo.Distance(p, c.Center)
		if e := math.Max(0, d-c.RadiusM); e < best {
			// The nearest point of a circle lies on the way to its centre.
			t := c.RadiusM / d
			best, at = e, geo.Point{Lat: c.Center.Lat + (p.Lat-c.Center.Lat)*t, Lng: c.Center.Lng + (p.Lng-c.Center.Lng)*t}
		}
	}
	const mPerDeg = math.Pi * geo.EarthRadiusM / 180
	kx := mPerDeg * math.Cos(p.Lat*math.Pi/180)
	for _, poly := range f.Polygons {
		for _, r := range poly {
			for i := 0; i+1 < len(r); i++ {
				ax, ay := (r[i].Lng-p.Lng)*kx, (r[i].Lat-p.Lat)*mPerDeg
				bx, by := (r[i+1].Lng-p.Lng)*kx, (r[i+1].Lat-p.Lat)*mPerDeg
				dx, dy := bx-ax, by-ay
				t := 0.0
				if l := dx*dx + dy*dy; l > 0 {
					t = math.Max(0, math.Min(1, -(ax*dx+ay*dy)/l))
				}
				if d := math.Hypot(ax+t*dx, ay+t*dy); d < best {
					best, at = d, geo.Point{Lat: r[i].Lat + t*(r[i+1].Lat-r[i].Lat), Lng: r[i].Lng + t*(r[i+1].Lng-r[i].Lng)}
				}
			}
		}
	}
	return best, at
}
