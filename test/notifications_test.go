package test

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones below must resolve on any machine

	"github.com/hyperlieu/hyperlieu/push/fcmfake"
)

// fcmEnv starts a fake FCM (and OAuth token endpoint) and returns it with
// the environment that points the real binary's Firebase client at it, with
// fast retries.
func fcmEnv(t *testing.T) (*fcmfake.Server, map[string]string) {
	t.Helper()
	fake := fcmfake.New()
	t.Cleanup(fake.Close)
	path, err := fake.WriteServiceAccount(t.TempDir(), "hyperlieu-e2e")
	if err != nil {
		t.Fatal(err)
	}
	return fake, map[string]string{
		"HYPERLIEU_FCM_CREDENTIALS_FILE":  path,
		"HYPERLIEU_FCM_ENDPOINT":          fake.Endpoint(),
		"HYPERLIEU_OUTBOX_RETRY_BASE":     "50ms",
		"HYPERLIEU_OUTBOX_MAX_ATTEMPTS":   "3",
		"HYPERLIEU_NOTIFICATION_VALIDITY": "1h",
	}
}

// zoneWhere returns a time zone whose local hour satisfies ok now and for
// the next 15 minutes, so that tests need not depend on when they run.
func zoneWhere(t *testing.T, ok func(hour int) bool) *time.Location {
	t.Helper()
	for _, z := range []string{"Europe/Paris", "America/New_York", "Asia/Tokyo", "America/Los_Angeles", "Asia/Kolkata",
		"Pacific/Auckland", "America/Sao_Paulo", "Asia/Dubai", "Pacific/Honolulu", "Asia/Bangkok", "Australia/Sydney", "Atlantic/Azores"} {
		loc, err := time.LoadLocation(z)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		if ok(now.In(loc).Hour()) && ok(now.Add(15*time.Minute).In(loc).Hour()) {
			return loc
		}
	}
	t.Fatal("no time zone fits")
	return nil
}

func daytime(h int) bool { return h >= 9 && h < 20 }
func night(h int) bool   { return h >= 22 || h < 6 } // inside the default quiet hours, 21:00–08:00

// registerIn creates a customer with a locale and time zone.
func (s *server) registerIn(t *testing.T, name, locale string, loc *time.Location) user {
	t.Helper()
	userSeq.Lock()
	userSeq.n++
	email := fmt.Sprintf("%s-%d@e2e.test", strings.ToLower(name), userSeq.n)
	userSeq.Unlock()
	return authUser(t, want(t, s.do(t, "POST", "/v1/auth/register", "", map[string]any{
		"email": email, "password": "correct horse battery", "displayName": name, "locale": locale, "timezone": loc.String(),
	}), http.StatusCreated))
}

func (s *server) addDevice(t *testing.T, u user, token string) {
	t.Helper()
	want(t, s.do(t, "POST", "/v1/me/devices", u.Token, map[string]any{"token": token, "platform": "android", "appVersion": "1.0"}), http.StatusOK)
}

// waitUntil polls cond until it holds, failing the test after timeout.
func waitUntil(t *testing.T, s *server, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s; server log tail:\n%s", what, tail(s.Logs(), 20))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func messagesTo(fake *fcmfake.Server, token string) []fcmfake.Received {
	var out []fcmfake.Received
	for _, m := range fake.Messages() {
		if m.Token == token {
			out = append(out, m)
		}
	}
	return out
}

type notificationJSON struct {
	ID, UserID, Kind, Title, Body, Status, LastError string
	Category                                         string
	Attempts                                         int
	NotBefore, ExpiresAt                             time.Time
	OpenedAt                                         *time.Time
	MessageIDs                                       []string
	Data                                             map[string]string
}

type pageJSON struct {
	Items      []notificationJSON
	NextCursor string
}

func (s *server) notifications(t *testing.T, token, path string) pageJSON {
	t.Helper()
	var p pageJSON
	want(t, s.do(t, "GET", path, token, nil), http.StatusOK).Decode(t, &p)
	return p
}

