package fan

import (
	"context"
	"fmt"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// GestureClaim is one gesture's share of its manager's daily budget of
// points or offers. Claims of a day are numbered 1, 2, … in the order they
// were made; see claimBudget.
type GestureClaim struct {
	ID        string // <kind>:<manager>:<day>:<n>
	Amount    int
	GestureID string
}

// maxClaimsPerDay bounds the claims walked per manager, kind and day, so
// that refused attempts cannot make a gesture cost ever more reads.
const maxClaimsPerDay = 500

// claimBudget takes amount from the manager's budget of kind for today
// (UTC), exactly across instances without a counter to read and rewrite:
// each gesture inserts the first free claim number, and claim n is granted
// if and only if the granted claims before it plus its amount fit the
// budget. A claimant that finds number n taken has seen every claim before
// n, so every instance computes the same grants. A refused claim stays, not
// granted, and costs nothing. It returns TooManyRequests, with the wait
// until tomorrow, naming what is left when the gesture does not fit.
func (s *Service) claimBudget(ctx context.Context, kind, managerID, gestureID string, amount, budget int) error {
	now := s.now()
	day := now.Format("2006-01-02")
	granted := 0
	for n := 1; n <= maxClaimsPerDay && granted < budget; n++ {
		c, err := s.store.CreateGestureClaim(ctx, GestureClaim{
			ID: fmt.Sprintf("%s:%s:%s:%d", kind, managerID, day, n), Amount: amount, GestureID: gestureID,
		})
		if err != nil {
			return fmt.Errorf("gesture budget: %w", err)
		}
		fits := granted+c.Amount <= budget
		if c.GestureID == gestureID {
			if fits {
				return nil
			}
			break
		}
		if fits {
			granted += c.Amount
		}
	}
	tomorrow := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC)
	return &hyperlieu.Error{
		Kind:       hyperlieu.TooManyRequests,
		Message:    fmt.Sprintf("today's gesture budget of %d %s is spent: %d left, %d asked", budget, kind, budget-granted, amount),
		RetryAfter: tomorrow.Sub(now),
	}
}
