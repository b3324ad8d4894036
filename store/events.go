package store

import (
	"cmp"
	"context"
	"errors"
	"math"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/geo"
	"github.com/hyperlieu/hyperlieu/shop"
)

type eventDoc struct {
	ID              string     `bson:"_id"`
	ShopID          string     `bson:"shopId"`
	Title           string     `bson:"title"`
	Description     string     `bson:"description"`
	Category        string     `bson:"category"`
	StartsAt        time.Time  `bson:"startsAt"`
	EndsAt          time.Time  `bson:"endsAt"`
	Capacity        int        `bson:"capacity"`
	MaxWaitlist     int        `bson:"maxWaitlist"`
	Location        pointDoc   `bson:"location"`
	Cell            string     `bson:"cell"`
	AnnounceRadiusM float64    `bson:"announceRadiusM"`
	CreatedBy       string     `bson:"createdBy"`
	CreatedAt       time.Time  `bson:"createdAt"`
	UpdatedAt       time.Time  `bson:"updatedAt"`
	Revision        int        `bson:"revision"` // absent (0) on events stored before it
	CancelledAt     *time.Time `bson:"cancelledAt,omitempty"`
	CancelReason    string     `bson:"cancelReason,omitempty"`
}

func toEventDoc(e shop.Event) eventDoc {
	d := eventDoc{
		ID: e.ID, ShopID: e.ShopID, Title: e.Title, Description: e.Description, Category: e.Category,
		StartsAt: e.StartsAt, EndsAt: e.EndsAt, Capacity: e.Capacity, MaxWaitlist: e.MaxWaitlist,
		Location: pointDoc(e.Location), Cell: cellOf(e.Location), AnnounceRadiusM: e.AnnounceRadiusM,
		CreatedBy: e.CreatedBy, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt, CancelReason: e.CancelReason,
		Revision: e.Revision,
	}
	if !e.CancelledAt.IsZero() {
		d.CancelledAt = &e.CancelledAt
	}
	return d
}

func (d eventDoc) event() shop.Event {
	e := shop.Event{
		ID: d.ID, ShopID: d.ShopID, Title: d.Title, Description: d.Description, Category: d.Category,
		StartsAt: d.StartsAt.UTC(), EndsAt: d.EndsAt.UTC(), Capacity: d.Capacity, MaxWaitlist: d.MaxWaitlist,
		Location: geo.Point(d.Location), AnnounceRadiusM: d.AnnounceRadiusM, CreatedBy: d.CreatedBy,
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(), CancelReason: d.CancelReason,
		Revision: d.Revision,
	}
	if d.CancelledAt != nil {
		e.CancelledAt = d.CancelledAt.UTC()
	}
	return e
}

// Events are listed (lists.go) by _id, never queried by field (issue 15:
// a query on shopId, createdBy or a time decodes every event on the
// embedded database): under the month they start in, per shop
// ("shop:<shop>:<yyyy-mm>") and for all shops ("all:<yyyy-mm>"), and
// under their creator ("by:<user>"). An entry goes in before the write it
// names; a reader reads the event and keeps it only if it still belongs
// there (an event moved to another month is listed again, under it).
var eventLists = ownerList{coll: "event_lists", prefix: "e"}

func monthKey(t time.Time) string { return t.UTC().Format("2006-01") }

// monthOwner is the list of the events of shopID ("": every shop) that
// start in month.
func monthOwner(shopID, month string) string {
	if shopID == "" {
		return "all:" + month
	}
	return "shop:" + shopID + ":" + month
}

func creatorOwner(userID string) string { return "by:" + userID }

// CreateEvent stores a new event, listed first under its months and its
// creator.
func (db *DB) CreateEvent(ctx context.Context, e shop.Event) error {
	m := monthKey(e.StartsAt)
	items := []listItem{{Owner: monthOwner("", m), Ref: e.ID}, {Owner: monthOwner(e.ShopID, m), Ref: e.ID}}
	if e.CreatedBy != "" {
		items = append(items, listItem{Owner: creatorOwner(e.CreatedBy), Ref: e.ID})
	}
	if _, err := db.appendTo(ctx, eventLists, items); err != nil {
		return err
	}
	_, err := db.c("events").InsertOne(ctx, toEventDoc(e))
	if err == nil {
		db.logPlace(ctx, "event:"+e.ID)
	}
	return translate(err, "event")
}

