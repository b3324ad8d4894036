package geo_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/hyperlieu/hyperlieu/geo"
	"github.com/hyperlieu/hyperlieu/geo/geotest"
)

// ring builds a closed ring from lat, lng pairs, repeating the first.
func ring(latLngs ...float64) geo.Ring {
	r := make(geo.Ring, 0, len(latLngs)/2+1)
	for i := 0; i+1 < len(latLngs); i += 2 {
		r = append(r, geo.Point{Lat: latLngs[i], Lng: latLngs[i+1]})
	}
	return append(r, r[0])
}

// Coordinates below are exact in binary, so that points on edges are
// exactly on them.
var (
	square = ring(48.5, 2.0, 48.5, 2.5, 49.0, 2.5, 49.0, 2.0)
	hole   = ring(48.625, 2.125, 48.875, 2.125, 48.875, 2.375, 48.625, 2.375)
	// far is a second square, east of the first.
	far = ring(48.5, 3.0, 48.5, 3.5, 49.0, 3.5, 49.0, 3.0)
	// ell is an L: the square less its north-east quarter.
	ell = ring(48.5, 2.0, 48.5, 2.5, 48.75, 2.5, 48.75, 2.25, 49.0, 2.25, 49.0, 2.0)
	// diamond has diagonal edges through exactly representable midpoints.
	diamond = ring(48.0, 2.5, 48.5, 3.0, 49.0, 2.5, 48.5, 2.0)
)

