package token_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hyperlieu/hyperlieu/token"
)

func newRing(t *testing.T, pems ...[]byte) *token.Ring {
	t.Helper()
	r, err := token.ParseRing([]byte(strings.Join(func() []string {
		s := make([]string, len(pems))
		for i, p := range pems {
			s[i] = string(p)
		}
		return s
	}(), "")))
	if err != nil {
		t.Fatalf("ParseRing: %v", err)
	}
	return r
}

func newKey(t *testing.T) []byte {
	t.Helper()
	k, err := token.NewKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func publicPEM(t *testing.T, privPEM []byte) []byte {
	t.Helper()
	b, _ := pem.Decode(privPEM)
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(k.(ed25519.PrivateKey).Public())
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func TestIssueVerify(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	ring := newRing(t, newKey(t))
	iss := token.NewIssuer(ring, "hyperlieu", "app", 15*time.Minute, clock)
	s, exp, err := iss.Issue("u1", []string{"customer", "admin"}, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(now.Add(15 * time.Minute)) {
		t.Errorf("expiry = %v, want %v", exp, now.Add(15*time.Minute))
	}
	c, err := iss.Verify(s)
	if err != nil {
		t.Fatalf("Verify(own token) = %v", err)
	}
	if c.Subject != "u1" || c.SessionID != "s1" || len(c.Roles) != 2 {
		t.Errorf("claims = %+v, want subject u1, session s1, two roles", c)
	}
}

func TestVerifyRejects(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	keyPEM := newKey(t)
	ring := newRing(t, keyPEM)
	iss := token.NewIssuer(ring, "hyperlieu", "app", 15*time.Minute, clock)
	good, _, _ := iss.Issue("u1", nil, "s1")
	pub := publicPEM(t, keyPEM)
	claims := jwt.MapClaims{"sub": "u1", "iss": "hyperlieu", "aud": "app", "exp": now.Add(time.Hour).Unix()}

	none := jwt.NewWithClaims(jwt.SigningMethodNone, claims)
	none.Header["kid"] = ring.SignerID()
	noneStr, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)

	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	hs.Header["kid"] = ring.SignerID()
	hsStr, _ := hs.SignedString(pub) // the classic confusion: HMAC keyed with the public key

	_, other, _ := ed25519.GenerateKey(rand.Reader)
	foreign := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	foreign.Header["kid"] = ring.SignerID()
	foreignStr, _ := foreign.SignedString(other)

	sign := func(c jwt.MapClaims) string {
		t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
		t.Header["kid"] = ring.SignerID()
		b, _ := pem.Decode(keyPEM)
		k, _ := x509.ParsePKCS8PrivateKey(b.Bytes)
		s, _ := t.SignedString(k)
		return s
	}
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + strings.TrimRight(parts[1], "A") + "B." + parts[2]

	tests := []struct{ name, token string }{
		{"empty", ""},
		{"garbage", "not.a.jwt"},
		{"alg none", noneStr},
		{"HS256 with the public key", hsStr},
		{"signed by another key", foreignStr},
		{"tampered payload", tampered},
		{"expired", sign(jwt.MapClaims{"sub": "u1", "iss": "hyperlieu", "aud": "app", "exp": now.Add(-time.Minute).Unix()})},
		{"no expiry", sign(jwt.MapClaims{"sub": "u1", "iss": "hyperlieu", "aud": "app"})},
		{"wrong issuer", sign(jwt.MapClaims{"sub": "u1", "iss": "evil", "aud": "app", "exp": now.Add(time.Hour).Unix()})},
		{"wrong audience", sign(jwt.MapClaims{"sub": "u1", "iss": "hyperlieu", "aud": "other", "exp": now.Add(time.Hour).Unix()})},
		{"no subject", sign(jwt.MapClaims{"iss": "hyperlieu", "aud": "app", "exp": now.Add(time.Hour).Unix()})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := iss.Verify(tt.token); err == nil {
				t.Errorf("Verify(%s) = nil error, want rejection", tt.name)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	oldKey, newKeyPEM := newKey(t), newKey(t)
	before := token.NewIssuer(newRing(t, oldKey), "i", "a", time.Minute, nil)
	tok, _, err := before.Issue("u1", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	// The new ring signs with the new key and keeps the old one, public
	// part only, to verify tokens issued before the rotation.
	after := token.NewIssuer(newRing(t, publicPEM(t, oldKey), newKeyPEM), "i", "a", time.Minute, nil)
	if _, err := after.Verify(tok); err != nil {
		t.Errorf("Verify(token of the retired key) = %v, want success", err)
	}
	fresh, _, _ := after.Issue("u1", nil, "")
	if _, err := before.Verify(fresh); err == nil {
		t.Errorf("old ring verified a token signed by a key it does not know")
	}
	if signer(t, before, tok) == signer(t, after, fresh) {
		t.Errorf("signing key did not change with rotation")
	}
	dropped := token.NewIssuer(newRing(t, newKeyPEM), "i", "a", time.Minute, nil)
	if _, err := dropped.Verify(tok); err == nil {
		t.Errorf("a removed key still verifies")
	}
}

func TestParseRingErrors(t *testing.T) {
	tests := []struct{ name, pem string }{
		{"empty", ""},
		{"public keys only", string(publicPEM(t, newKey(t)))},
		{"wrong block", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"},
	}
	for _, tt := range tests {
		if _, err := token.ParseRing([]byte(tt.pem)); err == nil {
			t.Errorf("ParseRing(%s) = nil error, want one", tt.name)
		}
	}
}

// signer returns the kid in a token's header.
func signer(t *testing.T, _ *token.Issuer, s string) string {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(s, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Header["kid"].(string)
}
