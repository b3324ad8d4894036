package fan

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hyperlieu/hyperlieu"
)

// Public reviews: a shop rating with a public comment, written only by
// customers who really came (a check-in at the shop's events, a redemption
// at the shop or a visit detected there in the last VisitWindow). The rating itself goes through
// GiveFeedback, so a low one still alerts the managers and opens service
// recovery; the review shares the feedback's ID. Staff never edit what a
// customer wrote: they may answer under it or hide it with a reason (admins
// still see it).

// ReviewOptions tunes public reviews. Zero fields take the defaults.
type ReviewOptions struct {
	VisitWindow time.Duration // a visit this recent allows a review; default 90 days
	PerShop     time.Duration // one public review per customer and shop per this; default 30 days
	PerDay      int           // public reviews per customer per 24 hours; default 5
}

func (o *ReviewOptions) defaults() {
	if o.VisitWindow == 0 {
		o.VisitWindow = 90 * 24 * time.Hour
	}
	if o.PerShop == 0 {
		o.PerShop = 30 * 24 * time.Hour
	}
	if o.PerDay == 0 {
		o.PerDay = 5
	}
}

// Length limits of what people write.
const (
	MaxReviewComment = 1000
	MaxDisplayName   = 40
	MaxReviewAnswer  = 1000
	MaxHideReason    = 300
	MaxReportReason  = 300
)

// Review is a public rating with a comment.
type Review struct {
	ID         string // the ShopFeedback's ID
	ShopID     string
	UserID     string
	Author     string // display name chosen at writing, or the first name
	Rating     int
	Comment    string
	At         time.Time
	VisitedAt  time.Time // the latest visit before writing (shown as a month)
	Answer     string
	AnsweredBy string
	AnsweredAt time.Time
	Hidden     bool
	HideReason string
	HiddenBy   string
	HiddenAt   time.Time
	Reports    int
	// GestureAnswered is derived (not stored): the feedback was answered
	// with a gesture, whose content stays private.
	GestureAnswered bool
}

// ReviewStore keeps public reviews and reports about them.
type ReviewStore interface {
	CreateReview(ctx context.Context, r Review) error
	FindReview(ctx context.Context, id string) (Review, error)
	UpdateReview(ctx context.Context, r Review) error
	// FindReviewsOf returns up to limit of the shop's reviews written before
	// the cursor before (0: the newest), newest first, hidden ones only
	// withHidden, and the cursor of the next page (0 at the end).
	FindReviewsOf(ctx context.Context, shopID string, withHidden bool, before, limit int) ([]Review, int, error)
	// FindReviewStats returns the count and the rating sum of the shop's
	// visible reviews.
	FindReviewStats(ctx context.Context, shopID string) (count, sum int, err error)
	FindReviewsBy(ctx context.Context, userID string) ([]Review, error)
	// CreateReviewReport returns Conflict when userID already reported the review.
	CreateReviewReport(ctx context.Context, reviewID, userID, reason string, at time.Time) error
	// FindShopVisit returns NotFound when no visit was recorded (visits.go).
	FindShopVisit(ctx context.Context, userID, shopID string) (ShopVisit, error)
}

// Reviews holds the public review use cases, on top of the fans service.
type Reviews struct {
	fans  *Service
	store ReviewStore
	opts  ReviewOptions
}

// NewReviews returns the public review use cases.
func NewReviews(fans *Service, store ReviewStore, opts ReviewOptions) *Reviews {
	opts.defaults()
	return &Reviews{fans: fans, store: store, opts: opts}
}

// VisitWindowDays is the configured window, for messages and the README.
func (r *Reviews) VisitWindowDays() int { return int(r.opts.VisitWindow.Hours() / 24) }

// ReviewRequest is what a customer writes.
type ReviewRequest struct {
	Rating      int
	Comment     string
	DisplayName string // optional; the first name otherwise
}

