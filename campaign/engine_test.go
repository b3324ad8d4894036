package campaign_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/campaign"
	"github.com/hyperlieu/hyperlieu/geo"
)

var (
	zoneCenter = geo.Point{Lat: 48.8530, Lng: 2.3490}
	outside    = geo.Point{Lat: 48.8530, Lng: 2.3626}
	t0         = time.Date(2026, 6, 10, 10, 0, 0, 0, time.UTC) // a Wednesday, noon in Paris
)

type engine struct {
	store     *memStore
	clock     *clock
	campaigns *campaign.Service
	location  *campaign.LocationService
	offers    *campaign.OfferService
}

// newEngine builds the three services over st, as one instance would. A
// nil n or shops is a fresh fake: a notifier holding the daily cap, a
// directory of no shop.
func newEngine(t *testing.T, st *memStore, clk *clock, n hyperlieu.Notifier, shops hyperlieu.ShopDirectory) *engine {
	t.Helper()
	if n == nil {
		n = &fakeNotifier{}
	}
	if shops == nil {
		shops = fakeShops{}
	}
	cs := campaign.NewService(st, shops, campaign.Options{Now: clk.Now}, discard)
	os := campaign.NewOfferService(st, cs, shops, &fakeActivity{}, campaign.OfferOptions{Now: clk.Now}, discard)
	ls := campaign.NewLocationService(st, cs, os, n, fakeSegments(hyperlieu.SegmentDevoted), campaign.LocationOptions{Now: clk.Now, NewcomerPeriod: 7 * 24 * time.Hour}, discard)
	return &engine{store: st, clock: clk, campaigns: cs, location: ls, offers: os}
}

func (e *engine) launch(t *testing.T, in campaign.Input) campaign.Campaign {
	t.Helper()
	ctx := context.Background()
	admin := hyperlieu.Actor{UserID: "admin", Roles: []hyperlieu.Role{hyperlieu.RoleAdmin}}
	name := "campaign"
	if in.Name == nil {
		in.Name = &name
	}
	if in.Geofence == nil {
		in.Geofence = &campaign.Geofence{Type: "circles", Circles: []geo.Circle{{Center: zoneCenter, RadiusM: 100}}}
	}
	if in.Offer == nil {
		in.Offer = &campaign.OfferTemplate{Texts: []campaign.OfferText{{Locale: "en", Formality: hyperlieu.Formal, Title: "A coffee"}}, Validity: time.Hour}
	}
	c, err := e.campaigns.CreateCampaign(ctx, admin, in)
	if err != nil {
		t.Fatalf("CreateCampaign: %v", err)
	}
	if c, err = e.campaigns.Transition(ctx, admin, c.ID, "activate"); err != nil {
		t.Fatalf("activate: %v", err)
	}
	return c
}

func (e *engine) customer(id string, maxPerDay int) hyperlieu.User {
	u := hyperlieu.User{ID: id, CreatedAt: t0.Add(-30 * 24 * time.Hour), Prefs: hyperlieu.DefaultPreferences("en", "Europe/Paris")}
	u.Prefs.LocationConsent, u.Prefs.QuietHours, u.Prefs.MaxNotificationsPerDay = true, nil, maxPerDay
	e.store.mu.Lock()
	e.store.users[id] = u
	e.store.mu.Unlock()
	return u
}

func (e *engine) walk(t *testing.T, userID string, p geo.Point, at time.Time) []campaign.Offer {
	t.Helper()
	res, err := e.location.Report(context.Background(), userID, []campaign.LocationReport{{Point: p, AccuracyM: 10, RecordedAt: at}}, false)
	if err != nil {
		t.Fatalf("Report(%v at %v): %v", p, at, err)
	}
	return res.Triggered
}

