package api

import (
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/requestid"

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

// handleError is the only code that turns an error into a response. It logs
// only server errors, with their cause; clients see a safe message.
func (s *Server) handleError(c fiber.Ctx, err error) error {
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
			s.log.WarnContext(c.Context(), "request failed", "method", c.Method(), "path", c.Path(), "err", err)
		}
	case errors.As(err, &fe): // Fiber's own: unknown route, 405, 413
		status, detail = fe.Code, fe.Message
	default:
		s.log.ErrorContext(c.Context(), "request failed", "method", c.Method(), "path", c.Path(), "err", err)
	}
	if status == http.StatusUnauthorized {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="hyperlieu"`)
	}
	return c.Status(status).JSON(problem{
		Type: "about:blank", Title: http.StatusText(status), Status: status,
		Detail: detail, Instance: c.Path(), RequestID: requestid.FromContext(c), Errors: fields,
	}, "application/problem+json")
}
