package store_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/geo"
	"github.com/hyperlieu/hyperlieu/shop"
	"github.com/hyperlieu/hyperlieu/store"
)

// sharedDB opens k connections to one fresh database, as k server
// instances would, and returns them with the database's name.
func sharedDB(t testing.TB, k int) ([]*store.DB, string) {
	t.Helper()
	return sharedDBWith(t, k, store.Options{})
}

// sharedDBWith is sharedDB with options (the pools are set here).
func sharedDBWith(t testing.TB, k int, opts store.Options) ([]*store.DB, string) {
	t.Helper()
	name := fmt.Sprintf("t%d_%s", dbSeq.Add(1), strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
	if len(name) > 60 {
		name = name[:60]
	}
	if embedded != nil {
		opts = opts.ForEmbedded()
	}
	dbs := make([]*store.DB, k)
	for i := range dbs {
		db, err := store.Open(context.Background(), uri, name, opts)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		dbs[i] = db
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_ = dbs[0].Drop(ctx)
		for _, db := range dbs {
			_ = db.Close(ctx)
		}
	})
	return dbs, name
}

// collectionsWith scans every document of the database for needle and
// returns the collections where it occurs.
func collectionsWith(t testing.TB, database, needle string) []string {
	t.Helper()
	ctx := context.Background()
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	db := client.Database(database)
	names, err := db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var where []string
	for _, n := range names {
		cur, err := db.Collection(n).Find(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		for cur.Next(ctx) {
			if strings.Contains(cur.Current.String(), needle) {
				where = append(where, n)
				break
			}
		}
		cur.Close(ctx)
	}
	return where
}

// queueOf reads the event's queue the way the service does, by _id: the
// positions claimed, then the release log; it returns how many were
// claimed and the live ones in order.
func queueOf(t testing.TB, db *store.DB, eventID string) (int, []shop.QueueEntry) {
	t.Helper()
	ctx := context.Background()
	claims, err := db.FindPositions(ctx, eventID, 1)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := db.FindReleases(ctx, eventID, 1)
	if err != nil {
		t.Fatal(err)
	}
	released := map[int]bool{}
	for _, n := range rel {
		released[n] = true
	}
	live := []shop.QueueEntry{}
	for i, c := range claims {
		if c.N != i+1 {
			t.Fatalf("FindPositions: position %d at %d, want dense", c.N, i+1)
		}
		if !c.ReleasedAt.IsZero() && !released[c.N] {
			t.Errorf("position %d is marked released but not in the release log %v", c.N, rel)
		}
		if !released[c.N] {
			live = append(live, shop.QueueEntry{N: c.N, UserID: c.UserID})
		}
	}
	return len(claims), live
}

var start = time.Date(2030, 5, 1, 18, 0, 0, 0, time.UTC)

func newEvent(t testing.TB, db *store.DB, shopID, createdBy string) shop.Event {
	t.Helper()
	e := shop.Event{ID: hyperlieu.NewID(), ShopID: shopID, Title: "Workshop", Category: "workshop",
		StartsAt: start, EndsAt: start.Add(2 * time.Hour), Capacity: 5, MaxWaitlist: -1,
		Location: geo.Point{Lat: 48.8566, Lng: 2.3522}, CreatedBy: createdBy, CreatedAt: start.Add(-48 * time.Hour), UpdatedAt: start.Add(-48 * time.Hour)}
	if err := db.CreateEvent(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestEventsClaimPositions: goroutines on three connections claim queue
// positions the way the service does (next free one, on to the next on
// Conflict); every position is claimed once, densely, in one order.
//
// It is long because it is one story on one queue: each part claims on top
// of the last.
func TestEventsClaimPositions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbs, _ := sharedDB(t, 3)
	e := newEvent(t, dbs[0], "shop", "mgr")

	t.Run("one position, many claimants", func(t *testing.T) {
		var wins sync.WaitGroup
		var mu sync.Mutex
		var winners []string
		for i := range 12 {
			wins.Add(1)
			go func() {
				defer wins.Done()
				u := fmt.Sprintf("u%d", i)
				err := dbs[i%len(dbs)].CreatePosition(ctx, "solo", 1, u, start)
				switch hyperlieu.KindOf(err) {
				case hyperlieu.Conflict:
				case hyperlieu.Internal:
					if err == nil {
						mu.Lock()
						winners = append(winners, u)
						mu.Unlock()
						return
					}
					fallthrough
				default:
					t.Errorf("CreatePosition(%s) = %v, want nil or Conflict", u, err)
				}
			}()
		}
		wins.Wait()
		if len(winners) != 1 {
			t.Errorf("position 1 claimed by %v, want exactly one", winners)
		}
	})

	const n = 30
	got := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db := dbs[i%len(dbs)]
			claims, err := db.FindPositions(ctx, e.ID, 1)
			if err != nil {
				t.Error(err)
				return
			}
			for pos := len(claims) + 1; ; pos++ {
				err := db.CreatePosition(ctx, e.ID, pos, fmt.Sprintf("u%02d", i), start)
				if err == nil {
					got[i] = pos
					return
				}
				if hyperlieu.KindOf(err) != hyperlieu.Conflict {
					t.Errorf("CreatePosition(%d) = %v, want nil or Conflict", pos, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	sorted := slices.Sorted(slices.Values(got))
	for i, p := range sorted {
		if p != i+1 {
			t.Fatalf("claimed positions %v, want 1..%d once each", sorted, n)
		}
	}
	if c, _ := queueOf(t, dbs[1], e.ID); c != n {
		t.Errorf("positions claimed = %d; want %d", c, n)
	}
	_, q := queueOf(t, dbs[2], e.ID)
	if len(q) != n {
		t.Fatalf("Queue = %d entries; want %d", len(q), n)
	}
	for i, qe := range q {
		if qe.N != i+1 || qe.UserID != fmt.Sprintf("u%02d", slices.Index(got, qe.N)) {
			t.Errorf("Queue[%d] = %+v, want position %d held by its claimant", i, qe, i+1)
		}
	}

	// Releasing: no longer live, still claimed; releasing twice keeps the first time.
	for _, p := range []int{3, 7, 7} {
		if err := dbs[p%3].DeletePosition(ctx, e.ID, p, start.Add(time.Duration(p)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if err := dbs[0].DeletePosition(ctx, e.ID, 7, start.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	claimed, live := queueOf(t, dbs[0], e.ID)
	if claimed != n || len(live) != n-2 || slices.ContainsFunc(live, func(qe shop.QueueEntry) bool { return qe.N == 3 || qe.N == 7 }) {
		t.Errorf("after releasing 3 and 7: %d claimed, live %v; want %d claimed, all live but 3 and 7", claimed, live, n)
	}
	if rel, err := dbs[1].FindReleases(ctx, e.ID, 1); err != nil || !slices.Equal(rel, []int{3, 7}) {
		t.Errorf("release log = %v, %v; want [3 7] (released twice, logged once)", rel, err)
	}
	if rel, err := dbs[2].FindReleases(ctx, e.ID, 2); err != nil || !slices.Equal(rel, []int{7}) {
		t.Errorf("release log from its second entry = %v, %v; want [7]", rel, err)
	}
	if more, err := dbs[2].FindPositions(ctx, e.ID, n-1); err != nil || len(more) != 2 || more[0].N != n-1 {
		t.Errorf("FindPositions from %d = %+v, %v; want the last two", n-1, more, err)
	}
	claims, err := dbs[0].FindClaimsBy(ctx, fmt.Sprintf("u%02d", slices.Index(got, 7)))
	if err != nil || len(claims) != 1 || !claims[0].ReleasedAt.Equal(start.Add(7*time.Minute)) {
		t.Errorf("claims of position 7's holder = %+v, %v; want released at the first release", claims, err)
	}
}

// TestEventsRSVPIdempotent: one RSVP per person and event, in the store and
// through the service, even when the same person answers many times at once
// through several connections.
func TestEventsRSVPIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbs, _ := sharedDB(t, 2)
	db := dbs[0]
	e := newEvent(t, db, "shop", "mgr")

	first := shop.RSVP{EventID: e.ID, UserID: "ana", TicketCode: "first", CreatedAt: start, UpdatedAt: start}
	if err := db.CreateRSVP(ctx, first); err != nil {
		t.Fatal(err)
	}
	again := first
	again.TicketCode = "second"
	if err := dbs[1].CreateRSVP(ctx, again); hyperlieu.KindOf(err) != hyperlieu.Conflict {
		t.Errorf("CreateRSVP twice = %v, want Conflict", err)
	}
	if r, err := db.FindRSVP(ctx, e.ID, "ana"); err != nil || r.TicketCode != "first" {
		t.Errorf("FindRSVP = %+v, %v; want the first", r, err)
	}
	if r, err := db.FindRSVPByTicket(ctx, e.ID, "first"); err != nil || r.UserID != "ana" {
		t.Errorf("FindRSVPByTicket = %+v, %v", r, err)
	}
	if _, err := dbs[1].FindRSVPByTicket(ctx, e.ID, "second"); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("FindRSVPByTicket(the losing answer's code) = %v, want NotFound", err)
	}
	if rs, err := db.FindRSVPsBy(ctx, "ana"); err != nil || len(rs) != 1 || rs[0].TicketCode != "first" {
		t.Errorf("FindRSVPsBy after two answers = %+v, %v; want the one RSVP", rs, err)
	}
	if _, err := db.FindRSVPByTicket(ctx, "other", "first"); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("FindRSVPByTicket on another event = %v, want NotFound", err)
	}
	if _, err := db.FindRSVP(ctx, e.ID, "ben"); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("FindRSVP(nobody) = %v, want NotFound", err)
	}
	if err := db.UpdateRSVP(ctx, shop.RSVP{EventID: e.ID, UserID: "ben"}); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("UpdateRSVP(nobody) = %v, want NotFound", err)
	}
	if err := db.UpdateEvent(ctx, shop.Event{ID: "no-such-event"}); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("UpdateEvent(no such event) = %v, want NotFound", err)
	}

	// Through the service: eight answers at once from one person, two instances.
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	admin := hyperlieu.Actor{UserID: "admin", Roles: []hyperlieu.Role{hyperlieu.RoleAdmin}}
	svcs := make([]*shop.EventService, len(dbs))
	var shops *shop.Service
	for i, d := range dbs {
		shops = shop.NewService(d, d, shop.NewPlaces(nil), quietArea{}, shop.Options{}, log)
		svcs[i] = shop.NewEventService(d, shops, d, quietArea{}, quietArea{}, quietArea{}, shop.EventOptions{}, log)
	}
	loc := geo.Point{Lat: 48.8566, Lng: 2.3522}
	sh, err := shops.CreateShop(ctx, admin, shop.Input{Name: "Atelier", Address: "Paris", Location: &loc, Timezone: "Europe/Paris"})
	if err != nil {
		t.Fatal(err)
	}
	title, cat, capacity := "Launch", "launch", 1
	from, to := time.Now().Add(24*time.Hour), time.Now().Add(26*time.Hour)
	ev, err := svcs[1].CreateEvent(ctx, admin, sh.ID, shop.EventInput{Title: &title, Category: &cat, StartsAt: &from, EndsAt: &to, Capacity: &capacity})
	if err != nil {
		t.Fatal(err)
	}
	states := make([]shop.RSVPState, 8)
	var wg sync.WaitGroup
	for i := range states {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := svcs[i%2].RSVP(ctx, "ana", ev.ID)
			if err != nil {
				t.Errorf("RSVP: %v", err)
			}
			states[i] = st
		}()
	}
	wg.Wait()
	for _, st := range states[1:] {
		if st.TicketCode != states[0].TicketCode || st.Position != states[0].Position || st.Status != shop.Going {
			t.Errorf("concurrent RSVPs by one person = %+v and %+v, want the same seat", states[0], st)
		}
	}
	if _, live := queueOf(t, db, ev.ID); len(live) != 1 {
		t.Errorf("live positions = %v; want 1", live)
	}
	if st, err := svcs[0].RSVP(ctx, "ben", ev.ID); err != nil || st.Status != shop.Waitlisted || st.WaitlistPosition != 1 {
		t.Errorf("next RSVP = %+v, %v; want waitlisted first", st, err)
	}
}

// TestEventsFeedbackReplace: giving feedback again replaces the rating and
// comment and keeps when it was first given.
func TestEventsFeedbackReplace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	f := shop.Feedback{EventID: "e1", ShopID: "s1", UserID: "ana", Rating: 2, Comment: "Too loud", CreatedAt: start, UpdatedAt: start}
	if err := db.UpdateFeedback(ctx, f); err != nil {
		t.Fatal(err)
	}
	later := start.Add(time.Hour)
	if err := db.UpdateFeedback(ctx, shop.Feedback{EventID: "e1", ShopID: "s1", UserID: "ana", Rating: 4, CreatedAt: later, UpdatedAt: later}); err != nil {
		t.Fatal(err)
	}
	other := shop.Feedback{EventID: "e2", ShopID: "s1", UserID: "ana", Rating: 5, CreatedAt: later, UpdatedAt: later}
	if err := db.UpdateFeedback(ctx, other); err != nil {
		t.Fatal(err)
	}
	got, err := db.FindFeedback(ctx, "e1")
	want := shop.Feedback{EventID: "e1", ShopID: "s1", UserID: "ana", Rating: 4, Comment: "", CreatedAt: start, UpdatedAt: later}
	if err != nil || len(got) != 1 || got[0] != want {
		t.Errorf("FindFeedback after replacing = %+v, %v; want [%+v]", got, err, want)
	}
	if by, err := db.FindFeedbackBy(ctx, "ana"); err != nil || len(by) != 2 {
		t.Errorf("FindFeedbackBy = %+v, %v; want 2", by, err)
	}
}

// TestEventsEraseUser: nothing in the database names the person afterwards;
// seats, attendance and ratings stay, anonymous.
func TestEventsEraseUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbs, name := sharedDB(t, 1)
	db := dbs[0]
	const ana = "anaid1234567890"
	e := newEvent(t, db, "shop", ana) // she scheduled it, too
	e2 := newEvent(t, db, "shop", "mgr")
	for i, u := range []string{"ben", ana} {
		if err := db.CreatePosition(ctx, e.ID, i+1, u, start); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateRSVP(ctx, shop.RSVP{EventID: e.ID, UserID: u, Position: i + 1, TicketCode: "code-" + u, CreatedAt: start, UpdatedAt: start}); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateCheckIn(ctx, shop.CheckIn{EventID: e.ID, UserID: u, Method: "location", By: u, At: start}); err != nil {
			t.Fatal(err)
		}
		if err := db.UpdateFeedback(ctx, shop.Feedback{EventID: e.ID, ShopID: "shop", UserID: u, Rating: 2 + i, Comment: "words of " + u, CreatedAt: start, UpdatedAt: start}); err != nil {
			t.Fatal(err)
		}
	}
	// A manager scanned her ticket at another event; she scanned someone's
	// there, and gave up a seat there.
	if err := db.CreateCheckIn(ctx, shop.CheckIn{EventID: e2.ID, UserID: ana, Method: "ticket", By: "mgr", At: start}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateCheckIn(ctx, shop.CheckIn{EventID: e2.ID, UserID: "cy", Method: "ticket", By: ana, At: start}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreatePosition(ctx, e2.ID, 1, ana, start); err != nil {
		t.Fatal(err)
	}
	if err := db.DeletePosition(ctx, e2.ID, 1, start); err != nil {
		t.Fatal(err)
	}
	if where := collectionsWith(t, name, ana); len(where) < 5 {
		t.Fatalf("before erasure she is in %v only", where)
	}

	for range 2 {
		if err := db.DeleteEventUser(ctx, ana); err != nil {
			t.Fatalf("DeleteEventUser: %v", err)
		}
	}
	if where := collectionsWith(t, name, ana); len(where) > 0 {
		t.Errorf("after erasure she is still in %v", where)
	}
	if where := collectionsWith(t, name, "code-"+ana); len(where) > 0 {
		t.Errorf("her ticket code is still in %v", where)
	}
	_, q := queueOf(t, db, e.ID)
	if len(q) != 2 || q[0].UserID != "ben" || q[1].UserID != "" {
		t.Errorf("queue = %+v, want ben then an anonymous seat", q)
	}
	fbs, _ := db.FindFeedback(ctx, e.ID)
	ratings := map[string]int{}
	for _, f := range fbs {
		ratings[f.UserID+"/"+f.Comment] = f.Rating
	}
	if len(fbs) != 2 || ratings["ben/words of ben"] != 2 || ratings["/"] != 3 {
		t.Errorf("feedback = %+v, want ben's and her rating 3 without her or her words", fbs)
	}
	if _, err := db.FindCheckIn(ctx, e.ID, "ben"); err != nil {
		t.Errorf("ben's check-in: %v", err)
	}
	if ev, _ := db.FindEvent(ctx, e.ID); ev.CreatedBy != "" {
		t.Errorf("event created by %q, want nobody", ev.CreatedBy)
	}
	if r, err := db.FindRSVP(ctx, e.ID, "ben"); err != nil || r.TicketCode != "code-ben" {
		t.Errorf("ben's RSVP = %+v, %v", r, err)
	}
	if err := db.DeleteEventUser(ctx, "nobody"); err != nil {
		t.Errorf("DeleteEventUser(nobody) = %v", err)
	}
}

// TestEventsFind: filters by shop, time window, category and creator.
func TestEventsFind(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	a := newEvent(t, db, "s1", "m1")
	b := newEvent(t, db, "s2", "m2")
	b.StartsAt, b.EndsAt, b.Category, b.UpdatedAt = start.Add(24*time.Hour), start.Add(26*time.Hour), "launch", start
	if err := db.UpdateEvent(ctx, b); err != nil {
		t.Fatal(err)
	}
	c := newEvent(t, db, "s1", "m1")
	c.StartsAt, c.EndsAt = start.AddDate(0, 1, 0), start.AddDate(0, 1, 3) // a month on, over three days
	if err := db.UpdateEvent(ctx, c); err != nil {
		t.Fatal(err)
	}
	from, to := start.Add(-24*time.Hour), start.AddDate(0, 2, 0)
	if _, err := db.FindEvents(ctx, shop.EventFilter{ShopID: "s1"}); hyperlieu.KindOf(err) != hyperlieu.Invalid {
		t.Errorf("FindEvents(no window) = %v, want Invalid: the months to read are bounded", err)
	}
	if err := db.UpdateEvent(ctx, shop.Event{ID: "nope"}); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("UpdateEvent(unknown) = %v, want NotFound", err)
	}
	if _, err := db.FindEvent(ctx, "nope"); hyperlieu.KindOf(err) != hyperlieu.NotFound {
		t.Errorf("FindEvent(unknown) = %v, want NotFound", err)
	}
	tests := []struct {
		name string
		f    shop.EventFilter
		want []string
	}{
		{"all", shop.EventFilter{From: from, To: to}, []string{a.ID, b.ID, c.ID}},
		{"shop", shop.EventFilter{ShopID: "s2", From: from, To: to}, []string{b.ID}},
		{"category", shop.EventFilter{Category: "workshop", From: from, To: to}, []string{a.ID, c.ID}},
		{"creator", shop.EventFilter{CreatedBy: "m1"}, []string{a.ID, c.ID}},
		{"ending after", shop.EventFilter{From: start.Add(2 * time.Hour), To: to}, []string{b.ID, c.ID}},
		{"starting before", shop.EventFilter{From: from, To: start.Add(24 * time.Hour)}, []string{a.ID}},
		{"limit", shop.EventFilter{From: from, To: to, Limit: 1}, []string{a.ID}},
		// c moved out of May: listed under June, no longer found in May.
		{"moved", shop.EventFilter{ShopID: "s1", From: from, To: start.AddDate(0, 0, 20)}, []string{a.ID}},
		{"started before the window", shop.EventFilter{ShopID: "s1", From: c.StartsAt.Add(time.Hour), To: to}, []string{c.ID}},
	}
	for _, tt := range tests {
		evs, err := db.FindEvents(ctx, tt.f)
		var got []string
		for _, e := range evs {
			got = append(got, e.ID)
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("FindEvents(%s) = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
	changed, err := db.FindEventsChangedSince(ctx, start.Add(-time.Hour))
	if err != nil || len(changed) != 1 || changed[0].ID != b.ID {
		t.Errorf("FindEventsChangedSince = %v, %v; want b", changed, err)
	}
}

// quietArea stands for the areas the event service talks to, here beside
// the point: nobody nearby, no offers, nothing to tell or record.
type quietArea struct{}

func (quietArea) Notify(context.Context, ...hyperlieu.NotificationRequest) error { return nil }
func (quietArea) ReserveContact(context.Context, hyperlieu.User, time.Time) (bool, error) {
	return true, nil
}
func (quietArea) RecordActivity(context.Context, hyperlieu.Activity) error { return nil }
func (quietArea) CustomersNear(context.Context, geo.Point, float64, time.Time) ([]string, error) {
	return nil, nil
}
func (quietArea) OffersNear(context.Context, string, geo.Point, float64) ([]hyperlieu.NearbyOffer, error) {
	return nil, nil
}