func TestDailyCapAcrossCampaigns(t *testing.T) {
	clk := &clock{t: t0}
	n := &fakeNotifier{contacts: map[string]int{}}
	e := newEngine(t, newMemStore(), clk, n, nil)
	var ids []string
	for range 3 {
		ids = append(ids, e.launch(t, campaign.Input{}).ID)
	}
	e.customer("u1", 2)
	e.walk(t, "u1", outside, t0.Add(-time.Minute))
	got := e.walk(t, "u1", zoneCenter, t0)
	if len(got) != 2 {
		t.Fatalf("offers = %d, want 2 (the customer's daily cap)", len(got))
	}
	capped := 0
	for _, id := range ids {
		st, _ := e.campaigns.Stats(context.Background(), id)
		capped += int(st.Suppressed[campaign.ReasonDailyCap])
	}
	if capped != 1 {
		t.Errorf("suppressed by daily cap = %d, want 1", capped)
	}
	if len(n.sent) != 2 {
		t.Fatalf("notifications = %d, want 2", len(n.sent))
	}
	r := n.sent[0]
	if r.Kind != hyperlieu.KindOffer || r.Category != hyperlieu.CategoryOffers || r.Capped || !strings.HasPrefix(r.CollapseKey, "campaign:") ||
		!strings.HasPrefix(r.DedupKey, "trigger:") || r.Data["offerId"] == "" || r.Data["campaignId"] == "" || r.ExpiresAt.IsZero() {
		t.Errorf("notification = %+v, want an uncapped offer with collapse and dedup keys, ids and expiry", r)
	}
}

// TestTriggerOnceAcrossInstances races the same report on two instances
// (two engines over one store) many times over: one offer, never two.
func TestTriggerOnceAcrossInstances(t *testing.T) {
	st, clk := newMemStore(), &clock{t: t0}
	a, b := newEngine(t, st, clk, nil, nil), newEngine(t, st, clk, nil, nil)
	c := a.launch(t, campaign.Input{Caps: &campaign.Caps{PerCustomer: 1}})
	if err := b.campaigns.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.customer("u1", 10)
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for i := range 8 {
		e := []*engine{a, b}[i%2]
		wg.Go(func() {
			res, err := e.location.Report(context.Background(), "u1", []campaign.LocationReport{{Point: zoneCenter, RecordedAt: t0}}, false)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			total += len(res.Triggered)
			mu.Unlock()
		})
	}
	wg.Wait()
	if total != 1 {
		t.Errorf("offers issued = %d, want exactly 1", total)
	}
	if n := st.count("trigger:"); n != 1 {
		t.Errorf("trigger claims = %d, want 1", n)
	}
	_ = c
}

// TestOneStayFiresOnce races the same report on two instances for a
// campaign that allows many offers and has no cooldown: the stay, not the
// next free slot, decides, so one offer is issued.
func TestOneStayFiresOnce(t *testing.T) {
	st, clk := newMemStore(), &clock{t: t0}
	a, b := newEngine(t, st, clk, nil, nil), newEngine(t, st, clk, nil, nil)
	a.launch(t, campaign.Input{Caps: &campaign.Caps{PerCustomer: 5}})
	if err := b.campaigns.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.customer("u1", 10)
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for i := range 8 {
		e := []*engine{a, b}[i%2]
		wg.Go(func() {
			res, err := e.location.Report(context.Background(), "u1", []campaign.LocationReport{{Point: zoneCenter, RecordedAt: t0}}, false)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			total += len(res.Triggered)
			mu.Unlock()
		})
	}
	wg.Wait()
	if total != 1 {
		t.Errorf("offers issued for one stay = %d, want exactly 1", total)
	}
	if n := st.count("trigger:"); n != 1 {
		t.Errorf("trigger slots taken = %d, want 1", n)
	}
}

