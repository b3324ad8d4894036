package store

import (
	"context"
	"errors"
	"math"
	"strconv"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// ownerList is a list per owner (a customer's wallet, their inbox) that is
// read newest first by _id alone, so that it costs what the owner holds,
// not what the collection holds (issue 15: any other query decodes the
// whole collection on the embedded database). Entry n of an owner is the
// document "<prefix>:<owner>:<n>", claimed by a keyed insert: two writers,
// on any instance, never take one number. "<prefix>:<owner>" is the head,
// raised ($max) to every number claimed. The head and the numbers this
// instance claimed last (DB.lists) are hints only: a stale one means
// probing on, and a reader probes past the head for numbers whose writer
// did not get to raise it.
type ownerList struct {
	coll, prefix string
}

var (
	walletList = ownerList{coll: "wallet", prefix: "w"}
	inboxList  = ownerList{coll: "inbox", prefix: "i"}
)

// listIndexes serve erasure on MongoDB (entries and heads carry userId).
func listIndexes() []indexSpec {
	return []indexSpec{
		{walletList.coll, index(bson.D{{Key: "userId", Value: 1}})},
		{inboxList.coll, index(bson.D{{Key: "userId", Value: 1}})},
	}
}

func (l ownerList) head(owner string) string { return l.prefix + ":" + owner }

func (l ownerList) entry(owner string, n int) string { return l.head(owner) + ":" + strconv.Itoa(n) }

// listEntry is entry N of UserID's list; Ref is the listed document's _id.
// Doc, when set, is a copy of the listed document, so that a reader needs
// one read per entry; Pending says the document may not be stored yet
// (its writer lists it first), so a reader reads the document instead.
type listEntry struct {
	ID      string   `bson:"_id"`
	UserID  string   `bson:"userId"`
	N       int      `bson:"n"`
	Ref     string   `bson:"ref"`
	Doc     bson.Raw `bson:"doc,omitempty"`
	Pending bool     `bson:"pending,omitempty"`
}

type listHead struct {
	ID     string `bson:"_id"`
	UserID string `bson:"userId"`
	N      int    `bson:"n"`
}

// listItem is one document to list under its owner, with its copy if any.
type listItem struct {
	Owner, Ref string
	Doc        bson.Raw
	Pending    bool
}

// listHints remembers the last number this instance claimed or read per
// list head, so that appending skips the head read. Bounded: it starts
// over when full. The zero value is ready.
type listHints struct {
	mu sync.Mutex
	n  map[string]int
}

const maxListHints = 20000

func (h *listHints) get(head string) (int, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n, ok := h.n[head]
	return n, ok
}

func (h *listHints) raise(head string, n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == nil || len(h.n) >= maxListHints {
		h.n = make(map[string]int)
	}
	h.n[head] = max(h.n[head], n)
}

// reserve gives out k numbers of head after both this instance's last and
// floor (the head as read), and returns the first: writers of one instance
// never race each other for a number, only other instances' writers.
func (h *listHints) reserve(head string, floor, k int) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == nil || len(h.n) >= maxListHints {
		h.n = make(map[string]int)
	}
	first := max(h.n[head], floor) + 1
	h.n[head] = first + k - 1
	return first
}

func (h *listHints) forget(head string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.n, head)
}

// appendTo lists each item under its owner with the next free number, all
// owners in one insert per round, then raises the heads in one bulk update.
// Numbers are reserved in this instance's hints, so its own writers never
// take one twice; a number taken anyway means another instance got there:
// that item takes a number after a fresh read of the head. It returns the
// numbers taken.
func (db *DB) appendTo(ctx context.Context, l ownerList, items []listItem) ([]int, error) {
	floor := make(map[string]int) // owner → its head as read, where no hint knows better
	var unknown []string
	for _, it := range items {
		if _, ok := floor[it.Owner]; ok || it.Owner == "" {
			continue
		}
		floor[it.Owner] = 0
		if _, ok := db.lists.get(l.head(it.Owner)); !ok {
			unknown = append(unknown, it.Owner)
		}
	}
	if err := db.readHeads(ctx, l, unknown, floor); err != nil {
		return nil, err
	}
	ns := make([]int, len(items))
	var todo []int
	for i, it := range items {
		if it.Owner != "" { // nobody's: listed nowhere, number 0
			todo = append(todo, i)
		}
	}
	taken := make(map[string]int) // owner → highest number inserted
	for len(todo) > 0 {
		need := make(map[string]int)
		for _, i := range todo {
			need[items[i].Owner]++
		}
		next := make(map[string]int, len(need))
		for owner, k := range need {
			next[owner] = db.lists.reserve(l.head(owner), floor[owner], k)
		}
		docs := make([]any, len(todo))
		for j, i := range todo {
			it := items[i]
			ns[i] = next[it.Owner]
			next[it.Owner]++
			docs[j] = listEntry{ID: l.entry(it.Owner, ns[i]), UserID: it.Owner, N: ns[i], Ref: it.Ref, Doc: it.Doc, Pending: it.Pending}
		}
		inserted, err := db.insertMany(ctx, l.coll, docs)
		if err != nil {
			return nil, err
		}
		var again []int
		var stale []string
		for j, i := range todo {
			if inserted[j] {
				taken[items[i].Owner] = max(taken[items[i].Owner], ns[i])
				continue
			}
			again = append(again, i)
			stale = append(stale, items[i].Owner)
		}
		if err := db.readHeads(ctx, l, stale, floor); err != nil {
			return nil, err
		}
		todo = again
	}
	return ns, db.raiseHeads(ctx, l, taken)
}