func TestContains(t *testing.T) {
	withHole := geo.Fence{Polygons: []geo.Polygon{{square, hole}}}
	multi := geo.Fence{Polygons: []geo.Polygon{{square, hole}, {far}}}
	c := geo.Circle{Center: paris, RadiusM: 100}
	circle := geo.Fence{Circles: []geo.Circle{c}}
	tiny := geo.Fence{Polygons: []geo.Polygon{{ring(
		paris.Lat-0.000135, paris.Lng-0.0002, paris.Lat-0.000135, paris.Lng+0.0002,
		paris.Lat+0.000135, paris.Lng+0.0002, paris.Lat+0.000135, paris.Lng-0.0002)}}} // about 30 m a side
	tinyCircle := geo.Fence{Circles: []geo.Circle{{Center: paris, RadiusM: 15}}}
	city := geo.Fence{Circles: []geo.Circle{{Center: paris, RadiusM: 10_000}}}
	mixed := geo.Fence{Polygons: []geo.Polygon{{far}}, Circles: []geo.Circle{c}}
	onCircle := geotest.Offset(paris, 60, 80) // 100 m away on a flat map, not exactly on the sphere
	exact := geo.Fence{Circles: []geo.Circle{{Center: paris, RadiusM: geo.Distance(paris, onCircle)}}}

	tests := []struct {
		name string
		f    geo.Fence
		p    geo.Point
		want bool
	}{
		{"in the polygon, outside the hole", withHole, geo.Point{Lat: 48.55, Lng: 2.05}, true},
		{"in the hole", withHole, geo.Point{Lat: 48.75, Lng: 2.25}, false},
		{"on the hole's edge", withHole, geo.Point{Lat: 48.625, Lng: 2.25}, true},
		{"on the hole's vertex", withHole, geo.Point{Lat: 48.875, Lng: 2.375}, true},
		{"on the outer edge", withHole, geo.Point{Lat: 48.5, Lng: 2.25}, true},
		{"on the west edge", withHole, geo.Point{Lat: 48.75, Lng: 2.0}, true},
		{"on the east edge", withHole, geo.Point{Lat: 48.75, Lng: 2.5}, true},
		{"on the north edge", withHole, geo.Point{Lat: 49.0, Lng: 2.25}, true},
		{"on a vertex", withHole, geo.Point{Lat: 49.0, Lng: 2.5}, true},
		{"on the south-west vertex", withHole, geo.Point{Lat: 48.5, Lng: 2.0}, true},
		{"just outside the east edge", withHole, geo.Point{Lat: 48.75, Lng: math.Nextafter(2.5, 3)}, false},
		{"just inside the hole's edge", withHole, geo.Point{Lat: math.Nextafter(48.625, 49), Lng: 2.25}, false},
		{"level with a vertex, outside", withHole, geo.Point{Lat: 49.0, Lng: 2.6}, false},
		{"level with a vertex, west, outside", withHole, geo.Point{Lat: 48.5, Lng: 1.9}, false},
		{"north of the polygon", withHole, geo.Point{Lat: 49.1, Lng: 2.25}, false},
		{"in the second polygon", multi, geo.Point{Lat: 48.75, Lng: 3.25}, true},
		{"between the polygons", multi, geo.Point{Lat: 48.75, Lng: 2.75}, false},
		{"in the first polygon's hole", multi, geo.Point{Lat: 48.75, Lng: 2.25}, false},
		{"in the L", geo.Fence{Polygons: []geo.Polygon{{ell}}}, geo.Point{Lat: 48.6, Lng: 2.4}, true},
		{"in the L's notch", geo.Fence{Polygons: []geo.Polygon{{ell}}}, geo.Point{Lat: 48.9, Lng: 2.4}, false},
		{"on the L's inner corner", geo.Fence{Polygons: []geo.Polygon{{ell}}}, geo.Point{Lat: 48.75, Lng: 2.25}, true},
		{"on a diagonal edge", geo.Fence{Polygons: []geo.Polygon{{diamond}}}, geo.Point{Lat: 48.25, Lng: 2.75}, true},
		{"on another diagonal edge", geo.Fence{Polygons: []geo.Polygon{{diamond}}}, geo.Point{Lat: 48.75, Lng: 2.25}, true},
		{"outside the diamond's corner", geo.Fence{Polygons: []geo.Polygon{{diamond}}}, geo.Point{Lat: 48.1, Lng: 2.1}, false},
		{"circle centre", circle, paris, true},
		{"99 m from the centre", circle, geotest.Offset(paris, 0, 99), true},
		{"101 m from the centre", circle, geotest.Offset(paris, 0, 101), false},
		{"exactly on the circle", exact, onCircle, true},
		{"just beyond the circle", exact, geotest.Offset(paris, 60.0001, 80.0001), false},
		{"in a 30 m square", tiny, geotest.Offset(paris, 10, -10), true},
		{"20 m out of a 30 m square", tiny, geotest.Offset(paris, 35, 0), false},
		{"in a 15 m circle", tinyCircle, geotest.Offset(paris, 10, 10), true},
		{"out of a 15 m circle", tinyCircle, geotest.Offset(paris, 11, 11), false},
		{"9.9 km into a city", city, geotest.Offset(paris, 0, -9_900), true},
		{"10.1 km from a city's centre", city, geotest.Offset(paris, 10_100, 0), false},
		{"in the circle of a mixed fence", mixed, paris, true},
		{"in the polygon of a mixed fence", mixed, geo.Point{Lat: 48.75, Lng: 3.25}, true},
		{"in neither", mixed, london, false},
		{"empty fence", geo.Fence{}, paris, false},
		{"NaN point", circle, geo.Point{Lat: math.NaN(), Lng: paris.Lng}, false},
		{"out-of-range point", withHole, geo.Point{Lat: 48.75, Lng: 362.25}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.Contains(tt.p); got != tt.want {
				t.Errorf("Contains(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestAreaM2(t *testing.T) {
	km := geo.Ring{geotest.Offset(paris, -500, -500), geotest.Offset(paris, 500, -500), geotest.Offset(paris, 500, 500), geotest.Offset(paris, -500, 500), geotest.Offset(paris, -500, -500)}
	small := geo.Ring{geotest.Offset(paris, -100, -100), geotest.Offset(paris, 100, -100), geotest.Offset(paris, 100, 100), geotest.Offset(paris, -100, 100), geotest.Offset(paris, -100, -100)}
	tests := []struct {
		name string
		f    geo.Fence
		want float64
	}{
		{"1 km square", geo.Fence{Polygons: []geo.Polygon{{km}}}, 1e6},
		{"1 km square with a 200 m hole", geo.Fence{Polygons: []geo.Polygon{{km, small}}}, 1e6 - 4e4},
		{"1 km circle", geo.Fence{Circles: []geo.Circle{{Center: paris, RadiusM: 1000}}}, math.Pi * 1e6},
		{"both", geo.Fence{Polygons: []geo.Polygon{{km}}, Circles: []geo.Circle{{Center: paris, RadiusM: 1000}}}, 1e6 + math.Pi*1e6},
		{"the northern hemisphere", geo.Fence{Circles: []geo.Circle{{Center: geo.Point{Lat: 90}, RadiusM: math.Pi / 2 * geo.EarthRadiusM}}}, 2 * math.Pi * geo.EarthRadiusM * geo.EarthRadiusM},
		{"nothing", geo.Fence{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.AreaM2(); math.Abs(got-tt.want) > 0.005*tt.want {
				t.Errorf("AreaM2() = %.0f, want %.0f ± 0.5%%", got, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	ok := geo.Polygon{square}
	big := geo.Circle{Center: paris, RadiusM: 5_000}
	tests := []struct {
		name      string
		f         geo.Fence
		lim       geo.Limits
		wantField string // "" for no error
		wantWord  string // a word of the reason
	}{
		{"a polygon with a hole", geo.Fence{Polygons: []geo.Polygon{{square, hole}}}, geo.Limits{}, "", ""},
		{"a multipolygon and circles", geo.Fence{Polygons: []geo.Polygon{ok, {far}}, Circles: []geo.Circle{big, big}}, geo.Limits{}, "", ""},
		{"within limits", geo.Fence{Circles: []geo.Circle{big}}, geo.Limits{MaxAreaM2: 1e8, MaxCells: 5_000}, "", ""},
		{"empty", geo.Fence{}, geo.Limits{}, "geofence", "no polygon"},
		{"a polygon without rings", geo.Fence{Polygons: []geo.Polygon{ok, {}}}, geo.Limits{}, "geofence.polygons[1]", "no ring"},
		{"too few positions", geo.Fence{Polygons: []geo.Polygon{{ring(48.5, 2.0, 48.6, 2.1)}}}, geo.Limits{}, "geofence.polygons[0][0]", "at least 4"},
		{"unclosed", geo.Fence{Polygons: []geo.Polygon{{square[:4]}}}, geo.Limits{}, "geofence.polygons[0][0]", "not closed"},
		{"unclosed hole", geo.Fence{Polygons: []geo.Polygon{{square, append(geo.Ring{}, hole[:4]...)}}}, geo.Limits{}, "geofence.polygons[0][1]", "not closed"},
		{"latitude out of range", geo.Fence{Polygons: []geo.Polygon{ok, {ring(48.5, 2.0, 48.5, 2.5, 91, 2.5, 49.0, 2.0)}}}, geo.Limits{}, "geofence.polygons[1][0][2]", "latitude"},
		{"NaN longitude in a hole", geo.Fence{Polygons: []geo.Polygon{{square, ring(48.6, 2.1, 48.7, 2.1, 48.7, math.NaN(), 48.6, 2.2)}}}, geo.Limits{}, "geofence.polygons[0][1][2]", "longitude"},
		{"repeated position", geo.Fence{Polygons: []geo.Polygon{{ring(48.5, 2.0, 48.5, 2.5, 48.5, 2.5, 49.0, 2.5, 49.0, 2.0)}}}, geo.Limits{}, "geofence.polygons[0][0][2]", "repeats"},
		{"bow tie", geo.Fence{Polygons: []geo.Polygon{{ring(48.5, 2.0, 49.0, 2.5, 48.5, 2.5, 49.0, 2.0)}}}, geo.Limits{}, "geofence.polygons[0][0][0]", "crosses itself"},
		{"touching itself at a vertex", geo.Fence{Polygons: []geo.Polygon{{ring(48.5, 2.0, 48.5, 2.5, 48.75, 2.25, 49.0, 2.5, 49.0, 2.0, 48.75, 2.25)}}}, geo.Limits{}, "geofence.polygons[0][0][1]", "crosses itself"},
		{"flat ring, doubling back", geo.Fence{Polygons: []geo.Polygon{{ring(48.5, 2.0, 48.5, 2.5, 48.5, 2.25)}}}, geo.Limits{}, "geofence.polygons[0][0][0]", "crosses itself"},
		{"crossing the antimeridian", geo.Fence{Polygons: []geo.Polygon{{ring(-17.0, 179.0, -17.0, -179.0, -18.0, -179.0, -18.0, 179.0)}}}, geo.Limits{}, "geofence.polygons[0][0][0]", "antimeridian"},
		{"hole outside the shell", geo.Fence{Polygons: []geo.Polygon{{square, ring(48.6, 3.1, 48.7, 3.1, 48.7, 3.2, 48.6, 3.2)}}}, geo.Limits{}, "geofence.polygons[0][1]", "hole"},
		{"hole crossing the shell", geo.Fence{Polygons: []geo.Polygon{{square, ring(48.6, 2.4, 48.7, 2.4, 48.7, 2.6, 48.6, 2.6)}}}, geo.Limits{}, "geofence.polygons[0][1]", "hole"},
		{"circle centre NaN", geo.Fence{Circles: []geo.Circle{big, {Center: geo.Point{Lat: math.NaN()}, RadiusM: 10}}}, geo.Limits{}, "geofence.circles[1].center", "latitude"},
		{"zero radius", geo.Fence{Circles: []geo.Circle{big, big, {Center: paris}}}, geo.Limits{}, "geofence.circles[2].radiusM", "positive"},
		{"negative radius", geo.Fence{Circles: []geo.Circle{{Center: paris, RadiusM: -5}}}, geo.Limits{}, "geofence.circles[0].radiusM", "positive"},
		{"NaN radius", geo.Fence{Circles: []geo.Circle{{Center: paris, RadiusM: math.NaN()}}}, geo.Limits{}, "geofence.circles[0].radiusM", "positive"},
		{"infinite radius", geo.Fence{Circles: []geo.Circle{{Center: paris, RadiusM: math.Inf(1)}}}, geo.Limits{}, "geofence.circles[0].radiusM", "positive"},
		{"radius over the maximum", geo.Fence{Circles: []geo.Circle{{Center: paris, RadiusM: 2e6}}}, geo.Limits{}, "geofence.circles[0].radiusM", "maximum"},
		{"radius over the area limit", geo.Fence{Circles: []geo.Circle{{Center: paris, RadiusM: 10_000}}}, geo.Limits{MaxAreaM2: 1e8}, "geofence.circles[0].radiusM", "area"},
		{"area over the limit", geo.Fence{Polygons: []geo.Polygon{ok}}, geo.Limits{MaxAreaM2: 1e8}, "geofence", "area"},
		{"cells over the limit", geo.Fence{Circles: []geo.Circle{big}}, geo.Limits{MaxCells: 100}, "geofence", "cells"},
		{"cells far over the limit", geo.Fence{Polygons: []geo.Polygon{ok}}, geo.Limits{MaxCells: 100}, "geofence", "cells"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.f.Validate(tt.lim)
			if tt.wantField == "" {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			var fe *geo.FenceError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate() = %v, want a *FenceError", err)
			}
			if fe.Field != tt.wantField || !strings.Contains(fe.Reason, tt.wantWord) {
				t.Errorf("Validate() = %q, want field %q and a reason with %q", err, tt.wantField, tt.wantWord)
			}
			if fe.Error() != fe.Field+": "+fe.Reason {
				t.Errorf("Error() = %q, want field: reason", fe.Error())
			}
		})
	}
}

func TestCover(t *testing.T) {
	f := geo.Fence{Polygons: []geo.Polygon{{square, hole}}, Circles: []geo.Circle{{Center: london, RadiusM: 3000}}}
	cells, err := f.Cover(7)
	if err != nil {
		t.Fatalf("Cover(7) error = %v", err)
	}
	var inside, boundary int
	for i, c := range cells {
		if i > 0 && cells[i-1].Cell >= c.Cell {
			t.Fatalf("Cover(7) is not sorted or repeats a cell at %d", i)
		}
		if c.Cell.Res() != 7 {
			t.Errorf("Cover(7) holds %v at resolution %d", c.Cell, c.Cell.Res())
		}
		if c.Inside {
			inside++
			center, _ := geo.CellCenter(c.Cell)
			if !f.Contains(center) {
				t.Errorf("Cover(7) marks %v inside, but its centre is not in the fence", c.Cell)
			}
		} else {
			boundary++
		}
	}
	if inside == 0 || boundary == 0 {
		t.Errorf("Cover(7) = %d inside and %d boundary cells, want some of each", inside, boundary)
	}
	for _, p := range []geo.Point{{Lat: 48.55, Lng: 2.05}, {Lat: 48.5, Lng: 2.25}, {Lat: 48.75, Lng: 2.25}, london} {
		c, _ := geo.CellAt(p, 7)
		found := false
		for _, cc := range cells {
			found = found || cc.Cell == c
		}
		if f.Contains(p) && !found {
			t.Errorf("Cover(7) lacks %v, the cell of %v, which the fence contains", c, p)
		}
	}
	if _, err := f.Cover(16); err == nil {
		t.Errorf("Cover(16) error = nil, want an error")
	}
	if _, err := (geo.Fence{}).Cover(9); err == nil {
		t.Errorf("Cover of an empty fence: error = nil, want an error")
	}
	huge := geo.Fence{Polygons: []geo.Polygon{{ring(40, -5, 40, 10, 55, 10, 55, -5)}}}
	if _, err := huge.Cover(12); err == nil {
		t.Errorf("Cover(12) of western Europe: error = nil, want an error")
	}
}
