package push_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu/push"
	"github.com/hyperlieu/hyperlieu/push/fcmfake"
)

const project = "hyperlieu-test"

var (
	_ push.Sender = (*push.Client)(nil)
	_ push.Sender = (*push.Log)(nil)
)

// newFake starts a fake FCM that is closed when the test ends.
func newFake(t testing.TB) *fcmfake.Server {
	t.Helper()
	srv := fcmfake.New()
	t.Cleanup(srv.Close)
	return srv
}

// newClient returns a Client with a new service account of srv.
func newClient(t testing.TB, srv *fcmfake.Server) *push.Client {
	t.Helper()
	c, err := push.New(t.Context(), push.Options{
		CredentialsJSON: srv.ServiceAccountJSON(project),
		Endpoint:        srv.Endpoint(),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// byToken indexes what the fake received by registration token.
func byToken(msgs []fcmfake.Received) map[string]fcmfake.Received {
	m := make(map[string]fcmfake.Received, len(msgs))
	for _, r := range msgs {
		m[r.Token] = r
	}
	return m
}

func hashed(key string) string {
	sum := sha256.Sum256([]byte(key))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestSendDelivers(t *testing.T) {
	long := strings.Repeat("campaign-", 8) // 72 bytes: too long for APNs and Web Push
	tests := []struct {
		name        string
		msg         push.Message
		want        fcmfake.Received // Project, Name, Raw and apns-expiration not compared
		wantExpires time.Duration    // apns-expiration minus now; 0 means absent
	}{
		{
			name: "android with ttl and collapse key",
			msg: push.Message{ID: "n1", Token: "tok-android", Platform: "android", Title: "50% off", Body: "Tonight only",
				Data: map[string]string{"campaign": "c1", "url": "hyperlieu://offers/7"}, CollapseKey: "campaign-c1", TTL: time.Hour},
			want: fcmfake.Received{Token: "tok-android", Title: "50% off", Body: "Tonight only",
				Data:       map[string]string{"campaign": "c1", "url": "hyperlieu://offers/7", "notificationId": "n1"},
				AndroidTTL: "3600s", AndroidCollapseKey: "campaign-c1", AndroidPriority: "high",
				APNSHeaders:    map[string]string{"apns-priority": "10", "apns-collapse-id": "campaign-c1"},
				WebpushHeaders: map[string]string{"Urgency": "high", "TTL": "3600", "Topic": "campaign-c1"}},
			wantExpires: time.Hour,
		},
		{
			name: "ios without ttl or collapse key",
			msg:  push.Message{ID: "n2", Token: "tok-ios", Platform: "ios", Title: "Hi", Body: "There"},
			want: fcmfake.Received{Token: "tok-ios", Title: "Hi", Body: "There",
				Data: map[string]string{"notificationId": "n2"}, AndroidPriority: "high",
				APNSHeaders:    map[string]string{"apns-priority": "10"},
				WebpushHeaders: map[string]string{"Urgency": "high"}},
		},
		{
			name: "web with sub-second ttl rounded down",
			msg:  push.Message{ID: "n3", Token: "tok-web", Platform: "web", Title: "T", Body: "B", TTL: 1500 * time.Millisecond},
			want: fcmfake.Received{Token: "tok-web", Title: "T", Body: "B",
				Data: map[string]string{"notificationId": "n3"}, AndroidTTL: "1s", AndroidPriority: "high",
				APNSHeaders:    map[string]string{"apns-priority": "10"},
				WebpushHeaders: map[string]string{"Urgency": "high", "TTL": "1"}},
			wantExpires: time.Second,
		},
		{
			name: "ttl over four weeks capped",
			msg:  push.Message{ID: "n4", Token: "tok-long-ttl", Title: "T", TTL: 60 * 24 * time.Hour},
			want: fcmfake.Received{Token: "tok-long-ttl", Title: "T",
				Data: map[string]string{"notificationId": "n4"}, AndroidTTL: "2419200s", AndroidPriority: "high",
				APNSHeaders:    map[string]string{"apns-priority": "10"},
				WebpushHeaders: map[string]string{"Urgency": "high", "TTL": "2419200"}},
			wantExpires: 28 * 24 * time.Hour,
		},
		{
			name: "long collapse key hashed for apns and web push",
			msg:  push.Message{ID: "n5", Token: "tok-long-key", Title: "T", CollapseKey: long},
			want: fcmfake.Received{Token: "tok-long-key", Title: "T",
				Data: map[string]string{"notificationId": "n5"}, AndroidCollapseKey: long, AndroidPriority: "high",
				APNSHeaders:    map[string]string{"apns-priority": "10", "apns-collapse-id": hashed(long)},
				WebpushHeaders: map[string]string{"Urgency": "high", "Topic": hashed(long)[:32]}},
		},
		{
			name: "collapse key outside base64url hashed for web push only",
			msg:  push.Message{ID: "n6", Token: "tok-odd-key", Title: "T", CollapseKey: "event:42"},
			want: fcmfake.Received{Token: "tok-odd-key", Title: "T",
				Data: map[string]string{"notificationId": "n6"}, AndroidCollapseKey: "event:42", AndroidPriority: "high",
				APNSHeaders:    map[string]string{"apns-priority": "10", "apns-collapse-id": "event:42"},
				WebpushHeaders: map[string]string{"Urgency": "high", "Topic": hashed("event:42")[:32]}},
		},
		{
			name: "notification id wins over data",
			msg:  push.Message{ID: "n7", Token: "tok-data", Body: "B", Data: map[string]string{"notificationId": "spoof"}},
			want: fcmfake.Received{Token: "tok-data", Body: "B",
				Data: map[string]string{"notificationId": "n7"}, AndroidPriority: "high",
				APNSHeaders:    map[string]string{"apns-priority": "10"},
				WebpushHeaders: map[string]string{"Urgency": "high"}},
		},
	}

	// One batch for all cases, as the outbox sends them.
	srv := newFake(t)
	c := newClient(t, srv)
	msgs := make([]push.Message, len(tests))
	for i, tt := range tests {
		msgs[i] = tt.msg
	}
	start := time.Now()
	results, err := c.Send(t.Context(), msgs)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if len(results) != len(msgs) {
		t.Fatalf("Send returned %d results, want %d", len(results), len(msgs))
	}
	got := byToken(srv.Messages())

	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := results[i]; r.Err != nil || !strings.HasPrefix(r.MessageID, "projects/"+project+"/messages/") {
				t.Errorf("result = %+v, want a message name of project %s", r, project)
			}
			g, ok := got[tt.msg.Token]
			if !ok {
				t.Fatalf("fake did not receive token %s", tt.msg.Token)
			}
			checkExpiration(t, g.APNSHeaders, start, tt.wantExpires)
			if g.Project != project {
				t.Errorf("project = %q, want %q", g.Project, project)
			}
			g.Project, g.Name, g.Raw = "", "", nil
			if !reflect.DeepEqual(g, tt.want) {
				t.Errorf("fake received\n%+v\nwant\n%+v", g, tt.want)
			}
		})
	}
}

// checkExpiration checks and removes the apns-expiration header.
func checkExpiration(t *testing.T, h map[string]string, start time.Time, want time.Duration) {
	t.Helper()
	v, ok := h["apns-expiration"]
	delete(h, "apns-expiration")
	if want == 0 {
		if ok {
			t.Errorf("apns-expiration = %q, want none", v)
		}
		return
	}
	got, err := strconv.ParseInt(v, 10, 64)
	if lo, hi := start.Add(want).Unix()-1, time.Now().Add(want).Unix(); err != nil || got < lo || got > hi {
		t.Errorf("apns-expiration = %q, want between %d and %d", v, lo, hi)
	}
}

func TestSendErrors(t *testing.T) {
	type outcome int
	const (
		ok outcome = iota
		unregistered
		temporary
		permanent
	)
	tests := []struct {
		name           string
		msg            push.Message                            // the message under test; two good ones surround it
		script         func(srv *fcmfake.Server, token string) // may be nil
		want           outcome
		wantCode       string        // TemporaryError.Code
		wantRetryAfter time.Duration // TemporaryError.RetryAfter
		wantAttempts   int           // sends of the token that reached the fake
	}{
		{name: "unregistered", script: fail(fcmfake.Unregistered, -1), want: unregistered, wantAttempts: 1},
		{name: "invalid registration token", script: fail(fcmfake.InvalidArgument, -1), want: unregistered, wantAttempts: 1},
		{name: "quota exceeded honours Retry-After, not retried by the SDK",
			script: func(srv *fcmfake.Server, tok string) {
				srv.SetRetryAfter(42 * time.Second)
				srv.FailToken(tok, fcmfake.QuotaExceeded, -1)
			},
			want: temporary, wantCode: "QUOTA_EXCEEDED", wantRetryAfter: 42 * time.Second, wantAttempts: 1},
		{name: "quota exceeded without Retry-After", script: fail(fcmfake.QuotaExceeded, -1),
			want: temporary, wantCode: "QUOTA_EXCEEDED", wantAttempts: 1},
		{name: "internal, not retried by the SDK", script: fail(fcmfake.Internal, -1),
			want: temporary, wantCode: "INTERNAL", wantAttempts: 1},
		{name: "unavailable once, retried at once by the SDK", script: fail(fcmfake.Unavailable, 1),
			want: ok, wantAttempts: 2},
		// The slow case: the SDK retries 4 times after 0, 1, 2 and 4 s.
		{name: "unavailable always, after the SDK's retries", script: fail(fcmfake.Unavailable, -1),
			want: temporary, wantCode: "UNAVAILABLE", wantAttempts: 5},
		{name: "unavailable with Retry-After over 2 minutes, which the SDK does not wait for",
			script: func(srv *fcmfake.Server, tok string) {
				srv.SetRetryAfter(3 * time.Minute)
				srv.FailToken(tok, fcmfake.Unavailable, -1)
			},
			want: temporary, wantCode: "UNAVAILABLE", wantRetryAfter: 3 * time.Minute, wantAttempts: 1},
		{name: "sender id mismatch", script: fail(fcmfake.SenderIDMismatch, -1), want: permanent, wantAttempts: 1},
		{name: "third-party auth error", script: fail(fcmfake.ThirdPartyAuthError, -1), want: permanent, wantAttempts: 1},
		{name: "invalid payload", msg: push.Message{Data: map[string]string{"google.reserved": "x"}},
			want: permanent, wantAttempts: 1},
		{name: "no token", msg: push.Message{Token: "-"}, want: permanent},
		{name: "negative ttl", msg: push.Message{TTL: -time.Second}, want: permanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // the slow case overlaps the rest
			srv := newFake(t)
			c := newClient(t, srv)
			m := tt.msg
			m.ID, m.Title = "n-bad", "T"
			switch m.Token {
			case "":
				m.Token = "tok-bad"
			case "-":
				m.Token = ""
			}
			if tt.script != nil {
				tt.script(srv, m.Token)
			}
			msgs := []push.Message{
				{ID: "n-1", Token: "tok-1", Title: "T"},
				m,
				{ID: "n-2", Token: "tok-2", Title: "T"},
			}

			results, err := c.Send(t.Context(), msgs)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			for _, i := range []int{0, 2} {
				if results[i].Err != nil || results[i].MessageID == "" {
					t.Errorf("results[%d] = %+v, want success", i, results[i])
				}
			}
			r := results[1]
			var te *push.TemporaryError
			switch tt.want {
			case ok:
				if r.Err != nil || r.MessageID == "" {
					t.Errorf("result = %+v, want success", r)
				}
			case unregistered:
				if !errors.Is(r.Err, push.ErrUnregistered) {
					t.Errorf("error = %v, want ErrUnregistered", r.Err)
				}
			case temporary:
				if !errors.As(r.Err, &te) {
					t.Fatalf("error = %v, want a TemporaryError", r.Err)
				}
				if te.Code != tt.wantCode || te.RetryAfter != tt.wantRetryAfter {
					t.Errorf("TemporaryError{Code: %q, RetryAfter: %v}, want {%q, %v}", te.Code, te.RetryAfter, tt.wantCode, tt.wantRetryAfter)
				}
			case permanent:
				if r.Err == nil || errors.Is(r.Err, push.ErrUnregistered) || errors.As(r.Err, &te) {
					t.Errorf("error = %v, want a permanent error", r.Err)
				}
			}
			if tt.want != ok && r.MessageID != "" {
				t.Errorf("MessageID = %q for a failure, want empty", r.MessageID)
			}
			if got := srv.Attempts(m.Token); got != tt.wantAttempts {
				t.Errorf("fake got %d sends for the token, want %d", got, tt.wantAttempts)
			}
		})
	}
}

