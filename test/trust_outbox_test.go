package test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu/push/fcmfake"
)

// TestTrustOutboxSlowDeviceDoesNotRepeatItsBatchMates: one device answers
// 503 with a Retry-After longer than the lease lets the SDK wait. Its
// batch-mate gets exactly one copy, and the notification's attempts count
// and end in failed, instead of a copy to the healthy device every lease.
func TestTrustOutboxSlowDeviceDoesNotRepeatItsBatchMates(t *testing.T) {
	t.Parallel()
	fake, env := fcmEnv(t)
	env["HYPERLIEU_OUTBOX_LEASE"] = "4s" // the SDK's four waits of 3 s outlive it
	env["HYPERLIEU_OUTBOX_MAX_ATTEMPTS"] = "2"
	fake.FailToken("slow-503", fcmfake.Unavailable, -1)
	fake.SetRetryAfter(3 * time.Second)
	s := startServer(t, env)
	start := time.Now()

	u := s.registerIn(t, "Iris", "en", zoneWhere(t, daytime))
	s.addDevice(t, u, "slow-503")
	s.addDevice(t, u, "healthy")
	admin := s.admin(t)
	welcome := func() notificationJSON {
		for _, n := range s.notifications(t, admin.Token, "/v1/admin/notifications?limit=100").Items {
			if n.UserID == u.ID {
				return n
			}
		}
		return notificationJSON{}
	}
	waitUntil(t, s, 20*time.Second, "the welcome fails on the slow device", func() bool { return welcome().Status == "failed" })
	if n := welcome(); n.Attempts != 2 {
		t.Errorf("welcome: %d attempts, want 2 (the configured maximum)", n.Attempts)
	}
	time.Sleep(time.Until(start.Add(10 * time.Second))) // time for a repeat, were there one
	if got := len(messagesTo(fake, "healthy")); got != 1 {
		t.Errorf("healthy device got %d copies in 10 s, want exactly 1", got)
	}
}

// TestTrustOutboxStatsPushedCountsSentPushes: /stats `pushed` counts offers
// whose push reached a device, when it did, not offers queued: a customer
// with no device never gets one, and is not counted.
func TestTrustOutboxStatsPushedCountsSentPushes(t *testing.T) {
	t.Parallel()
	fake, env := fcmEnv(t)
	env["HYPERLIEU_NEWCOMER_PERIOD"] = "0s"
	env["HYPERLIEU_OUTBOX_DEVICE_GRACE"] = "1s"
	s := startServer(t, env)
	m := s.withRoles(t, "Mara", "marketer")
	id := s.launch(t, m.Token, campaign("Pushed", nil))
	day := zoneWhere(t, daytime)

	withDevice := s.registerIn(t, "Jo", "en", day)
	s.addDevice(t, withDevice, "tok-jo")
	noDevice := s.registerIn(t, "Kai", "en", day)
	for _, u := range []user{withDevice, noDevice} {
		want(t, s.do(t, "PATCH", "/v1/me", u.Token, map[string]any{"locationConsent": true}), http.StatusOK)
		s.report(t, u, out, time.Now().Add(-5*time.Minute), 10)
		if a := s.report(t, u, in, time.Now().Add(-time.Minute), 10); len(a.Triggered) != 1 {
			t.Fatalf("triggered %v, want the campaign", a.Triggered)
		}
	}
	offerPushed := func() bool {
		for _, msg := range messagesTo(fake, "tok-jo") {
			if msg.Data["campaignId"] == id {
				return true
			}
		}
		return false
	}
	waitUntil(t, s, 20*time.Second, "Jo's offer is pushed", offerPushed)
	waitUntil(t, s, 20*time.Second, "pushed counts Jo's push", func() bool { return s.stats(t, m.Token, id).Pushed >= 1 })
	time.Sleep(3 * time.Second) // Kai's offer is suppressed for want of a device meanwhile
	if st := s.stats(t, m.Token, id); st.Triggered != 2 || st.Pushed != 1 {
		t.Errorf("stats = %+v, want 2 triggered and 1 pushed (Kai has no device)", st)
	}
}

// TestTrustOutboxWelcomeSaysTheLimitsOfWhenItIsSent: the welcome states the
// quiet hours and daily limit the customer has when it goes out (here
// changed before their first device arrived), and says it is outside that
// limit.
func TestTrustOutboxWelcomeSaysTheLimitsOfWhenItIsSent(t *testing.T) {
	t.Parallel()
	fake, env := fcmEnv(t)
	s := startServer(t, env)
	day := zoneWhere(t, daytime)
	u := s.registerIn(t, "Lou", "en", day)
	from, to := time.Now().In(day).Add(3*time.Hour).Format("15:04"), time.Now().In(day).Add(4*time.Hour).Format("15:04")
	want(t, s.do(t, "PATCH", "/v1/me", u.Token, map[string]any{
		"quietHours": map[string]any{"from": from, "to": to}, "maxNotificationsPerDay": 7,
	}), http.StatusOK)
	s.addDevice(t, u, "tok-lou")
	waitUntil(t, s, 30*time.Second, "the welcome arrives", func() bool { return len(messagesTo(fake, "tok-lou")) > 0 })
	body := messagesTo(fake, "tok-lou")[0].Body
	for _, w := range []string{"at most 7 messages a day", "between " + from + " and " + to, "Besides this welcome"} {
		if !strings.Contains(body, w) {
			t.Errorf("welcome %q does not say %q", body, w)
		}
	}
}

// TestTrustOutboxEventSequenceGrowsOnEveryChange: two changes and a
// cancellation within one second give three increasing ICS SEQUENCE values,
// so calendars pick up each one.
func TestTrustOutboxEventSequenceGrowsOnEveryChange(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	admin := s.admin(t)
	shop := s.createShop(t, admin.Token, "Atelier", paris)
	id := want(t, s.do(t, "POST", "/v1/shops/"+shop+"/events", admin.Token, eventBody("Soirée", 72*time.Hour, 5)), http.StatusCreated).JSON(t)["id"].(string)
	sequence := func() int {
		body := string(want(t, s.do(t, "GET", "/v1/events/"+id+".ics", "", nil), http.StatusOK).Body)
		for _, line := range strings.Split(body, "\r\n") {
			if v, ok := strings.CutPrefix(line, "SEQUENCE:"); ok {
				n, err := strconv.Atoi(v)
				if err != nil {
					t.Fatalf("SEQUENCE %q", v)
				}
				return n
			}
		}
		t.Fatalf("no SEQUENCE in %s", body)
		return 0
	}
	seqs := []int{sequence()}
	want(t, s.do(t, "PATCH", "/v1/events/"+id, admin.Token, map[string]any{"title": "Soirée jeux"}), http.StatusOK)
	seqs = append(seqs, sequence())
	want(t, s.do(t, "PATCH", "/v1/events/"+id, admin.Token, map[string]any{"capacity": 8}), http.StatusOK)
	seqs = append(seqs, sequence())
	want(t, s.do(t, "POST", "/v1/events/"+id+"/cancel", admin.Token, map[string]any{"reason": "Storm"}), http.StatusOK)
	seqs = append(seqs, sequence())
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Errorf("SEQUENCE after each change = %v, want increasing", seqs)
			break
		}
	}
}
