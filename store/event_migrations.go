package store

import (
	"context"
	"fmt"
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
func (db *DB) MigrateEvents(ctx context.Context) error {
	return db.once(ctx, "event-keys-1", func() error {
		if err := db.backfillRSVPKeys(ctx); err != nil {
			return fmt.Errorf("backfill rsvp keys: %w", err)
		}
		if err := db.backfillReleaseLogs(ctx); err != nil {
			return fmt.Errorf("backfill queue releases: %w", err)
		}
		return nil
	})
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
