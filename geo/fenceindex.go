package geo

import (
	"cmp"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/uber/h3-go/v4"
)

// FenceIndex finds the fences containing a point, with exactly the answer
// of Fence.Contains: one H3 cell computation (in Go, see fastCell), one map
// lookup, and tests only for the fences whose boundary may cross the
// point's cell; cells wholly inside a fence answer without a test. The tests
// read what lies near the cell, stored with it (local.go), and fall back to
// the fence's full test when a point is within 0.1 mm of deciding otherwise.
//
// It holds copies of its fences, is immutable once built and is safe for
// concurrent use; callers replace a whole index to change it (an
// atomic.Pointer[FenceIndex] does). The zero FenceIndex is empty. A fence of
// 100 m to 2 km takes about 28 cells at resolution 9, and with its local
// tests and coordinates 2.5 to 3.5 kB (BENCHMARKS.md).
type FenceIndex struct {
	res    int
	ids    []string      // sorted
	fences []fenceShapes // fences[i] is the fence of ids[i]
	cells  map[Cell]span // the refs of each covered cell
	refs   []ref
	locals []local     // the local tests of boundary refs, in ref order
	edges  []localEdge // the near edges of local polygon tests

	// The fences' shapes, laid out flat so that an exact test touches few
	// cache lines: shapes in fence order (a fence's polygons, then its
	// circles), the polygons' rings in order, every ring a window of one
	// array of points.
	shapes  []shape
	circles []Circle // the circles, for the few points a chord cannot decide
	rings   []Ring
}

// span locates a cell's refs: refs[off : off+n], sorted by fence index.
type span struct{ off, n uint32 }

// ref is a fence covering a cell: fence is its index, | insideRef if the
// cell lies wholly inside it; otherwise its local tests start at
// locals[local], one per shape, the last marked localLast.
type ref struct{ fence, local uint32 }

const insideRef = 1 << 31

// fenceShapes locates a fence's shapes: shapes[off : off+n].
type fenceShapes struct{ off, n uint32 }

// shape is one polygon or circle of a fence, in 48 bytes so that a test
// usually costs one cache miss.
//
// A polygon has n > 0: rings[i : i+n] is the polygon, and v holds the
// south, west, north and east of its outer ring, widened by bboxPad so that
// no rounding in locate can place a point outside this box inside the ring.
//
// A circle has n == 0: circles[i] is the circle, v[0:3] its centre's unit
// vector and v[3], v[4] the squared chords lo and hi. A point whose chord to
// the centre is below lo is inside, above hi outside, and in between (within
// chordPad of the circle) decided by Distance as Contains does. Chords need
// no trigonometry once the point's vector is known.
type shape struct {
	v    [5]float64
	i, n uint32
}

const bboxPad = 1e-9 // degrees, about 0.1 mm

// chordPad is far more than the rounding of a chord between unit vectors
// (about 1e-15) or of Distance, and far less than anything that matters:
// 1e-12 Earth radii is 6 µm.
const chordPad = 1e-12

// addShapes appends a copy of f's shapes to the index's arrays; pts is the
// rest of the array of points its rings are windows of.
func (ix *FenceIndex) addShapes(f Fence, pts []Point) []Point {
	ix.fences = append(ix.fences, fenceShapes{uint32(len(ix.shapes)), uint32(len(f.Polygons) + len(f.Circles))})
	for _, poly := range f.Polygons {
		s, w, n, e := 90.0, 180.0, -90.0, -180.0
		for _, v := range poly[0] {
			s, w, n, e = min(s, v.Lat), min(w, v.Lng), max(n, v.Lat), max(e, v.Lng)
		}
		ix.shapes = append(ix.shapes, shape{
			v: [5]float64{s - bboxPad, w - bboxPad, n + bboxPad, e + bboxPad},
			i: uint32(len(ix.rings)), n: uint32(len(poly)),
		})
		for _, r := range poly {
			n := copy(pts, r)
			ix.rings = append(ix.rings, Ring(pts[:n:n]))
			pts = pts[n:]
		}
	}
	for _, c := range f.Circles {
		ch := math.Sqrt(chord2Of(c.RadiusM))
		lo, hi := max(ch-chordPad, 0), ch+chordPad
		u := unit(c.Center)
		ix.shapes = append(ix.shapes, shape{v: [5]float64{u.x, u.y, u.z, lo * lo, hi * hi}, i: uint32(len(ix.circles))})
		ix.circles = append(ix.circles, c)
	}
	return pts
}

