package push

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/auth/credentials"
	"cloud.google.com/go/auth/httptransport"
	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/errorutils"
	"firebase.google.com/go/v4/messaging"
	"google.golang.org/api/option"
)

const (
	// messagingScope is the only OAuth scope the FCM HTTP v1 API needs.
	messagingScope = "https://www.googleapis.com/auth/firebase.messaging"
	// maxConcurrent is the most messages in flight at once, as many as
	// messaging.SendEach sends in one batch.
	maxConcurrent = 500
	// maxTTL is the longest TTL FCM accepts.
	maxTTL = 28 * 24 * time.Hour
)

// Options configures New. Exactly one of CredentialsFile and CredentialsJSON
// must be set.
type Options struct {
	CredentialsFile string       // path of a service-account JSON key
	CredentialsJSON []byte       // the key itself, instead of a file
	ProjectID       string       // overrides project_id from the key
	Endpoint        string       // FCM base URL, default "https://fcm.googleapis.com/v1"; OAuth tokens still come from the key's token_uri
	HTTPClient      *http.Client // optional; its Transport and Timeout carry both FCM and OAuth requests
}

// Client sends messages through the FCM HTTP v1 API with the Firebase Admin SDK.
// It is safe for concurrent use.
type Client struct {
	fcm   *messaging.Client
	creds *auth.Credentials
}

// New returns a Client authenticated as the service account in opts.
// It checks the key without calling Google, and returns an error naming the
// problem when the key is unreadable, not JSON, not a service account, lacks
// client_email or a private key, or no project id is known. Errors never
// contain the private key.
func New(ctx context.Context, opts Options) (*Client, error) {
	key, err := opts.key()
	if err != nil {
		return nil, err
	}
	sa, err := parseServiceAccount(key)
	if err != nil {
		return nil, err
	}
	project := opts.ProjectID
	if project == "" {
		project = sa.ProjectID
	}
	if project == "" {
		return nil, errors.New("push: no project id: the service account has no project_id and Options.ProjectID is empty")
	}

	creds, err := credentials.DetectDefault(&credentials.DetectOptions{
		CredentialsJSON: key,
		Scopes:          []string{messagingScope},
		Client:          opts.HTTPClient,
	})
	if err != nil {
		return nil, fmt.Errorf("push: load service account %s: %w", sa.ClientEmail, err)
	}

	// google.golang.org/api v0.231.0 has no WithAuthCredentialsJSON, and its
	// default transport ignores option.WithAuthCredentials, so the
	// authenticated client is built here, on the caller's transport if any.
	var base http.RoundTripper
	if opts.HTTPClient != nil {
		base = opts.HTTPClient.Transport
	}
	hc, err := httptransport.NewClient(&httptransport.Options{Credentials: creds, BaseRoundTripper: base})
	if err != nil {
		return nil, fmt.Errorf("push: build HTTP client: %w", err)
	}
	if opts.HTTPClient != nil {
		hc.Timeout = opts.HTTPClient.Timeout
	}
	clientOpts := []option.ClientOption{option.WithHTTPClient(hc)}
	if opts.Endpoint != "" {
		u, err := url.Parse(opts.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("push: endpoint %q is not an http or https URL", opts.Endpoint)
		}
		clientOpts = append(clientOpts, option.WithEndpoint(strings.TrimSuffix(opts.Endpoint, "/")))
	}

	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: project}, clientOpts...)
	if err != nil {
		return nil, fmt.Errorf("push: firebase app: %w", err)
	}
	fcm, err := app.Messaging(ctx)
	if err != nil {
		return nil, fmt.Errorf("push: firebase messaging: %w", err)
	}
	return &Client{fcm: fcm, creds: creds}, nil
}

func (o Options) key() ([]byte, error) {
	switch {
	case o.CredentialsFile != "" && len(o.CredentialsJSON) > 0:
		return nil, errors.New("push: set one of Options.CredentialsFile and Options.CredentialsJSON, not both")
	case len(o.CredentialsJSON) > 0:
		return o.CredentialsJSON, nil
	case o.CredentialsFile != "":
		b, err := os.ReadFile(o.CredentialsFile)
		if err != nil {
			return nil, fmt.Errorf("push: read credentials file: %w", err)
		}
		return b, nil
	}
	return nil, errors.New("push: no credentials: set Options.CredentialsFile or Options.CredentialsJSON")
}

