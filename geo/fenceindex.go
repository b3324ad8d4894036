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

// FenceIndex finds the fences containing a point: one H3 cell computation,
// one map lookup, and exact tests only for fences whose boundary crosses the
// point's cell. It is immutable once built and safe for concurrent use;
// callers replace a whole index to change it.
type FenceIndex struct {
	res    int
	ids    []string       // sorted
	fences []indexedFence // fences[i] is the fence of ids[i]
	cells  map[Cell]span  // the refs of each covered cell
	refs   []uint32       // fence index, | insideRef if the cell is inside it
}

// span locates a cell's refs: refs[off : off+n], sorted by fence index.
type span struct{ off, n uint32 }

const insideRef = 1 << 31

// indexedFence is a copy of a fence with what makes its exact test cheap.
type indexedFence struct {
	polygons []indexedPolygon
	circles  []indexedCircle
}

type indexedPolygon struct {
	// s, w, n, e is the outer ring's bounding box, widened by bboxPad so
	// that no rounding in locate can place a point outside it inside the ring.
	s, w, n, e float64
	poly       Polygon
}

const bboxPad = 1e-9 // degrees, about 0.1 mm

// indexedCircle decides most points by the chord between unit vectors,
// which needs no trigonometry once the point's vector is known: points
// whose chord is clearly shorter or longer than the radius's are decided,
// and only those within chordPad of the circle fall back to Distance.
type indexedCircle struct {
	c      Circle
	u      vec3
	lo, hi float64 // squared chords: below lo inside, above hi outside
}

// chordPad is far more than the rounding of a chord between unit vectors
// (about 1e-15) or of Distance, and far less than anything that matters:
// 1e-12 Earth radii is 6 µm.
const chordPad = 1e-12

func newIndexedFence(f Fence) indexedFence {
	var ix indexedFence
	for _, poly := range f.Polygons {
		p := indexedPolygon{s: 90, n: -90, w: 180, e: -180, poly: make(Polygon, len(poly))}
		for i, r := range poly {
			p.poly[i] = slices.Clone(r)
		}
		for _, v := range poly[0] {
			p.s, p.n, p.w, p.e = min(p.s, v.Lat), max(p.n, v.Lat), min(p.w, v.Lng), max(p.e, v.Lng)
		}
		p.s, p.n, p.w, p.e = p.s-bboxPad, p.n+bboxPad, p.w-bboxPad, p.e+bboxPad
		ix.polygons = append(ix.polygons, p)
	}
	for _, c := range f.Circles {
		ch := math.Sqrt(chord2Of(c.RadiusM))
		lo := max(ch-chordPad, 0)
		ix.circles = append(ix.circles, indexedCircle{c: c, u: unit(c.Center), lo: lo * lo, hi: (ch + chordPad) * (ch + chordPad)})
	}
	return ix
}

// probe is a point being looked up, with its unit vector once needed.
type probe struct {
	p    Point
	u    vec3
	hasU bool
}

// contains is Fence.Contains, deciding most points more cheaply.
func (f *indexedFence) contains(q *probe) bool {
	p := q.p
	for i := range f.polygons {
		ip := &f.polygons[i]
		if p.Lat >= ip.s && p.Lat <= ip.n && p.Lng >= ip.w && p.Lng <= ip.e && polygonContains(ip.poly, p) {
			return true
		}
	}
	for i := range f.circles {
		c := &f.circles[i]
		if !q.hasU {
			q.u, q.hasU = unit(p), true
		}
		switch d := chord2(c.u, q.u); {
		case d < c.lo:
			return true
		case d <= c.hi && Distance(c.c.Center, p) <= c.c.RadiusM:
			return true
		}
	}
	return false
}

// FenceIndexBuilder collects fences for a FenceIndex.
type FenceIndexBuilder struct {
	res    int
	fences map[string]Fence
	covers map[string][]CoverCell
}

// NewFenceIndexBuilder returns a builder of an index at resolution res;
// FenceResolution is the one to use unless measured otherwise.
func NewFenceIndexBuilder(res int) *FenceIndexBuilder {
	return &FenceIndexBuilder{res: res, fences: make(map[string]Fence), covers: make(map[string][]CoverCell)}
}

// Add adds (or replaces) the fence id. It returns an error, and adds
// nothing, if f fails Validate without limits (the error wraps a
// *FenceError) or cannot be covered at the builder's resolution.
func (b *FenceIndexBuilder) Add(id string, f Fence) error {
	cover, err := f.Cover(b.res)
	if err != nil {
		return fmt.Errorf("fence %s: %w", id, err)
	}
	b.fences[id] = f
	b.covers[id] = cover
	return nil
}

