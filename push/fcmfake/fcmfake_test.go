package fcmfake_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu/push/fcmfake"
)

// serviceAccount is the part of a key the tests sign with.
type serviceAccount struct {
	PrivateKey  string `json:"private_key"`
	ClientEmail string `json:"client_email"`
	TokenURI    string `json:"token_uri"`
}

func newFake(t *testing.T) *fcmfake.Server {
	t.Helper()
	srv := fcmfake.New()
	t.Cleanup(srv.Close)
	return srv
}

// assertion signs a JWT-bearer grant for sa with key, as Google's libraries do.
func assertion(t *testing.T, sa serviceAccount, key *rsa.PrivateKey, scope string) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	now := time.Now().Unix()
	signed := enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." +
		enc(map[string]any{"iss": sa.ClientEmail, "scope": scope, "aud": sa.TokenURI, "iat": now, "exp": now + 3600})
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// account returns a new service account of srv and its private key.
func account(t *testing.T, srv *fcmfake.Server) (serviceAccount, *rsa.PrivateKey) {
	t.Helper()
	var sa serviceAccount
	if err := json.Unmarshal(srv.ServiceAccountJSON("p"), &sa); err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(sa.PrivateKey))
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return sa, k.(*rsa.PrivateKey)
}

// post sends a form or JSON body and returns the status, the decoded JSON body and the headers.
func post(t *testing.T, u, bearer, contentType, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", b, err)
	}
	return resp.StatusCode, m, resp.Header
}

func grant(jwt string) string {
	return url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {jwt}}.Encode()
}

func TestToken(t *testing.T) {
	srv := newFake(t)
	sa, key := account(t, srv)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	const scope = "https://www.googleapis.com/auth/firebase.messaging"
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantError  string // the OAuth error code
	}{
		{"signed by the account's key", grant(assertion(t, sa, key, scope)), http.StatusOK, ""},
		{"signed by another key", grant(assertion(t, sa, other, scope)), http.StatusBadRequest, "invalid_grant"},
		{"unknown account", grant(assertion(t, serviceAccount{ClientEmail: "x@p.iam.gserviceaccount.com", TokenURI: sa.TokenURI}, key, scope)), http.StatusBadRequest, "invalid_grant"},
		{"another audience", grant(assertion(t, serviceAccount{ClientEmail: sa.ClientEmail, TokenURI: "https://oauth2.googleapis.com/token"}, key, scope)), http.StatusBadRequest, "invalid_grant"},
		{"not a JWT", grant("abc"), http.StatusBadRequest, "invalid_grant"},
		{"another grant", "grant_type=client_credentials", http.StatusBadRequest, "unsupported_grant_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, _ := post(t, srv.TokenURL(), "", "application/x-www-form-urlencoded", tt.body)
			if status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %v", status, tt.wantStatus, body)
			}
			if tt.wantError != "" {
				if body["error"] != tt.wantError {
					t.Errorf("error = %v, want %q", body["error"], tt.wantError)
				}
				return
			}
			if tok, _ := body["access_token"].(string); tok == "" || body["token_type"] != "Bearer" || body["expires_in"] != 3600.0 {
				t.Errorf("body = %v, want a Bearer access_token expiring in 3600 s", body)
			}
		})
	}
}

