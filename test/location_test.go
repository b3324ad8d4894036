package test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLocationPath walks a customer along a scripted path (recordedAt sets
// the time of each report, so no sleeping) through one zone shared by
// campaigns that each exercise one rule.
func TestLocationPath(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil) // newcomer period: the default 7 days
	defer func() {
		if t.Failed() {
			t.Log(tail(s.Logs(), 20))
		}
	}()
	m := s.withRoles(t, "Mona", "marketer")
	capped := s.launch(t, m.Token, campaign("Once", nil))
	cooldown := s.launch(t, m.Token, campaign("Cooldown", map[string]any{"caps": map[string]any{"perCustomer": 0, "cooldownSeconds": 3600}}))
	dwell := s.launch(t, m.Token, campaign("Dwell", map[string]any{
		"trigger": map[string]any{"kind": "dwell", "dwellSeconds": 120}, "caps": map[string]any{"perCustomer": 0},
	}))
	newcomers := s.launch(t, m.Token, campaign("Not for newcomers", map[string]any{"audience": map[string]any{"newcomers": false}}))
	later := s.launch(t, m.Token, campaign("Tomorrow", map[string]any{
		"schedule": map[string]any{"startsAt": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)},
	}))
	segment := s.launch(t, m.Token, campaign("Devoted only", map[string]any{"audience": map[string]any{"segments": []string{"devoted"}, "newcomers": true}}))

	u := s.consenting(t, "Walker")
	base := time.Now().Add(-30 * time.Minute)
	at := func(min float64) time.Time { return base.Add(time.Duration(min * float64(time.Minute))) }
	type step struct {
		name     string
		p        [2]float64
		min      float64 // minutes after base
		accuracy float64
		want     []string // campaigns triggered
		ignored  string   // reason the report is ignored, if it is
	}
	far := [2]float64{48.60, 2.35} // 28 km south
	path := []step{
		{"outside", out, 0, 10, nil, ""},
		{"enter, but imprecise", in, 1, 500, nil, "inaccurate"},
		{"enter", in, 2, 10, []string{capped, cooldown}, ""},
		{"teleport", far, 2.5, 10, nil, "implausible"},
		{"still inside", in, 3, 10, nil, ""},
		{"dwelled two minutes", in, 4.5, 10, []string{dwell}, ""},
		{"dwelled more", in, 6, 10, nil, ""},
		{"leave", out, 8, 10, nil, ""},
		{"enter again", in, 10, 10, nil, ""}, // capped: once; cooldown: one hour
		{"dwell again", in, 12.5, 10, []string{dwell}, ""},
	}
	for _, st := range path {
		a := s.report(t, u, st.p, at(st.min), st.accuracy)
		var got []string
		for _, o := range a.Triggered {
			got = append(got, o.CampaignID)
		}
		slices.Sort(got)
		wantIDs := slices.Clone(st.want)
		slices.Sort(wantIDs)
		if !slices.Equal(got, wantIDs) {
			t.Errorf("%s: triggered %v, want %v", st.name, got, wantIDs)
		}
		var ignored string
		if len(a.Ignored) > 0 {
			ignored = a.Ignored[0].Reason
		}
		if ignored != st.ignored {
			t.Errorf("%s: ignored %q, want %q", st.name, ignored, st.ignored)
		}
		if st.ignored == "" && st.p == in && len(a.Nearby.Offers) == 0 {
			t.Errorf("%s: no nearby offers inside the zone", st.name)
		}
	}
	w := s.wallet(t, u)
	if len(w) != 4 {
		t.Errorf("wallet has %d offers, want 4: %+v", len(w), w)
	}
	for _, o := range w {
		if o.State != "active" || len(o.Code) != 11 {
			t.Errorf("offer %+v: want active with an 11-character code", o)
		}
	}

	wantStats := map[string]statsJSON{
		capped:    {Entered: 2, Triggered: 1, Suppressed: map[string]int{"cap": 1}},
		cooldown:  {Entered: 2, Triggered: 1, Suppressed: map[string]int{"cooldown": 1}},
		dwell:     {Entered: 2, Triggered: 2},
		newcomers: {Entered: 2, Suppressed: map[string]int{"newcomer": 2}},
		later:     {Entered: 2, Suppressed: map[string]int{"schedule": 2}},
		segment:   {Entered: 2, Suppressed: map[string]int{"audience": 2}}, // no segments in this build: only "all" fires
	}
	for id, ws := range wantStats {
		st := s.stats(t, m.Token, id)
		if st.Entered != ws.Entered || st.Triggered != ws.Triggered {
			t.Errorf("campaign %s: entered %d, triggered %d; want %d, %d", id, st.Entered, st.Triggered, ws.Entered, ws.Triggered)
		}
		for reason, n := range st.Suppressed {
			if n != ws.Suppressed[reason] {
				t.Errorf("campaign %s: suppressed %s = %d, want %d", id, reason, n, ws.Suppressed[reason])
			}
		}
	}
	var reach struct{ Customers int }
	want(t, s.do(t, "GET", "/v1/campaigns/"+capped+"/reach?days=1", m.Token, nil), http.StatusOK).Decode(t, &reach)
	if reach.Customers != 1 {
		t.Errorf("reach = %d, want 1", reach.Customers)
	}
	problemOf(t, s.do(t, "GET", "/v1/campaigns/"+capped+"/reach?days=0", m.Token, nil), http.StatusUnprocessableEntity)
}

