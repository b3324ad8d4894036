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
	roles  []hyperlieu.Role // the account's roles when it was checked
	at     time.Time        // when it was found active
}

// SessionActive reports whether the session an access token belongs to is
// still live: not revoked by logout or token reuse, and its account not
// erased.
func (s *Service) SessionActive(ctx context.Context, sessionID string) (bool, error) {
	_, live, err := s.SessionRoles(ctx, sessionID)
	return live, err
}

// SessionRoles reports whether the session an access token belongs to is
// still live, and the roles its account holds now, so that a role removed
// after the token was issued stops working. A revocation or role change
// made on this instance applies at once; one made on another within
// sessionCacheTTL.
func (s *Service) SessionRoles(ctx context.Context, sessionID string) (roles []hyperlieu.Role, live bool, err error) {
	now := s.opts.Now()
	c := &s.sessions
	c.mu.Lock()
	seen, ok := c.checked[sessionID]
	c.mu.Unlock()
	if ok && now.Sub(seen.at) < sessionCacheTTL {
		return seen.roles, true, nil
	}
	sess, err := s.store.FindSession(ctx, sessionID)
	switch {
	case hyperlieu.KindOf(err) == hyperlieu.NotFound:
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("check session: %w", err)
	case !sess.RevokedAt.IsZero():
		s.forgetSession(sessionID)
		return nil, false, nil
	}
	u, err := s.store.FindUser(ctx, sess.UserID)
	switch {
	case hyperlieu.KindOf(err) == hyperlieu.NotFound:
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("check session: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.checked == nil || len(c.checked) > 100_000 { // bounded: start afresh
		c.checked = map[string]checkedSession{}
	}
	c.checked[sessionID] = checkedSession{userID: sess.UserID, roles: u.Roles, at: now}
	return u.Roles, true, nil
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
	s.forgetUser(userID)
	return nil
}

// forgetUser drops what this instance remembers of the user's sessions, so
// that the next request reads the session and the roles again.
func (s *Service) forgetUser(userID string) {
	s.sessions.mu.Lock()
	defer s.sessions.mu.Unlock()
	for id, seen := range s.sessions.checked {
		if seen.userID == userID {
			delete(s.sessions.checked, id)
		}
	}
}