func fail(code string, times int) func(*fcmfake.Server, string) {
	return func(srv *fcmfake.Server, tok string) { srv.FailToken(tok, code, times) }
}

func TestSendChunks(t *testing.T) {
	const n = 1200 // more than the 500 in flight at once
	srv := newFake(t)
	c := newClient(t, srv)
	msgs := make([]push.Message, n)
	for i := range msgs {
		msgs[i] = push.Message{ID: fmt.Sprint("n", i), Token: fmt.Sprint("tok-", i), Title: "T"}
	}
	msgs[10].Token = ""                                // never sent: shifts the rest within the SDK's batches
	srv.FailToken("tok-700", fcmfake.Unregistered, -1) // in the second chunk

	results, err := c.Send(t.Context(), msgs)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if len(results) != n {
		t.Fatalf("Send returned %d results, want %d", len(results), n)
	}
	if got, want := srv.Count(), n-2; got != want {
		t.Errorf("fake received %d messages, want %d", got, want)
	}
	names := make(map[string]bool)
	for _, r := range srv.Messages() {
		names[r.Name] = true
	}
	for i, r := range results {
		switch i {
		case 10:
			if r.Err == nil {
				t.Errorf("results[10] = %+v, want an error for the missing token", r)
			}
		case 700:
			if !errors.Is(r.Err, push.ErrUnregistered) {
				t.Errorf("results[700].Err = %v, want ErrUnregistered", r.Err)
			}
		default:
			if r.Err != nil || !names[r.MessageID] {
				t.Errorf("results[%d] = %+v, want a name the fake gave", i, r)
			}
			delete(names, r.MessageID) // each name once
		}
	}
}