func TestLocationQuietHoursAndConsent(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"HYPERLIEU_NEWCOMER_PERIOD": "0s"})
	m := s.withRoles(t, "Mo", "marketer")
	id := s.launch(t, m.Token, campaign("Quiet", nil))

	u := s.register(t, "Nadia")
	p := problemOf(t, s.do(t, "POST", "/v1/me/location", u.Token, map[string]any{"lat": in[0], "lng": in[1]}), http.StatusForbidden)
	if !strings.Contains(p["detail"].(string), "locationConsent") {
		t.Errorf("detail = %v, want it to say how to consent", p["detail"])
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	now := time.Now().In(paris)
	quiet := map[string]any{"from": now.Add(-2 * time.Hour).Format("15:04"), "to": now.Add(2 * time.Hour).Format("15:04")}
	want(t, s.do(t, "PATCH", "/v1/me", u.Token, map[string]any{"locationConsent": true, "quietHours": quiet}), http.StatusOK)
	s.report(t, u, out, now.Add(-5*time.Minute), 10)
	if a := s.report(t, u, in, now.Add(-time.Minute), 10); len(a.Triggered) != 1 {
		t.Fatalf("triggered %v in quiet hours, want the offer in the wallet anyway", a.Triggered)
	}
	if st := s.stats(t, m.Token, id); st.Triggered != 1 || st.Suppressed["quietHours"] != 1 || st.Pushed != 0 {
		t.Errorf("stats = %+v, want 1 triggered, its push held for quiet hours", st)
	}

	// Bad reports: a single one is refused naming the field; in a batch,
	// each is reported and the good ones still count.
	bad := []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"lat": 91, "lng": 2}, "lat"},
		{map[string]any{"lng": 2}, "lat"},
		{map[string]any{"lat": 48, "lng": 2, "recordedAt": time.Now().Add(10 * time.Minute).Format(time.RFC3339)}, "recordedAt"},
		{map[string]any{"lat": 48, "lng": 2, "recordedAt": time.Now().Add(-25 * time.Hour).Format(time.RFC3339)}, "recordedAt"},
		{map[string]any{"lat": "north", "lng": 2}, "lat"},
		{map[string]any{"points": []any{}}, "points"},
	}
	for _, b := range bad {
		p := problemOf(t, s.do(t, "POST", "/v1/me/location", u.Token, b.body), http.StatusUnprocessableEntity)
		if f := fields(p); !slices.Equal(f, []string{b.field}) {
			t.Errorf("%v: fields = %v, want [%s]", b.body, f, b.field)
		}
	}
	var a locationAnswer
	want(t, s.do(t, "POST", "/v1/me/location", u.Token, map[string]any{"points": []any{
		map[string]any{"lat": in[0], "lng": in[1], "recordedAt": time.Now().Format(time.RFC3339Nano)},
		map[string]any{"lat": 200, "lng": in[1]},
		map[string]any{"lat": in[0], "lng": in[1], "recordedAt": time.Now().Add(-30 * time.Second).Format(time.RFC3339Nano)},
		map[string]any{"lat": in[0], "lng": in[1], "recordedAt": time.Now().Add(-48 * time.Hour).Format(time.RFC3339Nano)},
	}}), http.StatusOK).Decode(t, &a)
	var rejected []int
	for _, r := range a.Rejected {
		rejected = append(rejected, r.Index)
	}
	slices.Sort(rejected)
	if a.Accepted != 2 || !slices.Equal(rejected, []int{1, 3}) {
		t.Errorf("batch: accepted %d, rejected %v; want 2 accepted, 1 and 3 rejected", a.Accepted, rejected)
	}
}

