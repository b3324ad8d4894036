package hyperlieu

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// PrivacyService gives customers their own data (export) and erases it, over
// every area's PersonalData.
type PrivacyService struct {
	areas []PersonalData
	now   func() time.Time
}

// NewPrivacyService exports and erases over areas. Put the accounts area
// last: it erases the identity the others are keyed by.
func NewPrivacyService(now func() time.Time, areas ...PersonalData) *PrivacyService {
	if now == nil {
		now = time.Now
	}
	return &PrivacyService{areas: areas, now: now}
}

// Export returns everything stored about the user as one document: every
// area's sections side by side, plus when it was exported. NotFound when
// the account does not exist (the accounts area says so).
func (s *PrivacyService) Export(ctx context.Context, userID string) (map[string]any, error) {
	out := map[string]any{"exportedAt": s.now().UTC(), "userId": userID}
	for _, a := range s.areas {
		sec, err := a.ExportUser(ctx, userID)
		if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		for _, k := range slices.Sorted(maps.Keys(sec)) {
			if _, dup := out[k]; dup {
				return nil, fmt.Errorf("export: two areas export the section %q", k)
			}
			out[k] = sec[k]
		}
	}
	return out, nil
}

// Erase removes or anonymises the user's data in every area. It goes on
// after an area fails, so that as much as possible is erased, and returns
// the failures; erasing again finishes the job.
func (s *PrivacyService) Erase(ctx context.Context, userID string) error {
	var errs []error
	for _, a := range s.areas {
		if err := a.EraseUser(ctx, userID); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("erase: %w", err)
	}
	return nil
}

// ExportUser returns the fans data about the user: ledger, loyalty,
// referrals, feedback, gestures received and segment. It implements
// PersonalData.
func (s *FanService) ExportUser(ctx context.Context, userID string) (map[string]any, error) {
	l, err := s.Loyalty(ctx, userID)
	if err != nil {
		return nil, err
	}
	entries, err := s.store.LedgerOf(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("export ledger: %w", err)
	}
	ledger := make([]map[string]any, len(entries))
	for i, e := range entries {
		ledger[i] = map[string]any{"id": e.ID, "amount": e.Amount, "reason": e.Reason, "sourceKey": e.SourceKey, "rewardId": e.RewardID, "code": e.Code, "at": e.At}
	}
	acts, err := s.store.ActivitiesOf(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("export activities: %w", err)
	}
	activities := make([]map[string]any, len(acts))
	for i, a := range acts {
		activities[i] = map[string]any{"kind": string(a.Kind), "sourceKey": a.SourceKey, "shopId": a.ShopID, "at": a.At}
	}
	refs, err := s.store.ReferralsBy(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("export referrals: %w", err)
	}
	referrals := map[string]any{"code": ReferralCodeOf(userID), "referred": len(refs)}
	if r, err := s.store.FindReferral(ctx, userID); err == nil {
		referrals["referredWithCode"], referrals["status"] = r.Code, r.Status
	}
	fbs, err := s.store.FeedbackBy(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("export feedback: %w", err)
	}
	feedback := make([]map[string]any, len(fbs))
	for i, f := range fbs {
		feedback[i] = map[string]any{"id": f.ID, "shopId": f.ShopID, "rating": f.Rating, "comment": f.Comment, "at": f.At, "answered": !f.AnsweredAt.IsZero()}
	}
	gs, err := s.store.GesturesFor(ctx, userID)
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
func (s *FanService) EraseUser(ctx context.Context, userID string) error {
	gs, err := s.store.GesturesFor(ctx, userID)
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
	if err := s.store.EraseFan(ctx, userID, returned); err != nil {
		return fmt.Errorf("erase fan: %w", err)
	}
	return nil
}
