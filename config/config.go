// Package config turns the environment and command-line flags into a typed,
// defaulted and validated Config.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is everything the server is told from outside.
type Config struct {
	Addr           string
	DataDir        string
	Demo           bool
	MongoURI       string // empty: embedded FerretDB under DataDir
	MongoDatabase  string
	EmbeddedDBAddr string
	AdminEmail     string
	AdminPassword  string
	JWTKeysFile    string // PEM key ring; empty: generated once under DataDir
	JWTKeys        string // PEM key ring given inline (takes precedence)
	JWTIssuer      string
	JWTAudience    string
	AccessTTL      time.Duration
	RefreshTTL     time.Duration
	CORSOrigins    []string
	LogLevel       slog.Level
	LogFormat      string // json or text
	BodyLimit      int
	RequestTimeout time.Duration
	TrustedProxies []string
	PprofAddr      string // loopback listener for net/http/pprof; empty: none
	FCM            FCM
	Outbox         Outbox
	Throttle       Throttle
	NewcomerPeriod time.Duration
	// EventsStreamLag holds back the newest domain events from the stream
	// (GET /v1/admin/events) so that readers skip none another instance is
	// still writing; negative: none.
	EventsStreamLag time.Duration
	Webhooks        Webhooks
	Campaigns       Campaigns
	Events          Events
	Fans            Fans
	ConsoleTiles    string // base map tile URL template of the console; empty: none
}

// Throttle limits sign-ups and token refreshes per instance (sign-in has
// its own fixed limits).
type Throttle struct {
	SignupsPerAddr         int
	SignupWindow           time.Duration
	RefreshesPerSession    int
	RefreshFailuresPerAddr int
	RefreshWindow          time.Duration
}

// Events configures the shops and events area.
type Events struct {
	// PlacesSync is how often the in-memory map of shops and events reads
	// other instances' writes: their staleness here is at most this.
	PlacesSync time.Duration
	// ReminderEvery is how often events starting within the hour are looked for.
	ReminderEvery time.Duration
}

// Fans configures loyalty, segments, referrals and the welcome journey.
type Fans struct {
	PointsCheckIn, PointsRedemption, PointsFeedback int
	PointsReferrer, PointsReferee                   int
	Tiers                                           []Tier
	TierWindow                                      time.Duration
	DevotedWindow                                   time.Duration
	DevotedMin                                      int
	DormantAfter                                    time.Duration
	ReferralCap                                     int
	ReferralsPerAddrWeek                            int
	ReferralBaseURL                                 string
	GestureMaxPoints                                int
	GesturePointsPerDay, GestureOffersPerDay        int
	SegmentInterval                                 time.Duration
	Journey                                         []JourneyStep
	// Public reviews: a visit this recent allows one; per-shop and daily limits.
	ReviewVisitWindow, ReviewPerShop time.Duration
	ReviewPerDay                     int
	// Visits: a stay of VisitMinDwell within VisitRadiusM of a shop, then an
	// exit, is a visit; one "how was your visit?" per shop per VisitAskEvery,
	// VisitAskDelay after a check-in or redemption.
	VisitAskEvery, VisitAskDelay, VisitMinDwell time.Duration
	VisitRadiusM                                int
}

// Tier is a loyalty level reached with Min points over the tier window.
type Tier struct {
	Name string
	Min  int
}

// JourneyStep is a welcome-journey message of Category sent After sign-up.
type JourneyStep struct {
	Name     string
	After    time.Duration
	Category string
}

// Campaigns configures geofenced campaigns and the location engine.
type Campaigns struct {
	MaxAreaKm2        int           // largest geofence area
	MaxCells          int           // most H3 cells (resolution 9) covering one geofence
	Poll              time.Duration // how often each instance looks for campaign changes
	MaxAccuracyM      int           // less precise reports trigger nothing
	LocationRetention time.Duration // a customer's last position is erased after this long unseen
	StateRefresh      time.Duration // a report that only moves the customer is written once the stored one is this old; 0: every report
}

// FCM configures Firebase Cloud Messaging. No credentials: pushes are logged.
type FCM struct {
	CredentialsFile string
	ProjectID       string
	Endpoint        string
}

// Webhooks configures the webhook delivery worker.
type Webhooks struct {
	Workers        int           // deliveries in flight in this process; 0: this instance sends none
	Poll           time.Duration // how often the queue is read, and endpoints refreshed
	Lease          time.Duration
	Timeout        time.Duration // one request to a receiver
	MaxAttempts    int           // attempts before a dead letter
	RetryBase      time.Duration // first retry delay, doubled per attempt, with jitter
	RetryMax       time.Duration // the longest retry delay
	AutoPauseAfter time.Duration // failing this long pauses an endpoint
}

// Outbox configures the push outbox worker.
type Outbox struct {
	Workers      int
	BatchSize    int
	PollInterval time.Duration
	ScanEvery    time.Duration
	Lease        time.Duration
	MaxAttempts  int
	MaxDevices   int
	RetryBase    time.Duration // first retry delay, doubled per attempt
	DeviceGrace  time.Duration // how long a message waits for the customer's first device
	Validity     time.Duration // how long a message may wait when its producer sets no expiry
}