func TestCooldownIsExact(t *testing.T) {
	clk := &clock{t: t0}
	e := newEngine(t, newMemStore(), clk, nil, nil)
	e.launch(t, campaign.Input{Caps: &campaign.Caps{Cooldown: 10 * time.Minute}})
	e.customer("u1", 50)
	tests := []struct {
		min  int // minutes after t0 of entering
		want int
	}{
		{0, 1}, {4, 0}, {9, 0}, {10, 1}, {12, 0}, {25, 1},
	}
	for _, tt := range tests {
		at := t0.Add(time.Duration(tt.min) * time.Minute)
		clk.Set(at)
		e.walk(t, "u1", outside, at.Add(-30*time.Second))
		if got := len(e.walk(t, "u1", zoneCenter, at)); got != tt.want {
			t.Errorf("entering at +%dm: %d offers, want %d", tt.min, got, tt.want)
		}
	}
}

func TestRedeem(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: t0}
	shops := fakeShops{shop: "s1", at: zoneCenter, managers: map[string]bool{"m1": true, "m2": true}}
	e := newEngine(t, newMemStore(), clk, nil, shops)
	c := e.launch(t, campaign.Input{Offer: &campaign.OfferTemplate{
		Texts: []campaign.OfferText{{Locale: "en", Formality: hyperlieu.Formal, Title: "Two only"}}, Validity: time.Hour, Budget: 2,
	}, Caps: &campaign.Caps{}})
	var codes []string
	for i, u := range []string{"a", "b", "c", "d"} {
		e.customer(u, 10)
		e.walk(t, u, outside, t0.Add(-time.Minute))
		o := e.walk(t, u, zoneCenter, t0)
		if len(o) != 1 {
			t.Fatalf("customer %d: %d offers, want 1", i, len(o))
		}
		codes = append(codes, o[0].Code)
	}
	m1 := hyperlieu.Actor{UserID: "m1", Roles: []hyperlieu.Role{hyperlieu.RoleManager}}
	stranger := hyperlieu.Actor{UserID: "m3", Roles: []hyperlieu.Role{hyperlieu.RoleManager}}

	if _, err := e.offers.Redeem(ctx, stranger, "s1", codes[0]); hyperlieu.KindOf(err) != hyperlieu.Forbidden {
		t.Errorf("Redeem by a manager of another shop: %v, want Forbidden", err)
	}
	if _, err := e.offers.Redeem(ctx, m1, "s2", codes[0]); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("Redeem at an unknown shop: %v, want NotFound", err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 10 {
		wg.Go(func() {
			if _, err := e.offers.Redeem(ctx, m1, "s1", codes[0]); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if hyperlieu.KindOf(err) != hyperlieu.Conflict {
				t.Errorf("racing Redeem: %v, want Conflict", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("racing redemptions won = %d, want 1", wins)
	}
	if _, err := e.offers.Redeem(ctx, m1, "s1", codes[1]); err != nil {
		t.Errorf("second redemption: %v", err)
	}
	if _, err := e.offers.Redeem(ctx, m1, "s1", codes[2]); hyperlieu.KindOf(err) != hyperlieu.Conflict || !strings.Contains(err.Error(), "budget") {
		t.Errorf("third redemption with a budget of 2: %v, want Conflict naming the budget", err)
	}
	if o, _ := e.store.FindOfferByCode(ctx, codes[2]); !o.RedeemedAt.IsZero() {
		t.Errorf("over-budget offer is marked redeemed; the claim must be released")
	}
	clk.Set(t0.Add(2 * time.Hour))
	if _, err := e.offers.Redeem(ctx, m1, "s1", codes[3]); hyperlieu.KindOf(err) != hyperlieu.Conflict || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired offer: %v, want Conflict saying it expired", err)
	}
	st, _ := e.campaigns.Stats(ctx, c.ID)
	if st.Redeemed != 2 {
		t.Errorf("redeemed = %d, want 2", st.Redeemed)
	}
}

func TestOfferCodes(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c := campaign.NewOfferCode()
		if len(c) != campaign.OfferCodeLength || seen[c] {
			t.Fatalf("NewOfferCode() = %q: want %d characters, never twice", c, campaign.OfferCodeLength)
		}
		seen[c] = true
		if got, ok := campaign.NormalizeOfferCode(c); !ok || got != c {
			t.Fatalf("NormalizeOfferCode(%q) = %q, %v; want itself", c, got, ok)
		}
		// Every single mistyped symbol is caught.
		const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
		for i := range c {
			for _, r := range alphabet {
				if byte(r) == c[i] {
					continue
				}
				typo := c[:i] + string(r) + c[i+1:]
				if _, ok := campaign.NormalizeOfferCode(typo); ok {
					t.Fatalf("NormalizeOfferCode(%q) accepted a typo of %q", typo, c)
				}
			}
		}
	}
	tests := []struct {
		in   string
		want bool
	}{
		{"", false}, {"ABC", false}, {"ÀBCDEFGHJKM", false}, {"ABCDEFGHJKMN", false},
	}
	for _, tt := range tests {
		if _, ok := campaign.NormalizeOfferCode(tt.in); ok != tt.want {
			t.Errorf("NormalizeOfferCode(%q) ok = %v, want %v", tt.in, ok, tt.want)
		}
	}
	c := campaign.NewOfferCode()
	spaced := strings.ToLower(c[:5] + "-" + c[5:])
	if got, ok := campaign.NormalizeOfferCode(spaced); !ok || got != c {
		t.Errorf("NormalizeOfferCode(%q) = %q, %v; want %q", spaced, got, ok, c)
	}
}

func TestScheduleAllows(t *testing.T) {
	wed := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC) // 14:00 in Paris
	tests := []struct {
		name string
		s    campaign.Schedule
		at   time.Time
		want bool
	}{
		{"open", campaign.Schedule{Timezone: "Europe/Paris"}, wed, true},
		{"before start", campaign.Schedule{Timezone: "Europe/Paris", StartsAt: wed.Add(time.Hour)}, wed, false},
		{"at end", campaign.Schedule{Timezone: "Europe/Paris", EndsAt: wed}, wed, false},
		{"weekday", campaign.Schedule{Timezone: "Europe/Paris", Days: []time.Weekday{time.Wednesday}}, wed, true},
		{"weekend only", campaign.Schedule{Timezone: "Europe/Paris", Days: []time.Weekday{time.Saturday, time.Sunday}}, wed, false},
		{"afternoon in Paris", campaign.Schedule{Timezone: "Europe/Paris", Hours: &hyperlieu.ClockWindow{From: "14:00", To: "18:00"}}, wed, true},
		{"morning in Paris", campaign.Schedule{Timezone: "Europe/Paris", Hours: &hyperlieu.ClockWindow{From: "08:00", To: "14:00"}}, wed, false},
		{"overnight window", campaign.Schedule{Timezone: "Europe/Paris", Hours: &hyperlieu.ClockWindow{From: "22:00", To: "15:00"}}, wed, true},
		{"Tokyo's night", campaign.Schedule{Timezone: "Asia/Tokyo", Hours: &hyperlieu.ClockWindow{From: "08:00", To: "20:00"}}, wed, false},
	}
	for _, tt := range tests {
		if got := tt.s.Allows(tt.at); got != tt.want {
			t.Errorf("%s: Allows(%v) = %v, want %v", tt.name, tt.at, got, tt.want)
		}
	}
}

// TestRoundTripsPerReport checks the cost of the common report, one that
// triggers nothing: one read and one write of the customer's state.
func TestRoundTripsPerReport(t *testing.T) {
	clk := &clock{t: t0}
	e := newEngine(t, newMemStore(), clk, nil, nil)
	e.launch(t, campaign.Input{})
	e.customer("u1", 10)
	e.walk(t, "u1", outside, t0) // first report: the user is read and cached
	tests := []struct {
		name string
		p    geo.Point
		want int
	}{
		{"outside every fence", geo.Point{Lat: outside.Lat + 0.0005, Lng: outside.Lng}, 2},
		{"entering (triggers)", zoneCenter, -1},
		{"still inside", geo.Point{Lat: zoneCenter.Lat + 0.0001, Lng: zoneCenter.Lng}, 2},
	}
	for i, tt := range tests {
		e.store.mu.Lock()
		before := e.store.ops
		e.store.mu.Unlock()
		at := t0.Add(time.Duration(i+1) * time.Minute)
		clk.Set(at)
		e.walk(t, "u1", tt.p, at)
		e.store.mu.Lock()
		got := e.store.ops - before
		e.store.mu.Unlock()
		if tt.want >= 0 && got != tt.want {
			t.Errorf("%s: %d store calls, want %d", tt.name, got, tt.want)
		}
		t.Logf("%s: %d store calls", tt.name, got)
	}
}

func TestOffersNear(t *testing.T) {
	clk := &clock{t: t0}
	e := newEngine(t, newMemStore(), clk, nil, nil)
	c := e.launch(t, campaign.Input{}) // a 100 m circle around zoneCenter
	e.customer("u1", 10)
	tests := []struct {
		name    string
		northM  float64
		radiusM float64
		wantM   float64 // -1: not listed
	}{
		{"inside", 50, 500, 0},
		{"300 m north", 400, 500, 300},
		{"out of reach", 1200, 500, -1},
	}
	for _, tt := range tests {
		p := geo.Point{Lat: zoneCenter.Lat + tt.northM/111_195, Lng: zoneCenter.Lng}
		got, err := e.location.OffersNear(context.Background(), "u1", p, tt.radiusM)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case tt.wantM < 0 && len(got) != 0:
			t.Errorf("%s: OffersNear = %+v, want none", tt.name, got)
		case tt.wantM >= 0 && (len(got) != 1 || got[0].CampaignID != c.ID || math.Abs(got[0].DistanceM-tt.wantM) > 2):
			t.Errorf("%s: OffersNear = %+v, want campaign %s at %v m", tt.name, got, c.ID, tt.wantM)
		}
	}
}

