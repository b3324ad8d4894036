package fan

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// memVisits is a VisitStore in memory, keyed like the real one.
type memVisits struct {
	mu     sync.Mutex
	visits map[string]hyperlieu.Visit
	shops  map[string]ShopVisit
	asks   map[string]VisitAsk
	marks  map[string]bool
	stats  map[string]map[string]int64
}

func newMemVisits() *memVisits {
	return &memVisits{visits: map[string]hyperlieu.Visit{}, shops: map[string]ShopVisit{}, asks: map[string]VisitAsk{},
		marks: map[string]bool{}, stats: map[string]map[string]int64{}}
}

func (m *memVisits) lock() func() { m.mu.Lock(); return m.mu.Unlock }

func (m *memVisits) CreateVisit(_ context.Context, v hyperlieu.Visit) error {
	defer m.lock()()
	if _, ok := m.visits[v.Key]; ok {
		return hyperlieu.Errorf(hyperlieu.Conflict, "visit taken")
	}
	m.visits[v.Key] = v
	return nil
}

func (m *memVisits) FindShopVisit(_ context.Context, userID, shopID string) (ShopVisit, error) {
	defer m.lock()()
	sv, ok := m.shops[userID+"."+shopID]
	if !ok {
		return ShopVisit{}, hyperlieu.Errorf(hyperlieu.NotFound, "no visit")
	}
	return sv, nil
}

func (m *memVisits) UpdateShopVisit(_ context.Context, sv ShopVisit) error {
	defer m.lock()()
	m.shops[sv.UserID+"."+sv.ShopID] = sv
	return nil
}

func (m *memVisits) CreateVisitAsk(_ context.Context, a VisitAsk) error {
	defer m.lock()()
	if _, ok := m.asks[a.ID]; ok {
		return hyperlieu.Errorf(hyperlieu.Conflict, "ask taken")
	}
	m.asks[a.ID] = a
	return nil
}

func (m *memVisits) FindVisitAsk(_ context.Context, id string) (VisitAsk, error) {
	defer m.lock()()
	a, ok := m.asks[id]
	if !ok {
		return VisitAsk{}, hyperlieu.Errorf(hyperlieu.NotFound, "no ask")
	}
	return a, nil
}

func (m *memVisits) UpdateVisitAsk(_ context.Context, a VisitAsk) error {
	defer m.lock()()
	m.asks[a.ID] = a
	return nil
}

func (m *memVisits) CreateVisitMark(_ context.Context, key string, _ time.Time) error {
	defer m.lock()()
	if m.marks[key] {
		return hyperlieu.Errorf(hyperlieu.Conflict, "mark taken")
	}
	m.marks[key] = true
	return nil
}

func (m *memVisits) AddVisitStats(_ context.Context, shopID string, deltas map[string]int64) error {
	defer m.lock()()
	if m.stats[shopID] == nil {
		m.stats[shopID] = map[string]int64{}
	}
	for k, v := range deltas {
		m.stats[shopID][k] += v
	}
	return nil
}

func (m *memVisits) FindVisitStats(_ context.Context, shopID string) (map[string]int64, error) {
	defer m.lock()()
	return m.stats[shopID], nil
}

func (m *memVisits) FindVisitsBy(context.Context, string) ([]hyperlieu.Visit, []VisitAsk, error) {
	return nil, nil, nil
}

func (m *memVisits) DeleteVisitData(context.Context, string) error { return nil }

// people answers FindUser; the rest of the fans store is not used here.
type people struct {
	Store
	users map[string]hyperlieu.User
}

func (p people) FindUser(_ context.Context, id string) (hyperlieu.User, error) {
	u, ok := p.users[id]
	if !ok {
		return hyperlieu.User{}, hyperlieu.Errorf(hyperlieu.NotFound, "no user")
	}
	return u, nil
}

type oneShop struct{ hyperlieu.ShopDirectory }

func (oneShop) ShopName(context.Context, string) (string, error) { return "Le Comptoir", nil }

type capNotifier struct {
	left int
	sent []hyperlieu.NotificationRequest
}

func (n *capNotifier) Notify(_ context.Context, reqs ...hyperlieu.NotificationRequest) error {
	n.sent = append(n.sent, reqs...)
	return nil
}

func (n *capNotifier) ReserveContact(context.Context, hyperlieu.User, time.Time) (bool, error) {
	if n.left == 0 {
		return false, nil
	}
	n.left--
	return true, nil
}

