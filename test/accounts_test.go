package test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRegisterLoginMe(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	r := want(t, s.do(t, "POST", "/v1/auth/register", "", map[string]any{
		"email": "  Ana.Martin@Example.COM ", "password": "correct horse battery", "displayName": "Ana", "locale": "fr", "timezone": "America/Montreal",
	}), http.StatusCreated)
	body := r.JSON(t)
	if body["tokenType"] != "Bearer" || body["expiresIn"].(float64) < 800 || body["expiresIn"].(float64) > 900 {
		t.Errorf("register = %v, want a Bearer token expiring in about 15 minutes", body)
	}
	u := authUser(t, r)
	if u.Email != "ana.martin@example.com" {
		t.Errorf("email = %q, want it trimmed and lower-cased", u.Email)
	}
	me := want(t, s.do(t, "GET", "/v1/me", u.Token, nil), http.StatusOK).JSON(t)
	if me["id"] != u.ID || me["formality"] != "formal" || me["locale"] != "fr" || me["timezone"] != "America/Montreal" || me["locationConsent"] != false {
		t.Errorf("GET /v1/me = %v, want id %s, fr, Montreal, formal, no location consent", me, u.ID)
	}
	if strings.Contains(string(r.Body), "argon2") || strings.Contains(string(r.Body), "password") {
		t.Errorf("register response leaks the password or its hash: %s", r.Body)
	}
	s.login(t, "ANA.martin@example.com ", "correct horse battery")

	problemOf(t, s.do(t, "POST", "/v1/auth/register", "", map[string]any{
		"email": "ana.MARTIN@example.com", "password": "another long one", "displayName": "Ana bis",
	}), http.StatusConflict)

	// What the OpenAPI schema says (length, enum) is checked first, every
	// such field at once; then what only the domain knows.
	p := problemOf(t, s.do(t, "POST", "/v1/auth/register", "", map[string]any{
		"email": "bad", "password": "short", "displayName": "", "locale": "de", "timezone": "Mars/Olympus",
	}), http.StatusUnprocessableEntity)
	if got := fields(p); !slices.Equal(got, []string{"email", "locale", "password"}) {
		t.Errorf("fields = %v, want email, locale, password", got)
	}
	p = problemOf(t, s.do(t, "POST", "/v1/auth/register", "", map[string]any{
		"email": "ok@example.com", "password": "long enough now", "displayName": "", "locale": "fr", "timezone": "Mars/Olympus",
	}), http.StatusUnprocessableEntity)
	if got := fields(p); !slices.Equal(got, []string{"displayName", "timezone"}) {
		t.Errorf("fields = %v, want displayName, timezone", got)
	}
	if logs := s.Logs(); strings.Contains(logs, "correct horse battery") || strings.Contains(logs, u.Refresh) {
		t.Errorf("a password or refresh token reached the logs")
	}
}

func TestBadRequestsGetProblems(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	u := s.register(t, "Bea")
	big := `{"email":"` + strings.Repeat("a", 1<<20+10) + `"}`
	tests := []struct {
		name, method, path, token string
		body                      any
		status                    int
		field                     string
	}{
		{"malformed JSON", "POST", "/v1/auth/register", "", `{"email": `, 400, ""},
		{"empty body", "POST", "/v1/auth/login", "", "", 400, ""},
		{"array instead of object", "POST", "/v1/auth/login", "", `[1,2]`, 400, ""},
		{"trailing garbage", "POST", "/v1/auth/login", "", `{"email":"a@b.c"} xx`, 400, ""},
		{"wrong type", "POST", "/v1/auth/register", "", `{"email": 5, "password": "0123456789", "displayName": "x"}`, 422, "email"},
		{"wrong nested type", "PATCH", "/v1/me", u.Token, `{"maxNotificationsPerDay": "many"}`, 422, "maxNotificationsPerDay"},
		{"missing refresh token", "POST", "/v1/auth/refresh", "", `{}`, 422, "refreshToken"},
		{"unknown route", "GET", "/v1/nowhere", "", nil, 404, ""},
		{"unknown route outside v1", "GET", "/nowhere", "", nil, 404, ""},
		{"wrong method", "GET", "/v1/auth/login", "", nil, 405, ""},
		{"no token", "GET", "/v1/me", "", nil, 401, ""},
		{"garbage token", "GET", "/v1/me", "garbage", nil, 401, ""},
		{"alg none token", "GET", "/v1/me", noneToken(u.ID), nil, 401, ""},
		{"tampered token", "GET", "/v1/me", tamper(u.Token), nil, 401, ""},
		{"customer on admin route", "POST", "/v1/admin/users/" + u.ID + "/roles", u.Token, `{"roles":["admin"]}`, 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := problemOf(t, s.do(t, tt.method, tt.path, tt.token, tt.body), tt.status)
			if tt.field != "" && !slices.Contains(fields(p), tt.field) {
				t.Errorf("problem fields = %v, want %q", fields(p), tt.field)
			}
		})
	}
	t.Run("body too large", func(t *testing.T) {
		problemOf(t, s.announceBody(t, "POST", "/v1/auth/register", len(big)), http.StatusRequestEntityTooLarge)
	})
	if strings.Contains(s.Logs(), `"status":500`) {
		t.Errorf("some request answered 500:\n%s", tail(s.Logs(), 20))
	}
}

