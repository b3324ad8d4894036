package geo

import "math"

// This file turns distances into H3 grid distances with a guarantee, for the
// point index (which disk holds every point within r of a centre?) and for
// circle covers (which cells can touch a circle, and which lie inside it?).
//
// How H3 places cells. A point is assigned to the icosahedron face whose
// centre is nearest, projected gnomonically onto the plane tangent at that
// centre (a point at angle θ from it lands at distance tan θ), and rounded to
// a hexagonal lattice on that plane. The lattice's centre spacing at
// resolution R is s_R = RES0_U_GNOMONIC / √7^R in units of the Earth's radius
// (h3 faceijk.c, _vec3ToHex2d); class III resolutions rotate the lattice,
// which changes no length. Adjacent faces unfold onto a common plane along
// their shared edge, and the lattices continue across it (that is how H3
// handles "overage"), so away from the 12 icosahedron vertices the cells
// around any short path are cells of one planar hexagonal lattice.
//
// Lemma 1 (plane). In a hexagonal lattice with centre spacing s, the edge
// length (and circumradius) of a cell is e = s/√3. Centres at grid distance
// g are at least g·(√3/2)·s = 1.5·g·e apart: the unit ball of the grid metric
// is a hexagon whose inradius is (√3/2)·s. Every point lies within e of its
// cell's centre, so two points whose cells are at grid distance g are at
// least (1.5·g - 2)·e apart. (Equality holds for even g; checked numerically.)
//
// Lemma 2 (sphere to plane). The gnomonic projection scales lengths by at
// most 1/cos²θ (radially; tangentially 1/cos θ), θ being the angle from the
// face centre, and θ is at most θmax = 37.38°, the angle from a face centre to
// its vertices (cos²θmax = 0.6315). A great-circle arc of length L maps to a
// straight segment on each face it crosses, and once unfolded to a path of
// planar length at most L/cos²θmax; its endpoints are at most that far apart.
// Conversely every planar length is at least the spherical length it maps
// from, since both scale factors are at most 1.
//
// Theorem (disk covers circle). Let ε_R = cos²θmax·e_R·EarthRadiusM. If a
// point q is within r metres of p, the cells of p and q are at grid distance
// g with (1.5·g - 2)·e_R ≤ r/(cos²θmax·EarthRadiusM), that is
// g ≤ (r/ε_R + 2)/1.5. So GridDisk(cell(p), k) holds cell(q) for
// k = ⌊(r/ε_R + 2)/1.5⌋ (diskK). At resolution 9, ε is 139.7 m.
//
// Near a pentagon the faces around the vertex do not unfold flat (five
// faces meet, not six), and a path through the pentagon cell splits into two
// lattice paths, each paying the -2·e of Lemma 1: g ≤ (r/ε_R + 4)/1.5. Where a
// disk may reach within a few cells of a pentagon we add one more ring on top
// of that; pentagons lie in the oceans, so this costs nothing where people
// are. TestDiskCoversCircle checks the theorem against brute force, near
// Paris, worldwide and around every pentagon.
//
// Corollary (cell extent). Every point of a cell is within e_R·EarthRadiusM
// metres of the cell's centre (planar circumradius e_R, and spherical lengths
// never exceed planar ones). circleCover uses it to drop cells that cannot
// touch a circle and to mark the ones that lie wholly inside.

const (
	// res0Spacing is H3's RES0_U_GNOMONIC: the distance between adjacent
	// cell centres at resolution 0 on a face's gnomonic plane.
	res0Spacing = 0.38196601125010500003
	// cos2FaceMax is cos² of the angle between an icosahedron face centre
	// and its vertices: (5 + 2√5)/15.
	cos2FaceMax = (5 + 2*2.2360679774997896964) / 15
)

// edgeM returns e_R·EarthRadiusM: the planar edge length of cells at res, in
// metres; every point of a cell is within this distance of its centre.
func edgeM(res int) float64 {
	return res0Spacing / math.Sqrt(3) / math.Pow(math.Sqrt(7), float64(res)) * EarthRadiusM
}

// epsM returns ε_R: the length scale of the coverage theorem at res.
func epsM(res int) float64 { return cos2FaceMax * edgeM(res) }

// diskK returns a k for which GridDisk(CellAt(center, res), k) holds the cell
// of every point within r metres of center (see the theorem above). u is
// center's unit vector.
func diskK(res int, r float64, u vec3) int {
	x := r / epsM(res)
	k := int((x + 2) / 1.5)
	if nearPentagon(u, r+float64(k+4)*2*edgeM(res)) {
		k = int((x+4)/1.5) + 1
	}
	return k
}

// diskSize returns the number of cells of a disk of radius k.
func diskSize(k int) int { return 1 + 3*k*(k+1) }

// vec3 is a point on the unit sphere.
type vec3 struct{ x, y, z float64 }

// unit returns p's unit vector.
func unit(p Point) vec3 {
	const rad = math.Pi / 180
	sinLat, cosLat := math.Sincos(p.Lat * rad)
	sinLng, cosLng := math.Sincos(p.Lng * rad)
	return vec3{cosLat * cosLng, cosLat * sinLng, sinLat}
}

// chord2 returns the squared straight-line distance between two unit vectors.
func chord2(a, b vec3) float64 {
	dx, dy, dz := a.x-b.x, a.y-b.y, a.z-b.z
	return dx*dx + dy*dy + dz*dz
}

// chord2Of returns the squared chord of a great-circle distance d in metres.
func chord2Of(d float64) float64 {
	s := 2 * math.Sin(math.Min(d/EarthRadiusM, math.Pi)/2)
	return s * s
}

// pentagons are the centres of H3's 12 pentagons, the same at every
// resolution: the icosahedron's vertices (TestPentagons checks them).
var pentagons = [12]Point{
	{64.70000012793487, 10.53619907546769},
	{50.10320148224135, -143.47849001502516},
	{39.10000003397593, 122.30000040778704},
	{23.71792527122296, -67.13232636643566},
	{10.44734518751103, 58.15770583957259},
	{2.30088211162675, -5.24539029677732},
	{-2.30088211162675, 174.75460970322268},
	{-10.44734518751103, -121.84229416042740},
	{-23.71792527122297, 112.86767363356435},
	{-39.10000003397592, -57.69999959221297},
	{-50.10320148224133, 36.52150998497483},
	{-64.70000012793491, -169.46380092453239},
}

// pentagonUnits are the unit vectors of pentagons.
var pentagonUnits = func() (us [12]vec3) {
	for i, p := range pentagons {
		us[i] = unit(p)
	}
	return us
}()

// nearPentagon reports whether some pentagon centre is within d metres of u.
func nearPentagon(u vec3, d float64) bool {
	c2 := chord2Of(d)
	for _, pu := range pentagonUnits {
		if chord2(u, pu) <= c2 {
			return true
		}
	}
	return false
}