func newTestVisits(now time.Time, users map[string]hyperlieu.User, n *capNotifier) (*Visits, *memVisits) {
	fans := NewService(people{users: users}, oneShop{}, n, nil, Options{Now: func() time.Time { return now }},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	st := newMemVisits()
	return NewVisits(fans, st, VisitOptions{AskEvery: 30 * 24 * time.Hour, AskDelay: time.Hour}), st
}

func TestRecordVisitAsksOncePerPeriod(t *testing.T) {
	now := time.Date(2026, 6, 10, 10, 0, 0, 0, time.UTC)
	fan := hyperlieu.User{ID: "u1", Prefs: hyperlieu.DefaultPreferences("fr", "Europe/Paris")}
	quiet := hyperlieu.User{ID: "u2", Prefs: hyperlieu.DefaultPreferences("en", "Europe/Paris")}
	quiet.Prefs.Categories = []string{hyperlieu.CategoryOffers}
	n := &capNotifier{left: 10}
	v, st := newTestVisits(now, map[string]hyperlieu.User{"u1": fan, "u2": quiet}, n)
	ctx := context.Background()
	visit := func(user, key, src string, at time.Time) {
		t.Helper()
		if err := v.RecordVisit(ctx, hyperlieu.Visit{UserID: user, ShopID: "s1", Source: src, At: at, Key: key}); err != nil {
			t.Fatalf("RecordVisit(%s): %v", key, err)
		}
	}
	visit("u1", "a", hyperlieu.VisitDetected, now.Add(-time.Hour))
	visit("u1", "a", hyperlieu.VisitDetected, now.Add(-time.Hour)) // a retry
	visit("u1", "b", hyperlieu.VisitCheckIn, now)                  // same period
	visit("u2", "c", hyperlieu.VisitDetected, now)                 // refuses loyalty messages
	if len(n.sent) != 1 {
		t.Fatalf("asks sent = %+v, want one", n.sent)
	}
	r := n.sent[0]
	if r.Kind != hyperlieu.KindVisitAsk || r.Category != hyperlieu.CategoryLoyalty || r.Vars["shop"] != "Le Comptoir" || r.Data["visitAskId"] == "" || r.DedupKey == "" || !r.NotBefore.IsZero() {
		t.Errorf("ask = %+v, want a loyalty visit ask naming the shop, keyed, sent now", r)
	}
	if got := st.stats["s1"]; got[statVisits] != 3 || got[statAsked] != 1 {
		t.Errorf("stats = %v, want 3 visits, 1 asked", got)
	}
	// A check-in in the next period is asked about, after the delay.
	later := now.Add(31 * 24 * time.Hour)
	visit("u1", "d", hyperlieu.VisitCheckIn, later)
	if len(n.sent) != 2 || !n.sent[1].NotBefore.Equal(later.Add(time.Hour)) {
		t.Errorf("second ask = %+v, want one held an hour after the check-in", n.sent[1:])
	}
	// The daily cap reached: no ask, and the next visit may ask.
	n.left = 0
	visit("u1", "e", hyperlieu.VisitDetected, later.Add(62*24*time.Hour))
	if len(n.sent) != 2 {
		t.Errorf("asked past the daily cap: %+v", n.sent[2:])
	}
	if err := v.RecordVisit(ctx, hyperlieu.Visit{UserID: "u1", ShopID: "s1", At: now}); hyperlieu.KindOf(err) != hyperlieu.Invalid {
		t.Errorf("RecordVisit without a key = %v, want Invalid", err)
	}
}

func TestComebackAfterGestureCountsOnce(t *testing.T) {
	now := time.Date(2026, 6, 10, 10, 0, 0, 0, time.UTC)
	u := hyperlieu.User{ID: "u1", Prefs: hyperlieu.DefaultPreferences("en", "Europe/Paris")}
	v, st := newTestVisits(now, map[string]hyperlieu.User{"u1": u}, &capNotifier{left: 10})
	ctx := context.Background()
	if err := v.RecordVisit(ctx, hyperlieu.Visit{UserID: "u1", ShopID: "s1", Source: hyperlieu.VisitDetected, At: now, Key: "a"}); err != nil {
		t.Fatal(err)
	}
	var ask VisitAsk
	for _, a := range st.asks {
		ask = a
	}
	ask.Rating, ask.AnsweredAt = 1, now
	st.asks[ask.ID] = ask
	g := Gesture{ID: "g1", At: now.Add(time.Hour)}
	v.gestured(ctx, ShopFeedback{ID: ask.ID, Rating: 1}, g)
	v.gestured(ctx, ShopFeedback{ID: ask.ID, Rating: 1}, g) // a second gesture counts nothing
	for i, key := range []string{"b", "c"} {                // two returns within the window
		at := now.Add(time.Duration(i+2) * 24 * time.Hour)
		if err := v.RecordVisit(ctx, hyperlieu.Visit{UserID: "u1", ShopID: "s1", Source: hyperlieu.VisitRedemption, At: at, Key: key}); err != nil {
			t.Fatal(err)
		}
	}
	if got := st.stats["s1"]; got[statLowGestured] != 1 || got[statCameBack] != 1 || got[statVisits] != 3 {
		t.Errorf("stats = %v, want 1 gestured, 1 came back, 3 visits", got)
	}
}
