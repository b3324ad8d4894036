package fcmfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// sendRequest is the body of messages:send, with the snake_case field names
// the Firebase Admin SDK for Go sends. Unknown fields are rejected as FCM does.
type sendRequest struct {
	ValidateOnly bool         `json:"validate_only"`
	Message      *wireMessage `json:"message"`
}

type wireMessage struct {
	Name         string            `json:"name"`
	Token        string            `json:"token"`
	Topic        string            `json:"topic"`
	Condition    string            `json:"condition"`
	Data         map[string]string `json:"data"`
	Notification *struct {
		Title string `json:"title"`
		Body  string `json:"body"`
		Image string `json:"image"`
	} `json:"notification"`
	Android *struct {
		CollapseKey           string            `json:"collapse_key"`
		Priority              string            `json:"priority"`
		TTL                   string            `json:"ttl"`
		RestrictedPackageName string            `json:"restricted_package_name"`
		Data                  map[string]string `json:"data"`
		Notification          json.RawMessage   `json:"notification"`
		FCMOptions            json.RawMessage   `json:"fcm_options"`
		DirectBootOK          bool              `json:"direct_boot_ok"`
	} `json:"android"`
	Webpush *struct {
		Headers      map[string]string `json:"headers"`
		Data         map[string]string `json:"data"`
		Notification json.RawMessage   `json:"notification"`
		FCMOptions   json.RawMessage   `json:"fcm_options"`
	} `json:"webpush"`
	APNS *struct {
		Headers           map[string]string `json:"headers"`
		Payload           json.RawMessage   `json:"payload"`
		FCMOptions        json.RawMessage   `json:"fcm_options"`
		LiveActivityToken string            `json:"live_activity_token"`
	} `json:"apns"`
	FCMOptions json.RawMessage `json:"fcm_options"`
}

// reply is a canned FCM error.
type reply struct {
	code       string // FCM's error code, in the details
	status     int
	gstatus    string // Google's status name
	message    string
	violations []violation
}

type violation struct {
	Field       string `json:"field"`
	Description string `json:"description"`
}

// errorReplies are the errors FailToken scripts, as FCM sends them.
var errorReplies = map[string]reply{
	Unregistered:        {Unregistered, http.StatusNotFound, "NOT_FOUND", "Requested entity was not found.", nil},
	InvalidArgument:     {InvalidArgument, http.StatusBadRequest, "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token", []violation{{"message.token", "The registration token is not a valid FCM registration token"}}},
	QuotaExceeded:       {QuotaExceeded, http.StatusTooManyRequests, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Messages sent per device' of service 'fcm.googleapis.com'.", nil},
	Unavailable:         {Unavailable, http.StatusServiceUnavailable, "UNAVAILABLE", "The service is currently unavailable.", nil},
	Internal:            {Internal, http.StatusInternalServerError, "INTERNAL", "Internal error encountered.", nil},
	SenderIDMismatch:    {SenderIDMismatch, http.StatusForbidden, "PERMISSION_DENIED", "SenderId mismatch", nil},
	ThirdPartyAuthError: {ThirdPartyAuthError, http.StatusUnauthorized, "UNAUTHENTICATED", "Auth error from APNS or Web Push Service", nil},
}

// send handles POST /v1/projects/{project}/messages:send.
func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	// The body is read first: only then does the server notice a client
	// that hangs up during the latency.
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	s.mu.Lock()
	latency := s.latency
	s.mu.Unlock()
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		}
	}
	if !s.authorize(w, r) {
		return
	}
	var req sendRequest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error(), InvalidArgument, nil)
		return
	}
	if req.Message != nil {
		s.mu.Lock()
		s.attempts[req.Message.Token]++
		s.mu.Unlock()
	}
	if v := validate(req.Message); v != nil {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", v.Description, InvalidArgument, []violation{*v})
		return
	}
	m := req.Message
	project := r.PathValue("project")

	s.mu.Lock()
	var fail *reply
	if f := s.failures[m.Token]; f != nil && m.Token != "" {
		rep := errorReplies[f.code]
		fail = &rep
		if f.times > 0 {
			if f.times--; f.times == 0 {
				delete(s.failures, m.Token)
			}
		}
	}
	retryAfter := s.retryAfter
	var name string
	if fail == nil {
		s.seq++
		name = fmt.Sprintf("projects/%s/messages/%d", project, s.seq)
		if !req.ValidateOnly {
			s.received = append(s.received, received(project, name, m, raw))
		}
	}
	s.mu.Unlock()

	if fail != nil {
		if retryAfter > 0 && (fail.status == http.StatusTooManyRequests || fail.status == http.StatusServiceUnavailable) {
			w.Header().Set("Retry-After", strconv.FormatInt(int64((retryAfter+time.Second-1)/time.Second), 10))
		}
		writeError(w, fail.status, fail.gstatus, fail.message, fail.code, fail.violations)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(map[string]string{"name": name})
}

