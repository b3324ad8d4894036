package fan

import (
	"context"
	"fmt"
)

// ExportUser returns the fans data about the user: ledger, loyalty,
// referrals, feedback, gestures received and segment. It implements
// PersonalData.
func (s *Service) ExportUser(ctx context.Context, userID string) (map[string]any, error) {
	l, err := s.Loyalty(ctx, userID)
	if err != nil {
		return nil, err
	}
	entries, err := s.store.FindLedgerOf(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("export ledger: %w", err)
	}
	ledger := make([]map[string]any, len(entries))
	for i, e := range entries {
		ledger[i] = map[string]any{"id": e.ID, "amount": e.Amount, "reason": e.Reason, "sourceKey": e.SourceKey, "rewardId": e.RewardID, "code": e.Code, "at": e.At}
	}
	acts, err := s.store.FindActivitiesOf(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("export activities: %w", err)
	}
	activities := make([]map[string]any, len(acts))
	for i, a := range acts {
		activities[i] = map[string]any{"kind": string(a.Kind), "sourceKey": a.SourceKey, "shopId": a.ShopID, "at": a.At}
	}
	refs, err := s.store.FindReferralsBy(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("export referrals: %w", err)
	}
	referrals := map[string]any{"code": ReferralCodeOf(userID), "referred": len(refs)}
	if r, err := s.store.FindReferral(ctx, userID); err == nil {
		referrals["referredWithCode"], referrals["status"] = r.Code, r.Status
	}
	fbs, err := s.store.FindShopFeedbackBy(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("export feedback: %w", err)
	}
	feedback := make([]map[string]any, len(fbs))
	for i, f := range fbs {
		feedback[i] = map[string]any{"id": f.ID, "shopId": f.ShopID, "rating": f.Rating, "comment": f.Comment, "at": f.At, "answered": !f.AnsweredAt.IsZero()}
	}
	gs, err := s.store.FindGesturesFor(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("export gestures: %w", err)
	}
	gestures := make([]map[string]any, len(gs))
	for i, g := range gs {
		gestures[i] = map[string]any{"id": g.ID, "shopId": g.ShopID, "message": g.Message, "offer": g.OfferTitle, "code": g.Code, "points": g.Points, "at": g.At}
	}
	loyalty := map[string]any{"balance": l.Balance, "tier": l.Tier, "earnedInWindow": l.Earned}
	if p, err := s.store.FindFanProfile(ctx, userID); err == nil {
		loyalty["segment"], loyalty["segmentReason"] = string(p.Segment), p.Reason
	}
	return map[string]any{
		"loyalty": loyalty, "ledger": ledger, "activities": activities,
		"referrals": referrals, "feedback": feedback, "gestures": gestures,
	}, nil
}

// EraseUser removes the fans data about the user; shop ratings and gesture
// outcomes stay, without the customer. It implements PersonalData.
func (s *Service) EraseUser(ctx context.Context, userID string) error {
	gs, err := s.store.FindGesturesFor(ctx, userID)
	if err != nil {
		return fmt.Errorf("erase fan: %w", err)
	}
	returned := map[string]bool{}
	for _, g := range gs {
		back, err := s.cameBack(ctx, g)
		if err != nil {
			return fmt.Errorf("erase fan: %w", err)
		}
		returned[g.ID] = back
	}
	if err := s.store.DeleteFanData(ctx, userID, returned); err != nil {
		return fmt.Errorf("erase fan: %w", err)
	}
	return nil
}
