package fan

import (
	"context"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/hyperlieu/hyperlieu"
)

// ShopFeedback is a customer's rating of a shop. A rating of 2 or less needs
// attention until a manager answers it with a gesture.
type ShopFeedback struct {
	ID         string
	ShopID     string
	UserID     string // "" once the author erased their account
	Rating     int
	Comment    string
	At         time.Time
	AnsweredAt time.Time
	GestureID  string
}

// NeedsAttention reports whether a manager should answer f.
func (f ShopFeedback) NeedsAttention() bool {
	return f.Rating <= hyperlieu.LowRating && f.AnsweredAt.IsZero()
}

// Gesture is a manager's goodwill gesture to a customer: a personal message
// with an offer code or points.
type Gesture struct {
	ID         string
	ShopID     string
	ManagerID  string
	UserID     string // "" once the customer erased their account
	FeedbackID string
	Message    string
	OfferTitle string
	Code       string
	Points     int
	At         time.Time
	// Returned is frozen when the customer erases their account, so the
	// shop's stats keep counting them.
	Returned *bool
}

// GestureRequest is what a manager sends.
type GestureRequest struct {
	UserID, FeedbackID, Message string
	Offer                       bool   // an offer is given: OfferTitle is then required
	OfferTitle                  string // implies Offer
	Points                      int
}

// GiveFeedback records a customer's rating of a shop. Ratings of 2 or less
// alert the shop's managers at once. Feedback earns points once per shop and
// day. Invalid names bad fields; NotFound when the shop does not exist.
func (s *Service) GiveFeedback(ctx context.Context, userID, shopID string, rating int, comment string) (ShopFeedback, error) {
	return s.giveFeedback(ctx, hyperlieu.NewID(), userID, shopID, rating, comment)
}

// giveFeedback is GiveFeedback under a chosen ID: a rating answering a visit
// ask takes the ask's ID, so that it is stored once (Conflict the second time).
func (s *Service) giveFeedback(ctx context.Context, id, userID, shopID string, rating int, comment string) (ShopFeedback, error) {
	var p hyperlieu.Problems
	if rating < 1 || rating > 5 {
		p.Add("rating", "must be a whole number from 1 to 5")
	}
	comment = trimmed(comment)
	if utf8.RuneCountInString(comment) > 2000 {
		p.Add("comment", "must be at most 2000 characters")
	}
	if err := p.Err(); err != nil {
		return ShopFeedback{}, err
	}
	if err := s.shopExists(ctx, shopID); err != nil {
		return ShopFeedback{}, err
	}
	now := s.now()
	f := ShopFeedback{ID: id, ShopID: shopID, UserID: userID, Rating: rating, Comment: comment, At: now}
	if err := s.store.CreateShopFeedback(ctx, f); err != nil {
		return ShopFeedback{}, fmt.Errorf("give feedback: %w", err)
	}
	if f.Rating <= hyperlieu.LowRating {
		s.alertManagers(ctx, f)
	}
	day := now.Format("2006-01-02")
	if err := s.RecordActivity(ctx, hyperlieu.Activity{UserID: userID, Kind: hyperlieu.ActivityFeedback, SourceKey: "feedback:" + shopID + ":" + userID + ":" + day, ShopID: shopID, At: now, Rating: rating}); err != nil {
		return ShopFeedback{}, fmt.Errorf("give feedback: %w", err)
	}
	return f, nil
}

func (s *Service) shopExists(ctx context.Context, shopID string) error {
	if _, _, err := s.shops.ShopPlace(ctx, shopID); err != nil {
		return fmt.Errorf("shop %s: %w", shopID, err)
	}
	return nil
}

// alertManagers pushes a low rating to every manager of the shop, at once
// (a service message: not capped, and managers need it now).
func (s *Service) alertManagers(ctx context.Context, f ShopFeedback) {
	ids, err := s.store.FindUserIDsWithRole(ctx, hyperlieu.RoleManager)
	if err != nil {
		s.log.ErrorContext(ctx, "low rating: list managers", "shop", f.ShopID, "err", err)
		return
	}
	vars := map[string]string{"rating": strconv.Itoa(f.Rating), "comment": f.Comment, "shop": s.shopName(ctx, f.ShopID)}
	var reqs []hyperlieu.NotificationRequest
	for _, id := range ids {
		ok, err := s.shops.ManagesShop(ctx, id, f.ShopID)
		if err != nil {
			s.log.ErrorContext(ctx, "low rating: manager check", "shop", f.ShopID, "err", err)
			continue
		}
		if ok {
			reqs = append(reqs, hyperlieu.NotificationRequest{
				UserID: id, Kind: hyperlieu.KindLowRating,
				Vars:     vars,
				Data:     map[string]string{"shopId": f.ShopID, "feedbackId": f.ID, "userId": f.UserID},
				DedupKey: "low_rating:" + f.ID + ":" + id,
			})
		}
	}
	s.send(ctx, reqs...)
}

