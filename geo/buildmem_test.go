package geo_test

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu/geo"
	"github.com/hyperlieu/hyperlieu/geo/geotest"
)

// BenchmarkBuildFenceIndexMemory measures what building an index costs in
// memory next to what the index keeps, on the fences the lookup benchmarks
// use. It is a benchmark, not a test, so that the 100k builds (seconds of
// CPU and hundreds of MB each) stay out of `go test ./...`.
//
// Every figure is a difference from the heap just before the build, the
// generated fences (the caller's) already live and everything else
// collected:
//
//   - index-MiB: the heap the index holds once built, after a GC (its copies
//     of the fences included), as bytes/fence in BenchmarkBuildFenceIndex.
//   - peak-MiB: the most heap the build held at once, live and garbage
//     alike (Go's HeapAlloc: objects not yet swept count), at the default
//     GOGC. A goroutine samples runtime/metrics every 100 µs; with
//     GOMAXPROCS=1 it runs only when the build is preempted (every 10 ms or
//     so), and at the build's end, so a peak may be missed by what 10 ms
//     allocate. Big arrays, which make the peaks, stay until a GC and are
//     not missed.
//   - rss-peak-MiB: the kernel's view, which no sampling can miss: how much
//     the process's peak resident set (VmHWM, reset just before the build
//     through /proc/self/clear_refs) grew over the resident set before it.
//     It also counts heap pages the runtime has freed but not yet returned,
//     and pages that a large array could not reuse. Linux only.
//
// The target (issue 15) is peak-MiB under twice index-MiB at 100k fences.
func BenchmarkBuildFenceIndexMemory(b *testing.B) {
	for _, bb := range []struct {
		name    string
		n       int
		spreadM float64
	}{
		{"fences=10k/res=9", 10_000, 30_000},
		{"fences=100k/res=9", 100_000, 30_000},
		{"fences=100k/sparse/res=9", 100_000, 300_000},
	} {
		b.Run(bb.name, func(b *testing.B) {
			g := geotest.New(1)
			g.SpreadM = bb.spreadM
			fences := g.Fences(bb.n)
			var ix *geo.FenceIndex
			var index, peak, rss float64
			for b.Loop() {
				b.StopTimer()
				ix = nil
				debug.FreeOSMemory() // a GC, and the freed pages back to the OS
				base := heapObjects()
				rssBase, hwm := rssKB(), resetPeakRSS()
				stop := samplePeak()
				b.StartTimer()
				var err error
				if ix, err = geo.BuildFenceIndex(fences, geo.FenceResolution); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				p := stop()
				var after runtime.MemStats
				if hwm {
					rss = max(rss, float64(peakRSSKB()-rssBase)*1024)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				index = float64(after.HeapAlloc) - float64(base)
				peak = max(peak, float64(p)-float64(base))
				b.StartTimer()
			}
			const mib = 1 << 20
			b.ReportMetric(index/mib, "index-MiB")
			b.ReportMetric(peak/mib, "peak-MiB")
			b.ReportMetric(peak/index, "peak/index")
			if rss > 0 {
				b.ReportMetric(rss/mib, "rss-peak-MiB")
			}
			runtime.KeepAlive(ix)
			runtime.KeepAlive(fences)
		})
	}
}

// heapObjects returns the bytes of heap objects, live or not yet swept: the
// HeapAlloc of runtime.MemStats, without stopping the world.
func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// samplePeak samples heapObjects until the returned func is called, which
// returns the largest value seen.
func samplePeak() func() uint64 {
	done, out := make(chan struct{}), make(chan uint64)
	go func() {
		t := time.NewTicker(100 * time.Microsecond)
		defer t.Stop()
		peak := heapObjects()
		for {
			select {
			case <-done:
				out <- max(peak, heapObjects())
				return
			case <-t.C:
				peak = max(peak, heapObjects())
			}
		}
	}()
	return func() uint64 { close(done); return <-out }
}

// resetPeakRSS resets the process's peak resident set to its current one,
// and reports whether it could.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// rssKB and peakRSSKB return VmRSS and VmHWM from /proc/self/status, or 0.
func rssKB() int64     { return procStatusKB("VmRSS:") }
func peakRSSKB() int64 { return procStatusKB("VmHWM:") }

func procStatusKB(field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, field); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
