package test

import (
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu/push/fcmfake"
)

// TestTrustOutboxSlowDeviceDoesNotRepeatItsBatchMates: one device answers
// 503 with a Retry-After longer than the lease lets the SDK wait. Its
// batch-mate gets exactly one copy, and the notification's attempts count
// and end in failed, instead of a copy to the healthy device every lease.
func TestTrustOutboxSlowDeviceDoesNotRepeatItsBatchMates(t *testing.T) {
	t.Parallel()
	fake, env := fcmEnv(t)
	env["HYPERLIEU_OUTBOX_LEASE"] = "4s" // the SDK's four waits of 3 s outlive it
	env["HYPERLIEU_OUTBOX_MAX_ATTEMPTS"] = "2"
	fake.FailToken("slow-503", fcmfake.Unavailable, -1)
	fake.SetRetryAfter(3 * time.Second)
	s := startServer(t, env)
	start := time.Now()

	u := s.registerIn(t, "Iris", "en", zoneWhere(t, daytime))
	s.addDevice(t, u, "slow-503")
	s.addDevice(t, u, "healthy")
	admin := s.admin(t)
	welcome := func() notificationJSON {
		for _, n := range s.notifications(t, admin.Token, "/v1/admin/notifications?limit=100").Items {
			if n.UserID == u.ID {
				return n
			}
		}
		return notificationJSON{}
	}
	waitUntil(t, s, 20*time.Second, "the welcome fails on the slow device", func() bool { return welcome().Status == "failed" })
	if n := welcome(); n.Attempts != 2 {
		t.Errorf("welcome: %d attempts, want 2 (the configured maximum)", n.Attempts)
	}
	time.Sleep(time.Until(start.Add(10 * time.Second))) // time for a repeat, were there one
	if got := len(messagesTo(fake, "healthy")); got != 1 {
		t.Errorf("healthy device got %d copies in 10 s, want exactly 1", got)
	}
}