// serviceAccount is the part of a Google service-account key that New checks.
type serviceAccount struct {
	Type        string `json:"type"`
	ProjectID   string `json:"project_id"`
	PrivateKey  string `json:"private_key"`
	ClientEmail string `json:"client_email"`
}

// parseServiceAccount checks key; its errors leave the key's contents out.
func parseServiceAccount(key []byte) (serviceAccount, error) {
	var sa serviceAccount
	if err := json.Unmarshal(key, &sa); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return sa, fmt.Errorf("push: credentials are not valid JSON (syntax error at byte %d)", se.Offset)
		}
		return sa, errors.New("push: credentials are not a service-account JSON object")
	}
	switch {
	case sa.Type == "":
		return sa, errors.New(`push: credentials have no "type"; want a service-account key ("type": "service_account")`)
	case sa.Type != "service_account":
		return sa, fmt.Errorf(`push: credentials are of type %q; want a service-account key ("type": "service_account")`, sa.Type)
	case sa.ClientEmail == "":
		return sa, errors.New("push: service account has no client_email")
	case sa.PrivateKey == "":
		return sa, fmt.Errorf("push: service account %s has no private_key", sa.ClientEmail)
	}
	block, _ := pem.Decode([]byte(sa.PrivateKey))
	if block == nil {
		return sa, fmt.Errorf("push: private_key of service account %s is not PEM-encoded", sa.ClientEmail)
	}
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
		if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
			return sa, fmt.Errorf("push: private_key of service account %s is not an RSA private key", sa.ClientEmail)
		}
	}
	return sa, nil
}

// Send sends msgs one by one, at most 500 at a time, each under ctx and its
// own Deadline, and returns one Result per message in order; see Sender for
// the error.
//
// Each message goes out with high priority and with the options of all three
// platforms, since FCM applies only those of the token's platform; Platform is
// therefore not needed to send. CollapseKey becomes Android's collapse_key, the
// apns-collapse-id header and the Web Push Topic header (hashed when too long
// or, for Web Push, not URL-safe base64). TTL, in whole seconds, becomes
// Android's ttl, the apns-expiration header and the Web Push TTL header.
//
// A message with no Token or a negative TTL fails with a permanent error and
// is not sent. The SDK itself retries UNAVAILABLE (HTTP 503) and network
// failures of each message up to 4 times, waiting 0, 1, 2 and 4 s, or FCM's
// Retry-After when longer (one over 2 minutes stops its retries at once), so
// a *TemporaryError for those comes back only after that: give each message
// a Deadline (or ctx one). A message still unanswered at its deadline is a
// *TemporaryError "DEADLINE_EXCEEDED" carrying the last Retry-After seen.
// The SDK does not retry QUOTA_EXCEEDED (429) or INTERNAL (500).
//
// Send fails the whole batch when ctx is done before anything is sent, when no OAuth token can be had
// for the service account, or when FCM answers UNAUTHENTICATED or
// PERMISSION_DENIED for reasons other than the token (SENDER_ID_MISMATCH,
// THIRD_PARTY_AUTH_ERROR), which means our credentials lack access.
func (c *Client) Send(ctx context.Context, msgs []Message) ([]Result, error) {
	results := make([]Result, len(msgs))
	err := c.SendEach(ctx, msgs, func(i int, r Result) { results[i] = r })
	if err != nil {
		return nil, err
	}
	return results, nil
}