func TestNotificationsWelcomeInTheCustomersTone(t *testing.T) {
	t.Parallel()
	fake, env := fcmEnv(t)
	s := startServer(t, env)
	day := zoneWhere(t, daytime)
	tests := []struct {
		name, locale, formality string
		title, inBody           string
	}{
		{"Ana", "fr", "familiar", "Bienvenue chez Hyperlieu, Ana", "on t'enverra au plus 3 messages par jour"},
		{"Bruno", "fr", "formal", "Bienvenue chez Hyperlieu, Bruno", "nous vous enverrons au plus 3 messages par jour"},
		{"Cleo", "en", "familiar", "Welcome to Hyperlieu, Cleo", "we'll send you at most 3 messages a day"},
	}
	users := map[string]user{}
	for _, tt := range tests {
		u := s.registerIn(t, tt.name, tt.locale, day)
		want(t, s.do(t, "PATCH", "/v1/me", u.Token, map[string]any{"formality": tt.formality}), http.StatusOK)
		s.addDevice(t, u, "fcm:APA91b-"+tt.name)
		users[tt.name] = u
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []fcmfake.Received
			waitUntil(t, s, 30*time.Second, "the welcome reaches "+tt.name, func() bool { got = messagesTo(fake, "fcm:APA91b-"+tt.name); return len(got) > 0 })
			m := got[0]
			if len(got) != 1 || m.Title != tt.title || !strings.Contains(m.Body, tt.inBody) {
				t.Errorf("pushes to %s = %d, first %q / %q; want one, %q with %q", tt.name, len(got), m.Title, m.Body, tt.title, tt.inBody)
			}
			ttl, err := strconv.ParseFloat(strings.TrimSuffix(m.AndroidTTL, "s"), 64)
			if err != nil || ttl <= 50*60 || ttl > 3600 {
				t.Errorf("android ttl = %q, want just under the 1h validity", m.AndroidTTL)
			}
			if m.AndroidCollapseKey != "welcome" || m.Data["notificationId"] == "" || m.Data["screen"] != "preferences" {
				t.Errorf("collapse key %q, data %v; want welcome, a notificationId and the deep link", m.AndroidCollapseKey, m.Data)
			}
			// The inbox says the same, in the same tone.
			u := users[tt.name]
			var inbox pageJSON
			waitUntil(t, s, 10*time.Second, "the inbox shows it sent", func() bool {
				inbox = s.notifications(t, u.Token, "/v1/me/notifications")
				return len(inbox.Items) == 1 && inbox.Items[0].Status == "sent"
			})
			n := inbox.Items[0]
			if n.ID != m.Data["notificationId"] || n.Title != m.Title || n.Body != m.Body || n.Kind != "welcome" || len(n.MessageIDs) != 1 {
				t.Errorf("inbox = %+v, want the pushed welcome %s", n, m.Data["notificationId"])
			}
			var opened notificationJSON
			want(t, s.do(t, "POST", "/v1/me/notifications/"+n.ID+"/opened", u.Token, nil), http.StatusOK).Decode(t, &opened)
			var again notificationJSON
			want(t, s.do(t, "POST", "/v1/me/notifications/"+n.ID+"/opened", u.Token, nil), http.StatusOK).Decode(t, &again)
			if opened.OpenedAt == nil || again.OpenedAt == nil || !opened.OpenedAt.Equal(*again.OpenedAt) {
				t.Errorf("openedAt = %v then %v, want set once", opened.OpenedAt, again.OpenedAt)
			}
			other := users["Ana"]
			if tt.name == "Ana" {
				other = users["Bruno"]
			}
			problemOf(t, s.do(t, "POST", "/v1/me/notifications/"+n.ID+"/opened", other.Token, nil), http.StatusNotFound)
		})
	}

	u := users["Ana"]
	p := problemOf(t, s.do(t, "POST", "/v1/me/devices", u.Token, map[string]any{"token": "", "platform": "nokia"}), http.StatusUnprocessableEntity)
	if got := fields(p); !slices.Equal(got, []string{"platform"}) {
		t.Errorf("bad device fields = %v, want platform", got)
	}
	p = problemOf(t, s.do(t, "POST", "/v1/me/devices", u.Token, map[string]any{"token": "", "platform": "ios"}), http.StatusUnprocessableEntity)
	if got := fields(p); !slices.Equal(got, []string{"token"}) {
		t.Errorf("bad device fields = %v, want token", got)
	}
	problemOf(t, s.do(t, "POST", "/v1/me/devices", u.Token, map[string]any{"token": 12}), http.StatusUnprocessableEntity)
	problemOf(t, s.do(t, "DELETE", "/v1/me/devices/fcm:APA91b-Bruno", u.Token, nil), http.StatusNotFound)
	want(t, s.do(t, "DELETE", "/v1/me/devices/fcm:APA91b-Ana", u.Token, nil), http.StatusNoContent)
	problemOf(t, s.do(t, "GET", "/v1/me/notifications?limit=many", u.Token, nil), http.StatusUnprocessableEntity)
	problemOf(t, s.do(t, "GET", "/v1/me/notifications?cursor=nonsense", u.Token, nil), http.StatusUnprocessableEntity)
	problemOf(t, s.do(t, "GET", "/v1/admin/notifications", u.Token, nil), http.StatusForbidden)
	admin := s.admin(t)
	problemOf(t, s.do(t, "GET", "/v1/admin/notifications?status=lost", admin.Token, nil), http.StatusUnprocessableEntity)
	// Pages of one walk the three welcomes newest first.
	var seen []string
	for cursor, pages := "", 0; pages < 5; pages++ {
		p := s.notifications(t, admin.Token, "/v1/admin/notifications?status=sent&limit=1&cursor="+cursor)
		for _, n := range p.Items {
			seen = append(seen, n.UserID)
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if wantOrder := []string{users["Cleo"].ID, users["Bruno"].ID, users["Ana"].ID}; !slices.Equal(seen, wantOrder) {
		t.Errorf("admin pages = %v, want %v", seen, wantOrder)
	}
}

func TestNotificationsDeadTokensRetriesAndDeadLetters(t *testing.T) {
	t.Parallel()
	fake, env := fcmEnv(t)
	fake.FailToken("dead-unregistered", fcmfake.Unregistered, -1)
	fake.FailToken("dead-invalid", fcmfake.InvalidArgument, -1)
	fake.FailToken("always-internal", fcmfake.Internal, -1)
	fake.FailToken("quota-once", fcmfake.QuotaExceeded, 1)
	s := startServer(t, env)
	day := zoneWhere(t, daytime)

	// Dead devices first, so that they are tried no later than the good one.
	a := s.registerIn(t, "Dana", "en", day)
	s.addDevice(t, a, "dead-unregistered")
	s.addDevice(t, a, "dead-invalid")
	s.addDevice(t, a, "good-dana")
	b := s.registerIn(t, "Eve", "en", day)
	s.addDevice(t, b, "always-internal")
	c := s.registerIn(t, "Finn", "en", day)
	s.addDevice(t, c, "quota-once")

	admin := s.admin(t)
	statusOf := func(u user) notificationJSON {
		p := s.notifications(t, admin.Token, "/v1/admin/notifications?limit=100")
		for _, n := range p.Items {
			if n.UserID == u.ID {
				return n
			}
		}
		return notificationJSON{}
	}
	waitUntil(t, s, 30*time.Second, "Dana's welcome is sent", func() bool { return statusOf(a).Status == "sent" })
	if got := len(messagesTo(fake, "good-dana")); got != 1 {
		t.Errorf("good device got %d pushes, want 1", got)
	}
	for _, tok := range []string{"dead-unregistered", "dead-invalid"} {
		if fake.Attempts(tok) == 0 {
			t.Errorf("%s was never tried", tok)
		}
		problemOf(t, s.do(t, "DELETE", "/v1/me/devices/"+tok, a.Token, nil), http.StatusNotFound) // already deleted
	}

	waitUntil(t, s, 30*time.Second, "Eve's welcome fails", func() bool { return statusOf(b).Status == "failed" })
	failed := s.notifications(t, admin.Token, "/v1/admin/notifications?status=failed")
	if len(failed.Items) != 1 || failed.Items[0].UserID != b.ID || failed.Items[0].Attempts != 3 || !strings.Contains(failed.Items[0].LastError, "INTERNAL") {
		t.Errorf("failed notifications = %+v, want Eve's after 3 attempts with INTERNAL", failed.Items)
	}
	if got := fake.Attempts("always-internal"); got != 3 {
		t.Errorf("FCM saw %d attempts for always-internal, want 3", got)
	}

	waitUntil(t, s, 30*time.Second, "Finn's welcome is sent after a retry", func() bool { return statusOf(c).Status == "sent" })
	if n := statusOf(c); n.Attempts != 2 || fake.Attempts("quota-once") != 2 || len(messagesTo(fake, "quota-once")) != 1 {
		t.Errorf("Finn: %d attempts, FCM saw %d, got %d; want 2, 2 and one push", n.Attempts, fake.Attempts("quota-once"), len(messagesTo(fake, "quota-once")))
	}
}

func TestNotificationsQuietHoursDefer(t *testing.T) {
	t.Parallel()
	fake, env := fcmEnv(t)
	env["HYPERLIEU_NOTIFICATION_VALIDITY"] = "24h" // with 1h, a welcome queued at night would expire unsent
	s := startServer(t, env)
	nightZone, dayZone := zoneWhere(t, night), zoneWhere(t, daytime)

	sleeper := s.registerIn(t, "Gus", "fr", nightZone) // default quiet hours 21:00–08:00
	s.addDevice(t, sleeper, "tok-night")
	awake := s.registerIn(t, "Hana", "fr", dayZone)
	s.addDevice(t, awake, "tok-day")
	waitUntil(t, s, 30*time.Second, "the daytime welcome arrives", func() bool { return len(messagesTo(fake, "tok-day")) > 0 })

	if got := messagesTo(fake, "tok-night"); len(got) != 0 {
		t.Errorf("pushed during quiet hours: %+v", got)
	}
	lt := time.Now().In(nightZone)
	if lt.Hour() >= 8 {
		lt = lt.AddDate(0, 0, 1)
	}
	wantAt := time.Date(lt.Year(), lt.Month(), lt.Day(), 8, 0, 0, 0, nightZone)
	pending := s.notifications(t, s.admin(t).Token, "/v1/admin/notifications?status=pending")
	if len(pending.Items) != 1 || pending.Items[0].UserID != sleeper.ID || !pending.Items[0].NotBefore.Equal(wantAt) {
		t.Errorf("pending = %+v, want Gus's welcome not before %v", pending.Items, wantAt)
	}
	if inbox := s.notifications(t, sleeper.Token, "/v1/me/notifications"); len(inbox.Items) != 0 {
		t.Errorf("inbox during quiet hours = %+v, want empty until 08:00", inbox.Items)
	}
}

// TestNotificationsCrashMidSend kills the server while it sends a large
// batch and restarts it on the same data: every welcome ends sent, none is
// lost, and duplicates are bounded by the batch in flight at the crash and
// carry the same notification id.
func TestNotificationsCrashMidSend(t *testing.T) {
	t.Parallel()
	fake, env := fcmEnv(t)
	const users, batch = 60, 10
	env["HYPERLIEU_DATA_DIR"] = t.TempDir()
	env["HYPERLIEU_EMBEDDED_DB_ADDR"] = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	env["HYPERLIEU_OUTBOX_BATCH"] = strconv.Itoa(batch)
	env["HYPERLIEU_OUTBOX_LEASE"] = "2s"
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for k, v := range env {
			if _, ok := m[k]; !ok {
				m[k] = v
			}
		}
		return m
	}

	// Queue the welcomes with the outbox off.
	s1 := startServer(t, with("HYPERLIEU_OUTBOX_WORKERS", "0"))
	day := zoneWhere(t, daytime)
	for i := range users {
		u := s1.registerIn(t, fmt.Sprint("Crash", i), "en", day)
		s1.addDevice(t, u, fmt.Sprint("crash-", i))
	}
	s1.Stop(t)

	fake.SetLatency(100 * time.Millisecond)
	s2 := startServer(t, env)
	waitUntil(t, s2, 60*time.Second, "a third is sent", func() bool { return fake.Count() >= users/3 })
	s2.Kill(t)
	atKill := fake.Count()
	fake.SetLatency(0)

	s3 := startServer(t, env)
	admin := s3.admin(t)
	waitUntil(t, s3, 60*time.Second, "every welcome is sent", func() bool {
		return len(s3.notifications(t, admin.Token, "/v1/admin/notifications?status=sent&limit=100").Items) == users
	})
	perID := map[string]int{}
	for _, m := range fake.Messages() {
		perID[m.Data["notificationId"]]++
	}
	dups := fake.Count() - len(perID)
	if len(perID) != users {
		t.Errorf("%d distinct notifications reached FCM, want %d", len(perID), users)
	}
	if dups > batch {
		t.Errorf("%d duplicates, want at most one batch (%d)", dups, batch)
	}
	t.Logf("killed after %d pushes; %d duplicates (each with its notification id)", atKill, dups)
}

