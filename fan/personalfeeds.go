package fan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// Personal feed kinds: each has its own secret URL.
const (
	FeedCalendar = "calendar" // the ICS of the customer's events
	FeedWidget   = "widget"   // the widget and its JSON feed
)

// FeedKinds lists the personal feed kinds.
var FeedKinds = []string{FeedCalendar, FeedWidget}

// FeedKey is a personal feed's secret, as stored: only its hash.
type FeedKey struct {
	Hash, UserID, Kind string
	CreatedAt          time.Time
}

// FeedStore keeps feed keys by hash, and each customer's current key per
// kind, both keyed by _id.
type FeedStore interface {
	// CreateFeedKey stores k and makes it its owner's current key of its
	// kind, deleting the one it replaces.
	CreateFeedKey(ctx context.Context, k FeedKey) error
	// FindFeedKey returns NotFound for an unknown hash, or one that is no
	// longer its owner's current key.
	FindFeedKey(ctx context.Context, hash string) (FeedKey, error)
	// FindFeedKeysOf returns the user's current keys.
	FindFeedKeysOf(ctx context.Context, userID string, kinds []string) ([]FeedKey, error)
	// DeleteFeedKey revokes the user's key of kind; none is not an error.
	DeleteFeedKey(ctx context.Context, userID, kind string) error
}

// PersonalFeeds manages the secret URLs of customers' personal feeds: a
// calendar of their events, a widget of their points, offers and events.
// Whoever holds a URL reads that feed, and nothing else: the secret is not
// a credential anywhere else.
type PersonalFeeds struct {
	store FeedStore
	now   func() time.Time
}

var _ hyperlieu.PersonalData = (*PersonalFeeds)(nil)

// NewPersonalFeeds returns the personal feeds' use cases; now defaults to time.Now.
func NewPersonalFeeds(store FeedStore, now func() time.Time) *PersonalFeeds {
	if now == nil {
		now = time.Now
	}
	return &PersonalFeeds{store: store, now: now}
}

func feedHash(secret string) string {
	h := sha256.Sum256([]byte("hyperlieu-feed:" + secret))
	return hex.EncodeToString(h[:])
}

func validKind(kind string) error {
	if kind != FeedCalendar && kind != FeedWidget {
		return hyperlieu.InvalidField("kind", "must be calendar or widget")
	}
	return nil
}

// CreateFeed makes a new secret for the user's feed of kind and returns it;
// the previous secret of that kind, if any, stops working (renewal).
// Invalid for an unknown kind.
func (f *PersonalFeeds) CreateFeed(ctx context.Context, userID, kind string) (secret string, createdAt time.Time, err error) {
	if err := validKind(kind); err != nil {
		return "", time.Time{}, err
	}
	secret = hyperlieu.RandomToken(20) // 160 bits
	k := FeedKey{Hash: feedHash(secret), UserID: userID, Kind: kind, CreatedAt: f.now().UTC()}
	if err := f.store.CreateFeedKey(ctx, k); err != nil {
		return "", time.Time{}, fmt.Errorf("create feed: %w", err)
	}
	return secret, k.CreatedAt, nil
}

// RevokeFeed makes the user's secret of kind stop working. Revoking none is
// not an error; Invalid for an unknown kind.
func (f *PersonalFeeds) RevokeFeed(ctx context.Context, userID, kind string) error {
	if err := validKind(kind); err != nil {
		return err
	}
	return f.store.DeleteFeedKey(ctx, userID, kind)
}

// FeedOwner returns whose feed of kind secret opens: NotFound for an
// unknown, revoked or renewed secret, or one of another kind, alike.
func (f *PersonalFeeds) FeedOwner(ctx context.Context, secret, kind string) (string, error) {
	notFound := hyperlieu.Errorf(hyperlieu.NotFound, "no such feed")
	if secret == "" || len(secret) > 64 {
		return "", notFound
	}
	k, err := f.store.FindFeedKey(ctx, feedHash(secret))
	if hyperlieu.KindOf(err) == hyperlieu.NotFound || (err == nil && k.Kind != kind) {
		return "", notFound
	}
	if err != nil {
		return "", fmt.Errorf("feed: %w", err)
	}
	return k.UserID, nil
}

// ExportUser lists which personal feeds the user has, and since when (not
// their secrets: only hashes are stored). It implements PersonalData.
func (f *PersonalFeeds) ExportUser(ctx context.Context, userID string) (map[string]any, error) {
	ks, err := f.store.FindFeedKeysOf(ctx, userID, FeedKinds)
	if err != nil {
		return nil, fmt.Errorf("export feeds: %w", err)
	}
	out := make([]map[string]any, len(ks))
	for i, k := range ks {
		out[i] = map[string]any{"kind": k.Kind, "createdAt": k.CreatedAt}
	}
	return map[string]any{"personalFeeds": out}, nil
}

// EraseUser revokes the user's feeds. It implements PersonalData.
func (f *PersonalFeeds) EraseUser(ctx context.Context, userID string) error {
	for _, kind := range FeedKinds {
		if err := f.store.DeleteFeedKey(ctx, userID, kind); err != nil {
			return fmt.Errorf("erase feeds: %w", err)
		}
	}
	return nil
}
