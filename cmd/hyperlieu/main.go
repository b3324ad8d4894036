// Command hyperlieu runs the Hyperlieu API server.
//
//	hyperlieu serve [--demo] [flags]   start the API (see --help for every flag and variable)
//	hyperlieu healthcheck [flags]      GET /healthz on the configured address; exit 0 if healthy, else 1
//	hyperlieu version                  print the version and the Go release it was built with
//	hyperlieu keygen                   print a new Ed25519 signing key (PEM) for the key ring
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
	_ "time/tzdata" // customers' time zones must resolve even on images without tzdata

	"github.com/gofiber/fiber/v3"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/account"
	"github.com/hyperlieu/hyperlieu/api"
	"github.com/hyperlieu/hyperlieu/campaign"
	"github.com/hyperlieu/hyperlieu/config"
	"github.com/hyperlieu/hyperlieu/demo"
	"github.com/hyperlieu/hyperlieu/fan"
	"github.com/hyperlieu/hyperlieu/geo"
	"github.com/hyperlieu/hyperlieu/notify"
	"github.com/hyperlieu/hyperlieu/push"
	"github.com/hyperlieu/hyperlieu/shop"
	"github.com/hyperlieu/hyperlieu/store"
	"github.com/hyperlieu/hyperlieu/token"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "hyperlieu:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		err := serve(ctx, args, getenv, stdout, stderr)
		if errors.Is(err, flag.ErrHelp) {
			return nil // --help printed the flags
		}
		return err
	case "healthcheck":
		return healthcheck(ctx, args, getenv, stdout, stderr)
	case "version":
		return printVersion(stdout)
	case "keygen":
		pem, err := token.NewKeyPEM()
		if err != nil {
			return err
		}
		_, err = stdout.Write(pem)
		return err
	}
	return fmt.Errorf("unknown command %q; try serve, healthcheck, version or keygen", cmd)
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(args, getenv, stderr)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	log := newLogger(cfg, stdout)
	log.Info("starting", "version", version, "config", cfg)
	warnUnknownEnv(log, os.Environ())
	if cfg.PprofAddr != "" {
		stopPprof, err := startPprof(cfg.PprofAddr, log)
		if err != nil {
			return err
		}
		defer stopPprof()
	}

	mongoURI, poolSize := cfg.MongoURI, uint64(0)
	var embedded *store.Embedded
	if mongoURI == "" {
		e, err := store.StartEmbedded(ctx, filepath.Join(cfg.DataDir, "db"), cfg.EmbeddedDBAddr, log)
		if err != nil {
			return err
		}
		defer e.Close()
		embedded, mongoURI, poolSize = e, e.URI(), 1
		log.Info("embedded FerretDB started: for development, demos and tests; set MONGO_URI for production",
			"dir", filepath.Join(cfg.DataDir, "db"), "uri", e.URI())
	}
	db, err := store.Open(ctx, mongoURI, cfg.MongoDatabase, store.Options{MaxPoolSize: poolSize, AppName: "hyperlieu"})
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = db.Close(cctx)
	}()
	if embedded != nil {
		if err := embedded.IndexIDs(ctx); err != nil {
			log.Warn("indexing _id in the embedded database", "err", err)
		}
	}

	ring, err := keyRing(cfg, log)
	if err != nil {
		return fmt.Errorf("JWT keys: %w", err)
	}
	issuer := token.NewIssuer(ring, cfg.JWTIssuer, cfg.JWTAudience, cfg.AccessTTL, nil)
	log.Info("JWT key ring loaded", "signing_kid", ring.SignerID())

	// Notifications: queued by every area, sent by the outbox worker.
	var campaignsOpened func(ctx context.Context, data map[string]string) // set once campaigns exist
	notes := notify.NewService(db, notify.Options{
		Validity: cfg.Outbox.Validity, MaxDevices: cfg.Outbox.MaxDevices, DeviceGrace: cfg.Outbox.DeviceGrace,
		OnOpened: func(ctx context.Context, n notify.Notification) error {
			if campaignsOpened != nil {
				campaignsOpened(ctx, n.Data)
			}
			return nil
		},
	}, log)
	sender, err := pushSender(ctx, cfg, stdout, log)
	if err != nil {
		return err
	}
	if cfg.Outbox.Workers > 0 {
		outbox := notify.NewOutbox(db, sender, notify.OutboxOptions{
			Workers: cfg.Outbox.Workers, BatchSize: cfg.Outbox.BatchSize, PollInterval: cfg.Outbox.PollInterval,
			Lease: cfg.Outbox.Lease, MaxAttempts: cfg.Outbox.MaxAttempts, RetryBase: cfg.Outbox.RetryBase,
			DeviceGrace: cfg.Outbox.DeviceGrace,
		}, log)
		wctx, stopOutbox := context.WithCancel(ctx)
		stopped := make(chan struct{})
		go func() { defer close(stopped); outbox.Run(wctx) }()
		defer func() { stopOutbox(); <-stopped }() // before the database closes
	}

	// Shops and events: the in-memory map behind nearby search is filled
	// before serving, then follows other instances' writes.
	places := shop.NewPlaces(nil)
	if err := places.Sync(ctx, db); err != nil {
		return err
	}
	offerSource := &lateOffers{}
	shops := shop.NewService(db, db, places, shop.Options{Offers: offerSource}, log)

	// Fans: loyalty, segments, referrals, service recovery, the welcome journey.
	fans := fan.NewService(db, shops, notes, notes, fanOptions(cfg), log)
	// Geofenced campaigns, the location engine and offers. Shops list their
	// offers through the location engine, built after them (offerSource).
	campaigns := campaign.NewService(db, shops, campaign.Options{
		Limits: geo.Limits{MaxAreaM2: float64(cfg.Campaigns.MaxAreaKm2) * 1e6, MaxCells: cfg.Campaigns.MaxCells},
		Poll:   cfg.Campaigns.Poll,
	}, log)
	if err := campaigns.Refresh(ctx); err != nil {
		return fmt.Errorf("load campaigns: %w", err)
	}
	campaignsOpened = campaigns.NotificationOpened
	offers := campaign.NewOfferService(db, campaigns, shops, fans, campaign.OfferOptions{}, log)
	location := campaign.NewLocationService(db, campaigns, offers, notes, fans, campaign.LocationOptions{
		MaxAccuracyM: float64(cfg.Campaigns.MaxAccuracyM), NewcomerPeriod: cfg.NewcomerPeriod,
	}, log)
	offerSource.l = location
	go campaigns.Watch(ctx)
	go sweepLocations(ctx, db, cfg.Campaigns.LocationRetention, log)
	events := shop.NewEventService(db, shops, db, shop.EventOptions{Notifier: notes, Activity: fans, Audience: campaigns}, log)

	onRegister := func(ctx context.Context, u hyperlieu.User, in account.Registration) error {
		return errors.Join(notes.Welcome(ctx, u), fans.OnRegister(ctx, u, in))
	}
	accounts := account.NewService(db, issuer, account.Options{RefreshTTL: cfg.RefreshTTL, OnRegister: onRegister}, log)
	// Export and erase visit every area; the account itself (db) comes last,
	// as it erases the identity, then the live-session cache (accounts).
	privacy := hyperlieu.NewPrivacyService(nil, fans, events, location, notes, db, accounts)
	if cfg.AdminEmail != "" {
		if _, err := accounts.EnsureUser(ctx, cfg.AdminEmail, cfg.AdminPassword, "Admin", hyperlieu.RoleAdmin); err != nil {
			return fmt.Errorf("HYPERLIEU_ADMIN_EMAIL: %w", err)
		}
		log.Info("admin account ensured", "email", cfg.AdminEmail)
	}
	if cfg.Demo {
		backdated := func(at time.Time) *account.Service {
			return account.NewService(db, issuer, account.Options{Now: func() time.Time { return at }, OnRegister: onRegister}, log)
		}
		if err := demo.Load(ctx, demo.Services{Accounts: accounts, Shops: shops, Events: events, Fans: fans, AccountsAt: backdated, Campaigns: campaigns}, stdout); err != nil {
			return err
		}
	}

	go places.Run(ctx, db, cfg.Events.PlacesSync, log)
	go events.RunReminders(ctx, cfg.Events.ReminderEvery)
	go fans.Run(ctx, cfg.Fans.SegmentInterval) // segments and journey steps; stops with ctx

	srv := api.New(api.Services{Accounts: accounts, Shops: shops, Events: events, Fans: fans, Privacy: privacy, Notifications: notes,
		Campaigns: campaigns, Location: location, Offers: offers}, api.Options{
		Verifier: issuer, Sessions: accounts, BodyLimit: cfg.BodyLimit, RequestTimeout: cfg.RequestTimeout,
		CORSOrigins: cfg.CORSOrigins, TrustedProxies: cfg.TrustedProxies, Ready: db.Ping, Version: version,
	}, log)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("HYPERLIEU_ADDR: %w", err)
	}
	log.Info("listening", "addr", ln.Addr().String())
	served := make(chan error, 1)
	go func() {
		served <- srv.App().Listener(ln, fiber.ListenConfig{DisableStartupMessage: true})
	}()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	if err := srv.App().ShutdownWithContext(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// lateOffers forwards shops' nearby search to the location engine, which is
// built after the shops it needs.
type lateOffers struct{ l *campaign.LocationService }

func (o *lateOffers) OffersNear(ctx context.Context, userID string, p geo.Point, radiusM float64) ([]hyperlieu.NearbyOffer, error) {
	if o.l == nil {
		return nil, nil
	}
	return o.l.OffersNear(ctx, userID, p, radiusM)
}

// sweepLocations erases, hourly, the last positions of customers not seen
// for longer than retention.
func sweepLocations(ctx context.Context, db *store.DB, retention time.Duration, log *slog.Logger) {
	hyperlieu.Every(ctx, time.Hour, true, log, "sweep location states", func(ctx context.Context) error {
		n, err := db.DeleteLocationStatesBefore(ctx, time.Now().Add(-retention))
		if n > 0 {
			log.InfoContext(ctx, "location states past retention erased", "count", n)
		}
		return err
	})
}

// fanOptions turns the configuration into the fans use cases' options.
func fanOptions(cfg config.Config) fan.Options {
	f := cfg.Fans
	o := fan.Options{
		Earn: fan.EarningRules{
			CheckIn: f.PointsCheckIn, Redemption: f.PointsRedemption, Feedback: f.PointsFeedback,
			ReferralReferrer: f.PointsReferrer, ReferralReferee: f.PointsReferee,
		},
		TierWindow: f.TierWindow, NewcomerPeriod: cfg.NewcomerPeriod, DevotedWindow: f.DevotedWindow,
		DevotedMin: f.DevotedMin, DormantAfter: f.DormantAfter, ReferralCapPerMonth: f.ReferralCap,
		ReferralBaseURL: f.ReferralBaseURL, MaxGesturePoints: f.GestureMaxPoints, Journey: []fan.JourneyStep{},
	}
	for _, t := range f.Tiers {
		o.Tiers = append(o.Tiers, fan.Tier{Name: t.Name, Min: t.Min})
	}
	for _, j := range f.Journey {
		o.Journey = append(o.Journey, fan.JourneyStep(j))
	}
	return o
}

// pushSender returns the Firebase client when credentials are configured,
// else a sender that only writes each push to stdout.
func pushSender(ctx context.Context, cfg config.Config, stdout io.Writer, log *slog.Logger) (push.Sender, error) {
	if cfg.FCM.CredentialsFile == "" {
		log.Warn("no Firebase credentials (HYPERLIEU_FCM_CREDENTIALS_FILE or GOOGLE_APPLICATION_CREDENTIALS): pushes are only written to the log, not sent")
		return push.NewLog(stdout), nil
	}
	c, err := push.New(ctx, push.Options{CredentialsFile: cfg.FCM.CredentialsFile, ProjectID: cfg.FCM.ProjectID, Endpoint: cfg.FCM.Endpoint})
	if err != nil {
		return nil, fmt.Errorf("credentials for Firebase %s (HYPERLIEU_FCM_CREDENTIALS_FILE or GOOGLE_APPLICATION_CREDENTIALS): %w", cfg.FCM.CredentialsFile, err)
	}
	log.Info("pushes go through Firebase Cloud Messaging", "credentials", cfg.FCM.CredentialsFile, "endpoint", cmp.Or(cfg.FCM.Endpoint, "default"))
	return c, nil
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if cfg.LogFormat == "text" {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(api.LogHandler(h))
}

// keyRing loads the JWT keys: inline, from a file, or generated once under
// the data folder for development.
func keyRing(cfg config.Config, log *slog.Logger) (*token.Ring, error) {
	switch {
	case cfg.JWTKeys != "":
		return token.ParseRing([]byte(cfg.JWTKeys))
	case cfg.JWTKeysFile != "":
		data, err := os.ReadFile(cfg.JWTKeysFile)
		if err != nil {
			return nil, err
		}
		return token.ParseRing(data)
	}
	if cfg.MongoURI != "" && cfg.DataDir == "" {
		return nil, errors.New("set HYPERLIEU_JWT_KEYS_FILE or HYPERLIEU_JWT_KEYS")
	}
	if cfg.MongoURI != "" {
		log.Warn("JWT keys generated under the data folder: instances sharing this database must share HYPERLIEU_JWT_KEYS_FILE")
	}
	return token.LoadOrCreateRing(filepath.Join(cfg.DataDir, "jwt-keys.pem"))
}
