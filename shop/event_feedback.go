package shop

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// FeedbackStore keeps attendees' ratings of events.
type FeedbackStore interface {
	// UpdateFeedback creates or replaces the user's feedback on the event.
	UpdateFeedback(ctx context.Context, f Feedback) error
	FindFeedback(ctx context.Context, eventID string) ([]Feedback, error)
}

// Feedback is an attendee's rating of an event; giving it again replaces it.
type Feedback struct {
	EventID, ShopID, UserID string
	Rating                  int
	Comment                 string
	CreatedAt, UpdatedAt    time.Time
}

// NeedsAttention reports whether the shop's managers should look at it.
func (f Feedback) NeedsAttention() bool { return f.Rating <= LowRating }

// GiveFeedback records the user's rating of an event they checked in to,
// once it has started; giving it again replaces it. Invalid for a rating
// outside 1..5 or a long comment; Forbidden without a check-in; Conflict
// before the start. A low rating is sent to the shop's managers.
func (s *EventService) GiveFeedback(ctx context.Context, userID, eventID string, rating int, comment string) (Feedback, error) {
	var p hyperlieu.Problems
	if rating < 1 || rating > 5 {
		p.Add("rating", "must be between 1 and 5")
	}
	validateText(&p, "comment", comment, false, 2000)
	if err := p.Err(); err != nil {
		return Feedback{}, err
	}
	e, sh, err := s.EventWithShop(ctx, eventID)
	if err != nil {
		return Feedback{}, err
	}
	now := s.now()
	if now.Before(e.StartsAt) {
		return Feedback{}, hyperlieu.Errorf(hyperlieu.Conflict, "feedback opens when the event starts")
	}
	if _, err := s.store.FindCheckIn(ctx, eventID, userID); hyperlieu.KindOf(err) == hyperlieu.NotFound {
		return Feedback{}, hyperlieu.Errorf(hyperlieu.Forbidden, "only people who checked in can give feedback")
	} else if err != nil {
		return Feedback{}, err
	}
	f := Feedback{EventID: eventID, ShopID: e.ShopID, UserID: userID, Rating: rating,
		Comment: strings.TrimSpace(comment), CreatedAt: now, UpdatedAt: now}
	if err := s.store.UpdateFeedback(ctx, f); err != nil {
		return Feedback{}, fmt.Errorf("save feedback: %w", err)
	}
	a := hyperlieu.Activity{UserID: userID, Kind: hyperlieu.ActivityFeedback, SourceKey: "feedback:event:" + eventID + ":" + userID, ShopID: sh.ID, At: now, Rating: rating}
	if err := s.activity.RecordActivity(ctx, a); err != nil {
		s.log.WarnContext(ctx, "recording feedback failed", "event", eventID, "err", err)
	}
	if f.NeedsAttention() {
		reqs := make([]hyperlieu.NotificationRequest, 0, len(sh.ManagerIDs))
		for _, m := range sh.ManagerIDs {
			req := s.request(e, sh, m, hyperlieu.KindLowRating, map[string]string{"rating": fmt.Sprint(rating), "comment": f.Comment})
			req.Data["userId"] = userID
			req.DedupKey = fmt.Sprintf("lowrating:%s:%s:%s", eventID, userID, m)
			reqs = append(reqs, req)
		}
		if len(reqs) > 0 {
			if err := s.notifier.Notify(ctx, reqs...); err != nil {
				s.log.WarnContext(ctx, "telling managers about a low rating failed", "event", eventID, "err", err)
			}
		}
	}
	return f, nil
}

// EventFeedback lists an event's feedback for the shop's managers
// (Forbidden otherwise), lowest ratings first.
func (s *EventService) EventFeedback(ctx context.Context, a hyperlieu.Actor, eventID string) ([]Feedback, error) {
	_, sh, err := s.EventWithShop(ctx, eventID)
	if err != nil {
		return nil, err
	}
	if !canManage(a, sh) {
		return nil, hyperlieu.Errorf(hyperlieu.Forbidden, "you do not manage this shop")
	}
	fs, err := s.store.FindFeedback(ctx, eventID)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(fs, func(a, b Feedback) int { return a.Rating - b.Rating })
	return fs, nil
}