// Load reads flags from args and, for every flag not given, the environment
// variable named beside it. NAME_FILE may hold a secret instead of NAME.
// It reports every problem at once, each naming its variable.
// With --help it prints every flag and returns an error wrapping flag.ErrHelp.
func Load(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	c, _, err := load(args, getenv, stderr)
	return c, err
}

// UnknownEnv returns, sorted, the names of the HYPERLIEU_* variables of
// environ ("NAME=value" entries, as os.Environ gives) that no setting reads:
// most likely typos, which would otherwise be silently ignored.
func UnknownEnv(environ []string) []string {
	_, l, _ := load(nil, func(string) string { return "" }, io.Discard)
	known := map[string]bool{}
	for _, n := range l.names {
		known[n], known[n+"_FILE"] = true, true
	}
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "HYPERLIEU_") && !known[name] && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func load(args []string, getenv func(string) string, stderr io.Writer) (Config, *loader, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: hyperlieu serve [flags]\n\n"+
			"Every flag can be given instead as the environment variable named beside it\n"+
			"(NAME_FILE=path reads a secret from a file); a flag given wins.\n\n")
		fs.PrintDefaults()
	}
	l := &loader{fs: fs, getenv: getenv}
	var c Config
	var corsOrigins, trusted, logLevel string
	l.str(&c.Addr, "addr", "HYPERLIEU_ADDR", "127.0.0.1:8080", "listen address")
	l.str(&c.DataDir, "data-dir", "HYPERLIEU_DATA_DIR", "./data", "folder for the embedded database and generated development keys")
	l.boolean(&c.Demo, "demo", "HYPERLIEU_DEMO", "load the demo data set")
	l.str(&c.MongoURI, "mongo-uri", "MONGO_URI", "", "MongoDB connection string; empty runs the embedded FerretDB")
	l.str(&c.MongoDatabase, "mongo-database", "MONGO_DATABASE", "hyperlieu", "database name")
	l.str(&c.EmbeddedDBAddr, "embedded-db-addr", "HYPERLIEU_EMBEDDED_DB_ADDR", "127.0.0.1:0", "loopback address of the embedded FerretDB")
	l.str(&c.AdminEmail, "admin-email", "HYPERLIEU_ADMIN_EMAIL", "", "email of the admin created or updated at start")
	l.str(&c.AdminPassword, "admin-password", "HYPERLIEU_ADMIN_PASSWORD", "", "password of that admin")
	l.str(&c.JWTKeysFile, "jwt-keys-file", "HYPERLIEU_JWT_KEYS_FILE", "", "PEM file of Ed25519 keys; the last private key signs")
	l.str(&c.JWTKeys, "jwt-keys", "HYPERLIEU_JWT_KEYS", "", "PEM Ed25519 keys, inline")
	l.str(&c.JWTIssuer, "jwt-issuer", "HYPERLIEU_JWT_ISSUER", "hyperlieu", "iss of access tokens")
	l.str(&c.JWTAudience, "jwt-audience", "HYPERLIEU_JWT_AUDIENCE", "hyperlieu-app", "aud of access tokens")
	l.duration(&c.AccessTTL, "access-ttl", "HYPERLIEU_ACCESS_TTL", 15*time.Minute, "lifetime of access tokens")
	l.duration(&c.RefreshTTL, "refresh-ttl", "HYPERLIEU_REFRESH_TTL", 30*24*time.Hour, "lifetime of refresh tokens")
	l.integer(&c.Throttle.SignupsPerAddr, "signups-per-addr", "HYPERLIEU_SIGNUPS_PER_ADDR", 20, "sign-up attempts per client address per signup window, then 429")
	l.duration(&c.Throttle.SignupWindow, "signup-window", "HYPERLIEU_SIGNUP_WINDOW", time.Hour, "window of the sign-up limit")
	l.integer(&c.Throttle.RefreshesPerSession, "refreshes-per-session", "HYPERLIEU_REFRESHES_PER_SESSION", 10, "token refreshes per session per refresh window, then 429")
	l.integer(&c.Throttle.RefreshFailuresPerAddr, "refresh-failures-per-addr", "HYPERLIEU_REFRESH_FAILURES_PER_ADDR", 20, "failed token refreshes per client address per refresh window, then 429")
	l.duration(&c.Throttle.RefreshWindow, "refresh-window", "HYPERLIEU_REFRESH_WINDOW", 15*time.Minute, "window of the refresh limits")
	l.str(&corsOrigins, "cors-origins", "HYPERLIEU_CORS_ORIGINS", "", "comma-separated origins allowed to call /v1 from a browser")
	l.str(&logLevel, "log-level", "HYPERLIEU_LOG_LEVEL", "info", "debug, info, warn or error")
	l.str(&c.LogFormat, "log-format", "HYPERLIEU_LOG_FORMAT", "json", "json or text")
	l.integer(&c.BodyLimit, "body-limit", "HYPERLIEU_BODY_LIMIT", 1<<20, "largest request body in bytes")
	l.duration(&c.RequestTimeout, "request-timeout", "HYPERLIEU_REQUEST_TIMEOUT", 15*time.Second, "deadline of one request")
	l.str(&c.ConsoleTiles, "console-tiles", "HYPERLIEU_CONSOLE_TILES", "", "map tile URL template for the console, like https://tile.example.org/{z}/{x}/{y}.png; empty: no base map")
	l.str(&trusted, "trusted-proxies", "HYPERLIEU_TRUSTED_PROXIES", "", "comma-separated proxy addresses whose X-Forwarded-For is believed")
	l.str(&c.PprofAddr, "pprof-addr", "HYPERLIEU_PPROF_ADDR", "", "loopback host:port serving net/http/pprof for operators; empty: off")
	l.str(&c.FCM.CredentialsFile, "fcm-credentials-file", "HYPERLIEU_FCM_CREDENTIALS_FILE", getenv("GOOGLE_APPLICATION_CREDENTIALS"), "service-account JSON for Firebase Cloud Messaging")
	l.str(&c.FCM.ProjectID, "fcm-project-id", "HYPERLIEU_FCM_PROJECT_ID", "", "Firebase project id (default: from the credentials)")
	l.str(&c.FCM.Endpoint, "fcm-endpoint", "HYPERLIEU_FCM_ENDPOINT", "", "FCM base URL override (tests, gateways)")
	l.integer(&c.Outbox.Workers, "outbox-workers", "HYPERLIEU_OUTBOX_WORKERS", 1, "outbox sender loops in this process (0 disables sending)")
	l.integer(&c.Outbox.BatchSize, "outbox-batch", "HYPERLIEU_OUTBOX_BATCH", 100, "notifications claimed per round")
	l.duration(&c.Outbox.PollInterval, "outbox-poll", "HYPERLIEU_OUTBOX_POLL", time.Second, "how often the outbox looks for due notifications")
	l.duration(&c.Outbox.ScanEvery, "outbox-scan", "HYPERLIEU_OUTBOX_SCAN", 10*time.Second, "how often the outbox reads its whole queue when it knows of nothing due there (other instances' leftovers)")
	l.duration(&c.Outbox.Lease, "outbox-lease", "HYPERLIEU_OUTBOX_LEASE", 30*time.Second, "how long a claimed notification is reserved")
	l.integer(&c.Outbox.MaxAttempts, "outbox-max-attempts", "HYPERLIEU_OUTBOX_MAX_ATTEMPTS", 5, "send attempts before a notification fails")
	l.integer(&c.Outbox.MaxDevices, "max-devices", "HYPERLIEU_MAX_DEVICES", 5, "devices per account; the oldest is dropped")
	l.duration(&c.Outbox.RetryBase, "outbox-retry-base", "HYPERLIEU_OUTBOX_RETRY_BASE", 5*time.Second, "first delay before a push is retried, doubled each attempt, with jitter")
	l.duration(&c.Outbox.DeviceGrace, "outbox-device-grace", "HYPERLIEU_OUTBOX_DEVICE_GRACE", time.Hour, "how long a notification waits for the customer's first device")
	l.duration(&c.Outbox.Validity, "notification-validity", "HYPERLIEU_NOTIFICATION_VALIDITY", 72*time.Hour, "how long a notification may wait to be pushed when its producer sets no expiry")
	l.integer(&c.Webhooks.Workers, "webhook-workers", "HYPERLIEU_WEBHOOK_WORKERS", 4, "webhook deliveries in flight in this process (0 disables sending)")
	l.duration(&c.Webhooks.Poll, "webhook-poll", "HYPERLIEU_WEBHOOK_POLL", time.Second, "how often the webhook queue is read and endpoints refreshed")
	l.duration(&c.Webhooks.Lease, "webhook-lease", "HYPERLIEU_WEBHOOK_LEASE", 30*time.Second, "how long a claimed webhook delivery is reserved; more than the timeout")
	l.duration(&c.Webhooks.Timeout, "webhook-timeout", "HYPERLIEU_WEBHOOK_TIMEOUT", 10*time.Second, "how long a receiver has to answer one delivery")
	l.integer(&c.Webhooks.MaxAttempts, "webhook-max-attempts", "HYPERLIEU_WEBHOOK_MAX_ATTEMPTS", 8, "attempts before a webhook delivery is dead-lettered")
	l.duration(&c.Webhooks.RetryBase, "webhook-retry-base", "HYPERLIEU_WEBHOOK_RETRY_BASE", 10*time.Second, "first delay before a webhook delivery is retried, doubled each attempt, with jitter")
	l.duration(&c.Webhooks.RetryMax, "webhook-retry-max", "HYPERLIEU_WEBHOOK_RETRY_MAX", time.Hour, "the longest delay between two attempts of a webhook delivery")
	l.duration(&c.Webhooks.AutoPauseAfter, "webhook-pause-after", "HYPERLIEU_WEBHOOK_PAUSE_AFTER", 24*time.Hour, "how long an endpoint may fail every attempt before it is paused")
	l.duration(&c.EventsStreamLag, "events-stream-lag", "HYPERLIEU_EVENTS_STREAM_LAG", 2*time.Second, "how long the newest domain events are held back from the event stream (negative: not at all)")
	l.duration(&c.NewcomerPeriod, "newcomer-period", "HYPERLIEU_NEWCOMER_PERIOD", 7*24*time.Hour, "how long an account counts as a newcomer")
	l.integer(&c.Campaigns.MaxAreaKm2, "fence-max-area-km2", "HYPERLIEU_FENCE_MAX_AREA_KM2", 200, "largest geofence area in km²")
	l.integer(&c.Campaigns.MaxCells, "fence-max-cells", "HYPERLIEU_FENCE_MAX_CELLS", 50000, "most H3 cells covering one geofence")
	l.duration(&c.Campaigns.Poll, "campaigns-poll", "HYPERLIEU_CAMPAIGNS_POLL", time.Second, "how often each instance checks for campaign changes")
	l.integer(&c.Campaigns.MaxAccuracyM, "location-max-accuracy", "HYPERLIEU_LOCATION_MAX_ACCURACY_M", 150, "location reports less precise than this many metres trigger nothing")
	l.duration(&c.Campaigns.LocationRetention, "location-retention", "HYPERLIEU_LOCATION_RETENTION", 30*24*time.Hour, "a customer's last position is erased after this long without a report")
	l.duration(&c.Campaigns.StateRefresh, "location-state-refresh", "HYPERLIEU_LOCATION_STATE_REFRESH", 30*time.Second, "a report that only moves the customer is written once the stored position is this old (0: every report)")
	// Shops and events.
	l.duration(&c.Events.PlacesSync, "places-sync", "HYPERLIEU_PLACES_SYNC", 2*time.Second, "how often nearby search picks up other instances' shop and event changes")
	l.duration(&c.Events.ReminderEvery, "reminder-every", "HYPERLIEU_REMINDER_EVERY", 30*time.Second, "how often one-hour event reminders are looked for")
	// fans
	var tiers, journey string
	l.integer(&c.Fans.PointsCheckIn, "points-checkin", "HYPERLIEU_POINTS_CHECKIN", 50, "points for an event check-in")
	l.integer(&c.Fans.PointsRedemption, "points-redemption", "HYPERLIEU_POINTS_REDEMPTION", 20, "points for redeeming an offer")
	l.integer(&c.Fans.PointsFeedback, "points-feedback", "HYPERLIEU_POINTS_FEEDBACK", 10, "points for feedback (once per shop and day)")
	l.integer(&c.Fans.PointsReferrer, "points-referrer", "HYPERLIEU_POINTS_REFERRER", 100, "points to a referrer when their friend first checks in or redeems")
	l.integer(&c.Fans.PointsReferee, "points-referee", "HYPERLIEU_POINTS_REFEREE", 50, "points to the referred friend at the same moment")
	l.str(&tiers, "tiers", "HYPERLIEU_TIERS", "member:0,silver:200,gold:600,platinum:1500", "loyalty tiers as name:minPoints, increasing")
	l.duration(&c.Fans.TierWindow, "tier-window", "HYPERLIEU_TIER_WINDOW", 365*24*time.Hour, "rolling window of points counted for tiers")
	l.duration(&c.Fans.DevotedWindow, "devoted-window", "HYPERLIEU_DEVOTED_WINDOW", 60*24*time.Hour, "window in which activity makes a customer devoted")
	l.integer(&c.Fans.DevotedMin, "devoted-min", "HYPERLIEU_DEVOTED_MIN", 3, "activities in the devoted window to be devoted")
	l.duration(&c.Fans.DormantAfter, "dormant-after", "HYPERLIEU_DORMANT_AFTER", 180*24*time.Hour, "no activity for this long makes a customer dormant")
	l.integer(&c.Fans.ReferralCap, "referral-cap", "HYPERLIEU_REFERRAL_CAP", 5, "rewarded referrals per referrer per month")
	l.integer(&c.Fans.ReferralsPerAddrWeek, "referrals-per-addr-week", "HYPERLIEU_REFERRALS_PER_ADDR_WEEK", 10, "referral sign-ups accepted per client address per ISO week")
	l.str(&c.Fans.ReferralBaseURL, "referral-base-url", "HYPERLIEU_REFERRAL_BASE_URL", "https://hyperlieu.app/r/", "referral links are this followed by the code")
	l.integer(&c.Fans.GestureMaxPoints, "gesture-max-points", "HYPERLIEU_GESTURE_MAX_POINTS", 1000, "most points a manager's gesture may give")
	l.integer(&c.Fans.GesturePointsPerDay, "gesture-points-per-day", "HYPERLIEU_GESTURE_POINTS_PER_DAY", 3000, "points each manager may give in gestures per day (UTC)")
	l.integer(&c.Fans.GestureOffersPerDay, "gesture-offers-per-day", "HYPERLIEU_GESTURE_OFFERS_PER_DAY", 20, "offers each manager may give in gestures per day (UTC)")
	l.duration(&c.Fans.SegmentInterval, "segment-interval", "HYPERLIEU_SEGMENT_INTERVAL", time.Hour, "how often every segment is recomputed and due journey steps sent")
	l.duration(&c.Fans.ReviewVisitWindow, "review-visit-window", "HYPERLIEU_REVIEW_VISIT_WINDOW", 90*24*time.Hour, "a check-in or redemption at a shop this recent allows a public review of it")
	l.duration(&c.Fans.ReviewPerShop, "review-per-shop", "HYPERLIEU_REVIEW_PER_SHOP", 30*24*time.Hour, "one public review per customer and shop per this")
	l.integer(&c.Fans.ReviewPerDay, "review-per-day", "HYPERLIEU_REVIEW_PER_DAY", 5, "public reviews per customer per 24 hours")
	l.duration(&c.Fans.VisitAskEvery, "visit-ask-every", "HYPERLIEU_VISIT_ASK_EVERY", 30*24*time.Hour, `one "how was your visit?" per customer and shop per this`)
	l.duration(&c.Fans.VisitAskDelay, "visit-ask-delay", "HYPERLIEU_VISIT_ASK_DELAY", time.Hour, "how long after a check-in or redemption the visit ask goes out")
	l.duration(&c.Fans.VisitMinDwell, "visit-min-dwell", "HYPERLIEU_VISIT_MIN_DWELL", 5*time.Minute, "a stay this long near a shop, then an exit, is a visit")
	l.integer(&c.Fans.VisitRadiusM, "visit-radius-m", "HYPERLIEU_VISIT_RADIUS_M", 50, "metres around a shop that count as being at it (leaving is 1.5 times that)")
	l.str(&journey, "journey", "HYPERLIEU_JOURNEY", "events_near_you=72h/events,first_offer=168h/offers", "welcome journey steps as name=after/category, in order")
	if err := fs.Parse(args); err != nil {
		return Config{}, l, err
	}
	if fs.NArg() > 0 {
		l.fail("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	l.resolve()
	c.CORSOrigins = splitList(corsOrigins)
	c.TrustedProxies = splitList(trusted)
	if err := c.LogLevel.UnmarshalText([]byte(logLevel)); err != nil {
		l.fail("HYPERLIEU_LOG_LEVEL: %q is not debug, info, warn or error", logLevel)
	}
	c.Fans.Tiers = parseTiers(l, tiers)
	c.Fans.Journey = parseJourney(l, journey)
	c.validate(l)
	return c, l, errors.Join(l.errs...)
}

func (c *Config) validate(l *loader) {
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		l.fail("HYPERLIEU_ADDR: %q is not host:port", c.Addr)
	}
	if c.MongoURI == "" {
		if c.DataDir == "" {
			l.fail("HYPERLIEU_DATA_DIR: must be set when MONGO_URI is not")
		}
		if host, _, err := net.SplitHostPort(c.EmbeddedDBAddr); err != nil || !isLoopback(host) {
			l.fail("HYPERLIEU_EMBEDDED_DB_ADDR: %q must be a loopback host:port", c.EmbeddedDBAddr)
		}
	} else if u, err := url.Parse(c.MongoURI); err != nil || (u.Scheme != "mongodb" && u.Scheme != "mongodb+srv") {
		l.fail("MONGO_URI: must be a mongodb:// or mongodb+srv:// URL")
	}
	if c.MongoDatabase == "" || strings.ContainsAny(c.MongoDatabase, `/\. "$`) {
		l.fail("MONGO_DATABASE: %q is not a valid database name", c.MongoDatabase)
	}
	if (c.AdminEmail == "") != (c.AdminPassword == "") {
		l.fail("HYPERLIEU_ADMIN_EMAIL and HYPERLIEU_ADMIN_PASSWORD: set both or neither")
	}
	if c.AdminPassword != "" && len([]rune(c.AdminPassword)) < 10 {
		l.fail("HYPERLIEU_ADMIN_PASSWORD: must be at least 10 characters")
	}
	if c.AccessTTL < time.Minute || c.AccessTTL > 24*time.Hour {
		l.fail("HYPERLIEU_ACCESS_TTL: must be between 1m and 24h")
	}
	if c.RefreshTTL < c.AccessTTL {
		l.fail("HYPERLIEU_REFRESH_TTL: must be longer than HYPERLIEU_ACCESS_TTL")
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		l.fail("HYPERLIEU_LOG_FORMAT: %q is not json or text", c.LogFormat)
	}
	if c.BodyLimit < 1024 {
		l.fail("HYPERLIEU_BODY_LIMIT: must be at least 1024 bytes")
	}
	if c.RequestTimeout <= 0 {
		l.fail("HYPERLIEU_REQUEST_TIMEOUT: must be positive")
	}
	if c.PprofAddr != "" {
		if host, port, err := net.SplitHostPort(c.PprofAddr); err != nil || port == "" || !isLoopback(host) {
			l.fail("HYPERLIEU_PPROF_ADDR: %q must be a loopback host:port, like 127.0.0.1:6060: profiles expose the process's memory", c.PprofAddr)
		}
	}
	for _, o := range c.CORSOrigins {
		if u, err := url.Parse(o); o != "*" && (err != nil || u.Scheme == "" || u.Host == "") {
			l.fail("HYPERLIEU_CORS_ORIGINS: %q is not an origin like https://app.example.com", o)
		}
	}
	if u, err := url.Parse(strings.ReplaceAll(c.ConsoleTiles, "{s}", "a")); c.ConsoleTiles != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || !strings.Contains(c.ConsoleTiles, "{z}")) {
		l.fail("HYPERLIEU_CONSOLE_TILES: %q is not a tile URL template like https://tile.example.org/{z}/{x}/{y}.png", c.ConsoleTiles)
	}
	if c.FCM.Endpoint != "" {
		if u, err := url.Parse(c.FCM.Endpoint); err != nil || u.Host == "" {
			l.fail("HYPERLIEU_FCM_ENDPOINT: %q is not a URL", c.FCM.Endpoint)
		}
	}
	if c.Outbox.Workers < 0 || c.Outbox.BatchSize < 1 || c.Outbox.BatchSize > 500 {
		l.fail("HYPERLIEU_OUTBOX_WORKERS / HYPERLIEU_OUTBOX_BATCH: workers must be ≥ 0 and batch between 1 and 500")
	}
	if c.Outbox.PollInterval <= 0 || c.Outbox.ScanEvery <= 0 || c.Outbox.Lease < time.Second {
		l.fail("HYPERLIEU_OUTBOX_POLL / HYPERLIEU_OUTBOX_SCAN / HYPERLIEU_OUTBOX_LEASE: must be positive, lease at least 1s")
	}
	if w := c.Webhooks; w.Workers < 0 || w.Workers > 64 || w.MaxAttempts < 1 || w.Poll <= 0 || w.Timeout <= 0 || w.Lease <= w.Timeout ||
		w.RetryBase <= 0 || w.RetryMax < w.RetryBase || w.AutoPauseAfter <= 0 {
		l.fail("HYPERLIEU_WEBHOOK_*: workers 0..64, max attempts ≥ 1, durations positive, lease longer than the timeout, retry max ≥ retry base")
	}
	if c.Outbox.MaxAttempts < 1 {
		l.fail("HYPERLIEU_OUTBOX_MAX_ATTEMPTS: must be at least 1")
	}
	if c.Outbox.MaxDevices < 1 {
		l.fail("HYPERLIEU_MAX_DEVICES: must be at least 1")
	}
	if c.Campaigns.MaxAreaKm2 < 1 || c.Campaigns.MaxCells < 1 {
		l.fail("HYPERLIEU_FENCE_MAX_AREA_KM2 / HYPERLIEU_FENCE_MAX_CELLS: must be at least 1")
	}
	if c.Campaigns.Poll < 10*time.Millisecond || c.Campaigns.Poll > time.Minute {
		l.fail("HYPERLIEU_CAMPAIGNS_POLL: must be between 10ms and 1m")
	}
	if c.Campaigns.MaxAccuracyM < 1 {
		l.fail("HYPERLIEU_LOCATION_MAX_ACCURACY_M: must be at least 1")
	}
	if c.Campaigns.StateRefresh < 0 || c.Campaigns.StateRefresh > 10*time.Minute {
		l.fail("HYPERLIEU_LOCATION_STATE_REFRESH: must be between 0s and 10m")
	}
	if c.Campaigns.LocationRetention < time.Hour {
		l.fail("HYPERLIEU_LOCATION_RETENTION: must be at least 1h")
	}
	if c.Events.PlacesSync < 100*time.Millisecond || c.Events.ReminderEvery < 100*time.Millisecond {
		l.fail("HYPERLIEU_PLACES_SYNC / HYPERLIEU_REMINDER_EVERY: must be at least 100ms")
	}
	if c.Outbox.RetryBase <= 0 || c.Outbox.DeviceGrace <= 0 || c.Outbox.Validity <= 0 {
		l.fail("HYPERLIEU_OUTBOX_RETRY_BASE / HYPERLIEU_OUTBOX_DEVICE_GRACE / HYPERLIEU_NOTIFICATION_VALIDITY: must be positive")
	}
	if c.NewcomerPeriod < 0 {
		l.fail("HYPERLIEU_NEWCOMER_PERIOD: must not be negative")
	}
	if t := c.Throttle; t.SignupsPerAddr < 1 || t.RefreshesPerSession < 1 || t.RefreshFailuresPerAddr < 1 {
		l.fail("HYPERLIEU_SIGNUPS_PER_ADDR / HYPERLIEU_REFRESHES_PER_SESSION / HYPERLIEU_REFRESH_FAILURES_PER_ADDR: must be at least 1")
	}
	if c.Throttle.SignupWindow < time.Second || c.Throttle.RefreshWindow < time.Second {
		l.fail("HYPERLIEU_SIGNUP_WINDOW / HYPERLIEU_REFRESH_WINDOW: must be at least 1s")
	}
	c.Fans.validate(l)
}