// Len returns the number of fences added.
func (b *FenceIndexBuilder) Len() int { return len(b.fences) }

// Build returns the index of the fences added so far. The builder may go on
// being used; the index does not change with it.
func (b *FenceIndexBuilder) Build() *FenceIndex {
	return build(b.res, b.fences, b.covers)
}

// BuildFenceIndex builds the index of fences at resolution res, covering
// them on all CPUs. It is all or nothing: if a fence fails Validate without
// limits or cannot be covered, it returns an error naming the first such id
// in sorted order and no index. Use a FenceIndexBuilder to skip bad fences
// instead.
func BuildFenceIndex(fences map[string]Fence, res int) (*FenceIndex, error) {
	if res < 0 || res > h3.MaxResolution {
		return nil, fmt.Errorf("build fence index: resolution %d is not in [0, %d]", res, h3.MaxResolution)
	}
	ids := make([]string, 0, len(fences))
	for id := range fences {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	covers := make([][]CoverCell, len(ids))
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), max(len(ids), 1))
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(ids); i += workers {
				covers[i], errs[i] = fences[ids[i]].Cover(res)
			}
		})
	}
	wg.Wait()
	byID := make(map[string][]CoverCell, len(ids))
	for i, id := range ids {
		if errs[i] != nil {
			return nil, fmt.Errorf("build fence index: fence %s: %w", id, errs[i])
		}
		byID[id] = covers[i]
	}
	return build(res, fences, byID), nil
}

// build lays out the index: fences numbered in id order, and for each cell
// the numbers of the fences covering it, in order, so that lookups return
// sorted ids without sorting.
func build(res int, fences map[string]Fence, covers map[string][]CoverCell) *FenceIndex {
	ix := &FenceIndex{res: res, ids: make([]string, 0, len(fences))}
	for id := range fences {
		ix.ids = append(ix.ids, id)
	}
	slices.Sort(ix.ids)
	type pair struct {
		cell Cell
		ref  uint32
	}
	var n int
	for _, c := range covers {
		n += len(c)
	}
	pairs := make([]pair, 0, n)
	ix.fences = make([]indexedFence, len(ix.ids))
	for i, id := range ix.ids {
		ix.fences[i] = newIndexedFence(fences[id])
		for _, c := range covers[id] {
			ref := uint32(i)
			if c.Inside {
				ref |= insideRef
			}
			pairs = append(pairs, pair{c.Cell, ref})
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := cmp.Compare(a.cell, b.cell); c != 0 {
			return c
		}
		return cmp.Compare(a.ref&^insideRef, b.ref&^insideRef)
	})
	ix.refs = make([]uint32, len(pairs))
	ix.cells = make(map[Cell]span)
	for i := 0; i < len(pairs); {
		j := i
		for j < len(pairs) && pairs[j].cell == pairs[i].cell {
			ix.refs[j] = pairs[j].ref
			j++
		}
		ix.cells[pairs[i].cell] = span{uint32(i), uint32(j - i)}
		i = j
	}
	return ix
}

// Len returns the number of fences in the index.
func (ix *FenceIndex) Len() int { return len(ix.ids) }

// Res returns the resolution of the index.
func (ix *FenceIndex) Res() int { return ix.res }

// Cells returns the number of cells the index holds.
func (ix *FenceIndex) Cells() int { return len(ix.cells) }

// Lookup returns the sorted ids of the fences containing p, exactly as
// Fence.Contains decides (boundary inside), or nil if there are none or p is
// not Valid.
func (ix *FenceIndex) Lookup(p Point) []string { return ix.AppendLookup(nil, p) }

// AppendLookup appends to dst the sorted ids of the fences containing p, as
// Lookup returns them, and returns the extended slice. With a dst of enough
// capacity it does not allocate, apart from H3's cell computation.
func (ix *FenceIndex) AppendLookup(dst []string, p Point) []string {
	if !p.ok() || len(ix.cells) == 0 {
		return dst
	}
	c, err := h3.LatLngToCell(h3.LatLng{Lat: p.Lat, Lng: p.Lng}, ix.res)
	if err != nil {
		return dst
	}
	sp, ok := ix.cells[Cell(c)]
	if !ok {
		return dst
	}
	q := probe{p: p}
	for _, ref := range ix.refs[sp.off : sp.off+sp.n] {
		i := ref &^ insideRef
		if ref&insideRef != 0 || ix.fences[i].contains(&q) {
			dst = append(dst, ix.ids[i])
		}
	}
	return dst
}
