package api

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/fan"
)

// fanRoutes are loyalty, rewards, referrals, segments, feedback with service
// recovery, and the customer's own data.
func (s *Server) fanRoutes() []route {
	staff := only(hyperlieu.RoleMarketer, hyperlieu.RoleAdmin)
	shopStaff := only(hyperlieu.RoleManager, hyperlieu.RoleAdmin)
	return []route{
		{method: "GET", path: "/v1/me/loyalty", op: "getMyLoyalty", access: signedIn, summary: "The caller's points balance, tier, progress and latest ledger entries",
			out: loyaltyResponse{}, handler: s.getMyLoyalty},
		{method: "GET", path: "/v1/me/referral", op: "getMyReferral", access: signedIn, summary: "The caller's referral code, link and referrals",
			out: referralResponse{}, handler: s.getMyReferral},
		{method: "GET", path: "/v1/rewards", op: "listRewards", access: signedIn, summary: "The rewards catalogue (marketers also see inactive rewards)",
			out: []rewardResponse{}, handler: s.getRewards},
		{method: "POST", path: "/v1/rewards", op: "createReward", access: staff, summary: "Add a reward to the catalogue",
			in: rewardRequest{}, out: rewardResponse{}, status: 201, handler: s.postReward},
		{method: "PATCH", path: "/v1/rewards/:id", op: "updateReward", access: staff, summary: "Change a reward (name, description, cost, active)",
			in: rewardRequest{}, out: rewardResponse{}, handler: s.patchReward},
		{method: "POST", path: "/v1/me/rewards/:id/claim", op: "claimReward", access: signedIn, summary: "Spend points on a reward and get its offer code (409 and nothing spent when the balance is short)",
			out: claimResponse{}, status: 201, errs: []int{409}, handler: s.postClaimReward},
		{method: "POST", path: "/v1/admin/activities", op: "recordActivity", access: only(hyperlieu.RoleAdmin), summary: "Record a customer activity (replays and back-office corrections; idempotent by sourceKey)",
			in: activityRequest{}, status: 204, errs: []int{404}, handler: s.postActivity},
		{method: "GET", path: "/v1/admin/segments", op: "countSegments", access: staff, summary: "How many customers are in each segment",
			out: segmentsResponse{}, handler: s.getSegments},
		{method: "GET", path: "/v1/admin/users/:id", op: "getCustomer", access: staff, summary: "A customer as marketers see them: segment and why, loyalty, referral",
			out: fanResponse{}, handler: s.getFan},
		{method: "POST", path: "/v1/shops/:id/feedback", op: "rateShop", access: signedIn, summary: "Rate a shop (1 to 5); 2 or less alerts its managers",
			in: shopFeedbackRequest{}, out: shopFeedbackResponse{}, status: 201, handler: s.postShopFeedback},
		{method: "GET", path: "/v1/shops/:id/feedback", op: "listShopFeedback", access: shopStaff, summary: "A page of a shop's feedback, newest first (X-Next-Cursor names the next page)",
			query: shopFeedbackQuery{}, out: []shopFeedbackResponse{}, headers: []string{"X-Next-Cursor"}, handler: s.getShopFeedback},
		{method: "POST", path: "/v1/shops/:id/gestures", op: "makeGesture", access: shopStaff, summary: "A goodwill gesture to a customer: a personal message with an offer or points",
			in: gestureRequest{}, out: gestureResponse{}, status: 201, errs: []int{429}, handler: s.postGesture},
		{method: "GET", path: "/v1/shops/:id/gestures/stats", op: "getGestureStats", access: shopStaff, summary: "Customers who received a gesture and how many came back within 60 days",
			out: gestureStatsResponse{}, handler: s.getGestureStats},
		{method: "GET", path: "/v1/me/export", op: "exportMyData", access: signedIn, summary: "Everything stored about the caller, as one JSON document",
			out: map[string]any{}, errs: []int{404}, handler: s.getMyExport},
		{method: "DELETE", path: "/v1/me", op: "eraseMe", access: signedIn, summary: "Erase the caller's account and personal data (aggregates are kept without identity)",
			status: 204, handler: s.deleteMe},
	}
}

type ledgerEntryResponse struct {
	ID       string    `json:"id"`
	Amount   int       `json:"amount"`
	Reason   string    `json:"reason"`
	RewardID string    `json:"rewardId,omitempty"`
	Code     string    `json:"code,omitempty"`
	At       time.Time `json:"at"`
}

