package fan

import (
	"context"

	"github.com/hyperlieu/hyperlieu"
)

// journey queues the welcome-journey steps that are due for u. Each step is
// decided when it falls due, not at sign-up, so that a customer who refused
// its category (or all messages) by then does not get it; the dedup key
// makes each step happen once whichever instance and loop round sends it.
// Steps are capped, and the notifier applies quiet hours.
func (s *Service) journey(ctx context.Context, u hyperlieu.User) {
	age := s.now().Sub(u.CreatedAt)
	var reqs []hyperlieu.NotificationRequest
	for i, st := range s.opts.Journey {
		// A step missed for longer than the gap to the next one is skipped:
		// a customer back from a year away gets no "welcome, day 3".
		if age < st.After || (i+1 < len(s.opts.Journey) && age >= s.opts.Journey[i+1].After) || age > st.After+s.opts.NewcomerPeriod {
			continue
		}
		if !u.Prefs.Accepts(st.Category) || u.Prefs.MaxNotificationsPerDay == 0 {
			continue
		}
		reqs = append(reqs, hyperlieu.NotificationRequest{
			UserID: u.ID, Kind: hyperlieu.KindJourney, Category: st.Category, Capped: true,
			Vars: map[string]string{"step": st.Name}, DedupKey: "journey:" + u.ID + ":" + st.Name,
		})
	}
	s.send(ctx, reqs...)
}
