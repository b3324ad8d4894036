package campaign

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
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
	// Source says where the offer comes from: "campaign" (CampaignID set),
	// "reward" or "gesture" (SourceID names it); "" reads as "campaign".
	Source   string
	SourceID string
	// ShopIDs are the shops where it may be redeemed; empty: any shop (a
	// campaign's offer is further bound by its campaign's shops).
	ShopIDs []string
	// Arm is the experiment arm the offer counts for; "" without one.
	Arm string
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
	WalletStore
	RedemptionStore
}

// WalletStore keeps the offers issued to customers.
type WalletStore interface {
	// CreateOffer stores an offer; Conflict when its code is taken (the
	// code is claimed by a unique insert first).
	CreateOffer(ctx context.Context, o Offer) error
	// FindOffersOf returns a customer's offers, newest first.
	FindOffersOf(ctx context.Context, userID string) ([]Offer, error)
	// FindOffer returns NotFound when there is no offer with id.
	FindOffer(ctx context.Context, id string) (Offer, error)
}

// RedemptionStore is what redeeming an offer at the till needs.
type RedemptionStore interface {
	// FindOfferByCode returns NotFound for an unknown code.
	FindOfferByCode(ctx context.Context, code string) (Offer, error)
	FindCampaign(ctx context.Context, id string) (Campaign, error)
	// CreateRedemption inserts "redeem:<offerId>"; Conflict when taken.
	CreateRedemption(ctx context.Context, r Redemption) error
	// DeleteRedemption deletes the claim, when the budget refused it; no
	// error when there is none.
	DeleteRedemption(ctx context.Context, offerID string) error
	// CreateBudgetSlot inserts "budget:<campaign>:<n>"; Conflict when taken.
	CreateBudgetSlot(ctx context.Context, campaignID string, n int, offerID string) error
	// UpdateOfferRedeemed records the redemption on the offer itself;
	// NotFound when the offer is gone.
	UpdateOfferRedeemed(ctx context.Context, r Redemption) error
	// UpdateBudgetSpent records on the campaign that its budget is spent;
	// NotFound when the campaign is gone.
	UpdateBudgetSpent(ctx context.Context, campaignID string, at time.Time) error
}

// OfferOptions tunes the offer use cases.
type OfferOptions struct {
	Now func() time.Time
	// Auditor, if set, records every redemption in the audit trail.
	Auditor hyperlieu.Auditor
}

// OfferService holds the wallet, the issuing of offers and their redemption.
type OfferService struct {
	store      OfferStore
	campaigns  *Service
	shops      hyperlieu.ShopDirectory
	activity   hyperlieu.ActivityRecorder
	opts       OfferOptions
	log        *slog.Logger
	budgetHint *budgetHints
}

// NewOfferService returns the offer use cases. Every collaborator is
// required: shops say who may redeem where, and activity hears of each
// redemption, for loyalty.
func NewOfferService(store OfferStore, campaigns *Service, shops hyperlieu.ShopDirectory, activity hyperlieu.ActivityRecorder, opts OfferOptions, log *slog.Logger) *OfferService {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &OfferService{store: store, campaigns: campaigns, shops: shops, activity: activity, opts: opts, log: log,
		budgetHint: newBudgetHints(maxBudgetHints)}
}

// issue creates the offer of campaign c for u, with a fresh code; arm is
// the customer's arm of c's experiment, if any.
func (s *OfferService) issue(ctx context.Context, c Campaign, u hyperlieu.User, triggerKey, arm string) (Offer, error) {
	now := s.opts.Now().UTC()
	t := c.Offer.Text(u.Prefs.Locale, u.Prefs.Formality)
	o := Offer{
		ID: hyperlieu.NewID(), CampaignID: c.ID, UserID: u.ID, Title: t.Title, Body: t.Body, Value: c.Offer.Value,
		IssuedAt: now, ExpiresAt: now.Add(c.Offer.Validity), TriggerKey: triggerKey, Source: hyperlieu.OfferFromCampaign,
		Arm: arm,
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

// IssueOffer puts a reward's or a gesture's offer in the customer's wallet,
// with the same code format, redemption and expiry as a campaign's offer
// (see hyperlieu.Wallet). It returns Invalid for a missing user, title or
// expiry, or an unknown source.
func (s *OfferService) IssueOffer(ctx context.Context, w hyperlieu.WalletOffer) (string, error) {
	var p hyperlieu.Problems
	if w.UserID == "" {
		p.Add("userId", "is required")
	}
	if w.Title == "" {
		p.Add("title", "is required")
	}
	if w.ExpiresAt.IsZero() {
		p.Add("expiresAt", "is required")
	}
	if w.Source != hyperlieu.OfferFromReward && w.Source != hyperlieu.OfferFromGesture {
		p.Add("source", "must be reward or gesture")
	}
	if err := p.Err(); err != nil {
		return "", err
	}
	o := Offer{
		ID: hyperlieu.NewID(), UserID: w.UserID, Title: w.Title, Source: w.Source, SourceID: w.SourceID,
		ShopIDs: w.ShopIDs, IssuedAt: s.opts.Now().UTC(), ExpiresAt: w.ExpiresAt.UTC(),
	}
	if w.DedupKey != "" {
		// One id per key: a second issue finds the first offer.
		sum := sha256.Sum256([]byte(w.UserID + "\x00" + w.DedupKey))
		o.ID = "w" + hex.EncodeToString(sum[:12])
		if prev, err := s.store.FindOffer(ctx, o.ID); err == nil {
			return prev.Code, nil
		}
	}
	for tries := 0; ; tries++ {
		o.Code = NewOfferCode()
		err := s.store.CreateOffer(ctx, o)
		if err == nil {
			return o.Code, nil
		}
		if hyperlieu.KindOf(err) != hyperlieu.Conflict || tries >= 5 {
			return "", fmt.Errorf("issue offer: %w", err)
		}
		if prev, ferr := s.store.FindOffer(ctx, o.ID); ferr == nil {
			return prev.Code, nil // a racing issue of the same key won
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
