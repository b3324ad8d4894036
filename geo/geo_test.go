package geo_test

import (
	"math"
	"strings"
	"testing"

	"github.com/hyperlieu/hyperlieu/geo"
)

var (
	paris  = geo.Point{Lat: 48.8566, Lng: 2.3522}
	london = geo.Point{Lat: 51.5074, Lng: -0.1278}
)

func TestDistance(t *testing.T) {
	tests := []struct {
		name  string
		a, b  geo.Point
		wantM float64
		tolM  float64
	}{
		{"Paris to London", paris, london, 343_560, 500},
		{"London to Paris", london, paris, 343_560, 500},
		{"same point", paris, paris, 0, 0},
		{"one degree of latitude", geo.Point{Lat: 0, Lng: 0}, geo.Point{Lat: 1, Lng: 0}, 111_195.08, 0.01},
		{"one degree of longitude at 60°N", geo.Point{Lat: 60, Lng: 0}, geo.Point{Lat: 60, Lng: 1}, 55_597.5, 1},
		{"antipodes", geo.Point{Lat: 0, Lng: 0}, geo.Point{Lat: 0, Lng: 180}, math.Pi * geo.EarthRadiusM, 0.001},
		{"across the antimeridian", geo.Point{Lat: 0, Lng: 179.5}, geo.Point{Lat: 0, Lng: -179.5}, 111_195.08, 0.01},
		{"pole to pole", geo.Point{Lat: 90, Lng: 0}, geo.Point{Lat: -90, Lng: 0}, math.Pi * geo.EarthRadiusM, 0.001},
		{"New York to Los Angeles", geo.Point{Lat: 40.7128, Lng: -74.0060}, geo.Point{Lat: 34.0522, Lng: -118.2437}, 3_935_750, 2_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := geo.Distance(tt.a, tt.b); math.Abs(got-tt.wantM) > tt.tolM {
				t.Errorf("Distance(%v, %v) = %.2f, want %.2f ± %g", tt.a, tt.b, got, tt.wantM, tt.tolM)
			}
		})
	}
}

func TestPointValid(t *testing.T) {
	tests := []struct {
		name    string
		p       geo.Point
		wantErr string // a substring of the error, or "" for nil
	}{
		{"Paris", paris, ""},
		{"corners", geo.Point{Lat: -90, Lng: 180}, ""},
		{"other corners", geo.Point{Lat: 90, Lng: -180}, ""},
		{"NaN latitude", geo.Point{Lat: math.NaN(), Lng: 0}, "latitude"},
		{"NaN longitude", geo.Point{Lat: 0, Lng: math.NaN()}, "longitude"},
		{"infinite latitude", geo.Point{Lat: math.Inf(1), Lng: 0}, "latitude"},
		{"infinite longitude", geo.Point{Lat: 0, Lng: math.Inf(-1)}, "longitude"},
		{"latitude over 90", geo.Point{Lat: 90.0001, Lng: 0}, "latitude"},
		{"latitude under -90", geo.Point{Lat: -91, Lng: 0}, "latitude"},
		{"longitude over 180", geo.Point{Lat: 0, Lng: 180.5}, "longitude"},
		{"longitude under -180", geo.Point{Lat: 0, Lng: -200}, "longitude"},
		{"swapped Paris", geo.Point{Lat: 2.3522, Lng: 48.8566}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Valid()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("%v.Valid() = %v, want nil", tt.p, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("%v.Valid() = %v, want an error about the %s", tt.p, err, tt.wantErr)
			}
		})
	}
}

func TestCellAt(t *testing.T) {
	tests := []struct {
		name string
		p    geo.Point
		res  int
		want string
	}{
		{"h3-go README, San Francisco", geo.Point{Lat: 37.775938728915946, Lng: -122.41795063018799}, 9, "8928308280fffff"},
		{"H3 docs, Sunnyvale", geo.Point{Lat: 37.3615593, Lng: -122.0553238}, 7, "87283472bffffff"},
		{"null island, resolution 0", geo.Point{Lat: 0, Lng: 0}, 0, "8075fffffffffff"},
		{"Paris, Hôtel de Ville", paris, 9, "891fb466257ffff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := geo.CellAt(tt.p, tt.res)
			if err != nil || c.String() != tt.want {
				t.Errorf("CellAt(%v, %d) = %v, %v, want %s", tt.p, tt.res, c, err, tt.want)
			}
			if tt.res == geo.Resolution {
				if c2, err := geo.CellOf(tt.p); c2 != c || err != nil {
					t.Errorf("CellOf(%v) = %v, %v, want %v", tt.p, c2, err, c)
				}
			}
			if c.Res() != tt.res {
				t.Errorf("%v.Res() = %d, want %d", c, c.Res(), tt.res)
			}
		})
	}
}

func TestCellAtErrors(t *testing.T) {
	tests := []struct {
		name string
		p    geo.Point
		res  int
	}{
		{"NaN", geo.Point{Lat: math.NaN(), Lng: 0}, 9},
		{"latitude out of range", geo.Point{Lat: 100, Lng: 0}, 9},
		{"longitude out of range", geo.Point{Lat: 0, Lng: 181}, 9},
		{"negative resolution", paris, -1},
		{"resolution 16", paris, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := geo.CellAt(tt.p, tt.res); err == nil {
				t.Errorf("CellAt(%v, %d) = %v, nil, want an error", tt.p, tt.res, c)
			}
		})
	}
	if c, err := geo.CellOf(geo.Point{Lat: math.NaN(), Lng: math.NaN()}); err == nil {
		t.Errorf("CellOf(NaN, NaN) = %v, nil, want an error", c)
	}
}