// shopName is the shop's name for a message, or "" (the templates then do
// without it) when it cannot be read: a message is not worth failing for.
func (s *Service) shopName(ctx context.Context, shopID string) string {
	name, err := s.shops.ShopName(ctx, shopID)
	if err != nil {
		s.log.WarnContext(ctx, "shop name for a message", "shop", shopID, "err", err)
		return ""
	}
	return name
}

// canManage returns Forbidden unless the actor is an admin or manages the shop.
func (s *Service) canManage(ctx context.Context, a hyperlieu.Actor, shopID string) error {
	if err := s.shopExists(ctx, shopID); err != nil {
		return err
	}
	return s.shops.MayManageShop(ctx, a, shopID)
}

// Pages of lists staff read: at most MaxPage items, DefaultPage when the
// caller does not say.
const (
	DefaultPage = 100
	MaxPage     = 100
)

// pageArgs checks a page's cursor (opaque to callers: "" for the first
// page) and limit (0: DefaultPage); Invalid names the bad one.
func pageArgs(cursor string, limit int) (int, int, error) {
	var p hyperlieu.Problems
	before := 0
	if cursor != "" {
		n, err := strconv.Atoi(cursor)
		if err != nil || n < 1 {
			p.Add("cursor", "must be the next cursor of a previous page")
		}
		before = n
	}
	switch {
	case limit == 0:
		limit = DefaultPage
	case limit < 1 || limit > MaxPage:
		p.Add("limit", "must be between 1 and %d", MaxPage)
	}
	return before, limit, p.Err()
}

// nextCursor is the cursor callers pass for the page after next ("" at the end).
func nextCursor(next int) string {
	if next <= 0 {
		return ""
	}
	return strconv.Itoa(next)
}

// ShopFeedback lists a page of a shop's feedback, newest first (the first
// page for cursor "", limit 0 for DefaultPage); only what needs attention
// when asked. It returns the cursor of the next page, "" at the end; a page
// needing attention may be short of limit and still have a next one.
// Invalid for a bad cursor or limit; Forbidden unless a manager of the shop
// or an admin.
func (s *Service) ShopFeedback(ctx context.Context, a hyperlieu.Actor, shopID string, needsAttention bool, cursor string, limit int) ([]ShopFeedback, string, error) {
	before, limit, err := pageArgs(cursor, limit)
	if err != nil {
		return nil, "", err
	}
	if err := s.canManage(ctx, a, shopID); err != nil {
		return nil, "", err
	}
	fs, next, err := s.store.FindShopFeedbackOf(ctx, shopID, needsAttention, before, limit)
	if err != nil {
		return nil, "", fmt.Errorf("shop feedback: %w", err)
	}
	return fs, nextCursor(next), nil
}

