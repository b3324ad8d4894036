// Package token signs and verifies access tokens: EdDSA JWTs with a key ring,
// so that keys can rotate without signing anyone out.
package token

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Key is one Ed25519 key of the ring. Private is nil for a retired key that
// only verifies.
type Key struct {
	ID      string
	Public  ed25519.PublicKey
	Private ed25519.PrivateKey
}

// Ring holds the keys: the last key with a private part signs, all verify.
type Ring struct {
	keys   map[string]Key
	signer Key
}

// ParseRing reads PEM blocks: "PRIVATE KEY" (PKCS #8 Ed25519) and "PUBLIC KEY"
// (PKIX Ed25519). The last private key signs new tokens.
func ParseRing(pemData []byte) (*Ring, error) {
	r := &Ring{keys: map[string]Key{}}
	for n := 1; ; n++ {
		var b *pem.Block
		b, pemData = pem.Decode(pemData)
		if b == nil {
			break
		}
		var k Key
		switch b.Type {
		case "PRIVATE KEY":
			raw, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			priv, ok := raw.(ed25519.PrivateKey)
			if err != nil || !ok {
				return nil, fmt.Errorf("PEM block %d: not an Ed25519 PKCS #8 private key", n)
			}
			k = Key{Private: priv, Public: priv.Public().(ed25519.PublicKey)}
		case "PUBLIC KEY":
			raw, err := x509.ParsePKIXPublicKey(b.Bytes)
			pub, ok := raw.(ed25519.PublicKey)
			if err != nil || !ok {
				return nil, fmt.Errorf("PEM block %d: not an Ed25519 public key", n)
			}
			k = Key{Public: pub}
		default:
			return nil, fmt.Errorf("PEM block %d: unexpected type %q", n, b.Type)
		}
		k.ID = keyID(k.Public)
		r.keys[k.ID] = k
		if k.Private != nil {
			r.signer = k
		}
	}
	if r.signer.Private == nil {
		return nil, errors.New("no Ed25519 private key to sign with")
	}
	return r, nil
}

func keyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(h[:12])
}

// NewKeyPEM generates an Ed25519 private key in PEM form.
func NewKeyPEM() ([]byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// LoadOrCreateRing reads the ring from path, creating it with one new key if
// the file does not exist (development: keys survive restarts).
func LoadOrCreateRing(path string) (*Ring, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if data, err = NewKeyPEM(); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	r, err := ParseRing(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// SignerID returns the kid new tokens are signed with.
func (r *Ring) SignerID() string { return r.signer.ID }

// Claims are what an access token says.
type Claims struct {
	Roles     []string `json:"roles,omitempty"`
	SessionID string   `json:"sid,omitempty"`
	jwt.RegisteredClaims
}

// Issuer signs and verifies access tokens for one issuer and audience.
type Issuer struct {
	ring     *Ring
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time
}

// NewIssuer returns an Issuer; ttl is the access tokens' lifetime.
func NewIssuer(ring *Ring, issuer, audience string, ttl time.Duration, now func() time.Time) *Issuer {
	if now == nil {
		now = time.Now
	}
	return &Issuer{ring: ring, issuer: issuer, audience: audience, ttl: ttl, now: now}
}

// Issue returns a signed token for subject with roles and session id.
func (i *Issuer) Issue(subject string, roles []string, sessionID string) (string, time.Time, error) {
	now := i.now()
	exp := now.Add(i.ttl)
	c := Claims{
		Roles:     roles,
		SessionID: sessionID,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   subject,
			Issuer:    i.issuer,
			Audience:  jwt.ClaimStrings{i.audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = i.ring.signer.ID
	s, err := t.SignedString(i.ring.signer.Private)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign token: %w", err)
	}
	return s, exp, nil
}

// ErrInvalid is returned for every token that must not be trusted; the cause
// is wrapped for logs only.
var ErrInvalid = errors.New("invalid access token")

// Verify checks signature (EdDSA only, by kid), expiry, issuer and audience.
func (i *Issuer) Verify(s string) (Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(s, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, ok := i.ring.keys[kid]
		if !ok {
			return nil, fmt.Errorf("unknown kid %q", kid)
		}
		return k.Public, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(i.issuer),
		jwt.WithAudience(i.audience),
		jwt.WithTimeFunc(i.now),
		jwt.WithLeeway(5*time.Second),
	)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if c.Subject == "" {
		return Claims{}, fmt.Errorf("%w: no subject", ErrInvalid)
	}
	return c, nil
}
