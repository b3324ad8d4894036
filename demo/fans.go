package demo

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/fan"
)

// demoFan is a demo customer whose history puts them in one segment.
type demoFan struct {
	Email, Name string
	Age         time.Duration   // how long ago they signed up
	Activities  []time.Duration // how long ago they checked in or redeemed
	RSVPOnly    bool            // activities are RSVPs, not purchases
	ReferredBy  string          // email of their referrer
}

const day = 24 * time.Hour

// Fans are demo customers, one or more per segment (with the default thresholds).
var Fans = []demoFan{
	{Email: "dora@demo.hyperlieu.test", Name: "Dora Devoted", Age: 400 * day, Activities: []time.Duration{3 * day, 10 * day, 20 * day, 45 * day, 90 * day}},
	{Email: "wanda@demo.hyperlieu.test", Name: "Wanda Wandering", Age: 300 * day, Activities: []time.Duration{100 * day, 120 * day, 150 * day, 200 * day}},
	{Email: "paul@demo.hyperlieu.test", Name: "Paul Prospect", Age: 30 * day, Activities: []time.Duration{5 * day}, RSVPOnly: true, ReferredBy: "dora@demo.hyperlieu.test"},
	{Email: "dorian@demo.hyperlieu.test", Name: "Dorian Dormant", Age: 500 * day, Activities: []time.Duration{250 * day, 300 * day}},
	{Email: "nina@demo.hyperlieu.test", Name: "Nina Newcomer", Age: 2 * day},
}

// loadFans creates the demo fans with their backdated history, and a small
// rewards catalogue. Activities have fixed source keys: loading twice pays once.
func loadFans(ctx context.Context, svc Services, users map[string]hyperlieu.User, out io.Writer) error {
	now := time.Now().UTC()
	for _, f := range Fans {
		u, err := svc.AccountsAt(now.Add(-f.Age)).EnsureUser(ctx, f.Email, Password, f.Name)
		if err != nil {
			return fmt.Errorf("demo fan %s: %w", f.Email, err)
		}
		users[f.Email] = u
		in := hyperlieu.Registration{}
		if f.ReferredBy != "" {
			in.ReferralCode = fan.ReferralCodeOf(users[f.ReferredBy].ID)
		}
		_ = svc.Fans.OnRegister(ctx, u, in) // a second load finds the referral already attributed
		for i, ago := range f.Activities {
			kind := hyperlieu.ActivityCheckIn
			if f.RSVPOnly {
				kind = hyperlieu.ActivityRSVP
			} else if i%2 == 1 {
				kind = hyperlieu.ActivityRedemption
			}
			a := hyperlieu.Activity{UserID: u.ID, Kind: kind, SourceKey: fmt.Sprintf("demo:%s:%d", f.Email, i), At: now.Add(-ago)}
			if err := svc.Fans.RecordActivity(ctx, a); err != nil {
				return fmt.Errorf("demo activity of %s: %w", f.Email, err)
			}
		}
	}
	existing, err := svc.Fans.Rewards(ctx, true)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, r := range existing {
		have[r.Name] = true
	}
	for _, r := range []fan.Reward{
		{Name: "Coffee at the counter", Description: "A coffee in any shop", Cost: 100},
		{Name: "Tote bag", Description: "The brand's canvas tote", Cost: 300},
		{Name: "Workshop seat", Description: "A free seat at a paid workshop", Cost: 600},
	} {
		if !have[r.Name] {
			if _, err := svc.Fans.CreateReward(ctx, fan.RewardPatch{Name: &r.Name, Description: &r.Description, Cost: &r.Cost}); err != nil {
				return fmt.Errorf("demo reward %s: %w", r.Name, err)
			}
		}
	}
	fmt.Fprintln(out, "Demo fans, one per segment: dora (devoted), wanda (wandering), paul (prospect), dorian (dormant), nina (newcomer).")
	return nil
}
