package test

import (
	"fmt"
	"net/http"
	"strings"
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
