package store

import (
	"cmp"
	"context"
	"errors"
	"slices"

	"go.mongodb.org/mongo-driver/v2/mongo"
)

// ExportUser returns the account's profile, preferences and sessions: what
// the accounts area stores about the user, without password or token hashes.
// It returns NotFound when there is no such user.
func (db *DB) ExportUser(ctx context.Context, userID string) (map[string]any, error) {
	u, err := db.FindUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	roles := make([]string, len(u.Roles))
	for i, r := range u.Roles {
		roles[i] = string(r)
	}
	p := u.Prefs
	prefs := map[string]any{
		"locale": p.Locale, "timezone": p.Timezone, "formality": string(p.Formality),
		"maxNotificationsPerDay": p.MaxNotificationsPerDay, "categories": p.Categories,
		"locationConsent": p.LocationConsent, "showInAttendeeLists": p.ShowInAttendeeLists,
	}
	if p.QuietHours != nil {
		prefs["quietHours"] = map[string]any{"from": p.QuietHours.From, "to": p.QuietHours.To}
	}
	// The sessions, through the user's list (by _id: a query by userId
	// decodes every session on the embedded database), oldest first.
	ids, err := db.listedRefs(ctx, sessionList, userID)
	if err != nil {
		return nil, err
	}
	docs, err := findByIDs(ctx, db.r("sessions"), ids, nil, "sessions", func(s sessionDoc) sessionDoc { return s })
	if err != nil {
		return nil, err
	}
	slices.SortFunc(docs, func(a, b sessionDoc) int { return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID)) })
	ss := make([]map[string]any, len(docs))
	for i, s := range docs {
		ss[i] = map[string]any{"id": s.ID, "createdAt": s.CreatedAt.UTC(), "revoked": s.RevokedAt != nil}
	}
	return map[string]any{
		"profile": map[string]any{
			"id": u.ID, "email": u.Email, "displayName": u.DisplayName, "roles": roles,
			"createdAt": u.CreatedAt, "updatedAt": u.UpdatedAt,
		},
		"preferences": prefs,
		"sessions":    ss,
	}, nil
}

// EraseUser deletes the account: the user document (so the email is free
// again), its sessions (which revokes them) and refresh tokens, and the
// lists naming them, all by _id. Erasing a user that is gone is not an
// error.
func (db *DB) EraseUser(ctx context.Context, userID string) error {
	u, err := db.rawUser(ctx, userID) // zero when gone
	if err != nil {
		return err
	}
	for _, x := range []struct {
		l    ownerList
		coll string
	}{{refreshList, "refresh_tokens"}, {sessionList, "sessions"}} {
		ids, err := db.listedRefs(ctx, x.l, userID)
		if err != nil {
			return err
		}
		if err := db.deleteByIDs(ctx, x.coll, ids); err != nil {
			return err
		}
		if err := db.dropList(ctx, x.l, userID); err != nil {
			return err
		}
	}
	if u.ListN > 0 { // its entry in the admins' list names it
		if err := db.deleteByIDs(ctx, userList.coll, []string{userList.entry(everyone, u.ListN)}); err != nil {
			return err
		}
	}
	if _, err := db.c("users").DeleteOne(ctx, byID(userID)); err != nil {
		return translate(err, "user")
	}
	if u.Email == "" {
		return nil
	}
	return db.unkeyEmail(ctx, u.Email) // after the user: a key never misses an account
}

// rawUser returns the stored user document, with its list number; a zero
// document when it is gone.
func (db *DB) rawUser(ctx context.Context, id string) (userDoc, error) {
	var d userDoc
	err := db.r("users").FindOne(ctx, byID(id)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return userDoc{}, nil
	}
	return d, translate(err, "user")
}
