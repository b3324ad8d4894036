package store

import (
	"context"
	"errors"
	"slices"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu"
)

// A customer's activities, ledger earnings and the referrals they made are
// owner lists (lists.go), so that classifying a customer, their loyalty
// page, a spend and the referral page read their own history by _id, not
// the whole collection (issue 15). Activities and ledger entries never
// change once stored: their entries carry a copy (one read per entry);
// spends are numbered and read by number instead (store/fans.go).
// Referrals change status: their entries name them only (two reads each).
var (
	activityList = ownerList{coll: "activity_lists", prefix: "a"}
	ledgerList   = ownerList{coll: "ledger_lists", prefix: "l"}
	referralList = ownerList{coll: "referral_lists", prefix: "r"}
)

func fanListIndexes() []indexSpec {
	var out []indexSpec
	for _, l := range []ownerList{activityList, ledgerList, referralList} {
		out = append(out, indexSpec{l.coll, index(bson.D{{Key: "userId", Value: 1}})})
	}
	return out
}

// insertListed lists doc (its _id ref) under owner in l, then inserts it
// into coll, so that a stored document is always listed: a crash between
// the two leaves an entry whose document never came, which readers skip.
// With copied, the entry carries the document, pending until the insert is
// done. A document stored already (a replay) is found by one _id read and
// refused (Conflict) before it is listed, so replays do not lengthen the
// list; one that races in between is refused by the insert and its entry
// voided. The insert's error is returned.
func (db *DB) insertListed(ctx context.Context, l ownerList, owner, ref string, copied bool, coll string, doc any, what string) error {
	switch err := db.r(coll).FindOne(ctx, byID(ref), options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err(); {
	case err == nil:
		return &hyperlieu.Error{Kind: hyperlieu.Conflict, Message: what + " already exists"}
	case !errors.Is(err, mongo.ErrNoDocuments):
		return translate(err, what)
	}
	var raw bson.Raw
	if copied {
		var err error
		if raw, err = bson.Marshal(doc); err != nil {
			return translate(err, what)
		}
	}
	ns, err := db.appendTo(ctx, l, []listItem{{Owner: owner, Ref: ref, Doc: raw, Pending: copied}})
	if err != nil {
		return err
	}
	_, err = db.c(coll).InsertOne(ctx, doc)
	err = translate(err, what)
	if ns[0] == 0 { // nobody's: listed nowhere
		return err
	}
	entry := byID(l.entry(owner, ns[0]))
	// Both updates are best effort: readers check a pending entry against
	// the document, and keep one entry per document.
	switch {
	case err == nil && copied:
		_, _ = db.c(l.coll).UpdateOne(ctx, entry, bson.D{{Key: "$unset", Value: bson.D{{Key: "pending", Value: ""}}}})
	case hyperlieu.KindOf(err) == hyperlieu.Conflict:
		_, _ = db.c(l.coll).UpdateOne(ctx, entry, bson.D{{Key: "$set", Value: bson.D{{Key: "ref", Value: ""}}},
			{Key: "$unset", Value: bson.D{{Key: "doc", Value: ""}, {Key: "pending", Value: ""}}}})
	}
	return err
}

// finalEntries keeps, per list head, the entries this instance read that
// can no longer change: a confirmed copy, or a void entry (the documents
// copied are never updated). Readers then read by _id only the head, the
// entries above what they hold and the pending ones, so that classifying
// a customer on the offer path costs a few reads, not one per activity
// (issue 15). A list whose head is below what is held (erased) is dropped.
// Bounded: it starts over when full. The zero value is ready.
type finalEntries struct {
	mu    sync.Mutex
	n     int
	lists map[string]map[int]listEntry
}

const maxFinalEntries = 200_000

func (f *finalEntries) get(head string) map[int]listEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lists[head]
}

// put replaces head's entries with es (which the caller no longer changes).
func (f *finalEntries) put(head string, es map[int]listEntry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lists == nil || f.n+len(es) > maxFinalEntries {
		f.lists, f.n = make(map[string]map[int]listEntry), 0
	}
	f.n += len(es) - len(f.lists[head])
	f.lists[head] = es
}

