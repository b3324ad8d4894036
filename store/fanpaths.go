package store

import (
	"context"
	"errors"
	"math"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu"
)

// The fans' documents that change (feedback, gestures, reviews, visits,
// referral slots) are listed, by reference only, under each shop and each
// person who finds or erases them, so that a manager's page, a customer's
// export and an erasure read and write by _id, not by shopId or userId,
// which decodes the whole collection on the embedded database (issue 15).
// Prefixes are unique across the store: the instance's hints (db.lists)
// are keyed by head.
var (
	shopFeedbackList   = ownerList{coll: "shop_feedback_lists", prefix: "sfs"}
	attentionList      = ownerList{coll: "shop_feedback_lists", prefix: "sfa"} // low ratings, at writing
	userFeedbackList   = ownerList{coll: "shop_feedback_lists", prefix: "sfu"}
	shopGestureList    = ownerList{coll: "gesture_lists", prefix: "gs"}
	userGestureList    = ownerList{coll: "gesture_lists", prefix: "gu"}
	managerGestureList = ownerList{coll: "gesture_lists", prefix: "gm"}
	shopReviewList     = ownerList{coll: "review_lists", prefix: "rvs"}
	userReviewList     = ownerList{coll: "review_lists", prefix: "rvu"}
	userReportList     = ownerList{coll: "review_lists", prefix: "rvp"}
	visitList          = ownerList{coll: "visit_lists", prefix: "vv"}
	shopVisitList      = ownerList{coll: "visit_lists", prefix: "vs"}
	visitAskList       = ownerList{coll: "visit_lists", prefix: "va"}
	heldSlotList       = ownerList{coll: "slot_lists", prefix: "rsh"} // slots a referee holds
	ownSlotList        = ownerList{coll: "slot_lists", prefix: "rso"} // slots under a referrer
)

// listing names one list a document goes in.
type listing struct {
	l     ownerList
	owner string
}

// insertIndexed lists ref under every listing (an empty owner: nowhere),
// then inserts doc into coll, so that a stored document is always listed
// (a crash in between leaves entries whose document never came, which
// readers skip). A document stored already is refused (Conflict) by one
// _id read before anything is listed; one racing in between is refused by
// the insert, and its entries voided.
func (db *DB) insertIndexed(ctx context.Context, coll, ref string, doc any, what string, under ...listing) error {
	switch err := db.r(coll).FindOne(ctx, byID(ref), options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err(); {
	case err == nil:
		return &hyperlieu.Error{Kind: hyperlieu.Conflict, Message: what + " already exists"}
	case !errors.Is(err, mongo.ErrNoDocuments):
		return translate(err, what)
	}
	type claimed struct {
		l  ownerList
		id string
	}
	var entries []claimed
	for _, u := range under {
		if u.owner == "" {
			continue
		}
		ns, err := db.appendTo(ctx, u.l, []listItem{{Owner: u.owner, Ref: ref}})
		if err != nil {
			return err
		}
		entries = append(entries, claimed{u.l, u.l.entry(u.owner, ns[0])})
	}
	_, err := db.c(coll).InsertOne(ctx, doc)
	err = translate(err, what)
	if hyperlieu.KindOf(err) == hyperlieu.Conflict {
		for _, e := range entries { // best effort: readers check the document's owner
			_, _ = db.c(e.l.coll).UpdateOne(ctx, byID(e.id), bson.D{{Key: "$set", Value: bson.D{{Key: "ref", Value: ""}}}})
		}
	}
	return err
}

// pageOf returns up to limit documents of coll listed under owner in l,
// numbered below before (0: from the newest), newest listed first, those
// keep accepts (it checks the document still belongs there), reading at
// most scan entries: two _id reads per entry. next is the before of the
// following page, 0 when the list is done.
func pageOf[D any](ctx context.Context, db *DB, l ownerList, owner string, before, limit, scan int, coll, what string, keep func(D) bool) (out []D, next int, err error) {
	seen := make(map[string]bool)
	read := 0
	for len(out) < limit && read < scan {
		batch := min(limit-len(out), scan-read)
		es, err := db.listPage(ctx, l, owner, before, batch)
		if err != nil {
			return nil, 0, err
		}
		for _, e := range es {
			read++
			before = e.N
			if e.Ref == "" || seen[e.Ref] {
				continue
			}
			seen[e.Ref] = true
			var d D
			err := db.r(coll).FindOne(ctx, byID(e.Ref)).Decode(&d)
			if errors.Is(err, mongo.ErrNoDocuments) {
				continue // erased, or its writer never stored it
			}
			if err != nil {
				return nil, 0, translate(err, what)
			}
			if keep(d) {
				out = append(out, d)
			}
		}
		if len(es) < batch || before <= 1 {
			return out, 0, nil
		}
	}
	return out, before, nil
}

// allOf is pageOf without bounds: what one owner holds (an export, an
// erasure, a customer's own reviews).
func allOf[D any](ctx context.Context, db *DB, l ownerList, owner, coll, what string, keep func(D) bool) ([]D, error) {
	out, _, err := pageOf(ctx, db, l, owner, 0, math.MaxInt, math.MaxInt, coll, what, keep)
	return out, err
}

// listedRefs returns the references listed under owner in l, newest first,
// without the void ones.
func (db *DB) listedRefs(ctx context.Context, l ownerList, owner string) ([]string, error) {
	es, err := db.listPage(ctx, l, owner, 0, math.MaxInt)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(es))
	for _, e := range es {
		if e.Ref != "" {
			out = append(out, e.Ref)
		}
	}
	return out, nil
}

