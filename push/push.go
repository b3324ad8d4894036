// Package push delivers notifications to devices through Firebase Cloud Messaging, and is the only importer of the Firebase SDK.
package push

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Message is one notification for one device.
type Message struct {
	ID          string            // our notification id; always sent as Data["notificationId"] so the app can drop duplicates
	Token       string            // FCM registration token
	Platform    string            // "android", "ios", "web" or empty; informational, see Client.Send
	Title, Body string            // what the user sees
	Data        map[string]string // deep-link data; keys must not be reserved by FCM ("from", "google.…", "gcm.…")
	CollapseKey string            // per campaign or event; a newer message with the same key replaces an undelivered older one
	TTL         time.Duration     // at most the offer's validity; 0 means the FCM default (4 weeks); negative is invalid
	// Deadline, if set, bounds this message alone, the SDK's retries
	// included: past it the message comes back with a *TemporaryError while
	// its batch-mates go on, so one slow device cannot hold back the others.
	Deadline time.Time
}

// Result is the outcome of sending one Message.
type Result struct {
	MessageID string // FCM message name ("projects/…/messages/…") on success
	Err       error  // nil on success; see ErrUnregistered and TemporaryError; anything else is permanent
}

// Sender sends a batch of messages.
//
// Send returns one Result per message, in the same order. Its error is only
// for failures of the whole batch (no OAuth token, our credentials are
// rejected); a message that runs out of time, its own Deadline or ctx's, is
// a *TemporaryError for that message only. On a batch error the results are nil, and some messages may have been
// delivered already, so a retry of the batch can deliver them twice: the app
// drops duplicates by Data["notificationId"].
type Sender interface {
	Send(ctx context.Context, msgs []Message) ([]Result, error)
}

// Streamer is a Sender that also reports each message's result as soon as
// it is known, so that its caller can record it without waiting for the
// batch's slowest message.
type Streamer interface {
	Sender
	// SendEach calls report once per message with its index in msgs and its
	// result, from any goroutine, as each is known. Its error is Send's
	// batch error: the messages not yet reported then have no result.
	SendEach(ctx context.Context, msgs []Message, report func(i int, r Result)) error
}

// ErrUnregistered reports that a registration token is dead: FCM answered
// UNREGISTERED, or INVALID_ARGUMENT about the token itself. The caller deletes
// the token. Test for it with errors.Is.
var ErrUnregistered = errors.New("push: registration token is not registered")

// TemporaryError reports a failure worth retrying with backoff: FCM answered
// QUOTA_EXCEEDED, UNAVAILABLE or INTERNAL, or could not be reached.
// Test for it with errors.As and a *TemporaryError.
type TemporaryError struct {
	Code       string        // "QUOTA_EXCEEDED", "UNAVAILABLE", "INTERNAL"; for a network failure "DEADLINE_EXCEEDED" or "UNKNOWN"; for another 5xx the code in its body or "HTTP 502" and the like
	RetryAfter time.Duration // from FCM's Retry-After header; 0 when absent, and the caller picks its own backoff
	At         time.Time     // when the answer carrying RetryAfter arrived, from which it counts; zero: unknown
	Err        error         // the SDK's error
}

func (e *TemporaryError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("push: temporary FCM error %s (retry after %v): %v", e.Code, e.RetryAfter, e.Err)
	}
	return fmt.Sprintf("push: temporary FCM error %s: %v", e.Code, e.Err)
}

func (e *TemporaryError) Unwrap() error { return e.Err }

// RetryAt returns the earliest time FCM allows a retry: RetryAfter counted
// from the answer that carried it, or from now when that is unknown.
func (e *TemporaryError) RetryAt(now time.Time) time.Time {
	if e.At.IsZero() {
		return now.Add(e.RetryAfter)
	}
	return e.At.Add(e.RetryAfter)
}
