package api

import (
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/campaign"
)

// experimentRoutes decide a campaign's experiment: stop a variant, or
// declare the winner. Its figures are in the campaign's stats.
func (s *Server) experimentRoutes() []route {
	mk := only(hyperlieu.RoleMarketer, hyperlieu.RoleAdmin)
	return []route{
		{method: "POST", path: "/v1/campaigns/:id/variants/:variantId/stop", op: "stopCampaignVariant", access: mk,
			summary: "Stop a variant: new customers share the others' weights; its assigned customers get nothing more from it",
			out:     campaignResponse{}, errs: []int{409}, handler: s.postVariantStop},
		{method: "POST", path: "/v1/campaigns/:id/variants/:variantId/winner", op: "declareCampaignWinner", access: mk,
			summary: "Declare a variant the winner: every customer outside the holdout gets it from now on",
			out:     campaignResponse{}, errs: []int{409}, handler: s.postVariantWinner},
	}
}

// variantJSON is one offer variant of a campaign's experiment.
type variantJSON struct {
	ID            string          `json:"id,omitempty" api:"maxLength=16" doc:"Lowercase letters and digits; default v1, v2… by position"`
	Weight        int             `json:"weight" api:"required,min=1,max=1000" doc:"Share of the treated customers among live variants"`
	Texts         []offerTextJSON `json:"texts" api:"required,minItems=1"`
	Value         string          `json:"value" api:"maxLength=60"`
	ValidityHours int             `json:"validityHours" api:"required,min=1,max=8760"`
	StoppedAt     *time.Time      `json:"stoppedAt,omitempty" doc:"Set by the stop action; ignored on input"`
}

// experimentInput reads the experiment's fields of a campaign request.
func (r campaignRequest) experimentInput(in *campaign.Input) {
	in.HoldoutPercent, in.ReturnDays = r.HoldoutPercent, r.ReturnDays
	if r.Variants == nil {
		return
	}
	vs := make([]campaign.Variant, 0, len(*r.Variants))
	for _, v := range *r.Variants {
		vs = append(vs, campaign.Variant{ID: v.ID, Weight: v.Weight, Texts: offerTextsOf(v.Texts), Value: v.Value, Validity: time.Duration(v.ValidityHours) * time.Hour})
	}
	in.Variants = &vs
}

// experimentResponse fills the experiment's fields of a campaign response.
func (r *campaignResponse) experiment(e campaign.Experiment) {
	r.Variants, r.HoldoutPercent, r.ReturnDays, r.WinnerID = []variantJSON{}, e.HoldoutPercent, e.ReturnDays, e.WinnerID
	for _, v := range e.Variants {
		vj := variantJSON{ID: v.ID, Weight: v.Weight, Value: v.Value, ValidityHours: int(v.Validity / time.Hour), Texts: newOfferTexts(v.Texts)}
		if !v.StoppedAt.IsZero() {
			t := v.StoppedAt
			vj.StoppedAt = &t
		}
		r.Variants = append(r.Variants, vj)
	}
}

type liftJSON struct {
	Diff     float64  `json:"diff" doc:"The arm's rate minus the holdout's, in [-1, 1]"`
	Low      float64  `json:"low" doc:"Lower end of the 95% interval of diff"`
	High     float64  `json:"high" doc:"Upper end of the 95% interval of diff"`
	Relative *float64 `json:"relative,omitempty" doc:"The rates' ratio minus one; absent when the holdout's rate is 0"`
}

type armJSON struct {
	ID           string           `json:"id" doc:"A variant's id, offer (the campaign's own offer) or holdout"`
	Holdout      bool             `json:"holdout"`
	Stopped      bool             `json:"stopped"`
	Winner       bool             `json:"winner"`
	Weight       int              `json:"weight"`
	Customers    int64            `json:"customers" doc:"Distinct customers triggered (in the holdout: who would have been)"`
	Entered      int64            `json:"entered"`
	Triggered    int64            `json:"triggered"`
	Suppressed   map[string]int64 `json:"suppressed"`
	Pushed       int64            `json:"pushed"`
	Opened       int64            `json:"opened"`
	Redeemed     int64            `json:"redeemed" doc:"Offers redeemed"`
	Redeemers    int64            `json:"redeemers" doc:"Distinct customers who redeemed"`
	Returned     int64            `json:"returned" doc:"Distinct customers who came back (check-in, redemption, or a visit detected at the campaign's shops) within returnDays of their trigger"`
	ReturnedRate float64          `json:"returnedRate"`
	RedeemedRate float64          `json:"redeemedRate"`
	ReturnedLift *liftJSON        `json:"returnedLift,omitempty"`
	RedeemedLift *liftJSON        `json:"redeemedLift,omitempty"`
}

type experimentStatsJSON struct {
	HoldoutPercent int       `json:"holdoutPercent"`
	ReturnDays     int       `json:"returnDays"`
	WinnerID       string    `json:"winnerId,omitempty"`
	Method         string    `json:"method" doc:"How lift intervals are computed: difference of proportions, Newcombe's hybrid score (Wilson) 95% interval"`
	Arms           []armJSON `json:"arms"`
}

func newExperimentStats(e *campaign.ExperimentStats) *experimentStatsJSON {
	if e == nil {
		return nil
	}
	out := &experimentStatsJSON{HoldoutPercent: e.HoldoutPercent, ReturnDays: e.ReturnDays, WinnerID: e.WinnerID, Method: e.Method, Arms: []armJSON{}}
	for _, a := range e.Arms {
		out.Arms = append(out.Arms, armJSON{
			ID: a.ID, Holdout: a.Holdout, Stopped: a.Stopped, Winner: a.Winner, Weight: a.Weight,
			Customers: a.Customers, Entered: a.Entered, Triggered: a.Triggered, Suppressed: a.Suppressed,
			Pushed: a.Pushed, Opened: a.Opened, Redeemed: a.Redeemed, Redeemers: a.Redeemers, Returned: a.Returned,
			ReturnedRate: a.ReturnedRate, RedeemedRate: a.RedeemedRate,
			ReturnedLift: newLift(a.ReturnedLift), RedeemedLift: newLift(a.RedeemedLift),
		})
	}
	return out
}

func newLift(l *campaign.Lift) *liftJSON {
	if l == nil {
		return nil
	}
	return &liftJSON{Diff: l.Diff, Low: l.Low, High: l.High, Relative: l.Relative}
}

// postVariantStop handles POST /v1/campaigns/{id}/variants/{variantId}/stop.
func (s *Server) postVariantStop(c fiber.Ctx) error {
	cp, err := s.svc.Campaigns.StopVariant(c.Context(), actor(c), c.Params("id"), c.Params("variantId"))
	if err != nil {
		return err
	}
	return c.JSON(newCampaignResponse(cp))
}

// postVariantWinner handles POST /v1/campaigns/{id}/variants/{variantId}/winner.
func (s *Server) postVariantWinner(c fiber.Ctx) error {
	cp, err := s.svc.Campaigns.DeclareWinner(c.Context(), actor(c), c.Params("id"), c.Params("variantId"))
	if err != nil {
		return err
	}
	return c.JSON(newCampaignResponse(cp))
}
