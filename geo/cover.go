package geo

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/uber/h3-go/v4"
)

// CoverCell is one cell of a fence's cover. Inside means every point of the
// cell is in the fence; otherwise the cell is on the boundary and a point in
// it may be in or out.
type CoverCell struct {
	Cell   Cell
	Inside bool
}

// maxCoverCells bounds the cells Cover examines for one shape, a guard
// against fences far too large for the resolution.
const maxCoverCells = 1 << 22

// Cover returns cells at resolution res, sorted, that together hold the
// fence: every point p of f lies in a returned cell, the one CellAt(p, res)
// gives. Cells marked Inside lie wholly inside f; the others are boundary
// cells, partly in f or near its boundary without touching it.
//
// Cover decides from the cells' true geometry rather than H3's polygon fill,
// whose straight-edged model of a cell differs from the cells LatLngToCell
// assigns points to (by under a millimetre at resolution 9, but it differs).
// It takes the disk of cells that holds every point of each shape (the
// theorem in lattice.go), and uses the corollary there: all of a cell lies
// within edgeM(res) of its centre. A cell whose centre is farther than
// 1.1·edgeM from a shape's boundary is wholly inside it or wholly outside,
// as its centre is; every other cell of the disk is a boundary cell. The boundary band is therefore about 2.2 edge lengths wide (490 m at
// resolution 9), a little wider than the cells the boundary truly crosses.
//
// It returns an error if f fails Validate without limits, res is not in
// [0, 15], or a shape would need more than 4,194,304 cells.
func (f Fence) Cover(res int) ([]CoverCell, error) {
	cells, _, err := f.cover(res)
	return cells, err
}

// cover is Cover, also returning the centres of the boundary cells, in
// cover order: what the local tests of an index are computed from.
//
// Shapes append what they find to one slice, which is then sorted and
// compacted (a cell inside any shape is inside the fence): a fence of one
// shape, the common case, finds no cell twice, and no map is needed.
func (f Fence) cover(res int) ([]CoverCell, []Point, error) {
	if err := f.validateShape(); err != nil {
		return nil, nil, err
	}
	if res < 0 || res > h3.MaxResolution {
		return nil, nil, fmt.Errorf("cover: resolution %d is not in [0, %d]", res, h3.MaxResolution)
	}
	var found []coverFound
	add := func(c Cell, in bool, centre Point) { found = append(found, coverFound{c, centre, in}) }
	for i, poly := range f.Polygons {
		if err := polygonCover(poly, res, add); err != nil {
			return nil, nil, fmt.Errorf("cover polygon %d: %w", i, err)
		}
	}
	for i, c := range f.Circles {
		if err := circleCover(c, res, add); err != nil {
			return nil, nil, fmt.Errorf("cover circle %d: %w", i, err)
		}
	}
	slices.SortFunc(found, func(a, b coverFound) int { return cmp.Compare(a.cell, b.cell) })
	// Count first, so that what is kept is allocated to size.
	var n, nb int
	for i := 0; i < len(found); n++ {
		in := false
		for c := found[i].cell; i < len(found) && found[i].cell == c; i++ {
			in = in || found[i].in
		}
		if !in {
			nb++
		}
	}
	out, centres := make([]CoverCell, 0, n), make([]Point, 0, nb)
	for i := 0; i < len(found); {
		first := found[i]
		cc := CoverCell{Cell: first.cell}
		for ; i < len(found) && found[i].cell == cc.Cell; i++ {
			cc.Inside = cc.Inside || found[i].in
		}
		out = append(out, cc)
		if !cc.Inside {
			centres = append(centres, first.centre)
		}
	}
	return out, centres, nil
}

// coverFound is a cell a shape's cover found, with its centre.
type coverFound struct {
	cell   Cell
	centre Point
	in     bool
}

// cellMargin returns how far (metres) a cell's centre must be from a shape's
// boundary for the cell to be wholly on one side: the cell's extent with 10%
// to spare, which also absorbs the local projection's distortion (under 1%
// below 80° of latitude), plus a centimetre for rounding.
func cellMargin(res int) float64 { return 1.1*edgeM(res) + 0.01 }

