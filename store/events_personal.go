package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/shop"
)

// This file holds what the events area stores about one person, for the
// customer's export and erasure: RSVPs (with ticket codes), queue positions,
// check-ins (as attendee and as the manager who scanned), feedback, the
// events they created and the shops they manage.

// A user's RSVPs are listed under their key, r:<user>:<n> in rsvp_lists
// (a dense sequence, each entry naming an event), so that their feeds read
// their own RSVPs by _id, never the collection. An entry is added before
// the RSVP it lists; an event may be listed twice (racing first answers),
// and an entry whose RSVP was never stored is skipped.

type rsvpListDoc struct {
	ID      string `bson:"_id"` // r:<user>:<n>
	EventID string `bson:"eventId"`
}

func rsvpListKey(userID string) func(int) string {
	return func(n int) string { return fmt.Sprintf("r:%s:%d", userID, n) }
}

// addToRSVPList lists eventID among the user's RSVPs.
func (db *DB) addToRSVPList(ctx context.Context, userID, eventID string) error {
	_, err := appendDense(ctx, db, "rsvp_lists", rsvpListKey(userID),
		func(id string, _ int) any { return rsvpListDoc{ID: id, EventID: eventID} }, "rsvp list")
	return err
}

// rsvpList returns the events the user's list names, each once, in the
// order listed, and how many entries it has.
func (db *DB) rsvpList(ctx context.Context, userID string) (events []string, entries int, err error) {
	docs, err := readRun(ctx, db.r("rsvp_lists"), 1, rsvpListKey(userID), "rsvp list", func(d rsvpListDoc) string { return d.EventID })
	if err != nil {
		return nil, 0, err
	}
	seen := map[string]bool{}
	for _, id := range docs {
		if !seen[id] {
			seen[id] = true
			events = append(events, id)
		}
	}
	return events, len(docs), nil
}

// FindRSVPsBy returns every RSVP of the user, cancelled ones too, oldest
// first: one _id read per RSVP and per entry of their list.
func (db *DB) FindRSVPsBy(ctx context.Context, userID string) ([]shop.RSVP, error) {
	events, _, err := db.rsvpList(ctx, userID)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = rsvpID(e, userID)
	}
	out, err := findByIDs(ctx, db.r("rsvps"), ids, nil, "rsvps", rsvpDoc.rsvp)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b shop.RSVP) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// What names one person in the events area is listed under them in
// peopleLists (lists.go), so that their export and erasure read it by _id
// (issue 15: a query or an UpdateMany on userId decodes the whole
// collection on the embedded database): the queue positions they claimed
// ("q:<user>"), their check-ins ("c:<user>") and those they scanned as a
// manager ("s:<user>"). Each entry is added before the document it names;
// a reader reads the document and keeps it only if it still names them.
// Their feedback and the events they created are in feedbackLists and
// eventLists; their RSVPs in rsvp_lists; their shops in shop_managers.
var peopleLists = ownerList{coll: "event_people", prefix: "p"}

func claimsOf(userID string) string   { return "q:" + userID }
func checkInsOf(userID string) string { return "c:" + userID }
func scannedBy(userID string) string  { return "s:" + userID }

func (db *DB) claimDocs(ctx context.Context, userID string) ([]queueDoc, error) {
	return listedDocs(ctx, db, peopleLists, claimsOf(userID), "event_queue", "queue", func(d queueDoc) string { return claimsOf(d.UserID) })
}

func (db *DB) checkInDocs(ctx context.Context, userID string) ([]checkInDoc, error) {
	return listedDocs(ctx, db, peopleLists, checkInsOf(userID), "checkins", "check-ins", func(d checkInDoc) string { return checkInsOf(d.UserID) })
}

func (db *DB) feedbackDocs(ctx context.Context, userID string) ([]feedbackDoc, error) {
	return listedDocs(ctx, db, feedbackLists, feedbackOwner(userID), "feedback", "feedback", func(d feedbackDoc) string { return feedbackOwner(d.UserID) })
}

// FindClaimsBy returns every queue position the user ever claimed, released
// ones too, by event and position.
func (db *DB) FindClaimsBy(ctx context.Context, userID string) ([]shop.QueueClaim, error) {
	docs, err := db.claimDocs(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]shop.QueueClaim, len(docs))
	for i, d := range docs {
		out[i] = d.claim()
	}
	slices.SortFunc(out, func(a, b shop.QueueClaim) int {
		return cmp.Or(cmp.Compare(a.EventID, b.EventID), cmp.Compare(a.N, b.N))
	})
	return out, nil
}

// FindCheckInsBy returns the user's own check-ins, oldest first.
func (db *DB) FindCheckInsBy(ctx context.Context, userID string) ([]shop.CheckIn, error) {
	docs, err := db.checkInDocs(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]shop.CheckIn, len(docs))
	for i, d := range docs {
		out[i] = shop.CheckIn{EventID: d.EventID, UserID: d.UserID, Method: d.Method, By: d.By, At: d.At.UTC()}
	}
	slices.SortStableFunc(out, func(a, b shop.CheckIn) int { return a.At.Compare(b.At) })
	return out, nil
}

