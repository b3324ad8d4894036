package api

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/geo"
	"github.com/hyperlieu/hyperlieu/shop"
)

// eventRoutes are events, RSVPs, attendee lists, check-ins and feedback.
func (s *Server) eventRoutes() []route {
	manage := only(hyperlieu.RoleManager, hyperlieu.RoleAdmin)
	return []route{
		{method: "POST", path: "/v1/shops/:id/events", op: "createShopEvent", access: manage, summary: "Schedule an event at a shop you manage; announced to opted-in customers nearby",
			in: eventRequest{}, out: eventResponse{}, status: 201, headers: []string{"Location"}, errs: []int{409}, handler: s.postShopEvent},
		{method: "GET", path: "/v1/shops/:id/events", op: "listShopEvents", access: signedIn, summary: "A shop's events that end after from (default now), cancelled ones included",
			query: shopEventsQuery{}, out: []eventResponse{}, handler: s.getShopEvents},
		{method: "GET", path: "/v1/events", op: "listEvents", access: signedIn,
			summary: "Events by start: near a point (upcoming only), between from and to, of a category or a shop",
			query:   eventsQuery{}, out: []eventResponse{}, handler: s.getEvents},
		{method: "GET", path: "/v1/events/:id.ics", op: "getEventCalendar", access: public, summary: "The event as iCalendar (RFC 5545)",
			content: "text/calendar", handler: s.getEventICS},
		{method: "GET", path: "/v1/events/:id", op: "getEvent", access: signedIn, summary: "An event with its seats", out: eventResponse{}, handler: s.getEvent},
		{method: "PATCH", path: "/v1/events/:id", op: "updateEvent", access: manage, summary: "Change an event; RSVPs are told when its time or place moves",
			in: eventRequest{}, out: eventResponse{}, errs: []int{409}, handler: s.patchEvent},
		{method: "POST", path: "/v1/events/:id/cancel", op: "cancelEvent", access: manage, summary: "Cancel an event; RSVPs are told the reason",
			in: cancelRequest{}, out: eventResponse{}, errs: []int{409}, handler: s.postEventCancel},
		{method: "POST", path: "/v1/events/:id/rsvp", op: "rsvpToEvent", access: signedIn, summary: "Answer going: a seat, or a place on the waitlist (idempotent)",
			out: rsvpResponse{}, errs: []int{409, 503}, handler: s.postRSVP},
		{method: "GET", path: "/v1/events/:id/rsvp", op: "getMyRSVP", access: signedIn, summary: "The caller's RSVP and where it stands", out: rsvpResponse{}, handler: s.getRSVP},
		{method: "DELETE", path: "/v1/events/:id/rsvp", op: "withdrawRSVP", access: signedIn, summary: "Withdraw; the seat goes to the first on the waitlist",
			status: 204, errs: []int{409}, handler: s.deleteRSVP},
		{method: "GET", path: "/v1/events/:id/attendees", op: "listAttendees", access: signedIn,
			summary: "Who is going: everything for the shop's managers; for people going, the names of others who chose to be shown",
			out:     []attendeeResponse{}, errs: []int{403}, handler: s.getAttendees},
		{method: "POST", path: "/v1/events/:id/checkin", op: "checkIn", access: signedIn, summary: "Check in from within 150 m, from 30 minutes before the start to the end",
			in: checkInRequest{}, out: checkInResponse{}, status: 201, errs: []int{409}, handler: s.postCheckIn},
		{method: "POST", path: "/v1/events/:id/checkins", op: "checkInTicket", access: manage, summary: "Check an attendee in by their ticket code (the shop's managers)",
			in: ticketRequest{}, out: checkInResponse{}, status: 201, errs: []int{409}, handler: s.postTicketCheckIn},
		{method: "POST", path: "/v1/events/:id/feedback", op: "rateEvent", access: signedIn, summary: "Rate an event you checked in to (again: replaces)",
			in: feedbackRequest{}, out: feedbackResponse{}, errs: []int{403, 409}, handler: s.postFeedback},
		{method: "GET", path: "/v1/events/:id/feedback", op: "listEventFeedback", access: manage, summary: "An event's feedback, lowest ratings first (the shop's managers)",
			out: []feedbackResponse{}, handler: s.getFeedback},
	}
}

type shopEventsQuery struct {
	From string `query:"from" api:"format=date-time" doc:"RFC 3339; default now"`
}