// Write rates a shop with a public comment. Invalid names bad fields;
// Forbidden unless the customer came in the visit window; TooManyRequests
// past the rate limits; NotFound for an unknown shop.
func (r *Reviews) Write(ctx context.Context, userID, shopID string, in ReviewRequest) (Review, error) {
	var p hyperlieu.Problems
	in.Comment, in.DisplayName = trimmed(in.Comment), trimmed(in.DisplayName)
	if in.Rating < 1 || in.Rating > 5 {
		p.Add("rating", "must be a whole number from 1 to 5")
	}
	if n := utf8.RuneCountInString(in.Comment); n == 0 || n > MaxReviewComment {
		p.Add("comment", "is required, at most %d characters", MaxReviewComment)
	}
	if utf8.RuneCountInString(in.DisplayName) > MaxDisplayName || hasControl(in.DisplayName) {
		p.Add("displayName", "must be at most %d characters, on one line", MaxDisplayName)
	}
	if err := p.Err(); err != nil {
		return Review{}, err
	}
	if err := r.fans.shopExists(ctx, shopID); err != nil {
		return Review{}, err
	}
	u, err := r.fans.store.FindUser(ctx, userID)
	if err != nil {
		return Review{}, fmt.Errorf("review: author: %w", err)
	}
	now := r.fans.now()
	visited, err := r.lastVisit(ctx, userID, shopID, now)
	if err != nil {
		return Review{}, err
	}
	if visited.IsZero() {
		return Review{}, hyperlieu.Errorf(hyperlieu.Forbidden, "only customers who came to this shop in the last %d days may review it publicly", r.VisitWindowDays())
	}
	if err := r.checkRate(ctx, userID, shopID, now); err != nil {
		return Review{}, err
	}
	f, err := r.fans.GiveFeedback(ctx, userID, shopID, in.Rating, in.Comment)
	if err != nil {
		return Review{}, err
	}
	author := in.DisplayName
	if author == "" {
		author = firstName(u.DisplayName)
	}
	rv := Review{ID: f.ID, ShopID: shopID, UserID: userID, Author: author, Rating: f.Rating, Comment: f.Comment, At: f.At, VisitedAt: visited}
	if err := r.store.CreateReview(ctx, rv); err != nil {
		return Review{}, fmt.Errorf("review: %w", err)
	}
	return rv, nil
}

// lastVisit is the latest check-in, redemption or detected visit at the
// shop within the window, or the zero time.
func (r *Reviews) lastVisit(ctx context.Context, userID, shopID string, now time.Time) (time.Time, error) {
	acts, err := r.fans.store.FindActivitiesOf(ctx, userID)
	if err != nil {
		return time.Time{}, fmt.Errorf("review: visits: %w", err)
	}
	var last time.Time
	switch sv, err := r.store.FindShopVisit(ctx, userID, shopID); {
	case err == nil && !sv.LastAt.After(now) && now.Sub(sv.LastAt) <= r.opts.VisitWindow:
		last = sv.LastAt
	case err != nil && hyperlieu.KindOf(err) != hyperlieu.NotFound:
		return time.Time{}, fmt.Errorf("review: visits: %w", err)
	}
	for _, a := range acts {
		if a.ShopID != shopID || (a.Kind != hyperlieu.ActivityCheckIn && a.Kind != hyperlieu.ActivityRedemption) {
			continue
		}
		if a.At.After(now) || now.Sub(a.At) > r.opts.VisitWindow {
			continue
		}
		if a.At.After(last) {
			last = a.At
		}
	}
	return last, nil
}

func (r *Reviews) checkRate(ctx context.Context, userID, shopID string, now time.Time) error {
	mine, err := r.store.FindReviewsBy(ctx, userID)
	if err != nil {
		return fmt.Errorf("review: rate: %w", err)
	}
	today := 0
	for _, x := range mine {
		if x.ShopID == shopID && now.Sub(x.At) < r.opts.PerShop {
			e := hyperlieu.Errorf(hyperlieu.TooManyRequests, "one public review per shop every %d days", int(r.opts.PerShop.Hours()/24))
			e.RetryAfter = r.opts.PerShop - now.Sub(x.At)
			return e
		}
		if now.Sub(x.At) < 24*time.Hour {
			today++
		}
	}
	if today >= r.opts.PerDay {
		e := hyperlieu.Errorf(hyperlieu.TooManyRequests, "at most %d public reviews a day", r.opts.PerDay)
		e.RetryAfter = time.Hour
		return e
	}
	return nil
}

// ShopReviews is a shop's reviews as a reader may see them: a page of them,
// and the count and average of all the visible ones.
type ShopReviews struct {
	ShopID, ShopName string
	Count            int
	Average          float64 // of the visible reviews; 0 when none
	Reviews          []Review
	Next             string // the cursor of the next page; "" at the end
}

// List returns the first page of a shop's reviews (ListPage).
func (r *Reviews) List(ctx context.Context, a hyperlieu.Actor, shopID string) (ShopReviews, error) {
	return r.ListPage(ctx, a, shopID, "", 0)
}