func (f Fans) validate(l *loader) {
	for name, v := range map[string]int{
		"HYPERLIEU_POINTS_CHECKIN": f.PointsCheckIn, "HYPERLIEU_POINTS_REDEMPTION": f.PointsRedemption,
		"HYPERLIEU_POINTS_FEEDBACK": f.PointsFeedback, "HYPERLIEU_POINTS_REFERRER": f.PointsReferrer,
		"HYPERLIEU_POINTS_REFEREE": f.PointsReferee,
	} {
		if v < 0 || v > 100_000 {
			l.fail("%s: must be between 0 and 100000", name)
		}
	}
	if f.TierWindow < 24*time.Hour {
		l.fail("HYPERLIEU_TIER_WINDOW: must be at least 24h")
	}
	if f.DevotedWindow < time.Hour || f.DormantAfter <= f.DevotedWindow {
		l.fail("HYPERLIEU_DEVOTED_WINDOW / HYPERLIEU_DORMANT_AFTER: the devoted window must be at least 1h and shorter than the dormant delay")
	}
	if f.DevotedMin < 1 {
		l.fail("HYPERLIEU_DEVOTED_MIN: must be at least 1")
	}
	if f.ReferralsPerAddrWeek < 1 {
		l.fail("HYPERLIEU_REFERRALS_PER_ADDR_WEEK: must be at least 1")
	}
	if f.ReferralCap < 1 {
		l.fail("HYPERLIEU_REFERRAL_CAP: must be at least 1")
	}
	if u, err := url.Parse(f.ReferralBaseURL); err != nil || u.Host == "" {
		l.fail("HYPERLIEU_REFERRAL_BASE_URL: %q is not a URL", f.ReferralBaseURL)
	}
	if f.GestureMaxPoints < 1 {
		l.fail("HYPERLIEU_GESTURE_MAX_POINTS: must be at least 1")
	}
	if f.GesturePointsPerDay < 1 || f.GestureOffersPerDay < 1 {
		l.fail("HYPERLIEU_GESTURE_POINTS_PER_DAY / HYPERLIEU_GESTURE_OFFERS_PER_DAY: must be at least 1")
	}
	if f.SegmentInterval < time.Second {
		l.fail("HYPERLIEU_SEGMENT_INTERVAL: must be at least 1s")
	}
}