type eventsQuery struct {
	Near     string  `query:"near" api:"pattern=^\\s*-?[0-9.]+\\s*,\\s*-?[0-9.]+\\s*$" doc:"lat,lng such as 48.8566,2.3522: upcoming events near it"`
	Radius   float64 `query:"radius" api:"min=1,max=50000" doc:"Metres around near"`
	From     string  `query:"from" api:"format=date-time" doc:"RFC 3339; default now"`
	To       string  `query:"to" api:"format=date-time" doc:"RFC 3339"`
	Category string  `query:"category" api:"enum=workshop|launch|barcamp|meetup|tasting|other"`
	ShopID   string  `query:"shopId"`
}

// eventRequest creates an event (title, startsAt and endsAt required) or
// patches one (absent fields stay).
type eventRequest struct {
	Title           *string  `json:"title"`
	Description     *string  `json:"description"`
	Category        *string  `json:"category" api:"enum=workshop|launch|barcamp|meetup|tasting|other"`
	StartsAt        *string  `json:"startsAt" api:"format=date-time"`
	EndsAt          *string  `json:"endsAt" api:"format=date-time"`
	Capacity        *int     `json:"capacity" api:"min=1,max=100000"`
	MaxWaitlist     *int     `json:"maxWaitlist" api:"min=-1,max=100000" doc:"-1 (default): no limit; 0: no waitlist"`
	Location        *latLng  `json:"location" doc:"Default: the shop's"`
	AnnounceRadiusM *float64 `json:"announceRadiusM" api:"min=0,max=50000"`
}

func parseTime(p *hyperlieu.Problems, field string, s *string) *time.Time {
	if s == nil {
		return nil
	}
	t, err := time.Parse(time.RFC3339, *s)
	if err != nil {
		p.Add(field, "must be an RFC 3339 time such as 2030-05-01T18:30:00+02:00")
		return nil
	}
	return &t
}

// decodeEvent reads an eventRequest body as the events area's input.
func decodeEvent(c fiber.Ctx) (shop.EventInput, error) {
	var in eventRequest
	if err := decode(c, &in); err != nil {
		return shop.EventInput{}, err
	}
	return in.input()
}

func (in eventRequest) input() (shop.EventInput, error) {
	var p hyperlieu.Problems
	out := shop.EventInput{
		Title: in.Title, Description: in.Description, Category: in.Category,
		StartsAt: parseTime(&p, "startsAt", in.StartsAt), EndsAt: parseTime(&p, "endsAt", in.EndsAt),
		Capacity: in.Capacity, MaxWaitlist: in.MaxWaitlist, Location: in.Location.point(&p, "location"),
		AnnounceRadiusM: in.AnnounceRadiusM,
	}
	return out, p.Err()
}

type cancelRequest struct {
	Reason string `json:"reason" doc:"Told to those going and waitlisted"`
}

type eventResponse struct {
	ID              string        `json:"id"`
	ShopID          string        `json:"shopId"`
	Title           string        `json:"title"`
	Description     string        `json:"description"`
	Category        string        `json:"category" api:"enum=workshop|launch|barcamp|meetup|tasting|other"`
	StartsAt        time.Time     `json:"startsAt"`
	EndsAt          time.Time     `json:"endsAt"`
	Capacity        int           `json:"capacity"`
	MaxWaitlist     int           `json:"maxWaitlist"`
	Location        pointResponse `json:"location"`
	AnnounceRadiusM float64       `json:"announceRadiusM"`
	Status          string        `json:"status" api:"enum=scheduled|cancelled"`
	CancelReason    string        `json:"cancelReason,omitempty"`
	CancelledAt     *time.Time    `json:"cancelledAt,omitempty"`
	Going           *int          `json:"going,omitempty" doc:"On single-event answers"`
	Waitlisted      *int          `json:"waitlisted,omitempty"`
	CreatedAt       time.Time     `json:"createdAt"`
	UpdatedAt       time.Time     `json:"updatedAt"`
}

func newEventResponse(e shop.Event) eventResponse {
	r := eventResponse{
		ID: e.ID, ShopID: e.ShopID, Title: e.Title, Description: e.Description, Category: e.Category,
		StartsAt: e.StartsAt, EndsAt: e.EndsAt, Capacity: e.Capacity, MaxWaitlist: e.MaxWaitlist,
		Location: newPoint(e.Location), AnnounceRadiusM: e.AnnounceRadiusM, Status: "scheduled",
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
	}
	if e.Cancelled() {
		r.Status, r.CancelReason, r.CancelledAt = "cancelled", e.CancelReason, &e.CancelledAt
	}
	return r
}

func newEventsResponse(evs []shop.Event) []eventResponse {
	out := make([]eventResponse, len(evs))
	for i, e := range evs {
		out[i] = newEventResponse(e)
	}
	return out
}

