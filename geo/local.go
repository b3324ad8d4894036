package geo

import "math"

// A local test decides whether a point of one boundary cell lies in one shape
// of a fence from what lies near the cell, stored with the cell's refs so
// that a lookup reads it from memory it reads anyway:
//
//   - A shape the cell lies wholly inside or outside needs no test.
//   - A circle keeps its centre's unit vector and chord bounds (see shape).
//   - A polygon keeps the cell's centre c, whether c is inside each ring,
//     and the few edges that come near the cell. A point p of the cell is
//     inside a ring if c is, flipped once for every one of the ring's edges
//     that the segment c-p crosses: only the near edges can (the segment
//     stays within the cell's extent of c).
//
// The polygon rule is Fence.Contains's even-odd rule followed along another
// path, which agrees with it exactly when no decision is a near thing. So the
// test falls back to the shape's full test whenever p lies within localTol of
// the line through a near edge, or an end of a near edge within localTol of
// the line c-p. Farther than that, the orientation signs are far beyond
// rounding (errors are below 1e-13 degrees), and so is Contains's own ray
// crossing, whose result is then the true one too. The build likewise keeps
// c at least localTol from every near edge, or uses the full test.
//
// Near the poles (beyond 80°) and for polygons of more than 64 rings, cells
// use the full test.

// localTol is the distance in degrees (about 0.1 mm) within which a local
// polygon test defers to the full test.
const localTol = 1e-9

type localKind uint8

const (
	localOut localKind = iota
	localIn
	localCircle
	localPolygon
	localFull

	// localLast marks the last local test of a ref.
	localLast localKind = 1 << 7
)

// local is one shape's test in one cell, in 64 bytes.
type local struct {
	// A circle: its centre's unit vector and squared chord bounds, as in
	// shape. A polygon: the cell centre's latitude and longitude.
	v [5]float64
	// rings has bit r set if the cell's centre is inside ring r.
	rings uint64
	// shape is the shape in its fence while preparing, in FenceIndex.shapes
	// once built.
	shape uint32
	// edge, nedge locate a polygon's near edges: edges[edge : edge+nedge].
	// For a circle, edge is its index in FenceIndex.circles once built.
	edge, nedge uint32
	kind        localKind
}

// localEdge is an edge of a ring, x being longitude and y latitude.
type localEdge struct {
	ax, ay, bx, by float64
	ring           uint32
}

// prepared is what an index needs of a fence, computed once: its cover and
// the centres of its boundary cells, in cover order. The local tests are
// derived from the centres when the index is laid out (fenceLocals), straight
// into the index's arrays: kept per fence, they would be the size of the
// index again.
type prepared struct {
	cover   []CoverCell
	centres []Point
}

// prepare covers f at res.
func prepare(f Fence, res int) (prepared, error) {
	cover, centres, err := f.cover(res)
	return prepared{cover, centres}, err
}

// fenceLocals sets dst, one entry per shape of f (its polygons, then its
// circles), to the local tests of f in the boundary cell centred on c,
// whose points are all within margin of c, the last marked localLast.
// Shapes are numbered within f. A polygon's test gets its count of near
// edges (nedge), not the edges: nearEdges finds them again where they are
// to be stored. scratch is room for them, returned for reuse.
func fenceLocals(f Fence, c Point, margin float64, dst []local, scratch []localEdge) []localEdge {
	k := uint32(0)
	for _, poly := range f.Polygons {
		dst[k], scratch = polygonLocal(poly, k, c, margin, scratch)
		k++
	}
	for _, ci := range f.Circles {
		dst[k] = circleLocal(ci, k, c, margin)
		k++
	}
	dst[k-1].kind |= localLast
	return scratch
}

// circleLocal returns the test of circle ci, shape k, in the cell centred on
// c, whose points are all within margin of c.
func circleLocal(ci Circle, k uint32, c Point, margin float64) local {
	switch d := Distance(ci.Center, c); {
	case d-margin > ci.RadiusM:
		return local{shape: k, kind: localOut}
	case d+margin < ci.RadiusM:
		return local{shape: k, kind: localIn}
	}
	ch := math.Sqrt(chord2Of(ci.RadiusM))
	lo, hi := max(ch-chordPad, 0), ch+chordPad
	u := unit(ci.Center)
	return local{v: [5]float64{u.x, u.y, u.z, lo * lo, hi * hi}, shape: k, kind: localCircle}
}