func TestSendBatchFailures(t *testing.T) {
	msgs := []push.Message{{ID: "n1", Token: "tok-1", Title: "T"}}
	tests := []struct {
		name  string
		setup func(t *testing.T, srv *fcmfake.Server, c *push.Client) (context.Context, *push.Client)
		is    error // the error must wrap it, if not nil
	}{
		{
			name: "context cancelled",
			setup: func(t *testing.T, srv *fcmfake.Server, c *push.Client) (context.Context, *push.Client) {
				ctx, cancel := context.WithCancel(t.Context())
				cancel()
				return ctx, c
			},
			is: context.Canceled,
		},
		{
			name: "service account unknown to the token endpoint",
			setup: func(t *testing.T, srv *fcmfake.Server, _ *push.Client) (context.Context, *push.Client) {
				other := newFake(t)
				sa := retarget(t, other.ServiceAccountJSON(project), srv.TokenURL())
				c, err := push.New(t.Context(), push.Options{CredentialsJSON: sa, Endpoint: srv.Endpoint()})
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return t.Context(), c
			},
		},
		{
			name: "access token revoked",
			setup: func(t *testing.T, srv *fcmfake.Server, c *push.Client) (context.Context, *push.Client) {
				if _, err := c.Send(t.Context(), msgs); err != nil {
					t.Fatalf("first Send: %v", err)
				}
				srv.Reset()
				srv.RevokeTokens() // the client still holds its cached token
				return t.Context(), c
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t)
			ctx, c := tt.setup(t, srv, newClient(t, srv))
			start := time.Now()
			results, err := c.Send(ctx, msgs)
			if err == nil || results != nil {
				t.Fatalf("Send = %v, %v; want nil results and an error", results, err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Send error = %v, want one wrapping %v", err, tt.is)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Send took %v, want a prompt failure", d)
			}
			if n := srv.Count(); n != 0 {
				t.Errorf("fake received %d messages, want 0", n)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), "ya29.") {
				t.Errorf("Send error %q shows a secret", err)
			}
		})
	}
}

