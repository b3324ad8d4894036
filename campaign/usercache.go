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
		l.users.put(u, now, now.Add(l.opts.UserCacheTTL))
	}
	return u, nil
}

// maxCachedUsers bounds the user cache of one instance.
const maxCachedUsers = 200_000

type cachedUser struct {
	u       hyperlieu.User
	expires time.Time
}

// userCache is a small per-instance cache of accounts, of at most max
// entries.
type userCache struct {
	mu  sync.Mutex
	max int
	m   map[string]cachedUser
}

func newUserCache(max int) *userCache {
	return &userCache{max: max, m: map[string]cachedUser{}}
}

func (c *userCache) get(id string, now time.Time) (hyperlieu.User, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || now.After(e.expires) {
		return hyperlieu.User{}, false
	}
	return e.u, true
}

// put caches u until expires. When the cache is full, the entries expired
// at now go first; if that is not enough, the cache starts over, which
// costs each customer one more read.
func (c *userCache) put(u hyperlieu.User, now, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[u.ID]; !ok && len(c.m) >= c.max {
		for id, e := range c.m {
			if now.After(e.expires) {
				delete(c.m, id)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m)
		}
	}
	c.m[u.ID] = cachedUser{u: u, expires: expires}
}

// len returns the number of entries, for tests.
func (c *userCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