// probe is a point being looked up, with its unit vector once needed.
type probe struct {
	p    Point
	u    vec3
	hasU bool
}

// shapeContains is Fence.Contains for the one shape k, deciding most points
// more cheaply: polygons are skipped outside their bounding box, and circles
// decided by chord.
func (ix *FenceIndex) shapeContains(k uint32, q *probe) bool {
	sh := &ix.shapes[k]
	p := q.p
	if sh.n > 0 {
		return p.Lat >= sh.v[0] && p.Lng >= sh.v[1] && p.Lat <= sh.v[2] && p.Lng <= sh.v[3] &&
			polygonContains(Polygon(ix.rings[sh.i:sh.i+sh.n]), p)
	}
	return ix.circleContains(&sh.v, sh.i, q)
}

// circleContains decides a circle by chord, v being its centre's unit vector
// and chord bounds, and circles[i] the circle.
func (ix *FenceIndex) circleContains(v *[5]float64, i uint32, q *probe) bool {
	if !q.hasU {
		q.u, q.hasU = unit(q.p), true
	}
	switch d := chord2(vec3{v[0], v[1], v[2]}, q.u); {
	case d < v[3]:
		return true
	case d > v[4]:
		return false
	}
	c := &ix.circles[i]
	return Distance(c.Center, q.p) <= c.RadiusM
}

// localContains reports whether the point is in the fence whose local tests
// start at locals[i].
func (ix *FenceIndex) localContains(i uint32, q *probe) bool {
	for ; ; i++ {
		l := &ix.locals[i]
		var in bool
		switch l.kind &^ localLast {
		case localIn:
			in = true
		case localOut:
		case localCircle:
			in = ix.circleContains(&l.v, l.edge, q)
		case localPolygon:
			var ok bool
			if in, ok = polygonParity(l, ix.edges[l.edge:l.edge+l.nedge], q.p); !ok {
				in = ix.shapeContains(l.shape, q)
			}
		default:
			in = ix.shapeContains(l.shape, q)
		}
		if in {
			return true
		}
		if l.kind&localLast != 0 {
			return false
		}
	}
}

// clone returns a deep copy of f.
func (f Fence) clone() Fence {
	c := Fence{Circles: slices.Clone(f.Circles)}
	for _, poly := range f.Polygons {
		p := make(Polygon, len(poly))
		for i, r := range poly {
			p[i] = slices.Clone(r)
		}
		c.Polygons = append(c.Polygons, p)
	}
	return c
}

// FenceIndexBuilder collects fences for a FenceIndex, covering each as it
// is added, so that an index can be rebuilt after a change without
// covering every fence again. It is not safe for concurrent use.
type FenceIndexBuilder struct {
	res    int
	fences map[string]Fence
	preps  map[string]prepared
}

// NewFenceIndexBuilder returns a builder of an index at resolution res;
// FenceResolution is the one to use unless measured otherwise. If res is not
// in [0, 15], every Add fails.
func NewFenceIndexBuilder(res int) *FenceIndexBuilder {
	return &FenceIndexBuilder{res: res, fences: make(map[string]Fence), preps: make(map[string]prepared)}
}

// Add adds (or replaces) the fence id. It returns an error, and adds
// nothing, if f fails Validate without limits (the error wraps a
// *FenceError) or cannot be covered at the builder's resolution.
func (b *FenceIndexBuilder) Add(id string, f Fence) error {
	p, err := prepare(f, b.res)
	if err != nil {
		return fmt.Errorf("fence %s: %w", id, err)
	}
	b.fences[id] = f.clone()
	b.preps[id] = p
	return nil
}

// Len returns the number of fences added.
func (b *FenceIndexBuilder) Len() int { return len(b.fences) }