// FindEvent returns the event with id, or NotFound.
func (db *DB) FindEvent(ctx context.Context, id string) (shop.Event, error) {
	var d eventDoc
	if err := db.r("events").FindOne(ctx, byID(id)).Decode(&d); err != nil {
		return shop.Event{}, translate(err, "event")
	}
	return d.event(), nil
}

// UpdateEvent replaces the stored event. NotFound if it is gone. An event
// moved to another month (or shop) is listed under it first.
func (db *DB) UpdateEvent(ctx context.Context, e shop.Event) error {
	old, err := db.FindEvent(ctx, e.ID)
	if err != nil {
		return err
	}
	if m := monthKey(e.StartsAt); m != monthKey(old.StartsAt) || e.ShopID != old.ShopID {
		if _, err := db.appendTo(ctx, eventLists, []listItem{{Owner: monthOwner("", m), Ref: e.ID}, {Owner: monthOwner(e.ShopID, m), Ref: e.ID}}); err != nil {
			return err
		}
	}
	err = db.replaceByID(ctx, "events", e.ID, toEventDoc(e), "event")
	if err == nil {
		db.logPlace(ctx, "event:"+e.ID)
	}
	return err
}

func (db *DB) findEvents(ctx context.Context, filter bson.D, sort bson.D, limit int) ([]shop.Event, error) {
	opts := options.Find().SetSort(sort)
	if limit > 0 {
		opts.SetLimit(int64(limit))
	}
	return findMany(ctx, db.c("events"), filter, opts, "events", eventDoc.event)
}

// listedEvents returns the events owner's list names that keep accepts,
// by start: one _id read per entry and per event.
func (db *DB) listedEvents(ctx context.Context, owner string, keep func(shop.Event) bool) ([]shop.Event, error) {
	docs, err := listedDocs(ctx, db, eventLists, owner, "events", "events", func(eventDoc) string { return owner })
	if err != nil {
		return nil, err
	}
	evs := make([]shop.Event, 0, len(docs))
	for _, d := range docs {
		if e := d.event(); keep(e) {
			evs = append(evs, e)
		}
	}
	slices.SortFunc(evs, func(a, b shop.Event) int { return cmp.Or(a.StartsAt.Compare(b.StartsAt), cmp.Compare(a.ID, b.ID)) })
	return evs, nil
}

// FindEvents returns the events matching f, by start time, at most f.Limit
// of them (0: all), read through the event lists: with CreatedBy, the
// creator's list; otherwise the lists of the months from f.From less
// shop.MaxEventLength (an event running at From started since) to f.To,
// the shop's if f.ShopID is set, every shop's if not, stopping at the
// first month that fills the limit. Invalid without CreatedBy unless From
// and To are both set: the months to read are bounded.
func (db *DB) FindEvents(ctx context.Context, f shop.EventFilter) ([]shop.Event, error) {
	keep := func(e shop.Event) bool {
		return (f.ShopID == "" || e.ShopID == f.ShopID) && (f.From.IsZero() || e.EndsAt.After(f.From)) &&
			(f.To.IsZero() || e.StartsAt.Before(f.To)) && (f.Category == "" || e.Category == f.Category) &&
			(f.CreatedBy == "" || e.CreatedBy == f.CreatedBy)
	}
	limited := func(evs []shop.Event) []shop.Event {
		if f.Limit > 0 && len(evs) > f.Limit {
			return evs[:f.Limit]
		}
		return evs
	}
	if f.CreatedBy != "" {
		evs, err := db.listedEvents(ctx, creatorOwner(f.CreatedBy), keep)
		return limited(evs), err
	}
	if f.From.IsZero() || f.To.IsZero() {
		return nil, hyperlieu.Errorf(hyperlieu.Invalid, "events are listed by creator or between two times")
	}
	first := f.From.Add(-shop.MaxEventLength).UTC()
	out := []shop.Event{}
	for m := time.Date(first.Year(), first.Month(), 1, 0, 0, 0, 0, time.UTC); m.Before(f.To); m = m.AddDate(0, 1, 0) {
		key := monthKey(m)
		evs, err := db.listedEvents(ctx, monthOwner(f.ShopID, key), func(e shop.Event) bool {
			return keep(e) && monthKey(e.StartsAt) == key // listed again under the month it moved to
		})
		if err != nil {
			return nil, err
		}
		out = append(out, evs...)
		if f.Limit > 0 && len(out) >= f.Limit {
			break // later months start later
		}
	}
	return limited(out), nil
}

