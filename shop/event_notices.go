package shop

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// request builds a service notification about an event for one user.
func (s *EventService) request(e Event, sh Shop, userID string, kind hyperlieu.NotificationKind, vars map[string]string) hyperlieu.NotificationRequest {
	v := map[string]string{
		"event": e.Title, "shop": sh.Name,
		"when": e.StartsAt.In(sh.Zone()).Format("Mon 2 Jan 2006 15:04 MST"),
		// startsAt lets the templates write "when" in each customer's language.
		"startsAt": e.StartsAt.In(sh.Zone()).Format(time.RFC3339),
	}
	for k, x := range vars {
		v[k] = x
	}
	return hyperlieu.NotificationRequest{
		UserID: userID, Kind: kind, Vars: v,
		Data:        map[string]string{"eventId": e.ID, "shopId": e.ShopID},
		CollapseKey: "event:" + e.ID,
	}
}

// tellEveryone notifies everyone going or waitlisted, once per key.
func (s *EventService) tellEveryone(ctx context.Context, e Event, sh Shop, kind hyperlieu.NotificationKind, key string, vars map[string]string) error {
	if s.opts.Notifier == nil {
		return nil
	}
	q, err := s.store.Queue(ctx, e.ID)
	if err != nil {
		return err
	}
	reqs := make([]hyperlieu.NotificationRequest, 0, len(q))
	for _, qe := range q {
		if qe.UserID == "" {
			continue // an anonymous seat: nobody to tell
		}
		req := s.request(e, sh, qe.UserID, kind, vars)
		req.DedupKey = key + ":" + qe.UserID
		reqs = append(reqs, req)
	}
	if len(reqs) == 0 {
		return nil
	}
	return s.opts.Notifier.Notify(ctx, reqs...)
}

// announce tells nearby customers about a new event (category events,
// capped: it is marketing, not service).
func (s *EventService) announce(ctx context.Context, sh Shop, e Event) error {
	if s.opts.Notifier == nil || s.opts.Audience == nil || e.AnnounceRadiusM <= 0 {
		return nil
	}
	ids, err := s.opts.Audience.CustomersNear(ctx, e.Location, e.AnnounceRadiusM, s.now().Add(-s.opts.AnnounceRecency))
	if err != nil {
		return err
	}
	// In batches, so that a crowded neighbourhood costs bounded memory and a
	// few round trips per batch, whatever its size.
	for batch := range slices.Chunk(ids, announceBatch) {
		reqs := make([]hyperlieu.NotificationRequest, 0, len(batch))
		for _, id := range batch {
			req := s.request(e, sh, id, hyperlieu.KindEventAnnounced, nil)
			req.Category, req.Capped = hyperlieu.CategoryEvents, true
			req.DedupKey = "announce:" + e.ID + ":" + id
			req.ExpiresAt = e.StartsAt
			reqs = append(reqs, req)
		}
		if err := s.opts.Notifier.Notify(ctx, reqs...); err != nil {
			return err
		}
	}
	return nil
}

// announceBatch is how many announcements are queued per Notify call.
const announceBatch = 500

// SendReminders queues the one-hour reminder for everyone going to an
// event that starts within ReminderLead. Each person is reminded once per
// event (DedupKey), however often and on however many instances it runs.
func (s *EventService) SendReminders(ctx context.Context) error {
	if s.opts.Notifier == nil {
		return nil
	}
	now := s.now()
	var errs []error
	for _, e := range s.shops.places.Upcoming(now, now.Add(ReminderLead)) {
		sh, ok := s.shops.places.Shop(e.ShopID)
		if !ok {
			continue
		}
		q, err := s.store.Queue(ctx, e.ID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var reqs []hyperlieu.NotificationRequest
		for _, qe := range q[:min(len(q), e.Capacity)] {
			if qe.UserID == "" {
				continue // an anonymous seat
			}
			key := "reminder:" + e.ID + ":" + qe.UserID
			s.mu.Lock()
			done := s.reminded[key]
			s.mu.Unlock()
			if done {
				continue
			}
			req := s.request(e, sh, qe.UserID, hyperlieu.KindEventReminder, nil)
			req.DedupKey, req.ExpiresAt = key, e.EndsAt
			reqs = append(reqs, req)
		}
		if len(reqs) == 0 {
			continue
		}
		if err := s.opts.Notifier.Notify(ctx, reqs...); err != nil {
			errs = append(errs, err)
			continue
		}
		s.mu.Lock()
		for _, r := range reqs {
			s.reminded[r.DedupKey] = true
		}
		s.mu.Unlock()
	}
	return errors.Join(errs...)
}

// RunReminders calls SendReminders every interval until ctx is done.
func (s *EventService) RunReminders(ctx context.Context, interval time.Duration) {
	hyperlieu.Every(ctx, interval, false, s.log, "event reminders", s.SendReminders)
}
