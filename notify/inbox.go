package notify

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// Page is a page of notifications and the cursor of the next
// one ("" on the last page).
type Page struct {
	Items []Notification
	Next  string
}

// Inbox returns the customer's notifications, newest first: those already
// due, whatever became of the push, except those suppressed by their rules
// or expired unsent. Invalid for a bad cursor or limit.
func (s *Service) Inbox(ctx context.Context, userID, cursor string, limit int) (Page, error) {
	q, err := pageQuery(cursor, limit)
	if err != nil {
		return Page{}, err
	}
	q.UserID = userID
	q.Statuses = []Status{StatusPending, StatusSending, StatusSent, StatusFailed}
	q.DueBy = s.opts.Now().UTC()
	return s.page(ctx, q)
}

// ListNotifications is the admins' view of every notification with status
// (or all, when empty), newest first. A page with a status may hold fewer
// than limit notifications (even none) and still have a Next: the store
// reads a bounded share of every notification per page. Forbidden unless
// actor is an admin; Invalid for an unknown status, a bad cursor or limit.
func (s *Service) ListNotifications(ctx context.Context, actor hyperlieu.Actor, status, cursor string, limit int) (Page, error) {
	if !actor.Is(hyperlieu.RoleAdmin) {
		return Page{}, hyperlieu.Errorf(hyperlieu.Forbidden, "only admins see every notification")
	}
	q, err := pageQuery(cursor, limit)
	if err != nil {
		return Page{}, err
	}
	if status != "" {
		if !slices.Contains(Statuses, Status(status)) {
			return Page{}, hyperlieu.InvalidField("status", "must be one of pending, sending, sent, failed, expired, suppressed")
		}
		q.Statuses = []Status{Status(status)}
	}
	want := q.Limit
	q.Limit++
	ns, last, err := s.store.FindAllNotificationPage(ctx, q)
	if err != nil {
		return Page{}, fmt.Errorf("list notifications: %w", err)
	}
	page := pageOf(ns, want)
	if page.Next == "" && last.ID != "" { // the reads ran out first
		page.Next = encodeCursor(last.CreatedAt, last.ID)
	}
	return page, nil
}

func (s *Service) page(ctx context.Context, q Query) (Page, error) {
	want := q.Limit
	q.Limit++
	ns, err := s.store.FindNotificationPage(ctx, q)
	if err != nil {
		return Page{}, fmt.Errorf("list notifications: %w", err)
	}
	return pageOf(ns, want), nil
}

// pageOf is a page of the first want of ns, which holds one more when a
// next page follows.
func pageOf(ns []Notification, want int) Page {
	page := Page{Items: ns}
	if len(ns) > want {
		page.Items = ns[:want]
		last := page.Items[want-1]
		page.Next = encodeCursor(last.CreatedAt, last.ID)
	}
	return page
}

func pageQuery(cursor string, limit int) (Query, error) {
	var p hyperlieu.Problems
	q := Query{Limit: limit}
	if limit == 0 {
		q.Limit = 20
	} else if limit < 1 || limit > MaxPageSize {
		p.Add("limit", "must be between 1 and %d", MaxPageSize)
	}
	if cursor != "" {
		var ok bool
		if q.AfterCreated, q.AfterID, ok = decodeCursor(cursor); !ok {
			p.Add("cursor", "is not a cursor this API returned")
		}
	}
	return q, p.Err()
}

func encodeCursor(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t.UnixMilli(), 10) + "." + id))
}

func decodeCursor(c string) (time.Time, string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", false
	}
	ms, id, ok := strings.Cut(string(b), ".")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || id == "" {
		return time.Time{}, "", false
	}
	return time.UnixMilli(n).UTC(), id, true
}

// Opened records that the customer opened their notification id. Opening
// twice keeps the first time and is not an error; OnOpened runs once.
// NotFound unless the notification is theirs and in their inbox.
func (s *Service) Opened(ctx context.Context, userID, id string) (Notification, error) {
	n, err := s.store.FindNotification(ctx, id)
	if err != nil && hyperlieu.KindOf(err) != hyperlieu.NotFound {
		return Notification{}, fmt.Errorf("open notification: %w", err)
	}
	now := s.opts.Now().UTC().Truncate(time.Millisecond) // as stored
	if err != nil || n.UserID != userID || n.Status == StatusSuppressed || n.Status == StatusExpired || n.NotBefore.After(now) {
		return Notification{}, hyperlieu.Errorf(hyperlieu.NotFound, "notification not found")
	}
	if !n.OpenedAt.IsZero() {
		return n, nil
	}
	switch err := s.store.CreateOpen(ctx, n, now); {
	case hyperlieu.KindOf(err) == hyperlieu.Conflict: // a concurrent open won; it runs the hook
		return n, nil
	case err != nil:
		return Notification{}, fmt.Errorf("open notification: %w", err)
	}
	n.OpenedAt = now
	if s.opts.OnOpened != nil {
		if err := s.opts.OnOpened(ctx, n); err != nil {
			s.log.ErrorContext(ctx, "after notification opened", "notification", n.ID, "err", err)
		}
	}
	return n, nil
}
