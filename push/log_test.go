package push_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu/push"
)

func TestLogSend(t *testing.T) {
	var buf bytes.Buffer
	l := push.NewLog(&buf)
	msgs := []push.Message{
		{ID: "n1", Token: "fcm-device-token-0000-1234", Platform: "android", Title: "50% off", Body: "Tonight",
			Data: map[string]string{"url": "hyperlieu://offers/7"}, CollapseKey: "c1", TTL: 90 * time.Minute},
		{ID: "n2", Token: "tok-2"},
	}
	results, err := l.Send(t.Context(), msgs)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	want := []push.Result{{MessageID: "log/1"}, {MessageID: "log/2"}}
	if !reflect.DeepEqual(results, want) {
		t.Errorf("Send = %+v, want %+v", results, want)
	}

	var lines []map[string]any
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	wantLines := []map[string]any{
		{"messageId": "log/1", "id": "n1", "token": "…1234", "platform": "android", "title": "50% off", "body": "Tonight",
			"data": map[string]any{"url": "hyperlieu://offers/7", "notificationId": "n1"}, "collapseKey": "c1", "ttl": "5400s"},
		{"messageId": "log/2", "id": "n2", "token": "…", "data": map[string]any{"notificationId": "n2"}},
	}
	if !reflect.DeepEqual(lines, wantLines) {
		t.Errorf("lines =\n%v\nwant\n%v", lines, wantLines)
	}

	if results, err := l.Send(t.Context(), msgs[:1]); err != nil || results[0].MessageID != "log/3" {
		t.Errorf("second Send = %+v, %v; want log/3", results, err)
	}
}

func TestLogSendConcurrent(t *testing.T) {
	var buf bytes.Buffer
	l := push.NewLog(&buf)
	const senders, batch = 8, 25
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			msgs := make([]push.Message, batch)
			for i := range msgs {
				msgs[i] = push.Message{ID: fmt.Sprint(g, "-", i), Token: "tok"}
			}
			if _, err := l.Send(t.Context(), msgs); err != nil {
				t.Errorf("Send: %v", err)
			}
		})
	}
	wg.Wait()
	seen := make(map[string]bool)
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var line struct{ MessageID string }
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil || seen[line.MessageID] {
			t.Fatalf("line %q: %v, or a repeated messageId", sc.Text(), err)
		}
		seen[line.MessageID] = true
	}
	if len(seen) != senders*batch {
		t.Errorf("got %d lines, want %d", len(seen), senders*batch)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestLogSendFails(t *testing.T) {
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		l    *push.Log
	}{
		{"context cancelled", cancelled, push.NewLog(&bytes.Buffer{})},
		{"writer fails", t.Context(), push.NewLog(failingWriter{})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if results, err := tt.l.Send(tt.ctx, []push.Message{{ID: "n1", Token: "tok"}}); err == nil || results != nil {
				t.Errorf("Send = %+v, %v; want nil results and an error", results, err)
			}
		})
	}
}

func TestMaskToken(t *testing.T) {
	tests := []struct{ token, want string }{
		{"", "…"},
		{"short-token", "…"},
		{"nineteen-characters", "…"},
		{"twenty-characters-ok", "…s-ok"},
		{"dGhpcyBpcyBhIHJlYWwtbG9va2luZyBGQ00gdG9rZW4:APA91bHun4MxP5egoKMwt2KZFBaFUH", "…aFUH"},
		{"ééééééééééééééééééééàç", "…ééàç"},
	}
	for _, tt := range tests {
		if got := push.MaskToken(tt.token); got != tt.want {
			t.Errorf("MaskToken(%q) = %q, want %q", tt.token, got, tt.want)
		}
	}
}