// FindEventsChangedSince returns the events updated after t, oldest change first.
func (db *DB) FindEventsChangedSince(ctx context.Context, t time.Time) ([]shop.Event, error) {
	return db.findEvents(ctx, bson.D{{Key: "updatedAt", Value: bson.D{{Key: "$gt", Value: t}}}},
		bson.D{{Key: "updatedAt", Value: 1}}, 0)
}

type rsvpDoc struct {
	ID               string     `bson:"_id"` // rsvp:<event>:<user>
	EventID          string     `bson:"eventId"`
	UserID           string     `bson:"userId"`
	Position         int        `bson:"position"`
	TicketCode       string     `bson:"ticketCode"`
	JoinedWaitlisted bool       `bson:"joinedWaitlisted"`
	CreatedAt        time.Time  `bson:"createdAt"`
	UpdatedAt        time.Time  `bson:"updatedAt"`
	CancelledAt      *time.Time `bson:"cancelledAt,omitempty"`
}

func rsvpID(eventID, userID string) string { return "rsvp:" + eventID + ":" + userID }

func toRSVPDoc(r shop.RSVP) rsvpDoc {
	d := rsvpDoc{ID: rsvpID(r.EventID, r.UserID), EventID: r.EventID, UserID: r.UserID, Position: r.Position,
		TicketCode: r.TicketCode, JoinedWaitlisted: r.JoinedWaitlisted, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if !r.CancelledAt.IsZero() {
		d.CancelledAt = &r.CancelledAt
	}
	return d
}

func (d rsvpDoc) rsvp() shop.RSVP {
	r := shop.RSVP{EventID: d.EventID, UserID: d.UserID, Position: d.Position, TicketCode: d.TicketCode,
		JoinedWaitlisted: d.JoinedWaitlisted, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
	if d.CancelledAt != nil {
		r.CancelledAt = d.CancelledAt.UTC()
	}
	return r
}

// CreateRSVP stores a user's first answer to an event; Conflict if they
// already have one (the key is the event and the user). Its ticket and its
// entry in the user's list go first: an RSVP is never stored without them,
// and what a failed or losing attempt leaves is skipped by their readers.
func (db *DB) CreateRSVP(ctx context.Context, r shop.RSVP) error {
	if err := db.createTicket(ctx, r.EventID, r.TicketCode, r.UserID); err != nil {
		return err
	}
	if err := db.addToRSVPList(ctx, r.UserID, r.EventID); err != nil {
		return err
	}
	_, err := db.c("rsvps").InsertOne(ctx, toRSVPDoc(r))
	return translate(err, "rsvp")
}

// FindRSVP returns the user's RSVP to the event, or NotFound.
func (db *DB) FindRSVP(ctx context.Context, eventID, userID string) (shop.RSVP, error) {
	var d rsvpDoc
	if err := db.r("rsvps").FindOne(ctx, byID(rsvpID(eventID, userID))).Decode(&d); err != nil {
		return shop.RSVP{}, translate(err, "rsvp")
	}
	return d.rsvp(), nil
}

// UpdateRSVP replaces the stored RSVP; NotFound if there is none.
func (db *DB) UpdateRSVP(ctx context.Context, r shop.RSVP) error {
	return db.replaceByID(ctx, "rsvps", rsvpID(r.EventID, r.UserID), toRSVPDoc(r), "rsvp")
}

// ticketDoc finds an RSVP by its ticket code, for the manager's scan.
type ticketDoc struct {
	ID     string `bson:"_id"` // <event>:<code>
	UserID string `bson:"userId"`
}

func ticketID(eventID, code string) string { return eventID + ":" + code }

// createTicket indexes a ticket code. A code already indexed is left as it
// is: a retry, or a lost race whose RSVP was never stored (FindRSVPByTicket
// checks the code against the RSVP).
func (db *DB) createTicket(ctx context.Context, eventID, code, userID string) error {
	if code == "" {
		return nil
	}
	_, err := db.c("tickets").InsertOne(ctx, ticketDoc{ID: ticketID(eventID, code), UserID: userID})
	if err := translate(err, "ticket"); hyperlieu.KindOf(err) != hyperlieu.Conflict {
		return err
	}
	return nil
}

// FindRSVPByTicket returns the RSVP holding the ticket code, or NotFound:
// two _id reads.
func (db *DB) FindRSVPByTicket(ctx context.Context, eventID, code string) (shop.RSVP, error) {
	var t ticketDoc
	if err := db.r("tickets").FindOne(ctx, byID(ticketID(eventID, code))).Decode(&t); err != nil {
		return shop.RSVP{}, translate(err, "ticket")
	}
	r, err := db.FindRSVP(ctx, eventID, t.UserID)
	if hyperlieu.KindOf(err) == hyperlieu.NotFound || (err == nil && r.TicketCode != code) {
		return shop.RSVP{}, hyperlieu.Errorf(hyperlieu.NotFound, "ticket not found")
	}
	return r, err
}

type checkInDoc struct {
	ID      string    `bson:"_id"` // checkin:<event>:<user>
	EventID string    `bson:"eventId"`
	UserID  string    `bson:"userId"`
	Method  string    `bson:"method"`
	By      string    `bson:"by"`
	At      time.Time `bson:"at"`
	// ScanEntry is its number in the list of the manager who scanned it
	// (0: none, or stored before the list), so that the attendee's
	// erasure re-points that entry by _id.
	ScanEntry int `bson:"scanEntry,omitempty"`
}

// CreateCheckIn records a check-in; Conflict if the user already checked
// in. It is listed first under the attendee and, when a manager scanned
// it, under the manager (peopleLists).
func (db *DB) CreateCheckIn(ctx context.Context, c shop.CheckIn) error {
	id := "checkin:" + c.EventID + ":" + c.UserID
	var items []listItem
	if c.UserID != "" {
		items = append(items, listItem{Owner: checkInsOf(c.UserID), Ref: id})
	}
	if c.By != "" && c.By != c.UserID {
		items = append(items, listItem{Owner: scannedBy(c.By), Ref: id})
	}
	ns, err := db.appendTo(ctx, peopleLists, items)
	if err != nil {
		return err
	}
	d := checkInDoc{ID: id, EventID: c.EventID, UserID: c.UserID, Method: c.Method, By: c.By, At: c.At}
	if c.By != "" && c.By != c.UserID {
		d.ScanEntry = ns[len(ns)-1]
	}
	_, err = db.c("checkins").InsertOne(ctx, d)
	return translate(err, "check-in")
}

// FindCheckIn returns the user's check-in at the event, or NotFound.
func (db *DB) FindCheckIn(ctx context.Context, eventID, userID string) (shop.CheckIn, error) {
	var d checkInDoc
	if err := db.r("checkins").FindOne(ctx, byID("checkin:"+eventID+":"+userID)).Decode(&d); err != nil {
		return shop.CheckIn{}, translate(err, "check-in")
	}
	return shop.CheckIn{EventID: d.EventID, UserID: d.UserID, Method: d.Method, By: d.By, At: d.At.UTC()}, nil
}

type feedbackDoc struct {
	ID        string    `bson:"_id"` // feedback:<event>:<user>
	EventID   string    `bson:"eventId"`
	ShopID    string    `bson:"shopId"`
	UserID    string    `bson:"userId"`
	Rating    int       `bson:"rating"`
	Comment   string    `bson:"comment"`
	CreatedAt time.Time `bson:"createdAt"`
	UpdatedAt time.Time `bson:"updatedAt"`
}

func (d feedbackDoc) feedback() shop.Feedback {
	return shop.Feedback{EventID: d.EventID, ShopID: d.ShopID, UserID: d.UserID, Rating: d.Rating,
		Comment: d.Comment, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
}

// UpdateFeedback creates or replaces the user's feedback on the event,
// keeping the time it was first given.
func (db *DB) UpdateFeedback(ctx context.Context, f shop.Feedback) error {
	id := "feedback:" + f.EventID + ":" + f.UserID
	// Listed before its first write, under the event and under its writer
	// (one insert): unless it is stored already, which means it was then.
	switch err := db.r("feedback").FindOne(ctx, byID(id)).Err(); {
	case errors.Is(err, mongo.ErrNoDocuments):
		items := []listItem{{Owner: f.EventID, Ref: id}}
		if f.UserID != "" {
			items = append(items, listItem{Owner: feedbackOwner(f.UserID), Ref: id})
		}
		if _, err := db.appendTo(ctx, feedbackLists, items); err != nil {
			return err
		}
	case err != nil:
		return translate(err, "feedback")
	}
	_, err := db.c("feedback").UpdateOne(ctx, byID(id),
		bson.D{
			{Key: "$set", Value: bson.D{{Key: "eventId", Value: f.EventID}, {Key: "shopId", Value: f.ShopID},
				{Key: "userId", Value: f.UserID}, {Key: "rating", Value: f.Rating}, {Key: "comment", Value: f.Comment},
				{Key: "updatedAt", Value: f.UpdatedAt}}},
			{Key: "$setOnInsert", Value: bson.D{{Key: "createdAt", Value: f.CreatedAt}}},
		}, options.UpdateOne().SetUpsert(true))
	return translate(err, "feedback")
}

// FindFeedback returns the event's feedback, oldest change first, read by
// _id through the event's list of feedback.
func (db *DB) FindFeedback(ctx context.Context, eventID string) ([]shop.Feedback, error) {
	entries, err := db.listPage(ctx, feedbackLists, eventID, 0, math.MaxInt)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.Ref
	}
	fs, err := findByIDs(ctx, db.r("feedback"), ids, nil, "feedback", feedbackDoc.feedback)
	slices.SortStableFunc(fs, func(a, b shop.Feedback) int { return a.UpdatedAt.Compare(b.UpdatedAt) })
	return fs, err
}

// An event's feedback is an owner list (lists.go) of the event: a query on
// eventId decoded all feedback of every event on the embedded database. A
// person's feedback is listed before its first write; an erased one's
// entry names nothing and is skipped.
// A person's feedback is listed in the same lists under "by:<user>", for
// their export and erasure (an event's _id never starts so).
var feedbackLists = ownerList{coll: "feedback_lists", prefix: "f"}

func feedbackOwner(userID string) string { return "by:" + userID }

// relistFeedback makes the event's list name the feedback orig under its
// new id, before erasure re-keys it.
func (db *DB) relistFeedback(ctx context.Context, eventID, orig, id string) error {
	return db.relist(ctx, feedbackLists, eventID, orig, id)
}

// relist makes owner's list in l name the document orig under its new id
// (every entry naming orig: a retried listing names it twice), before
// erasure re-keys it, so that no entry keeps the erased person's key: a
// run cut short between the two lists the new id, which reads as nothing
// until the re-key, and is finished by the next.
func (db *DB) relist(ctx context.Context, l ownerList, owner, orig, id string) error {
	entries, err := db.listedEntries(ctx, l, owner)
	if err != nil {
		return err
	}
	listed := false
	for _, e := range entries {
		switch e.Ref {
		case orig:
			if _, err := db.c(l.coll).UpdateOne(ctx, byID(e.ID), bson.D{{Key: "$set", Value: bson.D{{Key: "ref", Value: id}}}}); err != nil {
				return translate(err, l.coll)
			}
			listed = true
		case id:
			listed = true
		}
	}
	if !listed {
		_, err = db.appendTo(ctx, l, []listItem{{Owner: owner, Ref: id}})
	}
	return err
}

// listAllFeedback lists, once per database, the feedback given before it
// was listed.
func (db *DB) listAllFeedback(ctx context.Context) error {
	return db.once(ctx, "feedback-lists-1", func() error {
		_, err := db.backfillList(ctx, backfill{l: feedbackLists, coll: "feedback", owner: "eventId", by: "createdAt"})
		return err
	})
}
