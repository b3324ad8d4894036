package fan

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hyperlieu/hyperlieu"
)

// LedgerEntry is one line of a customer's points ledger, which is only ever
// appended to. ID is derived from what caused the entry (earn:<kind>:<source>,
// ledger:<user>:<seq> for spends), so that nothing is paid or spent twice.
type LedgerEntry struct {
	ID        string
	UserID    string
	Amount    int // positive: earned; negative: spent
	Reason    string
	SourceKey string
	Seq       int    // spends only: the customer's spend number, from 1
	RewardID  string // spends on a reward
	Code      string // the offer code a reward claim issued
	At        time.Time
}

// Loyalty is a customer's standing: the balance is the sum of the ledger.
type Loyalty struct {
	Balance    int
	Earned     int // over the tier window
	Tier       string
	NextTier   string // "" at the top
	NextNeeds  int    // points still to earn for NextTier
	Recent     []LedgerEntry
	Rewards    []LedgerEntry // reward claims, newest first
	UserID     string
	WindowDays int
}

// TierOf returns the highest tier earned reaches, the next one and what it
// still needs. tiers are in increasing Min.
func TierOf(tiers []Tier, earned int) (tier, next string, needs int) {
	for _, t := range tiers {
		if earned >= t.Min {
			tier = t.Name
			continue
		}
		return tier, t.Name, t.Min - earned
	}
	return tier, "", 0
}

// Loyalty returns the customer's balance, tier, progress and latest entries.
func (s *Service) Loyalty(ctx context.Context, userID string) (Loyalty, error) {
	entries, err := s.store.FindLedgerOf(ctx, userID)
	if err != nil {
		return Loyalty{}, fmt.Errorf("loyalty: %w", err)
	}
	now := s.now()
	l := Loyalty{UserID: userID, WindowDays: int(s.opts.TierWindow.Hours() / 24)}
	for _, e := range entries {
		l.Balance += e.Amount
		if e.Amount > 0 && now.Sub(e.At) <= s.opts.TierWindow {
			l.Earned += e.Amount
		}
	}
	l.Tier, l.NextTier, l.NextNeeds = TierOf(s.opts.Tiers, l.Earned)
	for i := len(entries) - 1; i >= 0; i-- {
		if len(l.Recent) < 20 {
			l.Recent = append(l.Recent, entries[i])
		}
		if entries[i].RewardID != "" {
			l.Rewards = append(l.Rewards, entries[i])
		}
	}
	return l, nil
}