// noneToken forges an unsigned token for subject.
func noneToken(sub string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		enc.EncodeToString([]byte(fmt.Sprintf(`{"sub":%q,"roles":["admin"],"iss":"hyperlieu","aud":"hyperlieu-app","exp":4102444800}`, sub))) + "."
}

// tamper grants admin in a real token's payload, keeping its signature.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	payload = []byte(strings.Replace(string(payload), `"roles":["customer"]`, `"roles":["customer","admin"]`, 1))
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]
}

func TestLoginFailures(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	u := s.register(t, "Carl")
	wrong := problemOf(t, s.do(t, "POST", "/v1/auth/login", "", map[string]any{"email": u.Email, "password": "not the password"}), 401)
	unknown := problemOf(t, s.do(t, "POST", "/v1/auth/login", "", map[string]any{"email": "nobody@e2e.test", "password": "not the password"}), 401)
	if wrong["detail"] != unknown["detail"] {
		t.Errorf("wrong password says %q, unknown email says %q; want the same", wrong["detail"], unknown["detail"])
	}
	for range 4 {
		problemOf(t, s.do(t, "POST", "/v1/auth/login", "", map[string]any{"email": u.Email, "password": "still wrong!"}), 401)
	}
	r := s.do(t, "POST", "/v1/auth/login", "", map[string]any{"email": u.Email, "password": "correct horse battery"})
	problemOf(t, r, http.StatusTooManyRequests)
	if r.Header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}
	// Another account from the same address is not locked by Carl's failures.
	other := s.register(t, "Dora")
	s.login(t, other.Email, "correct horse battery")
}

func TestRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	u := s.register(t, "Eve")
	refresh := func(tok string) response {
		return s.do(t, "POST", "/v1/auth/refresh", "", map[string]any{"refreshToken": tok})
	}
	second := authUser(t, want(t, refresh(u.Refresh), http.StatusOK))
	if second.Refresh == u.Refresh || second.Token == "" {
		t.Fatalf("refresh did not rotate the token")
	}
	want(t, s.do(t, "GET", "/v1/me", second.Token, nil), http.StatusOK)
	third := authUser(t, want(t, refresh(second.Refresh), http.StatusOK))

	// Replaying an old token means it leaked: the whole session dies.
	problemOf(t, refresh(u.Refresh), http.StatusUnauthorized)
	problemOf(t, refresh(third.Refresh), http.StatusUnauthorized)

	// Other sessions of the same user are unaffected; logout ends one.
	other := s.login(t, u.Email, "correct horse battery")
	want(t, s.do(t, "GET", "/v1/me", other.Token, nil), http.StatusOK)
	want(t, s.do(t, "POST", "/v1/auth/logout", "", map[string]any{"refreshToken": other.Refresh}), http.StatusNoContent)
	problemOf(t, refresh(other.Refresh), http.StatusUnauthorized)
	// Its access token ends with it, before its expiry; the reused session's too.
	problemOf(t, s.do(t, "GET", "/v1/me", other.Token, nil), http.StatusUnauthorized)
	problemOf(t, s.do(t, "GET", "/v1/me", second.Token, nil), http.StatusUnauthorized)
	problemOf(t, refresh("made-up-token"), http.StatusUnauthorized)
}

