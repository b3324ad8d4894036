package geo

import (
	"fmt"
	"math"
	"slices"
)

// Ring is a closed line of positions, as in GeoJSON: at least 4 positions,
// the last equal to the first. Its edges are straight lines in longitude and
// latitude, as RFC 7946 says.
type Ring []Point

// Polygon is an outer ring followed by holes. Winding order does not matter.
type Polygon []Ring

// Circle is the set of points within RadiusM metres of Center, by Distance.
type Circle struct {
	Center  Point
	RadiusM float64
}

// Fence is a geofence: the union of its polygons (a GeoJSON MultiPolygon)
// and its circles.
type Fence struct {
	Polygons []Polygon
	Circles  []Circle
}

// MaxRadiusM is the largest circle radius Validate accepts, in metres,
// whatever the limits.
const MaxRadiusM = 1_000_000

// Contains reports whether p is in f. Points on the boundary are inside: on
// an edge or a vertex of any ring (a hole's too), or exactly RadiusM from a
// circle's centre. A polygon holds the points inside its outer ring (by the
// even-odd rule, edges straight in longitude and latitude) and not strictly
// inside any hole. Contains is meant for fences that pass Validate; it returns
// false for a p that is not Valid.
func (f Fence) Contains(p Point) bool {
	if !p.ok() {
		return false
	}
	for _, poly := range f.Polygons {
		if polygonContains(poly, p) {
			return true
		}
	}
	for _, c := range f.Circles {
		if Distance(c.Center, p) <= c.RadiusM {
			return true
		}
	}
	return false
}

// polygonContains reports whether p is in poly, boundary included.
func polygonContains(poly Polygon, p Point) bool {
	if len(poly) == 0 {
		return false
	}
	if in, on := locate(poly[0], p); !in && !on {
		return false
	}
	for _, hole := range poly[1:] {
		if in, on := locate(hole, p); in && !on {
			return false
		}
	}
	return true
}

// locate reports whether p is inside ring by the even-odd rule, and whether
// it lies exactly on one of its edges (then in is meaningless). Longitude is x
// and latitude y.
func locate(ring Ring, p Point) (in, on bool) {
	for i := 0; i+1 < len(ring); i++ {
		a, b := ring[i], ring[i+1]
		if (p.Lat < a.Lat && p.Lat < b.Lat) || (p.Lat > a.Lat && p.Lat > b.Lat) {
			continue
		}
		if p.Lng >= min(a.Lng, b.Lng) && p.Lng <= max(a.Lng, b.Lng) &&
			(b.Lng-a.Lng)*(p.Lat-a.Lat) == (b.Lat-a.Lat)*(p.Lng-a.Lng) {
			return false, true
		}
		// Half-open in latitude, so a ray through a vertex counts once.
		if (a.Lat > p.Lat) != (b.Lat > p.Lat) &&
			p.Lng < a.Lng+(p.Lat-a.Lat)*(b.Lng-a.Lng)/(b.Lat-a.Lat) {
			in = !in
		}
	}
	return in, false
}

// AreaM2 returns the area of f in square metres: the sum of its polygons'
// areas (outer ring less holes, on the sphere, with edges taken as rhumb
// lines; accurate to well under 1% for fences up to a few hundred kilometres)
// and its circles' spherical caps. Overlapping parts are counted once per
// shape, so for a union of overlapping shapes it is an upper bound.
func (f Fence) AreaM2() float64 {
	var a float64
	for _, poly := range f.Polygons {
		a += polygonArea(poly)
	}
	for _, c := range f.Circles {
		a += capArea(c.RadiusM)
	}
	return a
}

// polygonArea returns the area of poly in square metres.
func polygonArea(poly Polygon) float64 {
	if len(poly) == 0 {
		return 0
	}
	a := ringArea(poly[0])
	for _, h := range poly[1:] {
		a -= ringArea(h)
	}
	return max(a, 0)
}

// ringArea returns the unsigned area of a closed ring in square metres, by
// Chamberlain and Duquette's "Some algorithms for polygons on a sphere" (2007).
func ringArea(r Ring) float64 {
	const rad = math.Pi / 180
	n := len(r) - 1 // the last position repeats the first
	if n < 3 {
		return 0
	}
	var s float64
	for i := range n {
		prev, next := r[(i+n-1)%n], r[(i+1)%n]
		s += (next.Lng - prev.Lng) * rad * math.Sin(r[i].Lat*rad)
	}
	return math.Abs(s) * EarthRadiusM * EarthRadiusM / 2
}

// capArea returns the area of a spherical cap of radius r metres.
func capArea(r float64) float64 {
	return 2 * math.Pi * EarthRadiusM * EarthRadiusM * (1 - math.Cos(math.Min(r/EarthRadiusM, math.Pi)))
}

// Limits bound the fences Validate accepts. A zero field sets no limit.
type Limits struct {
	MaxAreaM2 float64 // bound on AreaM2
	MaxCells  int     // bound on the number of cells of Cover(FenceResolution)
}

