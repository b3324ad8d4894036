package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/fan"
	"github.com/hyperlieu/hyperlieu/store"
)

// TestFanPathCommands runs the fans' service over the embedded database
// under the command monitor and pins what each customer-history path costs
// (issue 15): recording an activity, the loyalty page, a reward claim,
// SegmentOf (the location engine's, for campaigns aimed at segments) and
// the referral page read the customer's own lists by _id: no scan. An
// instance holds the entries it read (they never change), so it reads
// again only what is new; one that holds nothing reads the n entries of
// the customer's history, never everyone's.
func TestFanPathCommands(t *testing.T) {
	var cmds commands
	dbs := fanPathDBs(t, &cmds)
	db, cold := dbs[0], dbs[1]
	ctx := context.Background()
	fans := newFans(t, db, fan.Options{Earn: fan.EarningRules{CheckIn: 50}})
	now := time.Now().UTC()
	// Other customers with some history, so that a scan would decode it.
	for i := range 5 {
		o := newCustomer(t, db, now.Add(-90*24*time.Hour))
		for j := range 3 {
			checkIn(t, fans, o.ID, fmt.Sprintf("other:%d:%d", i, j), now.Add(-time.Duration(j)*time.Hour))
		}
	}
	u := newCustomer(t, db, now.Add(-90*24*time.Hour))
	checkIn(t, fans, u.ID, "warm", now.Add(-3*time.Hour))
	r, err := fans.CreateReward(ctx, reward("Coffee", 40))
	if err != nil {
		t.Fatal(err)
	}

	path := func(what string, want int, run func() error) {
		t.Helper()
		costsAtMost(t, &cmds, what, want, run)
	}
	for i := range 3 {
		// User; the activity: is it stored already (a replay is not
		// listed), entry, head, insert, confirmation; its points, likewise;
		// the referral to pay; then the classification: the activity
		// list's head, one read past it, the new entry (the earlier ones
		// are held), the referral; the profile.
		path(fmt.Sprintf("check-in with %d before", 1+i), 1+5+5+1+3+1+1, func() error {
			return fans.RecordActivity(ctx, hyperlieu.Activity{UserID: u.ID, Kind: hyperlieu.ActivityCheckIn,
				SourceKey: fmt.Sprintf("visit:%d", i), At: now.Add(-time.Duration(2-i) * time.Hour)})
		})
	}
	n := 4 // u's earnings and activities now
	// The first read of u's ledger here: the earnings list's head, one
	// read past it, an entry each; spend 1 (free: none yet).
	path("loyalty page", 2+n+1, func() error {
		l, err := fans.Loyalty(ctx, u.ID)
		if err == nil && l.Balance != 50*n {
			err = fmt.Errorf("balance %d, want %d", l.Balance, 50*n)
		}
		return err
	})
	// The reward; the ledger: head, one past it, spend 1 (free); the
	// spend's insert (numbered, not listed).
	path("reward claim", 1+3+1, func() error {
		_, _, err := fans.ClaimReward(ctx, u.ID, r.ID)
		return err
	})
	// Head, one past it, spend 1 (new), spend 2 (free).
	path("loyalty page after a claim", 4, func() error {
		l, err := fans.Loyalty(ctx, u.ID)
		if err == nil && l.Balance != 50*n-40 {
			err = fmt.Errorf("balance %d, want %d", l.Balance, 50*n-40)
		}
		return err
	})
	// A replay of a check-in: user, the stored activity (refused before
	// it is listed), the activity read back, its points likewise refused,
	// then the referral and the classification as above, with nothing new.
	path("replayed check-in", 1+1+1+1+1+2+1+1, func() error {
		return fans.RecordActivity(ctx, hyperlieu.Activity{UserID: u.ID, Kind: hyperlieu.ActivityCheckIn, SourceKey: "visit:0"})
	})
	// The activity list's head, one read past it; the referral.
	path("SegmentOf", 3, func() error {
		_, err := fans.SegmentOf(ctx, u, now)
		return err
	})
	// On an instance that holds nothing: an entry each, too.
	coldFans := newFans(t, cold, fan.Options{Earn: fan.EarningRules{CheckIn: 50}})
	path("SegmentOf on another instance", 3+n, func() error {
		_, err := coldFans.SegmentOf(ctx, u, now)
		return err
	})
	path("loyalty page on another instance", 2+n+2, func() error {
		_, err := coldFans.Loyalty(ctx, u.ID)
		return err
	})
	path("SegmentOf there again", 3, func() error {
		_, err := coldFans.SegmentOf(ctx, u, now)
		return err
	})
	// The code (a keyed insert), the referral list's head and one read
	// past it, the month's first free slot.
	var code string
	path("referral page", 4, func() error {
		info, err := fans.MyReferral(ctx, u.ID)
		code = info.Code
		return err
	})
	friend := newCustomer(t, db, now)
	if err := fans.Attribute(ctx, friend, code); err != nil {
		t.Fatal(err)
	}
	// The code registered already (its insert refused, then read), and
	// two reads for the friend: the entry, the referral (it changes).
	path("referral page with one referral", 4+1+2, func() error {
		info, err := fans.MyReferral(ctx, u.ID)
		if err == nil && (len(info.Referrals) != 1 || info.Referrals[0].RefereeID != friend.ID) {
			err = fmt.Errorf("referrals %+v, want the friend's", info.Referrals)
		}
		return err
	})
}

// fanPathDBs opens two instances of one fresh database under the monitor.
func fanPathDBs(t *testing.T, cmds *commands) []*store.DB {
	t.Helper()
	dbs, _ := sharedDBWith(t, 2, store.Options{Monitor: cmds.monitor()})
	return dbs
}

func checkIn(t *testing.T, fans *fan.Service, userID, key string, at time.Time) {
	t.Helper()
	if err := fans.RecordActivity(context.Background(), hyperlieu.Activity{UserID: userID, Kind: hyperlieu.ActivityCheckIn, SourceKey: key, At: at}); err != nil {
		t.Fatalf("RecordActivity: %v", err)
	}
}
