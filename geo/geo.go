// Package geo owns Hyperlieu's geometry: points, H3 cells, distances, geofences and the in-memory indexes that match points against them.
package geo

import (
	"fmt"
	"math"
	"strconv"

	"github.com/uber/h3-go/v4"
)

// Resolution is the H3 resolution of location reports and of the cell kept
// in a customer's state (cells of about 0.1 km², edges of about 200 m).
const Resolution = 9

// FenceResolution is the resolution geofences are indexed at, and the one
// Limits.MaxCells counts cells at. It was chosen by measurement (BENCHMARKS.md):
// resolution 10 is slower per lookup (LatLngToCell costs ~20% more) and needs
// several times the memory per fence, while resolution 9 leaves few points in
// boundary cells, whose exact tests are cheap anyway.
const FenceResolution = 9

// MaxDiskK is the largest k Disk accepts: 3,004,001 cells.
const MaxDiskK = 1000

// EarthRadiusM is the mean Earth radius Distance uses, in metres (IUGG R1).
const EarthRadiusM = 6371008.8

// Point is a position in degrees (WGS 84).
type Point struct{ Lat, Lng float64 }

// Valid returns nil if p is finite with Lat in [-90, 90] and Lng in
// [-180, 180], and otherwise an error saying which coordinate is wrong.
func (p Point) Valid() error {
	if math.IsNaN(p.Lat) || math.IsInf(p.Lat, 0) || p.Lat < -90 || p.Lat > 90 {
		return fmt.Errorf("latitude %v is not in [-90, 90]", p.Lat)
	}
	if math.IsNaN(p.Lng) || math.IsInf(p.Lng, 0) || p.Lng < -180 || p.Lng > 180 {
		return fmt.Errorf("longitude %v is not in [-180, 180]", p.Lng)
	}
	return nil
}

// ok is Valid without the error, for hot paths. NaN fails every comparison.
func (p Point) ok() bool {
	return p.Lat >= -90 && p.Lat <= 90 && p.Lng >= -180 && p.Lng <= 180
}

// Cell is an H3 cell index.
type Cell uint64

// String returns the cell's H3 hexadecimal form, such as "891fb466257ffff".
func (c Cell) String() string { return strconv.FormatUint(uint64(c), 16) }

// Res returns the cell's resolution, 0 to 15; for a value that is not a cell
// it returns whatever the resolution bits hold.
func (c Cell) Res() int { return int(c>>52) & 0xf }

// Valid reports whether c is a valid H3 cell.
func (c Cell) Valid() bool { return h3.Cell(c).IsValid() }

// Parent returns the cell at the coarser resolution res that contains c.
// It returns an error if c is not a cell or res is not in [0, c.Res()].
func (c Cell) Parent(res int) (Cell, error) {
	if !c.Valid() || res < 0 || res > c.Res() {
		return 0, fmt.Errorf("parent of %v at resolution %d: invalid cell or resolution", c, res)
	}
	return c.parent(res), nil
}

// parent is Parent for a valid cell and res <= c.Res(): it sets the
// resolution and marks the finer digits unused, as H3 does, without cgo.
func (c Cell) parent(res int) Cell {
	const resMask = Cell(0xf) << 52
	p := c&^resMask | Cell(res)<<52
	for r := res + 1; r <= c.Res(); r++ {
		p |= Cell(7) << (3 * (15 - r))
	}
	return p
}

// ParseCell parses an H3 cell in hexadecimal form. It returns an error if s is
// not hexadecimal or not a valid cell.
func ParseCell(s string) (Cell, error) {
	u, err := strconv.ParseUint(s, 16, 64)
	if err != nil || !Cell(u).Valid() {
		return 0, fmt.Errorf("%q is not an H3 cell", s)
	}
	return Cell(u), nil
}

// CellOf returns the cell at Resolution that contains p. It returns an error
// if p is not Valid.
func CellOf(p Point) (Cell, error) { return CellAt(p, Resolution) }

