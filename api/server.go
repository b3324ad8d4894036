// Package api serves Hyperlieu over HTTP with Fiber: the route table, the
// handlers, authentication and the one place errors become responses.
package api

import (
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"slices"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/cors"
	recoverer "github.com/gofiber/fiber/v3/middleware/recover"
	"github.com/gofiber/fiber/v3/middleware/requestid"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/account"
	"github.com/hyperlieu/hyperlieu/audit"
	"github.com/hyperlieu/hyperlieu/campaign"
	"github.com/hyperlieu/hyperlieu/fan"
	"github.com/hyperlieu/hyperlieu/notify"
	"github.com/hyperlieu/hyperlieu/shop"
	"github.com/hyperlieu/hyperlieu/token"
	"github.com/hyperlieu/hyperlieu/webhook"
)

// Verifier checks access tokens.
type Verifier interface {
	Verify(s string) (token.Claims, error)
}

// Services are the use cases the API exposes.
type Services struct {
	Accounts *account.Service
	// Shops and events (shops.go, events.go, feeds.go).
	Shops  *shop.Service
	Events *shop.EventService
	// Invitations to events and their public page (invitations.go).
	Invitations *shop.InvitationService
	// fans
	Fans    *fan.Service
	Reviews *fan.Reviews // public reviews (reviews.go)
	Visits  *fan.Visits  // visit asks and figures (visits.go)
	Privacy *hyperlieu.PrivacyService
	// PersonalFeeds are customers' secret feed URLs (personalfeeds.go).
	PersonalFeeds *fan.PersonalFeeds
	// Campaigns, location and offers: geofenced campaigns (issue #5).
	Campaigns *campaign.Service
	Location  *campaign.LocationService
	Offers    *campaign.OfferService
	// Notifications: devices, the inbox and the admins' outbox view.
	Notifications *notify.Service
	// Webhooks: domain events and their stream (webhooks.go).
	Webhooks *webhook.Service
	// Audit: the audit trail of staff acts (audit.go).
	Audit *audit.Service
}

// Sessions tells whether the session behind an access token is still live.
type Sessions interface {
	// SessionRoles reports whether the session is live and the roles its
	// account holds now (a token's roles may be older).
	SessionRoles(ctx context.Context, sessionID string) (roles []hyperlieu.Role, live bool, err error)
}

// Options tunes the HTTP server.
type Options struct {
	Verifier Verifier
	// Sessions, if set, makes tokens of revoked sessions and erased accounts
	// fail before they expire.
	Sessions       Sessions
	BodyLimit      int
	RequestTimeout time.Duration
	CORSOrigins    []string
	TrustedProxies []string
	// Ready reports whether the database answers (GET /readyz).
	Ready func(ctx context.Context) error
	// Version is reported by OpenAPI and the metrics.
	Version string
	// ConsoleTiles is the console's base map tile URL template; empty: no base map.
	ConsoleTiles string
}

// Server is the HTTP API.
type Server struct {
	svc     Services
	opts    Options
	log     *slog.Logger
	app     *fiber.App
	metrics *metrics
	routes  []route
	known   map[string]bool // "METHOD /path" of every route in the table
	// The OpenAPI document, and the schemas in it that validate requests.
	docSchemas *schemas
	docJSON    []byte
	check      *checker
	declared   map[string][]int // "METHOD /path" → the statuses the document declares
}

