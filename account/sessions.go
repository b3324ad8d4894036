package account

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// sessionCacheTTL bounds how long an instance may keep honouring the access
// tokens of a session revoked through another instance (or erased).
const sessionCacheTTL = 30 * time.Second

// sessionCache remembers, per instance, which sessions were found active, so
// that checking a token's session costs a database read per session every
// sessionCacheTTL, not one per request.
type sessionCache struct {
	mu      sync.Mutex
	checked map[string]checkedSession // by session id
}

type checkedSession struct {
	userID string
	at     time.Time // when it was found active
}

// SessionActive reports whether the session an access token belongs to is
// still live: not revoked by logout or token reuse, and its account not
// erased. A revocation made on this instance applies at once; one made on
// another within sessionCacheTTL.
func (s *Service) SessionActive(ctx context.Context, sessionID string) (bool, error) {
	now := s.opts.Now()
	c := &s.sessions
	c.mu.Lock()
	seen, ok := c.checked[sessionID]
	c.mu.Unlock()
	if ok && now.Sub(seen.at) < sessionCacheTTL {
		return true, nil
	}
	sess, err := s.store.FindSession(ctx, sessionID)
	switch {
	case hyperlieu.KindOf(err) == hyperlieu.NotFound:
		return false, nil
	case err != nil:
		return false, fmt.Errorf("check session: %w", err)
	case !sess.RevokedAt.IsZero():
		s.forgetSession(sessionID)
		return false, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.checked == nil || len(c.checked) > 100_000 { // bounded: start afresh
		c.checked = map[string]checkedSession{}
	}
	c.checked[sessionID] = checkedSession{userID: sess.UserID, at: now}
	return true, nil
}

func (s *Service) forgetSession(id string) {
	s.sessions.mu.Lock()
	defer s.sessions.mu.Unlock()
	delete(s.sessions.checked, id)
}

// ExportUser adds nothing: the account's data is exported by the store's
// own PersonalData. It exists so that the account use cases can take part
// in erasure (EraseUser).
func (s *Service) ExportUser(context.Context, string) (map[string]any, error) {
	return map[string]any{}, nil
}

// EraseUser forgets, on this instance, that the user's sessions were live,
// so their access tokens stop working at once; other instances follow
// within sessionCacheTTL. The sessions themselves are erased by the store.
func (s *Service) EraseUser(_ context.Context, userID string) error {
	s.sessions.mu.Lock()
	defer s.sessions.mu.Unlock()
	for id, seen := range s.sessions.checked {
		if seen.userID == userID {
			delete(s.sessions.checked, id)
		}
	}
	return nil
}
