package campaign

import (
	"fmt"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// TestUserCacheIsBounded: however many customers report, the cache holds
// at most its bound, and expired entries make room before live ones go.
func TestUserCacheIsBounded(t *testing.T) {
	now := time.Date(2026, 6, 10, 10, 0, 0, 0, time.UTC)
	c := newUserCache(10)
	for i := range 5 {
		c.put(fmt.Sprint("old", i), hyperlieu.User{ID: fmt.Sprint("old", i)}, now, now.Add(time.Second))
	}
	later := now.Add(time.Minute) // the first five have expired
	for i := range 5 {
		c.put(fmt.Sprint("live", i), hyperlieu.User{ID: fmt.Sprint("live", i)}, later, later.Add(time.Hour))
	}
	c.put("one more", hyperlieu.User{ID: "one more"}, later, later.Add(time.Hour))
	if n := c.len(); n != 6 {
		t.Errorf("after expiry made room: %d entries, want 6 (5 live + 1)", n)
	}
	if _, ok := c.get("live0", later); !ok {
		t.Errorf("a live entry was dropped while expired ones could make room")
	}
	for i := range 100 {
		c.put(fmt.Sprint("u", i), hyperlieu.User{ID: fmt.Sprint("u", i)}, later, later.Add(time.Hour))
		if n := c.len(); n > 10 {
			t.Fatalf("after %d more users: %d entries, want at most 10", i+1, n)
		}
	}
}

// TestBudgetHintsAreBounded: hints for ever more campaigns stay under the
// bound, and a hint only rises.
func TestBudgetHintsAreBounded(t *testing.T) {
	h := newBudgetHints(10)
	if got := h.get("c"); got != 1 {
		t.Errorf("get of an unknown campaign = %d, want 1", got)
	}
	h.raise("c", 5)
	h.raise("c", 3)
	if got := h.get("c"); got != 5 {
		t.Errorf("get after raise(5), raise(3) = %d, want 5", got)
	}
	for i := range 100 {
		h.raise(fmt.Sprint("c", i), 2)
		if n := h.len(); n > 10 {
			t.Fatalf("after %d campaigns: %d hints, want at most 10", i+1, n)
		}
	}
}