// SendEach is Send, reporting each message's result as soon as it is known
// (see Streamer); report is called from one goroutine at a time.
func (c *Client) SendEach(ctx context.Context, msgs []Message, report func(i int, r Result)) error {
	if len(msgs) == 0 {
		return nil
	}
	// Getting the token first turns broken credentials into one error for the
	// batch, instead of a network error per message that the SDK retries for
	// seconds. The token is cached, so this costs nothing per batch.
	if _, err := c.creds.Token(ctx); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("push: %w", ctx.Err())
		}
		return fmt.Errorf("push: get OAuth token: %w", err)
	}

	now := time.Now()
	sent := make([]int, 0, len(msgs)) // sent[j] is the index in msgs of fcm[j]
	fcm := make([]*messaging.Message, 0, len(msgs))
	for i, m := range msgs {
		if err := m.validate(); err != nil {
			report(i, Result{Err: err})
			continue
		}
		sent = append(sent, i)
		fcm = append(fcm, m.toFCM(now))
	}

	// One call per message, each under its own deadline: SendEach would
	// hold every result until its slowest message (one device's Retry-After
	// waits) and lose them all to ctx.
	answers := make(chan answer)
	jobs := make(chan int)
	workers := min(len(fcm), maxConcurrent)
	for range workers {
		go func() {
			for j := range jobs {
				answers <- c.sendOne(ctx, msgs[sent[j]], fcm[j], j)
			}
		}()
	}
	go func() {
		for j := range fcm {
			jobs <- j
		}
		close(jobs)
	}()
	var batchErr error
	for range fcm {
		a := <-answers
		i := sent[a.j]
		switch {
		case a.batch:
			batchErr = a.err
		case batchErr != nil: // the batch has failed: nothing more is reported
		case a.err != nil:
			report(i, Result{Err: a.err})
		default:
			report(i, Result{MessageID: a.id})
		}
	}
	return batchErr
}

// answer is one message's outcome; batch: it fails the whole batch.
type answer struct {
	j     int
	id    string
	err   error
	batch bool
}

// sendOne sends m (f, as FCM sees it) under its own deadline, if it has one.
func (c *Client) sendOne(ctx context.Context, m Message, f *messaging.Message, j int) answer {
	mctx, cancel := ctx, context.CancelFunc(func() {})
	if !m.Deadline.IsZero() {
		mctx, cancel = context.WithDeadline(ctx, m.Deadline)
	}
	defer cancel()
	id, err := c.fcm.Send(mctx, f)
	a := answer{j: j, id: id}
	if err != nil {
		if mctx.Err() != nil {
			// Out of time, maybe in the SDK's wait for a Retry-After:
			// temporary for this message, keeping the last answer's
			// Retry-After if there was one.
			te := &TemporaryError{Code: "DEADLINE_EXCEEDED", At: time.Now(), Err: err}
			var last *TemporaryError
			if e, _ := classify(err); errors.As(e, &last) {
				te.RetryAfter, te.At = last.RetryAfter, last.At
			}
			a.err = te
		} else {
			a.err, a.batch = classify(err)
		}
	}
	return a
}

func (m Message) validate() error {
	switch {
	case m.Token == "":
		return errors.New("push: message has no registration token")
	case m.TTL < 0:
		return fmt.Errorf("push: message has a negative TTL %v", m.TTL)
	}
	return nil
}

func (m Message) toFCM(now time.Time) *messaging.Message {
	data := make(map[string]string, len(m.Data)+1)
	maps.Copy(data, m.Data)
	data["notificationId"] = m.ID

	fm := &messaging.Message{
		Token:   m.Token,
		Data:    data,
		Android: &messaging.AndroidConfig{Priority: "high", CollapseKey: m.CollapseKey},
		APNS:    &messaging.APNSConfig{Headers: map[string]string{"apns-priority": "10"}},
		Webpush: &messaging.WebpushConfig{Headers: map[string]string{"Urgency": "high"}},
	}
	if m.Title != "" || m.Body != "" {
		fm.Notification = &messaging.Notification{Title: m.Title, Body: m.Body}
	}
	if m.CollapseKey != "" {
		fm.APNS.Headers["apns-collapse-id"] = apnsCollapseID(m.CollapseKey)
		fm.Webpush.Headers["Topic"] = webpushTopic(m.CollapseKey)
	}
	if m.TTL > 0 {
		// Whole seconds, rounded down so a message never outlives its offer;
		// below a second that is 0: deliver now or never.
		ttl := min(m.TTL, maxTTL).Truncate(time.Second)
		fm.Android.TTL = &ttl
		fm.APNS.Headers["apns-expiration"] = strconv.FormatInt(now.Add(ttl).Unix(), 10)
		fm.Webpush.Headers["TTL"] = strconv.FormatInt(int64(ttl/time.Second), 10)
	}
	return fm
}

// apnsCollapseID fits key into the 64 bytes APNs allows.
func apnsCollapseID(key string) string {
	if len(key) <= 64 {
		return key
	}
	return hashKey(key)
}

