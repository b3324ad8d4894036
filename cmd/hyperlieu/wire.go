package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/account"
	"github.com/hyperlieu/hyperlieu/api"
	"github.com/hyperlieu/hyperlieu/audit"
	"github.com/hyperlieu/hyperlieu/campaign"
	"github.com/hyperlieu/hyperlieu/config"
	"github.com/hyperlieu/hyperlieu/demo"
	"github.com/hyperlieu/hyperlieu/fan"
	"github.com/hyperlieu/hyperlieu/geo"
	"github.com/hyperlieu/hyperlieu/metrics"
	"github.com/hyperlieu/hyperlieu/notify"
	"github.com/hyperlieu/hyperlieu/push"
	"github.com/hyperlieu/hyperlieu/shop"
	"github.com/hyperlieu/hyperlieu/store"
	"github.com/hyperlieu/hyperlieu/token"
	"github.com/hyperlieu/hyperlieu/webhook"
)

// wire builds every area's use cases over db, loads what they keep in
// memory, starts their background loops in bg and, with --demo, loads the
// demo data. Areas talk to each other only through the root's contracts,
// wired here.
func wire(ctx context.Context, cfg config.Config, db *store.DB, issuer *token.Issuer, sender push.Sender, meters *metrics.Metrics, bg *background, stdout io.Writer, log *slog.Logger) (api.Services, error) {
	// Notifications: queued by every area, sent by the outbox worker.
	opened := &lateOpened{}
	// Domain events: published as they cross the root's contracts
	// (notifier, activity, personal data), then passed on.
	// The endpoints' numbered delivery lists (issue 15), filled once.
	if err := db.MigrateWebhookLists(ctx); err != nil {
		return api.Services{}, fmt.Errorf("migrate the webhook delivery lists: %w", err)
	}
	domainEvents := webhook.NewService(db, webhook.Options{StreamLag: cfg.EventsStreamLag})
	if err := domainEvents.Refresh(ctx); err != nil { // the endpoints events are queued for
		return api.Services{}, err
	}
	hooks := webhook.NewWorker(domainEvents, webhook.WorkerOptions{
		Concurrency: cfg.Webhooks.Workers, Poll: cfg.Webhooks.Poll, Lease: cfg.Webhooks.Lease, Timeout: cfg.Webhooks.Timeout,
		MaxAttempts: cfg.Webhooks.MaxAttempts, RetryBase: cfg.Webhooks.RetryBase, RetryMax: cfg.Webhooks.RetryMax,
		AutoPauseAfter: cfg.Webhooks.AutoPauseAfter, Observer: meters,
	}, log)
	meters.WatchWebhooks(hooks.Backlog)
	// The outbox queue and per-user device lists of issue 15, filled once
	// from what older versions stored.
	if n, err := db.MigrateOutbox(ctx); err != nil {
		return api.Services{}, fmt.Errorf("migrate the outbox queue: %w", err)
	} else if n > 0 {
		log.Info("unfinished notifications moved to the outbox queue", "count", n)
	}
	// The events area's keyed tickets, RSVP lists and release logs of
	// issue 15, filled once from what older versions stored.
	if err := db.MigrateEvents(ctx); err != nil {
		return api.Services{}, fmt.Errorf("migrate events: %w", err)
	}
	if err := db.MigrateKeys(ctx); err != nil {
		return api.Services{}, fmt.Errorf("migrate email keys, stats shards and feedback lists: %w", err)
	}
	var outbox *notify.Outbox
	notes := notify.NewService(db, notify.Options{
		Validity: cfg.Outbox.Validity, MaxDevices: cfg.Outbox.MaxDevices, DeviceGrace: cfg.Outbox.DeviceGrace,
		OnOpened: opened.opened,
		// What this instance queues, its outbox sends without a scan.
		OnQueued: func(qs []notify.Queued) {
			if outbox != nil {
				outbox.Enqueue(qs)
			}
		},
	}, log)
	if cfg.Outbox.Workers > 0 {
		outbox = notify.NewOutbox(db, sender, notify.OutboxOptions{
			Workers: cfg.Outbox.Workers, BatchSize: cfg.Outbox.BatchSize, PollInterval: cfg.Outbox.PollInterval, ScanEvery: cfg.Outbox.ScanEvery,
			Lease: cfg.Outbox.Lease, MaxAttempts: cfg.Outbox.MaxAttempts, RetryBase: cfg.Outbox.RetryBase,
			DeviceGrace: cfg.Outbox.DeviceGrace, Observer: meters, OnSent: opened.sent,
			OnFailed: func(ctx context.Context, n notify.Notification) {
				k := webhook.FailedNotification(n.ID, n.UserID, string(n.Kind), time.Now())
				if err := domainEvents.Publish(ctx, k); err != nil {
					log.ErrorContext(ctx, "publish notification.failed", "notification", n.ID, "err", err)
				}
			},
		}, log)
	}

	// The audit trail of staff acts: gestures, redemptions, hand-recorded activities.
	auditor := audit.NewService(db, audit.Options{}, log)

	// Shops and events: the in-memory map behind nearby search is filled
	// before serving, then follows other instances' writes.
	places := shop.NewPlaces(nil)
	if err := places.Sync(ctx, db); err != nil {
		return api.Services{}, err
	}
	offerSource := &lateOffers{}
	shops := shop.NewService(db, db, places, offerSource, shop.Options{}, log)

	// Fans: loyalty, segments, referrals, service recovery, the welcome journey.
	wallet := &lateWallet{}
	fanOpts := fanOptions(cfg)
	fanOpts.Wallet = wallet // rewards' and gestures' codes are wallet offers
	fanOpts.Auditor = auditor
	notifier := webhook.Notifier{Next: notes, Pub: domainEvents}
	fans := fan.NewService(db, shops, notifier, notes, fanOpts, log)
	// Check-ins and redemptions reach the fans through the visits, which
	// also ask "how was your visit?" after them.
	visits := fan.NewVisits(fans, db, fan.VisitOptions{AskEvery: cfg.Fans.VisitAskEvery, AskDelay: cfg.Fans.VisitAskDelay})
	activity := webhook.Activity{Next: visits, Pub: domainEvents}
	reviews := fan.NewReviews(fans, db, fan.ReviewOptions{VisitWindow: cfg.Fans.ReviewVisitWindow, PerShop: cfg.Fans.ReviewPerShop, PerDay: cfg.Fans.ReviewPerDay})
	// Geofenced campaigns, the location engine and offers. Shops list their
	// offers through the location engine, built after them (offerSource).
	// The campaigns' list and the customers' presence are read by _id
	// (issue 15), filled once with what older versions stored, before the
	// fence index's first load reads the list.
	if n, err := db.MigrateCampaignPaths(ctx); err != nil {
		return api.Services{}, fmt.Errorf("migrate campaign list and presence: %w", err)
	} else if n > 0 {
		log.Info("older campaigns and location states listed", "count", n)
	}
	campaigns := campaign.NewService(db, shops, campaign.Options{
		Limits: geo.Limits{MaxAreaM2: float64(cfg.Campaigns.MaxAreaKm2) * 1e6, MaxCells: cfg.Campaigns.MaxCells},
		Poll:   cfg.Campaigns.Poll, Observer: meters,
	}, log)
	if err := campaigns.Refresh(ctx); err != nil {
		return api.Services{}, fmt.Errorf("load campaigns: %w", err)
	}
	opened.campaigns = campaigns
	if outbox != nil {
		bg.Go(outbox.Run) // once opened.sent reaches the campaigns
	}
	// Check-ins and redemptions are also returns for the experiments that
	// triggered the customer.
	returns := campaign.Returns{Next: activity, Campaigns: campaigns}
	offers := campaign.NewOfferService(db, campaigns, shops, returns, campaign.OfferOptions{Auditor: auditor}, log)
	wallet.offers = offers
	// Reward and gesture codes of the older format become wallet offers
	// under their own code, so that they keep redeeming at the till.
	if n, err := db.MigrateLegacyCodes(ctx, time.Now().Add(90*24*time.Hour)); err != nil {
		return api.Services{}, fmt.Errorf("migrate reward codes: %w", err)
	} else if n > 0 {
		log.Info("older reward and gesture codes adopted into the wallet", "count", n)
	}
	// Wallets and inboxes are lists read by _id (issue 15), filled once
	// with what older versions stored.
	if n, err := db.MigrateLists(ctx); err != nil {
		return api.Services{}, fmt.Errorf("migrate wallets and inboxes: %w", err)
	} else if n > 0 {
		log.Info("older offers and notifications listed in their wallets and inboxes", "count", n)
	}
	if n, err := db.MigrateFanPaths(ctx); err != nil { // the fans' shop and person lists (issue 15)
		return api.Services{}, fmt.Errorf("migrate fan lists: %w", err)
	} else if n > 0 {
		log.Info("older feedback, gestures, reviews, visits and slots listed", "count", n)
	}
	// The admins' lists (users, audit, every notification) and the
	// per-person lists erasure reads by _id (issue 15), filled once.
	if n, err := db.MigrateAdminLists(ctx); err != nil {
		return api.Services{}, fmt.Errorf("migrate the admin and erasure lists: %w", err)
	} else if n > 0 {
		log.Info("older accounts, sessions, audit entries and notifications listed", "count", n)
	}
	// Claims keyed under each person's claim key, so that erasure leaves
	// none that names them (older ones named their customer).
	if n, err := db.MigrateClaimKeys(ctx); err != nil {
		return api.Services{}, fmt.Errorf("migrate claim keys: %w", err)
	} else if n > 0 {
		log.Info("older trigger claims and daily contacts re-keyed", "count", n)
	}
	location := campaign.NewLocationService(db, campaigns, offers, notifier, fans, campaign.LocationOptions{
		MaxAccuracyM: float64(cfg.Campaigns.MaxAccuracyM), NewcomerPeriod: cfg.NewcomerPeriod,
		Retention: cfg.Campaigns.LocationRetention, StateRefresh: stateRefresh(cfg.Campaigns.StateRefresh),
		Shops: places, Visits: visits, VisitRadiusM: float64(cfg.Fans.VisitRadiusM), VisitMinDwell: cfg.Fans.VisitMinDwell,
	}, log)
	offerSource.l.Store(location)
	events := shop.NewEventService(db, shops, db, notifier, returns, campaigns, shop.EventOptions{}, log)
	invitations := shop.NewInvitationService(events, db, fans) // sign-ups through them are the fans' referrals
	personalFeeds := fan.NewPersonalFeeds(db, nil)

	onRegister := func(ctx context.Context, u hyperlieu.User, in hyperlieu.Registration) error {
		// The invitation first: the fans' part computes the segment from the referral it makes.
		return errors.Join(notes.Welcome(ctx, u), invitations.OnRegister(ctx, u, in), fans.OnRegister(ctx, u, in))
	}
	th := cfg.Throttle
	accounts := account.NewService(db, issuer, account.Options{
		RefreshTTL: cfg.RefreshTTL, OnRegister: onRegister, Observer: meters,
		MaxSignupsPerAddr: th.SignupsPerAddr, SignupWindow: th.SignupWindow,
		MaxRefreshesPerSession: th.RefreshesPerSession, MaxRefreshFailuresPerAddr: th.RefreshFailuresPerAddr, RefreshWindow: th.RefreshWindow,
	}, log)
	// Export and erase visit every area; the account itself (db) comes last,
	// as it erases the identity, then the live-session cache (accounts).
	// The events area comes after them: account.erased says it is done.
	// Invitations come before the events area, which forgets whose
	// check-ins were whose.
	privacy := hyperlieu.NewPrivacyService(nil, fans, visits, invitations, events, personalFeeds, location, notes, auditor, db, accounts, webhook.Personal{Store: db, Pub: domainEvents})
	if cfg.AdminEmail != "" {
		if _, err := accounts.EnsureUser(ctx, cfg.AdminEmail, cfg.AdminPassword, "Admin", hyperlieu.RoleAdmin); err != nil {
			return api.Services{}, fmt.Errorf("HYPERLIEU_ADMIN_EMAIL: %w", err)
		}
		log.Info("admin account ensured", "email", cfg.AdminEmail)
	}
	if cfg.Demo {
		backdated := func(at time.Time) *account.Service {
			return account.NewService(db, issuer, account.Options{Now: func() time.Time { return at }, OnRegister: onRegister}, log)
		}
		if err := demo.Load(ctx, demo.Services{Accounts: accounts, Shops: shops, Events: events, Fans: fans, AccountsAt: backdated, Campaigns: campaigns}, stdout); err != nil {
			return api.Services{}, err
		}
	}

	bg.Go(campaigns.Run) // follows other instances' campaign changes
	bg.Go(location.Run)  // erases last positions past retention
	bg.Go(func(ctx context.Context) { places.Run(ctx, db, cfg.Events.PlacesSync, log) })
	bg.Go(func(ctx context.Context) { events.RunReminders(ctx, cfg.Events.ReminderEvery) })
	bg.Go(func(ctx context.Context) { <-ctx.Done(); events.Wait() })             // announcements under way, detached from their requests
	bg.Go(func(ctx context.Context) { fans.Run(ctx, cfg.Fans.SegmentInterval) }) // segments and journey steps
	if cfg.Webhooks.Workers > 0 {
		bg.Go(hooks.Run) // webhook deliveries; also refreshes the endpoints
	} else {
		bg.Go(func(ctx context.Context) {
			hyperlieu.Every(ctx, cfg.Webhooks.Poll, false, log, "webhook endpoints refresh", domainEvents.Refresh)
		})
	}

	return api.Services{Accounts: accounts, Shops: shops, Events: events, Invitations: invitations, Fans: fans, Reviews: reviews, Visits: visits, Privacy: privacy, PersonalFeeds: personalFeeds, Notifications: notes, Webhooks: domainEvents,
		Campaigns: campaigns, Location: location, Offers: offers, Audit: auditor}, nil
}

