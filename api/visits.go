package api

import (
	"github.com/gofiber/fiber/v3"

	"github.com/hyperlieu/hyperlieu"
)

// visitRoutes close the loop after a visit: the customer rates the visit
// they were asked about (the push's visitAskId), and the shop's staff read
// the visit figures.
func (s *Server) visitRoutes() []route {
	shopStaff := only(hyperlieu.RoleManager, hyperlieu.RoleAdmin)
	return []route{
		{method: "POST", path: "/v1/me/visit-asks/:id/rating", op: "rateVisit", access: signedIn,
			summary: `Answer "how was your visit?": a rating of 2 or less alerts the shop's managers; the answer says what to offer next`,
			in:      visitRatingRequest{}, out: visitRatingResponse{}, status: 201, errs: []int{404, 409}, handler: s.postVisitRating},
		{method: "GET", path: "/v1/shops/:id/visit-stats", op: "getVisitStats", access: shopStaff,
			summary: "A shop's visits detected, ratings asked and answered, low ratings answered with a gesture and customers who came back",
			out:     visitStatsResponse{}, errs: []int{404}, handler: s.getVisitStats},
	}
}

type visitRatingRequest struct {
	Rating  int    `json:"rating" api:"required,min=1,max=5"`
	Comment string `json:"comment,omitempty" api:"maxLength=2000" doc:"Private: the shop's staff read it"`
}

type visitRatingResponse struct {
	FeedbackID string   `json:"feedbackId"`
	ShopID     string   `json:"shopId"`
	Rating     int      `json:"rating"`
	Next       []string `json:"next" doc:"What the app offers next: recovery (a low rating: the team was told), review (publish it: POST /v1/shops/{id}/reviews), invite (referralLink)"`
	// ReferralLink is the customer's own link, with "invite".
	ReferralLink string `json:"referralLink,omitempty"`
}

// postVisitRating handles POST /v1/me/visit-asks/{id}/rating.
func (s *Server) postVisitRating(c fiber.Ctx) error {
	var in visitRatingRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	a, err := s.svc.Visits.Rate(c.Context(), userID(c), c.Params("id"), in.Rating, in.Comment)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(visitRatingResponse{
		FeedbackID: a.Feedback.ID, ShopID: a.Ask.ShopID, Rating: a.Feedback.Rating, Next: a.Next, ReferralLink: a.ReferralLink,
	})
}

type visitStatsResponse struct {
	Visits       int64   `json:"visits" doc:"Visits recorded: detected (a stay then an exit), check-ins and redemptions"`
	Asked        int64   `json:"asked"`
	Answered     int64   `json:"answered"`
	Low          int64   `json:"low" doc:"Answers rated 2 or less"`
	LowGestured  int64   `json:"lowGestured" doc:"Low ratings answered with a gesture"`
	CameBack     int64   `json:"cameBack" doc:"Of lowGestured, customers who visited again within windowDays"`
	RecoveryRate float64 `json:"recoveryRate" doc:"cameBack / lowGestured, 0 to 1"`
	WindowDays   int     `json:"windowDays"`
}

// getVisitStats handles GET /v1/shops/{id}/visit-stats.
func (s *Server) getVisitStats(c fiber.Ctx) error {
	st, err := s.svc.Visits.ShopVisitStats(c.Context(), actor(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(visitStatsResponse(st))
}
