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
