// Package audit keeps the audit trail: every gesture, redemption and
// activity recorded by hand, with who did it, when and for whom.
package audit

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// MaxPage is the most entries one List returns.
const MaxPage = 500

// Store keeps entries keyed by id.
type Store interface {
	CreateAuditEntry(ctx context.Context, e hyperlieu.AuditEntry) error
	// FindAuditEntriesAfter returns up to limit entries with an id after
	// after, in id order.
	FindAuditEntriesAfter(ctx context.Context, after string, limit int) ([]hyperlieu.AuditEntry, error)
	// FindAuditEntriesOf returns the entries naming userID, as actor or for whom.
	FindAuditEntriesOf(ctx context.Context, userID string) ([]hyperlieu.AuditEntry, error)
	// EraseAuditUser replaces userID by "erased" in every entry naming it.
	EraseAuditUser(ctx context.Context, userID string) error
}

// Options tunes the service. Zero fields take defaults.
type Options struct {
	Now     func() time.Time
	Timeout time.Duration // of one Record, detached from its request; default 5s
}

// Service records and lists the audit trail. It implements
// hyperlieu.Auditor and hyperlieu.PersonalData.
type Service struct {
	store Store
	opts  Options
	ids   *hyperlieu.TimeIDs
	log   *slog.Logger
}

var (
	_ hyperlieu.Auditor      = (*Service)(nil)
	_ hyperlieu.PersonalData = (*Service)(nil)
)

// NewService returns the audit use cases over store.
func NewService(store Store, opts Options, log *slog.Logger) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	return &Service{store: store, opts: opts, ids: hyperlieu.NewTimeIDs(opts.Now), log: log}
}

// Record stores e under a new id sortable by time, with At now when unset.
// The act it records has happened, so it outlives the request (a timeout
// there must not lose the entry) and a failure is logged, not returned.
func (s *Service) Record(ctx context.Context, e hyperlieu.AuditEntry) {
	e.ID = s.ids.Next()
	if e.At.IsZero() {
		e.At = s.opts.Now()
	}
	e.At = e.At.UTC()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.Timeout)
	defer cancel()
	if err := s.store.CreateAuditEntry(ctx, e); err != nil {
		s.log.ErrorContext(ctx, "audit entry lost", "action", e.Action, "actor", e.ActorID, "object", e.ObjectID, "err", err)
	}
}

// List returns up to limit entries (0: MaxPage) after the entry with id
// after ("" for the first), oldest first, and the cursor of the next page
// ("" on the last). Forbidden unless an admin; Invalid for a bad limit.
// Entries of different instances are ordered as far as their clocks agree.
func (s *Service) List(ctx context.Context, a hyperlieu.Actor, after string, limit int) ([]hyperlieu.AuditEntry, string, error) {
	if !a.Is(hyperlieu.RoleAdmin) {
		return nil, "", hyperlieu.Errorf(hyperlieu.Forbidden, "only admins read the audit trail")
	}
	limit, err := hyperlieu.TimeIDPage(after, limit, MaxPage)
	if err != nil {
		return nil, "", err
	}
	es, err := s.store.FindAuditEntriesAfter(ctx, after, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("audit trail: %w", err)
	}
	if len(es) <= limit {
		return es, "", nil
	}
	es = es[:limit]
	return es, es[len(es)-1].ID, nil
}

// ExportUser returns the entries naming the user.
func (s *Service) ExportUser(ctx context.Context, userID string) (map[string]any, error) {
	es, err := s.store.FindAuditEntriesOf(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("export audit: %w", err)
	}
	out := make([]map[string]any, len(es))
	for i, e := range es {
		out[i] = map[string]any{"id": e.ID, "at": e.At, "action": string(e.Action), "actorId": e.ActorID,
			"actorRole": string(e.ActorRole), "userId": e.UserID, "shopId": e.ShopID, "objectId": e.ObjectID, "kind": e.Kind}
	}
	return map[string]any{"audit": out}, nil
}

// EraseUser keeps the entries naming the user, without their id: the trail
// still says what was done, no longer by or for whom.
func (s *Service) EraseUser(ctx context.Context, userID string) error {
	if err := s.store.EraseAuditUser(ctx, userID); err != nil {
		return fmt.Errorf("erase audit: %w", err)
	}
	return nil
}