func TestSend(t *testing.T) {
	srv := newFake(t)
	sa, key := account(t, srv)
	_, tb, _ := post(t, srv.TokenURL(), "", "application/x-www-form-urlencoded",
		grant(assertion(t, sa, key, "https://www.googleapis.com/auth/firebase.messaging")))
	token := tb["access_token"].(string)
	_, tb, _ = post(t, srv.TokenURL(), "", "application/x-www-form-urlencoded", grant(assertion(t, sa, key, "email")))
	narrow := tb["access_token"].(string)

	srv.SetRetryAfter(30 * time.Second)
	srv.FailToken("dead", fcmfake.Unregistered, -1)
	srv.FailToken("bogus", fcmfake.InvalidArgument, -1)
	srv.FailToken("busy", fcmfake.QuotaExceeded, 1)
	sendURL := srv.Endpoint() + "/projects/p/messages:send"
	msg := func(tok string) string { return `{"message":{"token":"` + tok + `","notification":{"title":"T"}}}` }

	tests := []struct {
		name           string
		bearer, body   string
		wantStatus     int
		wantError      map[string]any // the whole "error" member
		wantRetryAfter string
	}{
		{name: "accepted", bearer: token, body: msg("ok"), wantStatus: http.StatusOK},
		{name: "no token", body: msg("ok"), wantStatus: http.StatusUnauthorized, wantError: map[string]any{
			"code": 401.0, "status": "UNAUTHENTICATED",
			"message": "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
		}},
		{name: "scope without messaging", bearer: narrow, body: msg("ok"), wantStatus: http.StatusForbidden, wantError: map[string]any{
			"code": 403.0, "status": "PERMISSION_DENIED", "message": "Request had insufficient authentication scopes.",
		}},
		{name: "unregistered", bearer: token, body: msg("dead"), wantStatus: http.StatusNotFound, wantError: map[string]any{
			"code": 404.0, "status": "NOT_FOUND", "message": "Requested entity was not found.",
			"details": []any{map[string]any{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}},
		}},
		{name: "invalid registration token", bearer: token, body: msg("bogus"), wantStatus: http.StatusBadRequest, wantError: map[string]any{
			"code": 400.0, "status": "INVALID_ARGUMENT", "message": "The registration token is not a valid FCM registration token",
			"details": []any{
				map[string]any{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "INVALID_ARGUMENT"},
				map[string]any{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": []any{map[string]any{
					"field": "message.token", "description": "The registration token is not a valid FCM registration token"}}},
			},
		}},
		{name: "quota exceeded once", bearer: token, body: msg("busy"), wantStatus: http.StatusTooManyRequests, wantRetryAfter: "30"},
		{name: "then accepted", bearer: token, body: msg("busy"), wantStatus: http.StatusOK},
		{name: "reserved data key", bearer: token, body: `{"message":{"token":"ok","data":{"from":"x"}}}`, wantStatus: http.StatusBadRequest},
		{name: "unknown field", bearer: token, body: `{"message":{"token":"ok","ttl":"3s"}}`, wantStatus: http.StatusBadRequest},
		{name: "two targets", bearer: token, body: `{"message":{"token":"ok","topic":"news"}}`, wantStatus: http.StatusBadRequest},
		{name: "bad android ttl", bearer: token, body: `{"message":{"token":"ok","android":{"ttl":"1h"}}}`, wantStatus: http.StatusBadRequest},
		{name: "bad web push topic", bearer: token, body: `{"message":{"token":"ok","webpush":{"headers":{"Topic":"a b"}}}}`, wantStatus: http.StatusBadRequest},
		{name: "validate only", bearer: token, body: `{"validate_only":true,"message":{"token":"dry"}}`, wantStatus: http.StatusOK},
	}
	for _, tt := range tests { // in order: the quota case scripts one failure
		t.Run(tt.name, func(t *testing.T) {
			status, body, h := post(t, sendURL, tt.bearer, "application/json", tt.body)
			if status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %v", status, tt.wantStatus, body)
			}
			if status == http.StatusOK {
				if name, _ := body["name"].(string); !strings.HasPrefix(name, "projects/p/messages/") {
					t.Errorf("body = %v, want a message name", body)
				}
				return
			}
			if e, _ := body["error"].(map[string]any); tt.wantError != nil && !reflect.DeepEqual(e, tt.wantError) {
				t.Errorf("error =\n%v\nwant\n%v", e, tt.wantError)
			}
			if got := h.Get("Retry-After"); got != tt.wantRetryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.wantRetryAfter)
			}
		})
	}

	if got := srv.Count(); got != 2 { // "ok" and the second "busy"; not the dry run
		t.Errorf("Count() = %d, want 2", got)
	}
	if got := srv.Attempts("busy"); got != 2 {
		t.Errorf(`Attempts("busy") = %d, want 2`, got)
	}
	msgs := srv.Messages()
	if len(msgs) == 0 || msgs[0].Token != "ok" || msgs[0].Title != "T" || msgs[0].Project != "p" || !json.Valid(msgs[0].Raw) {
		t.Errorf("Messages()[0] = %+v, want token ok, title T, project p and the raw body", msgs)
	}
	srv.Reset()
	if srv.Count() != 0 || srv.Attempts("busy") != 0 {
		t.Errorf("after Reset: Count() = %d, Attempts = %d; want 0, 0", srv.Count(), srv.Attempts("busy"))
	}
	if status, _, _ := post(t, sendURL, token, "application/json", msg("dead")); status != http.StatusOK {
		t.Errorf("after Reset a scripted failure still answers %d", status)
	}
}