// CellAt returns the cell at resolution res that contains p. It returns an
// error if p is not Valid or res is not in [0, 15].
func CellAt(p Point, res int) (Cell, error) {
	if err := p.Valid(); err != nil {
		return 0, err
	}
	if res < 0 || res > h3.MaxResolution {
		return 0, fmt.Errorf("resolution %d is not in [0, %d]", res, h3.MaxResolution)
	}
	c, err := h3.LatLngToCell(h3.LatLng{Lat: p.Lat, Lng: p.Lng}, res)
	if err != nil {
		return 0, fmt.Errorf("cell of %v: %w", p, err)
	}
	return Cell(c), nil
}

// cellAt is CellAt for a point known to be valid and a resolution known to be
// in range; it returns 0 if H3 fails anyway.
func cellAt(p Point, res int) Cell {
	c, err := h3.LatLngToCell(h3.LatLng{Lat: p.Lat, Lng: p.Lng}, res)
	if err != nil {
		return 0
	}
	return Cell(c)
}

// Disk returns the cells within grid distance k of c, c included, in no
// particular order: 1+3k(k+1) cells, fewer next to one of the 12 pentagons.
// It returns an error if c is not a valid cell or k is not in [0, MaxDiskK].
func Disk(c Cell, k int) ([]Cell, error) {
	if k < 0 || k > MaxDiskK {
		return nil, fmt.Errorf("disk of %v: k %d is not in [0, %d]", c, k, MaxDiskK)
	}
	if !c.Valid() {
		return nil, fmt.Errorf("disk of %v: not a valid cell", c)
	}
	return disk(c, k)
}

// disk is Disk without the argument checks.
func disk(c Cell, k int) ([]Cell, error) {
	hs, err := h3.GridDisk(h3.Cell(c), k)
	if err != nil {
		return nil, fmt.Errorf("disk of %v: %w", c, err)
	}
	out := make([]Cell, 0, len(hs))
	for _, h := range hs {
		if h != 0 {
			out = append(out, Cell(h))
		}
	}
	return out, nil
}

// CellCenter returns the centre of c. It returns an error if c is not a valid
// cell.
func CellCenter(c Cell) (Point, error) {
	if !c.Valid() {
		return Point{}, fmt.Errorf("centre of %v: not a valid cell", c)
	}
	ll, err := h3.CellToLatLng(h3.Cell(c))
	if err != nil {
		return Point{}, fmt.Errorf("centre of %v: %w", c, err)
	}
	return Point{ll.Lat, ll.Lng}, nil
}

// CellBoundary returns the vertices of c counter-clockwise as a closed ring:
// the first vertex is repeated at the end, as GeoJSON wants. It returns an
// error if c is not a valid cell.
func CellBoundary(c Cell) ([]Point, error) {
	if !c.Valid() {
		return nil, fmt.Errorf("boundary of %v: not a valid cell", c)
	}
	b, err := h3.CellToBoundary(h3.Cell(c))
	if err != nil {
		return nil, fmt.Errorf("boundary of %v: %w", c, err)
	}
	ring := make([]Point, 0, len(b)+1)
	for _, ll := range b {
		ring = append(ring, Point{ll.Lat, ll.Lng})
	}
	return append(ring, ring[0]), nil
}

// CellAreaM2 returns the area of c in square metres, or 0 if c is not a valid
// cell.
func CellAreaM2(c Cell) float64 {
	if !c.Valid() {
		return 0
	}
	a, err := h3.CellAreaM2(h3.Cell(c))
	if err != nil {
		return 0
	}
	return a
}

// Distance returns the great-circle distance between a and b in metres, by
// the haversine formula on a sphere of radius EarthRadiusM. Points that are
// not Valid give a meaningless result.
func Distance(a, b Point) float64 {
	const rad = math.Pi / 180
	sinLat := math.Sin((b.Lat - a.Lat) * rad / 2)
	sinLng := math.Sin((b.Lng - a.Lng) * rad / 2)
	h := sinLat*sinLat + math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*sinLng*sinLng
	return 2 * EarthRadiusM * math.Asin(math.Sqrt(math.Min(h, 1)))
}