func TestPatchMe(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	u := s.register(t, "Fanny")
	me := want(t, s.do(t, "PATCH", "/v1/me", u.Token, map[string]any{
		"displayName": "Fanny B.", "locale": "fr", "timezone": "Europe/Paris", "formality": "familiar",
		"quietHours": map[string]any{"from": "22:30", "to": "07:00"}, "maxNotificationsPerDay": 2,
		"categories": []string{"events", "offers"}, "locationConsent": true, "showInAttendeeLists": true,
	}), http.StatusOK).JSON(t)
	if me["formality"] != "familiar" || me["displayName"] != "Fanny B." || me["locationConsent"] != true ||
		me["quietHours"].(map[string]any)["from"] != "22:30" {
		t.Errorf("PATCH /v1/me = %v", me)
	}
	me = want(t, s.do(t, "PATCH", "/v1/me", u.Token, `{"quietHours": null}`), http.StatusOK).JSON(t)
	if me["quietHours"] != nil || me["formality"] != "familiar" {
		t.Errorf("quietHours: null = %v, want quiet hours removed and the rest kept", me)
	}
	p := problemOf(t, s.do(t, "PATCH", "/v1/me", u.Token, map[string]any{
		"locale": "xx", "timezone": "Nowhere/City", "formality": "rude", "quietHours": map[string]any{"from": "25:00", "to": "7"},
		"maxNotificationsPerDay": -1, "categories": []string{"events", "spam"}, "displayName": "",
	}), http.StatusUnprocessableEntity)
	wantFields := []string{"categories[1]", "formality", "locale", "maxNotificationsPerDay"} // the schema's
	if got := fields(p); !slices.Equal(got, wantFields) {
		t.Errorf("fields = %v, want %v", got, wantFields)
	}
	p = problemOf(t, s.do(t, "PATCH", "/v1/me", u.Token, map[string]any{
		"timezone": "Nowhere/City", "quietHours": map[string]any{"from": "25:00", "to": "7"}, "displayName": "",
	}), http.StatusUnprocessableEntity)
	wantFields = []string{"displayName", "timezone", "quietHours.from", "quietHours.to"} // the domain's
	if got := fields(p); !slices.Equal(got, wantFields) {
		t.Errorf("fields = %v, want %v", got, wantFields)
	}
	after := want(t, s.do(t, "GET", "/v1/me", u.Token, nil), http.StatusOK).JSON(t)
	if after["locale"] != "fr" || after["displayName"] != "Fanny B." {
		t.Errorf("a rejected patch changed the profile: %v", after)
	}
}

func TestRoles(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	admin := s.admin(t)
	u := s.register(t, "Gus")
	path := "/v1/admin/users/" + u.ID + "/roles"
	got := want(t, s.do(t, "POST", path, admin.Token, map[string]any{"roles": []string{"marketer", "manager", "marketer"}}), http.StatusOK).JSON(t)
	if roles := fmt.Sprint(got["roles"]); roles != "[customer manager marketer]" {
		t.Errorf("roles = %s, want [customer manager marketer]", roles)
	}
	p := problemOf(t, s.do(t, "POST", path, admin.Token, map[string]any{"roles": []string{"king"}}), 422)
	if !slices.Contains(fields(p), "roles[0]") {
		t.Errorf("fields = %v, want roles[0]", fields(p))
	}
	problemOf(t, s.do(t, "POST", path, admin.Token, map[string]any{}), 422)
	problemOf(t, s.do(t, "POST", "/v1/admin/users/nobody/roles", admin.Token, map[string]any{"roles": []string{}}), 404)
	problemOf(t, s.do(t, "POST", "/v1/admin/users/"+admin.ID+"/roles", admin.Token, map[string]any{"roles": []string{"customer"}}), 409)
	// A marketer is not an admin.
	m := s.withRoles(t, "Mia", "marketer")
	problemOf(t, s.do(t, "POST", path, m.Token, map[string]any{"roles": []string{"admin"}}), 403)
}

func TestServiceEndpoints(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	want(t, s.do(t, "GET", "/healthz", "", nil), 200)
	r := want(t, s.do(t, "GET", "/readyz", "", nil), 200)
	id := r.Header.Get("X-Request-Id")
	if id == "" {
		t.Errorf("no X-Request-Id on responses")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(s.Logs(), `"request_id":"`+id+`"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no log line carries request_id %s:\n%s", id, tail(s.Logs(), 5))
		}
		time.Sleep(20 * time.Millisecond)
	}
	m := string(want(t, s.do(t, "GET", "/metrics", "", nil), 200).Body)
	for _, series := range []string{"hyperlieu_http_requests_total", "hyperlieu_http_request_duration_seconds_bucket", "go_goroutines", `route="/readyz"`,
		`status_class="2xx"`, "hyperlieu_outbox_due_messages", "hyperlieu_location_reports_total", "hyperlieu_db_operation_duration_seconds_bucket",
		"hyperlieu_auth_throttled_total", "hyperlieu_pushes_total"} {
		if !strings.Contains(m, series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
	doc := want(t, s.do(t, "GET", "/openapi.json", "", nil), 200).JSON(t)
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", doc["openapi"])
	}
	paths := doc["paths"].(map[string]any)
	if _, ok := paths["/v1/admin/users/{id}/roles"]; !ok {
		t.Errorf("OpenAPI lacks /v1/admin/users/{id}/roles; has %v", paths)
	}
}

func TestConfigErrorsStopTheServer(t *testing.T) {
	t.Parallel()
	out, err := runBinary(t, map[string]string{"HYPERLIEU_LOG_LEVEL": "chatty", "HYPERLIEU_BODY_LIMIT": "12"}, "serve")
	if err == nil {
		t.Fatalf("server started with a bad configuration:\n%s", out)
	}
	for _, name := range []string{"HYPERLIEU_LOG_LEVEL", "HYPERLIEU_BODY_LIMIT"} {
		if !strings.Contains(out, name) {
			t.Errorf("error output does not name %s:\n%s", name, out)
		}
	}
}
