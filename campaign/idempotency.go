package campaign

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// AnswerStore keeps the answers to location requests that a retry (a phone
// whose first request timed out) could not get again by processing the
// request anew, so that it gets the first one back instead.
type AnswerStore interface {
	// CreateReportAnswer stores the answer of key for userID, once;
	// Conflict when the key is taken.
	CreateReportAnswer(ctx context.Context, key, userID string, at time.Time, answer []byte) error
	// FindReportAnswer returns the answer of key; NotFound if none.
	FindReportAnswer(ctx context.Context, key string) ([]byte, error)
	// DeleteReportAnswers deletes the answers of keys; those gone are
	// skipped.
	DeleteReportAnswers(ctx context.Context, keys []string) error
	// DeleteReportAnswersBefore drops the answers stored before a time.
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

// How long an answer is kept for retries, how many the customer's state
// remembers, and how long a retry that lost a stay to its first request
// waits for that request's answer.
const (
	answerLifetime = 24 * time.Hour
	maxAnswers     = 16
	answerWait     = 3 * time.Second
)

// answerID is the _id of key's answer for userID.
func answerID(userID, key string) string {
	sum := sha256.Sum256([]byte(key))
	return "report:" + userID + ":" + hex.EncodeToString(sum[:16])
}

// ReportOnce is Report for a request named key (see ReportKey): a retry
// within 24 hours gets the first answer, as render made it, instead of
// being processed again. Only answers that processing again would not
// reproduce are stored (one keyed insert): those that issued offers, and
// those of batches or of an explicit Idempotency-Key; the customer's state,
// read and written anyway, lists them, so a report that triggers nothing
// still costs one read and one write. A retry racing its first request
// loses the stay to it and waits a few seconds for its answer. With an
// empty key, the request is simply processed.
func (l *LocationService) ReportOnce(ctx context.Context, userID, key string, reports []LocationReport, batch bool,
	render func(ReportResult) ([]byte, error)) ([]byte, error) {
	run, err := l.start(ctx, userID, reports)
	if err != nil {
		return nil, err
	}
	id := ""
	if key != "" {
		id = answerID(userID, key)
		if at, ok := run.st.Answers[id]; ok && l.opts.Now().Sub(at) < answerLifetime {
			switch answer, err := l.answers.FindReportAnswer(ctx, id); {
			case err == nil && answer != nil:
				return answer, nil
			case err != nil && hyperlieu.KindOf(err) != hyperlieu.NotFound:
				return nil, fmt.Errorf("find report answer: %w", err)
			}
		}
	}
	run.batch = batch
	if err := run.all(ctx, reports); err != nil {
		return nil, err
	}
	answer, err := render(run.res)
	if err != nil {
		return nil, err
	}
	// Nothing accepted, nothing written: processing again answers the same,
	// and an answer the state would not list could outlive an erasure.
	if id != "" && run.res.Accepted > 0 && (len(run.res.Triggered) > 0 || len(reports) > 1 || strings.HasPrefix(key, "h:")) {
		if answer, err = l.keepAnswer(ctx, &run.st, id, answer); err != nil {
			return nil, err
		}
	} else if id != "" && run.st.contended {
		if first := l.waitAnswer(ctx, id); first != nil {
			return first, nil
		}
	}
	if err := run.save(ctx); err != nil {
		return nil, err
	}
	if len(run.st.dropped) > 0 {
		// No longer listed, so no longer found by a retry: deleted now
		// rather than by the hourly sweep, so that the state lists every
		// answer kept and erasure finds them all by _id.
		if err := l.answers.DeleteReportAnswers(context.WithoutCancel(ctx), run.st.dropped); err != nil {
			l.log.Warn("delete dropped report answers; the sweep will", "err", err)
		}
	}
	return answer, nil
}

// keepAnswer stores answer under id and lists it in st; when another
// request with the same key stored its answer first, that one is returned.
func (l *LocationService) keepAnswer(ctx context.Context, st *LocationState, id string, answer []byte) ([]byte, error) {
	now := l.opts.Now().UTC()
	// The answer is stored even if the client has gone: that is the point.
	err := l.answers.CreateReportAnswer(context.WithoutCancel(ctx), id, st.UserID, now, answer)
	if hyperlieu.KindOf(err) == hyperlieu.Conflict {
		first, err := l.answers.FindReportAnswer(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("find report answer: %w", err)
		}
		if first != nil { // nil: a claim left unanswered by an older version
			answer = first
		}
	} else if err != nil {
		return nil, fmt.Errorf("store report answer: %w", err)
	}
	if st.Answers == nil {
		st.Answers = map[string]time.Time{}
	}
	st.Answers[id] = now
	st.dropped = append(st.dropped, pruneAnswers(st.Answers, now)...)
	return answer, nil
}

// pruneAnswers drops the answers past their lifetime, then the oldest
// beyond maxAnswers, so that the state stays small, and returns their ids.
func pruneAnswers(answers map[string]time.Time, now time.Time) []string {
	var dropped []string
	maps.DeleteFunc(answers, func(id string, at time.Time) bool {
		old := now.Sub(at) >= answerLifetime
		if old {
			dropped = append(dropped, id)
		}
		return old
	})
	if len(answers) <= maxAnswers {
		return dropped
	}
	ids := slices.SortedFunc(maps.Keys(answers), func(a, b string) int { return answers[b].Compare(answers[a]) })
	for _, id := range ids[maxAnswers:] {
		delete(answers, id)
	}
	return append(dropped, ids[maxAnswers:]...)
}

// waitAnswer waits a little for the answer of id, stored by the request
// that won the stay this one lost; nil if none comes.
func (l *LocationService) waitAnswer(ctx context.Context, id string) []byte {
	deadline := time.Now().Add(answerWait)
	for {
		answer, err := l.answers.FindReportAnswer(ctx, id)
		if err == nil && answer != nil {
			return answer
		}
		if hyperlieu.KindOf(err) != hyperlieu.NotFound || time.Now().After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(50 * time.Millisecond):
		}
	}
}
