package push

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"strconv"
	"sync"
)

// Log is a Sender that writes each message as one JSON line instead of
// sending it, for development without Firebase credentials. The line shows
// only the last characters of the device token (see MaskToken): logs are
// read by more people than may push to a customer's phone. It is safe for
// concurrent use; lines of one batch are never interleaved with another's.
type Log struct {
	mu sync.Mutex
	w  io.Writer
	n  int64
}

// NewLog returns a Log that writes to w.
func NewLog(w io.Writer) *Log { return &Log{w: w} }

// logLine is what Log writes for one message.
type logLine struct {
	MessageID   string            `json:"messageId"`
	ID          string            `json:"id"`
	Token       string            `json:"token"`
	Platform    string            `json:"platform,omitempty"`
	Title       string            `json:"title,omitempty"`
	Body        string            `json:"body,omitempty"`
	Data        map[string]string `json:"data"`
	CollapseKey string            `json:"collapseKey,omitempty"`
	TTL         string            `json:"ttl,omitempty"`
}

// Send writes one line per message and gives each the MessageID "log/<n>",
// n counting from 1 over the Log's life. Every message succeeds; Send fails
// as a whole only when ctx is done or w returns an error.
func (l *Log) Send(ctx context.Context, msgs []Message) ([]Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("push: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	results := make([]Result, len(msgs))
	var buf []byte
	for i, m := range msgs {
		l.n++
		line := logLine{
			MessageID:   "log/" + strconv.FormatInt(l.n, 10),
			ID:          m.ID,
			Token:       MaskToken(m.Token),
			Platform:    m.Platform,
			Title:       m.Title,
			Body:        m.Body,
			Data:        map[string]string{"notificationId": m.ID},
			CollapseKey: m.CollapseKey,
		}
		maps.Copy(line.Data, m.Data)
		line.Data["notificationId"] = m.ID
		if m.TTL != 0 {
			line.TTL = strconv.FormatFloat(m.TTL.Seconds(), 'f', -1, 64) + "s"
		}
		b, err := json.Marshal(line)
		if err != nil {
			return nil, fmt.Errorf("push: log message %s: %w", m.ID, err)
		}
		buf = append(append(buf, b...), '\n')
		results[i].MessageID = line.MessageID
	}
	if _, err := l.w.Write(buf); err != nil {
		return nil, fmt.Errorf("push: write log: %w", err)
	}
	return results, nil
}

// MaskToken returns what logs may show of a device token: "…" and its last
// four characters, enough to tell devices apart, or only "…" for a token
// shorter than 20 characters, where four would be too much of it.
func MaskToken(token string) string {
	if r := []rune(token); len(r) >= 20 {
		return "…" + string(r[len(r)-4:])
	}
	return "…"
}