// New builds the Fiber app with every route registered.
func New(svc Services, opts Options, log *slog.Logger) *Server {
	if opts.BodyLimit == 0 {
		opts.BodyLimit = 1 << 20
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = 15 * time.Second
	}
	s := &Server{svc: svc, opts: opts, log: log, metrics: newMetrics(cmp.Or(opts.Version, "dev"))}
	cfg := fiber.Config{
		AppName:      "hyperlieu",
		ErrorHandler: s.handleError,
		BodyLimit:    opts.BodyLimit,
		ReadTimeout:  10 * time.Second, // also bounds how long shutdown waits for connections that send nothing
		WriteTimeout: 30 * time.Second,
		IdleTimeout:  120 * time.Second,
	}
	if len(opts.TrustedProxies) > 0 {
		cfg.TrustProxy = true
		cfg.ProxyHeader = fiber.HeaderXForwardedFor
		cfg.TrustProxyConfig = fiber.TrustProxyConfig{Proxies: opts.TrustedProxies}
	}
	s.app = fiber.New(cfg)
	s.app.Server().ErrorHandler = wireErrors(s.app.Server().ErrorHandler)
	s.app.Use(requestid.New())
	s.app.Use(s.deadline) // first, so that every later log line has the request id
	s.app.Use(s.observe)
	s.app.Use(recoverer.New(recoverer.Config{EnableStackTrace: true, StackTraceHandler: s.logPanic}))
	// Fiber's CORS reads no origins as "*": with none configured, /v1 sends
	// no CORS headers at all, so browsers keep it to same-origin pages.
	if len(opts.CORSOrigins) > 0 {
		s.app.Use("/v1", cors.New(cors.Config{
			AllowOrigins:  opts.CORSOrigins,
			AllowHeaders:  []string{"Authorization", "Content-Type", "If-None-Match", "Idempotency-Key"},
			ExposeHeaders: []string{"X-Request-ID", "Retry-After", "ETag"},
			MaxAge:        600,
		}))
	}
	s.routes = s.table()
	s.docSchemas = newSchemas()
	doc, err := json.Marshal(s.buildOpenAPI())
	if err != nil {
		panic(err) // maps of plain values always marshal
	}
	s.docJSON = doc
	s.check = &checker{comps: s.docSchemas.comps}
	s.known = map[string]bool{}
	s.declared = map[string][]int{}
	for _, r := range s.routes {
		k := r.method + " " + r.path
		s.known[k] = true
		s.declared[k] = r.declared(s.docSchemas.queryParams(r.query))
		s.app.Add([]string{r.method}, r.path, s.guard(r), s.validate(r), r.handler)
	}
	return s
}

// undeclaredStatus is logged when a route answers a status /openapi.json
// does not declare for it.
const undeclaredStatus = "status not declared in the OpenAPI document"

// App returns the Fiber application, for serving and for app.Test.
func (s *Server) App() *fiber.App { return s.app }

// Serve answers requests on ln until Shutdown; it returns nil after a
// Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	return s.app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true})
}

// Shutdown stops accepting connections and waits, until ctx is done, for
// in-flight requests to finish.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.app.ShutdownWithContext(ctx)
}

// deadline gives every request a context with the configured timeout.
func (s *Server) deadline(c fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(withRequestID(c.Context(), requestid.FromContext(c)), s.opts.RequestTimeout)
	defer cancel()
	c.SetContext(ctx)
	return c.Next()
}

func (s *Server) logPanic(c fiber.Ctx, e any) {
	s.log.ErrorContext(c.Context(), "panic", "route", s.routeOf(c), "panic", e)
}

// routeOf is the route pattern that matched c, such as
// /v1/me/devices/:token, or "unmatched". Logs and metrics name requests by
// it, never by their path: paths carry device tokens and other secrets,
// and would make the metrics' cardinality unbounded.
func (s *Server) routeOf(c fiber.Ctx) string {
	if r := c.Route(); r != nil && s.known[r.Method+" "+r.Path] {
		return r.Path
	}
	return "unmatched"
}

// observe logs each request and records its metrics. It runs the error
// handler itself so that the status it logs is the one sent. For a request
// fasthttp could not read, no route runs: it only logs the error.
func (s *Server) observe(c fiber.Ctx) error {
	start := time.Now()
	var err error
	if we := wireErrorOf(c); we != nil {
		err = we
	} else {
		err = c.Next()
	}
	if err != nil {
		if herr := s.handleError(c, err); herr != nil {
			return herr
		}
	}
	status := c.Response().StatusCode()
	routePath := s.routeOf(c)
	elapsed := time.Since(start)
	if routePath != "unmatched" && !slices.Contains(s.declared[c.Method()+" "+routePath], status) {
		// The end-to-end tests fail on this line: the document must list
		// every status a route answers.
		s.log.WarnContext(c.Context(), undeclaredStatus, "method", c.Method(), "route", routePath, "status", status)
	}
	s.metrics.observe(c.Method(), routePath, status, elapsed)
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	s.log.Log(c.Context(), level, "request",
		"method", c.Method(), "route", routePath, "status", status,
		"duration_ms", float64(elapsed.Microseconds())/1000)
	return nil
}
