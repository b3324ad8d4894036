package campaign

import (
	"context"
	"sync"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// user returns the account, cached for UserCacheTTL when it consents to
// location (so that a customer who just turned consent on is seen at once,
// and one who turned it off within the TTL).
func (l *LocationService) user(ctx context.Context, id string) (hyperlieu.User, error) {
	now := time.Now()
	if u, ok := l.users.get(id, now); ok {
		return u, nil
	}
	u, err := l.store.FindUser(ctx, id)
	if err != nil {
		return hyperlieu.User{}, err
	}
	if u.Prefs.LocationConsent {
		l.users.put(u.ID, u, now, now.Add(l.opts.UserCacheTTL))
	}
	return u, nil
}

// maxCachedUsers bounds the user cache of one instance, and its memory of
// positions not yet written (see positions.go).
const maxCachedUsers = 200_000

type cached[T any] struct {
	v       T
	expires time.Time
}

// expiring is a small per-instance cache of at most max entries, each good
// until its own time.
type expiring[T any] struct {
	mu  sync.Mutex
	max int
	m   map[string]cached[T]
}

type userCache = expiring[hyperlieu.User]

func newUserCache(max int) *userCache { return newExpiring[hyperlieu.User](max) }

func newExpiring[T any](max int) *expiring[T] {
	return &expiring[T]{max: max, m: map[string]cached[T]{}}
}

func (c *expiring[T]) get(id string, now time.Time) (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || now.After(e.expires) {
		var zero T
		return zero, false
	}
	return e.v, true
}

// put keeps v under id until expires. When the cache is full, the entries
// expired at now go first; if that is not enough, the cache starts over,
// which costs each customer one more read.
func (c *expiring[T]) put(id string, v T, now, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[id]; !ok && len(c.m) >= c.max {
		for id, e := range c.m {
			if now.After(e.expires) {
				delete(c.m, id)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m)
		}
	}
	c.m[id] = cached[T]{v: v, expires: expires}
}

func (c *expiring[T]) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

// len returns the number of entries, for tests.
func (c *expiring[T]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