// setByIDs sets set on each of ids in coll, one keyed statement each.
func (db *DB) setByIDs(ctx context.Context, coll string, ids []string, set bson.D) error {
	models := make([]mongo.WriteModel, len(ids))
	for i, id := range ids {
		models[i] = mongo.NewUpdateOneModel().SetFilter(byID(id)).SetUpdate(bson.D{{Key: "$set", Value: set}})
	}
	return db.bulkByID(ctx, coll, models)
}

// voidRef voids every entry of owner's list in l naming ref (by _id), so
// that an erased person's id is left in no list; it reads each number,
// since listPage shows one entry per reference.
func (db *DB) voidRef(ctx context.Context, l ownerList, owner, ref string) error {
	if owner == "" {
		return nil
	}
	top, err := db.listTop(ctx, l, owner)
	if err != nil {
		return err
	}
	var ids []string
	for n := top; n >= 1; n-- {
		var e listEntry
		err := db.r(l.coll).FindOne(ctx, byID(l.entry(owner, n))).Decode(&e)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue
		}
		if err != nil {
			return translate(err, l.coll)
		}
		if e.Ref == ref {
			ids = append(ids, e.ID)
		}
	}
	return db.setByIDs(ctx, l.coll, ids, bson.D{{Key: "ref", Value: ""}})
}

// MigrateFanPaths gives what older versions stored the keys the fans'
// request paths now read instead of queries (issue 15), each once per
// database (db.once): the shop and person lists above, the staff lists
// (roles.go), the rewards catalogue's list (rewards.go), the segment counts
// and the shops' review figures. Each skips what is done already, so that
// a run cut short is finished by the next. It returns how many documents
// it listed.
func (db *DB) MigrateFanPaths(ctx context.Context) (int, error) {
	isAddr := func(d bson.Raw) bool {
		s, _ := d.Lookup("referrerId").StringValueOK()
		return len(s) >= 5 && s[:5] == "addr:"
	}
	calm := func(d bson.Raw) bool {
		b, _ := d.Lookup("needsAttention").BooleanOK()
		return !b
	}
	n := 0
	err := db.once(ctx, "fan-path-lists-1", func() error {
		for _, b := range []backfill{
			{l: shopFeedbackList, coll: "shop_feedback", owner: "shopId", by: "at"},
			{l: userFeedbackList, coll: "shop_feedback", owner: "userId", by: "at"},
			{l: attentionList, coll: "shop_feedback", owner: "shopId", by: "at", skip: calm},
			{l: shopGestureList, coll: "gestures", owner: "shopId", by: "at"},
			{l: userGestureList, coll: "gestures", owner: "userId", by: "at"},
			{l: managerGestureList, coll: "gestures", owner: "managerId", by: "at"},
			{l: shopReviewList, coll: "reviews", owner: "shopId", by: "at"},
			{l: userReviewList, coll: "reviews", owner: "userId", by: "at"},
			{l: userReportList, coll: "review_reports", owner: "userId", by: "at"},
			{l: visitList, coll: "visits", owner: "userId", by: "at"},
			{l: shopVisitList, coll: "shop_visits", owner: "userId", by: "lastAt"},
			{l: visitAskList, coll: "visit_asks", owner: "userId", by: "at"},
			{l: heldSlotList, coll: "referral_slots", owner: "refereeId", by: "referrerId"},
			{l: ownSlotList, coll: "referral_slots", owner: "referrerId", by: "refereeId", skip: isAddr},
		} {
			k, err := db.backfillList(ctx, b)
			n += k
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	for _, step := range []func(context.Context) error{db.listAllStaff, db.listAllRewards, db.countAllSegments, db.countAllReviews} {
		if err := step(ctx); err != nil {
			return n, err
		}
	}
	return n, nil
}
