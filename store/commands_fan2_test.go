package store_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/fan"
)

// TestFanShopPathCommands runs the fans' shop-facing paths over the
// embedded database under the command monitor and pins what each costs
// (issue 15): a manager's feedback pages (all, and needing attention), a
// shop's gesture stats, a shop's reviews page with its count and average,
// a customer writing a review (the rate check reads their own), the shop's
// managers and the staff (role lists), the segment counts, the rewards
// catalogue, and a customer's export and erasure. Each reads lists and
// documents by _id: none is a collection scan, and each costs what the
// shop or the customer holds, never what the collection holds.
func TestFanShopPathCommands(t *testing.T) {
	var cmds commands
	dbs := fanPathDBs(t, &cmds)
	db, other := dbs[0], dbs[1]
	ctx := context.Background()
	now := time.Now().UTC()
	manager := newCustomer(t, db, now.Add(-400*24*time.Hour))
	manager.Roles = append(manager.Roles, hyperlieu.RoleManager)
	if err := db.UpdateUser(ctx, manager); err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	shops := fakeShops{"shop1", manager.ID}
	fans := fan.NewService(db, shops, &fakeNotifier{}, fakeDevices{}, fan.Options{}, quiet)
	reviews := fan.NewReviews(fans, db, fan.ReviewOptions{})
	admin := hyperlieu.Actor{UserID: "admin", Roles: []hyperlieu.Role{hyperlieu.RoleAdmin}}
	mgr := hyperlieu.Actor{UserID: manager.ID, Roles: manager.Roles}

	// Feedback at shop1 by customers who came; some of another shop's
	// stored directly, so that a scan would decode them.
	var people []hyperlieu.User
	for i := range 12 {
		u := newCustomer(t, db, now.Add(-30*24*time.Hour))
		people = append(people, u)
		checkIn(t, fans, u.ID, fmt.Sprintf("came:%d", i), now.Add(-time.Hour))
		if err := db.CreateActivity(ctx, hyperlieu.Activity{UserID: u.ID, Kind: hyperlieu.ActivityCheckIn, SourceKey: fmt.Sprintf("at-shop1:%d", i), ShopID: "shop1", At: now.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
		rating := 4
		if i%3 == 0 {
			rating = 1
		}
		if _, err := reviews.Write(ctx, u.ID, "shop1", fan.ReviewRequest{Rating: rating, Comment: "fine"}); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateShopFeedback(ctx, fan.ShopFeedback{ID: hyperlieu.NewID(), ShopID: "shop2", UserID: u.ID, Rating: 1, At: now}); err != nil {
			t.Fatal(err)
		}
	}
	// The newest low rating is answered with a gesture, and its author
	// (ana) gets another.
	fb, _, err := fans.ShopFeedback(ctx, mgr, "shop1", true, "", 1)
	if err != nil || len(fb) != 1 {
		t.Fatalf("ShopFeedback = %v, %v", fb, err)
	}
	ana, err := db.FindUser(ctx, fb[0].UserID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fans.MakeGesture(ctx, mgr, "shop1", fan.GestureRequest{UserID: fb[0].UserID, FeedbackID: fb[0].ID, Message: "Sorry", Points: 10}); err != nil {
		t.Fatal(err)
	}
	if _, err := fans.MakeGesture(ctx, mgr, "shop1", fan.GestureRequest{UserID: ana.ID, Message: "Hello again", Points: 5}); err != nil {
		t.Fatal(err)
	}
	r, err := fans.CreateReward(ctx, reward("Coffee", 40))
	if err != nil {
		t.Fatal(err)
	}

	path := func(what string, want int, run func() error) {
		t.Helper()
		costsAtMost(t, &cmds, what, want, run)
	}
	// The shop's list head, one read past it, then an entry and a
	// feedback per item: 2 + 2×5; the next page starts below the cursor.
	var next string
	path("feedback, first page of 5", 2+2*5, func() error {
		fs, n, err := fans.ShopFeedback(ctx, mgr, "shop1", false, "", 5)
		if err == nil && (len(fs) != 5 || n == "") {
			err = fmt.Errorf("got %d and cursor %q, want 5 and a next page", len(fs), n)
		}
		next = n
		return err
	})
	path("feedback, next page of 5", 2*5, func() error {
		fs, n, err := fans.ShopFeedback(ctx, mgr, "shop1", false, next, 5)
		if err == nil && (len(fs) != 5 || n == "") {
			err = fmt.Errorf("got %d and cursor %q, want 5 and a next page", len(fs), n)
		}
		return err
	})
	// Four low ratings, one answered: the attention list holds 4, 3 need it.
	path("feedback needing attention", 2+2*4, func() error {
		fs, n, err := fans.ShopFeedback(ctx, mgr, "shop1", true, "", 20)
		if err == nil && (len(fs) != 3 || n != "") {
			err = fmt.Errorf("got %d and cursor %q, want 3 and no next page", len(fs), n)
		}
		return err
	})
	// The gesture list (head, past it, 2 each); per customer their
	// activities (head, past it, then the entries this instance does not
	// hold: none, it wrote them).
	path("gesture stats", 2+2*2+2*1, func() error {
		st, err := fans.ShopGestureStats(ctx, mgr, "shop1")
		if err == nil && (st.Gestures != 2 || st.Customers != 1) {
			err = fmt.Errorf("stats %+v, want 2 gestures to 1 customer", st)
		}
		return err
	})
	// The shop's review list (head, past it), per review its entry,
	// itself and its feedback (answered by a gesture?), the figures.
	path("reviews, first page of 5", 2+3*5+1, func() error {
		sr, err := reviews.ListPage(ctx, hyperlieu.Actor{}, "shop1", "", 5)
		if err == nil && (len(sr.Reviews) != 5 || sr.Count != 12 || sr.Average != 3 || sr.Next == "") {
			err = fmt.Errorf("page %d of %d, average %v, next %q; want 5 of 12, 3, a next page", len(sr.Reviews), sr.Count, sr.Average, sr.Next)
		}
		return err
	})
	// Hiding one takes it out of the figures once.
	all, err := reviews.List(ctx, admin, "shop1")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := reviews.Hide(ctx, mgr, "shop1", all.Reviews[0].ID, "rude"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := reviews.Answer(ctx, mgr, "shop1", all.Reviews[0].ID, "Thanks"); err != nil {
		t.Fatal(err)
	}
	if sr, err := reviews.List(ctx, hyperlieu.Actor{}, "shop1"); err != nil || sr.Count != 11 || len(sr.Reviews) != 11 {
		t.Errorf("after hiding one: %d listed of %d, %v; want 11 of 11", len(sr.Reviews), sr.Count, err)
	}
	if sr, err := reviews.List(ctx, admin, "shop1"); err != nil || sr.Count != 11 || len(sr.Reviews) != 12 {
		t.Errorf("admins after hiding one: %d listed of %d, %v; want 12 of 11", len(sr.Reviews), sr.Count, err)
	}
	// A second review within the month: the shop, the author, their
	// activities and shop record, then their own reviews (head, past it,
	// two reads each), refused before anything is written.
	path("review refused by the rate check", 1+3+1+2+2*1, func() error {
		_, err := reviews.Write(ctx, people[1].ID, "shop1", fan.ReviewRequest{Rating: 5, Comment: "again"})
		if hyperlieu.KindOf(err) != hyperlieu.TooManyRequests {
			return fmt.Errorf("second review = %v, want TooManyRequests", err)
		}
		return nil
	})
	// The manager role's list (head, past it, one entry), the manager.
	path("the managers", 2+1+1, func() error {
		ids, err := db.FindUserIDsWithRole(ctx, hyperlieu.RoleManager)
		if err == nil && (len(ids) != 1 || ids[0] != manager.ID) {
			err = fmt.Errorf("managers %v, want %s", ids, manager.ID)
		}
		return err
	})
	// The counts (one read per segment); the staff: three role lists
	// (head, past it), the manager's entry and user; their profile.
	path("segment counts", len(hyperlieu.Segments)+3*2+2+1, func() error {
		n, err := fans.SegmentCounts(ctx)
		total := 0
		for _, k := range n {
			total += k
		}
		if err == nil && total != len(people) {
			err = fmt.Errorf("counts %v, want %d customers", n, len(people))
		}
		return err
	})
	if _, err := fans.Rewards(ctx, false); err != nil { // this instance's first read
		t.Fatal(err)
	}
	// The catalogue's version, unchanged: the copy serves.
	path("rewards, warm", 1, func() error {
		rs, err := fans.Rewards(ctx, false)
		if err == nil && (len(rs) != 1 || rs[0].ID != r.ID) {
			err = fmt.Errorf("rewards %v, want the coffee", rs)
		}
		return err
	})
	// A reward made on another instance shows at once.
	if _, err := newFans(t, other, fan.Options{}).CreateReward(ctx, reward("Tea", 30)); err != nil {
		t.Fatal(err)
	}
	// The version, raised: the list (head, past it) and per reward its
	// entry and itself.
	path("rewards after another instance's", 1+2+2*2, func() error {
		rs, err := fans.Rewards(ctx, false)
		if err == nil && (len(rs) != 2 || rs[0].Name != "Tea") {
			err = fmt.Errorf("rewards %v, want tea then coffee", rs)
		}
		return err
	})

	// Visits, an ask and a shop record of ana, and their export.
	for i := range 3 {
		if err := db.CreateVisit(ctx, hyperlieu.Visit{Key: fmt.Sprintf("v:%s:%d", ana.ID, i), UserID: ana.ID, ShopID: "shop1", Source: "geo", At: now.Add(-time.Duration(i) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.UpdateShopVisit(ctx, fan.ShopVisit{UserID: ana.ID, ShopID: "shop1", LastAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateVisitAsk(ctx, fan.VisitAsk{ID: "ask:" + ana.ID, UserID: ana.ID, ShopID: "shop1", At: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	path("visits export", 2+2*3+2+2*1, func() error {
		vs, asks, err := db.FindVisitsBy(ctx, ana.ID)
		if err == nil && (len(vs) != 3 || len(asks) != 1) {
			err = fmt.Errorf("%d visits, %d asks; want 3, 1", len(vs), len(asks))
		}
		return err
	})
	// Export and erasure read what the customer holds (their lists, by
	// _id) and write by _id: their cost follows ana's history (here a few
	// activities, earnings, feedback, a review, two gestures), so the
	// bounds are loose; what is pinned is that none of it is a scan.
	path("fans export", 60, func() error {
		_, err := fans.ExportUser(ctx, ana.ID)
		return err
	})
	path("visits erasure", 30, func() error { return db.DeleteVisitData(ctx, ana.ID) })
	path("fans erasure", 100, func() error { return fans.EraseUser(ctx, ana.ID) })
	path("managers' erasure", 100, func() error { return fans.EraseUser(ctx, manager.ID) })
	// An erased manager is out of the role lists (the accounts area
	// deletes the user itself).
	if ids, err := db.FindUserIDsWithRole(ctx, hyperlieu.RoleManager); err != nil || len(ids) != 0 {
		t.Errorf("managers after the manager's erasure = %v, %v; want none", ids, err)
	}
}

// TestMigrateFanPaths stores feedback, a gesture, reviews, a report,
// visits, a slot, a staff member, a reward and profiles as a version
// before the fans' paths were keyed did, and checks that after
// MigrateFanPaths every path finds them and erasure leaves nothing of the
// customer behind.
func TestMigrateFanPaths(t *testing.T) {
	dbs, name := sharedDB(t, 1)
	db := dbs[0]
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	ana := newCustomer(t, db, now.Add(-100*24*time.Hour))
	if err := db.InsertFanPathsUnlisted(ctx, ana.ID, "boss", now); err != nil {
		t.Fatal(err)
	}
	if n, err := db.MigrateFanPaths(ctx); err != nil || n == 0 {
		t.Fatalf("MigrateFanPaths = %d, %v; want some listed", n, err)
	}
	if n, err := db.MigrateFanPaths(ctx); err != nil || n != 0 {
		t.Fatalf("second MigrateFanPaths = %d, %v; want 0 (done once)", n, err)
	}
	if fs, _, err := db.FindShopFeedbackOf(ctx, "shop1", true, 0, 10); err != nil || len(fs) != 1 {
		t.Errorf("feedback needing attention = %v, %v; want the old one", fs, err)
	}
	if fs, err := db.FindShopFeedbackBy(ctx, ana.ID); err != nil || len(fs) != 1 {
		t.Errorf("ana's feedback = %v, %v; want the old one", fs, err)
	}
	if gs, err := db.FindGesturesOfShop(ctx, "shop1"); err != nil || len(gs) != 1 {
		t.Errorf("gestures = %v, %v; want the old one", gs, err)
	}
	if rs, _, err := db.FindReviewsOf(ctx, "shop1", true, 0, 10); err != nil || len(rs) != 2 {
		t.Errorf("reviews = %v, %v; want both old ones", rs, err)
	}
	if n, sum, err := db.FindReviewStats(ctx, "shop1"); err != nil || n != 1 || sum != 4 {
		t.Errorf("review figures = %d, %d, %v; want the visible one: 1, 4", n, sum, err)
	}
	if vs, asks, err := db.FindVisitsBy(ctx, ana.ID); err != nil || len(vs) != 1 || len(asks) != 1 {
		t.Errorf("visits = %v, %v, %v; want one and one", vs, asks, err)
	}
	if ids, err := db.FindUserIDsWithRole(ctx, hyperlieu.RoleManager); err != nil || len(ids) != 1 || ids[0] != "boss" {
		t.Errorf("managers = %v, %v; want boss", ids, err)
	}
	if n, err := db.FindSegmentCount(ctx, hyperlieu.SegmentDevoted); err != nil || n != 1 {
		t.Errorf("devoted = %d, %v; want 1", n, err)
	}
	if rs, err := db.FindRewards(ctx); err != nil || len(rs) != 1 {
		t.Errorf("rewards = %v, %v; want the old one", rs, err)
	}
	if err := db.DeleteFanData(ctx, ana.ID, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteVisitData(ctx, ana.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteFanData(ctx, "boss", nil); err != nil {
		t.Fatal(err)
	}
	if n, err := db.FindSegmentCount(ctx, hyperlieu.SegmentDevoted); err != nil || n != 0 {
		t.Errorf("devoted after erasure = %d, %v; want 0", n, err)
	}
	if n, sum, err := db.FindReviewStats(ctx, "shop1"); err != nil || n != 0 || sum != 0 {
		t.Errorf("review figures after erasure = %d, %d, %v; want 0, 0", n, sum, err)
	}
	// users, email keys and the admins' user list are the accounts area's
	// to erase.
	for _, id := range []string{ana.ID, "boss"} {
		for _, c := range collectionsWith(t, name, id) {
			if c != "users" && c != "user_emails" && c != "user_lists" {
				t.Errorf("after erasure, %s still names %s", c, id)
			}
		}
	}
}
