package api

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/notify"
)

// notificationRoutes are the caller's devices and inbox, and the admins'
// view of the outbox.
func (s *Server) notificationRoutes() []route {
	return []route{
		{method: "POST", path: "/v1/me/devices", op: "registerDevice", access: signedIn, summary: "Register or refresh a push device (a token of another account moves to the caller)",
			in: deviceRequest{}, out: deviceResponse{}, handler: s.postDevice},
		{method: "DELETE", path: "/v1/me/devices/:token", op: "deleteDevice", access: signedIn, summary: "Forget one of the caller's push devices",
			status: 204, handler: s.deleteDevice},
		{method: "GET", path: "/v1/me/notifications", op: "listMyNotifications", access: signedIn, summary: "The caller's inbox, newest first",
			query: pageQuery{}, out: notificationPage{}, handler: s.getMyNotifications},
		{method: "POST", path: "/v1/me/notifications/:id/opened", op: "markNotificationOpened", access: signedIn, summary: "Record that the caller opened a notification (idempotent)",
			out: notificationResponse{}, handler: s.postNotificationOpened},
		{method: "GET", path: "/v1/admin/notifications", op: "listNotifications", access: only(hyperlieu.RoleAdmin), summary: "Every notification, newest first, optionally of one status (failed ones, say; such a page reads a bounded share of the notifications, so it may be short, even empty, and still have a next cursor)",
			query: notificationsQuery{}, out: notificationPage{}, handler: s.getNotifications},
	}
}

type deviceRequest struct {
	Token      string `json:"token" api:"required" doc:"The FCM registration token"`
	Platform   string `json:"platform" api:"required,enum=android|ios|web"`
	AppVersion string `json:"appVersion,omitempty"`
	InstallID  string `json:"installId,omitempty" doc:"The app's install identifier; kept in the account's install history for the same-device referral check"`
}

type pageQuery struct {
	Cursor string `query:"cursor" doc:"nextCursor of the previous page"`
	Limit  int    `query:"limit" api:"min=1,max=100,default=20"`
}

type notificationsQuery struct {
	Status string `query:"status" api:"enum=pending|sending|sent|failed|expired|suppressed"`
	Cursor string `query:"cursor" doc:"nextCursor of the previous page"`
	Limit  int    `query:"limit" api:"min=1,max=100,default=20"`
}

type deviceResponse struct {
	Token      string    `json:"token"`
	Platform   string    `json:"platform" api:"enum=android|ios|web"`
	AppVersion string    `json:"appVersion,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

type notificationResponse struct {
	ID          string            `json:"id"`
	UserID      string            `json:"userId"`
	Kind        string            `json:"kind"`
	Category    string            `json:"category"`
	Title       string            `json:"title"`
	Body        string            `json:"body"`
	Data        map[string]string `json:"data"`
	CreatedAt   time.Time         `json:"createdAt"`
	NotBefore   time.Time         `json:"notBefore"`
	ExpiresAt   time.Time         `json:"expiresAt"`
	Status      string            `json:"status" api:"enum=pending|sending|sent|failed|expired|suppressed"`
	Reason      string            `json:"reason,omitempty"`
	Attempts    int               `json:"attempts"`
	LastError   string            `json:"lastError,omitempty"`
	MessageIDs  []string          `json:"messageIds"`
	SentAt      *time.Time        `json:"sentAt"`
	OpenedAt    *time.Time        `json:"openedAt"`
	CollapseKey string            `json:"collapseKey,omitempty"`
}

type notificationPage struct {
	Items      []notificationResponse `json:"items"`
	NextCursor string                 `json:"nextCursor,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func newNotificationResponse(n notify.Notification) notificationResponse {
	r := notificationResponse{
		ID: n.ID, UserID: n.UserID, Kind: string(n.Kind), Category: n.Category, Title: n.Title, Body: n.Body,
		Data: n.Data, CreatedAt: n.CreatedAt, NotBefore: n.NotBefore, ExpiresAt: n.ExpiresAt,
		Status: string(n.Status), Reason: n.Reason, Attempts: n.Attempts, LastError: n.LastError,
		MessageIDs: n.MessageIDs, SentAt: timePtr(n.SentAt), OpenedAt: timePtr(n.OpenedAt), CollapseKey: n.CollapseKey,
	}
	if r.Data == nil {
		r.Data = map[string]string{}
	}
	if r.MessageIDs == nil {
		r.MessageIDs = []string{}
	}
	return r
}

func newNotificationPage(p notify.Page) notificationPage {
	out := notificationPage{Items: make([]notificationResponse, len(p.Items)), NextCursor: p.Next}
	for i, n := range p.Items {
		out.Items[i] = newNotificationResponse(n)
	}
	return out
}

// postDevice handles POST /v1/me/devices.
func (s *Server) postDevice(c fiber.Ctx) error {
	var in deviceRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	d, err := s.svc.Notifications.RegisterDevice(c.Context(), userID(c), notify.DeviceInput(in))
	if err != nil {
		return err
	}
	return c.JSON(deviceResponse{Token: d.Token, Platform: d.Platform, AppVersion: d.AppVersion, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt})
}

// deleteDevice handles DELETE /v1/me/devices/:token.
func (s *Server) deleteDevice(c fiber.Ctx) error {
	if err := s.svc.Notifications.DeleteDevice(c.Context(), userID(c), strings.Clone(c.Params("token"))); err != nil {
		return err
	}
	return noContent(c)
}

// pageParams reads ?cursor= and ?limit=; a limit that is not a number is
// Invalid naming it.
func pageParams(c fiber.Ctx) (cursor string, limit int, err error) {
	cursor = strings.Clone(c.Query("cursor"))
	if l := c.Query("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil {
			return "", 0, hyperlieu.InvalidField("limit", "must be a whole number")
		}
	}
	return cursor, limit, nil
}

// getMyNotifications handles GET /v1/me/notifications.
func (s *Server) getMyNotifications(c fiber.Ctx) error {
	cursor, limit, err := pageParams(c)
	if err != nil {
		return err
	}
	p, err := s.svc.Notifications.Inbox(c.Context(), userID(c), cursor, limit)
	if err != nil {
		return err
	}
	return c.JSON(newNotificationPage(p))
}

// postNotificationOpened handles POST /v1/me/notifications/:id/opened.
func (s *Server) postNotificationOpened(c fiber.Ctx) error {
	n, err := s.svc.Notifications.Opened(c.Context(), userID(c), strings.Clone(c.Params("id")))
	if err != nil {
		return err
	}
	return c.JSON(newNotificationResponse(n))
}

// getNotifications handles GET /v1/admin/notifications.
func (s *Server) getNotifications(c fiber.Ctx) error {
	cursor, limit, err := pageParams(c)
	if err != nil {
		return err
	}
	p, err := s.svc.Notifications.ListNotifications(c.Context(), actor(c), strings.Clone(c.Query("status")), cursor, limit)
	if err != nil {
		return err
	}
	return c.JSON(newNotificationPage(p))
}
