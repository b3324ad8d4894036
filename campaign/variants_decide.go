package campaign

import (
	"context"
	"errors"
	"fmt"

	"github.com/hyperlieu/hyperlieu"
)

// StopVariant stops a variant: customers not assigned yet share the other
// variants' weights; those assigned to it keep their arm and get nothing
// new (suppressed as variantStopped) unless a winner is declared. Stopping
// twice is not an error. It returns NotFound for an unknown campaign or
// variant, and Conflict when the campaign has ended, the variant is the
// winner, or it is the last one live (end the campaign or declare a winner).
func (s *Service) StopVariant(ctx context.Context, a hyperlieu.Actor, id, variantID string) (Campaign, error) {
	return s.decide(ctx, id, variantID, func(c *Campaign, i int) error {
		v := &c.Experiment.Variants[i]
		switch {
		case !v.StoppedAt.IsZero():
			return errUnchanged
		case c.Experiment.WinnerID == v.ID:
			return hyperlieu.Errorf(hyperlieu.Conflict, "variant %s is the winner and cannot be stopped", v.ID)
		}
		live := 0
		for _, o := range c.Experiment.Variants {
			if o.StoppedAt.IsZero() {
				live++
			}
		}
		if live == 1 && c.Experiment.WinnerID == "" {
			return hyperlieu.Errorf(hyperlieu.Conflict, "variant %s is the last one live: declare a winner or end the campaign", v.ID)
		}
		v.StoppedAt = s.opts.Now().UTC()
		return nil
	})
}

// DeclareWinner makes a variant the winner: from then on every customer
// outside the holdout, assigned or not, gets its offer; the holdout stays
// held out, so the winner's lift keeps being measured. Declaring the same
// winner twice is not an error. It returns NotFound for an unknown campaign
// or variant, and Conflict when the campaign has ended, the variant is
// stopped, or another winner was declared.
func (s *Service) DeclareWinner(ctx context.Context, a hyperlieu.Actor, id, variantID string) (Campaign, error) {
	return s.decide(ctx, id, variantID, func(c *Campaign, i int) error {
		v := c.Experiment.Variants[i]
		switch w := c.Experiment.WinnerID; {
		case w == v.ID:
			return errUnchanged
		case w != "":
			return hyperlieu.Errorf(hyperlieu.Conflict, "variant %s was already declared the winner", w)
		case !v.StoppedAt.IsZero():
			return hyperlieu.Errorf(hyperlieu.Conflict, "variant %s is stopped and cannot win", v.ID)
		}
		c.Experiment.WinnerID, c.Experiment.DecidedAt = v.ID, s.opts.Now().UTC()
		return nil
	})
}

// errUnchanged tells decide that the decision was already made.
var errUnchanged = errors.New("unchanged")

// decide applies change to variant variantID of campaign id and saves it.
func (s *Service) decide(ctx context.Context, id, variantID string, change func(c *Campaign, i int) error) (Campaign, error) {
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return Campaign{}, err
	}
	i := -1
	for j, v := range c.Experiment.Variants {
		if v.ID == variantID {
			i = j
		}
	}
	switch {
	case i < 0:
		return Campaign{}, hyperlieu.Errorf(hyperlieu.NotFound, "campaign %s has no variant %s", id, variantID)
	case c.Status == Ended:
		return Campaign{}, hyperlieu.Errorf(hyperlieu.Conflict, "campaign %s has ended and can no longer change", id)
	}
	if err := change(&c, i); err == errUnchanged {
		return c, nil
	} else if err != nil {
		return Campaign{}, err
	}
	c.UpdatedAt = s.opts.Now().UTC()
	if err := s.store.UpdateCampaign(ctx, c); err != nil {
		return Campaign{}, fmt.Errorf("update campaign: %w", err)
	}
	return c, s.changed(ctx)
}
