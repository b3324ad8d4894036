package test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// Segments follow the fans they describe: complaints are not devotion, and
// staff are not customers in the counts.
func TestTrustSegmentCounts(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"HYPERLIEU_NEWCOMER_PERIOD": "1ms"})
	admin := s.admin(t)
	shopA, manon := s.gestureShop(t, admin, "Marais")
	shopB, _ := s.gestureShop(t, admin, "Bastille")
	marketer := s.withRoles(t, "Mia", "marketer")
	tenDaysAgo := time.Now().Add(-10 * 24 * time.Hour)

	// Each comes once, then rates two shops: Bob complains, Carl praises.
	bob, carl := s.register(t, "Bob"), s.register(t, "Carl")
	rate := func(u user, rating int) {
		for _, shopID := range []string{shopA, shopB} {
			want(t, s.do(t, "POST", "/v1/shops/"+shopID+"/feedback", u.Token, map[string]any{"rating": rating}), http.StatusCreated)
		}
	}
	for _, u := range []user{bob, carl, manon} {
		s.recordActivity(t, admin, u.ID, "checkin", "checkin:past:"+u.ID, tenDaysAgo)
	}
	rate(bob, 1)
	rate(carl, 5)
	rate(manon, 5) // a manager as devoted as Carl, but staff

	var bobFan struct{ Segment, SegmentReason string }
	want(t, s.do(t, "GET", "/v1/admin/users/"+bob.ID, marketer.Token, nil), http.StatusOK).Decode(t, &bobFan)
	if bobFan.Segment != "wandering" || !strings.Contains(bobFan.SegmentReason, "1 in the last 60 days") {
		t.Errorf("Bob, who complained twice, is %s (%q), want wandering: complaints are not devotion", bobFan.Segment, bobFan.SegmentReason)
	}
	var seg struct {
		Counts map[string]int
		Total  int
	}
	want(t, s.do(t, "GET", "/v1/admin/segments", marketer.Token, nil), http.StatusOK).Decode(t, &seg)
	if seg.Counts["devoted"] != 1 || seg.Counts["wandering"] != 1 {
		t.Errorf("counts = %v, want 1 devoted (Carl, not the manager) and 1 wandering (Bob)", seg.Counts)
	}
	if seg.Total != 2 {
		t.Errorf("total = %d (%v), want 2: the admin, managers and the marketer are not customers", seg.Total, seg.Counts)
	}
}
