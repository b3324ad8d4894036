package api

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/hyperlieu/hyperlieu"
)

// webhookRoutes are the domain events, for admins and BI.
func (s *Server) webhookRoutes() []route {
	return []route{
		{method: "GET", path: "/v1/admin/events", op: "getDomainEvents", access: only(hyperlieu.RoleAdmin),
			summary: "Domain events as NDJSON, oldest first, after a cursor (the id of the last event read)",
			query:   domainEventsQuery{}, content: "application/x-ndjson", handler: s.getDomainEvents},
	}
}

type domainEventsQuery struct {
	After string `query:"after" api:"maxLength=64" doc:"The id of the last event read; absent: from the first"`
	Limit int    `query:"limit" api:"min=1,max=1000,default=1000"`
}

// eventLine is one line of the stream.
type eventLine struct {
	ID   string            `json:"id"`
	Type string            `json:"type"`
	At   time.Time         `json:"at"`
	Data map[string]string `json:"data"`
}

// getDomainEvents handles GET /v1/admin/events.
func (s *Server) getDomainEvents(c fiber.Ctx) error {
	var p hyperlieu.Problems
	limit, _ := queryFloat(c, &p, "limit")
	if err := p.Err(); err != nil {
		return err
	}
	es, err := s.svc.Webhooks.Events(c.Context(), strings.Clone(c.Query("after")), int(limit))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf) // one JSON document and "\n" per event
	for _, e := range es {
		if err := enc.Encode(eventLine{ID: e.ID, Type: string(e.Type), At: e.At, Data: e.Data}); err != nil {
			return err
		}
	}
	c.Set(fiber.HeaderContentType, "application/x-ndjson")
	return c.Send(buf.Bytes())
}
