package geo_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/hyperlieu/hyperlieu/geo"
	"github.com/hyperlieu/hyperlieu/geo/geotest"
)

// The benchmarks use geotest's defaults: fences of 100 m to 2 km (radius,
// log-uniform), half circles, half polygons of 6 to 12 vertices (a quarter
// with a hole), centred over a 30 km square on Paris, and query points
// uniform over the same square. 10,000 such fences cover a point about 20
// times on average; the "sparse" variants spread them over 300 km instead,
// where most points are in no fence, as most location reports will be.

// benchIndex builds n fences spread over spreadM and returns the index and
// 1<<16 query points.
func benchIndex(b *testing.B, n int, spreadM float64) (*geo.FenceIndex, []geo.Point) {
	b.Helper()
	g := geotest.New(1)
	g.SpreadM = spreadM
	fences := g.Fences(n)
	ix, err := geo.BuildFenceIndex(fences, geo.FenceResolution)
	if err != nil {
		b.Fatal(err)
	}
	pts := make([]geo.Point, 1<<16)
	for i := range pts {
		pts[i] = g.Point()
	}
	return ix, pts
}

func BenchmarkFenceIndexLookup(b *testing.B) {
	for _, bb := range []struct {
		name    string
		n       int
		spreadM float64
	}{
		{"fences=10k", 10_000, 30_000},
		{"fences=10k/sparse", 10_000, 300_000},
		{"fences=100k", 100_000, 30_000},
		{"fences=100k/sparse", 100_000, 300_000},
	} {
		b.Run(bb.name, func(b *testing.B) {
			ix, pts := benchIndex(b, bb.n, bb.spreadM)
			dst := make([]string, 0, 256)
			var found int
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				dst = ix.AppendLookup(dst[:0], pts[i&(len(pts)-1)])
				found += len(dst)
				i++
			}
			b.ReportMetric(float64(found)/float64(i), "fences/lookup")
		})
	}
}

func BenchmarkBuildFenceIndex(b *testing.B) {
	for _, n := range []int{10_000} {
		b.Run(fmt.Sprintf("fences=%d", n), func(b *testing.B) {
			fences := geotest.New(1).Fences(n)
			var ix *geo.FenceIndex
			var before, after runtime.MemStats
			var perFence float64
			for b.Loop() {
				b.StopTimer()
				ix = nil
				runtime.GC()
				runtime.ReadMemStats(&before)
				b.StartTimer()
				var err error
				if ix, err = geo.BuildFenceIndex(fences, geo.FenceResolution); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				runtime.GC()
				runtime.ReadMemStats(&after)
				perFence = float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
				b.StartTimer()
			}
			b.ReportMetric(perFence, "bytes/fence")
			b.ReportMetric(float64(ix.Cells())/float64(n), "cells/fence")
			runtime.KeepAlive(ix)
		})
	}
}

func BenchmarkPointIndexWithin(b *testing.B) {
	for _, r := range []float64{200, 2_000, 20_000} {
		b.Run(fmt.Sprintf("points=10k/r=%gm", r), func(b *testing.B) {
			g := geotest.New(2)
			ix := geo.NewPointIndex()
			for i := range 10_000 {
				if err := ix.Set(fmt.Sprint(i), g.Point()); err != nil {
					b.Fatal(err)
				}
			}
			centres := make([]geo.Point, 1<<12)
			for i := range centres {
				centres[i] = g.Point()
			}
			var found, i int
			b.ReportAllocs()
			for b.Loop() {
				found += len(ix.Within(centres[i&(len(centres)-1)], r))
				i++
			}
			b.ReportMetric(float64(found)/float64(i), "hits/op")
		})
	}
}

func BenchmarkCellOf(b *testing.B) {
	g := geotest.New(3)
	pts := make([]geo.Point, 1<<12)
	for i := range pts {
		pts[i] = g.Point()
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := geo.CellOf(pts[i&(len(pts)-1)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
