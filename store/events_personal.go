package store

import (
	"context"
	"fmt"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/shop"
)

// This file holds what the events area stores about one person, for the
// customer's export and erasure: RSVPs (with ticket codes), queue positions,
// check-ins (as attendee and as the manager who scanned), feedback, the
// events they created and the shops they manage.

func byUser(userID string) bson.D { return bson.D{{Key: "userId", Value: userID}} }

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

// FindClaimsBy returns every queue position the user ever claimed, released
// ones too, by event and position.
func (db *DB) FindClaimsBy(ctx context.Context, userID string) ([]shop.QueueClaim, error) {
	return findMany(ctx, db.c("event_queue"), byUser(userID), options.Find().SetSort(bson.D{{Key: "eventId", Value: 1}, {Key: "n", Value: 1}}),
		"queue", queueDoc.claim)
}

// FindCheckInsBy returns the user's own check-ins, oldest first.
func (db *DB) FindCheckInsBy(ctx context.Context, userID string) ([]shop.CheckIn, error) {
	return findMany(ctx, db.c("checkins"), byUser(userID), options.Find().SetSort(bson.D{{Key: "at", Value: 1}}),
		"check-ins", func(d checkInDoc) shop.CheckIn {
			return shop.CheckIn{EventID: d.EventID, UserID: d.UserID, Method: d.Method, By: d.By, At: d.At.UTC()}
		})
}

// FindFeedbackBy returns the feedback the user gave on events, oldest first.
func (db *DB) FindFeedbackBy(ctx context.Context, userID string) ([]shop.Feedback, error) {
	return findMany(ctx, db.c("feedback"), byUser(userID), options.Find().SetSort(bson.D{{Key: "createdAt", Value: 1}}),
		"feedback", feedbackDoc.feedback)
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

	checkins, err := findMany(ctx, db.c("checkins"), byUser(userID), nil, "check-ins", func(d checkInDoc) checkInDoc { return d })
	if err != nil {
		return fmt.Errorf("erase events: %w", err)
	}
	for _, d := range checkins {
		orig := d.ID
		d.ID, d.UserID = "checkin:"+d.EventID+":"+anonKey(seat[d.EventID]), ""
		if d.By == userID {
			d.By = ""
		}
		if err := db.reKey(ctx, "checkins", orig, d); err != nil {
			return fmt.Errorf("erase events: %w", err)
		}
	}
	fbs, err := findMany(ctx, db.c("feedback"), byUser(userID), nil, "feedback", func(d feedbackDoc) feedbackDoc { return d })
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

	for _, s := range []struct {
		coll   string
		filter bson.D
		set    bson.D
	}{
		{"checkins", bson.D{{Key: "by", Value: userID}}, bson.D{{Key: "by", Value: ""}}},
		{"event_queue", byUser(userID), bson.D{{Key: "userId", Value: ""}}},
		{"events", bson.D{{Key: "createdBy", Value: userID}}, bson.D{{Key: "createdBy", Value: ""}}},
	} {
		if _, err := db.c(s.coll).UpdateMany(ctx, s.filter, bson.D{{Key: "$set", Value: s.set}}); err != nil {
			return fmt.Errorf("erase events: %w", translate(err, s.coll))
		}
	}
	for _, r := range rsvps {
		if _, err := db.c("tickets").DeleteOne(ctx, byID(ticketID(r.EventID, r.TicketCode))); err != nil {
			return fmt.Errorf("erase events: %w", translate(err, "ticket"))
		}
	}
	if _, err := db.c("rsvps").DeleteMany(ctx, byUser(userID)); err != nil {
		return fmt.Errorf("erase events: %w", translate(err, "rsvps"))
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

// reKey stores doc (with its new _id) and deletes the document orig; a copy
// already there from an earlier, interrupted run is kept.
func (db *DB) reKey(ctx context.Context, coll, orig string, doc any) error {
	if _, err := db.c(coll).InsertOne(ctx, doc); err != nil && hyperlieu.KindOf(translate(err, coll)) != hyperlieu.Conflict {
		return translate(err, coll)
	}
	_, err := db.c(coll).DeleteOne(ctx, byID(orig))
	return translate(err, coll)
}

// FindShopsManagedBy returns the shops that list userID among their
// managers, deleted ones too.
func (db *DB) FindShopsManagedBy(ctx context.Context, userID string) ([]shop.Shop, error) {
	return findMany(ctx, db.c("shops"), bson.D{{Key: "managerIds", Value: userID}}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}),
		"shops", shopDoc.shop)
}
