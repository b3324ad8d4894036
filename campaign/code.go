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
func NormalizeOfferCode(s string) (string, bool) {
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