// background runs the server's long-lived loops under one context and
// waits for them on Stop, so that none still uses the database as it closes.
type background struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newBackground(ctx context.Context) *background {
	ctx, cancel := context.WithCancel(ctx)
	return &background{ctx: ctx, cancel: cancel}
}

// Go runs loop until Stop; loop must return once its context is done.
func (b *background) Go(loop func(context.Context)) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		loop(b.ctx)
	}()
}

// Stop ends every loop and waits for them.
func (b *background) Stop() {
	b.cancel()
	b.wg.Wait()
}

// lateOpened tells the campaigns area about opened notifications; the
// notification service is built before the campaigns it reports to.
type lateOpened struct{ campaigns *campaign.Service }

func (o *lateOpened) opened(ctx context.Context, n notify.Notification) error {
	if o.campaigns != nil {
		o.campaigns.NotificationOpened(ctx, n.Data)
	}
	return nil
}

// sent tells the campaigns area about pushes sent (their `pushed` count).
func (o *lateOpened) sent(ctx context.Context, data map[string]string) {
	if o.campaigns != nil {
		o.campaigns.NotificationPushed(ctx, data)
	}
}

// lateOffers forwards shops' nearby search to the location engine, which is
// built after the shops it needs (it needs them too). It is set before the
// server starts; a search before that is a wiring bug, reported as one.
type lateOffers struct {
	l atomic.Pointer[campaign.LocationService]
}

func (o *lateOffers) OffersNear(ctx context.Context, userID string, p geo.Point, radiusM float64) ([]hyperlieu.NearbyOffer, error) {
	l := o.l.Load()
	if l == nil {
		return nil, errors.New("nearby offers asked for before the location engine was wired")
	}
	return l.OffersNear(ctx, userID, p, radiusM)
}

// lateWallet forwards the fans' offers to the offer service, which is built
// after the fans it reports redemptions to.
type lateWallet struct{ offers *campaign.OfferService }

func (w *lateWallet) IssueOffer(ctx context.Context, o hyperlieu.WalletOffer) (string, error) {
	return w.offers.IssueOffer(ctx, o)
}

// stateRefresh maps the setting's 0 ("write every report") to the
// engine's negative value, its 0 being "the default".
func stateRefresh(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
