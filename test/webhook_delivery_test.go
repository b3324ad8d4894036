package test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// hookEnv makes the webhook worker fast for tests.
func hookEnv(extra map[string]string) map[string]string {
	env := map[string]string{
		"HYPERLIEU_EVENTS_STREAM_LAG":  "-1s",
		"HYPERLIEU_WEBHOOK_POLL":       "30ms",
		"HYPERLIEU_WEBHOOK_RETRY_BASE": "40ms",
		"HYPERLIEU_WEBHOOK_RETRY_MAX":  "100ms",
		"HYPERLIEU_WEBHOOK_TIMEOUT":    "2s",
		"HYPERLIEU_WEBHOOK_LEASE":      "3s",
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

type hookBody struct {
	ID   string            `json:"id"`
	Type string            `json:"type"`
	Data map[string]string `json:"data"`
}

// receiver is a webhook receiver on loopback: it verifies each request's
// signature as the README tells receivers to, answers what status says for
// the nth attempt (1-based) of a delivery, and keeps what it accepted.
type receiver struct {
	*httptest.Server
	secret string
	mu     sync.Mutex
	status func(delivery string, n int) int
	delay  time.Duration
	tries  map[string]int      // attempts by delivery id
	got    map[string]hookBody // accepted, by event id
	ids    map[string]string   // delivery id by event id
	bad    int                 // requests with a bad signature or headers
}

func newReceiver(t testing.TB, secret string) *receiver {
	r := &receiver{secret: secret, tries: map[string]int{}, got: map[string]hookBody{}, ids: map[string]string{},
		status: func(string, int) int { return http.StatusOK }}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	var b hookBody
	id := req.Header.Get("Hyperlieu-Delivery")
	r.mu.Lock()
	if !verifySignature(r.secret, req.Header.Get("Hyperlieu-Signature"), body, time.Now()) ||
		json.Unmarshal(body, &b) != nil || !strings.HasPrefix(id, b.ID+".") ||
		req.Header.Get("Hyperlieu-Event") != b.Type {
		r.bad++
		r.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	r.tries[id]++
	status, delay := r.status(id, r.tries[id]), r.delay
	if status < 300 {
		r.got[b.ID], r.ids[b.ID] = b, id
	}
	r.mu.Unlock()
	time.Sleep(delay)
	w.WriteHeader(status)
}

// snapshot returns the accepted events by id, the attempts by delivery id
// and the count of badly signed requests.
func (r *receiver) snapshot() (map[string]hookBody, map[string]int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	got, tries := map[string]hookBody{}, map[string]int{}
	for k, v := range r.got {
		got[k] = v
	}
	for k, v := range r.tries {
		tries[k] = v
	}
	return got, tries, r.bad
}

// verifySignature is the README's receiver snippet.
func verifySignature(secret, header string, body []byte, now time.Time) bool {
	var ts string
	var sigs []string
	for _, kv := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Sub(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return false // malformed, or a replay
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := hex.EncodeToString(mac.Sum(nil))
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return true
		}
	}
	return false
}

type hookResponse struct {
	ID           string   `json:"id"`
	URL          string   `json:"url"`
	Types        []string `json:"types"`
	Secret       string   `json:"secret"`
	Paused       bool     `json:"paused"`
	PausedReason string   `json:"pausedReason"`
}

type deliveryItem struct {
	ID        string `json:"id"`
	EventID   string `json:"eventId"`
	Status    string `json:"status"`
	Attempts  int    `json:"attempts"`
	LastError string `json:"lastError"`
}

func (s *server) deliveries(t testing.TB, admin user, hookID string) []deliveryItem {
	t.Helper()
	var page struct {
		Items []deliveryItem `json:"items"`
	}
	want(t, s.do(t, "GET", "/v1/admin/webhooks/"+hookID+"/deliveries?limit=100", admin.Token, nil), http.StatusOK).Decode(t, &page)
	return page.Items
}

func (s *server) hook(t testing.TB, admin user, id string) hookResponse {
	t.Helper()
	var hs []hookResponse
	want(t, s.do(t, "GET", "/v1/admin/webhooks", admin.Token, nil), http.StatusOK).Decode(t, &hs)
	for _, h := range hs {
		if h.ID == id {
			return h
		}
	}
	t.Fatalf("webhook %s not listed in %+v", id, hs)
	return hookResponse{}
}

// rsvpMany makes n events at a new shop and has u RSVP to each: n rsvp
// domain events.
func (s *server) rsvpMany(t testing.TB, admin, u user, n int) {
	t.Helper()
	shop := s.createShop(t, admin.Token, "Hooks", [2]float64{48.8566, 2.3522})
	for i := range n {
		ev := want(t, s.do(t, "POST", "/v1/shops/"+shop+"/events", admin.Token, eventBody(fmt.Sprintf("Hooks %d", i), 48*time.Hour, 5)), http.StatusCreated).JSON(t)["id"].(string)
		want(t, s.do(t, "POST", "/v1/events/"+ev+"/rsvp", u.Token, nil), http.StatusOK)
	}
}

// registerHook registers an endpoint at r for types, with r's secret.
func (s *server) registerHook(t testing.TB, admin user, r *receiver, types ...string) hookResponse {
	t.Helper()
	var h hookResponse
	want(t, s.do(t, "POST", "/v1/admin/webhooks", admin.Token, map[string]any{"url": r.URL + "/hooks?x=1", "types": types, "secret": r.secret}), http.StatusCreated).Decode(t, &h)
	if h.Secret != r.secret || h.ID == "" {
		t.Fatalf("created webhook = %+v, want its id and secret", h)
	}
	return h
}

// Registration validates, is for admins only, and never shows the secret
// again; deliveries are signed, carry a stable delivery id, reach only the
// subscribed endpoints, and go through a receiver that fails twice first.
func TestWebhookDeliveriesSignedAndRetried(t *testing.T) {
	ok := newReceiver(t, "secret-ok-0123456789")
	flaky := newReceiver(t, "secret-flaky-0123456789")
	flaky.status = func(_ string, n int) int {
		if n <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	}
	other := newReceiver(t, "secret-other-0123456789")
	s := startServer(t, hookEnv(nil))
	admin, ana := s.admin(t), s.register(t, "Ana Hook")

	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"url": "ftp://example.com/x", "types": []string{"checkin"}}, "url"},
		{map[string]any{"url": "https://user:pw@example.com/x", "types": []string{"checkin"}}, "url"},
		{map[string]any{"url": "https://example.com/x", "types": []string{"checkin", "nope"}}, "types"},
		{map[string]any{"url": "https://example.com/x", "types": []string{}}, "types"},
		{map[string]any{"url": "https://example.com/x", "types": []string{"rsvp"}, "secret": "short"}, "secret"},
	} {
		p := problemOf(t, s.do(t, "POST", "/v1/admin/webhooks", admin.Token, c.body), http.StatusUnprocessableEntity)
		if !slices.Contains(fields(p), c.field) {
			t.Errorf("POST %v: problem fields %v, want %s", c.body, fields(p), c.field)
		}
	}
	want(t, s.do(t, "POST", "/v1/admin/webhooks", ana.Token, map[string]any{"url": "https://example.com/x", "types": []string{"rsvp"}}), http.StatusForbidden)
	want(t, s.do(t, "GET", "/v1/admin/webhooks", ana.Token, nil), http.StatusForbidden)

	// A secret left out is made, and shown once.
	var made hookResponse
	want(t, s.do(t, "POST", "/v1/admin/webhooks", admin.Token, map[string]any{"url": "https://example.com/x", "types": []string{"gesture"}}), http.StatusCreated).Decode(t, &made)
	if !strings.HasPrefix(made.Secret, "whsec_") || len(made.Secret) < 40 {
		t.Errorf("made secret = %q, want whsec_ and 64 hex digits", made.Secret)
	}
	hA, hB := s.registerHook(t, admin, ok, "rsvp"), s.registerHook(t, admin, flaky, "rsvp", "checkin")
	s.registerHook(t, admin, other, "gesture")
	list := want(t, s.do(t, "GET", "/v1/admin/webhooks", admin.Token, nil), http.StatusOK)
	for _, secret := range []string{made.Secret, ok.secret, flaky.secret} {
		if strings.Contains(string(list.Body), secret) {
			t.Errorf("GET /v1/admin/webhooks shows a secret: %s", list.Body)
		}
	}

	s.rsvpMany(t, admin, ana, 3)
	waitUntil(t, s, 20*time.Second, "both receivers accepted 3 RSVPs", func() bool {
		a, _, _ := ok.snapshot()
		b, _, _ := flaky.snapshot()
		return len(a) == 3 && len(b) == 3
	})
	gotA, triesA, badA := ok.snapshot()
	_, triesB, badB := flaky.snapshot()
	if badA+badB != 0 {
		t.Errorf("%d requests with a bad signature or headers", badA+badB)
	}
	for eventID, b := range gotA {
		if b.Type != "rsvp" || b.Data["userId"] != ana.ID {
			t.Errorf("event %s = %+v, want an RSVP of %s", eventID, b, ana.ID)
		}
		if triesA[eventID+"."+hA.ID] != 1 {
			t.Errorf("event %s reached the healthy receiver %d times, want once", eventID, triesA[eventID+"."+hA.ID])
		}
		if n := triesB[eventID+"."+hB.ID]; n != 3 {
			t.Errorf("delivery %s.%s attempted %d times, want 3 (two 500s, then 204)", eventID, hB.ID, n)
		}
	}
	if _, tries, _ := other.snapshot(); len(tries) != 0 {
		t.Errorf("an endpoint not subscribed to rsvp got %v", tries)
	}
	waitUntil(t, s, 20*time.Second, "the flaky endpoint's deliveries are recorded as delivered", func() bool {
		ds := s.deliveries(t, admin, hB.ID)
		return len(ds) == 3 && !slices.ContainsFunc(ds, func(d deliveryItem) bool { return d.Status != "delivered" })
	})
	for _, d := range s.deliveries(t, admin, hB.ID) {
		if d.Attempts != 3 || d.ID != d.EventID+"."+hB.ID {
			t.Errorf("delivery %+v, want 3 attempts and id <event>.<endpoint>", d)
		}
	}
	// Paging: two pages of 2 then 1, newest first.
	var page struct {
		Items []deliveryItem `json:"items"`
		Next  string         `json:"next"`
	}
	want(t, s.do(t, "GET", "/v1/admin/webhooks/"+hB.ID+"/deliveries?limit=2", admin.Token, nil), http.StatusOK).Decode(t, &page)
	if len(page.Items) != 2 || page.Next == "" || page.Items[0].ID < page.Items[1].ID {
		t.Fatalf("first page = %+v, want 2, newest first, and a cursor", page)
	}
	next := page.Next
	page.Items, page.Next = nil, ""
	want(t, s.do(t, "GET", "/v1/admin/webhooks/"+hB.ID+"/deliveries?limit=2&before="+next, admin.Token, nil), http.StatusOK).Decode(t, &page)
	if len(page.Items) != 1 || page.Next != "" {
		t.Errorf("second page = %+v, want the last one", page)
	}
	problemOf(t, s.do(t, "GET", "/v1/admin/webhooks/"+hB.ID+"/deliveries?limit=1000", admin.Token, nil), http.StatusUnprocessableEntity)
	problemOf(t, s.do(t, "GET", "/v1/admin/webhooks/nope/deliveries", admin.Token, nil), http.StatusNotFound)
	want(t, s.do(t, "GET", "/v1/admin/webhooks/"+hB.ID+"/deliveries", ana.Token, nil), http.StatusForbidden)

	m := string(want(t, s.do(t, "GET", "/metrics", "", nil), http.StatusOK).Body)
	for _, series := range []string{`hyperlieu_webhook_deliveries_total{result="sent"} 6`, `hyperlieu_webhook_deliveries_total{result="retried"} 6`,
		"hyperlieu_webhook_queue_deliveries 0"} {
		if !strings.Contains(m, series) {
			t.Errorf("/metrics lacks %q", series)
		}
	}
	if strings.Contains(s.Logs(), ok.secret) || strings.Contains(s.Logs(), made.Secret) {
		t.Error("a webhook secret is in the logs")
	}
}