// polygonLocal returns the test of poly, shape k, in the cell centred on c,
// whose points are all within margin of c, with the count of its near
// edges; scratch is room for finding them, returned for reuse.
func polygonLocal(poly Polygon, k uint32, c Point, margin float64, scratch []localEdge) (local, []localEdge) {
	if math.Abs(c.Lat) > 80 || len(poly) > 64 {
		return local{shape: k, kind: localFull}, scratch
	}
	edges, ok := nearEdges(poly, c, margin, scratch[:0])
	if !ok {
		return local{shape: k, kind: localFull}, edges
	}
	l := local{v: [5]float64{c.Lat, c.Lng}, shape: k, nedge: uint32(len(edges)), kind: localPolygon}
	// No edge is within localTol of c, nor any far edge within the cell's
	// extent, so locate decides c's rings without a near thing.
	for ri, r := range poly {
		if in, _ := locate(r, c); in {
			l.rings |= 1 << ri
		}
	}
	if l.nedge == 0 {
		l.kind = localOut
		if l.rings&1 != 0 && l.rings>>1 == 0 {
			l.kind = localIn
		}
	}
	return l, edges
}

// nearEdges appends to dst the edges of poly that come within margin of c,
// in ring and edge order, and returns the extended slice. It returns ok
// false if one of them passes within localTol of c, when the polygon's local
// test cannot be trusted and the full test is used instead. It is a pure
// function of its arguments: an index calls it twice for each local polygon
// test, to count the edges and then to store them.
func nearEdges(poly Polygon, c Point, margin float64, dst []localEdge) (_ []localEdge, ok bool) {
	const mPerDeg = EarthRadiusM * math.Pi / 180
	ky, kx := mPerDeg, mPerDeg*math.Cos(c.Lat*math.Pi/180)
	for ri, r := range poly {
		for i := 0; i+1 < len(r); i++ {
			a, b := r[i], r[i+1]
			if !edgeNear(a, b, c, kx, ky, margin) {
				continue
			}
			e := localEdge{ax: a.Lng, ay: a.Lat, bx: b.Lng, by: b.Lat, ring: uint32(ri)}
			ex, ey := e.bx-e.ax, e.by-e.ay
			if o := ex*(c.Lat-e.ay) - ey*(c.Lng-e.ax); o*o <= localTol*localTol*(ex*ex+ey*ey) {
				return dst, false
			}
			dst = append(dst, e)
		}
	}
	return dst, true
}

// edgeNear reports whether segment a-b comes within d metres of c on the
// equirectangular projection centred on c, whose scales are kx and ky metres
// per degree (see nearBoundary).
func edgeNear(a, b, c Point, kx, ky, d float64) bool {
	dLat := d / ky
	if (a.Lat-c.Lat > dLat && b.Lat-c.Lat > dLat) || (c.Lat-a.Lat > dLat && c.Lat-b.Lat > dLat) {
		return false
	}
	ax, ay := lngDelta(a.Lng, c.Lng)*kx, (a.Lat-c.Lat)*ky
	bx, by := lngDelta(b.Lng, c.Lng)*kx, (b.Lat-c.Lat)*ky
	return segDist2(ax, ay, bx, by) <= d*d
}

// polygonParity decides p by l's near edges, or returns ok false if a
// decision is too near to call.
func polygonParity(l *local, edges []localEdge, p Point) (in, ok bool) {
	cy, cx := l.v[0], l.v[1]
	dx, dy := p.Lng-cx, p.Lat-cy
	if dx > 90 || dx < -90 { // across the antimeridian from c
		return false, false
	}
	pc2 := dx*dx + dy*dy
	const tol2 = localTol * localTol
	rings := l.rings
	for i := range edges {
		e := &edges[i]
		ex, ey := e.bx-e.ax, e.by-e.ay
		o2 := ex*(p.Lat-e.ay) - ey*(p.Lng-e.ax)
		if o2*o2 <= tol2*(ex*ex+ey*ey) {
			return false, false
		}
		if o1 := ex*(cy-e.ay) - ey*(cx-e.ax); (o1 > 0) == (o2 > 0) {
			continue // c and p on the same side of the edge's line
		}
		o3 := dx*(e.ay-cy) - dy*(e.ax-cx)
		o4 := dx*(e.by-cy) - dy*(e.bx-cx)
		if o3*o3 <= tol2*pc2 || o4*o4 <= tol2*pc2 {
			return false, false
		}
		if (o3 > 0) != (o4 > 0) {
			rings ^= 1 << e.ring
		}
	}
	return rings&1 != 0 && rings>>1 == 0, true
}
