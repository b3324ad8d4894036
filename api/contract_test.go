package api

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hyperlieu/hyperlieu/token"
)

// rolesVerifier accepts tokens that list roles ("admin+manager", or
// "customer"), and refuses "bad".
type rolesVerifier struct{}

func (rolesVerifier) Verify(s string) (token.Claims, error) {
	if s == "bad" {
		return token.Claims{}, errors.New("bad token")
	}
	return token.Claims{Roles: strings.Split(s, "+"), RegisteredClaims: jwt.RegisteredClaims{Subject: "u1"}}, nil
}

// TestErrorPathsAreDeclared drives every route through the failures its
// access, body and query parameters allow (no token, a bad one, the wrong
// role, unreadable JSON, another media type, values the schema refuses) and
// fails on any status the document does not declare for the route. The
// end-to-end tests do the same for the statuses use cases answer (404, 409…).
func TestErrorPathsAreDeclared(t *testing.T) {
	var logs bytes.Buffer
	s := New(Services{}, Options{Verifier: rolesVerifier{}}, slog.New(slog.NewJSONHandler(&logs, nil)))
	all := "customer+manager+marketer+admin"
	n := 0
	for _, r := range s.routes {
		path := pathParam.ReplaceAllString(r.path, "x")
		send := func(tok, ct, body, query string) {
			t.Helper()
			var rd io.Reader
			if body != "" {
				rd = strings.NewReader(body)
			}
			req := httptest.NewRequest(r.method, path+query, rd)
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			if tok != "" {
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			res, err := s.App().Test(req)
			if err != nil {
				t.Fatalf("%s %s: %v", r.method, path, err)
			}
			res.Body.Close()
			n++
		}
		send("", "", "", "")
		send("bad", "", "", "")
		send("customer", "", "", "")
		if r.in != nil {
			send(all, "application/json", "{", "")
			send(all, "text/plain", "{}", "")
			send(all, "application/json", "{}", "")
			send(all, "application/json", "[]", "")
		}
		for _, qp := range s.docSchemas.queryParams(r.query) {
			q := url.Values{}
			for _, v := range []string{"abc", "-1", "1e9", "true"} {
				q.Set(qp.name, v)
				send(all, "", "", "?"+q.Encode())
			}
		}
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, undeclaredStatus) {
			t.Error(line)
		}
	}
	if n < 200 {
		t.Errorf("sent %d requests; the route table seems empty", n)
	}
}

// TestValidationNamesTheField checks that the schema refuses wrong types,
// values out of range and bad enums in bodies and queries with a 422 naming
// each field, before any use case runs (the services here are nil).
func TestValidationNamesTheField(t *testing.T) {
	s := New(Services{}, Options{Verifier: rolesVerifier{}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	tests := []struct {
		name, method, path, body string
		fields                   []string
	}{
		{"wrong type", "POST", "/v1/auth/login", `{"email": 3, "password": "x"}`, []string{"email"}},
		{"missing", "POST", "/v1/auth/login", `{"email": "a@b.c"}`, []string{"password"}},
		{"out of range", "POST", "/v1/events/x/feedback", `{"rating": 6}`, []string{"rating"}},
		{"not whole", "POST", "/v1/events/x/feedback", `{"rating": 2.5}`, []string{"rating"}},
		{"bad enum", "POST", "/v1/me/devices", `{"token": "t", "platform": "nokia"}`, []string{"platform"}},
		{"bad enum in array", "POST", "/v1/admin/users/x/roles", `{"roles": ["admin", "boss"]}`, []string{"roles[1]"}},
		{"nested", "POST", "/v1/campaigns", `{"trigger": {"kind": "leave"}, "caps": {"perCustomer": -1}}`, []string{"trigger.kind", "caps.perCustomer"}},
		{"geofence shape", "POST", "/v1/campaigns", `{"geofence": {"type": "Circle"}}`, []string{"geofence"}},
		{"geofence polygon", "POST", "/v1/campaigns", `{"geofence": {"type": "Polygon", "coordinates": [[[1]]]}}`, []string{"geofence.coordinates[0][0]"}},
		{"geofence feature", "POST", "/v1/campaigns", `{"geofence": {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": "x"}}}`, []string{"geofence.geometry.coordinates"}},
		{"circle", "POST", "/v1/campaigns", `{"geofence": {"circles": [{"center": {"lat": 91, "lng": 0}, "radiusM": 50}]}}`, []string{"geofence.circles[0].center.lat"}},
		{"date-time", "POST", "/v1/shops/x/events", `{"startsAt": "tomorrow"}`, []string{"startsAt"}},
		{"query number", "GET", "/v1/nearby?lat=abc&lng=2", "", []string{"lat"}},
		{"query range", "GET", "/v1/nearby?lat=48&lng=2&radius=0&limit=500", "", []string{"radius", "limit"}},
		{"query required", "GET", "/v1/nearby?lng=2", "", []string{"lat"}},
		{"query enum", "GET", "/v1/campaigns?status=lost", "", []string{"status"}},
		{"query boolean", "GET", "/v1/shops/x/feedback?needsAttention=maybe", "", []string{"needsAttention"}},
		{"query date-time", "GET", "/v1/events?from=yesterday", "", []string{"from"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rd io.Reader
			if tt.body != "" {
				rd = strings.NewReader(tt.body)
			}
			req := httptest.NewRequest(tt.method, tt.path, rd)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer customer+manager+marketer+admin")
			res, err := s.App().Test(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != 422 {
				t.Fatalf("status = %d, want 422; body: %s", res.StatusCode, body)
			}
			for _, f := range tt.fields {
				if !strings.Contains(string(body), `"field":"`+f+`"`) {
					t.Errorf("body does not name %s: %s", f, body)
				}
			}
		})
	}
}
