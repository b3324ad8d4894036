package test

import (
	"crypto/sha256"
	"fmt"
	"math"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu/push/fcmfake"
)

// armOf computes a customer's arm as the README documents it, from outside
// the server: the bucket is the first 8 bytes of sha256("<campaign>:<user>")
// over [0, 1); below holdout% it is the holdout, else variants share the
// rest by weight (here two of equal weight).
func armOf(campaignID, userID string, holdoutPct int) string {
	sum := sha256.Sum256([]byte(campaignID + ":" + userID))
	var x uint64
	for _, c := range sum[:8] {
		x = x<<8 | uint64(c)
	}
	b := float64(x>>11) / (1 << 53)
	h := float64(holdoutPct) / 100
	switch {
	case b < h:
		return "holdout"
	case (b-h)/(1-h)*2 < 1:
		return "a"
	}
	return "b"
}

func variant(id, title string) map[string]any {
	return map[string]any{"id": id, "weight": 1, "value": "-" + id, "validityHours": 24,
		"texts": []any{map[string]any{"locale": "en", "formality": "formal", "title": title}}}
}

type armStatsJSON struct {
	ID                                                 string
	Holdout                                            bool
	Customers, Entered, Triggered, Redeemed, Redeemers int
	Returned                                           int
	ReturnedRate, RedeemedRate                         float64
	ReturnedLift                                       *struct{ Diff, Low, High float64 }
	Suppressed                                         map[string]int
}

type inboxJSON struct{ Items []notificationJSON }

type experimentJSON struct {
	Experiment struct {
		HoldoutPercent, ReturnDays int
		Method                     string
		Arms                       []armStatsJSON
	}
}

func (s *server) experiment(t *testing.T, token, id string) map[string]armStatsJSON {
	t.Helper()
	var st experimentJSON
	want(t, s.do(t, "GET", "/v1/campaigns/"+id+"/stats", token, nil), http.StatusOK).Decode(t, &st)
	out := map[string]armStatsJSON{}
	for _, a := range st.Experiment.Arms {
		out[a.ID] = a
	}
	return out
}

// enterZone reports the customer outside, then inside, and returns the offers
// the entry triggered.
func (s *server) enterZone(t *testing.T, u user, at time.Time) []offerJSON {
	t.Helper()
	s.report(t, u, out, at, 10)
	return s.report(t, u, in, at.Add(3*time.Minute), 10).Triggered
}

// TestExperimentStableAcrossInstances: a customer's arm is the hash's,
// whichever of two instances sees them first, and stays after both are
// replaced by a third on the same data; holdout customers get nothing.
func TestExperimentStableAcrossInstances(t *testing.T) {
	t.Parallel()
	fake, env := fcmEnv(t)
	env["HYPERLIEU_NEWCOMER_PERIOD"] = "0s"
	s1 := startServer(t, env)
	m := s1.withRoles(t, "Mia", "marketer")
	id := s1.launch(t, m.Token, campaign("Experiment", map[string]any{
		"variants":       []any{variant("a", "Offer A"), variant("b", "Offer B")},
		"holdoutPercent": 30, "caps": map[string]any{"perCustomer": 0},
	}))
	env2 := map[string]string{"MONGO_URI": s1.MongoURI}
	for k, v := range env {
		env2[k] = v
	}
	s2 := startServer(t, env2)
	titles := map[string]string{"a": "Offer A", "b": "Offer B"}
	base := time.Now().Add(-time.Hour)
	var customers []user
	arms := map[string]int{}
	check := func(s *server, u user, at time.Time, where string) {
		t.Helper()
		arm := armOf(id, u.ID, 30)
		got := s.enterZone(t, u, at)
		switch {
		case arm == "holdout" && len(got) != 0:
			t.Errorf("%s: holdout customer got %v", where, got)
		case arm != "holdout" && (len(got) != 1 || got[0].Title != titles[arm]):
			t.Errorf("%s: customer in arm %s got %v, want %q", where, arm, got, titles[arm])
		}
	}
	// Customers' ids are random: enrol until every arm has some.
	for i := 0; i < 40 && (i < 10 || arms["holdout"] == 0 || arms["a"] == 0 || arms["b"] == 0); i++ {
		u := s1.consenting(t, fmt.Sprintf("Exp %d", i))
		s1.addDevice(t, u, "fcm:exp-"+u.ID)
		customers = append(customers, u)
		arms[armOf(id, u.ID, 30)]++
		first, second := s1, s2
		if i%2 == 1 { // half are assigned by the second instance
			first, second = s2, s1
		}
		check(first, u, base, "first stay")
		check(second, u, base.Add(10*time.Minute), "second stay, other instance")
	}
	if arms["holdout"] == 0 || arms["a"] == 0 || arms["b"] == 0 {
		t.Fatalf("arms %v: the population does not cover every arm", arms)
	}
	s2.Stop(t)
	s1.Stop(t)
	env["HYPERLIEU_DATA_DIR"] = s1.DataDir
	s3 := startServer(t, env)
	for _, u := range customers {
		check(s3, u, base.Add(20*time.Minute), "after a restart")
		if armOf(id, u.ID, 30) != "holdout" {
			continue
		}
		if w := s3.wallet(t, u); len(w) != 0 {
			t.Errorf("holdout customer's wallet = %v, want empty", w)
		}
		// The welcome (sent or held, by the hour of the day: quiet hours)
		// is not the experiment's: only offers count.
		var inbox inboxJSON
		want(t, s3.do(t, "GET", "/v1/me/notifications", u.Token, nil), http.StatusOK).Decode(t, &inbox)
		for _, n := range inbox.Items {
			if n.Kind == "offer" {
				t.Errorf("holdout customer's inbox holds offer %v, want none", n)
			}
		}
	}
	// The second instance reached the first's embedded FerretDB over a pool
	// of connections, where a counter may lose an increment under contention
	// (see "How it stays exact"): counts are exact in TestExperimentLift, here
	// each arm must just have its own.
	got := s3.experiment(t, m.Token, id)
	for arm, n := range arms {
		if a := got[arm]; a.Customers < 1 || a.Customers > n || a.Triggered > 3*n || a.Entered > 3*n {
			t.Errorf("arm %s = %+v, want up to %d customers, %d triggers and entries", arm, a, n, 3*n)
		}
	}
	// Every treated customer's three offers are pushed; no holdout one is.
	waitUntil(t, s3, 15*time.Second, "the treated customers' pushes are sent", func() bool {
		for _, u := range customers {
			if armOf(id, u.ID, 30) != "holdout" && len(offersTo(fake, "fcm:exp-"+u.ID)) < 3 {
				return false
			}
		}
		return true
	})
	for _, u := range customers {
		if armOf(id, u.ID, 30) != "holdout" {
			continue
		}
		if got := offersTo(fake, "fcm:exp-"+u.ID); len(got) != 0 {
			t.Errorf("holdout customer %s was pushed offers %v", u.ID, got)
		}
	}
}

