package campaign

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// AnswerStore keeps the first answer to each location request, so that a
// retry (a phone whose first request timed out) gets it back instead of
// being processed again.
type AnswerStore interface {
	// CreateReportAnswer claims key for userID, with no answer yet;
	// Conflict when the key is taken.
	CreateReportAnswer(ctx context.Context, key, userID string, at time.Time) error
	// FindReportAnswer returns the claim's answer, nil while the first
	// request is still at work, and when it was claimed; NotFound if none.
	FindReportAnswer(ctx context.Context, key string) (answer []byte, at time.Time, err error)
	// UpdateReportAnswer stores the answer of a claim.
	UpdateReportAnswer(ctx context.Context, key string, answer []byte) error
	// DeleteReportAnswer drops a claim; no error when there is none.
	DeleteReportAnswer(ctx context.Context, key string) error
	// DeleteReportAnswersBefore drops the claims made before a time.
	DeleteReportAnswersBefore(ctx context.Context, before time.Time) (int64, error)
}

// ReportKey names a location request for idempotency: the client's
// Idempotency-Key when it sent one, else the reports themselves when each
// carries its recordedAt (a report without it means "now", so two of them
// are two reports). It returns "" when the request cannot be named, and
// Invalid when the header is too long.
func ReportKey(header string, reports []LocationReport) (string, error) {
	if header != "" {
		if len(header) > 200 {
			return "", hyperlieu.InvalidField("Idempotency-Key", "must be at most 200 characters")
		}
		return "h:" + header, nil
	}
	var b strings.Builder
	for _, r := range reports {
		if r.RecordedAt.IsZero() {
			return "", nil
		}
		fmt.Fprintf(&b, "%s,%s,%s,%d;", strconv.FormatFloat(r.Point.Lat, 'g', -1, 64), strconv.FormatFloat(r.Point.Lng, 'g', -1, 64),
			strconv.FormatFloat(r.AccuracyM, 'g', -1, 64), r.RecordedAt.UnixNano())
	}
	return "r:" + b.String(), nil
}

// How long an answer is kept for retries, how long a retry waits for the
// first request to finish, and when an unfinished claim is taken as dead.
const (
	answerLifetime = 24 * time.Hour
	answerWait     = 3 * time.Second
	answerDead     = 30 * time.Second
)

// Once runs report at most once per customer and key (see ReportKey)
// within 24 hours, and returns its answer; a retry gets the first answer.
// A request that failed leaves no answer, so its retry runs again. While
// the first request is at work, a retry waits for it a few seconds, then
// gets Conflict. With an empty key, report simply runs.
func (l *LocationService) Once(ctx context.Context, userID, key string, report func(context.Context) ([]byte, error)) ([]byte, error) {
	if key == "" {
		return report(ctx)
	}
	sum := sha256.Sum256([]byte(key))
	id := "report:" + userID + ":" + hex.EncodeToString(sum[:16])
	for tries := 0; ; tries++ {
		err := l.answers.CreateReportAnswer(ctx, id, userID, l.opts.Now().UTC())
		if err == nil {
			break
		}
		if hyperlieu.KindOf(err) != hyperlieu.Conflict || tries > 0 {
			return nil, fmt.Errorf("claim report: %w", err)
		}
		answer, dead, err := l.waitAnswer(ctx, id)
		if err != nil || answer != nil {
			return answer, err
		}
		if !dead {
			return nil, hyperlieu.Errorf(hyperlieu.Conflict, "the same location report is still being processed: retry in a moment")
		}
		if err := l.answers.DeleteReportAnswer(ctx, id); err != nil {
			return nil, fmt.Errorf("drop dead report claim: %w", err)
		}
	}
	answer, err := report(ctx)
	if err != nil {
		if derr := l.answers.DeleteReportAnswer(context.WithoutCancel(ctx), id); derr != nil {
			l.log.ErrorContext(ctx, "drop report claim", "err", derr)
		}
		return nil, err
	}
	// The answer is stored even if the client has gone: that is the point.
	if err := l.answers.UpdateReportAnswer(context.WithoutCancel(ctx), id, answer); err != nil {
		l.log.ErrorContext(ctx, "store report answer", "err", err)
	}
	return answer, nil
}

// waitAnswer waits a little for the first request's answer; dead says
// that its claim is old enough for its request to have died.
func (l *LocationService) waitAnswer(ctx context.Context, id string) (answer []byte, dead bool, err error) {
	deadline := time.Now().Add(answerWait)
	for {
		answer, at, err := l.answers.FindReportAnswer(ctx, id)
		switch {
		case hyperlieu.KindOf(err) == hyperlieu.NotFound:
			return nil, true, nil // the first request failed and let go
		case err != nil:
			return nil, false, fmt.Errorf("find report answer: %w", err)
		case answer != nil:
			return answer, false, nil
		case l.opts.Now().Sub(at) > answerDead:
			return nil, true, nil
		case time.Now().After(deadline):
			return nil, false, nil
		}
		select {
		case <-ctx.Done():
			return nil, false, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