func newLedgerEntries(es []fan.LedgerEntry) []ledgerEntryResponse {
	out := make([]ledgerEntryResponse, len(es))
	for i, e := range es {
		out[i] = ledgerEntryResponse{ID: e.ID, Amount: e.Amount, Reason: e.Reason, RewardID: e.RewardID, Code: e.Code, At: e.At}
	}
	return out
}

type nextTier struct {
	Name         string `json:"name"`
	PointsNeeded int    `json:"pointsNeeded"`
}

type loyaltyResponse struct {
	Balance    int                   `json:"balance"`
	Tier       string                `json:"tier"`
	Earned     int                   `json:"earned" doc:"Points earned over the tier window"`
	WindowDays int                   `json:"windowDays"`
	Next       *nextTier             `json:"nextTier" doc:"null at the top tier"`
	Recent     []ledgerEntryResponse `json:"recent"`
	Rewards    []ledgerEntryResponse `json:"rewards"`
}

func newLoyaltyResponse(l fan.Loyalty) loyaltyResponse {
	r := loyaltyResponse{Balance: l.Balance, Tier: l.Tier, Earned: l.Earned, WindowDays: l.WindowDays,
		Recent: newLedgerEntries(l.Recent), Rewards: newLedgerEntries(l.Rewards)}
	if l.NextTier != "" {
		r.Next = &nextTier{Name: l.NextTier, PointsNeeded: l.NextNeeds}
	}
	return r
}

// getMyLoyalty handles GET /v1/me/loyalty.
func (s *Server) getMyLoyalty(c fiber.Ctx) error {
	l, err := s.svc.Fans.Loyalty(c.Context(), userID(c))
	if err != nil {
		return err
	}
	return c.JSON(newLoyaltyResponse(l))
}

type referralItem struct {
	Status     string     `json:"status"`
	Reason     string     `json:"reason,omitempty"`
	CreatedAt  time.Time  `json:"createdAt"`
	RewardedAt *time.Time `json:"rewardedAt,omitempty"`
}

type referralResponse struct {
	Code              string         `json:"code"`
	Link              string         `json:"link"`
	RewardedThisMonth int            `json:"rewardedThisMonth"`
	MonthlyCap        int            `json:"monthlyCap"`
	Referrals         []referralItem `json:"referrals"`
}

// getMyReferral handles GET /v1/me/referral.
func (s *Server) getMyReferral(c fiber.Ctx) error {
	info, err := s.svc.Fans.MyReferral(c.Context(), userID(c))
	if err != nil {
		return err
	}
	r := referralResponse{Code: info.Code, Link: info.Link, RewardedThisMonth: info.RewardedThisMonth, MonthlyCap: info.MonthlyCap, Referrals: []referralItem{}}
	for _, x := range info.Referrals {
		it := referralItem{Status: x.Status, Reason: x.Reason, CreatedAt: x.CreatedAt}
		if !x.RewardedAt.IsZero() {
			it.RewardedAt = &x.RewardedAt
		}
		r.Referrals = append(r.Referrals, it)
	}
	return c.JSON(r)
}

// rewardRequest creates a reward (name and cost required) or patches one.
type rewardRequest struct {
	Name        *string `json:"name,omitempty"`
	Description *string `json:"description,omitempty"`
	Cost        *int    `json:"cost,omitempty" api:"min=0" doc:"Points"`
	Active      *bool   `json:"active,omitempty"`
}

type rewardResponse struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Cost        int       `json:"cost"`
	Active      bool      `json:"active"`
	CreatedAt   time.Time `json:"createdAt"`
}

func newRewardResponse(r fan.Reward) rewardResponse {
	return rewardResponse{ID: r.ID, Name: r.Name, Description: r.Description, Cost: r.Cost, Active: r.Active, CreatedAt: r.CreatedAt}
}

// getRewards handles GET /v1/rewards.
func (s *Server) getRewards(c fiber.Ctx) error {
	a := actor(c)
	rs, err := s.svc.Fans.Rewards(c.Context(), a.Is(hyperlieu.RoleMarketer) || a.Is(hyperlieu.RoleAdmin))
	if err != nil {
		return err
	}
	out := make([]rewardResponse, len(rs))
	for i, r := range rs {
		out[i] = newRewardResponse(r)
	}
	return c.JSON(out)
}

// postReward handles POST /v1/rewards.
func (s *Server) postReward(c fiber.Ctx) error {
	var in rewardRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	r, err := s.svc.Fans.CreateReward(c.Context(), fan.RewardPatch{Name: in.Name, Description: in.Description, Cost: in.Cost, Active: in.Active})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(newRewardResponse(r))
}

