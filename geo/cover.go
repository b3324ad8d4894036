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

// maxCoverCells bounds the cells Cover computes for one fence (a guard
// against fences far too large for the resolution: H3 allocates its output
// from the bounding box, and this many cells take about 100 MB).
const maxCoverCells = 1 << 22

// Cover returns cells at resolution res, sorted, that together hold the
// fence: every point p of f lies in a returned cell, the one CellAt(p, res)
// gives. Cells marked Inside lie wholly inside f.
//
// H3 fills polygons with its own model of a cell, a hexagon with straight
// edges in longitude and latitude, while a cell's true edges are great-circle
// arcs (less than a millimetre apart at resolution 9, but apart). So that the
// guarantee holds for every point, Cover pads H3's answer by one cell: it
// adds the neighbours of every cell H3 finds overlapping a polygon, and marks
// a cell Inside only if H3 finds it and all its neighbours fully contained.
// The cover therefore includes a ring of cells just outside the fence, and
// the outermost ring of inside cells is reported as boundary. Circles need
// no padding: they are covered from the cells' true geometry (lattice.go).
//
// It returns an error if f fails Validate without limits, res is not in
// [0, 15], or the cover would exceed 4,194,304 cells.
func (f Fence) Cover(res int) ([]CoverCell, error) {
	if err := f.validateShape(); err != nil {
		return nil, err
	}
	if res < 0 || res > h3.MaxResolution {
		return nil, fmt.Errorf("cover: resolution %d is not in [0, %d]", res, h3.MaxResolution)
	}
	inside := make(map[Cell]bool)
	add := func(c Cell, in bool) { inside[c] = inside[c] || in }
	for i, poly := range f.Polygons {
		if err := polygonCover(poly, res, add); err != nil {
			return nil, fmt.Errorf("cover polygon %d: %w", i, err)
		}
	}
	for i, c := range f.Circles {
		if err := circleCover(c, res, add); err != nil {
			return nil, fmt.Errorf("cover circle %d: %w", i, err)
		}
	}
	out := make([]CoverCell, 0, len(inside))
	for c, in := range inside {
		out = append(out, CoverCell{c, in})
	}
	slices.SortFunc(out, func(a, b CoverCell) int { return cmp.Compare(a.Cell, b.Cell) })
	return out, nil
}

// polygonCover calls add for the cells covering poly, padded as Cover says.
func polygonCover(poly Polygon, res int, add func(Cell, bool)) error {
	if est := bboxCells(poly[0], res); est > maxCoverCells {
		return fmt.Errorf("about %.0f cells at resolution %d, over the maximum of %d", est, res, maxCoverCells)
	}
	gp := h3.GeoPolygon{GeoLoop: geoLoop(poly[0])}
	for _, h := range poly[1:] {
		gp.Holes = append(gp.Holes, geoLoop(h))
	}
	over, err := h3.PolygonToCellsExperimental(gp, res, h3.ContainmentOverlapping)
	if err != nil {
		return err
	}
	full, err := h3.PolygonToCellsExperimental(gp, res, h3.ContainmentFull)
	if err != nil {
		return err
	}
	isFull := make(map[h3.Cell]bool, len(full))
	for _, c := range full {
		isFull[c] = true
	}
	var ring [7]h3.Cell
	for _, c := range over {
		if c == 0 {
			continue
		}
		nb, err := neighbours(c, ring[:0])
		if err != nil {
			return err
		}
		in := isFull[c]
		for _, n := range nb {
			in = in && isFull[n]
			add(Cell(n), false)
		}
		add(Cell(c), in)
	}
	return nil
}

// neighbours appends c and its neighbours to dst.
func neighbours(c h3.Cell, dst []h3.Cell) ([]h3.Cell, error) {
	nb, err := h3.GridDisk(c, 1)
	if err != nil {
		return nil, err
	}
	for _, n := range nb {
		if n != 0 {
			dst = append(dst, n)
		}
	}
	return dst, nil
}

// geoLoop converts a closed ring to an H3 loop, which repeats no position.
func geoLoop(r Ring) h3.GeoLoop {
	loop := make(h3.GeoLoop, len(r)-1)
	for i, p := range r[:len(r)-1] {
		loop[i] = h3.LatLng{Lat: p.Lat, Lng: p.Lng}
	}
	return loop
}

// bboxCells estimates how many cells at res the bounding box of r spans.
func bboxCells(r Ring, res int) float64 {
	const rad = math.Pi / 180
	s, n, w, e := 90.0, -90.0, 180.0, -180.0
	for _, p := range r {
		s, n, w, e = min(s, p.Lat), max(n, p.Lat), min(w, p.Lng), max(e, p.Lng)
	}
	h := (n - s) * rad * EarthRadiusM
	wd := (e - w) * rad * EarthRadiusM * math.Cos(min(math.Abs(s), math.Abs(n))*rad)
	return h * wd / avgCellAreaM2(res)
}

// circleCover calls add for the cells covering c. The disk around the
// centre's cell holds every cell a point of the circle can be in (the
// theorem in lattice.go); of those it drops the cells whose every point is
// farther than the radius, and marks Inside those whose every point is
// nearer (the corollary: a cell lies within edgeM of its centre).
func circleCover(c Circle, res int, add func(Cell, bool)) error {
	// tol absorbs rounding in Distance, which is far below a millimetre.
	const tol = 0.01
	k := diskK(res, c.RadiusM+tol, unit(c.Center))
	if n := diskSize(k); n > maxCoverCells {
		return fmt.Errorf("%d cells at resolution %d, over the maximum of %d", n, res, maxCoverCells)
	}
	cells, err := disk(cellAt(c.Center, res), k)
	if err != nil {
		return err
	}
	ext := edgeM(res)
	for _, cell := range cells {
		ll, err := h3.CellToLatLng(h3.Cell(cell))
		if err != nil {
			return err
		}
		d := Distance(c.Center, Point{ll.Lat, ll.Lng})
		switch {
		case d-ext > c.RadiusM+tol:
		case d+ext < c.RadiusM-tol:
			add(cell, true)
		default:
			add(cell, false)
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
