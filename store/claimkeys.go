package store

import (
	"context"
	"crypto/sha256"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/campaign"
	"github.com/hyperlieu/hyperlieu/notify"
)

// MigrateClaimKeys gives every account stored before claim keys one, and
// re-keys the claims older versions stored naming their customer (trigger
// claims "stay:<campaign>:<user>:<entered>" and "trigger:<campaign>:<user>:<n>",
// daily contacts "contact:<user>:<day>:<n>") under it, so that erasure has
// nothing to find by userId (see hyperlieu.User.ClaimKey). Claims of
// accounts already gone are deleted. It returns how many claims it
// re-keyed or deleted. Once per database; a start that finds it done
// costs one read.
func (db *DB) MigrateClaimKeys(ctx context.Context) (int, error) {
	n := 0
	err := db.once(ctx, "claim-keys-1", func() (err error) {
		n, err = db.rekeyClaims(ctx)
		return err
	})
	return n, err
}

// legacyClaimKey is the claim key given to an account stored before claim
// keys. It is derived, not drawn, so that two instances migrating at once
// give the same key (FerretDB's updates are not atomic across
// connections, so a conditional set would not settle it): from the
// password hash, which is salted, as secret as the key, and erased with
// it. An account without a password gets a drawn key.
func legacyClaimKey(d userDoc) []byte {
	if d.PasswordHash == "" {
		return hyperlieu.NewClaimKey()
	}
	sum := sha256.Sum256([]byte("hyperlieu claim key\x00" + d.PasswordHash))
	return sum[:]
}

type legacyClaimDoc struct {
	ID         string    `bson:"_id"`
	CampaignID string    `bson:"campaignId"`
	UserID     string    `bson:"userId"`
	N          int       `bson:"n"`
	At         time.Time `bson:"at"`
}

func (db *DB) rekeyClaims(ctx context.Context) (int, error) {
	// Keys first: the claims are then re-keyed under what is stored.
	noKey := bson.D{{Key: "claimKey", Value: bson.D{{Key: "$exists", Value: false}}}}
	rest, err := findMany(ctx, db.r("users"), noKey, nil, "users", func(d userDoc) userDoc { return d })
	if err != nil {
		return 0, err
	}
	sets := make([]mongo.WriteModel, 0, len(rest))
	for _, d := range rest {
		sets = append(sets, mongo.NewUpdateOneModel().SetFilter(byID(d.ID)).
			SetUpdate(bson.D{{Key: "$set", Value: bson.D{{Key: "claimKey", Value: legacyClaimKey(d)}}}}))
	}
	if err := db.bulkByID(ctx, "users", sets); err != nil {
		return 0, err
	}
	named := bson.D{{Key: "userId", Value: bson.D{{Key: "$exists", Value: true}}}}
	triggers, err := findMany(ctx, db.r("triggers"), named, nil, "triggers", func(d legacyClaimDoc) legacyClaimDoc { return d })
	if err != nil {
		return 0, err
	}
	contacts, err := findMany(ctx, db.r("contact_slots"), named, nil, "contact slots", func(d legacyClaimDoc) legacyClaimDoc { return d })
	if err != nil {
		return 0, err
	}
	users := map[string]*hyperlieu.User{} // nil: gone
	user := func(id string) (*hyperlieu.User, error) {
		if u, ok := users[id]; ok {
			return u, nil
		}
		d, err := db.rawUser(ctx, id)
		if err != nil || d.ID == "" {
			users[id] = nil
			return nil, err
		}
		u := d.user()
		users[id] = &u
		return &u, nil
	}
	n := 0
	for _, x := range []struct {
		coll   string
		claims []legacyClaimDoc
		key    func(hyperlieu.User, legacyClaimDoc) (string, bool)
	}{
		{"triggers", triggers, legacyTriggerKey},
		{"contact_slots", contacts, legacyContactKey},
	} {
		var docs []any
		var old []string
		for _, c := range x.claims {
			u, err := user(c.UserID)
			if err != nil {
				return n, err
			}
			if u != nil {
				if key, ok := x.key(*u, c); ok {
					docs = append(docs, triggerClaimDoc{Key: key, N: c.N, At: c.At})
				}
			}
			old = append(old, c.ID)
		}
		if _, err := db.insertMany(ctx, x.coll, docs); err != nil { // those there already were re-keyed by another start
			return n, err
		}
		if err := db.deleteByIDs(ctx, x.coll, old); err != nil {
			return n, err
		}
		n += len(old)
	}
	return n, nil
}

// legacyTriggerKey is the key the claim c of an older version has now, for
// its customer u; false for a claim of a format no version reads.
func legacyTriggerKey(u hyperlieu.User, c legacyClaimDoc) (string, bool) {
	switch {
	case strings.HasPrefix(c.ID, "stay:"):
		nanos, err := strconv.ParseInt(c.ID[strings.LastIndexByte(c.ID, ':')+1:], 10, 64)
		if err != nil {
			return "", false
		}
		return campaign.StayKey(c.CampaignID, u, time.Unix(0, nanos)), true
	case strings.HasPrefix(c.ID, "trigger:") && c.N > 0:
		return campaign.TriggerKey(c.CampaignID, u, c.N), true
	}
	return "", false
}

// legacyContactKey is the key of the daily contact c
// ("contact:<user>:<day>:<n>") now.
func legacyContactKey(u hyperlieu.User, c legacyClaimDoc) (string, bool) {
	parts := strings.Split(c.ID, ":")
	if len(parts) != 4 || parts[0] != "contact" {
		return "", false
	}
	n, err := strconv.Atoi(parts[3])
	if err != nil {
		return "", false
	}
	return notify.ContactSlot(u, parts[2], n), true
}
