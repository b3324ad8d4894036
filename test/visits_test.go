package test

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// visitEnv makes a one-minute stay near a shop a visit, so that the tests
// place back-dated reports instead of waiting.
var visitEnv = map[string]string{"HYPERLIEU_VISIT_MIN_DWELL": "1m"}

type visitStatsJSON struct {
	Visits, Asked, Answered, Low, LowGestured, CameBack int
	RecoveryRate                                        float64
	WindowDays                                          int
}

// visitAsks returns the visit asks in the customer's inbox, as their IDs,
// with the titles they read.
func (s *server) visitAsks(t testing.TB, u user) (ids, titles []string) {
	t.Helper()
	var in inboxJSON
	want(t, s.do(t, "GET", "/v1/me/notifications", u.Token, nil), http.StatusOK).Decode(t, &in)
	for _, n := range in.Items {
		if n.Kind == "visit_ask" {
			ids, titles = append(ids, n.Data["visitAskId"]), append(titles, n.Title)
		}
	}
	return ids, titles
}

// stay reports u at the shop from start for dwell, then 600 m away.
func (s *server) stay(t testing.TB, u user, shop [2]float64, start time.Time, dwell time.Duration) {
	t.Helper()
	s.report(t, u, shop, start, 10)
	s.report(t, u, offset(shop, 10, 0), start.Add(dwell), 10)
	s.report(t, u, offset(shop, 600, 0), start.Add(dwell+20*time.Second), 10)
}

type queuedJSON struct {
	UserID, Kind, Status string
	NotBefore            time.Time
	Data                 map[string]string
}

// queued returns the notifications of kind to userID in the admins' view,
// due or not (a manager's quiet hours may hold an alert till morning).
func (s *server) queued(t testing.TB, admin user, userID, kind string) []queuedJSON {
	t.Helper()
	var all struct{ Items []queuedJSON }
	want(t, s.do(t, "GET", "/v1/admin/notifications?limit=100", admin.Token, nil), http.StatusOK).Decode(t, &all)
	var out []queuedJSON
	for _, n := range all.Items {
		if n.UserID == userID && n.Kind == kind {
			out = append(out, n)
		}
	}
	return out
}

func (s *server) visitStats(t testing.TB, token, shopID string) visitStatsJSON {
	t.Helper()
	var st visitStatsJSON
	want(t, s.do(t, "GET", "/v1/shops/"+shopID+"/visit-stats", token, nil), http.StatusOK).Decode(t, &st)
	return st
}