func TestNotificationsWithoutFirebaseAreLogged(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	if !strings.Contains(s.Logs(), "pushes are only written to the log") {
		t.Errorf("the server does not say that pushes are only logged:\n%s", tail(s.Logs(), 20))
	}
	u := s.registerIn(t, "Ivy", "fr", zoneWhere(t, daytime))
	s.addDevice(t, u, "log-token")
	waitUntil(t, s, 30*time.Second, "the welcome is logged", func() bool {
		return strings.Contains(s.Logs(), "Bienvenue chez Hyperlieu, Ivy")
	})
	if strings.Contains(s.Logs(), "log-token") {
		t.Errorf("the push log shows the device token; it must be masked")
	}
}

func TestNotificationsBrokenCredentialsRefuseToStart(t *testing.T) {
	t.Parallel()
	bad := t.TempDir() + "/sa.json"
	if err := os.WriteFile(bad, []byte(`{"type": "service_account", "client_email": "x@y", "private_key": "not a key"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "serve")
	cmd.Env = []string{"HYPERLIEU_ADDR=127.0.0.1:0", "HYPERLIEU_DATA_DIR=" + t.TempDir(), "HYPERLIEU_FCM_CREDENTIALS_FILE=" + bad,
		"HYPERLIEU_EMBEDDED_DB_ADDR=127.0.0.1:0", "PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("server started with broken credentials:\n%s", out)
	}
	if !strings.Contains(string(out), "HYPERLIEU_FCM_CREDENTIALS_FILE") || !strings.Contains(string(out), "private_key") || strings.Contains(string(out), "not a key") {
		t.Errorf("output = %s\nwant a message naming the variable and the problem, without the key", out)
	}
}
