package api

import (
	"errors"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/requestid"
	"github.com/valyala/fasthttp"

	"github.com/hyperlieu/hyperlieu"
)

// problem is an RFC 9457 problem document. Errors lists offending fields.
type problem struct {
	Type      string         `json:"type"`
	Title     string         `json:"title"`
	Status    int            `json:"status"`
	Detail    string         `json:"detail,omitempty"`
	Instance  string         `json:"instance,omitempty"`
	RequestID string         `json:"requestId,omitempty"`
	Errors    []fieldProblem `json:"errors,omitempty"`
}

type fieldProblem struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// statusOf is the whole mapping from error kinds to HTTP statuses.
var statusOf = map[hyperlieu.Kind]int{
	hyperlieu.Malformed:       http.StatusBadRequest,
	hyperlieu.Invalid:         http.StatusUnprocessableEntity,
	hyperlieu.Unauthenticated: http.StatusUnauthorized,
	hyperlieu.Forbidden:       http.StatusForbidden,
	hyperlieu.NotFound:        http.StatusNotFound,
	hyperlieu.Conflict:        http.StatusConflict,
	hyperlieu.TooManyRequests: http.StatusTooManyRequests,
	hyperlieu.Unavailable:     http.StatusServiceUnavailable,
}

// fiberDetail is what a client is told about Fiber's and fasthttp's own
// errors. Their messages are never sent: they quote the request (the path of
// an unknown route; for unreadable requests, the raw headers, bearer token
// included).
var fiberDetail = map[int]string{
	http.StatusBadRequest:                  "the request is not valid HTTP/1.1",
	http.StatusNotFound:                    "no route matches this path",
	http.StatusMethodNotAllowed:            "this route does not accept this method",
	http.StatusRequestTimeout:              "the request took too long to arrive",
	http.StatusRequestEntityTooLarge:       "the request body is larger than the server accepts",
	http.StatusUnsupportedMediaType:        "request body must be application/json",
	http.StatusRequestHeaderFieldsTooLarge: "the request headers are larger than the server accepts",
	http.StatusNotImplemented:              "this method is not implemented",
}

// wireErrorKey marks a request fasthttp could not read (see wireErrors).
type wireErrorKey struct{}

// wireErrors wraps fasthttp's handler of requests it cannot read. It turns
// the library's error, whose text quotes the raw request, into a fixed Fiber
// error stored on the request, which observe and handleError use instead
// of whatever reaches them; then Fiber's own handler runs as before.
func wireErrors(next func(*fasthttp.RequestCtx, error)) func(*fasthttp.RequestCtx, error) {
	return func(ctx *fasthttp.RequestCtx, err error) {
		ctx.SetUserValue(wireErrorKey{}, wireError(err))
		next(ctx, err)
	}
}

// wireError maps fasthttp's errors much as Fiber does, without their messages.
func wireError(err error) *fiber.Error {
	var small *fasthttp.ErrSmallBuffer
	var ne net.Error
	switch {
	case errors.As(err, &small):
		return fiber.NewError(http.StatusRequestHeaderFieldsTooLarge)
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return fiber.NewError(http.StatusRequestEntityTooLarge)
	case errors.As(err, &ne) && ne.Timeout(): // not the text: it quotes the request, which may say "timeout"
		return fiber.NewError(http.StatusRequestTimeout)
	case strings.Contains(err.Error(), "unsupported http request method"):
		return fiber.NewError(http.StatusNotImplemented)
	}
	return fiber.NewError(http.StatusBadRequest)
}

// wireErrorOf returns the error of a request fasthttp could not read, or nil.
func wireErrorOf(c fiber.Ctx) *fiber.Error {
	fe, _ := c.RequestCtx().UserValue(wireErrorKey{}).(*fiber.Error)
	return fe
}

// handleError is the only code that turns an error into a response. It logs
// only server errors, with their cause; clients see a safe message.
func (s *Server) handleError(c fiber.Ctx, err error) error {
	instance := c.Path()
	if we := wireErrorOf(c); we != nil {
		err, instance = we, "" // what fasthttp read of the path may be garbage
	}
	status, detail := http.StatusInternalServerError, "internal error"
	var fields []fieldProblem
	var be *hyperlieu.Error
	var fe *fiber.Error
	switch {
	case errors.As(err, &be) && be.Kind != hyperlieu.Internal:
		status, detail = statusOf[be.Kind], be.Message
		for _, f := range be.Fields {
			fields = append(fields, fieldProblem(f))
		}
		if be.RetryAfter > 0 {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(be.RetryAfter.Seconds()))))
		}
		if status >= 500 {
			s.log.WarnContext(c.Context(), "request failed", "method", c.Method(), "route", s.routeOf(c), "err", err)
		}
	case errors.As(err, &fe): // Fiber's own: unknown route, 405, 413, unreadable requests
		status, detail = fe.Code, fiberDetail[fe.Code]
	default:
		s.log.ErrorContext(c.Context(), "request failed", "method", c.Method(), "route", s.routeOf(c), "err", err)
	}
	if status == http.StatusUnauthorized {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="hyperlieu"`)
	}
	return c.Status(status).JSON(problem{
		Type: "about:blank", Title: http.StatusText(status), Status: status,
		Detail: detail, Instance: instance, RequestID: requestid.FromContext(c), Errors: fields,
	}, "application/problem+json")
}