// TestLoopsStopWithTheirContext: Run of the campaigns (index refresh) and
// of the location engine (retention sweep) return once ctx is done, and the
// sweep erases exactly the positions past retention.
func TestLoopsStopWithTheirContext(t *testing.T) {
	st, clk := newMemStore(), &clock{t: t0}
	e := newEngine(t, st, clk, nil, nil)
	st.states["old"] = campaign.LocationState{UserID: "old", At: t0.Add(-31 * 24 * time.Hour)}
	st.states["new"] = campaign.LocationState{UserID: "new", At: t0.Add(-29 * 24 * time.Hour)}
	ls := campaign.NewLocationService(st, e.campaigns, e.offers, &fakeNotifier{}, fakeSegments(hyperlieu.SegmentDevoted),
		campaign.LocationOptions{Now: clk.Now, Retention: 30 * 24 * time.Hour, SweepEvery: time.Millisecond}, discard)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { e.campaigns.Run(ctx); done <- struct{}{} }()
	go func() { ls.Run(ctx); done <- struct{}{} }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		st.mu.Lock()
		_, old := st.states["old"]
		st.mu.Unlock()
		if !old {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sweep did not erase a position past retention")
		}
	}
	cancel()
	for range 2 {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("a Run did not return after its context was done")
		}
	}
	if _, ok := st.states["new"]; !ok {
		t.Error("the sweep erased a position within retention")
	}
}