// A customer's stay then exit at a shop is a visit: they are asked how it
// was (once in the period), rate it, publish a public review without any
// check-in, and read the manager's answer under it. A low rating answered
// with a gesture, then a return, is the shop's recovery rate.
func TestVisitRatingReviewAndAnswer(t *testing.T) {
	t.Parallel()
	s := startServer(t, visitEnv)
	admin := s.admin(t)
	at := offset(paris, 3000, 0)
	shop := s.createShop(t, admin.Token, "Le Comptoir", at)
	m := s.managerOf(t, admin, shop, "Max")
	other := s.withRoles(t, "Olga", "manager")
	ana, ben, carl := s.consenting(t, "Ana Lima"), s.consenting(t, "Ben"), s.consenting(t, "Carl")
	// With a device, what the server would push shows in the inbox.
	for i, u := range []user{ana, ben, carl, m} {
		s.addDevice(t, u, "device-"+strconv.Itoa(i))
	}
	now := time.Now()

	// Ana stays five minutes, leaves: one ask, naming the shop.
	s.stay(t, ana, at, now.Add(-20*time.Minute), 5*time.Minute)
	ids, titles := s.visitAsks(t, ana)
	if len(ids) != 1 || ids[0] == "" || !strings.Contains(titles[0], "Le Comptoir") {
		t.Fatalf("visit asks after a stay = %v %q, want one naming the shop", ids, titles)
	}
	// Another visit in the period is recorded but not asked about again.
	s.stay(t, ana, at, now.Add(-10*time.Minute), 2*time.Minute)
	if again, _ := s.visitAsks(t, ana); len(again) != 1 {
		t.Errorf("visit asks after a second visit = %v, want still one", again)
	}
	// Ben only passes by: no visit, no ask.
	s.stay(t, ben, at, now.Add(-5*time.Minute), 20*time.Second)
	if got, _ := s.visitAsks(t, ben); len(got) != 0 {
		t.Errorf("passing by asked %v", got)
	}

	// Ana rates it well: the answer offers a review and an invitation.
	path := "/v1/me/visit-asks/" + ids[0] + "/rating"
	problemOf(t, s.do(t, "POST", path, ben.Token, map[string]any{"rating": 5}), http.StatusNotFound)
	if f := fields(problemOf(t, s.do(t, "POST", path, ana.Token, map[string]any{"rating": 9}), http.StatusUnprocessableEntity)); !containsAll(f, "rating") {
		t.Errorf("bad rating fields = %v", f)
	}
	var rated struct {
		FeedbackID, ShopID, ReferralLink string
		Rating                           int
		Next                             []string
	}
	want(t, s.do(t, "POST", path, ana.Token, map[string]any{"rating": 5, "comment": "Lovely"}), http.StatusCreated).Decode(t, &rated)
	if rated.ShopID != shop || rated.Rating != 5 || !containsAll(rated.Next, "review", "invite") || !strings.Contains(rated.ReferralLink, "/r/") {
		t.Errorf("rating answer = %+v, want review and invite offered with a referral link", rated)
	}
	problemOf(t, s.do(t, "POST", path, ana.Token, map[string]any{"rating": 4}), http.StatusConflict)

	// The detected visit is enough to review publicly; the manager answers.
	var rv reviewJSON
	want(t, s.do(t, "POST", "/v1/shops/"+shop+"/reviews", ana.Token, map[string]any{"rating": 5, "comment": "Best coffee around"}), http.StatusCreated).Decode(t, &rv)
	if rv.VisitedMonth != now.UTC().Add(-20*time.Minute).Format("2006-01") {
		t.Errorf("review visited %q", rv.VisitedMonth)
	}
	problemOf(t, s.do(t, "POST", "/v1/shops/"+shop+"/reviews", ben.Token, map[string]any{"rating": 5, "comment": "Never came"}), http.StatusForbidden)
	want(t, s.do(t, "PUT", "/v1/shops/"+shop+"/reviews/"+rv.ID+"/answer", m.Token, map[string]any{"text": "Thank you Ana!"}), http.StatusOK)
	var list reviewsJSON
	want(t, s.do(t, "GET", "/v1/shops/"+shop+"/reviews", ben.Token, nil), http.StatusOK).Decode(t, &list)
	if len(list.Reviews) != 1 || list.Reviews[0].Answer == nil || list.Reviews[0].Answer.Text != "Thank you Ana!" {
		t.Errorf("public reviews = %+v, want Ana's with the answer", list)
	}

	// Carl's visit goes badly: the managers are alerted, a gesture answers,
	// and he comes back (after the gesture, so his reports are just ahead).
	s.stay(t, carl, at, now.Add(-30*time.Minute), 3*time.Minute)
	carlAsks, _ := s.visitAsks(t, carl)
	if len(carlAsks) != 1 {
		t.Fatalf("Carl's asks = %v", carlAsks)
	}
	rated.ReferralLink = ""
	want(t, s.do(t, "POST", "/v1/me/visit-asks/"+carlAsks[0]+"/rating", carl.Token, map[string]any{"rating": 1, "comment": "Cold"}), http.StatusCreated).Decode(t, &rated)
	if !slices.Equal(rated.Next, []string{"recovery"}) || rated.ReferralLink != "" {
		t.Errorf("low rating answer = %+v, want recovery only", rated)
	}
	if n := s.queued(t, admin, m.ID, "low_rating"); len(n) != 1 || n[0].Data["feedbackId"] != rated.FeedbackID {
		t.Errorf("manager alerts = %+v, want the low rating", n)
	}
	want(t, s.do(t, "POST", "/v1/shops/"+shop+"/gestures", m.Token, map[string]any{
		"userId": carl.ID, "feedbackId": rated.FeedbackID, "message": "Sorry, the next one is on us.", "points": 50,
	}), http.StatusCreated)
	s.stay(t, carl, at, time.Now().Add(time.Second), 65*time.Second)

	// The figures: Ana 2 visits, Carl 2; Ben's passing is none.
	problemOf(t, s.do(t, "GET", "/v1/shops/"+shop+"/visit-stats", ana.Token, nil), http.StatusForbidden)
	problemOf(t, s.do(t, "GET", "/v1/shops/"+shop+"/visit-stats", other.Token, nil), http.StatusForbidden)
	problemOf(t, s.do(t, "GET", "/v1/shops/nope/visit-stats", admin.Token, nil), http.StatusNotFound)
	wantStats := visitStatsJSON{Visits: 4, Asked: 2, Answered: 2, Low: 1, LowGestured: 1, CameBack: 1, RecoveryRate: 1, WindowDays: 60}
	if st := s.visitStats(t, m.Token, shop); st != wantStats {
		t.Errorf("visit stats = %+v, want %+v", st, wantStats)
	}
	if st := s.visitStats(t, admin.Token, shop); st != wantStats {
		t.Errorf("visit stats for the admin = %+v, want %+v", st, wantStats)
	}
}

