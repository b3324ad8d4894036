package geo

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/uber/h3-go/v4"
)

// stress multiplies the randomized checks; raise it to hunt for rare failures.
var stress = 1

// destination returns the point d metres from p along the initial bearing b
// (radians clockwise from north), on the sphere.
func destination(p Point, b, d float64) Point {
	const rad = math.Pi / 180
	lat1, lng1, a := p.Lat*rad, p.Lng*rad, d/EarthRadiusM
	lat2 := math.Asin(math.Sin(lat1)*math.Cos(a) + math.Cos(lat1)*math.Sin(a)*math.Cos(b))
	lng2 := lng1 + math.Atan2(math.Sin(b)*math.Sin(a)*math.Cos(lat1), math.Cos(a)-math.Sin(lat1)*math.Sin(lat2))
	lng2 = math.Remainder(lng2, 2*math.Pi)
	return Point{lat2 / rad, lng2 / rad}
}

func TestPentagons(t *testing.T) {
	cells, err := h3.Pentagons(0)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cells {
		ll, _ := h3.CellToLatLng(c)
		if d := Distance(Point{ll.Lat, ll.Lng}, pentagons[i]); d > 0.01 {
			t.Errorf("pentagons[%d] = %v, want %v (%.3f m away)", i, pentagons[i], ll, d)
		}
	}
}

func TestParent(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		p := Point{rnd.Float64()*180 - 90, rnd.Float64()*360 - 180}
		res := rnd.IntN(16)
		c := cellAt(p, res)
		pr := rnd.IntN(res + 1)
		want, _ := h3.Cell(c).Parent(pr)
		if got := c.parent(pr); got != Cell(want) {
			t.Errorf("%v.parent(%d) = %v, want %v", c, pr, got, Cell(want))
		}
	}
}

// TestEpsBelowEdges checks the coverage theorem's length scale against
// every edge of every cell at resolutions 0 to 3: no edge may be shorter
// than ε, which lower-bounds the distance between non-adjacent cells.
func TestEpsBelowEdges(t *testing.T) {
	res0, _ := h3.Res0Cells()
	for res := range 4 {
		shortest := math.Inf(1)
		for _, r0 := range res0 {
			cells, _ := r0.Children(res)
			for _, c := range cells {
				edges, _ := c.DirectedEdges()
				for _, e := range edges {
					l, _ := h3.EdgeLengthM(e)
					shortest = min(shortest, l)
				}
			}
		}
		if eps := epsM(res); shortest < eps {
			t.Errorf("resolution %d: shortest edge %.0f m, under ε = %.0f m", res, shortest, eps)
		}
	}
}

// TestDiskCoversCircle checks the theorem of lattice.go: every point within
// r of a centre falls in a cell of the disk of diskK rings around the
// centre's cell. Centres are taken around Paris, anywhere on Earth, and
// next to each pentagon; points mostly near the circle's edge.
func TestDiskCoversCircle(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	centres := func(i int) Point {
		switch i % 3 {
		case 0:
			return destination(Point{48.8566, 2.3522}, rnd.Float64()*2*math.Pi, rnd.Float64()*30_000)
		case 1:
			return Point{math.Asin(2*rnd.Float64()-1) * 180 / math.Pi, rnd.Float64()*360 - 180}
		}
		return destination(pentagons[rnd.IntN(12)], rnd.Float64()*2*math.Pi, rnd.Float64()*60*edgeM(9)*rnd.Float64())
	}
	checked, worst := 0, 0.0
	for i := range 1500 * stress {
		res := 5 + rnd.IntN(5)
		c := centres(i)
		if i%3 == 2 {
			// Around pentagons, scale the distance to the resolution.
			c = destination(pentagons[rnd.IntN(12)], rnd.Float64()*2*math.Pi, rnd.Float64()*8*edgeM(res))
		}
		r := math.Exp(rnd.Float64()*math.Log(12*epsM(res)/5)) * 5 // 5 m to 12 ε
		if rnd.IntN(4) == 0 {
			r = rnd.Float64() * 2 * epsM(res)
		}
		k := diskK(res, r, unit(c))
		cells, err := disk(cellAt(c, res), k)
		if err != nil {
			t.Fatal(err)
		}
		in := make(map[Cell]bool, len(cells))
		for _, d := range cells {
			in[d] = true
		}
		for range 200 {
			d := r * math.Sqrt(rnd.Float64())
			if rnd.IntN(2) == 0 {
				d = r * (1 - 1e-9*rnd.Float64())
			}
			q := destination(c, rnd.Float64()*2*math.Pi, d)
			if Distance(c, q) > r {
				continue
			}
			checked++
			qc := cellAt(q, res)
			if !in[qc] {
				t.Fatalf("resolution %d, centre %v, radius %.1f m: %v (%.1f m away) is in %v, outside the disk of k = %d",
					res, c, r, q, Distance(c, q), qc, k)
			}
			if g, err := h3.GridDistance(h3.Cell(cellAt(c, res)), h3.Cell(qc)); err == nil && k >= 4 {
				worst = max(worst, float64(g)/float64(k))
			}
		}
	}
	t.Logf("%d points checked; with k >= 4, the farthest cell used %.0f%% of the disk's rings", checked, 100*worst)
}