// TestLocationExportAndErase checks a customer can take their location
// data and offers, and that erasing the account leaves no trace of them.
func TestLocationExportAndErase(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"HYPERLIEU_NEWCOMER_PERIOD": "0s"})
	m := s.withRoles(t, "Meg", "marketer")
	s.launch(t, m.Token, campaign("Erase me", nil))
	u := s.consenting(t, "Eve")
	s.report(t, u, out, time.Now().Add(-5*time.Minute), 10)
	if a := s.report(t, u, in, time.Now(), 10); len(a.Triggered) != 1 {
		t.Fatalf("triggered %v, want one offer", a.Triggered)
	}
	doc := want(t, s.do(t, "GET", "/v1/me/export", u.Token, nil), http.StatusOK).JSON(t)
	if _, ok := doc["lastLocation"]; !ok {
		t.Errorf("export lacks lastLocation: %v", doc)
	}
	if offers, _ := doc["offers"].([]any); len(offers) != 1 {
		t.Errorf("exported offers = %v, want 1", doc["offers"])
	}
	want(t, s.do(t, "DELETE", "/v1/me", u.Token, nil), http.StatusNoContent)
	if where := findInDatabase(t, s.MongoURI, u.ID); len(where) > 0 {
		t.Errorf("%s still stored in %v", u.ID, where)
	}
}

// TestLocationDailyCap: the customer's own maxNotificationsPerDay holds
// across campaigns: entering two fences at once with a cap of one gives one
// offer, and the other campaign counts the suppression.
func TestLocationDailyCap(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	m := s.withRoles(t, "Mina", "marketer")
	a := s.launch(t, m.Token, campaign("First", nil))
	b := s.launch(t, m.Token, campaign("Second", nil))
	u := s.consenting(t, "Capped")
	want(t, s.do(t, "PATCH", "/v1/me", u.Token, map[string]any{"maxNotificationsPerDay": 1}), http.StatusOK)
	now := time.Now().Add(-time.Minute)
	s.report(t, u, out, now, 10)
	got := s.report(t, u, in, now.Add(30*time.Second), 10)
	if len(got.Triggered) != 1 {
		t.Fatalf("triggered %d offers with a daily cap of 1, want 1", len(got.Triggered))
	}
	suppressed := 0
	for _, id := range []string{a, b} {
		var st struct{ Suppressed map[string]int }
		want(t, s.do(t, "GET", "/v1/campaigns/"+id+"/stats", m.Token, nil), http.StatusOK).Decode(t, &st)
		suppressed += st.Suppressed["dailyCap"]
	}
	if suppressed != 1 {
		t.Errorf("suppressed by the daily cap = %d, want 1", suppressed)
	}
}