// withSeats answers one event with its seat counts.
func (s *Server) withSeats(c fiber.Ctx, e shop.Event, status int) error {
	going, waiting, err := s.svc.Events.Seats(c.Context(), e)
	if err != nil {
		return err
	}
	r := newEventResponse(e)
	r.Going, r.Waitlisted = &going, &waiting
	return c.Status(status).JSON(r)
}

// postShopEvent handles POST /v1/shops/:id/events.
func (s *Server) postShopEvent(c fiber.Ctx) error {
	ei, err := decodeEvent(c)
	if err != nil {
		return err
	}
	e, err := s.svc.Events.CreateEvent(c.Context(), actor(c), c.Params("id"), ei)
	if err != nil {
		return err
	}
	c.Location("/v1/events/" + e.ID)
	return s.withSeats(c, e, fiber.StatusCreated)
}

// getShopEvents handles GET /v1/shops/:id/events.
func (s *Server) getShopEvents(c fiber.Ctx) error {
	var p hyperlieu.Problems
	from := time.Now()
	if v := c.Query("from"); v != "" {
		if t := parseTime(&p, "from", &v); t != nil {
			from = *t
		}
	}
	if err := p.Err(); err != nil {
		return err
	}
	_, evs, err := s.svc.Events.ShopEvents(c.Context(), c.Params("id"), from)
	if err != nil {
		return err
	}
	return c.JSON(newEventsResponse(evs))
}

// getEvents handles GET /v1/events.
func (s *Server) getEvents(c fiber.Ctx) error {
	var p hyperlieu.Problems
	f := shop.EventFilter{Category: c.Query("category"), ShopID: c.Query("shopId"), From: time.Now()}
	if v := c.Query("from"); v != "" {
		if t := parseTime(&p, "from", &v); t != nil {
			f.From = *t
		}
	}
	if v := c.Query("to"); v != "" {
		if t := parseTime(&p, "to", &v); t != nil {
			f.To = *t
		}
	}
	var near *geo.Point
	if v := c.Query("near"); v != "" {
		a, b, ok := strings.Cut(v, ",")
		lat, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
		lng, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
		if !ok || err1 != nil || err2 != nil {
			p.Add("near", "must be lat,lng such as 48.8566,2.3522")
		} else {
			near = &geo.Point{Lat: lat, Lng: lng}
		}
	}
	var radius *float64
	if r, ok := queryFloat(c, &p, "radius"); ok {
		radius = &r
	}
	if err := p.Err(); err != nil {
		return err
	}
	evs, err := s.svc.Events.Events(c.Context(), f, near, radius)
	if err != nil {
		return err
	}
	return c.JSON(newEventsResponse(evs))
}

// getEvent handles GET /v1/events/:id.
func (s *Server) getEvent(c fiber.Ctx) error {
	e, err := s.svc.Events.Event(c.Context(), c.Params("id"))
	if err != nil {
		return err
	}
	return s.withSeats(c, e, fiber.StatusOK)
}

// patchEvent handles PATCH /v1/events/:id.
func (s *Server) patchEvent(c fiber.Ctx) error {
	ei, err := decodeEvent(c)
	if err != nil {
		return err
	}
	e, err := s.svc.Events.UpdateEvent(c.Context(), actor(c), c.Params("id"), ei)
	if err != nil {
		return err
	}
	return s.withSeats(c, e, fiber.StatusOK)
}

// postEventCancel handles POST /v1/events/:id/cancel.
func (s *Server) postEventCancel(c fiber.Ctx) error {
	var in cancelRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	e, err := s.svc.Events.CancelEvent(c.Context(), actor(c), c.Params("id"), in.Reason)
	if err != nil {
		return err
	}
	return s.withSeats(c, e, fiber.StatusOK)
}

type rsvpResponse struct {
	EventID    string    `json:"eventId"`
	Status     string    `json:"status" api:"enum=going|waitlisted"`
	Position   int       `json:"position,omitempty" doc:"Place on the waitlist, 1 first"`
	TicketCode string    `json:"ticketCode"`
	CreatedAt  time.Time `json:"createdAt"`
}

func newRSVPResponse(st shop.RSVPState) rsvpResponse {
	return rsvpResponse{EventID: st.EventID, Status: string(st.Status), Position: st.WaitlistPosition,
		TicketCode: st.TicketCode, CreatedAt: st.CreatedAt}
}