func TestParseCell(t *testing.T) {
	tests := []struct {
		in      string
		wantErr bool
	}{
		{"891fb466257ffff", false},
		{"891FB466257FFFF", false},
		{"8075fffffffffff", false},
		{"", true},
		{"0", true},
		{"zz", true},
		{"0x891fb466257ffff", true},
		{"891fb466257fffe", true},       // digits after the resolution must be 7
		{"ffffffffffffffffff", true},    // too long
		{"1891fb466257ffff", true},      // mode bits wrong
		{"891fb466257ffff ", true},      // trailing space
		{"-891fb466257ffff", true},      // sign
		{"85283473fffffff", false},      // resolution 5
		{"8009fffffffffff", false},      // a pentagon's base cell
		{"80f3fffffffffff", false},      // base cell 121, the last
		{"80f5fffffffffff", true},       // base cell 122 does not exist
		{"08928308280fffff", false},     // a leading zero changes nothing
		{"891fb466257fff", true},        // truncated
		{"891fb466257gfff", true},       // not hexadecimal
		{" 891fb466257ffff", true},      // leading space
		{"891fb466257ffff\n", true},     // newline
		{"+891fb466257ffff", true},      // sign
		{"891fb466257ffff\u00e9", true}, // non-ASCII
	}
	for _, tt := range tests {
		c, err := geo.ParseCell(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseCell(%q) = %v, %v, want error %v", tt.in, c, err, tt.wantErr)
			continue
		}
		if err == nil && strings.TrimLeft(strings.ToLower(tt.in), "0") != c.String() {
			t.Errorf("ParseCell(%q).String() = %q, want %q", tt.in, c.String(), strings.ToLower(tt.in))
		}
	}
}

func TestDisk(t *testing.T) {
	c, _ := geo.CellOf(paris)
	for k := range 4 {
		cells, err := geo.Disk(c, k)
		if err != nil {
			t.Fatalf("Disk(%v, %d) error = %v", c, k, err)
		}
		if want := 1 + 3*k*(k+1); len(cells) != want {
			t.Errorf("len(Disk(%v, %d)) = %d, want %d", c, k, len(cells), want)
		}
		seen := map[geo.Cell]bool{}
		for _, d := range cells {
			if seen[d] || d.Res() != geo.Resolution {
				t.Errorf("Disk(%v, %d) holds %v twice or at the wrong resolution", c, k, d)
			}
			seen[d] = true
		}
		if !seen[c] {
			t.Errorf("Disk(%v, %d) does not hold %v", c, k, c)
		}
	}
	pent, _ := geo.ParseCell("8009fffffffffff")
	if cells, err := geo.Disk(pent, 1); err != nil || len(cells) != 6 {
		t.Errorf("Disk(pentagon, 1) = %d cells, %v, want 6, nil", len(cells), err)
	}
	for _, k := range []int{-1, geo.MaxDiskK + 1} {
		if _, err := geo.Disk(c, k); err == nil {
			t.Errorf("Disk(%v, %d) error = nil, want an error", c, k)
		}
	}
	if _, err := geo.Disk(0, 1); err == nil {
		t.Errorf("Disk(0, 1) error = nil, want an error")
	}
}

func TestCellGeometry(t *testing.T) {
	c, _ := geo.CellOf(paris)
	b, err := geo.CellBoundary(c)
	if err != nil || len(b) != 7 || b[0] != b[6] {
		t.Fatalf("CellBoundary(%v) = %v, %v, want a closed ring of 6 vertices", c, b, err)
	}
	center, err := geo.CellCenter(c)
	if err != nil {
		t.Fatalf("CellCenter(%v) error = %v", c, err)
	}
	for _, v := range b {
		if d := geo.Distance(center, v); d < 150 || d > 250 {
			t.Errorf("vertex %v of %v is %.1f m from its centre, want 150-250 m", v, c, d)
		}
	}
	fence := geo.Fence{Polygons: []geo.Polygon{{b}}}
	if !fence.Contains(center) {
		t.Errorf("the fence of CellBoundary(%v) does not contain the cell's centre", c)
	}
	if a := geo.CellAreaM2(c); a < 90_000 || a > 120_000 {
		t.Errorf("CellAreaM2(%v) = %.0f, want about 105,000", c, a)
	}
	if a, area := geo.CellAreaM2(c), fence.AreaM2(); math.Abs(a-area)/a > 0.001 {
		t.Errorf("AreaM2 of %v's boundary = %.0f, want CellAreaM2 %.0f within 0.1%%", c, area, a)
	}
	if a := geo.CellAreaM2(0); a != 0 {
		t.Errorf("CellAreaM2(0) = %v, want 0", a)
	}
	if _, err := geo.CellBoundary(0); err == nil {
		t.Errorf("CellBoundary(0) error = nil, want an error")
	}
	if p, err := c.Parent(5); err != nil || p.String() != "851fb467fffffff" {
		t.Errorf("%v.Parent(5) = %v, %v, want 851fb467fffffff", c, p, err)
	}
	if _, err := c.Parent(10); err == nil {
		t.Errorf("%v.Parent(10) error = nil, want an error", c)
	}
}
