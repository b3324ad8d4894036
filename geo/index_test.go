package geo_test

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/hyperlieu/hyperlieu/geo"
	"github.com/hyperlieu/hyperlieu/geo/geotest"
)

// bruteLookup is what FenceIndex.Lookup must return.
func bruteLookup(fences map[string]geo.Fence, p geo.Point) []string {
	var ids []string
	for id, f := range fences {
		if f.Contains(p) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// testFences returns n random fences over 20 km of Paris (300 of them
// cover it about once on average, many overlapping), and a few special ones: tiny, city-sized, a multipolygon with a
// hole mixed with a circle, and a union of H3 cells.
func testFences(t testing.TB, g *geotest.Gen, n int) map[string]geo.Fence {
	t.Helper()
	g.SpreadM = 20_000
	fences := g.Fences(n)
	c := geotest.Paris
	sq := func(dx, dy, half float64) geo.Ring {
		return geo.Ring{geotest.Offset(c, dx-half, dy-half), geotest.Offset(c, dx+half, dy-half),
			geotest.Offset(c, dx+half, dy+half), geotest.Offset(c, dx-half, dy+half), geotest.Offset(c, dx-half, dy-half)}
	}
	fences["tiny square"] = geo.Fence{Polygons: []geo.Polygon{{sq(100, 100, 15)}}}
	fences["tiny circle"] = geo.Fence{Circles: []geo.Circle{{Center: geotest.Offset(c, -200, 50), RadiusM: 15}}}
	fences["city circle"] = geo.Fence{Circles: []geo.Circle{{Center: geotest.Offset(c, 15_000, 0), RadiusM: 10_000}}}
	fences["city square"] = geo.Fence{Polygons: []geo.Polygon{{sq(-14_000, 0, 9_000), sq(-6_000, 1_000, 1_000)}}}
	fences["mixed"] = geo.Fence{
		Polygons: []geo.Polygon{{sq(-1_500, 0, 700), sq(-1_500, 0, 300)}, {sq(1_500, 0, 400)}},
		Circles:  []geo.Circle{{Center: geotest.Offset(c, 0, 1_500), RadiusM: 500}},
	}
	cell, _ := geo.CellOf(geotest.Offset(c, 700, -900))
	b, _ := geo.CellBoundary(cell)
	fences["one cell"] = geo.Fence{Polygons: []geo.Polygon{{b}}}
	for id, f := range fences {
		if err := f.Validate(geo.Limits{}); err != nil {
			t.Fatalf("fence %s: %v", id, err)
		}
	}
	return fences
}

// testPoints returns n points: a third uniform over the fences' area, the
// rest in or near random fences, on edges, vertices and circles, and on the
// edges of H3 cells.
func testPoints(g *geotest.Gen, fences map[string]geo.Fence, n int) []geo.Point {
	ids := make([]string, 0, len(fences))
	for id := range fences {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	pts := make([]geo.Point, 0, n)
	for len(pts) < n {
		switch g.IntN(6) {
		case 0, 1:
			pts = append(pts, g.Point())
		case 2: // on an edge of the point's cell, where H3's model of cells is least exact
			c, _ := geo.CellOf(g.Point())
			b, _ := geo.CellBoundary(c)
			i, f := g.IntN(len(b)-1), g.Float64()
			pts = append(pts, geo.Point{Lat: b[i].Lat + f*(b[i+1].Lat-b[i].Lat), Lng: b[i].Lng + f*(b[i+1].Lng-b[i].Lng)})
		default:
			pts = append(pts, g.Near(fences[ids[g.IntN(len(ids))]]))
		}
	}
	return pts
}

func TestFenceIndexEqualsContains(t *testing.T) {
	g := geotest.New(42)
	fences := testFences(t, g, 300)
	points := testPoints(g, fences, 40_000)
	for _, res := range []int{geo.FenceResolution, 10} {
		t.Run(fmt.Sprintf("resolution %d", res), func(t *testing.T) {
			ix, err := geo.BuildFenceIndex(fences, res)
			if err != nil {
				t.Fatal(err)
			}
			if ix.Len() != len(fences) {
				t.Errorf("Len() = %d, want %d", ix.Len(), len(fences))
			}
			pts := points
			if res != geo.FenceResolution {
				pts = points[:10_000]
			}
			var hits, multi int
			for _, p := range pts {
				got, want := ix.Lookup(p), bruteLookup(fences, p)
				if !slices.Equal(got, want) {
					t.Fatalf("Lookup(%v) = %v, want %v", p, got, want)
				}
				if len(want) > 0 {
					hits++
				}
				if len(want) > 1 {
					multi++
				}
			}
			t.Logf("%d points, %d in some fence, %d in several", len(pts), hits, multi)
		})
	}
}

func TestFenceIndexBuilder(t *testing.T) {
	b := geo.NewFenceIndexBuilder(geo.FenceResolution)
	if err := b.Add("a", geo.Fence{Circles: []geo.Circle{{Center: paris, RadiusM: 500}}}); err != nil {
		t.Fatal(err)
	}
	if err := b.Add("bad", geo.Fence{Circles: []geo.Circle{{Center: paris, RadiusM: -1}}}); err == nil {
		t.Errorf("Add(bad) error = nil, want an error")
	}
	if err := b.Add("b", geo.Fence{Circles: []geo.Circle{{Center: paris, RadiusM: 100}}}); err != nil {
		t.Fatal(err)
	}
	ix := b.Build()
	if ix.Len() != 2 || b.Len() != 2 {
		t.Errorf("Len() = %d, builder %d, want 2", ix.Len(), b.Len())
	}
	if got := ix.Lookup(paris); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Lookup(paris) = %v, want [a b]", got)
	}
	if got := ix.Lookup(geotest.Offset(paris, 300, 0)); !slices.Equal(got, []string{"a"}) {
		t.Errorf("Lookup(300 m east) = %v, want [a]", got)
	}
	if got := ix.Lookup(london); got != nil {
		t.Errorf("Lookup(london) = %v, want nil", got)
	}
	if got := ix.Lookup(geo.Point{Lat: math.NaN()}); got != nil {
		t.Errorf("Lookup(NaN) = %v, want nil", got)
	}
	if got := ix.AppendLookup([]string{"x"}, paris); !slices.Equal(got, []string{"x", "a", "b"}) {
		t.Errorf("AppendLookup([x], paris) = %v, want [x a b]", got)
	}

	if _, err := geo.BuildFenceIndex(map[string]geo.Fence{"ok": {Circles: []geo.Circle{{Center: paris, RadiusM: 5}}}, "bad": {}}, geo.FenceResolution); err == nil {
		t.Errorf("BuildFenceIndex with a bad fence: error = nil, want an error")
	}
	empty, err := geo.BuildFenceIndex(nil, geo.FenceResolution)
	if err != nil || empty.Len() != 0 || empty.Lookup(paris) != nil {
		t.Errorf("BuildFenceIndex(nil) = %v, %v, want an empty index", empty, err)
	}
}

// TestFenceIndexCircleEdges checks points at exactly a circle's radius, and
// a few nanometres either side, where the index's chord test hands over to
// Distance.
func TestFenceIndexCircleEdges(t *testing.T) {
	g := geotest.New(5)
	g.SpreadM = 3_000
	fences := map[string]geo.Fence{}
	var pts []geo.Point
	for i := range 500 {
		c, p := g.Point(), g.Point()
		fences[fmt.Sprint(i)] = geo.Fence{Circles: []geo.Circle{{Center: c, RadiusM: geo.Distance(c, p)}}}
		pts = append(pts, p,
			geo.Point{Lat: math.Nextafter(p.Lat, 90), Lng: p.Lng},
			geo.Point{Lat: p.Lat, Lng: math.Nextafter(p.Lng, -180)},
			geo.Point{Lat: p.Lat + 1e-13, Lng: p.Lng - 1e-13})
	}
	ix, err := geo.BuildFenceIndex(fences, geo.FenceResolution)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pts {
		if got, want := ix.Lookup(p), bruteLookup(fences, p); !slices.Equal(got, want) {
			t.Fatalf("Lookup(%v) = %v, want %v", p, got, want)
		}
	}
}

func TestFenceIndexMissAllocations(t *testing.T) {
	ix, err := geo.BuildFenceIndex(map[string]geo.Fence{"a": {Circles: []geo.Circle{{Center: paris, RadiusM: 500}}}}, geo.FenceResolution)
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]string, 0, 4)
	miss := testing.AllocsPerRun(100, func() { dst = ix.AppendLookup(dst[:0], london) })
	hit := testing.AllocsPerRun(100, func() { dst = ix.AppendLookup(dst[:0], paris) })
	// H3's cgo LatLngToCell allocates twice (its C arguments escape); the
	// index itself must add nothing.
	if miss > 2 || hit > 2 {
		t.Errorf("AppendLookup allocates %v times on a miss and %v on a hit, want at most H3's 2", miss, hit)
	}
}

