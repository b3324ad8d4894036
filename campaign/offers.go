package campaign

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// Offer is a campaign's offer issued to one customer: it sits in their
// wallet until it is redeemed at a shop or expires.
type Offer struct {
	ID         string
	Code       string // what the customer shows at the till; see NewOfferCode
	CampaignID string
	UserID     string
	Title      string
	Body       string
	Value      string
	IssuedAt   time.Time
	ExpiresAt  time.Time
	RedeemedAt time.Time // zero until redeemed
	ShopID     string    // where it was redeemed
	TriggerKey string
}

// Offer states, as the wallet shows them.
const (
	OfferActive   = "active"
	OfferRedeemed = "redeemed"
	OfferExpired  = "expired"
)

// State says whether the offer is active, redeemed or expired at now.
func (o Offer) State(now time.Time) string {
	switch {
	case !o.RedeemedAt.IsZero():
		return OfferRedeemed
	case !now.Before(o.ExpiresAt):
		return OfferExpired
	}
	return OfferActive
}

// Redemption is one offer redeemed at a shop.
type Redemption struct {
	OfferID    string
	CampaignID string
	UserID     string
	ShopID     string
	By         string // the manager
	At         time.Time
}

// OfferStore is what the offer use cases need from the database.
type OfferStore interface {
	// CreateOffer stores an offer; Conflict when its code is taken (the
	// code is claimed by a unique insert first).
	CreateOffer(ctx context.Context, o Offer) error
	// FindOfferByCode returns NotFound for an unknown code.
	FindOfferByCode(ctx context.Context, code string) (Offer, error)
	// FindOffersOf returns a customer's offers, newest first.
	FindOffersOf(ctx context.Context, userID string) ([]Offer, error)
	// ClaimRedemption inserts "redeem:<offerId>"; Conflict when taken.
	ClaimRedemption(ctx context.Context, r Redemption) error
	// ReleaseRedemption deletes the claim, when the budget refused it.
	ReleaseRedemption(ctx context.Context, offerID string) error
	// ClaimBudgetSlot inserts "budget:<campaign>:<n>"; Conflict when taken.
	ClaimBudgetSlot(ctx context.Context, campaignID string, n int, offerID string) error
	// MarkOfferRedeemed records the redemption on the offer itself.
	MarkOfferRedeemed(ctx context.Context, r Redemption) error
	// MarkBudgetSpent records on the campaign that its budget is spent.
	MarkBudgetSpent(ctx context.Context, campaignID string, at time.Time) error
	FindCampaign(ctx context.Context, id string) (Campaign, error)
}

// OfferOptions tunes the offer use cases.
type OfferOptions struct {
	Now func() time.Time
}

// OfferService holds the wallet, the issuing of offers and their redemption.
type OfferService struct {
	store     OfferStore
	campaigns *Service
	shops     hyperlieu.ShopDirectory
	activity  hyperlieu.ActivityRecorder
	opts      OfferOptions
	log       *slog.Logger

	mu         sync.Mutex
	budgetHint map[string]int // campaign → a budget slot at or below the first free one
}

// NewOfferService returns the offer use cases. shops and activity may be
// nil: then redemption is refused (no shop is known) and loyalty hears nothing.
func NewOfferService(store OfferStore, campaigns *Service, shops hyperlieu.ShopDirectory, activity hyperlieu.ActivityRecorder, opts OfferOptions, log *slog.Logger) *OfferService {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &OfferService{store: store, campaigns: campaigns, shops: shops, activity: activity, opts: opts, log: log, budgetHint: map[string]int{}}
}

// issue creates the offer of campaign c for u, with a fresh code.
func (s *OfferService) issue(ctx context.Context, c Campaign, u hyperlieu.User, triggerKey string) (Offer, error) {
	now := s.opts.Now().UTC()
	t := c.Offer.Text(u.Prefs.Locale, u.Prefs.Formality)
	o := Offer{
		ID: hyperlieu.NewID(), CampaignID: c.ID, UserID: u.ID, Title: t.Title, Body: t.Body, Value: c.Offer.Value,
		IssuedAt: now, ExpiresAt: now.Add(c.Offer.Validity), TriggerKey: triggerKey,
	}
	for tries := 0; ; tries++ {
		o.Code = NewOfferCode()
		err := s.store.CreateOffer(ctx, o)
		if err == nil {
			return o, nil
		}
		if hyperlieu.KindOf(err) != hyperlieu.Conflict || tries >= 5 {
			return Offer{}, fmt.Errorf("issue offer: %w", err)
		}
	}
}

// Wallet returns the customer's offers, newest first.
func (s *OfferService) Wallet(ctx context.Context, userID string) ([]Offer, error) {
	os, err := s.store.FindOffersOf(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("wallet: %w", err)
	}
	return os, nil
}

// Now is the offer service's clock, for callers rendering states.
func (s *OfferService) Now() time.Time { return s.opts.Now() }

