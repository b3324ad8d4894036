package audit_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/audit"
)

// memStore keeps entries in id order.
type memStore struct{ es []hyperlieu.AuditEntry }

func (m *memStore) CreateAuditEntry(ctx context.Context, e hyperlieu.AuditEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.es = append(m.es, e)
	slices.SortFunc(m.es, func(a, b hyperlieu.AuditEntry) int { return strings.Compare(a.ID, b.ID) })
	return nil
}

func (m *memStore) FindAuditEntriesAfter(_ context.Context, after string, limit int) ([]hyperlieu.AuditEntry, error) {
	var out []hyperlieu.AuditEntry
	for _, e := range m.es {
		if e.ID > after && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (m *memStore) FindAuditEntriesOf(context.Context, string) ([]hyperlieu.AuditEntry, error) {
	return nil, nil
}

func (m *memStore) EraseAuditUser(context.Context, string) error { return nil }

func TestRecordAndList(t *testing.T) {
	clock := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	st := &memStore{}
	s := audit.NewService(st, audit.Options{Now: func() time.Time { return clock }}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	// A request already cancelled still leaves its entry: the act happened.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i, a := range []hyperlieu.AuditAction{hyperlieu.AuditGesture, hyperlieu.AuditRedemption, hyperlieu.AuditActivity} {
		s.Record(ctx, hyperlieu.AuditEntry{ActorID: "m1", ActorRole: hyperlieu.RoleManager, Action: a, UserID: "u1", ObjectID: string(rune('a' + i))})
	}
	if len(st.es) != 3 {
		t.Fatalf("%d entries stored, want 3", len(st.es))
	}
	admin := hyperlieu.Actor{UserID: "a1", Roles: []hyperlieu.Role{hyperlieu.RoleAdmin}}
	page, next, err := s.List(context.Background(), admin, "", 2)
	if err != nil || len(page) != 2 || next != page[1].ID || page[0].ObjectID != "a" || !page[0].At.Equal(clock) {
		t.Fatalf("List(first 2) = %v, %q, %v; want a and b, oldest first, and a cursor", page, next, err)
	}
	rest, next, err := s.List(context.Background(), admin, next, 2)
	if err != nil || len(rest) != 1 || rest[0].ObjectID != "c" || next != "" {
		t.Errorf("List(after) = %v, %q, %v; want c and no cursor", rest, next, err)
	}
	manager := hyperlieu.Actor{UserID: "m1", Roles: []hyperlieu.Role{hyperlieu.RoleManager}}
	if _, _, err := s.List(context.Background(), manager, "", 10); hyperlieu.KindOf(err) != hyperlieu.Forbidden {
		t.Errorf("List by a manager = %v, want Forbidden", err)
	}
	if _, _, err := s.List(context.Background(), admin, "", audit.MaxPage+1); hyperlieu.KindOf(err) != hyperlieu.Invalid {
		t.Errorf("List(limit %d) = %v, want Invalid", audit.MaxPage+1, err)
	}
}
