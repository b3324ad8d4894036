package store

import (
	"context"
	"fmt"
	"math"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// MigrateEvents backfills, once per database (db.once), the keys the events
// area has read by since issue 15, for the RSVPs and releases stored before
// them: each RSVP's ticket and its entry in its user's list, and each
// released position's entry in its event's release log. It scans rsvps
// and event_queue once. Every step first reads what is there, so a run
// cut short (or two instances starting together) adds nothing twice that
// a reader would count twice.
//
// Then, once too (db.once "event-lists-2"), the lists export, erasure and
// event lists read by since (events.go, events_personal.go): every event
// under its months and its creator, every position under its claimant,
// every check-in under its attendee and its scanner, every feedback under
// its writer, every shop under its managers. It scans events, event_queue,
// checkins, feedback and shops once, and skips what is listed already.
func (db *DB) MigrateEvents(ctx context.Context) error {
	err := db.once(ctx, "event-keys-1", func() error {
		if err := db.backfillRSVPKeys(ctx); err != nil {
			return fmt.Errorf("backfill rsvp keys: %w", err)
		}
		if err := db.backfillReleaseLogs(ctx); err != nil {
			return fmt.Errorf("backfill queue releases: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return db.once(ctx, "event-lists-2", func() error {
		if err := db.backfillEventLists(ctx); err != nil {
			return fmt.Errorf("backfill event lists: %w", err)
		}
		return nil
	})
}

func (db *DB) backfillEventLists(ctx context.Context) error {
	all := func() *options.FindOptionsBuilder {
		return options.Find().SetSort(bson.D{{Key: "_id", Value: 1}})
	}
	evs, err := findMany(ctx, db.c("events"), bson.D{}, options.Find().SetSort(bson.D{{Key: "createdAt", Value: 1}, {Key: "_id", Value: 1}}), "events", eventDoc.event)
	if err != nil {
		return err
	}
	var items []listItem
	for _, e := range evs {
		m := monthKey(e.StartsAt)
		items = append(items, listItem{Owner: monthOwner("", m), Ref: e.ID}, listItem{Owner: monthOwner(e.ShopID, m), Ref: e.ID})
		if e.CreatedBy != "" {
			items = append(items, listItem{Owner: creatorOwner(e.CreatedBy), Ref: e.ID})
		}
	}
	if err := db.listMissing(ctx, eventLists, items); err != nil {
		return err
	}

	items = nil
	claims, err := findMany(ctx, db.c("event_queue"), bson.D{}, all(), "queue", func(d queueDoc) queueDoc { return d })
	if err != nil {
		return err
	}
	for _, d := range claims {
		if d.UserID != "" {
			items = append(items, listItem{Owner: claimsOf(d.UserID), Ref: d.ID})
		}
	}
	checkins, err := findMany(ctx, db.c("checkins"), bson.D{}, all(), "check-ins", func(d checkInDoc) checkInDoc { return d })
	if err != nil {
		return err
	}
	for _, d := range checkins {
		if d.UserID != "" {
			items = append(items, listItem{Owner: checkInsOf(d.UserID), Ref: d.ID})
		}
		if d.By != "" && d.By != d.UserID {
			items = append(items, listItem{Owner: scannedBy(d.By), Ref: d.ID})
		}
	}
	if err := db.listMissing(ctx, peopleLists, items); err != nil {
		return err
	}

	items = nil
	fbs, err := findMany(ctx, db.c("feedback"), bson.D{}, all(), "feedback", func(d feedbackDoc) feedbackDoc { return d })
	if err != nil {
		return err
	}
	for _, d := range fbs {
		if d.UserID != "" {
			items = append(items, listItem{Owner: feedbackOwner(d.UserID), Ref: d.ID})
		}
	}
	if err := db.listMissing(ctx, feedbackLists, items); err != nil {
		return err
	}

	shops, err := findMany(ctx, db.c("shops"), bson.D{}, all(), "shops", shopDoc.shop)
	if err != nil {
		return err
	}
	for _, sh := range shops {
		if err := db.listManagers(ctx, sh.ID, sh.ManagerIDs); err != nil {
			return err
		}
	}
	return nil
}

// listMissing appends to l the items not listed yet under their owner
// (each owner's list read once), in order.
func (db *DB) listMissing(ctx context.Context, l ownerList, items []listItem) error {
	listed := map[string]map[string]bool{}
	var todo []listItem
	for _, it := range items {
		if listed[it.Owner] == nil {
			es, err := db.listPage(ctx, l, it.Owner, 0, math.MaxInt)
			if err != nil {
				return err
			}
			listed[it.Owner] = make(map[string]bool, len(es))
			for _, e := range es {
				listed[it.Owner][e.Ref] = true
			}
		}
		if !listed[it.Owner][it.Ref] {
			listed[it.Owner][it.Ref] = true
			todo = append(todo, it)
		}
	}
	for start := 0; start < len(todo); start += 1000 {
		if _, err := db.appendTo(ctx, l, todo[start:min(start+1000, len(todo))]); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) backfillRSVPKeys(ctx context.Context) error {
	docs, err := findMany(ctx, db.c("rsvps"), bson.D{}, options.Find().SetSort(bson.D{{Key: "createdAt", Value: 1}}),
		"rsvps", func(d rsvpDoc) rsvpDoc { return d })
	if err != nil {
		return err
	}
	byUser := map[string][]string{}
	var users []string
	for _, d := range docs {
		if err := db.createTicket(ctx, d.EventID, d.TicketCode, d.UserID); err != nil {
			return err
		}
		if byUser[d.UserID] == nil {
			users = append(users, d.UserID)
		}
		byUser[d.UserID] = append(byUser[d.UserID], d.EventID)
	}
	for _, u := range users {
		listed, _, err := db.rsvpList(ctx, u)
		if err != nil {
			return err
		}
		for _, e := range byUser[u] {
			if slices.Contains(listed, e) {
				continue
			}
			if err := db.addToRSVPList(ctx, u, e); err != nil {
				return err
			}
		}
	}
	return nil
}

func (db *DB) backfillReleaseLogs(ctx context.Context) error {
	docs, err := findMany(ctx, db.c("event_queue"), bson.D{{Key: "released", Value: true}},
		options.Find().SetSort(bson.D{{Key: "eventId", Value: 1}, {Key: "n", Value: 1}}), "queue", func(d queueDoc) queueDoc { return d })
	if err != nil {
		return err
	}
	logged := map[string]map[int]bool{}
	for _, d := range docs {
		if logged[d.EventID] == nil {
			ns, err := db.FindReleases(ctx, d.EventID, 1)
			if err != nil {
				return err
			}
			logged[d.EventID] = map[int]bool{}
			for _, n := range ns {
				logged[d.EventID][n] = true
			}
		}
		if logged[d.EventID][d.N] {
			continue
		}
		c := d.claim()
		eventID, n := d.EventID, d.N
		if _, err := appendDense(ctx, db, "event_releases", func(m int) string { return relID(eventID, m) },
			func(id string, _ int) any { return releaseDoc{ID: id, EventID: eventID, N: n, At: c.ReleasedAt} }, "queue release"); err != nil {
			return err
		}
		logged[d.EventID][d.N] = true
	}
	return nil
}
