//go:build !unix

package geo_test

import "time"

// cpuTime returns 0 where the process's CPU time is not at hand; the
// benchmarks then report no cpu-ns/op.
func cpuTime() time.Duration { return 0 }
