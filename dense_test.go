package hyperlieu

import (
	"errors"
	"testing"
)

// TestLastTaken: the end of a dense sequence is found from any taken
// starting point, in few probes, and a failing probe is the answer's error.
func TestLastTaken(t *testing.T) {
	for _, last := range []int{0, 1, 2, 7, 64, 1000} {
		for _, from := range []int{0, last / 2, last} {
			probes := 0
			got, err := LastTaken(from, func(n int) (bool, error) { probes++; return n <= last, nil })
			if err != nil || got != last {
				t.Errorf("LastTaken(%d) over 1..%d = %d, %v", from, last, got, err)
			}
			if from == last && probes != 1 {
				t.Errorf("from the last (%d): %d probes, want 1", last, probes)
			}
			if probes > 24 {
				t.Errorf("from %d to %d: %d probes", from, last, probes)
			}
		}
	}
	boom := errors.New("boom")
	if _, err := LastTaken(0, func(int) (bool, error) { return false, boom }); !errors.Is(err, boom) {
		t.Errorf("a failing probe gave %v", err)
	}
}
