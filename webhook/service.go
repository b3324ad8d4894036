package webhook

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// Store is what the events use cases need from the database. Every write
// is a keyed single-document insert: the embedded database has no
// transactions, and scans any query not on _id.
type Store interface {
	// CreateWebhookEvent inserts e under its id.
	CreateWebhookEvent(ctx context.Context, e Event) error
	// CreateWebhookKey records key as published; Conflict if it was.
	CreateWebhookKey(ctx context.Context, key string) error
	// FindWebhookKey reports whether key was published.
	FindWebhookKey(ctx context.Context, key string) (bool, error)
	// FindWebhookEventsBetween returns up to limit events with after < id <
	// before, by id. It returns an empty slice when none match.
	FindWebhookEventsBetween(ctx context.Context, after, before string, limit int) ([]Event, error)
	Eraser
	EndpointStore
	QueueStore
	SlotStore
}

// Options tunes the service. Zero fields take defaults.
type Options struct {
	// StreamLag holds back the stream's newest events for this long, so that
	// a reader does not skip an event another instance, with a clock a
	// little behind, is still writing. Default 2s; negative means none.
	StreamLag time.Duration
	Now       func() time.Time
}

// Service records events, serves them as a stream, and queues their
// deliveries to the endpoints, which it keeps in memory.
type Service struct {
	store Store
	ids   *hyperlieu.TimeIDs
	opts  Options

	mu        sync.RWMutex
	endpoints map[string]Endpoint // by id; see Refresh

	slotMu sync.Mutex
	slots  map[string]int // by endpoint id: the newest list slot known taken (list.go)
}

// NewService returns the events use cases over store.
func NewService(store Store, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.StreamLag == 0 {
		opts.StreamLag = 2 * time.Second
	}
	return &Service{store: store, ids: hyperlieu.NewTimeIDs(opts.Now), opts: opts}
}

// Publish records es, each under a new id, and queues one delivery per
// endpoint that wants it. An event whose key was published before is
// skipped. It is at least once: the key is recorded after the event and its
// deliveries, so a crash between them may record it again on the
// producer's retry, under another id.
func (s *Service) Publish(ctx context.Context, es ...Keyed) error {
	for _, k := range es {
		if k.Key != "" {
			done, err := s.store.FindWebhookKey(ctx, k.Key)
			if err != nil {
				return fmt.Errorf("publish %s: %w", k.Event.Type, err)
			}
			if done {
				continue
			}
		}
		e := k.Event
		e.ID = s.ids.Next()
		if e.At.IsZero() {
			e.At = s.opts.Now().UTC()
		}
		if err := s.store.CreateWebhookEvent(ctx, e); err != nil {
			return fmt.Errorf("publish %s: %w", e.Type, err)
		}
		if err := s.queue(ctx, e); err != nil {
			return fmt.Errorf("publish %s: %w", e.Type, err)
		}
		if k.Key != "" {
			if err := s.store.CreateWebhookKey(ctx, k.Key); err != nil && hyperlieu.KindOf(err) != hyperlieu.Conflict {
				return fmt.Errorf("publish %s: %w", e.Type, err)
			}
		}
	}
	return nil
}

// MaxPage is the most events Events returns at once.
const MaxPage = 1000

// Events returns up to limit (1..MaxPage; 0 means MaxPage) events after the
// cursor after ("" for the first), oldest first. The last event's id is the
// next cursor; ids are kept in the database, so a cursor survives
// restarts. Invalid for a limit out of range.
func (s *Service) Events(ctx context.Context, after string, limit int) ([]Event, error) {
	limit, err := hyperlieu.TimeIDPage(after, limit, MaxPage)
	if err != nil {
		return nil, err
	}
	before := "~" // sorts after every id
	if s.opts.StreamLag > 0 {
		before = hyperlieu.TimeIDBefore(s.opts.Now().Add(-s.opts.StreamLag))
	}
	es, err := s.store.FindWebhookEventsBetween(ctx, after, before, limit)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return es, nil
}