// TestOneStayOneOfferAcrossInstances sends the same report to two servers
// on one database at once, for a campaign that allows any number of offers
// and has no cooldown: the stay fires once, so one offer, not two.
func TestOneStayOneOfferAcrossInstances(t *testing.T) {
	t.Parallel()
	s1 := startServer(t, map[string]string{"HYPERLIEU_NEWCOMER_PERIOD": "0s"})
	s2 := startServer(t, map[string]string{"MONGO_URI": s1.MongoURI, "HYPERLIEU_NEWCOMER_PERIOD": "0s"})
	m := s1.withRoles(t, "Max", "marketer")
	id := s1.launch(t, m.Token, campaign("Many stays", map[string]any{"caps": map[string]any{"perCustomer": 0}}))
	// A probe walks in and out on s2 until s2 has loaded the campaign.
	probe := s1.consenting(t, "Probe")
	for deadline := time.Now().Add(15 * time.Second); ; {
		if len(s2.report(t, probe, in, time.Now(), 10).Triggered) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("s2 never fired the campaign made on s1")
		}
		s2.report(t, probe, out, time.Now(), 10)
		time.Sleep(100 * time.Millisecond)
	}
	base := time.Now().Add(-time.Minute)
	for i := range 3 {
		u := s1.consenting(t, fmt.Sprintf("Twice %d", i))
		var wg sync.WaitGroup
		for j, s := range []*server{s1, s2} {
			// The accuracy differs, so that the two are not one request
			// replayed (see TestLocationRetryGetsFirstAnswer) but one stay
			// seen twice.
			body := map[string]any{"lat": in[0], "lng": in[1], "accuracyM": 10 + j, "recordedAt": base.UTC().Format(time.RFC3339Nano)}
			wg.Go(func() {
				want(inGoroutine{t}, s.do(inGoroutine{t}, "POST", "/v1/me/location", u.Token, body), http.StatusOK)
			})
		}
		wg.Wait()
		if w := s1.wallet(t, u); len(w) != 1 {
			t.Errorf("customer %d: wallet after one stay seen twice = %d offers, want 1", i, len(w))
		}
	}
	// s2 writes its counts within HYPERLIEU_CAMPAIGNS_POLL; s1 its own as it reads.
	waitUntil(t, s1, 10*time.Second, "both instances' counts", func() bool { return s1.stats(t, m.Token, id).Triggered >= 4 })
	if st := s1.stats(t, m.Token, id); st.Triggered != 4 {
		t.Errorf("triggered = %d, want 4 (one per stay, the probe's included)", st.Triggered)
	}
}

// TestLocationRetryGetsFirstAnswer retries a location report, as a phone
// whose first request timed out does: the same report, or the same
// Idempotency-Key, returns the first answer (with its offer), and issues
// no other offer, even for a campaign with no cap and no cooldown.
func TestLocationRetryGetsFirstAnswer(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"HYPERLIEU_NEWCOMER_PERIOD": "0s"})
	m := s.withRoles(t, "Max", "marketer")
	s.launch(t, m.Token, campaign("Retry", map[string]any{"caps": map[string]any{"perCustomer": 0}}))
	u := s.consenting(t, "Rita")
	at := time.Now().Add(-10 * time.Minute).UTC().Format(time.RFC3339Nano)
	body := map[string]any{"lat": in[0], "lng": in[1], "accuracyM": 10, "recordedAt": at}
	first := want(t, s.do(t, "POST", "/v1/me/location", u.Token, body), http.StatusOK)
	var a locationAnswer
	first.Decode(t, &a)
	if len(a.Triggered) != 1 {
		t.Fatalf("first report triggered %v, want one offer", a.Triggered)
	}
	again := want(t, s.do(t, "POST", "/v1/me/location", u.Token, body), http.StatusOK)
	if string(again.Body) != string(first.Body) {
		t.Errorf("retried report answered\n%s\nwant the first answer\n%s", again.Body, first.Body)
	}

	// A batch of new reports under one key: the retry, with other
	// timestamps (the phone rebuilt it), still gets the first answer.
	s.report(t, u, out, time.Now().Add(-5*time.Minute), 10)
	key := map[string]string{"Idempotency-Key": "batch-1"}
	batch := func(at time.Time) map[string]any {
		return map[string]any{"points": []any{map[string]any{"lat": in[0], "lng": in[1], "accuracyM": 10, "recordedAt": at.UTC().Format(time.RFC3339Nano)}}}
	}
	k1 := want(t, s.doHeaders(t, "POST", "/v1/me/location", u.Token, batch(time.Now().Add(-4*time.Minute)), key), http.StatusOK)
	k2 := want(t, s.doHeaders(t, "POST", "/v1/me/location", u.Token, batch(time.Now().Add(-3*time.Minute)), key), http.StatusOK)
	if string(k2.Body) != string(k1.Body) {
		t.Errorf("retry with the same Idempotency-Key answered\n%s\nwant\n%s", k2.Body, k1.Body)
	}
	if w := s.wallet(t, u); len(w) != 2 {
		t.Errorf("wallet = %d offers, want 2 (one per stay, none per retry)", len(w))
	}
	long := map[string]string{"Idempotency-Key": strings.Repeat("k", 201)}
	if p := problemOf(t, s.doHeaders(t, "POST", "/v1/me/location", u.Token, body, long), http.StatusUnprocessableEntity); !slices.Contains(fields(p), "Idempotency-Key") {
		t.Errorf("too long a key: fields %v, want Idempotency-Key", fields(p))
	}
}
