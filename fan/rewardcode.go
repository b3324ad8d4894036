package fan

import (
	"context"
	"crypto/rand"
	"strings"

	"github.com/hyperlieu/hyperlieu"
)

// This file issued the offer codes of claimed rewards and gestures before
// they became wallet offers (Options.Wallet); it stays for servers built
// without a wallet, and for reading the old codes.

// offerCode asks the wallet for the code of an offer titled title, for
// userID, redeemable at shopIDs (none: any shop).
func (s *Service) offerCode(ctx context.Context, userID, source, sourceID, title string, shopIDs []string) (string, error) {
	if s.opts.Wallet == nil {
		return NewRewardCode(), nil
	}
	return s.opts.Wallet.IssueOffer(ctx, hyperlieu.WalletOffer{
		UserID: userID, Source: source, SourceID: sourceID, Title: title, ShopIDs: shopIDs,
		ExpiresAt: s.now().Add(s.opts.OfferValidity), DedupKey: source + ":" + sourceID,
	})
}

// codeAlphabet has no 0/O, 1/I/L: codes are read aloud at the counter.
const codeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// NewRewardCode returns an unguessable code (12 random symbols, about 59
// bits) and one check symbol, grouped as XXXX-XXXX-XXXX-C.
func NewRewardCode() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	var sb strings.Builder
	for i, x := range b {
		if i > 0 && i%4 == 0 {
			sb.WriteByte('-')
		}
		sb.WriteByte(codeAlphabet[int(x)%len(codeAlphabet)])
	}
	sb.WriteByte('-')
	sb.WriteByte(checkSymbol(strings.ReplaceAll(sb.String(), "-", "")))
	return sb.String()
}

// ValidRewardCode reports whether code is well formed and its check symbol
// matches (a typo is caught before any lookup).
func ValidRewardCode(code string) bool {
	s := strings.ReplaceAll(strings.ToUpper(strings.TrimSpace(code)), "-", "")
	if len(s) != 13 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune(codeAlphabet, c) {
			return false
		}
	}
	return checkSymbol(s[:12]) == s[12]
}

// checkSymbol is a weighted sum modulo the alphabet's (prime) size, which
// catches any single wrong symbol and any swap of two neighbours.
func checkSymbol(s string) byte {
	sum := 0
	for i := 0; i < len(s); i++ {
		sum += (i + 1) * strings.IndexByte(codeAlphabet, s[i])
	}
	return codeAlphabet[sum%len(codeAlphabet)]
}