// A delivery failing MaxAttempts times is dead-lettered and listed; the
// endpoint, failing all along, is paused and the admins told in the log;
// while paused nothing new is queued; a replay waits for resume, then goes.
func TestWebhookDeadLetterPauseReplay(t *testing.T) {
	r := newReceiver(t, "secret-dead-0123456789")
	var down sync.Mutex // held: the receiver answers 503
	failing := true
	r.status = func(string, int) int {
		down.Lock()
		defer down.Unlock()
		if failing {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}
	s := startServer(t, hookEnv(map[string]string{"HYPERLIEU_WEBHOOK_MAX_ATTEMPTS": "2", "HYPERLIEU_WEBHOOK_PAUSE_AFTER": "1ms"}))
	admin, ana := s.admin(t), s.register(t, "Ana Dead")
	h := s.registerHook(t, admin, r, "rsvp")

	s.rsvpMany(t, admin, ana, 1)
	var dead deliveryItem
	waitUntil(t, s, 20*time.Second, "the delivery is dead-lettered", func() bool {
		ds := s.deliveries(t, admin, h.ID)
		if len(ds) == 1 && ds[0].Status == "dead" {
			dead = ds[0]
			return true
		}
		return false
	})
	if dead.Attempts != 2 || dead.LastError != "HTTP 503" {
		t.Errorf("dead letter = %+v, want 2 attempts and last error HTTP 503", dead)
	}
	// The worker pauses the endpoint just after it records the dead letter.
	waitUntil(t, s, 10*time.Second, "the endpoint is paused for failing", func() bool {
		got := s.hook(t, admin, h.ID)
		return got.Paused && got.PausedReason == "failing"
	})
	if !strings.Contains(s.Logs(), "webhook endpoint paused") {
		t.Error("the auto-pause is not in the log")
	}
	// Paused: a new event is not queued for it.
	s.rsvpMany(t, admin, ana, 1)
	if ds := s.deliveries(t, admin, h.ID); len(ds) != 1 {
		t.Errorf("deliveries while paused = %+v, want the dead letter alone", ds)
	}

	down.Lock()
	failing = false
	down.Unlock()
	want(t, s.do(t, "POST", "/v1/admin/webhooks/"+h.ID+"/deliveries/"+dead.ID+"/replay", ana.Token, nil), http.StatusForbidden)
	problemOf(t, s.do(t, "POST", "/v1/admin/webhooks/"+h.ID+"/deliveries/nope/replay", admin.Token, nil), http.StatusNotFound)
	want(t, s.do(t, "POST", "/v1/admin/webhooks/"+h.ID+"/deliveries/"+dead.ID+"/replay", admin.Token, nil), http.StatusAccepted)
	problemOf(t, s.do(t, "POST", "/v1/admin/webhooks/"+h.ID+"/deliveries/"+dead.ID+"/replay", admin.Token, nil), http.StatusConflict)
	// Another endpoint has no such delivery, queued or not: 404, not 409.
	h2 := s.registerHook(t, admin, r, "checkin")
	problemOf(t, s.do(t, "POST", "/v1/admin/webhooks/"+h2.ID+"/deliveries/"+dead.ID+"/replay", admin.Token, nil), http.StatusNotFound)
	if ds := s.deliveries(t, admin, h.ID); len(ds) != 1 || ds[0].Status != "pending" || ds[0].Attempts != 0 {
		t.Errorf("after replay = %+v, want it pending with no attempts", ds)
	}
	if got, _, _ := r.snapshot(); len(got) != 0 {
		t.Errorf("a paused endpoint received %v", got)
	}
	var resumed hookResponse
	want(t, s.do(t, "POST", "/v1/admin/webhooks/"+h.ID+"/resume", admin.Token, nil), http.StatusOK).Decode(t, &resumed)
	if resumed.Paused || resumed.Secret != "" {
		t.Errorf("resumed = %+v, want active, no secret", resumed)
	}
	waitUntil(t, s, 20*time.Second, "the replay is delivered", func() bool {
		got, _, _ := r.snapshot()
		return len(got) == 1
	})
	waitUntil(t, s, 20*time.Second, "the replay is recorded as delivered", func() bool {
		ds := s.deliveries(t, admin, h.ID)
		return len(ds) == 1 && ds[0].Status == "delivered" && ds[0].Attempts == 1
	})

	var paused hookResponse
	want(t, s.do(t, "POST", "/v1/admin/webhooks/"+h.ID+"/pause", admin.Token, nil), http.StatusOK).Decode(t, &paused)
	if !paused.Paused || paused.PausedReason != "admin" {
		t.Errorf("paused = %+v, want paused by an admin", paused)
	}
	problemOf(t, s.do(t, "POST", "/v1/admin/webhooks/nope/pause", admin.Token, nil), http.StatusNotFound)
	want(t, s.do(t, "DELETE", "/v1/admin/webhooks/"+h.ID, admin.Token, nil), http.StatusNoContent)
	problemOf(t, s.do(t, "DELETE", "/v1/admin/webhooks/"+h.ID, admin.Token, nil), http.StatusNotFound)
	problemOf(t, s.do(t, "GET", "/v1/admin/webhooks/"+h.ID+"/deliveries", admin.Token, nil), http.StatusNotFound)
	m := string(want(t, s.do(t, "GET", "/metrics", "", nil), http.StatusOK).Body)
	for _, series := range []string{`hyperlieu_webhook_deliveries_total{result="dead"} 1`, "hyperlieu_webhook_endpoints_paused_total 1"} {
		if !strings.Contains(m, series) {
			t.Errorf("/metrics lacks %q", series)
		}
	}
}

// Erasing a person rewrites their id out of the deliveries still queued.
func TestWebhookErasureScrubsQueuedDeliveries(t *testing.T) {
	r := newReceiver(t, "secret-erase-0123456789")
	var mu sync.Mutex
	failing := true
	r.status = func(string, int) int {
		mu.Lock()
		defer mu.Unlock()
		if failing {
			return http.StatusBadGateway
		}
		return http.StatusOK
	}
	s := startServer(t, hookEnv(map[string]string{"HYPERLIEU_WEBHOOK_MAX_ATTEMPTS": "1000"}))
	admin, ana := s.admin(t), s.register(t, "Ana Erased")
	s.registerHook(t, admin, r, "rsvp", "account.erased")
	s.rsvpMany(t, admin, ana, 1)
	waitUntil(t, s, 20*time.Second, "the RSVP was attempted", func() bool {
		_, tries, _ := r.snapshot()
		return len(tries) == 1
	})
	want(t, s.do(t, "DELETE", "/v1/me", ana.Token, nil), http.StatusNoContent)
	mu.Lock()
	failing = false
	mu.Unlock()
	waitUntil(t, s, 20*time.Second, "the RSVP and the erasure arrived", func() bool {
		got, _, _ := r.snapshot()
		return len(got) == 2
	})
	got, _, _ := r.snapshot()
	for _, b := range got {
		for k, v := range b.Data {
			if strings.Contains(v, ana.ID) {
				t.Errorf("delivered %s carries the erased id in %s", b.Type, k)
			}
		}
		if b.Type == "rsvp" && b.Data["userId"] != "erased" {
			t.Errorf("check-in delivered after erasure = %v, want userId erased", b.Data)
		}
	}
}

// SIGKILL while deliveries are in flight loses none: after a restart on
// the same data, the receiver holds exactly the published events.
func TestWebhookDeliveriesSurviveSIGKILL(t *testing.T) {
	r := newReceiver(t, "secret-crash-0123456789")
	r.delay = 50 * time.Millisecond
	env := hookEnv(map[string]string{"HYPERLIEU_WEBHOOK_WORKERS": "2", "HYPERLIEU_WEBHOOK_LEASE": "1s", "HYPERLIEU_WEBHOOK_TIMEOUT": "500ms"})
	s := startServer(t, env)
	env["HYPERLIEU_DATA_DIR"] = s.DataDir
	admin, ana := s.admin(t), s.register(t, "Ana Crash")
	s.registerHook(t, admin, r, "rsvp")
	const n = 30
	s.rsvpMany(t, admin, ana, n)
	waitUntil(t, s, 20*time.Second, "some deliveries arrived", func() bool {
		got, _, _ := r.snapshot()
		return len(got) >= 3
	})
	s.Kill(t)
	if got, _, _ := r.snapshot(); len(got) == n {
		t.Log("every delivery arrived before the kill; the restart proves less")
	}

	s2 := startServer(t, env)
	admin = s2.admin(t)
	published := map[string]bool{}
	for _, e := range readStream(t, s2, admin.Token, "") {
		if e.Type == "rsvp" {
			published[e.ID] = true
		}
	}
	if len(published) != n {
		t.Fatalf("stream holds %d RSVPs, want %d", len(published), n)
	}
	waitUntil(t, s2, 20*time.Second, "every event arrived", func() bool {
		got, _, _ := r.snapshot()
		return len(got) >= n
	})
	got, _, bad := r.snapshot()
	for id := range got {
		if !published[id] {
			t.Errorf("received %s, which was not published", id)
		}
	}
	if len(got) != n || bad != 0 {
		t.Errorf("received %d distinct events (%d badly signed), want %d", len(got), bad, n)
	}
}

// Two instances on one database share the queue: events published on
// either reach the receiver, each delivery attempted once, whichever
// instance's worker claimed it.
func TestWebhookTwoInstancesDeliverOnce(t *testing.T) {
	r := newReceiver(t, "secret-two-0123456789")
	r.delay = 20 * time.Millisecond
	s1 := startServer(t, hookEnv(nil))
	s2 := startServer(t, hookEnv(map[string]string{"MONGO_URI": s1.MongoURI}))
	admin1, admin2 := s1.admin(t), s2.admin(t)
	h := s1.registerHook(t, admin1, r, "rsvp")
	s2.hook(t, admin2, h.ID) // listed on the second instance: it knows the endpoint
	ana := s1.register(t, "Ana Two")
	s1.rsvpMany(t, admin1, ana, 5)
	s2.rsvpMany(t, admin2, ana, 5)
	waitUntil(t, s1, 20*time.Second, "all 10 RSVPs arrived", func() bool {
		got, _, _ := r.snapshot()
		return len(got) == 10
	})
	_, tries, bad := r.snapshot()
	for id, n := range tries {
		if n != 1 {
			t.Errorf("delivery %s attempted %d times, want once", id, n)
		}
	}
	if bad != 0 {
		t.Errorf("%d badly signed requests", bad)
	}
}
