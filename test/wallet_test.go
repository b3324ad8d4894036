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

// TestOneWalletOneCode claims a reward for points and receives a goodwill
// gesture's offer: both codes are wallet offers, in the one checksummed
// format, listed in GET /v1/me/offers and redeemed once at the till; the
// gesture's only at its shop.
func TestOneWalletOneCode(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"HYPERLIEU_NEWCOMER_PERIOD": "0s"})
	admin := s.admin(t)
	mgr, other := s.withRoles(t, "Manon", "manager"), s.withRoles(t, "Otto", "manager")
	mk := s.withRoles(t, "Marc", "marketer")
	shop := createShop(t, s, admin, mgr)
	r := want(t, s.do(t, "POST", "/v1/shops", admin.Token, map[string]any{
		"name": "Far", "address": "Lyon", "location": map[string]any{"lat": 45.76, "lng": 4.83}, "timezone": "Europe/Paris",
	}), http.StatusCreated)
	far, _ := r.JSON(t)["id"].(string)
	want(t, s.do(t, "POST", "/v1/shops/"+far+"/managers", admin.Token, map[string]any{"userId": other.ID}), http.StatusOK)
	ana := s.register(t, "Ana")

	// A reward bought with points.
	for i := range 3 {
		s.recordActivity(t, admin, ana.ID, "checkin", fmt.Sprintf("checkin:w%d:%s", i, ana.ID), time.Time{})
	}
	var reward struct{ ID string }
	want(t, s.do(t, "POST", "/v1/rewards", mk.Token, map[string]any{"name": "Coffee", "cost": 10}), http.StatusCreated).Decode(t, &reward)
	var claim struct{ Code string }
	want(t, s.do(t, "POST", "/v1/me/rewards/"+reward.ID+"/claim", ana.Token, nil), http.StatusCreated).Decode(t, &claim)

	// A goodwill gesture with an offer.
	var g struct{ Code string }
	want(t, s.do(t, "POST", "/v1/shops/"+shop+"/gestures", mgr.Token, map[string]any{
		"userId": ana.ID, "message": "Sorry for the wait", "offer": map[string]any{"title": "A cake on us"},
	}), http.StatusCreated).Decode(t, &g)

	w := s.wallet(t, ana)
	sources := map[string]string{}
	for _, o := range w {
		sources[o.Code] = o.Title
	}
	if len(w) != 2 || sources[claim.Code] != "Coffee" || sources[g.Code] != "A cake on us" {
		t.Fatalf("wallet = %+v, want the reward's (%s) and the gesture's (%s) offers", w, claim.Code, g.Code)
	}
	for _, o := range w {
		if len(o.Code) != 11 || o.State != "active" {
			t.Errorf("wallet offer %+v: want an active 11-symbol code", o)
		}
	}

	redeem := func(u user, shopID, code string) response {
		return s.do(t, "POST", "/v1/shops/"+shopID+"/redemptions", u.Token, map[string]any{"code": code})
	}
	// The reward redeems at any shop, once.
	want(t, redeem(other, far, strings.ToLower(claim.Code)), http.StatusOK)
	problemOf(t, redeem(mgr, shop, claim.Code), http.StatusConflict)
	// The gesture's offer redeems only at the shop that made it.
	p := problemOf(t, redeem(other, far, g.Code), http.StatusConflict)
	if !strings.Contains(fmt.Sprint(p["detail"]), "shops") {
		t.Errorf("gesture offer at another shop: detail = %v, want the reason", p["detail"])
	}
	want(t, redeem(mgr, shop, g.Code), http.StatusOK)
	for _, o := range s.wallet(t, ana) {
		if o.State != "redeemed" {
			t.Errorf("after redemption: %+v, want redeemed", o)
		}
	}
}

// TestWalletAndInboxAcrossInstances has a shop's managers make goodwill
// gestures to one customer on two instances of one database at once: the
// wallet, read on either, lists every gesture's offer once, and the inbox,
// paged two by two on one, lists the same notifications as one page read
// on the other, newest first, each once (the lists are numbered by unique
// insert, so racing instances never share a number).
func TestWalletAndInboxAcrossInstances(t *testing.T) {
	t.Parallel()
	s1 := startServer(t, map[string]string{"HYPERLIEU_NEWCOMER_PERIOD": "0s"})
	s2 := startServer(t, map[string]string{"MONGO_URI": s1.MongoURI, "HYPERLIEU_NEWCOMER_PERIOD": "0s"})
	admin := s1.admin(t)
	mgr := s1.withRoles(t, "Manon", "manager")
	shop := createShop(t, s1, admin, mgr)
	ana := s1.registerIn(t, "Ana", "en", zoneWhere(t, daytime))
	s1.addDevice(t, ana, "fcm:APA91b-Ana") // else pushes wait for one, out of the inbox
	gesture := func(s *server, i int) response {
		return s.do(inGoroutine{t}, "POST", "/v1/shops/"+shop+"/gestures", mgr.Token, map[string]any{
			"userId": ana.ID, "message": fmt.Sprintf("Sorry %d", i), "offer": map[string]any{"title": fmt.Sprintf("Cake %d", i)},
		})
	}
	const n = 6
	var wg sync.WaitGroup
	for i := range n {
		s := []*server{s1, s2}[i%2]
		wg.Go(func() { want(inGoroutine{t}, gesture(s, i), http.StatusCreated) })
	}
	wg.Wait()

	for _, s := range []*server{s1, s2} {
		codes := map[string]bool{}
		for _, o := range s.wallet(t, ana) {
			codes[o.Code] = true
		}
		if len(codes) != n {
			t.Errorf("wallet has %d distinct offers, want %d", len(codes), n)
		}
	}
	var all []string
	for _, it := range s2.notifications(t, ana.Token, "/v1/me/notifications?limit=100").Items {
		all = append(all, it.ID)
	}
	var paged []string
	for cursor := ""; ; {
		p := s1.notifications(t, ana.Token, "/v1/me/notifications?limit=2&cursor="+cursor)
		for _, it := range p.Items {
			paged = append(paged, it.ID)
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if !slices.Equal(paged, all) || len(all) < n {
		t.Errorf("inbox paged = %v, in one page = %v; want the same, at least the %d gestures", paged, all, n)
	}
	if len(slices.Compact(slices.Sorted(slices.Values(all)))) != len(all) {
		t.Errorf("inbox = %v, want each notification once", all)
	}
}