// listNew lists document id of coll under owner in l before its first
// write: unless it is stored already, which means it was listed then (an
// upsert's second write, or a shard a restarted process writes again).
func (db *DB) listNew(ctx context.Context, l ownerList, coll, owner, id string) error {
	err := db.r(coll).FindOne(ctx, byID(id)).Err()
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		_, err = db.appendTo(ctx, l, []listItem{{Owner: owner, Ref: id}})
		return err
	case err != nil:
		return translate(err, coll)
	}
	return nil
}

// readHeads raises last[owner] to each owner's head (one _id read each).
func (db *DB) readHeads(ctx context.Context, l ownerList, owners []string, last map[string]int) error {
	ids := make([]string, len(owners))
	for i, o := range owners {
		ids[i] = l.head(o)
	}
	heads, err := findByIDs(ctx, db.r(l.coll), ids, nil, l.coll, func(h listHead) listHead { return h })
	for _, h := range heads {
		last[h.UserID] = max(last[h.UserID], h.N)
	}
	return err
}

// raiseHeads sets each owner's head to at least last[owner], creating it if
// need be. Two instances creating one head at once may collide on its _id
// on the embedded database; the second try finds it and raises it.
func (db *DB) raiseHeads(ctx context.Context, l ownerList, last map[string]int) error {
	models := make([]mongo.WriteModel, 0, len(last))
	for owner, n := range last {
		models = append(models, mongo.NewUpdateOneModel().SetFilter(byID(l.head(owner))).SetUpsert(true).
			SetUpdate(bson.D{{Key: "$max", Value: bson.D{{Key: "n", Value: n}}}, {Key: "$set", Value: bson.D{{Key: "userId", Value: owner}}}}))
	}
	err := db.bulkByID(ctx, l.coll, models)
	if err != nil {
		err = db.bulkByID(ctx, l.coll, models)
	}
	if err != nil {
		return err
	}
	for owner, n := range last {
		db.lists.raise(l.head(owner), n)
	}
	return nil
}

// listTop returns the highest number claimed in owner's list (0 for none):
// the head or this instance's hint, then reads past it until a number is
// free (one read when the head is current).
func (db *DB) listTop(ctx context.Context, l ownerList, owner string) (int, error) {
	top, _, err := db.listTopHead(ctx, l, owner)
	return top, err
}

// listTopHead is listTop, and the number the head document holds (0 when
// there is none): below a number known claimed, the list was erased.
func (db *DB) listTopHead(ctx context.Context, l ownerList, owner string) (int, int, error) {
	hint, _ := db.lists.get(l.head(owner))
	var h listHead
	err := db.r(l.coll).FindOne(ctx, byID(l.head(owner))).Decode(&h)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return 0, 0, translate(err, l.coll)
	}
	top := max(hint, h.N)
	for {
		err := db.r(l.coll).FindOne(ctx, byID(l.entry(owner, top+1)), options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
		if errors.Is(err, mongo.ErrNoDocuments) {
			db.lists.raise(l.head(owner), top)
			return top, h.N, nil
		}
		if err != nil {
			return 0, 0, translate(err, l.coll)
		}
		top++
	}
}