// Reward is an item of the rewards catalogue, bought with points.
type Reward struct {
	ID          string
	Name        string
	Description string
	Cost        int
	Active      bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// RewardPatch changes some fields of a reward; nil fields stay.
type RewardPatch struct {
	Name        *string
	Description *string
	Cost        *int
	Active      *bool
}

func (p RewardPatch) apply(r *Reward) error {
	var pr hyperlieu.Problems
	if p.Name != nil {
		r.Name = trimmed(*p.Name)
		if n := utf8.RuneCountInString(r.Name); n == 0 || n > 80 {
			pr.Add("name", "is required, at most 80 characters")
		}
	}
	if p.Description != nil {
		r.Description = trimmed(*p.Description)
		if utf8.RuneCountInString(r.Description) > 500 {
			pr.Add("description", "must be at most 500 characters")
		}
	}
	if p.Cost != nil {
		r.Cost = *p.Cost
		if r.Cost < 1 || r.Cost > 1_000_000 {
			pr.Add("cost", "must be between 1 and 1000000 points")
		}
	}
	if p.Active != nil {
		r.Active = *p.Active
	}
	return pr.Err()
}

// CreateReward adds a reward to the catalogue. Invalid names every bad field.
func (s *Service) CreateReward(ctx context.Context, in RewardPatch) (Reward, error) {
	var p hyperlieu.Problems
	if in.Name == nil {
		p.Add("name", "is required")
	}
	if in.Cost == nil {
		p.Add("cost", "is required")
	}
	if err := p.Err(); err != nil {
		return Reward{}, err
	}
	now := s.now()
	r := Reward{ID: hyperlieu.NewID(), Active: true, CreatedAt: now, UpdatedAt: now}
	if err := in.apply(&r); err != nil {
		return Reward{}, err
	}
	if err := s.store.CreateReward(ctx, r); err != nil {
		return Reward{}, fmt.Errorf("create reward: %w", err)
	}
	return r, nil
}

// UpdateReward changes a reward. NotFound, or Invalid naming every bad field.
func (s *Service) UpdateReward(ctx context.Context, id string, p RewardPatch) (Reward, error) {
	r, err := s.store.FindReward(ctx, id)
	if err != nil {
		return Reward{}, fmt.Errorf("update reward: %w", err)
	}
	if err := p.apply(&r); err != nil {
		return Reward{}, err
	}
	r.UpdatedAt = s.now()
	if err := s.store.UpdateReward(ctx, r); err != nil {
		return Reward{}, fmt.Errorf("update reward: %w", err)
	}
	return r, nil
}

// Rewards lists the catalogue; withInactive is for marketers.
func (s *Service) Rewards(ctx context.Context, withInactive bool) ([]Reward, error) {
	all, err := s.store.FindRewards(ctx)
	if err != nil {
		return nil, fmt.Errorf("list rewards: %w", err)
	}
	out := []Reward{}
	for _, r := range all {
		if r.Active || withInactive {
			out = append(out, r)
		}
	}
	return out, nil
}

// ClaimReward spends the reward's cost and issues an offer code; the spend
// entry is the claim (one insert: nothing half-written). It returns NotFound
// for an unknown or inactive reward and Conflict when the balance is short,
// in which case nothing is spent.
func (s *Service) ClaimReward(ctx context.Context, userID, rewardID string) (LedgerEntry, int, error) {
	r, err := s.store.FindReward(ctx, rewardID)
	if err != nil {
		return LedgerEntry{}, 0, fmt.Errorf("claim reward: %w", err)
	}
	if !r.Active {
		return LedgerEntry{}, 0, hyperlieu.Errorf(hyperlieu.NotFound, "reward not found")
	}
	e := LedgerEntry{
		UserID: userID, Amount: -r.Cost, Reason: "reward: " + r.Name, RewardID: r.ID,
		SourceKey: "claim:" + hyperlieu.NewID(),
	}
	e, bal, err := s.spend(ctx, e)
	if err != nil {
		return LedgerEntry{}, 0, fmt.Errorf("claim reward: %w", err)
	}
	// The code is a wallet offer, issued once the points are spent.
	if e.Code, err = s.offerCode(ctx, userID, hyperlieu.OfferFromReward, e.ID, r.Name, nil); err != nil {
		return LedgerEntry{}, 0, fmt.Errorf("claim reward: offer: %w", err)
	}
	s.send(ctx, hyperlieu.NotificationRequest{
		UserID: userID, Kind: hyperlieu.KindReward, Vars: map[string]string{"for": "claim", "code": e.Code, "offer": r.Name},
		Data: map[string]string{"rewardId": r.ID}, DedupKey: "reward:" + e.ID,
	})
	return e, bal, nil
}

// spend appends a negative entry without ever overdrawing. Spends claim the
// customer's next sequence number by a unique insert (ledger:<user>:<seq>),
// so concurrent spends, on any instance, serialise: the one that loses the
// number re-reads the ledger and checks the balance again. Earnings only
// raise the balance, so they need no number. Returns the entry and the
// balance after it, or Conflict when the balance is short.
func (s *Service) spend(ctx context.Context, e LedgerEntry) (LedgerEntry, int, error) {
	for range 100 {
		entries, err := s.store.FindLedgerOf(ctx, e.UserID)
		if err != nil {
			return LedgerEntry{}, 0, err
		}
		bal, seq := 0, 0
		for _, x := range entries {
			bal += x.Amount
			seq = max(seq, x.Seq)
		}
		if bal+e.Amount < 0 {
			return LedgerEntry{}, 0, hyperlieu.Errorf(hyperlieu.Conflict, "not enough points: balance %d, this costs %d", bal, -e.Amount)
		}
		e.Seq = seq + 1
		e.ID = "ledger:" + e.UserID + ":" + strconv.Itoa(e.Seq)
		e.At = s.now()
		err = s.store.CreateLedgerEntry(ctx, e)
		if err == nil {
			return e, bal + e.Amount, nil
		}
		if hyperlieu.KindOf(err) != hyperlieu.Conflict {
			return LedgerEntry{}, 0, err
		}
	}
	return LedgerEntry{}, 0, &hyperlieu.Error{Kind: hyperlieu.Unavailable, Message: "too many concurrent spends; try again", RetryAfter: time.Second}
}

// award pays points for a manager's gesture or another one-off reason,
// once per sourceKey.
func (s *Service) award(ctx context.Context, userID string, points int, reason, sourceKey string) error {
	// Points go to accounts only: never to an erased (blank or gone) one.
	if gone, err := s.erased(ctx, userID); err != nil {
		return err
	} else if gone {
		return hyperlieu.Errorf(hyperlieu.NotFound, "no such user")
	}
	e := LedgerEntry{
		ID: "earn:" + strings.SplitN(sourceKey, ":", 2)[0] + ":" + sourceKey, UserID: userID, Amount: points,
		Reason: reason, SourceKey: sourceKey, At: s.now(),
	}
	if err := s.store.CreateLedgerEntry(ctx, e); err != nil && hyperlieu.KindOf(err) != hyperlieu.Conflict {
		return err
	}
	return nil
}
