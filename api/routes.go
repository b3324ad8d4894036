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
type route struct {
	method, path string
	access       access
	summary      string
	in, out      any   // body shapes for the OpenAPI document; nil: none
	status       int   // success status; 0 means 200
	errs         []int // error statuses beyond those implied by access and body
	content      string
	handler      fiber.Handler
}

// table is the API: every route, who may call it, and its handler.
func (s *Server) table() []route {
	rs := []route{
		{method: "GET", path: "/healthz", access: public, summary: "The process is up", out: statusResponse{}, handler: s.getHealthz},
		{method: "GET", path: "/readyz", access: public, summary: "The database answers", out: statusResponse{}, errs: []int{503}, handler: s.getReadyz},
		{method: "GET", path: "/metrics", access: public, summary: "Prometheus metrics", content: "text/plain", handler: s.getMetrics()},
		{method: "GET", path: "/openapi.json", access: public, summary: "This API's OpenAPI 3.1 document", handler: s.getOpenAPI},
	}
	rs = append(rs, s.accountRoutes()...)
	rs = append(rs, append(append(s.feedRoutes(), s.eventRoutes()...), s.shopRoutes()...)...)
	rs = append(rs, s.fanRoutes()...)
	rs = append(rs, append(s.campaignRoutes(), append(s.locationRoutes(), s.offerRoutes()...)...)...)
	rs = append(rs, s.notificationRoutes()...)
	return rs
}

// accountRoutes are sign-up, sign-in, tokens, the caller's profile and roles.
func (s *Server) accountRoutes() []route {
	return []route{
		{method: "POST", path: "/v1/auth/register", access: public, summary: "Create a customer account and sign in",
			in: registerRequest{}, out: authResponse{}, status: 201, errs: []int{409}, handler: s.postRegister},
		{method: "POST", path: "/v1/auth/login", access: public, summary: "Sign in",
			in: loginRequest{}, out: authResponse{}, errs: []int{401, 429}, handler: s.postLogin},
		{method: "POST", path: "/v1/auth/refresh", access: public, summary: "Exchange a refresh token for a new pair (rotation; reuse revokes the session)",
			in: refreshRequest{}, out: authResponse{}, errs: []int{401}, handler: s.postRefresh},
		{method: "POST", path: "/v1/auth/logout", access: public, summary: "Revoke the session of a refresh token",
			in: refreshRequest{}, status: 204, errs: []int{401}, handler: s.postLogout},
		{method: "GET", path: "/v1/me", access: signedIn, summary: "The caller's profile and preferences", out: userResponse{}, errs: []int{404}, handler: s.getMe},
		{method: "PATCH", path: "/v1/me", access: signedIn, summary: "Change the caller's profile and preferences",
			in: mePatchRequest{}, out: userResponse{}, errs: []int{404}, handler: s.patchMe},
		{method: "POST", path: "/v1/admin/users/:id/roles", access: only(hyperlieu.RoleAdmin), summary: "Replace a user's roles",
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
			live, err := s.opts.Sessions.SessionActive(c.Context(), claims.SessionID)
			if err != nil {
				return err
			}
			if !live {
				return hyperlieu.Errorf(hyperlieu.Unauthenticated, "this session has ended; sign in again")
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