// TestSendDeadlinePerMessage: a message past its own Deadline (here in the
// SDK's wait for a Retry-After) is a temporary error for it alone; its
// batch-mates come back sent, promptly, and so does ctx's deadline.
func TestSendDeadlinePerMessage(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv)
	srv.FailToken("slow", fcmfake.Unavailable, -1)
	srv.SetRetryAfter(3 * time.Second)
	start := time.Now()
	msgs := []push.Message{
		{ID: "n1", Token: "slow", Title: "T", Deadline: start.Add(500 * time.Millisecond)},
		{ID: "n2", Token: "healthy", Title: "T", Deadline: start.Add(500 * time.Millisecond)},
	}
	results, err := c.Send(t.Context(), msgs)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Send took %v, want about the message's deadline", d)
	}
	var te *push.TemporaryError
	if !errors.As(results[0].Err, &te) || te.Code != "DEADLINE_EXCEEDED" {
		t.Errorf("slow device: %v, want DEADLINE_EXCEEDED", results[0].Err)
	}
	if results[1].Err != nil || results[1].MessageID == "" {
		t.Errorf("healthy device: %+v, want sent", results[1])
	}

	// A Retry-After the SDK does not wait for (over 2 minutes) counts from
	// the answer that carried it.
	srv.SetRetryAfter(3 * time.Minute)
	sent := time.Now()
	results, err = c.Send(t.Context(), []push.Message{{ID: "n1", Token: "slow", Title: "T"}})
	if err != nil || !errors.As(results[0].Err, &te) || te.Code != "UNAVAILABLE" {
		t.Fatalf("Send = %+v, %v; want UNAVAILABLE", results, err)
	}
	if at := te.RetryAt(time.Now().Add(time.Hour)); at.Before(sent.Add(3*time.Minute)) || at.After(time.Now().Add(3*time.Minute)) {
		t.Errorf("RetryAt = %v after the send, want 3m after the answer", at.Sub(sent))
	}

	// ctx's deadline is the messages' too: no batch error, nothing lost.
	srv.Reset()
	srv.SetLatency(5 * time.Second)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	results, err = c.Send(ctx, []push.Message{{ID: "n2", Token: "healthy", Title: "T"}})
	if err != nil || !errors.As(results[0].Err, &te) || te.Code != "DEADLINE_EXCEEDED" {
		t.Errorf("Send under a short ctx = %+v, %v; want a temporary error for the message", results, err)
	}
}