// ListPage returns a page of a shop's visible reviews, newest first (cursor
// "" for the first, limit 0 for DefaultPage), with the count and average
// of all of them. Admins also get hidden ones (with the reason); they do
// not count in the average. A page may be short of limit and still have a
// next one. Invalid for a bad cursor or limit; NotFound for an unknown shop.
func (r *Reviews) ListPage(ctx context.Context, a hyperlieu.Actor, shopID, cursor string, limit int) (ShopReviews, error) {
	before, limit, err := pageArgs(cursor, limit)
	if err != nil {
		return ShopReviews{}, err
	}
	if err := r.fans.shopExists(ctx, shopID); err != nil {
		return ShopReviews{}, err
	}
	admin := slices.Contains(a.Roles, hyperlieu.RoleAdmin)
	page, next, err := r.store.FindReviewsOf(ctx, shopID, admin, before, limit)
	if err != nil {
		return ShopReviews{}, fmt.Errorf("reviews: %w", err)
	}
	count, sum, err := r.store.FindReviewStats(ctx, shopID)
	if err != nil {
		return ShopReviews{}, fmt.Errorf("reviews: %w", err)
	}
	out := ShopReviews{ShopID: shopID, ShopName: r.fans.shopName(ctx, shopID), Count: count, Reviews: []Review{}, Next: nextCursor(next)}
	for _, x := range page {
		if f, err := r.fans.store.FindShopFeedback(ctx, x.ID); err == nil && f.GestureID != "" {
			x.GestureAnswered = true
		}
		out.Reviews = append(out.Reviews, x)
	}
	if out.Count > 0 {
		out.Average = float64(sum*10/out.Count) / 10 // one decimal, rounded down
	}
	return out, nil
}

// reviewOf returns the shop's review or NotFound.
func (r *Reviews) reviewOf(ctx context.Context, shopID, reviewID string) (Review, error) {
	rv, err := r.store.FindReview(ctx, reviewID)
	if err != nil || rv.ShopID != shopID {
		return Review{}, hyperlieu.Errorf(hyperlieu.NotFound, "review not found for this shop")
	}
	return rv, nil
}

// Answer publishes the manager's answer under a review (replacing an earlier
// answer). Forbidden unless the actor manages the shop; NotFound for a
// review of another shop; hidden reviews may be answered too.
func (r *Reviews) Answer(ctx context.Context, a hyperlieu.Actor, shopID, reviewID, text string) (Review, error) {
	text = trimmed(text)
	if n := utf8.RuneCountInString(text); n == 0 || n > MaxReviewAnswer {
		return Review{}, hyperlieu.InvalidField("text", fmt.Sprintf("is required, at most %d characters", MaxReviewAnswer))
	}
	if err := r.fans.canManage(ctx, a, shopID); err != nil {
		return Review{}, err
	}
	rv, err := r.reviewOf(ctx, shopID, reviewID)
	if err != nil {
		return Review{}, err
	}
	rv.Answer, rv.AnsweredBy, rv.AnsweredAt = text, a.UserID, r.fans.now()
	if err := r.store.UpdateReview(ctx, rv); err != nil {
		return Review{}, fmt.Errorf("answer review: %w", err)
	}
	return rv, nil
}

// Hide takes a review out of public view, with a reason admins see.
// Forbidden unless the actor manages the shop.
func (r *Reviews) Hide(ctx context.Context, a hyperlieu.Actor, shopID, reviewID, reason string) (Review, error) {
	reason = trimmed(reason)
	if n := utf8.RuneCountInString(reason); n == 0 || n > MaxHideReason {
		return Review{}, hyperlieu.InvalidField("reason", fmt.Sprintf("is required, at most %d characters", MaxHideReason))
	}
	if err := r.fans.canManage(ctx, a, shopID); err != nil {
		return Review{}, err
	}
	rv, err := r.reviewOf(ctx, shopID, reviewID)
	if err != nil {
		return Review{}, err
	}
	if !rv.Hidden {
		rv.Hidden, rv.HideReason, rv.HiddenBy, rv.HiddenAt = true, reason, a.UserID, r.fans.now()
		if err := r.store.UpdateReview(ctx, rv); err != nil {
			return Review{}, fmt.Errorf("hide review: %w", err)
		}
	}
	return rv, nil
}

// Report flags a review for the shop's staff; once per customer and review
// (reporting again is not an error). Visible reviews only.
func (r *Reviews) Report(ctx context.Context, userID, shopID, reviewID, reason string) error {
	reason = trimmed(reason)
	if utf8.RuneCountInString(reason) > MaxReportReason {
		return hyperlieu.InvalidField("reason", fmt.Sprintf("must be at most %d characters", MaxReportReason))
	}
	rv, err := r.reviewOf(ctx, shopID, reviewID)
	if err != nil || rv.Hidden {
		return hyperlieu.Errorf(hyperlieu.NotFound, "review not found for this shop")
	}
	err = r.store.CreateReviewReport(ctx, reviewID, userID, reason, r.fans.now())
	if hyperlieu.KindOf(err) == hyperlieu.Conflict {
		return nil
	}
	if err != nil {
		return fmt.Errorf("report review: %w", err)
	}
	rv.Reports++
	if err := r.store.UpdateReview(ctx, rv); err != nil {
		return fmt.Errorf("report review: %w", err)
	}
	return nil
}

// firstName is the first word of a display name: what a review shows of a
// customer who chose nothing else.
func firstName(display string) string {
	if f := strings.Fields(display); len(f) > 0 {
		return f[0]
	}
	return "A customer"
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}
