package api

import (
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/campaign"
)

// offerRoutes are the customers' wallet and redemption at the till.
func (s *Server) offerRoutes() []route {
	return []route{
		{method: "GET", path: "/v1/me/offers", op: "listMyOffers", access: signedIn, summary: "The caller's wallet: active, redeemed and expired offers, newest first",
			out: []offerResponse{}, handler: s.getMyOffers},
		{method: "POST", path: "/v1/shops/:id/redemptions", op: "redeemOffer", access: only(hyperlieu.RoleManager, hyperlieu.RoleAdmin),
			summary: "Redeem an offer code at a shop the caller manages (once: a second scan gets 409)",
			in:      redemptionRequest{}, out: offerResponse{}, errs: []int{403, 409}, handler: s.postRedemption},
	}
}

type offerResponse struct {
	ID         string     `json:"id"`
	Code       string     `json:"code"`
	CampaignID string     `json:"campaignId,omitempty" doc:"Set for a campaign's offer"`
	Source     string     `json:"source" api:"enum=campaign|reward|gesture" doc:"What issued the offer: every code the brand hands out is a wallet offer"`
	Title      string     `json:"title"`
	Body       string     `json:"body"`
	Value      string     `json:"value"`
	State      string     `json:"state" api:"enum=active|redeemed|expired"`
	IssuedAt   time.Time  `json:"issuedAt"`
	ExpiresAt  time.Time  `json:"expiresAt"`
	RedeemedAt *time.Time `json:"redeemedAt,omitempty"`
	ShopID     string     `json:"shopId,omitempty"`
}

func newOfferResponse(o campaign.Offer, now time.Time) offerResponse {
	r := offerResponse{
		ID: o.ID, Code: o.Code, CampaignID: o.CampaignID, Source: o.Source, Title: o.Title, Body: o.Body, Value: o.Value,
		State: o.State(now), IssuedAt: o.IssuedAt, ExpiresAt: o.ExpiresAt, ShopID: o.ShopID,
	}
	if r.Source == "" {
		r.Source = "campaign" // offers stored before sources were named
	}
	if !o.RedeemedAt.IsZero() {
		t := o.RedeemedAt
		r.RedeemedAt = &t
	}
	return r
}

// getMyOffers handles GET /v1/me/offers.
func (s *Server) getMyOffers(c fiber.Ctx) error {
	os, err := s.svc.Offers.Wallet(c.Context(), userID(c))
	if err != nil {
		return err
	}
	now := s.svc.Offers.Now()
	out := make([]offerResponse, len(os))
	for i, o := range os {
		out[i] = newOfferResponse(o, now)
	}
	return c.JSON(out)
}

type redemptionRequest struct {
	Code string `json:"code" api:"required" doc:"The offer code the customer shows"`
}

// postRedemption handles POST /v1/shops/{id}/redemptions.
func (s *Server) postRedemption(c fiber.Ctx) error {
	var in redemptionRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	o, err := s.svc.Offers.Redeem(c.Context(), actor(c), c.Params("id"), in.Code)
	if err != nil {
		return err
	}
	return c.JSON(newOfferResponse(o, s.svc.Offers.Now()))
}