// FenceError says which part of a fence is wrong and why. Field is a path in
// the fence, such as "geofence.polygons[0][1][3]" (polygon 0, ring 1,
// position 3) or "geofence.circles[2].radiusM".
type FenceError struct {
	Field, Reason string
}

func (e *FenceError) Error() string { return e.Field + ": " + e.Reason }

func fenceErr(reason string, field string, args ...any) *FenceError {
	return &FenceError{Field: fmt.Sprintf(field, args...), Reason: reason}
}

// Validate returns nil if f is a usable geofence within lim, and otherwise a
// *FenceError naming the first problem found. It refuses: a fence with no
// shape; a polygon with no ring; a ring with fewer than 4 positions, not
// closed, with a position out of range or NaN, with a position repeating the
// one before it, with an edge spanning more than 180° of longitude (polygons
// crossing the antimeridian are not supported: split them at ±180°), or
// touching or crossing itself; a hole not inside its outer ring; a circle
// whose centre is not Valid or whose radius is not positive, is over
// MaxRadiusM or alone gives an area over lim.MaxAreaM2; a fence whose AreaM2
// is over lim.MaxAreaM2, or whose Cover(FenceResolution) has more than
// lim.MaxCells cells.
func (f Fence) Validate(lim Limits) error {
	if err := f.validateShape(); err != nil {
		return err
	}
	for i, c := range f.Circles {
		if lim.MaxAreaM2 > 0 && capArea(c.RadiusM) > lim.MaxAreaM2 {
			return fenceErr(fmt.Sprintf("a radius of %g m gives an area of %.4g km², over the limit of %.4g km²",
				c.RadiusM, capArea(c.RadiusM)/1e6, lim.MaxAreaM2/1e6), "geofence.circles[%d].radiusM", i)
		}
	}
	area := f.AreaM2()
	if lim.MaxAreaM2 > 0 && area > lim.MaxAreaM2 {
		return fenceErr(fmt.Sprintf("area of %.4g km² is over the limit of %.4g km²", area/1e6, lim.MaxAreaM2/1e6), "geofence")
	}
	if lim.MaxCells > 0 {
		// Every cell of the cover that lies inside the fence is one of at
		// least area/maxCellArea, so a fence that big needs no cover.
		if lower := int(area / (2 * avgCellAreaM2(FenceResolution))); lower > lim.MaxCells {
			return fenceErr(fmt.Sprintf("covers at least %d cells at resolution %d, over the limit of %d", lower, FenceResolution, lim.MaxCells), "geofence")
		}
		cells, err := f.Cover(FenceResolution)
		if err != nil {
			return fenceErr(err.Error(), "geofence")
		}
		if len(cells) > lim.MaxCells {
			return fenceErr(fmt.Sprintf("covers %d cells at resolution %d, over the limit of %d", len(cells), FenceResolution, lim.MaxCells), "geofence")
		}
	}
	return nil
}

// validateShape is Validate without limits: the checks every fence must
// pass to be covered and indexed.
func (f Fence) validateShape() *FenceError {
	if len(f.Polygons) == 0 && len(f.Circles) == 0 {
		return fenceErr("has no polygon and no circle", "geofence")
	}
	for i, poly := range f.Polygons {
		if len(poly) == 0 {
			return fenceErr("polygon has no ring", "geofence.polygons[%d]", i)
		}
		for j, ring := range poly {
			if err := validateRing(ring); err != nil {
				if err.Field == "" {
					err.Field = fmt.Sprintf("geofence.polygons[%d][%d]", i, j)
				} else {
					err.Field = fmt.Sprintf("geofence.polygons[%d][%d]%s", i, j, err.Field)
				}
				return err
			}
		}
		for j, hole := range poly[1:] {
			if !ringInside(hole, poly[0]) {
				return fenceErr("hole is not inside the outer ring", "geofence.polygons[%d][%d]", i, j+1)
			}
		}
	}
	for i, c := range f.Circles {
		if err := c.Center.Valid(); err != nil {
			return fenceErr(err.Error(), "geofence.circles[%d].center", i)
		}
		if !(c.RadiusM > 0) || math.IsInf(c.RadiusM, 0) {
			return fenceErr(fmt.Sprintf("radius %v m is not positive", c.RadiusM), "geofence.circles[%d].radiusM", i)
		}
		if c.RadiusM > MaxRadiusM {
			return fenceErr(fmt.Sprintf("radius %g m is over the maximum of %d m", c.RadiusM, MaxRadiusM), "geofence.circles[%d].radiusM", i)
		}
	}
	return nil
}

