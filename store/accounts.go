package store

import (
	"context"
	"regexp"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/account"
)

func accountIndexes() []indexSpec {
	return []indexSpec{
		{"users", unique(bson.D{{Key: "email", Value: 1}})},
		{"users", index(bson.D{{Key: "roles", Value: 1}, {Key: "_id", Value: 1}})},
		{"sessions", index(bson.D{{Key: "userId", Value: 1}})},
		{"refresh_tokens", index(bson.D{{Key: "userId", Value: 1}})},
	}
}

type userDoc struct {
	ID           string    `bson:"_id"`
	Email        string    `bson:"email"`
	DisplayName  string    `bson:"displayName"`
	PasswordHash string    `bson:"passwordHash"`
	Roles        []string  `bson:"roles"`
	Prefs        prefsDoc  `bson:"prefs"`
	CreatedAt    time.Time `bson:"createdAt"`
	UpdatedAt    time.Time `bson:"updatedAt"`
}

type prefsDoc struct {
	Locale                 string         `bson:"locale"`
	Timezone               string         `bson:"timezone"`
	Formality              string         `bson:"formality"`
	QuietHours             *quietHoursDoc `bson:"quietHours,omitempty"`
	MaxNotificationsPerDay int            `bson:"maxNotificationsPerDay"`
	Categories             []string       `bson:"categories"`
	LocationConsent        bool           `bson:"locationConsent"`
	ShowInAttendeeLists    bool           `bson:"showInAttendeeLists"`
}

type quietHoursDoc struct {
	From string `bson:"from"`
	To   string `bson:"to"`
}

func toUserDoc(u hyperlieu.User) userDoc {
	roles := make([]string, len(u.Roles))
	for i, r := range u.Roles {
		roles[i] = string(r)
	}
	p := u.Prefs
	d := userDoc{
		ID: u.ID, Email: u.Email, DisplayName: u.DisplayName, PasswordHash: u.PasswordHash,
		Roles: roles, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
		Prefs: prefsDoc{
			Locale: p.Locale, Timezone: p.Timezone, Formality: string(p.Formality),
			MaxNotificationsPerDay: p.MaxNotificationsPerDay, Categories: p.Categories,
			LocationConsent: p.LocationConsent, ShowInAttendeeLists: p.ShowInAttendeeLists,
		},
	}
	if p.QuietHours != nil {
		d.Prefs.QuietHours = &quietHoursDoc{From: p.QuietHours.From, To: p.QuietHours.To}
	}
	if d.Prefs.Categories == nil {
		d.Prefs.Categories = []string{}
	}
	return d
}

func (d userDoc) user() hyperlieu.User {
	roles := make([]hyperlieu.Role, len(d.Roles))
	for i, r := range d.Roles {
		roles[i] = hyperlieu.Role(r)
	}
	p := d.Prefs
	u := hyperlieu.User{
		ID: d.ID, Email: d.Email, DisplayName: d.DisplayName, PasswordHash: d.PasswordHash,
		Roles: roles, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
		Prefs: hyperlieu.Preferences{
			Locale: p.Locale, Timezone: p.Timezone, Formality: hyperlieu.Formality(p.Formality),
			MaxNotificationsPerDay: p.MaxNotificationsPerDay, Categories: p.Categories,
			LocationConsent: p.LocationConsent, ShowInAttendeeLists: p.ShowInAttendeeLists,
		},
	}
	if p.QuietHours != nil {
		u.Prefs.QuietHours = &hyperlieu.QuietHours{From: p.QuietHours.From, To: p.QuietHours.To}
	}
	return u
}

// CreateUser stores a new user. It returns Conflict when the email is taken:
// the email's key (see accounts_email.go) and the unique index on email
// decide, atomically, on insert.
func (db *DB) CreateUser(ctx context.Context, u hyperlieu.User) error {
	if err := db.keyEmail(ctx, u.Email, u.ID); err != nil {
		return err
	}
	if err := db.listRoles(ctx, u); err != nil { // staff lists (roles.go)
		return err
	}
	_, err := db.c("users").InsertOne(ctx, toUserDoc(u))
	if err != nil {
		db.dropEmailKey(ctx, u.Email, u.ID)
	}
	if hyperlieu.KindOf(translate(err, "")) == hyperlieu.Conflict {
		return &hyperlieu.Error{Kind: hyperlieu.Conflict, Message: "an account with this email already exists", Err: err}
	}
	return translate(err, "user")
}

// FindUser returns the user with id, or NotFound.
func (db *DB) FindUser(ctx context.Context, id string) (hyperlieu.User, error) {
	var d userDoc
	err := db.r("users").FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if err != nil {
		return hyperlieu.User{}, translate(err, "user")
	}
	return d.user(), nil
}

// FindUserByEmail returns the user with the normalised email, or NotFound:
// two reads by _id, the email's key then the user.
func (db *DB) FindUserByEmail(ctx context.Context, email string) (hyperlieu.User, error) {
	return db.userByEmailKey(ctx, email)
}

