package hyperlieu

import (
	"fmt"
	"sync"
	"time"
)

// TimeIDs makes ids that sort by time (domain events, audit entries): 13 decimal digits of Unix milliseconds, a 6-digit
// counter, then the instance's tag, e.g. "1764630000000-000042-k3x9q2".
// Compared as strings they sort by time, and within one instance strictly
// in the order made, even when the clock steps back or many events share a
// millisecond; the tag keeps instances' ids apart. Ids of different
// instances are ordered only as far as their clocks agree.
type TimeIDs struct {
	mu   sync.Mutex
	tag  string
	last int64 // ms of the last id
	n    int   // counter within last
	now  func() time.Time
}

// NewTimeIDs makes ids for one instance; now may be nil (time.Now).
func NewTimeIDs(now func() time.Time) *TimeIDs {
	if now == nil {
		now = time.Now
	}
	return &TimeIDs{tag: NewID()[:6], now: now}
}

// Next returns a new id, greater than every id this value made before.
func (g *TimeIDs) Next() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	ms := g.now().UnixMilli()
	switch {
	case ms > g.last:
		g.last, g.n = ms, 0
	case g.n < 999999:
		g.n++
	default: // a million ids in one millisecond: borrow the next one
		g.last, g.n = g.last+1, 0
	}
	return fmt.Sprintf("%013d-%06d-%s", g.last, g.n, g.tag)
}

// TimeIDBefore returns a string that sorts after every id made before t and
// before every id made at or after it: the event stream serves ids below
// TimeIDBefore(now - lag), so that an event another instance is still writing,
// with a slightly earlier time, is not skipped by a reader that moved on.
func TimeIDBefore(t time.Time) string {
	return fmt.Sprintf("%013d", t.UnixMilli())
}

// TimeIDPage checks a request for a page of records keyed by TimeIDs:
// limit in 1..max (0 means max), after a cursor (an id, or ""). It returns
// the limit to use; Invalid, naming the field, otherwise.
func TimeIDPage(after string, limit, max int) (int, error) {
	if limit == 0 {
		limit = max
	}
	var p Problems
	if limit < 1 || limit > max {
		p.Add("limit", "must be between 1 and %d", max)
	}
	if len(after) > 64 {
		p.Add("after", "is not a cursor")
	}
	return limit, p.Err()
}