// patchReward handles PATCH /v1/rewards/{id}.
func (s *Server) patchReward(c fiber.Ctx) error {
	var in rewardRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	r, err := s.svc.Fans.UpdateReward(c.Context(), c.Params("id"), fan.RewardPatch(in))
	if err != nil {
		return err
	}
	return c.JSON(newRewardResponse(r))
}

type claimResponse struct {
	RewardID string    `json:"rewardId"`
	Code     string    `json:"code"`
	Cost     int       `json:"cost"`
	Balance  int       `json:"balance"`
	At       time.Time `json:"at"`
}

// postClaimReward handles POST /v1/me/rewards/{id}/claim.
func (s *Server) postClaimReward(c fiber.Ctx) error {
	e, bal, err := s.svc.Fans.ClaimReward(c.Context(), userID(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(claimResponse{RewardID: e.RewardID, Code: e.Code, Cost: -e.Amount, Balance: bal, At: e.At})
}

type activityRequest struct {
	UserID    string     `json:"userId" api:"required"`
	Kind      string     `json:"kind" api:"required,enum=checkin|redemption|feedback|rsvp"`
	SourceKey string     `json:"sourceKey" api:"required,maxLength=300" doc:"Idempotency key: the same key is recorded once"`
	ShopID    string     `json:"shopId,omitempty"`
	At        *time.Time `json:"at,omitempty"`
}

// postActivity handles POST /v1/admin/activities.
func (s *Server) postActivity(c fiber.Ctx) error {
	var in activityRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	a := hyperlieu.Activity{UserID: in.UserID, Kind: hyperlieu.ActivityKind(in.Kind), SourceKey: in.SourceKey, ShopID: in.ShopID}
	if in.At != nil {
		a.At = *in.At
	}
	if err := s.svc.Fans.RecordStaffActivity(c.Context(), actor(c), a); err != nil {
		return err
	}
	return noContent(c)
}

type segmentsResponse struct {
	Counts map[string]int `json:"counts"`
	Total  int            `json:"total"`
}

// getSegments handles GET /v1/admin/segments.
func (s *Server) getSegments(c fiber.Ctx) error {
	counts, err := s.svc.Fans.SegmentCounts(c.Context())
	if err != nil {
		return err
	}
	r := segmentsResponse{Counts: map[string]int{}}
	for seg, n := range counts {
		r.Counts[string(seg)] = n
		r.Total += n
	}
	return c.JSON(r)
}

type fanResponse struct {
	ID            string          `json:"id"`
	Email         string          `json:"email"`
	DisplayName   string          `json:"displayName"`
	CreatedAt     time.Time       `json:"createdAt"`
	Segment       string          `json:"segment"`
	SegmentReason string          `json:"segmentReason"`
	Loyalty       loyaltyResponse `json:"loyalty"`
	ReferredBy    *string         `json:"referredBy"`
	Referral      *referralItem   `json:"referral"`
}

// getFan handles GET /v1/admin/users/{id}.
func (s *Server) getFan(c fiber.Ctx) error {
	v, err := s.svc.Fans.Fan(c.Context(), c.Params("id"))
	if err != nil {
		return err
	}
	r := fanResponse{
		ID: v.User.ID, Email: v.User.Email, DisplayName: v.User.DisplayName, CreatedAt: v.User.CreatedAt,
		Segment: string(v.Profile.Segment), SegmentReason: v.Profile.Reason, Loyalty: newLoyaltyResponse(v.Loyalty),
	}
	if v.Referral != nil {
		r.ReferredBy = &v.Referral.ReferrerID
		r.Referral = &referralItem{Status: v.Referral.Status, Reason: v.Referral.Reason, CreatedAt: v.Referral.CreatedAt}
	}
	return c.JSON(r)
}

type shopFeedbackRequest struct {
	Rating  int    `json:"rating" api:"required,min=1,max=5"`
	Comment string `json:"comment,omitempty" api:"maxLength=2000"`
}

type shopFeedbackQuery struct {
	NeedsAttention bool   `query:"needsAttention" doc:"true: only low ratings not yet answered"`
	Cursor         string `query:"cursor" doc:"X-Next-Cursor of the previous page"`
	Limit          int    `query:"limit" api:"min=1,max=100,default=100" doc:"a page needing attention may hold fewer and still have a next one"`
}

type shopFeedbackResponse struct {
	ID             string     `json:"id"`
	ShopID         string     `json:"shopId"`
	UserID         string     `json:"userId,omitempty"`
	Rating         int        `json:"rating"`
	Comment        string     `json:"comment"`
	At             time.Time  `json:"at"`
	NeedsAttention bool       `json:"needsAttention"`
	AnsweredAt     *time.Time `json:"answeredAt,omitempty"`
	GestureID      string     `json:"gestureId,omitempty"`
}

func newShopFeedbackResponse(f fan.ShopFeedback) shopFeedbackResponse {
	r := shopFeedbackResponse{ID: f.ID, ShopID: f.ShopID, UserID: f.UserID, Rating: f.Rating, Comment: f.Comment, At: f.At,
		NeedsAttention: f.NeedsAttention(), GestureID: f.GestureID}
	if !f.AnsweredAt.IsZero() {
		r.AnsweredAt = &f.AnsweredAt
	}
	return r
}

// postShopFeedback handles POST /v1/shops/{id}/feedback.
func (s *Server) postShopFeedback(c fiber.Ctx) error {
	var in shopFeedbackRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	f, err := s.svc.Fans.GiveFeedback(c.Context(), userID(c), c.Params("id"), in.Rating, in.Comment)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(newShopFeedbackResponse(f))
}

// getShopFeedback handles GET /v1/shops/{id}/feedback.
func (s *Server) getShopFeedback(c fiber.Ctx) error {
	var needs bool
	switch q := strings.ToLower(c.Query("needsAttention")); q {
	case "", "false", "0":
	case "true", "1":
		needs = true
	default:
		return hyperlieu.InvalidField("needsAttention", "must be true or false")
	}
	cursor, limit, err := pageParams(c)
	if err != nil {
		return err
	}
	fs, next, err := s.svc.Fans.ShopFeedback(c.Context(), actor(c), c.Params("id"), needs, cursor, limit)
	if err != nil {
		return err
	}
	if next != "" {
		c.Set("X-Next-Cursor", next)
	}
	out := make([]shopFeedbackResponse, len(fs))
	for i, f := range fs {
		out[i] = newShopFeedbackResponse(f)
	}
	return c.JSON(out)
}

type gestureOffer struct {
	Title string `json:"title" api:"required,maxLength=120"`
}

// gestureRequest gives an offer or points, not both.
type gestureRequest struct {
	UserID     string        `json:"userId" api:"required"`
	FeedbackID string        `json:"feedbackId,omitempty"`
	Message    string        `json:"message" api:"required,maxLength=500"`
	Offer      *gestureOffer `json:"offer,omitempty"`
	Points     int           `json:"points,omitempty" api:"min=0"`
}

type gestureResponse struct {
	ID         string    `json:"id"`
	ShopID     string    `json:"shopId"`
	UserID     string    `json:"userId"`
	FeedbackID string    `json:"feedbackId,omitempty"`
	Message    string    `json:"message"`
	Offer      string    `json:"offer,omitempty"`
	Code       string    `json:"code,omitempty"`
	Points     int       `json:"points,omitempty"`
	At         time.Time `json:"at"`
}

// postGesture handles POST /v1/shops/{id}/gestures.
func (s *Server) postGesture(c fiber.Ctx) error {
	var in gestureRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	req := fan.GestureRequest{UserID: in.UserID, FeedbackID: in.FeedbackID, Message: in.Message, Points: in.Points}
	if in.Offer != nil {
		req.Offer, req.OfferTitle = true, in.Offer.Title
	}
	g, err := s.svc.Fans.MakeGesture(c.Context(), actor(c), c.Params("id"), req)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(gestureResponse{
		ID: g.ID, ShopID: g.ShopID, UserID: g.UserID, FeedbackID: g.FeedbackID, Message: g.Message,
		Offer: g.OfferTitle, Code: g.Code, Points: g.Points, At: g.At,
	})
}

type gestureStatsResponse struct {
	Gestures   int `json:"gestures"`
	Customers  int `json:"customers"`
	CameBack   int `json:"cameBack"`
	WindowDays int `json:"windowDays"`
}

// getGestureStats handles GET /v1/shops/{id}/gestures/stats.
func (s *Server) getGestureStats(c fiber.Ctx) error {
	st, err := s.svc.Fans.ShopGestureStats(c.Context(), actor(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(gestureStatsResponse(st))
}

// getMyExport handles GET /v1/me/export.
func (s *Server) getMyExport(c fiber.Ctx) error {
	doc, err := s.svc.Privacy.Export(c.Context(), userID(c))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="hyperlieu-export.json"`)
	return c.JSON(doc)
}

// deleteMe handles DELETE /v1/me.
func (s *Server) deleteMe(c fiber.Ctx) error {
	if err := s.svc.Privacy.Erase(c.Context(), userID(c)); err != nil {
		return err
	}
	return noContent(c)
}