// TestExperimentLift scripts a population around a shop: treated customers
// redeem every other offer, a fifth of the holdout come back (a visit
// detected at the shop), and the stats give each rate and the lift.
func TestExperimentLift(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"HYPERLIEU_NEWCOMER_PERIOD": "0s"})
	admin := s.admin(t)
	mgr := s.withRoles(t, "Mel", "manager")
	shop := createShop(t, s, admin, mgr)
	m := s.withRoles(t, "Max", "marketer")
	id := s.launch(t, m.Token, campaign("Lift", map[string]any{
		"geofence":       map[string]any{"shops": map[string]any{"shopIds": []string{shop}, "radiusM": 150}},
		"variants":       []any{variant("a", "Offer A")},
		"holdoutPercent": 50, "returnDays": 3,
	}))
	base := time.Now().Add(-3 * time.Hour)
	n := map[bool]int{}        // customers by holdout
	returned := map[bool]int{} // returns by holdout
	var leaving []user         // one who redeemed, one held out who came back
	for i := range 40 {
		u := s.consenting(t, fmt.Sprintf("Lift %d", i))
		got := s.enterZone(t, u, base)
		held := len(got) == 0
		n[held]++
		switch {
		case !held && n[held]%2 == 1: // every other treated customer
			want(t, s.do(t, "POST", "/v1/shops/"+shop+"/redemptions", mgr.Token, map[string]any{"code": got[0].Code}), http.StatusOK)
			returned[held]++
			if returned[held] == 1 {
				leaving = append(leaving, u)
			}
		case held && n[held]%5 == 1: // every fifth held-out one
			s.enterZone(t, u, base.Add(2*time.Hour)) // a visit an hour or more after the would-be offer
			returned[held]++
			if returned[held] == 1 {
				leaving = append(leaving, u)
			}
		}
	}
	if n[true] == 0 || n[false] == 0 || returned[true] == 0 {
		t.Fatalf("population %v, returns %v: both arms and some holdout returns are needed", n, returned)
	}
	arms := s.experiment(t, m.Token, id)
	a, h := arms["a"], arms["holdout"]
	if a.Customers != n[false] || h.Customers != n[true] || a.Returned != returned[false] || h.Returned != returned[true] ||
		a.Redeemers != returned[false] || h.Redeemed != 0 {
		t.Fatalf("arms a %+v, holdout %+v; want customers %v, returned %v, holdout redeeming nothing", a, h, n, returned)
	}
	diff := float64(returned[false])/float64(n[false]) - float64(returned[true])/float64(n[true])
	l := a.ReturnedLift
	if l == nil || math.Abs(l.Diff-diff) > 1e-9 || l.Low >= l.Diff || l.High <= l.Diff || l.Low < -1 || l.High > 1 {
		t.Errorf("returned lift = %+v, want diff %.4f inside a 95%% interval within [-1, 1]", l, diff)
	}
	if h.ReturnedLift != nil {
		t.Errorf("the holdout has a lift over itself: %+v", h.ReturnedLift)
	}
	// Their arms are personal data: exported, then erased with the account;
	// the arms' counters stay.
	for _, u := range leaving {
		doc := want(t, s.do(t, "GET", "/v1/me/export", u.Token, nil), http.StatusOK).JSON(t)
		if exps, _ := doc["experiments"].([]any); len(exps) != 1 {
			t.Errorf("exported experiments = %v, want this campaign's arm", doc["experiments"])
		}
		want(t, s.do(t, "DELETE", "/v1/me", u.Token, nil), http.StatusNoContent)
		if where := findInDatabase(t, s.MongoURI, u.ID); len(where) > 0 {
			t.Errorf("%s still stored in %v", u.ID, where)
		}
	}
	if after := s.experiment(t, m.Token, id); after["a"].Returned != a.Returned || after["holdout"].Returned != h.Returned {
		t.Errorf("after erasure: %+v, want the counters kept", after)
	}
}

