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
	FCM            FCM
	Outbox         Outbox
	NewcomerPeriod time.Duration
}

// FCM configures Firebase Cloud Messaging. No credentials: pushes are logged.
type FCM struct {
	CredentialsFile string
	ProjectID       string
	Endpoint        string
}

// Outbox configures the push outbox worker.
type Outbox struct {
	Workers      int
	BatchSize    int
	PollInterval time.Duration
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
func Load(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	l := loader{fs: fs, getenv: getenv}
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
	l.str(&corsOrigins, "cors-origins", "HYPERLIEU_CORS_ORIGINS", "", "comma-separated origins allowed to call /v1 from a browser")
	l.str(&logLevel, "log-level", "HYPERLIEU_LOG_LEVEL", "info", "debug, info, warn or error")
	l.str(&c.LogFormat, "log-format", "HYPERLIEU_LOG_FORMAT", "json", "json or text")
	l.integer(&c.BodyLimit, "body-limit", "HYPERLIEU_BODY_LIMIT", 1<<20, "largest request body in bytes")
	l.duration(&c.RequestTimeout, "request-timeout", "HYPERLIEU_REQUEST_TIMEOUT", 15*time.Second, "deadline of one request")
	l.str(&trusted, "trusted-proxies", "HYPERLIEU_TRUSTED_PROXIES", "", "comma-separated proxy addresses whose X-Forwarded-For is believed")
	l.str(&c.FCM.CredentialsFile, "fcm-credentials-file", "HYPERLIEU_FCM_CREDENTIALS_FILE", getenv("GOOGLE_APPLICATION_CREDENTIALS"), "service-account JSON for Firebase Cloud Messaging")
	l.str(&c.FCM.ProjectID, "fcm-project-id", "HYPERLIEU_FCM_PROJECT_ID", "", "Firebase project id (default: from the credentials)")
	l.str(&c.FCM.Endpoint, "fcm-endpoint", "HYPERLIEU_FCM_ENDPOINT", "", "FCM base URL override (tests, gateways)")
	l.integer(&c.Outbox.Workers, "outbox-workers", "HYPERLIEU_OUTBOX_WORKERS", 1, "outbox sender loops in this process (0 disables sending)")
	l.integer(&c.Outbox.BatchSize, "outbox-batch", "HYPERLIEU_OUTBOX_BATCH", 100, "notifications claimed per round")
	l.duration(&c.Outbox.PollInterval, "outbox-poll", "HYPERLIEU_OUTBOX_POLL", time.Second, "how often the outbox looks for due notifications")
	l.duration(&c.Outbox.Lease, "outbox-lease", "HYPERLIEU_OUTBOX_LEASE", 30*time.Second, "how long a claimed notification is reserved")
	l.integer(&c.Outbox.MaxAttempts, "outbox-max-attempts", "HYPERLIEU_OUTBOX_MAX_ATTEMPTS", 5, "send attempts before a notification fails")
	l.integer(&c.Outbox.MaxDevices, "max-devices", "HYPERLIEU_MAX_DEVICES", 5, "devices per account; the oldest is dropped")
	l.duration(&c.Outbox.RetryBase, "outbox-retry-base", "HYPERLIEU_OUTBOX_RETRY_BASE", 5*time.Second, "first delay before a push is retried, doubled each attempt, with jitter")
	l.duration(&c.Outbox.DeviceGrace, "outbox-device-grace", "HYPERLIEU_OUTBOX_DEVICE_GRACE", time.Hour, "how long a notification waits for the customer's first device")
	l.duration(&c.Outbox.Validity, "notification-validity", "HYPERLIEU_NOTIFICATION_VALIDITY", 72*time.Hour, "how long a notification may wait to be pushed when its producer sets no expiry")
	l.duration(&c.NewcomerPeriod, "newcomer-period", "HYPERLIEU_NEWCOMER_PERIOD", 7*24*time.Hour, "how long an account counts as a newcomer")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
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
	c.validate(&l)
	return c, errors.Join(l.errs...)
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
	for _, o := range c.CORSOrigins {
		if u, err := url.Parse(o); o != "*" && (err != nil || u.Scheme == "" || u.Host == "") {
			l.fail("HYPERLIEU_CORS_ORIGINS: %q is not an origin like https://app.example.com", o)
		}
	}
	if c.FCM.Endpoint != "" {
		if u, err := url.Parse(c.FCM.Endpoint); err != nil || u.Host == "" {
			l.fail("HYPERLIEU_FCM_ENDPOINT: %q is not a URL", c.FCM.Endpoint)
		}
	}
	if c.Outbox.Workers < 0 || c.Outbox.BatchSize < 1 || c.Outbox.BatchSize > 500 {
		l.fail("HYPERLIEU_OUTBOX_WORKERS / HYPERLIEU_OUTBOX_BATCH: workers must be ≥ 0 and batch between 1 and 500")
	}
	if c.Outbox.PollInterval <= 0 || c.Outbox.Lease < time.Second {
		l.fail("HYPERLIEU_OUTBOX_POLL / HYPERLIEU_OUTBOX_LEASE: must be positive, lease at least 1s")
	}
	if c.Outbox.MaxAttempts < 1 {
		l.fail("HYPERLIEU_OUTBOX_MAX_ATTEMPTS: must be at least 1")
	}
	if c.Outbox.MaxDevices < 1 {
		l.fail("HYPERLIEU_MAX_DEVICES: must be at least 1")
	}
	if c.Outbox.RetryBase <= 0 || c.Outbox.DeviceGrace <= 0 || c.Outbox.Validity <= 0 {
		l.fail("HYPERLIEU_OUTBOX_RETRY_BASE / HYPERLIEU_OUTBOX_DEVICE_GRACE / HYPERLIEU_NOTIFICATION_VALIDITY: must be positive")
	}
	if c.NewcomerPeriod < 0 {
		l.fail("HYPERLIEU_NEWCOMER_PERIOD: must not be negative")
	}
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
		slog.Duration("accessTTL", c.AccessTTL),
		slog.Any("corsOrigins", c.CORSOrigins),
		slog.String("logLevel", c.LogLevel.String()),
		slog.Int("bodyLimit", c.BodyLimit),
		slog.Duration("requestTimeout", c.RequestTimeout),
		slog.String("fcmCredentialsFile", c.FCM.CredentialsFile),
		slog.String("fcmProjectID", c.FCM.ProjectID),
		slog.String("fcmEndpoint", c.FCM.Endpoint),
		slog.Int("outboxWorkers", c.Outbox.Workers),
		slog.Duration("newcomerPeriod", c.NewcomerPeriod),
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

func (l *loader) boolean(p *bool, flagName, envName, usage string) {
	l.fs.BoolFunc(flagName, usage+" (env "+envName+")", func(s string) error {
		b, err := strconv.ParseBool(s)
		*p = b
		return err
	})
	l.pending = append(l.pending, func() {
		if *p {
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