// Build returns the index of the fences added so far. The builder may go on
// being used; the index does not change with it. Adding a fence costs its
// cover, about 0.1 ms for a fence of 1 km, and keeps it with the centres of
// its boundary cells (under 1 kB a fence). Build sorts the covers and
// derives the local tests from the centres, on GOMAXPROCS goroutines: 0.16 s
// of CPU for 10,000 fences, a quarter of what covering them costs.
func (b *FenceIndexBuilder) Build() *FenceIndex {
	ids := make([]string, 0, len(b.fences))
	for id := range b.fences {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	fences, preps := make([]Fence, len(ids)), make([]prepared, len(ids))
	for i, id := range ids {
		fences[i], preps[i] = b.fences[id], b.preps[id]
	}
	return build(b.res, ids, fences, preps)
}

// BuildFenceIndex builds the index of fences at resolution res, covering
// them on GOMAXPROCS goroutines (10,000 fences of 100 m to 2 km take about
// 0.6 s of CPU at resolution 9). It is all or nothing: if a fence fails
// Validate without limits or cannot be covered, it returns an error naming
// the first such id in sorted order, and no index. To skip bad fences
// instead, use a FenceIndexBuilder and log what Add refuses.
//
// Besides the index and the caller's fences, it holds little more than the
// covers at any time: building 100,000 fences peaks at 1.2 to 1.5 times the
// index's own heap (BENCHMARKS.md).
func BuildFenceIndex(fences map[string]Fence, res int) (*FenceIndex, error) {
	if res < 0 || res > h3.MaxResolution {
		return nil, fmt.Errorf("build fence index: resolution %d is not in [0, %d]", res, h3.MaxResolution)
	}
	ids := make([]string, 0, len(fences))
	for id := range fences {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	fs := make([]Fence, len(ids))
	for i, id := range ids {
		fs[i] = fences[id]
	}
	preps := make([]prepared, len(ids))
	errs := make([]error, len(ids))
	// Fences are dealt out in turn, as their sizes vary.
	w := workers(len(ids))
	parallel(w, w, func(k, _, _ int) {
		for i := k; i < len(ids); i += w {
			preps[i], errs[i] = prepare(fs[i], res)
		}
	})
	for i, id := range ids {
		if errs[i] != nil {
			return nil, fmt.Errorf("build fence index: fence %s: %w", id, errs[i])
		}
	}
	return build(res, ids, fs, preps), nil
}

// workers returns how many goroutines to split n items among: GOMAXPROCS,
// at most n and at least 1.
func workers(n int) int { return max(min(runtime.GOMAXPROCS(0), n), 1) }

// parallel splits [0, n) into parts [lo, hi), part w being
// [w*n/parts, (w+1)*n/parts), calls f on each on its own goroutine, and
// waits for them.
func parallel(parts, n int, f func(w, lo, hi int)) {
	var wg sync.WaitGroup
	for w := range parts {
		wg.Go(func() { f(w, w*n/parts, (w+1)*n/parts) })
	}
	wg.Wait()
}

// build lays out the index of fences[i], whose id is ids[i] (sorted) and
// whose cover and boundary centres are preps[i]: fences numbered in id
// order, and for each cell the fences covering it, in order, so that
// lookups return sorted ids without sorting, each followed in locals by its
// local tests there, and those by their near edges.
//
// Every array is allocated once, to its exact size, and filled in place: a
// pass counts what the next one stores. So the build holds, besides the
// index, only the covers (as sorted pairs, then not at all) and the centres,
// and makes almost no garbage while the index grows. build may clear the
// covers of preps (the slice, not what a builder keeps).
func build(res int, ids []string, fences []Fence, preps []prepared) *FenceIndex {
	ix := &FenceIndex{res: res, ids: ids}
	var nPairs, nPts, nShapes, nRings, nCircles int
	for i, f := range fences {
		nPairs += len(preps[i].cover)
		nShapes += len(f.Polygons) + len(f.Circles)
		nCircles += len(f.Circles)
		for _, poly := range f.Polygons {
			nRings += len(poly)
			for _, r := range poly {
				nPts += len(r)
			}
		}
	}
	pts := make([]Point, nPts)
	ix.fences = make([]fenceShapes, 0, len(ids))
	ix.shapes = make([]shape, 0, nShapes)
	ix.rings = make([]Ring, 0, nRings)
	ix.circles = make([]Circle, 0, nCircles)
	for _, f := range fences {
		pts = ix.addShapes(f, pts)
	}

	// The (cell, fence) pairs, sorted; a boundary pair keeps its rank among
	// the fence's boundary cells, which locates its centre.
	type pair struct {
		cell  Cell
		fence uint32 // | insideRef
		k     uint32 // in preps[fence].centres
	}
	pairs := make([]pair, 0, nPairs)
	for i := range preps {
		var k uint32
		for _, c := range preps[i].cover {
			if c.Inside {
				pairs = append(pairs, pair{c.Cell, uint32(i) | insideRef, 0})
				continue
			}
			pairs = append(pairs, pair{c.Cell, uint32(i), k})
			k++
		}
		preps[i].cover = nil
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := cmp.Compare(a.cell, b.cell); c != 0 {
			return c
		}
		return cmp.Compare(a.fence&^insideRef, b.fence&^insideRef)
	})

	// The refs and cells. A boundary ref's local is, for now, its pair's
	// rank; the first local of each part of the refs the next pass splits
	// among goroutines is noted on the way.
	nCells := 0
	for i := range pairs {
		if i == 0 || pairs[i].cell != pairs[i-1].cell {
			nCells++
		}
	}
	ix.refs = make([]ref, len(pairs))
	ix.cells = make(map[Cell]span, nCells)
	parts := workers(len(pairs))
	firstLocal := make([]uint32, parts)
	var nLocals uint32
	for i, part := 0, 0; i < len(pairs); {
		j := i
		for ; j < len(pairs) && pairs[j].cell == pairs[i].cell; j++ {
			for part < parts && j == part*len(pairs)/parts {
				firstLocal[part] = nLocals
				part++
			}
			pr := pairs[j]
			ix.refs[j] = ref{fence: pr.fence, local: pr.k}
			if pr.fence&insideRef == 0 {
				nLocals += ix.fences[pr.fence].n
			}
		}
		ix.cells[pairs[i].cell] = span{uint32(i), uint32(j - i)}
		i = j
	}

	// The local tests, each polygon's with its count of near edges.
	margin := cellMargin(res)
	ix.locals = make([]local, nLocals)
	parallel(parts, len(ix.refs), func(w, lo, hi int) {
		var scratch []localEdge
		off := firstLocal[w]
		for j := lo; j < hi; j++ {
			r := &ix.refs[j]
			if r.fence&insideRef != 0 {
				r.local = off // unread; where the next local is, as ever
				continue
			}
			fs := ix.fences[r.fence]
			ls := ix.locals[off : off+fs.n]
			scratch = fenceLocals(fences[r.fence], preps[r.fence].centres[r.local], margin, ls, scratch)
			for k := range ls {
				l := &ls[k]
				l.shape += fs.off
				if l.kind&^localLast == localCircle {
					l.edge = ix.shapes[l.shape].i // the circle, for circleContains
				}
			}
			r.local = off
			off += fs.n
		}
	})

	// The near edges, in the order of the local tests that read them.
	var nEdges uint32
	for i := range ix.locals {
		if l := &ix.locals[i]; l.kind&^localLast == localPolygon {
			l.edge = nEdges
			nEdges += l.nedge
		}
	}
	ix.edges = make([]localEdge, nEdges)
	parallel(workers(len(ix.locals)), len(ix.locals), func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			l := &ix.locals[i]
			if l.kind&^localLast != localPolygon {
				continue
			}
			sh := &ix.shapes[l.shape]
			dst := ix.edges[l.edge : l.edge : l.edge+l.nedge]
			if e, ok := nearEdges(Polygon(ix.rings[sh.i:sh.i+sh.n]), Point{l.v[0], l.v[1]}, margin, dst); !ok || len(e) != int(l.nedge) {
				panic("geo: near edges differ between counting and storing")
			}
		}
	})
	return ix
}

