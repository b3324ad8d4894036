package hyperlieu

import (
	"sort"
	"testing"
	"time"
)

func TestTimeIDsOrdered(t *testing.T) {
	clock := time.Unix(1764630000, 0)
	g := NewTimeIDs(func() time.Time { return clock })
	var ids []string
	for i := range 5 {
		if i == 3 {
			clock = clock.Add(-time.Second) // the clock steps back
		}
		ids = append(ids, g.Next())
	}
	if !sort.StringsAreSorted(ids) {
		t.Errorf("ids %v are not in the order made", ids)
	}
	if before := TimeIDBefore(time.Unix(1764630000, 0)); before >= ids[0] {
		t.Errorf("TimeIDBefore(t) = %q, want below %q, the first id made at t", before, ids[0])
	}
	if after := TimeIDBefore(time.Unix(1764630001, 0)); after <= ids[len(ids)-1] {
		t.Errorf("TimeIDBefore(t+1s) = %q, want above %q", after, ids[len(ids)-1])
	}
}