// MakeGesture sends a customer a manager's personal message with an offer
// code or points, in the customer's tone (the notifier renders it), and
// marks the feedback it answers. Invalid names bad fields (exactly one of an
// offer or points); Forbidden unless the actor manages the shop, and for a
// gesture to oneself; NotFound for an unknown customer or feedback of
// another shop or customer; TooManyRequests when the manager's daily budget
// of points or offers cannot cover it.
func (s *Service) MakeGesture(ctx context.Context, a hyperlieu.Actor, shopID string, in GestureRequest) (Gesture, error) {
	var p hyperlieu.Problems
	in.Message, in.OfferTitle = trimmed(in.Message), trimmed(in.OfferTitle)
	if in.UserID == "" {
		p.Add("userId", "is required")
	}
	if n := utf8.RuneCountInString(in.Message); n == 0 || n > 500 {
		p.Add("message", "is required, at most 500 characters")
	}
	switch {
	case in.Offer && in.OfferTitle == "":
		p.Add("offer.title", "is required")
	case in.OfferTitle == "" && in.Points == 0:
		p.Add("offer", "give an offer or points")
	case in.OfferTitle != "" && in.Points != 0:
		p.Add("points", "give an offer or points, not both")
	case in.Points < 0 || in.Points > s.opts.MaxGesturePoints:
		p.Add("points", "must be between 1 and %d", s.opts.MaxGesturePoints)
	case utf8.RuneCountInString(in.OfferTitle) > 120:
		p.Add("offer.title", "must be at most 120 characters")
	}
	if err := p.Err(); err != nil {
		return Gesture{}, err
	}
	if err := s.canManage(ctx, a, shopID); err != nil {
		return Gesture{}, err
	}
	if in.UserID == a.UserID { // goodwill is for customers, not a way to pay oneself
		return Gesture{}, hyperlieu.Errorf(hyperlieu.Forbidden, "a gesture cannot be made to oneself")
	}
	if _, err := s.store.FindUser(ctx, in.UserID); err != nil {
		return Gesture{}, fmt.Errorf("gesture: customer: %w", err)
	}
	var fb ShopFeedback
	if in.FeedbackID != "" {
		var err error
		fb, err = s.store.FindShopFeedback(ctx, in.FeedbackID)
		if err != nil || fb.ShopID != shopID || fb.UserID != in.UserID {
			return Gesture{}, hyperlieu.Errorf(hyperlieu.NotFound, "feedback not found for this shop and customer")
		}
	}
	g := Gesture{
		ID: hyperlieu.NewID(), ShopID: shopID, ManagerID: a.UserID, UserID: in.UserID, FeedbackID: in.FeedbackID,
		Message: in.Message, OfferTitle: in.OfferTitle, Points: in.Points, At: s.now(),
	}
	if err := s.claimGestureBudget(ctx, g); err != nil {
		return Gesture{}, err
	}
	if g.OfferTitle != "" { // a wallet offer, redeemable at this shop
		var err error
		if g.Code, err = s.offerCode(ctx, g.UserID, hyperlieu.OfferFromGesture, g.ID, g.OfferTitle, []string{shopID}); err != nil {
			return Gesture{}, fmt.Errorf("gesture: offer: %w", err)
		}
	}
	if err := s.store.CreateGesture(ctx, g); err != nil {
		return Gesture{}, fmt.Errorf("gesture: %w", err)
	}
	if g.Points > 0 {
		if err := s.award(ctx, g.UserID, g.Points, "gesture from the shop", "gesture:"+g.ID); err != nil {
			return Gesture{}, fmt.Errorf("gesture points: %w", err)
		}
	}
	if in.FeedbackID != "" && fb.AnsweredAt.IsZero() {
		fb.AnsweredAt, fb.GestureID = g.At, g.ID
		if err := s.store.UpdateShopFeedback(ctx, fb); err != nil {
			return Gesture{}, fmt.Errorf("gesture: mark feedback answered: %w", err)
		}
		if s.onGestured != nil {
			s.onGestured(ctx, fb, g)
		}
	}
	s.audit(ctx, hyperlieu.AuditEntry{
		At: g.At, ActorID: a.UserID, ActorRole: a.ActingRole(hyperlieu.RoleManager), Action: hyperlieu.AuditGesture,
		UserID: g.UserID, ShopID: shopID, ObjectID: g.ID,
	})
	vars := map[string]string{"message": g.Message, "shop": s.shopName(ctx, shopID)}
	if g.Code != "" {
		vars["offer"], vars["code"] = g.OfferTitle, g.Code
	} else {
		vars["points"] = strconv.Itoa(g.Points)
	}
	s.send(ctx, hyperlieu.NotificationRequest{
		UserID: g.UserID, Kind: hyperlieu.KindGesture, Vars: vars,
		Data: map[string]string{"shopId": shopID, "gestureId": g.ID}, DedupKey: "gesture:" + g.ID,
	})
	return g, nil
}

// claimGestureBudget takes the gesture's points or offer from its manager's
// daily budget. A gesture that fails after this keeps its claim: the budget
// errs on the side of giving less.
func (s *Service) claimGestureBudget(ctx context.Context, g Gesture) error {
	if g.OfferTitle != "" {
		return s.claimBudget(ctx, "offers", g.ManagerID, g.ID, 1, s.opts.GestureOffersPerDay)
	}
	return s.claimBudget(ctx, "points", g.ManagerID, g.ID, g.Points, s.opts.GesturePointsPerDay)
}

// GestureStats is what a manager is proud of: of the customers who received
// a gesture, how many came back (did anything) within the comeback window.
type GestureStats struct {
	Gestures, Customers, CameBack int
	WindowDays                    int
}

// ShopGestureStats counts a shop's gestures and returning customers.
// Forbidden unless a manager of the shop or an admin.
func (s *Service) ShopGestureStats(ctx context.Context, a hyperlieu.Actor, shopID string) (GestureStats, error) {
	if err := s.canManage(ctx, a, shopID); err != nil {
		return GestureStats{}, err
	}
	gs, err := s.store.FindGesturesOfShop(ctx, shopID)
	if err != nil {
		return GestureStats{}, fmt.Errorf("gesture stats: %w", err)
	}
	st := GestureStats{Gestures: len(gs), WindowDays: int(s.opts.ComebackWindow.Hours() / 24)}
	// One customer counts once: from their first gesture.
	first := map[string]Gesture{}
	for _, g := range gs {
		key := g.UserID
		if key == "" {
			key = "erased:" + g.ID
		}
		if f, ok := first[key]; !ok || g.At.Before(f.At) {
			first[key] = g
		}
	}
	for _, g := range first {
		st.Customers++
		back, err := s.cameBack(ctx, g)
		if err != nil {
			return GestureStats{}, err
		}
		if back {
			st.CameBack++
		}
	}
	return st, nil
}

func (s *Service) cameBack(ctx context.Context, g Gesture) (bool, error) {
	if g.Returned != nil {
		return *g.Returned, nil
	}
	if g.UserID == "" {
		return false, nil
	}
	acts, err := s.store.FindActivitiesOf(ctx, g.UserID)
	if err != nil {
		return false, fmt.Errorf("came back: %w", err)
	}
	for _, x := range acts {
		if x.At.After(g.At) && x.At.Sub(g.At) <= s.opts.ComebackWindow {
			return true, nil
		}
	}
	return false, nil
}
