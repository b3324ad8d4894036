package test

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

type auditEntry struct {
	ID, ActorID, ActorRole, Action, UserID, ShopID, ObjectID, Kind string
	At                                                             time.Time
}

type auditPage struct {
	Items []auditEntry
	Next  string
}

// Every gesture, redemption and hand-recorded activity is in the audit
// trail with who did it, in which role, when and for whom; admins page it.
func TestTrustAuditTrail(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	admin := s.admin(t)
	shopID, manon := s.gestureShop(t, admin, "Marais")
	ana := s.register(t, "Ana")
	start := time.Now().Add(-time.Minute)

	var points, offer struct{ ID, Code string }
	want(t, s.do(t, "POST", "/v1/shops/"+shopID+"/gestures", manon.Token, map[string]any{"userId": ana.ID, "message": "Sorry", "points": 15}), http.StatusCreated).Decode(t, &points)
	want(t, s.do(t, "POST", "/v1/shops/"+shopID+"/gestures", manon.Token, map[string]any{"userId": ana.ID, "message": "Sorry", "offer": map[string]any{"title": "Coffee"}}), http.StatusCreated).Decode(t, &offer)
	var redeemed struct{ ID string }
	want(t, s.do(t, "POST", "/v1/shops/"+shopID+"/redemptions", manon.Token, map[string]any{"code": offer.Code}), http.StatusOK).Decode(t, &redeemed)
	s.recordActivity(t, admin, ana.ID, "checkin", "checkin:desk:"+ana.ID, time.Time{})

	problemOf(t, s.do(t, "GET", "/v1/admin/audit", manon.Token, nil), http.StatusForbidden)
	if p := problemOf(t, s.do(t, "GET", "/v1/admin/audit?limit=0", admin.Token, nil), http.StatusUnprocessableEntity); !slices.Contains(fields(p), "limit") {
		t.Errorf("fields = %v, want limit", fields(p))
	}

	// Two pages of two: oldest first, the cursor leads on, the last page has none.
	var first, second auditPage
	want(t, s.do(t, "GET", "/v1/admin/audit?limit=2", admin.Token, nil), http.StatusOK).Decode(t, &first)
	if len(first.Items) != 2 || first.Next == "" {
		t.Fatalf("first page = %+v, want 2 entries and a cursor", first)
	}
	want(t, s.do(t, "GET", "/v1/admin/audit?limit=2&after="+first.Next, admin.Token, nil), http.StatusOK).Decode(t, &second)
	if len(second.Items) != 2 || second.Next != "" {
		t.Fatalf("second page = %+v, want the last 2 entries and no cursor", second)
	}
	all := append(first.Items, second.Items...)
	wantEntries := []auditEntry{
		{ActorID: manon.ID, ActorRole: "manager", Action: "gesture", UserID: ana.ID, ShopID: shopID, ObjectID: points.ID},
		{ActorID: manon.ID, ActorRole: "manager", Action: "gesture", UserID: ana.ID, ShopID: shopID, ObjectID: offer.ID},
		{ActorID: manon.ID, ActorRole: "manager", Action: "redemption", UserID: ana.ID, ShopID: shopID, ObjectID: redeemed.ID},
		{ActorRole: "admin", Action: "activity", UserID: ana.ID, ObjectID: "checkin:desk:" + ana.ID, Kind: "checkin"},
	}
	for i, e := range all {
		w := wantEntries[i]
		w.ID, w.At = e.ID, e.At
		if w.ActorID == "" {
			w.ActorID = e.ActorID // the admin's id, checked below
		}
		if e != w {
			t.Errorf("entry %d = %+v, want %+v", i, e, w)
		}
		if e.At.Before(start) || e.At.After(time.Now().Add(time.Minute)) {
			t.Errorf("entry %d at %v, want about now", i, e.At)
		}
		if i > 0 && e.ID <= all[i-1].ID {
			t.Errorf("entry ids out of order: %q after %q", e.ID, all[i-1].ID)
		}
	}
	var me struct{ ID string }
	want(t, s.do(t, "GET", "/v1/me", admin.Token, nil), http.StatusOK).Decode(t, &me)
	if all[3].ActorID != me.ID {
		t.Errorf("activity recorded by %q, want the admin %q", all[3].ActorID, me.ID)
	}
}
