package fan

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// claimStore keeps gesture claims in memory, inserting by unique id; the
// rest of Store is not used by claimBudget.
type claimStore struct {
	Store
	mu     sync.Mutex
	claims map[string]GestureClaim
}

func (m *claimStore) CreateGestureClaim(_ context.Context, c GestureClaim) (GestureClaim, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if got, ok := m.claims[c.ID]; ok {
		return got, nil
	}
	m.claims[c.ID] = c
	return c, nil
}

func TestClaimBudget(t *testing.T) {
	now := time.Date(2026, 12, 2, 22, 0, 0, 0, time.UTC)
	s := &Service{store: &claimStore{claims: map[string]GestureClaim{}}, opts: Options{Now: func() time.Time { return now }}}
	ctx := context.Background()
	claim := func(manager, gesture string, amount int) error {
		return s.claimBudget(ctx, "points", manager, gesture, amount, 100)
	}
	steps := []struct {
		manager, gesture string
		amount           int
		ok               bool
	}{
		{"m1", "g1", 60, true},
		{"m1", "g2", 50, false}, // 40 left: refused, and its claim costs nothing
		{"m1", "g3", 40, true},  // fits exactly after the refusal
		{"m1", "g4", 1, false},
		{"m2", "g5", 100, true}, // another manager's budget
	}
	for _, st := range steps {
		err := claim(st.manager, st.gesture, st.amount)
		if (err == nil) != st.ok {
			t.Fatalf("claim %s %d by %s = %v, want ok %v", st.gesture, st.amount, st.manager, err, st.ok)
		}
		if err != nil {
			e, _ := err.(*hyperlieu.Error)
			if e == nil || e.Kind != hyperlieu.TooManyRequests || e.RetryAfter != 2*time.Hour {
				t.Errorf("refusal = %#v, want TooManyRequests retrying in 2h (midnight UTC)", err)
			}
		}
	}
	// The next day starts afresh.
	now = now.Add(3 * time.Hour)
	if err := claim("m1", "g6", 100); err != nil {
		t.Errorf("claim on the next day = %v, want granted", err)
	}
}

// Racing claims grant exactly what the budget holds.
func TestClaimBudgetRace(t *testing.T) {
	s := &Service{store: &claimStore{claims: map[string]GestureClaim{}}, opts: Options{Now: time.Now}}
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if s.claimBudget(context.Background(), "offers", "m1", hyperlieu.NewID(), 1, 7) == nil {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if granted != 7 {
		t.Errorf("granted %d of 20 racing claims, want the budget of 7", granted)
	}
}