// TestCircleCoverHoldsEveryPoint checks circle covers directly: the cell of
// every point of a circle is covered, and every point of an Inside cell is
// in the circle.
func TestCircleCoverHoldsEveryPoint(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	for i := range 300 {
		res := 8 + rnd.IntN(3)
		c := Circle{destination(Point{48.8566, 2.3522}, rnd.Float64()*2*math.Pi, rnd.Float64()*20_000), 10 + rnd.Float64()*2000}
		if i%5 == 0 {
			c.Center = destination(pentagons[rnd.IntN(12)], rnd.Float64()*2*math.Pi, rnd.Float64()*3*edgeM(res))
		}
		cover, err := Fence{Circles: []Circle{c}}.Cover(res)
		if err != nil {
			t.Fatal(err)
		}
		inside := make(map[Cell]bool, len(cover))
		for _, cc := range cover {
			inside[cc.Cell] = cc.Inside
		}
		for range 300 {
			q := destination(c.Center, rnd.Float64()*2*math.Pi, c.RadiusM*(1.3*math.Sqrt(rnd.Float64())))
			qin := Distance(c.Center, q) <= c.RadiusM
			in, covered := inside[cellAt(q, res)]
			if qin && !covered {
				t.Fatalf("circle %v at resolution %d: %v is in it but its cell is not covered", c, res, q)
			}
			if in && !qin {
				t.Fatalf("circle %v at resolution %d: %v is in an Inside cell but not in the circle", c, res, q)
			}
		}
	}
}

// TestPolygonCoverAtCellEdges checks polygon covers where H3's straight-edged
// model of a cell and the true cell differ most: at points on the cells' own
// edges, for fences built from cell boundaries.
func TestPolygonCoverAtCellEdges(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 8))
	for range 50 {
		c := cellAt(destination(Point{48.8566, 2.3522}, rnd.Float64()*2*math.Pi, rnd.Float64()*20_000), 9)
		b, _ := CellBoundary(c)
		f := Fence{Polygons: []Polygon{{b}}}
		cover, err := f.Cover(9)
		if err != nil {
			t.Fatal(err)
		}
		inside := make(map[Cell]bool, len(cover))
		for _, cc := range cover {
			inside[cc.Cell] = cc.Inside
		}
		nb, _ := disk(c, 2)
		for _, n := range nb {
			nbb, _ := CellBoundary(n)
			for i := 0; i+1 < len(nbb); i++ {
				for _, tt := range []float64{0, 0.25, 0.5, 0.75} {
					a, z := nbb[i], nbb[i+1]
					q := Point{a.Lat + tt*(z.Lat-a.Lat), a.Lng + tt*(z.Lng-a.Lng)}
					in, covered := inside[cellAt(q, 9)]
					if f.Contains(q) && !covered {
						t.Fatalf("fence of %v: %v is in it but its cell %v is not covered", c, q, cellAt(q, 9))
					}
					if in && !f.Contains(q) {
						t.Fatalf("fence of %v: %v is in an Inside cell but not in the fence", c, q)
					}
				}
			}
		}
	}
}
