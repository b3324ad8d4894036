package webhook_test

import (
	"errors"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu/webhook"
)

func TestSignVerify(t *testing.T) {
	now := time.Unix(1764630000, 0)
	body := []byte(`{"id":"1","type":"checkin"}`)
	h := webhook.Sign("s3cret", now, body)
	tests := []struct {
		name   string
		secret string
		header string
		body   []byte
		at     time.Time
		want   error
	}{
		{"good", "s3cret", h, body, now, nil},
		{"four minutes later", "s3cret", h, body, now.Add(4 * time.Minute), nil},
		{"replayed after six minutes", "s3cret", h, body, now.Add(6 * time.Minute), webhook.ErrTooOld},
		{"from the future", "s3cret", h, body, now.Add(-6 * time.Minute), webhook.ErrTooOld},
		{"wrong secret", "other", h, body, now, webhook.ErrBadSignature},
		{"body changed", "s3cret", h, []byte(`{"id":"2","type":"checkin"}`), now, webhook.ErrBadSignature},
		{"second v1 matches", "s3cret", h[:len("t=1764630000")] + ",v1=00," + h[len("t=1764630000,"):], body, now, nil},
		{"no v1", "s3cret", "t=1764630000", body, now, webhook.ErrMalformed},
		{"garbage", "s3cret", "nonsense", body, now, webhook.ErrMalformed},
		{"empty", "s3cret", "", body, now, webhook.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := webhook.Verify(tt.secret, tt.header, tt.body, tt.at, webhook.Tolerance); !errors.Is(err, tt.want) {
				t.Errorf("Verify(%q) = %v, want %v", tt.header, err, tt.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	base, ceiling := time.Second, time.Minute
	tests := []struct {
		attempt  int
		r        float64
		min, max time.Duration
	}{
		{1, 0, 500 * time.Millisecond, 500 * time.Millisecond},
		{1, 0.999, 500 * time.Millisecond, time.Second},
		{2, 0.5, time.Second, 2 * time.Second},
		{4, 0, 4 * time.Second, 4 * time.Second},
		{7, 0.999, 30 * time.Second, time.Minute},  // 64s capped to 60s
		{40, 0.999, 30 * time.Second, time.Minute}, // no overflow
		{0, 0, 30 * time.Second, 30 * time.Second}, // nonsense attempt: the ceiling
	}
	for _, tt := range tests {
		if got := webhook.Backoff(base, ceiling, tt.attempt, tt.r); got < tt.min || got > tt.max {
			t.Errorf("Backoff(1s, 1m, %d, %v) = %v, want in [%v, %v]", tt.attempt, tt.r, got, tt.min, tt.max)
		}
	}
}