// parseTiers reads "name:min,…": increasing minimums, the first 0.
func parseTiers(l *loader, s string) []Tier {
	var out []Tier
	for i, item := range splitList(s) {
		name, min, ok := strings.Cut(item, ":")
		n, err := strconv.Atoi(min)
		switch {
		case !ok || strings.TrimSpace(name) == "" || err != nil || n < 0:
			l.fail("HYPERLIEU_TIERS: %q is not name:minPoints", item)
			return nil
		case i == 0 && n != 0:
			l.fail("HYPERLIEU_TIERS: the first tier must start at 0 points")
			return nil
		case i > 0 && n <= out[i-1].Min:
			l.fail("HYPERLIEU_TIERS: minimums must increase (%q)", item)
			return nil
		}
		out = append(out, Tier{Name: strings.TrimSpace(name), Min: n})
	}
	if len(out) == 0 {
		l.fail("HYPERLIEU_TIERS: give at least one tier, like member:0")
	}
	return out
}

// parseJourney reads "name=after/category,…" in increasing delays; empty
// means no journey steps.
func parseJourney(l *loader, s string) []JourneyStep {
	out := []JourneyStep{}
	for _, item := range splitList(s) {
		name, rest, ok1 := strings.Cut(item, "=")
		after, cat, ok2 := strings.Cut(rest, "/")
		d, err := time.ParseDuration(after)
		switch {
		case !ok1 || !ok2 || err != nil || d <= 0 || strings.TrimSpace(name) == "":
			l.fail("HYPERLIEU_JOURNEY: %q is not name=delay/category, like first_offer=168h/offers", item)
			return nil
		case cat != "offers" && cat != "events" && cat != "loyalty" && cat != "news":
			l.fail("HYPERLIEU_JOURNEY: %q: category must be offers, events, loyalty or news", item)
			return nil
		case len(out) > 0 && d <= out[len(out)-1].After:
			l.fail("HYPERLIEU_JOURNEY: delays must increase (%q)", item)
			return nil
		}
		out = append(out, JourneyStep{Name: strings.TrimSpace(name), After: d, Category: cat})
	}
	return out
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// LogValue is the configuration as logged: secrets masked.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.String("dataDir", c.DataDir),
		slog.Bool("demo", c.Demo),
		slog.String("mongoURI", RedactURI(c.MongoURI)),
		slog.String("mongoDatabase", c.MongoDatabase),
		slog.String("adminEmail", c.AdminEmail),
		slog.String("adminPassword", mask(c.AdminPassword)),
		slog.String("jwtKeysFile", c.JWTKeysFile),
		slog.String("jwtKeys", mask(c.JWTKeys)),
		slog.String("jwtIssuer", c.JWTIssuer),
		slog.String("jwtAudience", c.JWTAudience),
		slog.String("accessTTL", c.AccessTTL.String()),
		slog.Any("corsOrigins", c.CORSOrigins),
		slog.String("logLevel", c.LogLevel.String()),
		slog.Int("bodyLimit", c.BodyLimit),
		slog.String("consoleTiles", c.ConsoleTiles),
		slog.String("requestTimeout", c.RequestTimeout.String()),
		slog.String("pprofAddr", c.PprofAddr),
		slog.String("fcmCredentialsFile", c.FCM.CredentialsFile),
		slog.String("fcmProjectID", c.FCM.ProjectID),
		slog.String("fcmEndpoint", c.FCM.Endpoint),
		slog.Int("outboxWorkers", c.Outbox.Workers),
		slog.Int("webhookWorkers", c.Webhooks.Workers),
		slog.String("newcomerPeriod", c.NewcomerPeriod.String()),
		slog.Group("campaigns", "maxAreaKm2", c.Campaigns.MaxAreaKm2, "maxCells", c.Campaigns.MaxCells,
			"poll", c.Campaigns.Poll.String(), "maxAccuracyM", c.Campaigns.MaxAccuracyM,
			"locationRetention", c.Campaigns.LocationRetention.String()),
		slog.Any("tiers", c.Fans.Tiers),
		slog.String("segmentInterval", c.Fans.SegmentInterval.String()),
	)
}

