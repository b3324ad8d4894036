package store

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu"
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
	ss, err := findMany(ctx, db.r("sessions"), bson.D{{Key: "userId", Value: userID}}, options.Find().SetSort(bson.D{{Key: "createdAt", Value: 1}}),
		"sessions", func(s sessionDoc) map[string]any {
			return map[string]any{"id": s.ID, "createdAt": s.CreatedAt.UTC(), "revoked": s.RevokedAt != nil}
		})
	if err != nil {
		return nil, err
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
// again), its sessions (which revokes them) and refresh tokens. Erasing a
// user that is gone is not an error.
func (db *DB) EraseUser(ctx context.Context, userID string) error {
	u, err := db.FindUser(ctx, userID)
	if hyperlieu.KindOf(err) == hyperlieu.NotFound {
		u, err = hyperlieu.User{}, nil
	}
	if err != nil {
		return err
	}
	byUser := bson.D{{Key: "userId", Value: userID}}
	for _, coll := range []string{"refresh_tokens", "sessions"} {
		if _, err := db.c(coll).DeleteMany(ctx, byUser); err != nil {
			return translate(err, coll)
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
