package geo

import (
	"cmp"
	"math"
	"slices"
	"sync"
)

// pointRes are the resolutions a PointIndex files each point under, finest
// first. A query uses the finest one whose covering disk has at most
// maxPointK rings: with ε from lattice.go, resolution 9 serves radii up to
// about 1.2 km, 8 up to 3.1 km, 7 up to 8.3 km, 6 up to 22 km and 5 up to
// 58 km, each probing at most 127 cells and a few times the circle's area.
var pointRes = [...]int{9, 8, 7, 6, 5}

const maxPointK = 6

// maxDiskRadiusM is the largest radius Within answers from a disk; beyond it,
// and whenever the disk has more cells than the index has points, Within
// scans every point. (Within it, at most one pentagon can be near a disk:
// pentagons are 7,000 km apart.)
const maxDiskRadiusM = 500_000

// PointIndex finds the points within a distance of a centre. It is safe for
// concurrent use: any number of Within calls run together, and Set and
// Remove wait for them.
type PointIndex struct {
	mu     sync.RWMutex
	points map[string]*pointEntry
	cells  [len(pointRes)]map[Cell][]*pointEntry
}

type pointEntry struct {
	id    string
	p     Point
	u     vec3
	cells [len(pointRes)]Cell // CellAt(p, pointRes[i])
}

// Hit is a point found by PointIndex.Within.
type Hit struct {
	ID        string
	Point     Point
	DistanceM float64
}

// NewPointIndex returns an empty index.
func NewPointIndex() *PointIndex {
	ix := &PointIndex{points: make(map[string]*pointEntry)}
	for i := range ix.cells {
		ix.cells[i] = make(map[Cell][]*pointEntry)
	}
	return ix
}

// Set puts the point id at p, adding it or moving it. It returns an error,
// and changes nothing, if p is not Valid.
func (ix *PointIndex) Set(id string, p Point) error {
	if err := p.Valid(); err != nil {
		return err
	}
	// Each resolution gets its own LatLngToCell: a cell's parent does not
	// always contain the points of its children, and the disk theorem is
	// about the cells points fall in.
	e := &pointEntry{id: id, p: p, u: unit(p)}
	for i, res := range pointRes {
		e.cells[i] = cellAt(p, res)
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if old, ok := ix.points[id]; ok {
		ix.unfile(old)
	}
	ix.points[id] = e
	for i, c := range e.cells {
		ix.cells[i][c] = append(ix.cells[i][c], e)
	}
	return nil
}

// Remove removes the point id, if present.
func (ix *PointIndex) Remove(id string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if old, ok := ix.points[id]; ok {
		ix.unfile(old)
		delete(ix.points, id)
	}
}

// unfile removes e from the cell maps.
func (ix *PointIndex) unfile(e *pointEntry) {
	for i, c := range e.cells {
		es := ix.cells[i][c]
		if j := slices.Index(es, e); j >= 0 {
			es[j] = es[len(es)-1]
			es[len(es)-1] = nil
			es = es[:len(es)-1]
		}
		if len(es) == 0 {
			delete(ix.cells[i], c)
		} else {
			ix.cells[i][c] = es
		}
	}
}

// Len returns the number of points.
func (ix *PointIndex) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.points)
}

// Within returns the points whose Distance from center is at most radiusM,
// all of them and no other, sorted by distance and then id. It returns nil
// if center is not Valid or radiusM is negative or NaN.
func (ix *PointIndex) Within(center Point, radiusM float64) []Hit {
	if !center.ok() || !(radiusM >= 0) {
		return nil
	}
	u := unit(center)
	// Candidates pass a chord test first: chords are cheap, and this one is
	// widened by 1e-12 Earth radii (6 µm), far more than its rounding, so it
	// drops only points that Distance would drop too.
	lim := math.Sqrt(chord2Of(radiusM)) + 1e-12
	lim2 := lim * lim
	var hits []Hit
	try := func(e *pointEntry) {
		if chord2(u, e.u) > lim2 {
			return
		}
		if d := Distance(center, e.p); d <= radiusM {
			hits = append(hits, Hit{e.id, e.p, d})
		}
	}

	ix.mu.RLock()
	defer ix.mu.RUnlock()
	level, k := len(pointRes)-1, 0
	for i, res := range pointRes {
		if k = diskK(res, radiusM, u); k <= maxPointK {
			level = i
			break
		}
	}
	if diskSize(k) >= len(ix.points) || radiusM > maxDiskRadiusM {
		for _, e := range ix.points {
			try(e)
		}
	} else {
		cells, err := disk(cellAt(center, pointRes[level]), k)
		if err != nil { // unreachable for a valid centre; scanning stays exact
			for _, e := range ix.points {
				try(e)
			}
		}
		for _, c := range cells {
			for _, e := range ix.cells[level][c] {
				try(e)
			}
		}
	}
	slices.SortFunc(hits, func(a, b Hit) int {
		if c := cmp.Compare(a.DistanceM, b.DistanceM); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return hits
}