func received(project, name string, m *wireMessage, raw []byte) Received {
	rc := Received{
		Project: project,
		Name:    name,
		Token:   m.Token,
		Data:    m.Data,
		Raw:     json.RawMessage(raw),
	}
	if n := m.Notification; n != nil {
		rc.Title, rc.Body = n.Title, n.Body
	}
	if a := m.Android; a != nil {
		rc.AndroidTTL, rc.AndroidCollapseKey, rc.AndroidPriority = a.TTL, a.CollapseKey, a.Priority
	}
	if a := m.APNS; a != nil {
		rc.APNSHeaders = a.Headers
	}
	if wp := m.Webpush; wp != nil {
		rc.WebpushHeaders = wp.Headers
	}
	return rc
}

var (
	durationPattern = regexp.MustCompile(`^\d+(\.\d{1,9})?s$`)
	digitsPattern   = regexp.MustCompile(`^\d+$`)
	topicPattern    = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
)

// validate checks what FCM, APNs and Web Push would reject, and returns the
// first violation, or nil.
func validate(m *wireMessage) *violation {
	bad := func(field, format string, args ...any) *violation {
		return &violation{Field: field, Description: fmt.Sprintf(format, args...)}
	}
	if m == nil {
		return bad("message", "Request contains an invalid argument: message is missing.")
	}
	targets := 0
	for _, t := range []string{m.Token, m.Topic, m.Condition} {
		if t != "" {
			targets++
		}
	}
	if targets != 1 {
		return bad("message", "Exactly one of message.token, message.topic or message.condition must be set.")
	}
	for k := range m.Data {
		lk := strings.ToLower(k)
		if lk == "from" || lk == "notification" || lk == "message_type" ||
			strings.HasPrefix(lk, "google") || strings.HasPrefix(lk, "gcm") {
			return bad("message.data", "Invalid data payload key: %s", k)
		}
	}
	if a := m.Android; a != nil {
		if a.TTL != "" {
			if !durationPattern.MatchString(a.TTL) {
				return bad("message.android.ttl", "Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration), Field 'ttl', Illegal duration format; duration must end with 's'")
			}
			if secs, _ := strconv.ParseFloat(strings.TrimSuffix(a.TTL, "s"), 64); secs > 2419200 {
				return bad("message.android.ttl", "Android TTL must be at most 4 weeks")
			}
		}
		switch strings.ToLower(a.Priority) {
		case "", "normal", "high":
		default:
			return bad("message.android.priority", "Invalid value at 'message.android.priority' (type.googleapis.com/google.firebase.fcm.v1.AndroidMessagePriority), %q", a.Priority)
		}
	}
	if a := m.APNS; a != nil {
		for k, v := range a.Headers {
			switch strings.ToLower(k) {
			case "apns-priority":
				if v != "5" && v != "10" && v != "1" {
					return bad("message.apns.headers", "Invalid apns-priority %q", v)
				}
			case "apns-expiration":
				if !digitsPattern.MatchString(v) {
					return bad("message.apns.headers", "Invalid apns-expiration %q", v)
				}
			case "apns-collapse-id":
				if len(v) > 64 {
					return bad("message.apns.headers", "apns-collapse-id is longer than 64 bytes")
				}
			}
		}
	}
	if wp := m.Webpush; wp != nil {
		for k, v := range wp.Headers {
			switch strings.ToLower(k) {
			case "ttl":
				if !digitsPattern.MatchString(v) {
					return bad("message.webpush.headers", "Invalid TTL header %q", v)
				}
			case "topic":
				if !topicPattern.MatchString(v) {
					return bad("message.webpush.headers", "Topic header must be at most 32 characters of the URL-safe base64 alphabet")
				}
			case "urgency":
				switch v {
				case "very-low", "low", "normal", "high":
				default:
					return bad("message.webpush.headers", "Invalid Urgency header %q", v)
				}
			}
		}
	}
	return nil
}

// writeError writes Google's error body, with FCM's error code and any field
// violations in its details.
func writeError(w http.ResponseWriter, status int, gstatus, message, fcmCode string, violations []violation) {
	var details []any
	if fcmCode != "" {
		details = append(details, map[string]string{
			"@type":     "type.googleapis.com/google.firebase.fcm.v1.FcmError",
			"errorCode": fcmCode,
		})
	}
	if len(violations) > 0 {
		details = append(details, map[string]any{
			"@type":           "type.googleapis.com/google.rpc.BadRequest",
			"fieldViolations": violations,
		})
	}
	body := map[string]any{"code": status, "message": message, "status": gstatus}
	if details != nil {
		body["details"] = details
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": body})
}