// Len returns the number of fences in the index.
func (ix *FenceIndex) Len() int { return len(ix.ids) }

// Res returns the resolution of the index.
func (ix *FenceIndex) Res() int { return ix.res }

// Cells returns the number of distinct cells the index holds.
func (ix *FenceIndex) Cells() int { return len(ix.cells) }

// Refs returns the number of (cell, fence) pairs the index holds: the sum of
// the fences' cover sizes.
func (ix *FenceIndex) Refs() int { return len(ix.refs) }

// Lookup returns the sorted ids of the fences containing p, exactly as
// Fence.Contains decides (boundary inside), or nil if there are none or p is
// not Valid.
func (ix *FenceIndex) Lookup(p Point) []string { return ix.AppendLookup(nil, p) }

// AppendLookup appends to dst the sorted ids of the fences containing p, as
// Lookup returns them, and returns the extended slice. With a dst of enough
// capacity it does not allocate.
func (ix *FenceIndex) AppendLookup(dst []string, p Point) []string {
	if !p.ok() || len(ix.cells) == 0 {
		return dst
	}
	sp, ok := ix.cells[fastCell(p, ix.res)]
	if !ok {
		return dst
	}
	q := probe{p: p}
	for _, r := range ix.refs[sp.off : sp.off+sp.n] {
		i := r.fence &^ insideRef
		if r.fence&insideRef != 0 || ix.localContains(r.local, &q) {
			dst = append(dst, ix.ids[i])
		}
	}
	return dst
}
