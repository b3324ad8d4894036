package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries a delivery's signature: "t=<unix seconds>,v1=<hex>",
// where v1 is HMAC-SHA256, keyed by the endpoint's secret, of the
// timestamp, a dot and the raw body. A receiver recomputes it, compares in
// constant time, and refuses a timestamp older than Tolerance (a replay).
const SignatureHeader = "Hyperlieu-Signature"

// Tolerance is how old a signature a receiver should accept.
const Tolerance = 5 * time.Minute

// Sign returns the SignatureHeader value for body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Errors Verify returns.
var (
	ErrBadSignature = errors.New("webhook: signature does not match")
	ErrTooOld       = errors.New("webhook: signature timestamp outside the tolerance")
	ErrMalformed    = errors.New("webhook: malformed signature header")
)

// Verify checks header (a SignatureHeader value) against body and secret,
// and that its timestamp is within tolerance of now (either way, so a
// receiver's clock running behind does not matter more than tolerance).
// Any v1 may match: during a secret rotation a sender may send two.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrMalformed
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrMalformed
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrTooOld
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return ErrBadSignature
}

// Backoff returns the delay before the attempt after attempt (1-based):
// base·2^(attempt-1), capped at ceiling, with full-range jitter between half
// and all of it (r in [0,1) picks where), so that the retries of many
// deliveries failing together spread out instead of arriving in waves.
func Backoff(base, ceiling time.Duration, attempt int, r float64) time.Duration {
	d := ceiling
	if shift := attempt - 1; shift >= 0 && shift < 30 && base<<shift < ceiling && base<<shift > 0 {
		d = base << shift
	}
	return d/2 + time.Duration(r*float64(d/2))
}