func (f *finalEntries) drop(head string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n -= len(f.lists[head])
	delete(f.lists, head)
}

// isFinal says whether e can no longer change.
func (e listEntry) isFinal() bool { return e.Ref == "" || (e.Doc != nil && !e.Pending) }

// listedEntries returns owner's entries in l, newest first, from this
// instance's final entries and _id reads of the others; missing numbers
// (erased before a late writer) are left out.
func (db *DB) listedEntries(ctx context.Context, l ownerList, owner string) ([]listEntry, error) {
	top, headN, err := db.listTopHead(ctx, l, owner)
	if err != nil {
		return nil, err
	}
	held := db.finals.get(l.head(owner))
	// An entry is listed only once the head covers it (appendTo), and the
	// head only grows: a head below a held entry was erased, maybe on
	// another instance (whose hint says nothing of it).
	for n := range held {
		if n > headN {
			db.finals.drop(l.head(owner))
			db.lists.forget(l.head(owner))
			held = nil
			if top, err = db.listTop(ctx, l, owner); err != nil {
				return nil, err
			}
			break
		}
	}
	finals := make(map[int]listEntry, top)
	out := make([]listEntry, 0, top)
	for n := top; n >= 1; n-- {
		e, ok := held[n]
		if !ok {
			err := db.r(l.coll).FindOne(ctx, byID(l.entry(owner, n))).Decode(&e)
			if errors.Is(err, mongo.ErrNoDocuments) {
				continue
			}
			if err != nil {
				return nil, translate(err, l.coll)
			}
		}
		if e.isFinal() {
			finals[n] = e
		}
		out = append(out, e)
	}
	if len(finals) > len(held) {
		db.finals.put(l.head(owner), finals)
	}
	return out, nil
}

// listedDocs returns the documents listed under owner in l, in the order
// they were listed: each entry's copy, or for an entry without one (or a
// pending one) the document in coll, skipped when it is not there or no
// longer owner's (ownerOf). Void entries are skipped, and of entries
// naming one document the newest counts (a retried listing).
func listedDocs[D any](ctx context.Context, db *DB, l ownerList, owner, coll, what string, ownerOf func(D) string) ([]D, error) {
	es, err := db.listedEntries(ctx, l, owner)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(es))
	out := make([]D, 0, len(es))
	for _, e := range es {
		if e.Ref == "" || seen[e.Ref] {
			continue
		}
		var d D
		if e.Doc != nil && !e.Pending {
			err = bson.Unmarshal(e.Doc, &d)
		} else {
			err = db.r(coll).FindOne(ctx, byID(e.Ref)).Decode(&d)
			if errors.Is(err, mongo.ErrNoDocuments) {
				continue // its writer never stored it
			}
		}
		if err != nil {
			return nil, translate(err, what)
		}
		seen[e.Ref] = true
		if ownerOf(d) == owner {
			out = append(out, d)
		}
	}
	slices.Reverse(out)
	return out, nil
}

// isSpend reports whether a ledger document is a spend: read by its number
// (FindLedgerOf), not listed.
func isSpend(d bson.Raw) bool {
	seq, ok := d.Lookup("seq").AsInt64OK()
	return ok && seq > 0
}

// MigrateFanLists lists, once per database, the activities, ledger entries
// and referrals stored before they were lists (each under its customer,
// oldest first, skipping those listed already, so that a run cut short is
// finished by the next). It returns how many it listed.
func (db *DB) MigrateFanLists(ctx context.Context) (int, error) {
	n := 0
	err := db.once(ctx, "fan-lists-1", func() error {
		for _, b := range []backfill{
			{l: activityList, coll: "fan_activity", owner: "userId", by: "at", copied: true},
			{l: ledgerList, coll: "ledger", owner: "userId", by: "at", copied: true, skip: isSpend},
			{l: referralList, coll: "referrals", owner: "referrerId", by: "createdAt"},
		} {
			k, err := db.backfillList(ctx, b)
			n += k
			if err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}