// polygonCover calls add for the cells covering poly.
func polygonCover(poly Polygon, res int, add func(Cell, bool, Point)) error {
	// Every point of the polygon is within r of c, the centre of its
	// bounding box. The polygon lies within its outer ring, and a point of
	// the ring within half a step of one of the 17 points sampled along
	// each edge: r is the farthest sample plus the longest half step, with
	// 1% to spare for a step's path not being a great circle.
	s, n, w, e := 90.0, -90.0, 180.0, -180.0
	for _, p := range poly[0] {
		s, n, w, e = min(s, p.Lat), max(n, p.Lat), min(w, p.Lng), max(e, p.Lng)
	}
	c := Point{(s + n) / 2, (w + e) / 2}
	var far, step float64
	outer := poly[0]
	for i := 0; i+1 < len(outer); i++ {
		a, b := outer[i], outer[i+1]
		prev := a
		for j := range 17 {
			t := float64(j) / 16
			q := Point{a.Lat + t*(b.Lat-a.Lat), a.Lng + t*(b.Lng-a.Lng)}
			far = max(far, Distance(c, q))
			step = max(step, Distance(prev, q))
			prev = q
		}
	}
	r := far + 0.51*step + 1
	k := diskK(res, r, unit(c))
	if n := diskSize(k); n > maxCoverCells {
		return fmt.Errorf("%d cells at resolution %d to examine, over the maximum of %d", n, res, maxCoverCells)
	}
	cells, err := disk(cellAt(c, res), k)
	if err != nil {
		return err
	}
	margin := cellMargin(res)
	for _, cell := range cells {
		ll, err := h3.CellToLatLng(h3.Cell(cell))
		if err != nil {
			return err
		}
		cc := Point{ll.Lat, ll.Lng}
		if math.Abs(cc.Lat) > 80 || nearBoundary(poly, cc, margin) {
			add(cell, false, cc)
		} else if polygonContains(poly, cc) {
			add(cell, true, cc)
		}
	}
	return nil
}

// nearBoundary reports whether some edge of poly comes within d metres of
// p, measured on the equirectangular projection centred on p. That
// projection is affine in longitude and latitude, so it keeps the edges
// straight, and within a few cells of p it distorts lengths by well under 1%
// below 80° of latitude.
func nearBoundary(poly Polygon, p Point, d float64) bool {
	const mPerDeg = EarthRadiusM * math.Pi / 180
	ky, kx := mPerDeg, mPerDeg*math.Cos(p.Lat*math.Pi/180)
	dLat := d / ky
	d2 := d * d
	for _, r := range poly {
		for i := 0; i+1 < len(r); i++ {
			a, b := r[i], r[i+1]
			if (a.Lat-p.Lat > dLat && b.Lat-p.Lat > dLat) || (p.Lat-a.Lat > dLat && p.Lat-b.Lat > dLat) {
				continue
			}
			ax, ay := lngDelta(a.Lng, p.Lng)*kx, (a.Lat-p.Lat)*ky
			bx, by := lngDelta(b.Lng, p.Lng)*kx, (b.Lat-p.Lat)*ky
			if segDist2(ax, ay, bx, by) <= d2 {
				return true
			}
		}
	}
	return false
}

// lngDelta returns a - b in degrees, wrapped into [-180, 180].
func lngDelta(a, b float64) float64 {
	d := a - b
	switch {
	case d > 180:
		d -= 360
	case d < -180:
		d += 360
	}
	return d
}

// segDist2 returns the squared distance from the origin to segment a-b.
func segDist2(ax, ay, bx, by float64) float64 {
	dx, dy := bx-ax, by-ay
	l2 := dx*dx + dy*dy
	t := 0.0
	if l2 > 0 {
		t = max(0, min(1, -(ax*dx+ay*dy)/l2))
	}
	x, y := ax+t*dx, ay+t*dy
	return x*x + y*y
}

// circleCover calls add for the cells covering c: of the disk that holds
// every point of the circle, it drops the cells whose every point is
// farther than the radius, and marks Inside those whose every point is
// nearer.
func circleCover(c Circle, res int, add func(Cell, bool, Point)) error {
	margin := cellMargin(res)
	k := diskK(res, c.RadiusM+margin, unit(c.Center))
	if n := diskSize(k); n > maxCoverCells {
		return fmt.Errorf("%d cells at resolution %d to examine, over the maximum of %d", n, res, maxCoverCells)
	}
	cells, err := disk(cellAt(c.Center, res), k)
	if err != nil {
		return err
	}
	for _, cell := range cells {
		ll, err := h3.CellToLatLng(h3.Cell(cell))
		if err != nil {
			return err
		}
		cc := Point{ll.Lat, ll.Lng}
		switch d := Distance(c.Center, cc); {
		case d-margin > c.RadiusM:
		case d+margin < c.RadiusM:
			add(cell, true, cc)
		default:
			add(cell, false, cc)
		}
	}
	return nil
}

// avgCellAreaM2 returns the average area of a hexagon at res.
func avgCellAreaM2(res int) float64 {
	a, err := h3.HexagonAreaAvgM2(res)
	if err != nil {
		return math.NaN()
	}
	return a
}
