package store

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu"
)

// Sign-in finds an account by email. A query on users.email is indexed on
// MongoDB but decodes every user on the embedded database, so each email
// is also the key of a small document naming its user: one _id read, then
// the user by _id. The key is written before the user and deleted after
// it, so it never misses an account; a key left by a crash between the two
// names a user that does not exist, reads as no account, and is taken over
// by the next sign-up with that email. The unique index on users.email
// still decides who gets an email.
const emailKeys = "user_emails"

type emailKeyDoc struct {
	Email  string `bson:"_id"`
	UserID string `bson:"userId"`
}

// keyEmail points email at userID, taking over a key whose user is gone.
func (db *DB) keyEmail(ctx context.Context, email, userID string) error {
	_, err := db.c(emailKeys).InsertOne(ctx, emailKeyDoc{email, userID})
	if hyperlieu.KindOf(translate(err, "")) != hyperlieu.Conflict {
		return translate(err, "email key")
	}
	var k emailKeyDoc
	if err := db.r(emailKeys).FindOne(ctx, byID(email)).Decode(&k); err != nil {
		return translate(err, "email key")
	}
	if k.UserID == userID {
		return nil
	}
	switch _, err := db.FindUser(ctx, k.UserID); {
	case err == nil:
		return &hyperlieu.Error{Kind: hyperlieu.Conflict, Message: "an account with this email already exists"}
	case hyperlieu.KindOf(err) != hyperlieu.NotFound:
		return err
	}
	_, err = db.c(emailKeys).ReplaceOne(ctx, byID(email), emailKeyDoc{email, userID})
	return translate(err, "email key")
}

// userByEmailKey returns the user email's key names, or NotFound.
func (db *DB) userByEmailKey(ctx context.Context, email string) (hyperlieu.User, error) {
	var k emailKeyDoc
	if err := db.r(emailKeys).FindOne(ctx, byID(email)).Decode(&k); err != nil {
		return hyperlieu.User{}, translate(err, "user")
	}
	u, err := db.FindUser(ctx, k.UserID)
	if err == nil && u.Email != email { // a key left over, for a user since erased and recreated
		return hyperlieu.User{}, &hyperlieu.Error{Kind: hyperlieu.NotFound, Message: "user not found"}
	}
	return u, err
}

// dropEmailKey deletes email's key if it names userID, whose insert failed;
// a key left anyway reads as no account and is taken over (see keyEmail).
func (db *DB) dropEmailKey(ctx context.Context, email, userID string) {
	var k emailKeyDoc
	if db.r(emailKeys).FindOne(ctx, byID(email)).Decode(&k) == nil && k.UserID == userID {
		_ = db.unkeyEmail(context.WithoutCancel(ctx), email)
	}
}

// unkeyEmail deletes email's key.
func (db *DB) unkeyEmail(ctx context.Context, email string) error {
	_, err := db.c(emailKeys).DeleteOne(ctx, byID(email))
	return translate(err, "email key")
}

// keyAllEmails gives every user stored before email keys existed its key,
// once per database (see once).
func (db *DB) keyAllEmails(ctx context.Context) error {
	return db.once(ctx, "user-emails-1", func() error {
		cur, err := db.r("users").Find(ctx, bson.D{}, options.Find().SetProjection(bson.D{{Key: "email", Value: 1}}))
		if err != nil {
			return translate(err, "users")
		}
		var users []struct {
			ID    string `bson:"_id"`
			Email string `bson:"email"`
		}
		if err := cur.All(ctx, &users); err != nil {
			return translate(err, "users")
		}
		for _, u := range users {
			_, err := db.c(emailKeys).InsertOne(ctx, emailKeyDoc{u.Email, u.ID})
			if err != nil && !mongo.IsDuplicateKeyError(err) {
				return translate(err, "email key")
			}
		}
		return nil
	})
}
