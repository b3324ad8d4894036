package api

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/webhook"
)

// webhookRoutes are the domain events, for admins and BI, and the
// endpoints they are delivered to.
func (s *Server) webhookRoutes() []route {
	return append([]route{
		{method: "GET", path: "/v1/admin/events", op: "getDomainEvents", access: only(hyperlieu.RoleAdmin),
			summary: "Domain events as NDJSON, oldest first, after a cursor (the id of the last event read)",
			query:   domainEventsQuery{}, content: "application/x-ndjson", handler: s.getDomainEvents},
	}, s.webhookEndpointRoutes()...)
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

// webhookEndpointRoutes are the admins' webhook endpoints and their deliveries.
func (s *Server) webhookEndpointRoutes() []route {
	admin := only(hyperlieu.RoleAdmin)
	return []route{
		{method: "POST", path: "/v1/admin/webhooks", op: "createWebhook", access: admin,
			summary: "Register an endpoint for event types; the answer holds its signing secret, never shown again",
			in:      webhookRequest{}, out: webhookCreated{}, status: 201, headers: []string{"Location"}, errs: []int{409}, handler: s.postWebhook},
		{method: "GET", path: "/v1/admin/webhooks", op: "listWebhooks", access: admin,
			summary: "The endpoints, oldest first (no secrets)", out: []webhookResponse{}, handler: s.getWebhooks},
		{method: "POST", path: "/v1/admin/webhooks/:id/pause", op: "pauseWebhook", access: admin,
			summary: "Pause an endpoint: no new events are queued for it, queued ones wait", out: webhookResponse{}, handler: s.pauseWebhook(true)},
		{method: "POST", path: "/v1/admin/webhooks/:id/resume", op: "resumeWebhook", access: admin,
			summary: "Resume an endpoint: its queued deliveries go out, past failures are forgotten", out: webhookResponse{}, handler: s.pauseWebhook(false)},
		{method: "DELETE", path: "/v1/admin/webhooks/:id", op: "deleteWebhook", access: admin,
			summary: "Remove an endpoint and its deliveries", status: 204, handler: s.deleteWebhook},
		{method: "GET", path: "/v1/admin/webhooks/:id/deliveries", op: "listWebhookDeliveries", access: admin,
			summary: "An endpoint's deliveries, newest first: queued, delivered and dead-lettered, with attempts and last error",
			query:   deliveriesQuery{}, out: deliveryPage{}, handler: s.getWebhookDeliveries},
		{method: "POST", path: "/v1/admin/webhooks/:id/deliveries/:deliveryId/replay", op: "replayWebhookDelivery", access: admin,
			summary: "Queue a delivered or dead-lettered delivery again, with the same id",
			out:     deliveryResponse{}, status: 202, errs: []int{409}, handler: s.replayWebhookDelivery},
	}
}

type webhookRequest struct {
	URL    string   `json:"url" api:"required,maxLength=2048" doc:"http or https, no user info"`
	Types  []string `json:"types" api:"required,minItems=1,maxItems=20" doc:"Event types: offer.triggered, offer.redeemed, rsvp, waitlist.promoted, checkin, rating.low, gesture, notification.failed, account.erased"`
	Secret string   `json:"secret" api:"maxLength=256" doc:"16 to 256 printable characters; absent: one is made and returned"`
}

type webhookResponse struct {
	ID           string     `json:"id"`
	URL          string     `json:"url"`
	Types        []string   `json:"types"`
	CreatedAt    time.Time  `json:"createdAt"`
	Paused       bool       `json:"paused"`
	PausedReason string     `json:"pausedReason,omitempty" api:"enum=admin|failing"`
	PausedAt     *time.Time `json:"pausedAt,omitempty"`
	FailingSince *time.Time `json:"failingSince,omitempty" doc:"The first failed attempt since the last success"`
}

type webhookCreated struct {
	webhookResponse
	Secret string `json:"secret" doc:"Signs every delivery (see the README); shown only here"`
}

func newWebhookResponse(e webhook.Endpoint) webhookResponse {
	r := webhookResponse{ID: e.ID, URL: e.URL, Types: make([]string, len(e.Types)), CreatedAt: e.CreatedAt, Paused: e.Paused,
		PausedReason: e.PausedReason, PausedAt: timePtr(e.PausedAt), FailingSince: timePtr(e.FailingSince)}
	for i, t := range e.Types {
		r.Types[i] = string(t)
	}
	return r
}

// postWebhook handles POST /v1/admin/webhooks.
func (s *Server) postWebhook(c fiber.Ctx) error {
	var in webhookRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	e, err := s.svc.Webhooks.CreateEndpoint(c.Context(), actor(c), webhook.EndpointInput{URL: in.URL, Types: in.Types, Secret: in.Secret})
	if err != nil {
		return err
	}
	c.Location("/v1/admin/webhooks/" + e.ID)
	return c.Status(fiber.StatusCreated).JSON(webhookCreated{webhookResponse: newWebhookResponse(e), Secret: e.Secret})
}

// getWebhooks handles GET /v1/admin/webhooks.
func (s *Server) getWebhooks(c fiber.Ctx) error {
	es, err := s.svc.Webhooks.Endpoints(c.Context(), actor(c))
	if err != nil {
		return err
	}
	out := make([]webhookResponse, len(es))
	for i, e := range es {
		out[i] = newWebhookResponse(e)
	}
	return c.JSON(out)
}

// pauseWebhook handles POST /v1/admin/webhooks/{id}/pause and resume.
func (s *Server) pauseWebhook(paused bool) fiber.Handler {
	return func(c fiber.Ctx) error {
		e, err := s.svc.Webhooks.SetEndpointPaused(c.Context(), actor(c), strings.Clone(c.Params("id")), paused)
		if err != nil {
			return err
		}
		return c.JSON(newWebhookResponse(e))
	}
}

// deleteWebhook handles DELETE /v1/admin/webhooks/{id}.
func (s *Server) deleteWebhook(c fiber.Ctx) error {
	if err := s.svc.Webhooks.DeleteEndpoint(c.Context(), actor(c), strings.Clone(c.Params("id"))); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

type deliveriesQuery struct {
	Before string `query:"before" api:"maxLength=128" doc:"next of the previous page"`
	Limit  int    `query:"limit" api:"min=1,max=100,default=20"`
}

type deliveryPage struct {
	Items []deliveryResponse `json:"items"`
	Next  string             `json:"next,omitempty" doc:"The cursor (before) of the next page; absent on the last"`
}

type deliveryResponse struct {
	ID        string     `json:"id" doc:"Sent as Hyperlieu-Delivery: the same on every attempt and replay"`
	EventID   string     `json:"eventId"`
	Type      string     `json:"type"`
	Status    string     `json:"status" api:"enum=pending|delivered|dead"`
	Attempts  int        `json:"attempts"`
	LastError string     `json:"lastError,omitempty" doc:"The last failure's class: HTTP <status>, timeout, connection failed"`
	NextAt    *time.Time `json:"nextAt,omitempty" doc:"When a pending delivery is next attempted"`
	CreatedAt time.Time  `json:"createdAt"`
	DoneAt    *time.Time `json:"doneAt,omitempty"`
}

func newDeliveryResponse(d webhook.Delivery) deliveryResponse {
	r := deliveryResponse{ID: d.ID, EventID: d.Event.ID, Type: string(d.Event.Type), Status: string(d.Status), Attempts: d.Attempts,
		LastError: d.LastError, CreatedAt: d.CreatedAt, DoneAt: timePtr(d.DoneAt)}
	if d.Status == webhook.Pending {
		r.NextAt = timePtr(d.NextAt)
	}
	return r
}

// getWebhookDeliveries handles GET /v1/admin/webhooks/{id}/deliveries.
func (s *Server) getWebhookDeliveries(c fiber.Ctx) error {
	var p hyperlieu.Problems
	limit, _ := queryFloat(c, &p, "limit")
	if err := p.Err(); err != nil {
		return err
	}
	ds, next, err := s.svc.Webhooks.Deliveries(c.Context(), actor(c), strings.Clone(c.Params("id")), strings.Clone(c.Query("before")), int(limit))
	if err != nil {
		return err
	}
	out := deliveryPage{Items: make([]deliveryResponse, len(ds)), Next: next}
	for i, d := range ds {
		out.Items[i] = newDeliveryResponse(d)
	}
	return c.JSON(out)
}

// replayWebhookDelivery handles POST /v1/admin/webhooks/{id}/deliveries/{deliveryId}/replay.
func (s *Server) replayWebhookDelivery(c fiber.Ctx) error {
	d, err := s.svc.Webhooks.Replay(c.Context(), actor(c), strings.Clone(c.Params("id")), strings.Clone(c.Params("deliveryId")))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(newDeliveryResponse(d))
}