// validateRing checks one ring. The error's Field is empty for the ring
// itself, or "[k]" for its position k; the caller prefixes it.
func validateRing(r Ring) *FenceError {
	if len(r) < 4 {
		return &FenceError{Reason: fmt.Sprintf("ring has %d positions, at least 4 are needed", len(r))}
	}
	for k, p := range r {
		if err := p.Valid(); err != nil {
			return &FenceError{Field: fmt.Sprintf("[%d]", k), Reason: err.Error()}
		}
	}
	if r[0] != r[len(r)-1] {
		return &FenceError{Reason: "ring is not closed: its last position must repeat the first"}
	}
	for k := 1; k < len(r); k++ {
		if r[k] == r[k-1] {
			return &FenceError{Field: fmt.Sprintf("[%d]", k), Reason: "position repeats the one before it"}
		}
	}
	for k := 0; k+1 < len(r); k++ {
		if math.Abs(r[k+1].Lng-r[k].Lng) > 180 {
			return &FenceError{Field: fmt.Sprintf("[%d]", k), Reason: "the edge to the next position spans more than 180° of longitude: " +
				"polygons crossing the antimeridian are not supported, split them at ±180°"}
		}
	}
	if a, b, ok := selfIntersection(r); ok {
		return &FenceError{Field: fmt.Sprintf("[%d]", a), Reason: fmt.Sprintf("ring touches or crosses itself: the edge from position %d meets the edge from position %d", a, b)}
	}
	return nil
}

// selfIntersection returns the first edges (by their start positions) of r
// that meet other than adjacent edges at their shared vertex. It sweeps edges
// sorted by their western end, so most rings cost O(n log n).
func selfIntersection(r Ring) (int, int, bool) {
	n := len(r) - 1 // edges
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	west := func(i int) float64 { return min(r[i].Lng, r[i+1].Lng) }
	slices.SortFunc(order, func(a, b int) int { return cmpFloat(west(a), west(b)) })
	bestA, bestB, found := 0, 0, false
	for x, i := range order {
		east := max(r[i].Lng, r[i+1].Lng)
		for _, j := range order[x+1:] {
			if west(j) > east {
				break
			}
			if !edgesMeet(r, i, j, n) {
				continue
			}
			a, b := min(i, j), max(i, j)
			if !found || a < bestA || (a == bestA && b < bestB) {
				bestA, bestB, found = a, b, true
			}
		}
	}
	return bestA, bestB, found
}

// edgesMeet reports whether edges i and j of a ring of n edges meet other
// than at the vertex adjacent edges share.
func edgesMeet(r Ring, i, j, n int) bool {
	a, b, c, d := r[i], r[i+1], r[j], r[j+1]
	switch {
	case (i+1)%n == j: // b == c
		return collinearOverlap(b, a, d)
	case (j+1)%n == i: // d == a
		return collinearOverlap(a, b, c)
	}
	return segmentsIntersect(a, b, c, d)
}

// collinearOverlap reports whether edges v-a and v-c, sharing vertex v, lie
// on one line on the same side of v.
func collinearOverlap(v, a, c Point) bool {
	if orient(v, a, c) != 0 {
		return false
	}
	return (a.Lng-v.Lng)*(c.Lng-v.Lng)+(a.Lat-v.Lat)*(c.Lat-v.Lat) > 0
}

// segmentsIntersect reports whether closed segments a-b and c-d share a point.
func segmentsIntersect(a, b, c, d Point) bool {
	o1, o2, o3, o4 := orient(a, b, c), orient(a, b, d), orient(c, d, a), orient(c, d, b)
	if o1*o2 < 0 && o3*o4 < 0 {
		return true
	}
	return (o1 == 0 && onSegment(a, b, c)) || (o2 == 0 && onSegment(a, b, d)) ||
		(o3 == 0 && onSegment(c, d, a)) || (o4 == 0 && onSegment(c, d, b))
}

// segmentsCross reports whether segments a-b and c-d cross at a point
// interior to both.
func segmentsCross(a, b, c, d Point) bool {
	return orient(a, b, c)*orient(a, b, d) < 0 && orient(c, d, a)*orient(c, d, b) < 0
}

// orient returns the sign of the turn a→b→c: 1 left, -1 right, 0 straight.
func orient(a, b, c Point) int {
	v := (b.Lng-a.Lng)*(c.Lat-a.Lat) - (b.Lat-a.Lat)*(c.Lng-a.Lng)
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// onSegment reports whether p, collinear with a-b, lies within it.
func onSegment(a, b, p Point) bool {
	return p.Lng >= min(a.Lng, b.Lng) && p.Lng <= max(a.Lng, b.Lng) &&
		p.Lat >= min(a.Lat, b.Lat) && p.Lat <= max(a.Lat, b.Lat)
}

// ringInside reports whether hole lies inside outer: every position inside
// or on outer, and no edge of one crossing an edge of the other.
func ringInside(hole, outer Ring) bool {
	for _, p := range hole {
		if in, on := locate(outer, p); !in && !on {
			return false
		}
	}
	for i := 0; i+1 < len(hole); i++ {
		for j := 0; j+1 < len(outer); j++ {
			if segmentsCross(hole[i], hole[i+1], outer[j], outer[j+1]) {
				return false
			}
		}
	}
	return true
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