// Redeem redeems the offer with code at shopID, for a manager of that shop
// (or an admin). It succeeds once per offer, whoever asks and on whichever
// instance. It returns Invalid for a malformed code or one whose checksum
// fails (a typo), NotFound for an unknown code or shop, Forbidden when the
// actor does not manage the shop, and Conflict when the offer was already
// redeemed, has expired, is not valid at this shop, or the campaign's
// redemption budget is spent.
func (s *OfferService) Redeem(ctx context.Context, a hyperlieu.Actor, shopID, code string) (Offer, error) {
	norm, ok := NormalizeOfferCode(code)
	if !ok {
		return Offer{}, hyperlieu.InvalidField("code", "is not a valid offer code (11 characters; check for a typo)")
	}
	if s.shops == nil {
		return Offer{}, hyperlieu.Errorf(hyperlieu.NotFound, "shop %s not found", shopID)
	}
	if _, _, err := s.shops.ShopPlace(ctx, shopID); err != nil {
		return Offer{}, fmt.Errorf("redeem: %w", err)
	}
	if err := s.shops.MayManageShop(ctx, a, shopID); err != nil {
		return Offer{}, fmt.Errorf("redeem: %w", err)
	}
	o, err := s.store.FindOfferByCode(ctx, norm)
	if err != nil {
		if hyperlieu.KindOf(err) == hyperlieu.NotFound {
			return Offer{}, hyperlieu.Errorf(hyperlieu.NotFound, "no offer has this code")
		}
		return Offer{}, fmt.Errorf("redeem: %w", err)
	}
	now := s.opts.Now().UTC()
	switch o.State(now) {
	case OfferRedeemed:
		return Offer{}, hyperlieu.Errorf(hyperlieu.Conflict, "this offer was already redeemed on %s", o.RedeemedAt.Format(time.RFC3339))
	case OfferExpired:
		return Offer{}, hyperlieu.Errorf(hyperlieu.Conflict, "this offer expired on %s", o.ExpiresAt.Format(time.RFC3339))
	}
	c, err := s.store.FindCampaign(ctx, o.CampaignID)
	if err != nil {
		return Offer{}, fmt.Errorf("redeem: %w", err)
	}
	if c.Geofence.Type == "shops" && !slices.Contains(c.Geofence.ShopIDs, shopID) {
		return Offer{}, hyperlieu.Errorf(hyperlieu.Conflict, "this offer is valid only at the campaign's shops")
	}
	r := Redemption{OfferID: o.ID, CampaignID: o.CampaignID, UserID: o.UserID, ShopID: shopID, By: a.UserID, At: now}
	if err := s.store.ClaimRedemption(ctx, r); err != nil {
		if hyperlieu.KindOf(err) == hyperlieu.Conflict {
			return Offer{}, hyperlieu.Errorf(hyperlieu.Conflict, "this offer was already redeemed")
		}
		return Offer{}, fmt.Errorf("redeem: %w", err)
	}
	if c.Offer.Budget > 0 {
		if err := s.claimBudget(ctx, c, o.ID); err != nil {
			// The claim is ours: give it back so the offer stays as it was.
			if rerr := s.store.ReleaseRedemption(ctx, o.ID); rerr != nil {
				s.log.ErrorContext(ctx, "release redemption claim", "offer", o.ID, "err", rerr)
			}
			return Offer{}, err
		}
	}
	if err := s.store.MarkOfferRedeemed(ctx, r); err != nil {
		return Offer{}, fmt.Errorf("redeem: %w", err)
	}
	o.RedeemedAt, o.ShopID = now, shopID
	s.campaigns.count(ctx, c.ID, "redeemed")
	if s.activity != nil {
		err := s.activity.RecordActivity(ctx, hyperlieu.Activity{UserID: o.UserID, Kind: hyperlieu.ActivityRedemption, SourceKey: "redemption:" + o.ID, ShopID: shopID, At: now})
		if err != nil {
			s.log.ErrorContext(ctx, "record redemption activity", "offer", o.ID, "err", err)
		}
	}
	return o, nil
}

// claimBudget takes one of the campaign's budget slots by unique insert; it
// returns Conflict when all are taken, and then marks the budget spent.
func (s *OfferService) claimBudget(ctx context.Context, c Campaign, offerID string) error {
	s.mu.Lock()
	n := max(s.budgetHint[c.ID], 1)
	s.mu.Unlock()
	for ; n <= c.Offer.Budget; n++ {
		err := s.store.ClaimBudgetSlot(ctx, c.ID, n, offerID)
		if err == nil {
			s.mu.Lock()
			s.budgetHint[c.ID] = max(s.budgetHint[c.ID], n+1)
			s.mu.Unlock()
			if n == c.Offer.Budget {
				s.budgetSpent(ctx, c.ID)
			}
			return nil
		}
		if hyperlieu.KindOf(err) != hyperlieu.Conflict {
			return fmt.Errorf("claim budget: %w", err)
		}
	}
	s.budgetSpent(ctx, c.ID)
	return hyperlieu.Errorf(hyperlieu.Conflict, "the campaign's redemption budget is spent")
}

func (s *OfferService) budgetSpent(ctx context.Context, campaignID string) {
	if err := s.store.MarkBudgetSpent(ctx, campaignID, s.opts.Now().UTC()); err != nil {
		s.log.ErrorContext(ctx, "mark budget spent", "campaign", campaignID, "err", err)
		return
	}
	if err := s.campaigns.changed(ctx); err != nil {
		s.log.ErrorContext(ctx, "mark campaigns changed", "err", err)
	}
}

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
