// Package geotest generates reproducible random geofences and points around Paris for tests and benchmarks.
package geotest

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/hyperlieu/hyperlieu/geo"
)

// Paris is the centre of Notre-Dame's parvis, where generated shapes gather.
var Paris = geo.Point{Lat: 48.8530, Lng: 2.3499}

// Gen generates shapes from a seed: the same seed gives the same shapes.
// Shapes are centred uniformly in a square of SpreadM metres a side around
// Center, with radii between MinRadiusM and MaxRadiusM. A Gen is not safe
// for concurrent use.
type Gen struct {
	Center                 geo.Point
	SpreadM                float64
	MinRadiusM, MaxRadiusM float64
	rnd                    *rand.Rand
}

// New returns a generator seeded with seed, spreading shapes of 100 m to
// 2 km over a 30 km square around Paris.
func New(seed uint64) *Gen {
	return &Gen{
		Center:     Paris,
		SpreadM:    30_000,
		MinRadiusM: 100,
		MaxRadiusM: 2_000,
		rnd:        rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)),
	}
}

// Offset returns the point dx metres east and dy metres north of p, on a
// local flat approximation (good to a fraction of a percent over tens of
// kilometres).
func Offset(p geo.Point, dx, dy float64) geo.Point {
	const mPerDeg = geo.EarthRadiusM * math.Pi / 180
	return geo.Point{
		Lat: p.Lat + dy/mPerDeg,
		Lng: p.Lng + dx/(mPerDeg*math.Cos(p.Lat*math.Pi/180)),
	}
}

// Point returns a point uniformly in the generator's square.
func (g *Gen) Point() geo.Point {
	return Offset(g.Center, (g.rnd.Float64()-0.5)*g.SpreadM, (g.rnd.Float64()-0.5)*g.SpreadM)
}

// radius returns a radius between MinRadiusM and MaxRadiusM, log-uniform so
// that small fences are as common as large ones.
func (g *Gen) radius() float64 {
	lo, hi := math.Log(g.MinRadiusM), math.Log(g.MaxRadiusM)
	return math.Exp(lo + g.rnd.Float64()*(hi-lo))
}

// Polygon returns a simple polygon of 6 to 12 vertices with no hole. It is
// star-shaped around its centre: vertex i sits at an angle jittered within
// the i-th of n equal sectors (so angles increase and no gap reaches 180°)
// and at a distance between half the radius and the radius, which makes it
// simple.
func (g *Gen) Polygon() geo.Polygon {
	return geo.Polygon{g.ring(g.Point(), g.radius(), 6+g.rnd.IntN(7))}
}

// ring returns a closed star-shaped ring of n vertices around c.
func (g *Gen) ring(c geo.Point, r float64, n int) geo.Ring {
	ring := make(geo.Ring, 0, n+1)
	for i := range n {
		a := (float64(i) + 0.1 + 0.8*g.rnd.Float64()) * 2 * math.Pi / float64(n)
		d := r * (0.5 + 0.5*g.rnd.Float64())
		ring = append(ring, Offset(c, d*math.Cos(a), d*math.Sin(a)))
	}
	return append(ring, ring[0])
}

// PolygonWithHole returns a polygon like Polygon's with a star-shaped hole of
// at most a fifth of its radius around its centre, which the outer ring
// (never nearer than half the radius) surrounds.
func (g *Gen) PolygonWithHole() geo.Polygon {
	c, r := g.Point(), g.radius()
	return geo.Polygon{g.ring(c, r, 6+g.rnd.IntN(7)), g.ring(c, r/5, 6+g.rnd.IntN(7))}
}

// Circle returns a circle.
func (g *Gen) Circle() geo.Circle {
	return geo.Circle{Center: g.Point(), RadiusM: g.radius()}
}

// Fence returns a fence of one polygon (a quarter of them with a hole) or,
// half the time, one circle.
func (g *Gen) Fence() geo.Fence {
	switch g.rnd.IntN(8) {
	case 0, 1, 2:
		return geo.Fence{Polygons: []geo.Polygon{g.Polygon()}}
	case 3:
		return geo.Fence{Polygons: []geo.Polygon{g.PolygonWithHole()}}
	default:
		return geo.Fence{Circles: []geo.Circle{g.Circle()}}
	}
}

// Fences returns n fences keyed "f00000", "f00001" and so on.
func (g *Gen) Fences(n int) map[string]geo.Fence {
	fs := make(map[string]geo.Fence, n)
	for i := range n {
		fs[fmt.Sprintf("f%05d", i)] = g.Fence()
	}
	return fs
}

// Near returns a point in or near f: within 20% of f's size beyond its
// bounding box, or on one of its edges or circles, or next to a vertex.
// Such points exercise the boundary cells of an index.
func (g *Gen) Near(f geo.Fence) geo.Point {
	if len(f.Circles) > 0 && (len(f.Polygons) == 0 || g.rnd.IntN(2) == 0) {
		c := f.Circles[g.rnd.IntN(len(f.Circles))]
		a := g.rnd.Float64() * 2 * math.Pi
		d := c.RadiusM * 1.2 * math.Sqrt(g.rnd.Float64())
		if g.rnd.IntN(4) == 0 {
			d = c.RadiusM * (1 + (g.rnd.Float64()-0.5)*1e-6)
		}
		return Offset(c.Center, d*math.Cos(a), d*math.Sin(a))
	}
	poly := f.Polygons[g.rnd.IntN(len(f.Polygons))]
	ring := poly[g.rnd.IntN(len(poly))]
	switch g.rnd.IntN(4) {
	case 0: // on an edge, up to rounding
		i := g.rnd.IntN(len(ring) - 1)
		t := g.rnd.Float64()
		a, b := ring[i], ring[i+1]
		return geo.Point{Lat: a.Lat + t*(b.Lat-a.Lat), Lng: a.Lng + t*(b.Lng-a.Lng)}
	case 1: // a vertex, or within a few centimetres of one
		v := ring[g.rnd.IntN(len(ring)-1)]
		if g.rnd.IntN(2) == 0 {
			return v
		}
		return Offset(v, (g.rnd.Float64()-0.5)*0.1, (g.rnd.Float64()-0.5)*0.1)
	}
	s, n, w, e := 90.0, -90.0, 180.0, -180.0
	for _, p := range poly[0] {
		s, n, w, e = min(s, p.Lat), max(n, p.Lat), min(w, p.Lng), max(e, p.Lng)
	}
	dl, dg := (n-s)*0.2, (e-w)*0.2
	return geo.Point{Lat: s - dl + g.rnd.Float64()*(n-s+2*dl), Lng: w - dg + g.rnd.Float64()*(e-w+2*dg)}
}

// IntN returns a random int in [0, n), from the generator's stream.
func (g *Gen) IntN(n int) int { return g.rnd.IntN(n) }

// Float64 returns a random float64 in [0, 1), from the generator's stream.
func (g *Gen) Float64() float64 { return g.rnd.Float64() }