func mask(s string) string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// RedactURI hides the password of a connection string.
func RedactURI(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if s == "" {
			return ""
		}
		return "[unparsable, redacted]"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "redacted")
	}
	return u.String()
}

// loader binds flags to environment variables and gathers problems.
type loader struct {
	fs      *flag.FlagSet
	getenv  func(string) string
	errs    []error
	pending []func()
	names   []string // every variable read, for UnknownEnv
}

func (l *loader) fail(format string, args ...any) {
	l.errs = append(l.errs, fmt.Errorf(format, args...))
}

// env returns NAME, or the contents of the file NAME_FILE names.
func (l *loader) env(name string) (string, bool) {
	if v := l.getenv(name); v != "" {
		return v, true
	}
	if f := l.getenv(name + "_FILE"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			l.fail("%s_FILE: %v", name, err)
			return "", false
		}
		return strings.TrimRight(string(b), "\r\n"), true
	}
	return "", false
}

// bind registers a flag and, after parsing, falls back to env for it.
func (l *loader) bind(flagName, envName, usage string, set func(string) error, def string) {
	l.names = append(l.names, envName)
	var given bool
	var val string
	l.fs.Func(flagName, fmt.Sprintf("%s (env %s, default %q)", usage, envName, def), func(s string) error {
		given, val = true, s
		return nil
	})
	l.pending = append(l.pending, func() {
		src := "--" + flagName
		if !given {
			v, ok := l.env(envName)
			if !ok {
				v = def
			}
			val, src = v, envName
		}
		if err := set(val); err != nil {
			l.fail("%s: %v", src, err)
		}
	})
}

