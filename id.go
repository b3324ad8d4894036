package hyperlieu

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewID returns a random, URL-safe identifier of 26 lower-case characters
// (128 bits), so that IDs can be made by any instance without coordination.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return strings.ToLower(idEncoding.EncodeToString(b[:]))
}

// RandomToken returns n random bytes encoded for URLs: a secret (refresh
// tokens, ticket codes) that must not be guessable.
func RandomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(idEncoding.EncodeToString(b))
}

// NewClaimKey returns a person's claim key (see User.ClaimKey): 32 random
// bytes.
func NewClaimKey() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}