// retarget returns a service-account key with its token_uri replaced.
func retarget(t *testing.T, sa []byte, tokenURL string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(sa, &m); err != nil {
		t.Fatal(err)
	}
	m["token_uri"] = tokenURL
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNewCredentials(t *testing.T) {
	srv := newFake(t)
	valid := srv.ServiceAccountJSON(project)
	var sa map[string]any
	if err := json.Unmarshal(valid, &sa); err != nil {
		t.Fatal(err)
	}
	pemKey := sa["private_key"].(string)
	keyLine := strings.Split(pemKey, "\n")[3] // a line of the key's body
	edit := func(f func(m map[string]any)) []byte {
		m := maps.Clone(sa)
		f(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	dir := t.TempDir()
	file, err := srv.WriteServiceAccount(dir, project)
	if err != nil {
		t.Fatalf("WriteServiceAccount: %v", err)
	}

	tests := []struct {
		name    string
		opts    push.Options
		wantErr string // a part of the error; "" means success
	}{
		{"file", push.Options{CredentialsFile: file}, ""},
		{"json", push.Options{CredentialsJSON: valid}, ""},
		{"project id from options", push.Options{CredentialsJSON: edit(func(m map[string]any) { delete(m, "project_id") }), ProjectID: "other"}, ""},
		{"missing file", push.Options{CredentialsFile: filepath.Join(dir, "nope.json")}, "no such file"},
		{"no credentials", push.Options{}, "no credentials"},
		{"file and json", push.Options{CredentialsFile: file, CredentialsJSON: valid}, "not both"},
		{"not json", push.Options{CredentialsJSON: valid[:len(valid)/2]}, "not valid JSON"},
		{"json of another shape", push.Options{CredentialsJSON: []byte(`["service_account"]`)}, "not a service-account JSON object"},
		{"user credentials", push.Options{CredentialsJSON: []byte(`{"type":"authorized_user","client_id":"x","client_secret":"y","refresh_token":"z"}`)}, `"authorized_user"`},
		{"no type", push.Options{CredentialsJSON: edit(func(m map[string]any) { delete(m, "type") })}, `no "type"`},
		{"no client email", push.Options{CredentialsJSON: edit(func(m map[string]any) { delete(m, "client_email") })}, "no client_email"},
		{"no private key", push.Options{CredentialsJSON: edit(func(m map[string]any) { delete(m, "private_key") })}, "no private_key"},
		{"private key not pem", push.Options{CredentialsJSON: edit(func(m map[string]any) { m["private_key"] = keyLine })}, "not PEM-encoded"},
		{"private key not rsa", push.Options{CredentialsJSON: edit(func(m map[string]any) {
			m["private_key"] = strings.Replace(pemKey, keyLine, strings.Repeat("A", len(keyLine)), 1)
		})}, "not an RSA private key"},
		{"no project id", push.Options{CredentialsJSON: edit(func(m map[string]any) { delete(m, "project_id") })}, "no project id"},
		{"bad endpoint", push.Options{CredentialsJSON: valid, Endpoint: "fcm.example.com/v1"}, "endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.opts.Endpoint == "" {
				tt.opts.Endpoint = srv.Endpoint()
			}
			c, err := push.New(t.Context(), tt.opts)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if _, err := c.Send(t.Context(), []push.Message{{ID: "n", Token: "tok-" + tt.name, Title: "T"}}); err != nil {
					t.Errorf("Send: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error = %v, want one containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), keyLine) || strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("New error %q shows the private key", err)
			}
		})
	}
	if got := byToken(srv.Messages())["tok-project id from options"].Project; got != "other" {
		t.Errorf("with Options.ProjectID the fake got project %q, want %q", got, "other")
	}
}

// countingTransport counts the requests that go through it.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func TestNewHTTPClient(t *testing.T) {
	srv := newFake(t)
	var ct countingTransport
	c, err := push.New(t.Context(), push.Options{
		CredentialsJSON: srv.ServiceAccountJSON(project),
		Endpoint:        srv.Endpoint(),
		HTTPClient:      &http.Client{Transport: &ct, Timeout: 10 * time.Second},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	results, err := c.Send(t.Context(), []push.Message{{ID: "n1", Token: "tok-1", Title: "T"}, {ID: "n2", Token: "tok-2", Title: "T"}})
	if err != nil || results[0].Err != nil || results[1].Err != nil {
		t.Fatalf("Send = %+v, %v; want two successes", results, err)
	}
	if got := ct.n.Load(); got != 3 { // the OAuth token, then two sends
		t.Errorf("the caller's transport carried %d requests, want 3", got)
	}
}
