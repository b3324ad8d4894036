package store

import (
	"context"
	"errors"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// The admin, account and erasure paths of issue 15 read numbered lists
// (lists.go) instead of querying by a field other than _id, which the
// embedded database answers by decoding the whole collection:
//
//   - sessionList, refreshList: a person's sessions and refresh tokens, for
//     export and erasure;
//   - auditList: the whole trail under everyone (owner "*", the admins'
//     page), and each entry under every person it names (export, erasure);
//   - userList: every account under everyone, the admins' user list;
//   - inboxList under everyone: every notification, the admins' page;
//   - inboxList under "about:<person>": the notifications to others about
//     a person (a manager's low-rating alert quoting them), for erasure;
//   - webhookEventList (webhooks.go): the event stream, and each event
//     under the values of its data, for erasure; the webhook index
//     (webhooks_delivery.go) names the endpoints and the queue.
var (
	sessionList = ownerList{coll: "account_lists", prefix: "s"}
	refreshList = ownerList{coll: "account_lists", prefix: "r"}
	auditList   = ownerList{coll: "audit_lists", prefix: "a"}
	userList    = ownerList{coll: "user_lists", prefix: "u"}
)

// everyone owns the global lists; no id is made of a lone "*".
const everyone = "*"

// refsOf returns the documents es list, in their order.
func refsOf(es []listEntry) []string {
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.Ref
	}
	return ids
}

// docsByRef reads the documents es name from coll (one _id read each),
// by their _id (id); one not stored is absent, for the page to skip.
func docsByRef[D any](ctx context.Context, coll *mongo.Collection, es []listEntry, what string, id func(D) string) (map[string]D, error) {
	docs, err := findByIDs(ctx, coll, refsOf(es), nil, what, func(d D) D { return d })
	if err != nil {
		return nil, err
	}
	byID := make(map[string]D, len(docs))
	for _, d := range docs {
		byID[id(d)] = d
	}
	return byID, nil
}

// listAfter returns owner's entries numbered above after, oldest first,
// probing at most reads numbers (an erased entry leaves a hole, which
// costs its read), and the number to go on after ("" when the list's top
// was reached). A global list's page costs its head, one read past it, and
// one read per number.
func (db *DB) listAfter(ctx context.Context, l ownerList, owner string, after, reads int) ([]listEntry, string, error) {
	top, err := db.listTop(ctx, l, owner)
	if err != nil {
		return nil, "", err
	}
	var out []listEntry
	n := after
	for n < top && n-after < reads {
		n++
		var e listEntry
		err := db.r(l.coll).FindOne(ctx, byID(l.entry(owner, n))).Decode(&e)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue
		}
		if err != nil {
			return nil, "", translate(err, l.coll)
		}
		out = append(out, e)
	}
	if n >= top {
		return out, "", nil
	}
	return out, strconv.Itoa(n), nil
}

// MigrateAdminLists fills, once per database, the lists above from what
// older versions stored (one scan of each collection): sessions and
// refresh tokens per person, the audit trail, the accounts, every
// notification and those about a person. (The webhook index and event
// stream are MigrateWebhookLists', which runs before the endpoints load.) Each backfill skips what is
// listed, so a run cut short is finished by the next. It returns how many
// documents it listed.
func (db *DB) MigrateAdminLists(ctx context.Context) (int, error) {
	n := 0
	err := db.once(ctx, "admin-lists-1", func() error {
		for _, b := range []backfill{
			{l: sessionList, coll: "sessions", owner: "userId", by: "createdAt"},
			{l: refreshList, coll: "refresh_tokens", owner: "userId", by: "createdAt"},
		} {
			k, err := db.backfillList(ctx, b)
			n += k
			if err != nil {
				return err
			}
		}
		for _, migrate := range []func(context.Context) (int, error){db.migrateAudit, db.migrateUserList, db.migrateNotificationLists} {
			k, err := migrate(ctx)
			n += k
			if err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// listEveryone lists, under everyone in l and oldest first, the documents
// of coll that hold no number yet (listN), and writes each its number, in
// chunks: a chunk cut short by a crash is listed again by the next run
// (the reader skips an entry its document does not number).
func (db *DB) listEveryone(ctx context.Context, l ownerList, coll, by string, also func(bson.Raw) []listItem) (int, error) {
	sort := bson.D{{Key: by, Value: 1}, {Key: "_id", Value: 1}}
	if by == "_id" { // a key twice stalls the embedded database
		sort = sort[1:]
	}
	all, err := findMany(ctx, db.c(coll), bson.D{}, options.Find().SetSort(sort), coll, func(d bson.Raw) bson.Raw { return d })
	if err != nil {
		return 0, err
	}
	var todo []bson.Raw
	for _, d := range all {
		if n, _ := d.Lookup("listN").AsInt64OK(); n == 0 {
			todo = append(todo, d)
		}
	}
	for start := 0; start < len(todo); start += maxUpdateBatch {
		chunk := todo[start:min(start+maxUpdateBatch, len(todo))]
		items := make([]listItem, len(chunk))
		for i, d := range chunk {
			items[i] = listItem{Owner: everyone, Ref: d.Lookup("_id").StringValue()}
		}
		ns, err := db.appendTo(ctx, l, items)
		if err != nil {
			return 0, err
		}
		models := make([]mongo.WriteModel, len(chunk))
		var extra []listItem
		for i, d := range chunk {
			models[i] = mongo.NewUpdateOneModel().SetFilter(byID(items[i].Ref)).
				SetUpdate(bson.D{{Key: "$set", Value: bson.D{{Key: "listN", Value: ns[i]}}}})
			if also != nil {
				extra = append(extra, also(d)...)
			}
		}
		if len(extra) > 0 {
			if _, err := db.appendTo(ctx, l, extra); err != nil {
				return 0, err
			}
		}
		if err := db.bulkByID(ctx, coll, models); err != nil {
			return 0, err
		}
	}
	return len(todo), nil
}