func (l *loader) resolve() {
	for _, f := range l.pending {
		f()
	}
}

func (l *loader) str(p *string, flagName, envName, def, usage string) {
	l.bind(flagName, envName, usage, func(s string) error { *p = s; return nil }, def)
}

// boolean binds a flag that may be given alone (--demo) or with a value
// (--demo=false); either way it wins over the environment.
func (l *loader) boolean(p *bool, flagName, envName, usage string) {
	l.names = append(l.names, envName)
	var given bool
	l.fs.BoolFunc(flagName, usage+" (env "+envName+")", func(s string) error {
		b, err := strconv.ParseBool(s)
		*p, given = b, true
		return err
	})
	l.pending = append(l.pending, func() {
		if given {
			return
		}
		if v, ok := l.env(envName); ok {
			b, err := strconv.ParseBool(v)
			if err != nil {
				l.fail("%s: %q is not true or false", envName, v)
			}
			*p = b
		}
	})
}

func (l *loader) integer(p *int, flagName, envName string, def int, usage string) {
	l.bind(flagName, envName, usage, func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		*p = n
		return nil
	}, strconv.Itoa(def))
}

func (l *loader) duration(p *time.Duration, flagName, envName string, def time.Duration, usage string) {
	l.bind(flagName, envName, usage, func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%q is not a duration like 15m or 30s", s)
		}
		*p = d
		return nil
	}, def.String())
}