// FindFeedbackBy returns the feedback the user gave on events, oldest first.
func (db *DB) FindFeedbackBy(ctx context.Context, userID string) ([]shop.Feedback, error) {
	docs, err := db.feedbackDocs(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]shop.Feedback, len(docs))
	for i, d := range docs {
		out[i] = d.feedback()
	}
	slices.SortStableFunc(out, func(a, b shop.Feedback) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// anonKey stands for an erased person in one event's anonymised records:
// their queue position there ("#<n>"), which is unique in the event and
// says nothing about them. It is deterministic, so that an erasure that
// stopped half-way and is run again does not count them twice.
func anonKey(position int) string {
	if position <= 0 {
		return "#" + hyperlieu.NewID() // no seat known: cannot repeat, count once anyway
	}
	return fmt.Sprintf("#%d", position)
}

// DeleteEventUser removes the user's identity from the events area's
// records, keeping the aggregates without it:
//   - check-ins and feedback are re-keyed to an anonymous attendee of the
//     event (attendance and ratings stay; feedback comments are dropped, as
//     free text may identify the writer);
//   - check-ins they scanned as a manager forget who scanned;
//   - their queue positions lose their user (a live one stays a held,
//     anonymous seat: the caller releases beforehand the seats it frees);
//   - their RSVPs, and with them the ticket codes, are deleted;
//   - events they created forget their creator.
//
// Each step is idempotent, and the RSVPs (which give the anonymous keys)
// go last, so running it again after a failure finishes the job. Erasing a
// user with no events data is not an error.
func (db *DB) DeleteEventUser(ctx context.Context, userID string) error {
	rsvps, err := db.FindRSVPsBy(ctx, userID)
	if err != nil {
		return fmt.Errorf("erase events: %w", err)
	}
	seat := map[string]int{}
	for _, r := range rsvps {
		seat[r.EventID] = r.Position
	}

	checkins, err := db.checkInDocs(ctx, userID)
	if err != nil {
		return fmt.Errorf("erase events: %w", err)
	}
	for _, d := range checkins {
		orig := d.ID
		d.ID, d.UserID = "checkin:"+d.EventID+":"+anonKey(seat[d.EventID]), ""
		if d.By == userID {
			d.By = ""
		} else if d.By != "" {
			// The manager who scanned it finds it under its new key, and
			// their list no longer names the attendee's.
			if err := db.relistScan(ctx, d, orig); err != nil {
				return fmt.Errorf("erase events: %w", err)
			}
		}
		if err := db.reKey(ctx, "checkins", orig, d); err != nil {
			return fmt.Errorf("erase events: %w", err)
		}
	}
	fbs, err := db.feedbackDocs(ctx, userID)
	if err != nil {
		return fmt.Errorf("erase events: %w", err)
	}
	for _, d := range fbs {
		orig := d.ID
		d.ID, d.UserID, d.Comment = "feedback:"+d.EventID+":"+anonKey(seat[d.EventID]), "", ""
		if err := db.relistFeedback(ctx, d.EventID, orig, d.ID); err != nil {
			return fmt.Errorf("erase events: %w", err)
		}
		if err := db.reKey(ctx, "feedback", orig, d); err != nil {
			return fmt.Errorf("erase events: %w", err)
		}
	}

	// What still names them is read through their lists and updated by _id.
	scanned, err := listedDocs(ctx, db, peopleLists, scannedBy(userID), "checkins", "check-ins", func(d checkInDoc) string { return scannedBy(d.By) })
	if err != nil {
		return fmt.Errorf("erase events: %w", err)
	}
	claims, err := db.claimDocs(ctx, userID)
	if err != nil {
		return fmt.Errorf("erase events: %w", err)
	}
	created, err := db.listedEvents(ctx, creatorOwner(userID), func(e shop.Event) bool { return e.CreatedBy == userID })
	if err != nil {
		return fmt.Errorf("erase events: %w", err)
	}
	ids := func(n int, id func(int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = id(i)
		}
		return out
	}
	for _, s := range []struct {
		coll string
		ids  []string
		set  bson.D
	}{
		{"checkins", ids(len(scanned), func(i int) string { return scanned[i].ID }), bson.D{{Key: "by", Value: ""}}},
		{"event_queue", ids(len(claims), func(i int) string { return claims[i].ID }), bson.D{{Key: "userId", Value: ""}}},
		{"events", ids(len(created), func(i int) string { return created[i].ID }), bson.D{{Key: "createdBy", Value: ""}}},
	} {
		models := make([]mongo.WriteModel, len(s.ids))
		for i, id := range s.ids {
			models[i] = mongo.NewUpdateOneModel().SetFilter(byID(id)).SetUpdate(bson.D{{Key: "$set", Value: s.set}})
		}
		if err := db.bulkByID(ctx, s.coll, models); err != nil {
			return fmt.Errorf("erase events: %w", err)
		}
	}
	for _, d := range []struct {
		l     ownerList
		owner string
	}{
		{peopleLists, scannedBy(userID)}, {peopleLists, claimsOf(userID)}, {peopleLists, checkInsOf(userID)},
		{feedbackLists, feedbackOwner(userID)}, {eventLists, creatorOwner(userID)},
	} {
		if err := db.dropList(ctx, d.l, d.owner); err != nil {
			return fmt.Errorf("erase events: %w", err)
		}
	}
	if _, err := db.c(managersColl).DeleteOne(ctx, byID(userID)); err != nil {
		return fmt.Errorf("erase events: %w", translate(err, "shops managed"))
	}
	for _, r := range rsvps {
		if _, err := db.c("tickets").DeleteOne(ctx, byID(ticketID(r.EventID, r.TicketCode))); err != nil {
			return fmt.Errorf("erase events: %w", translate(err, "ticket"))
		}
	}
	rsvpIDs := make([]string, len(rsvps))
	for i, r := range rsvps {
		rsvpIDs[i] = rsvpID(r.EventID, userID)
	}
	if err := db.deleteByIDs(ctx, "rsvps", rsvpIDs); err != nil {
		return fmt.Errorf("erase events: %w", err)
	}
	return db.deleteRSVPList(ctx, userID)
}

// deleteRSVPList deletes the user's list last entry first, so that a run
// cut short leaves a list its readers still read to the end.
func (db *DB) deleteRSVPList(ctx context.Context, userID string) error {
	_, n, err := db.rsvpList(ctx, userID)
	if err != nil {
		return fmt.Errorf("erase events: %w", err)
	}
	key := rsvpListKey(userID)
	for i := n; i >= 1; i-- {
		if _, err := db.c("rsvp_lists").DeleteOne(ctx, byID(key(i))); err != nil {
			return fmt.Errorf("erase events: %w", translate(err, "rsvp list"))
		}
	}
	return nil
}

// relistScan points the entry of the scanner's list that names the
// check-in orig at its new key d.ID: one _id read and one update when the
// check-in knows its entry, the scanner's whole list for one stored
// before it did.
func (db *DB) relistScan(ctx context.Context, d checkInDoc, orig string) error {
	if d.ScanEntry > 0 {
		var e listEntry
		id := peopleLists.entry(scannedBy(d.By), d.ScanEntry)
		err := db.r(peopleLists.coll).FindOne(ctx, byID(id)).Decode(&e)
		switch {
		case err != nil && !errors.Is(err, mongo.ErrNoDocuments):
			return translate(err, peopleLists.coll)
		case e.Ref == d.ID:
			return nil // an earlier run got here
		case e.Ref == orig:
			return db.updateByID(ctx, peopleLists.coll, id, bson.D{{Key: "$set", Value: bson.D{{Key: "ref", Value: d.ID}}}}, "check-in list")
		}
	}
	return db.relist(ctx, peopleLists, scannedBy(d.By), orig, d.ID)
}

// reKey stores doc (with its new _id) and deletes the document orig; a copy
// already there from an earlier, interrupted run is kept.
func (db *DB) reKey(ctx context.Context, coll, orig string, doc any) error {
	if _, err := db.c(coll).InsertOne(ctx, doc); err != nil && hyperlieu.KindOf(translate(err, coll)) != hyperlieu.Conflict {
		return translate(err, coll)
	}
	_, err := db.c(coll).DeleteOne(ctx, byID(orig))
	return translate(err, coll)
}

// A manager's shops are one document per manager in shop_managers, read by
// _id: {_id: <user>, shops: [...]}, every shop that ever listed them,
// added to ($addToSet, by _id) before the shop is written and never taken
// from, so it holds at least the shops they manage; readers check each
// shop's own managers. Erasure deletes it.
const managersColl = "shop_managers"

type managersDoc struct {
	ID    string   `bson:"_id"`
	Shops []string `bson:"shops"`
}

// listManagers adds shopID to the document of each of managers: one bulk
// write by _id.
func (db *DB) listManagers(ctx context.Context, shopID string, managers []string) error {
	models := make([]mongo.WriteModel, len(managers))
	for i, m := range managers {
		models[i] = mongo.NewUpdateOneModel().SetFilter(byID(m)).SetUpsert(true).
			SetUpdate(bson.D{{Key: "$addToSet", Value: bson.D{{Key: "shops", Value: shopID}}}})
	}
	return db.bulkByID(ctx, managersColl, models)
}

// FindShopsManagedBy returns the shops that list userID among their
// managers, deleted ones too, by _id: one read for their document and one
// per shop in it.
func (db *DB) FindShopsManagedBy(ctx context.Context, userID string) ([]shop.Shop, error) {
	var m managersDoc
	err := db.r(managersColl).FindOne(ctx, byID(userID)).Decode(&m)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return []shop.Shop{}, nil
	} else if err != nil {
		return nil, translate(err, "shops managed")
	}
	shops, err := findByIDs(ctx, db.r("shops"), m.Shops, nil, "shops", shopDoc.shop)
	if err != nil {
		return nil, err
	}
	shops = slices.DeleteFunc(shops, func(s shop.Shop) bool { return !s.ManagedBy(userID) })
	slices.SortFunc(shops, func(a, b shop.Shop) int { return cmp.Compare(a.ID, b.ID) })
	return shops, nil
}
