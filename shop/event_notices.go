package shop

import (
	"context"
	"errors"
	"slices"
	"sync"
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
	q, err := s.queue(ctx, e)
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
	return s.notifier.Notify(ctx, reqs...)
}

// Announcements are queued in batches of announceBatch per Notify call, and
// get announceTimeout in all, whatever the request that caused them.
const (
	announceBatch   = 500
	announceTimeout = 2 * time.Minute
)

// announceLater tells nearby customers about a new event in the background:
// a crowded neighbourhood must not hold up (or be cut short by) the request
// that created the event. Failures are logged; Wait waits for it.
func (s *EventService) announceLater(ctx context.Context, sh Shop, e Event) {
	if e.AnnounceRadiusM <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), announceTimeout)
	s.announcing.Add(1)
	go func() {
		defer s.announcing.Done()
		defer cancel()
		if err := s.announce(ctx, sh, e); err != nil {
			s.log.WarnContext(ctx, "announcing event failed", "event", e.ID, "err", err)
		}
	}()
}

// Wait blocks until the announcements under way are queued (or timed out);
// call it before closing the database.
func (s *EventService) Wait() { s.announcing.Wait() }

// announce tells nearby customers about a new event (category events,
// capped: it is marketing, not service).
func (s *EventService) announce(ctx context.Context, sh Shop, e Event) error {
	ids, err := s.audience.CustomersNear(ctx, e.Location, e.AnnounceRadiusM, s.now().Add(-s.opts.AnnounceRecency))
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
		if err := s.notifier.Notify(ctx, reqs...); err != nil {
			return err
		}
	}
	return nil
}

// SendReminders queues the one-hour reminder for everyone going to an
// event that starts within ReminderLead. Each person is reminded once per
// event (DedupKey), however often and on however many instances it runs.
func (s *EventService) SendReminders(ctx context.Context) error {
	now := s.now()
	// Events that started are past reminding: forget them, so that what this
	// instance remembers is bounded by the events of the next ReminderLead.
	s.reminded.forgetStarted(now)
	var errs []error
	for _, e := range s.shops.places.Upcoming(now, now.Add(ReminderLead)) {
		sh, ok := s.shops.places.Shop(e.ShopID)
		if !ok {
			continue
		}
		q, err := s.queue(ctx, e)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var reqs []hyperlieu.NotificationRequest
		var users []string
		for _, qe := range q[:min(len(q), e.Capacity)] {
			if qe.UserID == "" || s.reminded.sent(e.ID, qe.UserID) {
				continue // an anonymous seat, or done already
			}
			req := s.request(e, sh, qe.UserID, hyperlieu.KindEventReminder, nil)
			req.DedupKey, req.ExpiresAt = "reminder:"+e.ID+":"+qe.UserID, e.EndsAt
			reqs = append(reqs, req)
			users = append(users, qe.UserID)
		}
		if len(reqs) == 0 {
			continue
		}
		if err := s.notifier.Notify(ctx, reqs...); err != nil {
			errs = append(errs, err)
			continue
		}
		s.reminded.add(e, users)
	}
	return errors.Join(errs...)
}

// RunReminders calls SendReminders every interval until ctx is done.
func (s *EventService) RunReminders(ctx context.Context, interval time.Duration) {
	hyperlieu.Every(ctx, interval, false, s.log, "event reminders", s.SendReminders)
}

// sentReminders remembers who this instance reminded of which event, until
// the event starts. It only saves work (the DedupKey is what keeps a
// reminder single), so forgetting early is harmless. Safe for concurrent use.
type sentReminders struct {
	mu      sync.Mutex
	byEvent map[string]*eventReminders
}

type eventReminders struct {
	startsAt time.Time
	users    map[string]bool
}

func (r *sentReminders) sent(eventID, userID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	er := r.byEvent[eventID]
	return er != nil && er.users[userID]
}

func (r *sentReminders) add(e Event, userIDs []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	er := r.byEvent[e.ID]
	if er == nil {
		er = &eventReminders{users: map[string]bool{}}
		r.byEvent[e.ID] = er
	}
	er.startsAt = e.StartsAt // the latest known start
	for _, u := range userIDs {
		er.users[u] = true
	}
}

// forgetStarted drops the events that started by now.
func (r *sentReminders) forgetStarted(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, er := range r.byEvent {
		if !er.startsAt.After(now) {
			delete(r.byEvent, id)
		}
	}
}

// forgetUser drops an erased user.
func (r *sentReminders) forgetUser(userID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, er := range r.byEvent {
		delete(er.users, userID)
	}
}

// size returns how many reminders are remembered.
func (r *sentReminders) size() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, er := range r.byEvent {
		n += len(er.users)
	}
	return n
}