// brutePoints is what PointIndex.Within must return.
func brutePoints(pts map[string]geo.Point, c geo.Point, r float64) []geo.Hit {
	var hits []geo.Hit
	for id, p := range pts {
		if d := geo.Distance(c, p); d <= r {
			hits = append(hits, geo.Hit{ID: id, Point: p, DistanceM: d})
		}
	}
	slices.SortFunc(hits, func(a, b geo.Hit) int {
		if a.DistanceM != b.DistanceM {
			if a.DistanceM < b.DistanceM {
				return -1
			}
			return 1
		}
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
	return hits
}

func TestPointIndexWithin(t *testing.T) {
	g := geotest.New(7)
	g.SpreadM = 120_000
	ix := geo.NewPointIndex()
	pts := make(map[string]geo.Point)
	for i := range 5_000 {
		id := fmt.Sprintf("p%04d", i)
		p := g.Point()
		if i%10 == 0 { // clusters: several points in one cell, and exact duplicates
			p = pts[fmt.Sprintf("p%04d", i-i%50)]
			if i%20 == 0 {
				p = geotest.Offset(p, g.Float64()*30, g.Float64()*30)
			}
		}
		pts[id] = p
		if err := ix.Set(id, p); err != nil {
			t.Fatal(err)
		}
	}
	// Moves and removals.
	for i := range 500 {
		id := fmt.Sprintf("p%04d", g.IntN(5_000))
		if i%3 == 0 {
			ix.Remove(id)
			delete(pts, id)
			continue
		}
		p := g.Point()
		pts[id] = p
		if err := ix.Set(id, p); err != nil {
			t.Fatal(err)
		}
	}
	if ix.Len() != len(pts) {
		t.Errorf("Len() = %d, want %d", ix.Len(), len(pts))
	}
	ids := make([]string, 0, len(pts))
	for id := range pts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var found int
	for i := range 2_000 {
		r := math.Exp(math.Log(10) + g.Float64()*(math.Log(50_000)-math.Log(10))) // 10 m to 50 km
		c := g.Point()
		switch i % 4 {
		case 0: // centred on a point, which must be found at distance 0
			c = pts[ids[g.IntN(len(ids))]]
		case 1: // a radius reaching exactly one point
			p := pts[ids[g.IntN(len(ids))]]
			r = geo.Distance(c, p)
		}
		got, want := ix.Within(c, r), brutePoints(pts, c, r)
		if !slices.Equal(got, want) {
			t.Fatalf("Within(%v, %.1f) = %d hits, want %d:\n got %v\nwant %v", c, r, len(got), len(want), got, want)
		}
		found += len(got)
	}
	t.Logf("%d hits over 2,000 queries", found)
	for _, tt := range []struct {
		name string
		c    geo.Point
		r    float64
	}{
		{"NaN centre", geo.Point{Lat: math.NaN()}, 100},
		{"negative radius", paris, -1},
		{"NaN radius", paris, math.NaN()},
	} {
		if got := ix.Within(tt.c, tt.r); got != nil {
			t.Errorf("Within(%s) = %v, want nil", tt.name, got)
		}
	}
	if got := ix.Within(paris, 30_000_000); len(got) != len(pts) {
		t.Errorf("Within(the whole Earth) = %d hits, want %d", len(got), len(pts))
	}
	if err := ix.Set("bad", geo.Point{Lat: 91}); err == nil {
		t.Errorf("Set(bad point) error = nil, want an error")
	}
}

func TestPointIndexWorldwide(t *testing.T) {
	// Across the antimeridian, at the poles and around a pentagon.
	ix := geo.NewPointIndex()
	pts := map[string]geo.Point{}
	centres := []geo.Point{{Lat: 0, Lng: 180}, {Lat: 89.99, Lng: 0}, {Lat: -89.99, Lng: 45}, {Lat: 64.7, Lng: 10.536}, {Lat: -16.39, Lng: 1.0}}
	g := geotest.New(9)
	for i := range 3_000 {
		c := centres[i%len(centres)]
		r := 60_000 * math.Sqrt(g.Float64())
		a := g.Float64() * 2 * math.Pi
		p := geotest.Offset(c, r*math.Cos(a), r*math.Sin(a))
		p.Lng = math.Remainder(p.Lng, 360)
		p.Lat = max(-90, min(90, p.Lat))
		id := fmt.Sprint(i)
		pts[id] = p
		if err := ix.Set(id, p); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 500 {
		c := centres[i%len(centres)]
		r := math.Exp(math.Log(10) + g.Float64()*(math.Log(50_000)-math.Log(10)))
		got, want := ix.Within(c, r), brutePoints(pts, c, r)
		if !slices.Equal(got, want) {
			t.Fatalf("Within(%v, %.1f) = %d hits, want %d", c, r, len(got), len(want))
		}
	}
}

func TestPointIndexConcurrent(t *testing.T) {
	ix := geo.NewPointIndex()
	g := geotest.New(11)
	pts := make([]geo.Point, 200)
	for i := range pts {
		pts[i] = g.Point()
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 2_000 {
			if err := ix.Set(fmt.Sprint(i%200), pts[(i*7)%200]); err != nil {
				t.Error(err)
			}
			if i%5 == 0 {
				ix.Remove(fmt.Sprint(i % 200))
			}
		}
	})
	for range 2 {
		wg.Go(func() {
			for i := range 500 {
				for _, h := range ix.Within(pts[i%200], 3_000) {
					if h.DistanceM > 3_000 {
						t.Errorf("Within(_, 3000) returned %v", h)
					}
				}
			}
		})
	}
	wg.Wait()
}
