package campaign

import (
	"crypto/rand"
	"strings"
)

// Offer codes are read out at a till: Crockford's base32 (no I, L, O, U),
// 10 random symbols (50 bits) and a Luhn mod 32 check symbol, which catches
// every single mistyped symbol and most swaps of two neighbours.
const offerCodeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// OfferCodeLength is the length of an offer code, check symbol included.
const OfferCodeLength = 11

// NewOfferCode returns a fresh random offer code.
func NewOfferCode() string {
	var b [OfferCodeLength - 1]byte
	_, _ = rand.Read(b[:])
	out := make([]byte, 0, OfferCodeLength)
	for _, x := range b {
		out = append(out, offerCodeAlphabet[x&31])
	}
	return string(append(out, offerCodeAlphabet[luhn32(out)]))
}

// luhn32 returns the Luhn mod 32 check value of symbols.
func luhn32(symbols []byte) int {
	sum, factor := 0, 2
	for i := len(symbols) - 1; i >= 0; i-- {
		v := strings.IndexByte(offerCodeAlphabet, symbols[i]) * factor
		sum += v/32 + v%32
		if factor == 2 {
			factor = 1
		} else {
			factor = 2
		}
	}
	return (32 - sum%32) % 32
}

// NormalizeOfferCode reads a code as a person may type it: any case, with
// spaces or dashes, O for 0 and I or L for 1. It reports false when the
// result is not a code or its check symbol is wrong.
//
// Codes of the older XXXX-XXXX-XXXX-C format (rewards and gestures before
// they became wallet offers) are read too, and come back as their 13
// symbols without dashes, as the migration stored them (see LegacyOfferCode).
func NormalizeOfferCode(s string) (string, bool) {
	if c, ok := LegacyOfferCode(s); ok {
		return c, true
	}
	var b []byte
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == ' ' || r == '-':
			continue
		case r == 'O':
			r = '0'
		case r == 'I' || r == 'L':
			r = '1'
		}
		if r > 127 || strings.IndexByte(offerCodeAlphabet, byte(r)) < 0 {
			return "", false
		}
		b = append(b, byte(r))
	}
	if len(b) != OfferCodeLength || luhn32(b[:len(b)-1]) != strings.IndexByte(offerCodeAlphabet, b[len(b)-1]) {
		return "", false
	}
	return string(b), true
}

// legacyAlphabet is the alphabet of the older reward codes.
const legacyAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// LegacyOfferCode reads a code of the older XXXX-XXXX-XXXX-C format: it
// returns its 13 symbols, upper case and without dashes or spaces, and
// reports false when s is not one or its check symbol is wrong.
func LegacyOfferCode(s string) (string, bool) {
	s = strings.NewReplacer("-", "", " ", "").Replace(strings.ToUpper(strings.TrimSpace(s)))
	if len(s) != 13 {
		return "", false
	}
	sum := 0
	for i := 0; i < len(s); i++ {
		v := strings.IndexByte(legacyAlphabet, s[i])
		if v < 0 {
			return "", false
		}
		if i < 12 {
			sum += (i + 1) * v
		}
	}
	if legacyAlphabet[sum%len(legacyAlphabet)] != s[12] {
		return "", false
	}
	return s, true
}
