package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v3"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/token"
)

// access says who may call a route: nobody checked (public), any signed-in
// user, or users holding one of some roles. Ownership (a manager and their
// shops) is checked by the use case, which knows what is owned.
type access struct {
	public bool
	roles  []hyperlieu.Role // empty: any signed-in user
}

var (
	public   = access{public: true}
	signedIn = access{}
)

func only(roles ...hyperlieu.Role) access { return access{roles: roles} }

// route is one line of the API's table of contents; the same line documents
// the route in /openapi.json.
//
// The shapes are Go values whose types are reflected: in and out are the
// JSON bodies, query a struct whose fields, tagged `query:"name"`, are the
// query parameters (see schema.go for the api tag). Requests are validated
// against them before the handler runs.
type route struct {
	method, path string
	op           string // operationId, read as a method name: listNearby
	tag          string // the area, set by table
	access       access
	summary      string
	query        any      // query parameters; nil: none
	in, out      any      // body shapes; nil: none
	inTypes      []string // media types of in; default application/json
	status       int      // success status; 0 means 200
	headers      []string // response headers of the success answer beyond X-Request-ID: ETag, Location
	errs         []int    // error statuses beyond those implied by access, body, parameters and path
	content      string   // media type of the success answer when not JSON
	contents     []string // media types of the success answer when several: text/* ones are strings, the others out
	handler      fiber.Handler
}

// area sets the tag of routes.
func area(tag string, rs ...[]route) []route {
	var out []route
	for _, g := range rs {
		for _, r := range g {
			r.tag = tag
			out = append(out, r)
		}
	}
	return out
}

// table is the API: every route, who may call it, and its handler.
func (s *Server) table() []route {
	service := []route{
		{method: "GET", path: "/healthz", op: "getHealth", access: public, summary: "The process is up", out: statusResponse{}, handler: s.getHealthz},
		{method: "GET", path: "/readyz", op: "getReadiness", access: public, summary: "The database answers", out: statusResponse{}, errs: []int{503}, handler: s.getReadyz},
		{method: "GET", path: "/metrics", op: "getMetrics", access: public, summary: "Prometheus metrics", content: "text/plain", handler: s.getMetrics()},
		{method: "GET", path: "/openapi.json", op: "getOpenAPI", access: public, summary: "This API's OpenAPI 3.1 document", out: map[string]any{}, handler: s.getOpenAPI},
	}
	var rs []route
	rs = append(rs, area("service", service)...)
	rs = append(rs, area("accounts", s.accountRoutes())...)
	rs = append(rs, area("feeds", s.feedRoutes(), s.personalFeedRoutes())...)
	rs = append(rs, area("events", s.eventRoutes(), s.invitationRoutes())...)
	rs = append(rs, area("shops", s.shopRoutes(), s.backOfficeRoutes())...)
	rs = append(rs, area("fans", s.fanRoutes(), s.reviewRoutes(), s.visitRoutes())...)
	rs = append(rs, area("campaigns", s.campaignRoutes(), s.experimentRoutes())...)
	rs = append(rs, area("location", s.locationRoutes())...)
	rs = append(rs, area("offers", s.offerRoutes())...)
	rs = append(rs, area("notifications", s.notificationRoutes())...)
	rs = append(rs, area("console", s.consoleRoutes())...)
	rs = append(rs, area("webhooks", s.webhookRoutes())...)
	rs = append(rs, area("audit", s.auditRoutes())...)
	return rs
}

