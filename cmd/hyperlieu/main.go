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

	"github.com/hyperlieu/hyperlieu/api"
	"github.com/hyperlieu/hyperlieu/config"
	"github.com/hyperlieu/hyperlieu/fan"
	"github.com/hyperlieu/hyperlieu/metrics"
	"github.com/hyperlieu/hyperlieu/push"
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

	meters := metrics.New() // the domain's series on /metrics; each area hears of it as its Observer
	db, closeDB, err := openDB(ctx, cfg, meters, log)
	if err != nil {
		return err
	}
	defer closeDB()
	// Every background loop is stopped and waited for before the database
	// closes (deferred after closeDB, so run before it).
	bg := newBackground(ctx)
	defer bg.Stop()

	ring, err := keyRing(cfg, log)
	if err != nil {
		return fmt.Errorf("JWT keys: %w", err)
	}
	issuer := token.NewIssuer(ring, cfg.JWTIssuer, cfg.JWTAudience, cfg.AccessTTL, nil)
	log.Info("JWT key ring loaded", "signing_kid", ring.SignerID())
	sender, err := pushSender(ctx, cfg, stdout, log)
	if err != nil {
		return err
	}
	svc, err := wire(ctx, cfg, db, issuer, sender, meters, bg, stdout, log)
	if err != nil {
		return err
	}
	srv := api.New(svc, api.Options{
		Verifier: issuer, Sessions: svc.Accounts, BodyLimit: cfg.BodyLimit, RequestTimeout: cfg.RequestTimeout,
		CORSOrigins: cfg.CORSOrigins, TrustedProxies: cfg.TrustedProxies, Ready: db.Ping, Version: version,
		ConsoleTiles: cfg.ConsoleTiles,
	}, log)
	meters.WatchOutbox(func(ctx context.Context) (int, time.Time, error) { return db.OutboxBacklog(ctx, time.Now()) })
	if err := srv.Register(meters.Collectors()...); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return listen(ctx, cfg.Addr, srv, log)
}

// openDB opens the configured MongoDB, or starts the embedded FerretDB
// under the data folder when none is configured. close closes both.
func openDB(ctx context.Context, cfg config.Config, obs store.Observer, log *slog.Logger) (db *store.DB, close func(), err error) {
	mongoURI := cfg.MongoURI
	opts := store.Options{AppName: "hyperlieu", Observer: obs}
	var embedded *store.Embedded
	if mongoURI == "" {
		dir := filepath.Join(cfg.DataDir, "db")
		if embedded, err = store.StartEmbedded(ctx, dir, cfg.EmbeddedDBAddr, log); err != nil {
			return nil, nil, err
		}
		mongoURI, opts = embedded.URI(), opts.ForEmbedded()
		log.Info("embedded FerretDB started: for development, demos and tests; set MONGO_URI for production",
			"dir", dir, "uri", embedded.URI())
	}
	db, err = store.Open(ctx, mongoURI, cfg.MongoDatabase, opts)
	if err != nil {
		if embedded != nil {
			embedded.Close()
		}
		return nil, nil, err
	}
	if embedded != nil {
		if err := embedded.IndexIDs(ctx); err != nil {
			log.Warn("indexing _id in the embedded database", "err", err)
		}
	}
	return db, func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = db.Close(cctx)
		if embedded != nil {
			embedded.Close()
		}
	}, nil
}

// listen serves srv on addr until ctx is done, then lets in-flight
// requests finish.
func listen(ctx context.Context, addr string, srv *api.Server, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("HYPERLIEU_ADDR: %w", err)
	}
	log.Info("listening", "addr", ln.Addr().String())
	served := make(chan error, 1)
	go func() {
		served <- srv.Serve(ln)
	}()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
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
		DevotedMin: f.DevotedMin, DormantAfter: f.DormantAfter, ReferralCapPerMonth: f.ReferralCap, ReferralsPerAddrWeek: f.ReferralsPerAddrWeek,
		ReferralBaseURL: f.ReferralBaseURL, MaxGesturePoints: f.GestureMaxPoints,
		GesturePointsPerDay: f.GesturePointsPerDay, GestureOffersPerDay: f.GestureOffersPerDay, Journey: []fan.JourneyStep{},
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