// A check-in at a shop's event is a visit too: it is recorded and asked
// about, after the configured delay.
func TestVisitAskAfterCheckIn(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"HYPERLIEU_VISIT_ASK_DELAY": "30m"})
	admin := s.admin(t)
	at := offset(paris, 1000, 0)
	shop := s.createShop(t, admin.Token, "Boutique", at)
	m := s.managerOf(t, admin, shop, "Max")
	ev := want(t, s.do(t, "POST", "/v1/shops/"+shop+"/events", m.Token, eventBody("Launch night", soon, 5)), http.StatusCreated).JSON(t)
	id := ev["id"].(string)
	ana := s.consenting(t, "Ana")
	want(t, s.do(t, "POST", "/v1/events/"+id+"/rsvp", ana.Token, nil), http.StatusOK)
	want(t, s.do(t, "POST", "/v1/events/"+id+"/checkin", ana.Token, map[string]any{"lat": at[0], "lng": at[1]}), http.StatusCreated)

	// Not due yet, so not in her inbox: the admins' view shows it held.
	if n := s.queued(t, admin, ana.ID, "visit_ask"); len(n) != 1 || n[0].NotBefore.Before(time.Now().Add(20*time.Minute)) {
		t.Fatalf("visit asks queued = %+v, want one held 30 minutes", n)
	}
	if st := s.visitStats(t, m.Token, shop); st.Visits != 1 || st.Asked != 1 {
		t.Errorf("visit stats = %+v, want one visit asked about", st)
	}

	// Her visits are hers: exported, then erased; the shop's figures stay.
	var export map[string]any
	want(t, s.do(t, "GET", "/v1/me/export", ana.Token, nil), http.StatusOK).Decode(t, &export)
	if vs, _ := export["visits"].([]any); len(vs) != 1 {
		t.Errorf("export visits = %v, want the check-in's", export["visits"])
	}
	want(t, s.do(t, "DELETE", "/v1/me", ana.Token, nil), http.StatusNoContent)
	if st := s.visitStats(t, m.Token, shop); st.Visits != 1 || st.Asked != 1 {
		t.Errorf("visit stats after erasure = %+v, want kept", st)
	}
}

// An exit campaign fires on leaving after its minimum stay, once per the
// caps, and not for a customer who leaves too early.
func TestExitTriggerCampaign(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	mk := s.withRoles(t, "Mia Marketer", "marketer")
	bad := campaign("Bad exit", map[string]any{"trigger": map[string]any{"kind": "leave"}})
	if f := fields(problemOf(t, s.do(t, "POST", "/v1/campaigns", mk.Token, bad), http.StatusUnprocessableEntity)); !containsAll(f, "trigger.kind") {
		t.Errorf("unknown trigger fields = %v", f)
	}
	bad = campaign("Bad exit", map[string]any{"trigger": map[string]any{"kind": "exit", "minDwellSeconds": 90000}})
	if f := fields(problemOf(t, s.do(t, "POST", "/v1/campaigns", mk.Token, bad), http.StatusUnprocessableEntity)); !containsAll(f, "trigger.minDwellSeconds") {
		t.Errorf("bad minDwellSeconds fields = %v", f)
	}
	id := s.launch(t, mk.Token, campaign("See you soon", map[string]any{"trigger": map[string]any{"kind": "exit", "minDwellSeconds": 120}}))
	var c struct {
		Trigger struct {
			Kind            string
			MinDwellSeconds int
		}
	}
	want(t, s.do(t, "GET", "/v1/campaigns/"+id, mk.Token, nil), http.StatusOK).Decode(t, &c)
	if c.Trigger.Kind != "exit" || c.Trigger.MinDwellSeconds != 120 {
		t.Errorf("trigger = %+v", c.Trigger)
	}
	ana, ben := s.consenting(t, "Ana"), s.consenting(t, "Ben")
	now := time.Now()

	if a := s.report(t, ana, in, now.Add(-10*time.Minute), 10); len(a.Triggered) != 0 {
		t.Errorf("entering fired %v", a.Triggered)
	}
	if a := s.report(t, ana, in, now.Add(-5*time.Minute), 10); len(a.Triggered) != 0 {
		t.Errorf("staying fired %v", a.Triggered)
	}
	if a := s.report(t, ana, out, now.Add(-4*time.Minute), 10); len(a.Triggered) != 1 || a.Triggered[0].CampaignID != id {
		t.Errorf("leaving after the stay fired %v, want the offer", a.Triggered)
	}
	// A second stay: the per-customer cap of one holds.
	s.report(t, ana, in, now.Add(-3*time.Minute), 10)
	if a := s.report(t, ana, out, now.Add(-30*time.Second), 10); len(a.Triggered) != 0 {
		t.Errorf("second exit fired %v despite the cap", a.Triggered)
	}
	// Ben leaves after a minute: too early.
	s.report(t, ben, in, now.Add(-2*time.Minute), 10)
	if a := s.report(t, ben, out, now.Add(-time.Minute), 10); len(a.Triggered) != 0 {
		t.Errorf("leaving too early fired %v", a.Triggered)
	}
	if w := s.wallet(t, ana); len(w) != 1 {
		t.Errorf("Ana's wallet = %v, want the one offer", w)
	}
	if st := s.stats(t, mk.Token, id); st.Triggered != 1 || st.Entered != 3 || st.Suppressed["cap"] != 1 {
		t.Errorf("stats = %+v, want 3 entries, 1 triggered, 1 capped", st)
	}
}