// TestReportOnceKeepsOnlyWhatARetryCannotRedo: a retried report that
// issued an offer gets the first answer back; one that triggered nothing is
// simply processed again (nothing stored, the same answer); a retry racing
// its first request gets that request's answer, and one offer is issued.
func TestReportOnceKeepsOnlyWhatARetryCannotRedo(t *testing.T) {
	st, clk := newMemStore(), &clock{t: t0}
	e := newEngine(t, st, clk, nil, nil)
	e.launch(t, campaign.Input{Caps: &campaign.Caps{PerCustomer: 5}})
	e.customer("u1", 10)
	ctx := context.Background()
	calls := 0
	render := func(res campaign.ReportResult) ([]byte, error) {
		calls++
		return []byte(fmt.Sprintf("%d offers, answer %d", len(res.Triggered), calls)), nil
	}
	once := func(p geo.Point, at time.Time) string {
		reports := []campaign.LocationReport{{Point: p, RecordedAt: at}}
		key, err := campaign.ReportKey("", reports)
		if err != nil {
			t.Fatal(err)
		}
		b, err := e.location.ReportOnce(ctx, "u1", key, reports, false, render)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := once(outside, t0.Add(-2*time.Minute)); got != "0 offers, answer 1" {
		t.Fatalf("outside: %q", got)
	}
	if n := len(st.answers); n != 0 {
		t.Errorf("answers stored for a report that triggered nothing = %d, want 0", n)
	}
	if got := once(outside, t0.Add(-2*time.Minute)); got != "0 offers, answer 2" {
		t.Errorf("retry of a report that triggered nothing: %q, want it processed again", got)
	}
	first := once(zoneCenter, t0.Add(-time.Minute))
	if first != "1 offers, answer 3" {
		t.Fatalf("entering: %q", first)
	}
	if got := once(zoneCenter, t0.Add(-time.Minute)); got != first {
		t.Errorf("retry of a report that issued an offer: %q, want the first answer %q", got, first)
	}

	// A retry racing its first request, on another instance: one offer, and
	// both get the answer that lists it.
	other := newEngine(t, st, clk, nil, nil)
	if err := other.campaigns.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	once(outside, t0.Add(-30*time.Second))
	reports := []campaign.LocationReport{{Point: zoneCenter, RecordedAt: t0}}
	key, _ := campaign.ReportKey("", reports)
	answers := make([]string, 2)
	var wg sync.WaitGroup
	for i, l := range []*campaign.LocationService{e.location, other.location} {
		wg.Go(func() {
			b, err := l.ReportOnce(ctx, "u1", key, reports, false, func(res campaign.ReportResult) ([]byte, error) {
				return []byte(fmt.Sprintf("%d offers", len(res.Triggered))), nil
			})
			if err != nil {
				t.Error(err)
			}
			answers[i] = string(b)
		})
	}
	wg.Wait()
	if answers[0] != "1 offers" || answers[1] != "1 offers" {
		t.Errorf("racing retries answered %q, want both the answer with the one offer", answers)
	}
	if n := st.count("trigger:"); n != 2 {
		t.Errorf("trigger slots taken = %d, want 2 (one per stay)", n)
	}
}

// TestStateListsEveryAnswerKept: answers the state stops listing (past
// their lifetime, or beyond the most recent sixteen) are deleted, so that
// erasure, which finds answers through the state, finds every one.
func TestStateListsEveryAnswerKept(t *testing.T) {
	st, clk := newMemStore(), &clock{t: t0}
	e := newEngine(t, st, clk, nil, nil)
	e.customer("u1", 10)
	ctx := context.Background()
	render := func(campaign.ReportResult) ([]byte, error) { return []byte("{}"), nil }
	for i := range 20 {
		reports := []campaign.LocationReport{{Point: outside, RecordedAt: t0.Add(time.Duration(i-20) * time.Second)}}
		if _, err := e.location.ReportOnce(ctx, "u1", fmt.Sprintf("h:key-%d", i), reports, false, render); err != nil {
			t.Fatal(err)
		}
	}
	state, err := st.FindLocationState(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.answers) != len(state.Answers) || len(st.answers) != 16 {
		t.Errorf("%d answers stored, %d listed; want the 16 listed only", len(st.answers), len(state.Answers))
	}
	for id := range st.answers {
		if _, ok := state.Answers[id]; !ok {
			t.Errorf("answer %s stored but not listed", id)
		}
	}
}
