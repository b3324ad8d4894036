package geo_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu/geo"
	"github.com/hyperlieu/hyperlieu/geo/geotest"
)

// The benchmarks use geotest's defaults: fences of 100 m to 2 km (radius,
// log-uniform), half circles, half polygons of 6 to 12 vertices (a quarter
// with a hole), centred over a 30 km square on Paris, and query points
// uniform over the same square. 10,000 such fences cover a point about 20
// times on average; the "sparse" variants spread them over 300 km instead,
// where most points are in no fence, as most location reports will be.

// benchIndex builds n fences spread over spreadM at res and returns the
// index and 1<<16 query points.
func benchIndex(b *testing.B, n int, spreadM float64, res int) (*geo.FenceIndex, []geo.Point) {
	b.Helper()
	g := geotest.New(1)
	g.SpreadM = spreadM
	fences := g.Fences(n)
	ix, err := geo.BuildFenceIndex(fences, res)
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
		res     int
	}{
		{"fences=10k/res=9", 10_000, 30_000, 9},
		{"fences=10k/res=10", 10_000, 30_000, 10},
		{"fences=10k/sparse/res=9", 10_000, 300_000, 9},
		{"fences=10k/sparse/res=10", 10_000, 300_000, 10},
		{"fences=100k/res=9", 100_000, 30_000, 9},
		{"fences=100k/sparse/res=9", 100_000, 300_000, 9},
	} {
		b.Run(bb.name, func(b *testing.B) {
			ix, pts := benchIndex(b, bb.n, bb.spreadM, bb.res)
			dst := make([]string, 0, 256)
			var found int
			b.ReportAllocs()
			i, cpu := 0, cpuTime()
			for b.Loop() {
				dst = ix.AppendLookup(dst[:0], pts[i&(len(pts)-1)])
				found += len(dst)
				i++
			}
			reportCPU(b, cpu, i)
			b.ReportMetric(float64(found)/float64(i), "fences/lookup")
		})
	}
}

func BenchmarkBuildFenceIndex(b *testing.B) {
	for _, bb := range []struct {
		name    string
		spreadM float64
		res     int
	}{
		{"fences=10k/res=9", 30_000, 9},
		{"fences=10k/res=10", 30_000, 10},
		{"fences=10k/sparse/res=9", 300_000, 9},
	} {
		b.Run(bb.name, func(b *testing.B) {
			const n = 10_000
			g := geotest.New(1)
			g.SpreadM = bb.spreadM
			fences := g.Fences(n)
			var ix *geo.FenceIndex
			var before, after runtime.MemStats
			var perFence float64
			var cpu time.Duration
			builds := 0
			for b.Loop() {
				b.StopTimer()
				ix = nil
				runtime.GC()
				runtime.ReadMemStats(&before)
				b.StartTimer()
				start := cpuTime()
				var err error
				if ix, err = geo.BuildFenceIndex(fences, bb.res); err != nil {
					b.Fatal(err)
				}
				cpu += cpuTime() - start
				builds++
				b.StopTimer()
				runtime.GC()
				runtime.ReadMemStats(&after)
				perFence = float64(after.HeapAlloc-before.HeapAlloc) / n
				b.StartTimer()
			}
			// bytes/fence is the index's heap, its copies of the fences
			// included; cells/fence counts (cell, fence) pairs.
			if cpu > 0 {
				b.ReportMetric(float64(cpu)/float64(builds), "cpu-ns/op")
			}
			b.ReportMetric(perFence, "bytes/fence")
			b.ReportMetric(float64(ix.Refs())/n, "cells/fence")
			runtime.KeepAlive(ix)
		})
	}
}

// BenchmarkFenceIndexBuilderBuild measures FenceIndexBuilder.Build alone,
// the fences already added: what a campaign refresh pays on top of covering
// the fences that changed.
func BenchmarkFenceIndexBuilderBuild(b *testing.B) {
	const n = 10_000
	fences := geotest.New(1).Fences(n)
	fb := geo.NewFenceIndexBuilder(geo.FenceResolution)
	for id, f := range fences {
		if err := fb.Add(id, f); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("fences=10k/res=9", func(b *testing.B) {
		var ix *geo.FenceIndex
		b.ReportAllocs()
		i, cpu := 0, cpuTime()
		for b.Loop() {
			ix = fb.Build()
			i++
		}
		reportCPU(b, cpu, i)
		runtime.KeepAlive(ix)
	})
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
			cpu := cpuTime()
			for b.Loop() {
				found += len(ix.Within(centres[i&(len(centres)-1)], r))
				i++
			}
			reportCPU(b, cpu, i)
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
	i, cpu := 0, cpuTime()
	for b.Loop() {
		if _, err := geo.CellOf(pts[i&(len(pts)-1)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	reportCPU(b, cpu, i)
}

// reportCPU reports the process's CPU time per operation since start: the
// figure to read when other work shares the machine (run with -cpu 1).
func reportCPU(b *testing.B, start time.Duration, ops int) {
	if start > 0 && ops > 0 {
		b.ReportMetric(float64(cpuTime()-start)/float64(ops), "cpu-ns/op")
	}
}