// accountRoutes are sign-up, sign-in, tokens, the caller's profile and roles.
func (s *Server) accountRoutes() []route {
	return []route{
		{method: "POST", path: "/v1/auth/register", op: "register", access: public, summary: "Create a customer account and sign in",
			in: registerRequest{}, out: authResponse{}, status: 201, headers: []string{"Location"}, errs: []int{409, 429}, handler: s.postRegister},
		{method: "POST", path: "/v1/auth/login", op: "login", access: public, summary: "Sign in",
			in: loginRequest{}, out: authResponse{}, errs: []int{401, 429}, handler: s.postLogin},
		{method: "POST", path: "/v1/auth/refresh", op: "refreshTokens", access: public, summary: "Exchange a refresh token for a new pair (rotation; reuse revokes the session)",
			in: refreshRequest{}, out: authResponse{}, errs: []int{401, 429}, handler: s.postRefresh},
		{method: "POST", path: "/v1/auth/logout", op: "logout", access: public, summary: "Revoke the session of a refresh token",
			in: refreshRequest{}, status: 204, errs: []int{401}, handler: s.postLogout},
		{method: "GET", path: "/v1/me", op: "getMe", access: signedIn, summary: "The caller's profile and preferences", out: userResponse{}, errs: []int{404}, handler: s.getMe},
		{method: "PATCH", path: "/v1/me", op: "updateMe", access: signedIn, summary: "Change the caller's profile and preferences",
			in: mePatchRequest{}, out: userResponse{}, errs: []int{404}, handler: s.patchMe},
		{method: "GET", path: "/v1/admin/users", op: "listUsers", access: only(hyperlieu.RoleAdmin),
			summary: "Users in sign-up order, optionally by email or name (q) and role; paginated (a filtered page reads a bounded share of the users, so it may be short, even empty, and still have a next cursor)",
			query:   usersQuery{}, out: userPage{}, handler: s.getUsers},
		{method: "POST", path: "/v1/admin/users/:id/roles", op: "setUserRoles", access: only(hyperlieu.RoleAdmin), summary: "Replace a user's roles",
			in: rolesRequest{}, out: userResponse{}, errs: []int{404, 409}, handler: s.postUserRoles},
	}
}

// guard authenticates the caller of a non-public route and checks its role.
func (s *Server) guard(r route) fiber.Handler {
	return func(c fiber.Ctx) error {
		if r.access.public {
			return c.Next()
		}
		h := c.Get(fiber.HeaderAuthorization)
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
			return hyperlieu.Errorf(hyperlieu.Unauthenticated, "missing bearer access token")
		}
		claims, err := s.opts.Verifier.Verify(strings.TrimSpace(tok))
		if err != nil {
			return &hyperlieu.Error{Kind: hyperlieu.Unauthenticated, Message: "invalid or expired access token", Err: err}
		}
		if s.opts.Sessions != nil && claims.SessionID != "" {
			roles, live, err := s.opts.Sessions.SessionRoles(c.Context(), claims.SessionID)
			if err != nil {
				return err
			}
			if !live {
				return hyperlieu.Errorf(hyperlieu.Unauthenticated, "this session has ended; sign in again")
			}
			// Roles changed since the token was issued hold now, not at its expiry.
			claims.Roles = claims.Roles[:0:0]
			for _, r := range roles {
				claims.Roles = append(claims.Roles, string(r))
			}
		}
		if len(r.access.roles) > 0 && !slices.ContainsFunc(r.access.roles, func(role hyperlieu.Role) bool {
			return slices.Contains(claims.Roles, string(role))
		}) {
			return hyperlieu.Errorf(hyperlieu.Forbidden, "this requires one of the roles: %s", roleList(r.access.roles))
		}
		c.Locals(callerKey{}, claims)
		return c.Next()
	}
}

type callerKey struct{}

// caller returns the verified claims of the signed-in caller.
func caller(c fiber.Ctx) token.Claims {
	claims, _ := c.Locals(callerKey{}).(token.Claims)
	return claims
}

// userID returns the signed-in caller's user id.
func userID(c fiber.Ctx) string { return caller(c).Subject }

// actor returns who is calling, for use cases that check ownership.
func actor(c fiber.Ctx) hyperlieu.Actor {
	cl := caller(c)
	roles := make([]hyperlieu.Role, len(cl.Roles))
	for i, r := range cl.Roles {
		roles[i] = hyperlieu.Role(r)
	}
	return hyperlieu.Actor{UserID: cl.Subject, Roles: roles}
}

func roleList(roles []hyperlieu.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

type statusResponse struct {
	Status string `json:"status"`
}

// getHealthz handles GET /healthz.
func (s *Server) getHealthz(c fiber.Ctx) error {
	return c.JSON(statusResponse{Status: "ok"})
}

// getReadyz handles GET /readyz.
func (s *Server) getReadyz(c fiber.Ctx) error {
	if s.opts.Ready != nil {
		if err := s.opts.Ready(c.Context()); err != nil {
			return err
		}
	}
	return c.JSON(statusResponse{Status: "ready"})
}

func noContent(c fiber.Ctx) error { return c.SendStatus(http.StatusNoContent) }
