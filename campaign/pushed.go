package campaign

import "context"

// NotificationPushed counts a push that reached at least one device for the
// campaign named in the notification's data (key "campaignId"); others are
// ignored. Hook it to the outbox's OnSent: `pushed` counts pushes sent, not
// offers queued (some of which quiet hours delay or expiry drops).
func (s *Service) NotificationPushed(ctx context.Context, data map[string]string) {
	if id := data["campaignId"]; id != "" {
		s.count(ctx, id, "pushed")
		if arm := data["arm"]; arm != "" {
			s.countArm(ctx, id, arm, "pushed")
		}
	}
}