// postRSVP handles POST /v1/events/:id/rsvp.
func (s *Server) postRSVP(c fiber.Ctx) error {
	st, err := s.svc.Events.RSVP(c.Context(), userID(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(newRSVPResponse(st))
}

// getRSVP handles GET /v1/events/:id/rsvp.
func (s *Server) getRSVP(c fiber.Ctx) error {
	st, err := s.svc.Events.MyRSVP(c.Context(), userID(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(newRSVPResponse(st))
}

// deleteRSVP handles DELETE /v1/events/:id/rsvp.
func (s *Server) deleteRSVP(c fiber.Ctx) error {
	if err := s.svc.Events.CancelRSVP(c.Context(), userID(c), c.Params("id")); err != nil {
		return err
	}
	return noContent(c)
}

type attendeeResponse struct {
	UserID           string `json:"userId,omitempty" doc:"Shown to the shop's managers only"`
	DisplayName      string `json:"displayName"`
	Status           string `json:"status" api:"enum=going|waitlisted"`
	WaitlistPosition int    `json:"waitlistPosition,omitempty"`
	CheckedIn        *bool  `json:"checkedIn,omitempty"` // managers only
}

// getAttendees handles GET /v1/events/:id/attendees.
func (s *Server) getAttendees(c fiber.Ctx) error {
	as, err := s.svc.Events.Attendees(c.Context(), actor(c), c.Params("id"))
	if err != nil {
		return err
	}
	out := make([]attendeeResponse, len(as))
	for i, a := range as {
		out[i] = attendeeResponse{UserID: a.UserID, DisplayName: a.DisplayName, Status: string(a.Status), WaitlistPosition: a.WaitlistPosition}
		if a.UserID != "" {
			out[i].CheckedIn = &as[i].CheckedIn
		}
	}
	return c.JSON(out)
}

type checkInRequest struct {
	Lat *float64 `json:"lat" api:"required,min=-90,max=90"`
	Lng *float64 `json:"lng" api:"required,min=-180,max=180"`
}

type ticketRequest struct {
	TicketCode string `json:"ticketCode" api:"required"`
}

type checkInResponse struct {
	EventID string    `json:"eventId"`
	UserID  string    `json:"userId"`
	Method  string    `json:"method" api:"enum=location|ticket"`
	At      time.Time `json:"at"`
}

// postCheckIn handles POST /v1/events/:id/checkin.
func (s *Server) postCheckIn(c fiber.Ctx) error {
	var in checkInRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	var p hyperlieu.Problems
	if in.Lat == nil {
		p.Add("lat", "is required")
	}
	if in.Lng == nil {
		p.Add("lng", "is required")
	}
	if err := p.Err(); err != nil {
		return err
	}
	ci, err := s.svc.Events.CheckIn(c.Context(), userID(c), c.Params("id"), &geo.Point{Lat: *in.Lat, Lng: *in.Lng})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(checkInResponse{ci.EventID, ci.UserID, ci.Method, ci.At})
}

// postTicketCheckIn handles POST /v1/events/:id/checkins.
func (s *Server) postTicketCheckIn(c fiber.Ctx) error {
	var in ticketRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	ci, err := s.svc.Events.ScanTicket(c.Context(), actor(c), c.Params("id"), in.TicketCode)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(checkInResponse{ci.EventID, ci.UserID, ci.Method, ci.At})
}

type feedbackRequest struct {
	Rating  int    `json:"rating" api:"required,min=1,max=5"`
	Comment string `json:"comment,omitempty" api:"maxLength=2000"`
}

type feedbackResponse struct {
	EventID        string    `json:"eventId"`
	UserID         string    `json:"userId"`
	Rating         int       `json:"rating"`
	Comment        string    `json:"comment"`
	NeedsAttention bool      `json:"needsAttention"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
}

func newFeedbackResponse(f shop.Feedback) feedbackResponse {
	return feedbackResponse{f.EventID, f.UserID, f.Rating, f.Comment, f.NeedsAttention(), f.CreatedAt, f.UpdatedAt}
}

// postFeedback handles POST /v1/events/:id/feedback.
func (s *Server) postFeedback(c fiber.Ctx) error {
	var in feedbackRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	f, err := s.svc.Events.GiveFeedback(c.Context(), userID(c), c.Params("id"), in.Rating, in.Comment)
	if err != nil {
		return err
	}
	return c.JSON(newFeedbackResponse(f))
}

// getFeedback handles GET /v1/events/:id/feedback.
func (s *Server) getFeedback(c fiber.Ctx) error {
	fs, err := s.svc.Events.EventFeedback(c.Context(), actor(c), c.Params("id"))
	if err != nil {
		return err
	}
	out := make([]feedbackResponse, len(fs))
	for i, f := range fs {
		out[i] = newFeedbackResponse(f)
	}
	return c.JSON(out)
}
