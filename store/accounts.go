package store

import (
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

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
	ListN        int       `bson:"listN,omitempty"` // its number in userList, for erasure
	ClaimKey     []byte    `bson:"claimKey,omitempty"`
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
		Roles: roles, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, ClaimKey: u.ClaimKey,
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
		Roles: roles, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(), ClaimKey: d.ClaimKey,
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
// decide, atomically, on insert. The user is listed for the admins first
// (userList): a crash or a refused email leaves an entry naming no user,
// which the list skips.
func (db *DB) CreateUser(ctx context.Context, u hyperlieu.User) error {
	if err := db.keyEmail(ctx, u.Email, u.ID); err != nil {
		return err
	}
	if err := db.listRoles(ctx, u); err != nil { // staff lists (roles.go)
		return err
	}
	ns, err := db.appendTo(ctx, userList, []listItem{{Owner: everyone, Ref: u.ID}})
	if err != nil {
		db.dropEmailKey(ctx, u.Email, u.ID)
		return err
	}
	d := toUserDoc(u)
	d.ListN = ns[0]
	if len(d.ClaimKey) == 0 {
		d.ClaimKey = hyperlieu.NewClaimKey()
	}
	_, err = db.c("users").InsertOne(ctx, d)
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

// UpdateUser sets the stored user's fields to u's (all but its number in
// userList, which u does not carry, and its claim key, set once when
// stored). NotFound if it is gone.
func (db *DB) UpdateUser(ctx context.Context, u hyperlieu.User) error {
	if err := db.listRoles(ctx, u); err != nil { // staff lists (roles.go)
		return err
	}
	raw, err := bson.Marshal(toUserDoc(u))
	if err != nil {
		return translate(err, "user")
	}
	elems, err := bson.Raw(raw).Elements()
	if err != nil {
		return translate(err, "user")
	}
	set := bson.D{}
	for _, e := range elems {
		if k := e.Key(); k != "_id" && k != "listN" && k != "claimKey" {
			set = append(set, bson.E{Key: k, Value: e.Value()})
		}
	}
	return db.updateByID(ctx, "users", u.ID, bson.D{{Key: "$set", Value: set}}, "user")
}

type sessionDoc struct {
	ID        string     `bson:"_id"`
	UserID    string     `bson:"userId"`
	CreatedAt time.Time  `bson:"createdAt"`
	RevokedAt *time.Time `bson:"revokedAt,omitempty"`
}

// CreateSession lists a new session under its user (sessionList, for
// export and erasure), then stores it.
func (db *DB) CreateSession(ctx context.Context, s account.Session) error {
	if _, err := db.appendTo(ctx, sessionList, []listItem{{Owner: s.UserID, Ref: s.ID}}); err != nil {
		return err
	}
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

// UpdateSessionRevoked marks the session revoked. Revoking twice keeps the
// earlier time ($min sets a missing field, and never raises one): one
// update by _id, atomic, where a filter on revokedAt would decode every
// session on the embedded database.
func (db *DB) UpdateSessionRevoked(ctx context.Context, id string, at time.Time) error {
	_, err := db.c("sessions").UpdateOne(ctx, byID(id), bson.D{{Key: "$min", Value: bson.D{{Key: "revokedAt", Value: at}}}})
	return translate(err, "session")
}

type refreshDoc struct {
	Hash      string    `bson:"_id"`
	SessionID string    `bson:"sessionId"`
	UserID    string    `bson:"userId"`
	CreatedAt time.Time `bson:"createdAt"`
	ExpiresAt time.Time `bson:"expiresAt"`
}

// CreateRefreshToken lists a refresh token under its user (refreshList,
// for erasure), then stores it by its hash.
func (db *DB) CreateRefreshToken(ctx context.Context, t account.RefreshToken) error {
	if _, err := db.appendTo(ctx, refreshList, []listItem{{Owner: t.UserID, Ref: t.Hash}}); err != nil {
		return err
	}
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

// maxUserReads bounds the users one filtered page reads: a filter a rare
// user matches would otherwise read every account for one page.
const maxUserReads = 200

// FindUsersBy returns a page of the users matching q, in the order they
// signed up (userList), and the cursor of the next page ("" on the last).
// The cursor is a number in the list; an older client's cursor, a user id,
// is read as that user's number. An unfiltered page reads the list's head,
// one number past it and, per user, its entry and the user (all by _id).
// A filter is checked user by user, Limit numbers at a time: a page probes
// at most maxUserReads numbers (or Limit, if more) and returns the matches
// found with a cursor to go on, so a rare match may take several short
// (even empty) pages.
// A whole email ("@" then a dot) is first looked up by its key: two reads.
func (db *DB) FindUsersBy(ctx context.Context, q account.UserQuery) (account.UserPage, error) {
	page := account.UserPage{Items: []hyperlieu.User{}}
	text := strings.ToLower(q.Text)
	if at := strings.IndexByte(text, '@'); q.After == "" && at > 0 && strings.Contains(text[at:], ".") {
		u, err := db.userByEmailKey(ctx, text)
		switch {
		case err == nil:
			if q.Role == "" || slices.Contains(u.Roles, q.Role) {
				page.Items = append(page.Items, u)
			}
			return page, nil
		case hyperlieu.KindOf(err) != hyperlieu.NotFound:
			return page, err
		} // not a whole address: a prefix, checked as below
	}
	from, err := db.userCursor(ctx, q.After)
	if err != nil {
		return page, err
	}
	budget := math.MaxInt // numbers a page may probe
	if q.Text != "" || q.Role != "" {
		budget = max(q.Limit, maxUserReads)
	}
	for start := from; len(page.Items) < q.Limit; {
		es, next, err := db.listAfter(ctx, userList, everyone, from, min(q.Limit, budget-(from-start)))
		if err != nil {
			return page, err
		}
		byID, err := docsByRef(ctx, db.r("users"), es, "users", func(d userDoc) string { return d.ID })
		if err != nil {
			return page, err
		}
		for i, e := range es {
			d, ok := byID[e.Ref]
			if !ok || d.ListN != e.N || !userMatches(d.user(), q) {
				continue // not stored (a failed sign-up), or listed twice
			}
			page.Items = append(page.Items, d.user())
			if len(page.Items) == q.Limit {
				if i < len(es)-1 || next != "" {
					next = strconv.Itoa(e.N) // full before the batch's end
				}
				break
			}
		}
		page.Next = next
		if next == "" {
			break
		}
		if from, _ = strconv.Atoi(next); from-start >= budget {
			break // the reads are spent: the cursor goes on
		}
	}
	return page, nil
}

// userCursor is the number after which the page starts: a number, or the
// id of the last user of a page an older version served.
func (db *DB) userCursor(ctx context.Context, after string) (int, error) {
	if after == "" {
		return 0, nil
	}
	if n, err := strconv.Atoi(after); err == nil && n >= 0 {
		return n, nil
	}
	var d userDoc
	switch err := db.r("users").FindOne(ctx, byID(after)).Decode(&d); {
	case errors.Is(err, mongo.ErrNoDocuments):
		return 0, hyperlieu.InvalidField("cursor", "is not a cursor this API returned")
	case err != nil:
		return 0, translate(err, "user")
	}
	return d.ListN, nil
}

// userMatches says whether u passes q's filters: a role it holds, and a
// text in its email or display name, ignoring case (an address-like text,
// with "@", at the start of the email).
func userMatches(u hyperlieu.User, q account.UserQuery) bool {
	if q.Role != "" && !slices.Contains(u.Roles, q.Role) {
		return false
	}
	t := strings.ToLower(q.Text)
	switch {
	case t == "":
		return true
	case strings.Contains(t, "@"):
		return strings.HasPrefix(strings.ToLower(u.Email), t)
	}
	return strings.Contains(strings.ToLower(u.Email), t) || strings.Contains(strings.ToLower(u.DisplayName), t)
}

// migrateUserList lists the accounts made before userList, oldest first.
func (db *DB) migrateUserList(ctx context.Context) (int, error) {
	return db.listEveryone(ctx, userList, "users", "createdAt", nil)
}