// webpushTopic fits key into a Web Push Topic: at most 32 characters of the
// URL-safe base64 alphabet (RFC 8030, section 5.4).
func webpushTopic(key string) string {
	if len(key) <= 32 && strings.Trim(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == "" {
		return key
	}
	return hashKey(key)[:32]
}

// hashKey maps a collapse key to 43 URL-safe characters, the same for the same key.
func hashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// classify turns the SDK's error for one message into ours. batch is true
// when the error means our credentials were rejected, which fails the batch.
func classify(err error) (_ error, batch bool) {
	var body googleError
	var retryAfter time.Duration
	hr := errorutils.HTTPResponse(err)
	if hr != nil {
		body = parseGoogleError(hr.Body)
		retryAfter = parseRetryAfter(hr.Header.Get("Retry-After"), time.Now())
	}
	at := time.Now() // the answer has just arrived: Retry-After counts from now
	temporary := func(code string) error {
		return &TemporaryError{Code: code, RetryAfter: retryAfter, At: at, Err: err}
	}
	switch {
	case messaging.IsUnregistered(err),
		messaging.IsInvalidArgument(err) && body.aboutToken():
		return fmt.Errorf("%w: %w", ErrUnregistered, err), false
	case messaging.IsQuotaExceeded(err), errorutils.IsResourceExhausted(err):
		return temporary("QUOTA_EXCEEDED"), false
	case messaging.IsUnavailable(err), errorutils.IsUnavailable(err):
		return temporary("UNAVAILABLE"), false
	case messaging.IsInternal(err), errorutils.IsInternal(err):
		return temporary("INTERNAL"), false
	case messaging.IsSenderIDMismatch(err), messaging.IsThirdPartyAuthError(err):
		// Unauthorized for this token's app, not for FCM: the message fails alone.
	case errorutils.IsUnauthenticated(err), errorutils.IsPermissionDenied(err):
		return fmt.Errorf("push: FCM rejected our credentials: %w", err), true
	case hr == nil && errorutils.IsDeadlineExceeded(err):
		return temporary("DEADLINE_EXCEEDED"), false
	case hr == nil && errorutils.IsUnknown(err): // a network failure the SDK already retried
		return temporary("UNKNOWN"), false
	case hr != nil && hr.StatusCode >= 500: // say, a gateway's 502
		return temporary(body.code(hr.StatusCode)), false
	}
	code := "UNKNOWN"
	if hr != nil {
		code = body.code(hr.StatusCode)
	}
	return fmt.Errorf("push: FCM error %s: %w", code, err), false
}

// googleError is the error body of Google APIs, with FCM's details.
type googleError struct {
	Error struct {
		Message string `json:"message"`
		Status  string `json:"status"`
		Details []struct {
			Type            string `json:"@type"`
			ErrorCode       string `json:"errorCode"`
			FieldViolations []struct {
				Field string `json:"field"`
			} `json:"fieldViolations"`
		} `json:"details"`
	} `json:"error"`
}

func parseGoogleError(r io.Reader) googleError {
	var g googleError
	if r != nil {
		b, _ := io.ReadAll(io.LimitReader(r, 64<<10))
		_ = json.Unmarshal(b, &g) // a body that is not Google's leaves g empty
	}
	return g
}

// aboutToken reports whether an INVALID_ARGUMENT blames the registration token
// rather than the payload.
func (g googleError) aboutToken() bool {
	for _, d := range g.Error.Details {
		for _, v := range d.FieldViolations {
			if v.Field == "message.token" {
				return true
			}
		}
	}
	return strings.Contains(strings.ToLower(g.Error.Message), "registration token")
}

// code returns FCM's error code, else the Google status, else the HTTP status.
func (g googleError) code(status int) string {
	for _, d := range g.Error.Details {
		if d.Type == "type.googleapis.com/google.firebase.fcm.v1.FcmError" && d.ErrorCode != "" {
			return d.ErrorCode
		}
	}
	if g.Error.Status != "" {
		return g.Error.Status
	}
	return "HTTP " + strconv.Itoa(status)
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Duration(min(max(s, 0), 1<<31)) * time.Second // clamped: no overflow
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}