// UpdateUser replaces the stored user with u. NotFound if it is gone.
func (db *DB) UpdateUser(ctx context.Context, u hyperlieu.User) error {
	if err := db.listRoles(ctx, u); err != nil { // staff lists (roles.go)
		return err
	}
	return db.replaceByID(ctx, "users", u.ID, toUserDoc(u), "user")
}

type sessionDoc struct {
	ID        string     `bson:"_id"`
	UserID    string     `bson:"userId"`
	CreatedAt time.Time  `bson:"createdAt"`
	RevokedAt *time.Time `bson:"revokedAt,omitempty"`
}

// CreateSession stores a new session.
func (db *DB) CreateSession(ctx context.Context, s account.Session) error {
	_, err := db.c("sessions").InsertOne(ctx, sessionDoc{ID: s.ID, UserID: s.UserID, CreatedAt: s.CreatedAt})
	return translate(err, "session")
}

// FindSession returns the session with id, or NotFound.
func (db *DB) FindSession(ctx context.Context, id string) (account.Session, error) {
	var d sessionDoc
	if err := db.r("sessions").FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return account.Session{}, translate(err, "session")
	}
	s := account.Session{ID: d.ID, UserID: d.UserID, CreatedAt: d.CreatedAt.UTC()}
	if d.RevokedAt != nil {
		s.RevokedAt = d.RevokedAt.UTC()
	}
	return s, nil
}

// UpdateSessionRevoked marks the session revoked. Revoking twice keeps the first
// time; it is idempotent, so it needs no atomic read-modify-write.
func (db *DB) UpdateSessionRevoked(ctx context.Context, id string, at time.Time) error {
	_, err := db.c("sessions").UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "revokedAt", Value: bson.D{{Key: "$exists", Value: false}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "revokedAt", Value: at}}}})
	return translate(err, "session")
}

type refreshDoc struct {
	Hash      string    `bson:"_id"`
	SessionID string    `bson:"sessionId"`
	UserID    string    `bson:"userId"`
	CreatedAt time.Time `bson:"createdAt"`
	ExpiresAt time.Time `bson:"expiresAt"`
}

// CreateRefreshToken stores a refresh token by its hash.
func (db *DB) CreateRefreshToken(ctx context.Context, t account.RefreshToken) error {
	_, err := db.c("refresh_tokens").InsertOne(ctx, refreshDoc(t))
	return translate(err, "refresh token")
}

// FindRefreshToken returns the token with hash, or NotFound.
func (db *DB) FindRefreshToken(ctx context.Context, hash string) (account.RefreshToken, error) {
	var d refreshDoc
	if err := db.r("refresh_tokens").FindOne(ctx, bson.D{{Key: "_id", Value: hash}}).Decode(&d); err != nil {
		return account.RefreshToken{}, translate(err, "refresh token")
	}
	d.CreatedAt, d.ExpiresAt = d.CreatedAt.UTC(), d.ExpiresAt.UTC()
	return account.RefreshToken(d), nil
}

// UpdateRefreshTokenUsed records that the token was used. The record is an insert
// keyed by the token's hash, so exactly one of two racing uses wins, on
// MongoDB and on FerretDB alike; the loser gets Conflict.
func (db *DB) UpdateRefreshTokenUsed(ctx context.Context, hash string, at time.Time) error {
	_, err := db.c("refresh_uses").InsertOne(ctx, bson.D{{Key: "_id", Value: hash}, {Key: "at", Value: at}})
	return translate(err, "refresh token use")
}

// FindUsersBy returns at most q.Limit users matching q with an id after
// q.After, in id order. On MongoDB the _id order, and the {roles, _id} index
// for a role, bound the work by the page; a text (a case-insensitive
// substring of email or display name) can only be checked document by
// document, so a rare text may read many users before it fills a page, and
// the request's deadline bounds it. An email-like text ("@" in it) matches
// the start of the address only, which the unique email index serves. The
// embedded FerretDB reads every document for any query but by _id
// (docs/ferretdb.md), so there this costs a scan of the users, once per page.
func (db *DB) FindUsersBy(ctx context.Context, q account.UserQuery) ([]hyperlieu.User, error) {
	filter := bson.D{}
	if q.After != "" {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: q.After}}})
	}
	if q.Role != "" {
		filter = append(filter, bson.E{Key: "roles", Value: string(q.Role)})
	}
	if t := q.Text; t != "" {
		quoted := regexp.QuoteMeta(strings.ToLower(t))
		if strings.Contains(t, "@") {
			filter = append(filter, bson.E{Key: "email", Value: bson.D{{Key: "$regex", Value: "^" + quoted}}})
		} else {
			filter = append(filter, bson.E{Key: "$or", Value: bson.A{
				bson.D{{Key: "email", Value: bson.D{{Key: "$regex", Value: quoted}, {Key: "$options", Value: "i"}}}},
				bson.D{{Key: "displayName", Value: bson.D{{Key: "$regex", Value: regexp.QuoteMeta(t)}, {Key: "$options", Value: "i"}}}},
			}})
		}
	}
	return findMany(ctx, db.r("users"), filter,
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(q.Limit)), "users", userDoc.user)
}
