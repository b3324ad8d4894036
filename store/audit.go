package store

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/hyperlieu/hyperlieu"
)

// audit_trail is keyed by the entry's id, which sorts by time; its pages
// and each person's entries are read through auditList (adminlists.go).
const auditTrail = "audit_trail"

type auditDoc struct {
	ID        string    `bson:"_id"`
	At        time.Time `bson:"at"`
	ActorID   string    `bson:"actorId"`
	ActorRole string    `bson:"actorRole"`
	Action    string    `bson:"action"`
	UserID    string    `bson:"userId,omitempty"`
	ShopID    string    `bson:"shopId,omitempty"`
	ObjectID  string    `bson:"objectId,omitempty"`
	Kind      string    `bson:"kind,omitempty"`
	N         int       `bson:"listN,omitempty"` // its number under everyone
}

func (d auditDoc) entry() hyperlieu.AuditEntry {
	return hyperlieu.AuditEntry{ID: d.ID, At: d.At.UTC(), ActorID: d.ActorID, ActorRole: hyperlieu.Role(d.ActorRole),
		Action: hyperlieu.AuditAction(d.Action), UserID: d.UserID, ShopID: d.ShopID, ObjectID: d.ObjectID, Kind: d.Kind}
}

// CreateAuditEntry lists e under everyone (the admins' page) and under
// each person it names (export, erasure), in one insert and one update of
// the heads, then inserts it under its id with its number in the global
// list. Listed first: a crash between leaves an entry naming nothing,
// which readers skip, never an entry no list finds.
func (db *DB) CreateAuditEntry(ctx context.Context, e hyperlieu.AuditEntry) error {
	items := []listItem{{Owner: everyone, Ref: e.ID}}
	for _, who := range []string{e.ActorID, e.UserID} {
		if who != "" && who != everyone && (len(items) == 1 || items[1].Owner != who) {
			items = append(items, listItem{Owner: who, Ref: e.ID})
		}
	}
	ns, err := db.appendTo(ctx, auditList, items)
	if err != nil {
		return err
	}
	_, err = db.c(auditTrail).InsertOne(ctx, auditDoc{ID: e.ID, At: e.At.UTC(), ActorID: e.ActorID, ActorRole: string(e.ActorRole),
		Action: string(e.Action), UserID: e.UserID, ShopID: e.ShopID, ObjectID: e.ObjectID, Kind: e.Kind, N: ns[0]})
	return translate(err, "audit entry")
}

// FindAuditEntriesAfter returns up to limit entries after the entry after
// ("" for the first) in the global list's order, oldest first: the
// cursor's number (one read), the list's head and one read past it, then
// two reads per entry. Entries were numbered as they were recorded, which
// is their ids' order as far as the instances' clocks agree. An unknown
// cursor (an id never recorded, or one stored before the lists and not
// migrated) gives an empty page.
func (db *DB) FindAuditEntriesAfter(ctx context.Context, after string, limit int) ([]hyperlieu.AuditEntry, error) {
	from := 0
	if after != "" {
		var d auditDoc
		switch err := db.r(auditTrail).FindOne(ctx, byID(after)).Decode(&d); {
		case errors.Is(err, mongo.ErrNoDocuments) || err == nil && d.N == 0:
			return []hyperlieu.AuditEntry{}, nil
		case err != nil:
			return nil, translate(err, "audit entry")
		}
		from = d.N
	}
	out := []hyperlieu.AuditEntry{}
	for len(out) < limit {
		es, next, err := db.listAfter(ctx, auditList, everyone, from, limit-len(out))
		if err != nil {
			return nil, err
		}
		byRef, err := docsByRef(ctx, db.r(auditTrail), es, "audit entries", func(d auditDoc) string { return d.ID })
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			// Not stored yet (its writer lists it first), or listed twice
			// by a migration cut short: its document names its number.
			if d, ok := byRef[e.Ref]; ok && d.N == e.N {
				out = append(out, d.entry())
			}
		}
		if next == "" {
			break
		}
		from, _ = strconv.Atoi(next)
	}
	return out, nil
}

// auditOf returns the entries naming userID, through their list.
func (db *DB) auditOf(ctx context.Context, userID string) ([]auditDoc, error) {
	ids, err := db.listedRefs(ctx, auditList, userID)
	if err != nil {
		return nil, err
	}
	docs, err := findByIDs(ctx, db.r(auditTrail), ids, nil, "audit entries", func(d auditDoc) auditDoc { return d })
	slices.SortFunc(docs, func(a, b auditDoc) int { return strings.Compare(a.ID, b.ID) })
	return docs, err
}

// FindAuditEntriesOf returns the entries naming userID, in _id order: their
// list's head, one read past it, two reads per entry.
func (db *DB) FindAuditEntriesOf(ctx context.Context, userID string) ([]hyperlieu.AuditEntry, error) {
	docs, err := db.auditOf(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]hyperlieu.AuditEntry, len(docs))
	for i, d := range docs {
		out[i] = d.entry()
	}
	return out, nil
}

// EraseAuditUser replaces userID by "erased" in the entries naming it, and
// in their object ids (an activity's source key may hold it), by _id, then
// drops the user's list. Entries recorded meanwhile are listed above the
// top read here: dropList reads the top again, so they lose their entry;
// erasure runs again on a retry, as it must for every area.
func (db *DB) EraseAuditUser(ctx context.Context, userID string) error {
	docs, err := db.auditOf(ctx, userID)
	if err != nil {
		return err
	}
	for _, d := range docs {
		for _, f := range []*string{&d.ActorID, &d.UserID} {
			if *f == userID {
				*f = "erased"
			}
		}
		d.ObjectID = strings.ReplaceAll(d.ObjectID, userID, "erased")
		if err := db.replaceByID(ctx, auditTrail, d.ID, d, "audit entry"); err != nil && hyperlieu.KindOf(err) != hyperlieu.NotFound {
			return err
		}
	}
	return db.dropList(ctx, auditList, userID)
}

// migrateAudit lists the entries recorded before the audit lists, oldest
// first, under everyone and each person they name.
func (db *DB) migrateAudit(ctx context.Context) (int, error) {
	return db.listEveryone(ctx, auditList, auditTrail, "_id", func(d bson.Raw) []listItem {
		var a auditDoc
		if bson.Unmarshal(d, &a) != nil {
			return nil
		}
		var items []listItem
		for _, who := range []string{a.ActorID, a.UserID} {
			if who != "" && who != "erased" && (len(items) == 0 || items[0].Owner != who) {
				items = append(items, listItem{Owner: who, Ref: a.ID})
			}
		}
		return items
	})
}
