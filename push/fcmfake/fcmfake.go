// Package fcmfake is a fake of the FCM HTTP v1 API and of Google's OAuth2 token endpoint, on one loopback server, for tests.
package fcmfake

import (
	"crypto/rsa"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"
)

// Error codes that FailToken accepts, as FCM names them.
const (
	Unregistered        = "UNREGISTERED"           // 404 NOT_FOUND: the token is dead
	InvalidArgument     = "INVALID_ARGUMENT"       // 400: the token is not a valid registration token
	QuotaExceeded       = "QUOTA_EXCEEDED"         // 429 RESOURCE_EXHAUSTED
	Unavailable         = "UNAVAILABLE"            // 503
	Internal            = "INTERNAL"               // 500
	SenderIDMismatch    = "SENDER_ID_MISMATCH"     // 403 PERMISSION_DENIED: the token belongs to another project
	ThirdPartyAuthError = "THIRD_PARTY_AUTH_ERROR" // 401 UNAUTHENTICATED: APNs or Web Push rejected the project's certificate
)

// Received is a message the fake accepted. Messages sent with
// validate_only are answered but not recorded.
type Received struct {
	Project     string // from the URL
	Name        string // the name the fake answered: "projects/{project}/messages/{n}"
	Token       string
	Title, Body string
	Data        map[string]string // as sent, including notificationId

	AndroidTTL         string // as sent, e.g. "3600s"
	AndroidCollapseKey string
	AndroidPriority    string
	APNSHeaders        map[string]string
	WebpushHeaders     map[string]string

	Raw json.RawMessage // the whole request body
}

// Server is the fake. Its zero value is not usable; call New, and Close when done.
// All methods are safe for concurrent use.
type Server struct {
	URL string // base URL, e.g. "http://127.0.0.1:4321"

	srv *httptest.Server

	mu         sync.Mutex
	keys       map[string]*rsa.PublicKey // service-account keys by client_email
	tokens     map[string]tokenInfo      // issued access tokens
	failures   map[string]*failure       // by registration token
	attempts   map[string]int            // send requests by registration token
	retryAfter time.Duration
	latency    time.Duration
	received   []Received
	seq        int
}

type tokenInfo struct {
	scopes  []string
	expires time.Time
}

type failure struct {
	code  string
	times int // < 0: always
}

// New starts a fake on a loopback port.
func New() *Server {
	s := &Server{
		keys:     make(map[string]*rsa.PublicKey),
		tokens:   make(map[string]tokenInfo),
		failures: make(map[string]*failure),
		attempts: make(map[string]int),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("POST /v1/projects/{project}/messages:send", s.send)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down, waiting for requests in flight.
func (s *Server) Close() { s.srv.Close() }

// Endpoint returns the FCM base URL to configure in the client, URL+"/v1".
func (s *Server) Endpoint() string { return s.URL + "/v1" }

// TokenURL returns the OAuth2 token endpoint, URL+"/token".
func (s *Server) TokenURL() string { return s.URL + "/token" }

// FailToken makes the next times sends to the registration token fail with
// code, one of the constants of this package; times < 0 means every send,
// and times == 0 removes the failure. Sends that fail are not recorded.
// It panics on an unknown code.
func (s *Server) FailToken(token, code string, times int) {
	if _, ok := errorReplies[code]; !ok {
		panic("fcmfake: unknown error code " + code)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if times == 0 {
		delete(s.failures, token)
		return
	}
	s.failures[token] = &failure{code: code, times: times}
}

// SetRetryAfter makes QUOTA_EXCEEDED and UNAVAILABLE answers carry a
// Retry-After header of d, in whole seconds; 0, the default, sends none.
// The Firebase SDK waits at least that long before each of its retries of
// UNAVAILABLE, and does not retry at all when d exceeds 2 minutes.
func (s *Server) SetRetryAfter(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retryAfter = d
}

// SetLatency delays every answer to a send by d.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// RevokeTokens forgets every access token issued so far, so that sends with
// them get 401 UNAUTHENTICATED until the client fetches a new one.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// Messages returns copies of the messages accepted so far, in the order they
// arrived.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Received, len(s.received))
	for i, r := range s.received {
		r.Data = maps.Clone(r.Data)
		r.APNSHeaders = maps.Clone(r.APNSHeaders)
		r.WebpushHeaders = maps.Clone(r.WebpushHeaders)
		r.Raw = slices.Clone(r.Raw)
		out[i] = r
	}
	return out
}

// Count returns how many messages were accepted.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.received)
}

// Attempts returns how many authorized send requests named the registration
// token, failed ones included: it shows the SDK's retries.
func (s *Server) Attempts(token string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts[token]
}

// Reset forgets received messages, attempts, scripted failures, Retry-After
// and latency. Service accounts and access tokens stay valid.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received = nil
	clear(s.attempts)
	clear(s.failures)
	s.retryAfter = 0
	s.latency = 0
}

// bearer returns the access token of r, or "".
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}