// TestExperimentDecisions: variants are validated field by field, frozen
// once running, stopped and crowned by marketers only.
func TestExperimentDecisions(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"HYPERLIEU_NEWCOMER_PERIOD": "0s"})
	m := s.withRoles(t, "Moe", "marketer")
	cust := s.consenting(t, "Cleo")
	bad := variant("a", "Offer A")
	bad["weight"] = 0
	p := problemOf(t, s.do(t, "POST", "/v1/campaigns", m.Token, campaign("Bad", map[string]any{
		"variants": []any{variant("a", "A"), variant("a", "A again"), bad}, "holdoutPercent": 80,
	})), http.StatusUnprocessableEntity)
	for _, f := range []string{"variants[2].weight", "holdoutPercent"} {
		if !slices.Contains(fields(p), f) {
			t.Errorf("problem fields = %v, want %s", fields(p), f)
		}
	}
	p = problemOf(t, s.do(t, "POST", "/v1/campaigns", m.Token, campaign("Dup", map[string]any{
		"variants": []any{variant("a", "A"), variant("a", "A again")},
	})), http.StatusUnprocessableEntity)
	if !slices.Contains(fields(p), "variants[1].id") {
		t.Errorf("problem fields = %v, want variants[1].id", fields(p))
	}
	id := s.launch(t, m.Token, campaign("Decide", map[string]any{"variants": []any{variant("a", "A"), variant("b", "B")}}))
	problemOf(t, s.do(t, "PATCH", "/v1/campaigns/"+id, m.Token, map[string]any{"holdoutPercent": 10}), http.StatusConflict)
	problemOf(t, s.do(t, "POST", "/v1/campaigns/"+id+"/variants/a/stop", cust.Token, nil), http.StatusForbidden)
	problemOf(t, s.do(t, "POST", "/v1/campaigns/"+id+"/variants/zz/stop", m.Token, nil), http.StatusNotFound)
	var c struct {
		Variants []struct {
			ID        string
			StoppedAt *time.Time
		}
		WinnerID string
	}
	want(t, s.do(t, "POST", "/v1/campaigns/"+id+"/variants/a/stop", m.Token, nil), http.StatusOK).Decode(t, &c)
	if c.Variants[0].StoppedAt == nil {
		t.Errorf("variants after stop = %+v, want a stopped", c.Variants)
	}
	problemOf(t, s.do(t, "POST", "/v1/campaigns/"+id+"/variants/b/stop", m.Token, nil), http.StatusConflict) // the last one live
	problemOf(t, s.do(t, "POST", "/v1/campaigns/"+id+"/variants/a/winner", m.Token, nil), http.StatusConflict)
	want(t, s.do(t, "POST", "/v1/campaigns/"+id+"/variants/b/winner", m.Token, nil), http.StatusOK).Decode(t, &c)
	if c.WinnerID != "b" {
		t.Errorf("winnerId = %q, want b", c.WinnerID)
	}
	if got := s.enterZone(t, cust, time.Now().Add(-10*time.Minute)); len(got) != 1 || got[0].Title != "B" {
		t.Errorf("after the winner, a customer got %v, want offer B", got)
	}
}

// offersTo is the offers pushed to token (not the welcome, which comes or
// waits by the hour of the day).
func offersTo(fake *fcmfake.Server, token string) []fcmfake.Received {
	var out []fcmfake.Received
	for _, m := range messagesTo(fake, token) {
		if m.Data["offerId"] != "" {
			out = append(out, m)
		}
	}
	return out
}
