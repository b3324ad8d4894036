package campaign

import (
	"math"
	"testing"

	"github.com/hyperlieu/hyperlieu/geo"
)

// TestFenceDistance: the distance to a fence and the nearest point of it
// agree, the point lies on the fence, and inside means zero and p itself.
func TestFenceDistance(t *testing.T) {
	c := geo.Point{Lat: 48.8566, Lng: 2.3522}
	const m = 1 / 111_320.0 // degrees of latitude per metre, about
	kx := m / math.Cos(c.Lat*math.Pi/180)
	square := geo.Polygon{geo.Ring{
		{Lat: c.Lat - 100*m, Lng: c.Lng - 100*kx}, {Lat: c.Lat - 100*m, Lng: c.Lng + 100*kx},
		{Lat: c.Lat + 100*m, Lng: c.Lng + 100*kx}, {Lat: c.Lat + 100*m, Lng: c.Lng - 100*kx},
		{Lat: c.Lat - 100*m, Lng: c.Lng - 100*kx},
	}}
	tests := []struct {
		name  string
		fence geo.Fence
		p     geo.Point
		want  float64
	}{
		{"inside a circle", geo.Fence{Circles: []geo.Circle{{Center: c, RadiusM: 100}}}, c, 0},
		{"north of a circle", geo.Fence{Circles: []geo.Circle{{Center: c, RadiusM: 100}}}, geo.Point{Lat: c.Lat + 500*m, Lng: c.Lng}, 400},
		{"east of a square", geo.Fence{Polygons: []geo.Polygon{square}}, geo.Point{Lat: c.Lat, Lng: c.Lng + 400*kx}, 300},
		{"inside a square", geo.Fence{Polygons: []geo.Polygon{square}}, geo.Point{Lat: c.Lat + 10*m, Lng: c.Lng}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, at := fenceDistance(tt.fence, tt.p)
			if math.Abs(d-tt.want) > 2 {
				t.Errorf("fenceDistance = %.1f m, want %.0f", d, tt.want)
			}
			if back := geo.Distance(tt.p, at); math.Abs(back-d) > 2 {
				t.Errorf("nearest point %v is %.1f m away, but the distance is %.1f", at, back, d)
			}
			if !tt.fence.Contains(at) && fenceGap(tt.fence, at) > 0.5 {
				t.Errorf("nearest point %v is not on the fence", at)
			}
		})
	}
}

func fenceGap(f geo.Fence, p geo.Point) float64 {
	d, _ := fenceDistance(f, p)
	return d
}
