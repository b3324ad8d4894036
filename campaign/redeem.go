package campaign

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// Redeem redeems the offer with code at shopID, for a manager of that shop
// (or an admin). It succeeds once per offer, whoever asks and on whichever
// instance. It returns Invalid for a malformed code or one whose checksum
// fails (a typo), NotFound for an unknown code or shop, Forbidden when the
// actor does not manage the shop or the offer is their own (staff do not
// redeem for themselves), and Conflict when the offer was already
// redeemed, has expired, is not valid at this shop, or the campaign's
// redemption budget is spent.
func (s *OfferService) Redeem(ctx context.Context, a hyperlieu.Actor, shopID, code string) (Offer, error) {
	norm, ok := NormalizeOfferCode(code)
	if !ok {
		return Offer{}, hyperlieu.InvalidField("code", "is not a valid offer code (11 characters; check for a typo)")
	}
	if _, _, err := s.shops.ShopPlace(ctx, shopID); err != nil {
		return Offer{}, fmt.Errorf("redeem: %w", err)
	}
	if err := s.shops.MayManageShop(ctx, a, shopID); err != nil {
		return Offer{}, fmt.Errorf("redeem: %w", err)
	}
	now := s.opts.Now().UTC()
	o, c, err := s.redeemable(ctx, norm, shopID, now)
	if err != nil {
		return Offer{}, err
	}
	if o.UserID == a.UserID {
		return Offer{}, hyperlieu.Errorf(hyperlieu.Forbidden, "this offer was issued to you: another member of staff must redeem it")
	}
	r := Redemption{OfferID: o.ID, CampaignID: o.CampaignID, UserID: o.UserID, ShopID: shopID, By: a.UserID, At: now}
	if err := s.store.CreateRedemption(ctx, r); err != nil {
		if hyperlieu.KindOf(err) == hyperlieu.Conflict {
			return Offer{}, hyperlieu.Errorf(hyperlieu.Conflict, "this offer was already redeemed")
		}
		return Offer{}, fmt.Errorf("redeem: %w", err)
	}
	if o.CampaignID != "" && c.Offer.Budget > 0 {
		if err := s.claimBudget(ctx, c, o.ID); err != nil {
			// The claim is ours: give it back so the offer stays as it was.
			if rerr := s.store.DeleteRedemption(ctx, o.ID); rerr != nil {
				s.log.ErrorContext(ctx, "release redemption claim", "offer", o.ID, "err", rerr)
			}
			return Offer{}, err
		}
	}
	if err := s.store.UpdateOfferRedeemed(ctx, r); err != nil {
		return Offer{}, fmt.Errorf("redeem: %w", err)
	}
	o.RedeemedAt, o.ShopID = now, shopID
	if s.opts.Auditor != nil {
		s.opts.Auditor.Record(ctx, hyperlieu.AuditEntry{At: now, ActorID: a.UserID, ActorRole: a.ActingRole(hyperlieu.RoleManager),
			Action: hyperlieu.AuditRedemption, UserID: o.UserID, ShopID: shopID, ObjectID: o.ID})
	}
	if o.CampaignID != "" {
		s.campaigns.count(ctx, c.ID, "redeemed")
		s.campaigns.redeemedArm(ctx, o)
	}
	err = s.activity.RecordActivity(ctx, hyperlieu.Activity{UserID: o.UserID, Kind: hyperlieu.ActivityRedemption, SourceKey: "redemption:" + o.ID, ShopID: shopID, At: now})
	if err != nil {
		s.log.ErrorContext(ctx, "record redemption activity", "offer", o.ID, "err", err)
	}
	return o, nil
}

// redeemable returns the offer with the normalised code and its campaign,
// or NotFound for an unknown code, Conflict when it was already redeemed,
// has expired at now, or is not valid at shopID.
func (s *OfferService) redeemable(ctx context.Context, code, shopID string, now time.Time) (Offer, Campaign, error) {
	o, err := s.store.FindOfferByCode(ctx, code)
	if err != nil {
		if hyperlieu.KindOf(err) == hyperlieu.NotFound {
			return Offer{}, Campaign{}, hyperlieu.Errorf(hyperlieu.NotFound, "no offer has this code")
		}
		return Offer{}, Campaign{}, fmt.Errorf("redeem: %w", err)
	}
	switch o.State(now) {
	case OfferRedeemed:
		return Offer{}, Campaign{}, hyperlieu.Errorf(hyperlieu.Conflict, "this offer was already redeemed on %s", o.RedeemedAt.Format(time.RFC3339))
	case OfferExpired:
		return Offer{}, Campaign{}, hyperlieu.Errorf(hyperlieu.Conflict, "this offer expired on %s", o.ExpiresAt.Format(time.RFC3339))
	}
	if len(o.ShopIDs) > 0 && !slices.Contains(o.ShopIDs, shopID) {
		return Offer{}, Campaign{}, hyperlieu.Errorf(hyperlieu.Conflict, "this offer is valid only at the shops it was given for")
	}
	if o.CampaignID == "" { // a reward's or a gesture's offer
		return o, Campaign{}, nil
	}
	c, err := s.store.FindCampaign(ctx, o.CampaignID)
	if err != nil {
		return Offer{}, Campaign{}, fmt.Errorf("redeem: %w", err)
	}
	if c.Geofence.Type == "shops" && !slices.Contains(c.Geofence.ShopIDs, shopID) {
		return Offer{}, Campaign{}, hyperlieu.Errorf(hyperlieu.Conflict, "this offer is valid only at the campaign's shops")
	}
	return o, c, nil
}

// claimBudget takes one of the campaign's budget slots by unique insert; it
// returns Conflict when all are taken, and then marks the budget spent.
func (s *OfferService) claimBudget(ctx context.Context, c Campaign, offerID string) error {
	for n := s.budgetHint.get(c.ID); n <= c.Offer.Budget; n++ {
		err := s.store.CreateBudgetSlot(ctx, c.ID, n, offerID)
		if err == nil {
			s.budgetHint.raise(c.ID, n+1)
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
	if err := s.store.UpdateBudgetSpent(ctx, campaignID, s.opts.Now().UTC()); err != nil {
		s.log.ErrorContext(ctx, "mark budget spent", "campaign", campaignID, "err", err)
		return
	}
	if err := s.campaigns.changed(ctx); err != nil {
		s.log.ErrorContext(ctx, "mark campaigns changed", "err", err)
	}
}

// maxBudgetHints bounds the budget hints of one instance.
const maxBudgetHints = 10_000

// budgetHints remembers, per campaign, a budget slot at or below the first
// free one, so that a redemption does not try every taken slot again. A
// hint is only a shortcut: the slots' unique keys decide. It holds at most
// max campaigns; when full it starts over, which costs the next redemption
// of each campaign a few more inserts.
type budgetHints struct {
	mu  sync.Mutex
	max int
	m   map[string]int
}

func newBudgetHints(max int) *budgetHints {
	return &budgetHints{max: max, m: map[string]int{}}
}

// get returns the slot to try first, 1 when none is known.
func (h *budgetHints) get(campaignID string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return max(h.m[campaignID], 1)
}

// raise records that the slots below n are taken.
func (h *budgetHints) raise(campaignID string, n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.m[campaignID]; !ok && len(h.m) >= h.max {
		clear(h.m)
	}
	h.m[campaignID] = max(h.m[campaignID], n)
}

// len returns the number of campaigns with a hint, for tests.
func (h *budgetHints) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.m)
}