// listPage returns up to limit entries of owner's list numbered below
// before (0: from the newest), newest first, one _id read per number; an
// entry repeating a listed Ref (a retried insert) is skipped.
func (db *DB) listPage(ctx context.Context, l ownerList, owner string, before, limit int) ([]listEntry, error) {
	top := before - 1
	if before <= 0 {
		var err error
		if top, err = db.listTop(ctx, l, owner); err != nil {
			return nil, err
		}
	}
	seen := make(map[string]bool)
	out := []listEntry{}
	for n := top; n >= 1 && len(out) < limit; n-- {
		var e listEntry
		err := db.r(l.coll).FindOne(ctx, byID(l.entry(owner, n))).Decode(&e)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue // erased before a late writer claimed above it
		}
		if err != nil {
			return nil, translate(err, l.coll)
		}
		if !seen[e.Ref] {
			seen[e.Ref] = true
			out = append(out, e)
		}
	}
	return out, nil
}

// listNumberOf returns the number of ref in owner's list, reading from the
// newest down (as many reads as entries above it); 0 when it is not listed.
func (db *DB) listNumberOf(ctx context.Context, l ownerList, owner, ref string) (int, error) {
	before := 0
	for {
		es, err := db.listPage(ctx, l, owner, before, 20)
		if err != nil || len(es) == 0 {
			return 0, err
		}
		for _, e := range es {
			if e.Ref == ref {
				return e.N, nil
			}
		}
		before = es[len(es)-1].N
	}
}

// dropList erases owner's list, entries and head, by _id: every number up
// to the top (a number never claimed deletes nothing), then the head.
func (db *DB) dropList(ctx context.Context, l ownerList, owner string) error {
	top, err := db.listTop(ctx, l, owner)
	if err != nil {
		return err
	}
	ids := make([]string, 0, top+1)
	for n := 1; n <= top; n++ {
		ids = append(ids, l.entry(owner, n))
	}
	ids = append(ids, l.head(owner))
	db.lists.forget(l.head(owner))
	return db.deleteByIDs(ctx, l.coll, ids)
}

// MigrateLists lists, once per database (db.once), the offers and the
// notifications stored before wallets and inboxes were lists (lists.go),
// each in its customer's list, oldest first; it skips those listed
// already, so a run cut short is finished by the next. Then the fans'
// lists (MigrateFanLists, its own once). It returns how many it listed.
func (db *DB) MigrateLists(ctx context.Context) (int, error) {
	n, err := db.migrateOwnerLists(ctx)
	if err != nil {
		return n, err
	}
	k, err := db.MigrateFanLists(ctx)
	return n + k, err
}

func (db *DB) migrateOwnerLists(ctx context.Context) (int, error) {
	n := 0
	err := db.once(ctx, "owner-lists-1", func() error {
		for _, b := range []backfill{
			{l: walletList, coll: "offers", owner: "userId", by: "issuedAt"},
			{l: inboxList, coll: "notifications", owner: "userId", by: "createdAt"},
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

// backfill says which older documents backfillList lists: every one of
// coll, under the owner its field owner names, oldest by the field by
// first, with a copy when copied, except those skip refuses.
type backfill struct {
	l               ownerList
	coll, owner, by string
	copied          bool
	skip            func(bson.Raw) bool
}

// backfillList lists the documents b names, unless listed already, so that
// a run cut short is finished by the next; it returns how many it listed.
// Run it under db.once: it reads the whole collection.
func (db *DB) backfillList(ctx context.Context, b backfill) (int, error) {
	all, err := findMany(ctx, db.c(b.coll), bson.D{}, options.Find().SetSort(bson.D{{Key: b.by, Value: 1}, {Key: "_id", Value: 1}}),
		b.coll, func(d bson.Raw) bson.Raw { return d })
	if err != nil {
		return 0, err
	}
	listed := make(map[string]map[string]bool) // owner → documents in their list
	var items []listItem
	for _, d := range all {
		owner, _ := d.Lookup(b.owner).StringValueOK()
		id, _ := d.Lookup("_id").StringValueOK()
		if owner == "" || id == "" || (b.skip != nil && b.skip(d)) {
			continue // erased, or not to list
		}
		if listed[owner] == nil {
			es, err := db.listPage(ctx, b.l, owner, 0, math.MaxInt)
			if err != nil {
				return 0, err
			}
			listed[owner] = make(map[string]bool, len(es))
			for _, e := range es {
				listed[owner][e.Ref] = true
			}
		}
		if !listed[owner][id] {
			it := listItem{Owner: owner, Ref: id}
			if b.copied {
				it.Doc = d
			}
			items = append(items, it)
		}
	}
	for start := 0; start < len(items); start += 1000 {
		if _, err := db.appendTo(ctx, b.l, items[start:min(start+1000, len(items))]); err != nil {
			return 0, err
		}
	}
	return len(items), nil
}
