package store_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/campaign"
	"github.com/hyperlieu/hyperlieu/geo"
	"github.com/hyperlieu/hyperlieu/notify"
	"github.com/hyperlieu/hyperlieu/store"
)

// BenchmarkReport runs location reports through the real engine on the
// embedded database (issue 15): "nothing" is a report that triggers
// nothing, "offer" a report that enters the fence and fires an offer (its
// customer left it the report before, untimed). Each runs on a fresh
// database and on one already holding HYPERLIEU_BENCH_STORED (default
// 100,000) offers and as many notifications, so that a cost growing with
// the data shows as the gap between the two.
func BenchmarkReport(b *testing.B) {
	stored := 100_000
	if v := os.Getenv("HYPERLIEU_BENCH_STORED"); v != "" {
		stored, _ = strconv.Atoi(v)
	}
	for _, n := range []int{0, stored} {
		b.Run(fmt.Sprintf("stored%d", n), func(b *testing.B) {
			db := newDB(b)
			fill(b, db, n)
			r := newReporter(b, db)
			// Every collection a report touches exists (a customer entered
			// the fence), then has its _id indexed as the server does.
			r.report(b, r.users, r.away, false)
			r.report(b, r.users, r.zone, true)
			if embedded != nil {
				if err := embedded.IndexIDs(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.Run("nothing", func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					r.report(b, i%r.users, r.away, false)
				}
			})
			b.Run("offer", func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					b.StopTimer()
					r.report(b, i%r.users, r.away, false)
					b.StartTimer()
					r.report(b, i%r.users, r.zone, true)
				}
			})
		})
	}
}

// fill stores n offers and n notifications of 1,000 other customers.
func fill(b *testing.B, db *store.DB, n int) {
	ctx := context.Background()
	now := time.Now().UTC()
	for done := 0; done < n; done += 1000 {
		os := make([]campaign.Offer, 0, 1000)
		ns := make([]notify.Notification, 0, 1000)
		for i := done; i < min(n, done+1000); i++ {
			user := fmt.Sprintf("old%d", i%1000)
			os = append(os, campaign.Offer{ID: fmt.Sprintf("o%d", i), Code: fmt.Sprintf("C%d", i), CampaignID: "old", UserID: user,
				Title: "An old offer", IssuedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour), TriggerKey: fmt.Sprintf("trigger:old:%d", i)})
			ns = append(ns, notify.Notification{ID: fmt.Sprintf("n%d", i), UserID: user, Kind: "offer", Category: "offers",
				CreatedAt: now.Add(-time.Hour), NotBefore: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour), Status: notify.StatusSent})
		}
		if err := db.InsertOffers(ctx, os); err != nil {
			b.Fatal(err)
		}
		if err := db.CreateNotifications(ctx, ns); err != nil {
			b.Fatal(err)
		}
	}
}

// reporter is the location engine over db with one campaign, a 100 m
// circle without caps, and customers who report in turn.
type reporter struct {
	location   *campaign.LocationService
	zone, away geo.Point
	users      int
	at         time.Time
}

func newReporter(b *testing.B, db *store.DB) *reporter {
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	campaigns := campaign.NewService(db, pathShops{}, campaign.Options{}, quiet)
	offers := campaign.NewOfferService(db, campaigns, pathShops{}, pathFans{}, campaign.OfferOptions{}, quiet)
	notes := notify.NewService(db, notify.Options{}, quiet)
	r := &reporter{
		location: campaign.NewLocationService(db, campaigns, offers, notes, pathFans{}, campaign.LocationOptions{UserCacheTTL: time.Hour}, quiet),
		zone:     geo.Point{Lat: 48.8530, Lng: 2.3490}, away: geo.Point{Lat: 48.8544, Lng: 2.3490}, users: 1000,
		at: time.Now(),
	}
	admin := hyperlieu.Actor{UserID: "admin", Roles: []hyperlieu.Role{hyperlieu.RoleAdmin}}
	name := "Coffee"
	c, err := campaigns.CreateCampaign(ctx, admin, campaign.Input{Name: &name,
		Geofence: &campaign.Geofence{Type: "circles", Circles: []geo.Circle{{Center: r.zone, RadiusM: 100}}},
		Offer:    &campaign.OfferTemplate{Texts: []campaign.OfferText{{Locale: "en", Formality: hyperlieu.Formal, Title: "A coffee"}}, Validity: time.Hour},
		Caps:     &campaign.Caps{}}) // no cap: one offer per stay
	if err != nil {
		b.Fatal(err)
	}
	if _, err := campaigns.Transition(ctx, admin, c.ID, "activate"); err != nil {
		b.Fatal(err)
	}
	for i := range r.users + 1 { // the last one warms up
		u := hyperlieu.User{ID: fmt.Sprintf("w%d", i), Email: fmt.Sprintf("w%d@example.com", i), CreatedAt: r.at.Add(-time.Hour)}
		u.Prefs.LocationConsent, u.Prefs.MaxNotificationsPerDay = true, 1000
		if err := db.CreateUser(ctx, u); err != nil {
			b.Fatal(err)
		}
	}
	return r
}

// report has customer i report p, 5 ms after the last report (each
// customer's are 5 s apart; the fence is 150 m away, a walk, not a jump). Reports may not be more
// than 2 minutes ahead: a benchmark runs up to 24,000.
func (r *reporter) report(b *testing.B, i int, p geo.Point, fires bool) {
	r.at = r.at.Add(5 * time.Millisecond)
	res, err := r.location.Report(context.Background(), fmt.Sprintf("w%d", i), []campaign.LocationReport{{Point: p, AccuracyM: 10, RecordedAt: r.at}}, false)
	if err != nil {
		b.Fatal(err)
	}
	if fires && len(res.Triggered) != 1 {
		b.Fatalf("report %d triggered %d offers, want 1: %+v", i, len(res.Triggered), res)
	}
}
