package notify

import (
	"context"
	"fmt"
)

// ExportUser returns the user's devices and every notification about them.
func (s *Service) ExportUser(ctx context.Context, userID string) (map[string]any, error) {
	devs, err := s.store.FindDevices(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("export notifications: %w", err)
	}
	devices := make([]any, len(devs))
	for i, d := range devs {
		devices[i] = map[string]any{"token": d.Token, "platform": d.Platform, "appVersion": d.AppVersion, "createdAt": d.CreatedAt, "updatedAt": d.UpdatedAt}
	}
	var notes []any
	q := Query{UserID: userID, Limit: 1000}
	for {
		ns, err := s.store.FindNotificationPage(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("export notifications: %w", err)
		}
		for _, n := range ns {
			m := map[string]any{"id": n.ID, "kind": string(n.Kind), "category": n.Category, "title": n.Title, "body": n.Body,
				"data": n.Data, "createdAt": n.CreatedAt, "status": string(n.Status)}
			if !n.OpenedAt.IsZero() {
				m["openedAt"] = n.OpenedAt
			}
			notes = append(notes, m)
		}
		if len(ns) < q.Limit {
			break
		}
		q.AfterCreated, q.AfterID = ns[len(ns)-1].CreatedAt, ns[len(ns)-1].ID
	}
	if notes == nil {
		notes = []any{}
	}
	return map[string]any{"devices": devices, "notifications": notes}, nil
}

// EraseUser deletes the user's devices, notifications and contact slots.
// Campaign open counts, kept by OnOpened's receiver, stay as aggregates.
func (s *Service) EraseUser(ctx context.Context, userID string) error {
	if err := s.store.DeleteNotificationData(ctx, userID); err != nil {
		return fmt.Errorf("erase notifications: %w", err)
	}
	return nil
}
