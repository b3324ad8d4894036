package store

import (
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/notify"
)

// Notifications live in notifications (as Notify stored them: the inbox),
// the outbox's collections (see outbox.go: queue, claims, outcomes),
// notification_opens (first open, by unique insert), devices (keyed by
// token, listed per user in device_lists) and contact_slots (daily cap, by
// unique insert).
func notificationIndexes() []indexSpec {
	return []indexSpec{
		{"notifications", index(bson.D{{Key: "userId", Value: 1}, {Key: "createdAt", Value: -1}})},
		{"notifications", index(bson.D{{Key: "status", Value: 1}, {Key: "notBefore", Value: 1}})},
		{"notifications", index(bson.D{{Key: "status", Value: 1}, {Key: "createdAt", Value: -1}})},
		{"devices", index(bson.D{{Key: "userId", Value: 1}})},
		{queueColl, index(bson.D{{Key: "notBefore", Value: 1}})},
		{queueColl, index(bson.D{{Key: "userId", Value: 1}})},
		{outcomesColl, index(bson.D{{Key: "userId", Value: 1}})},
		{"contact_slots", index(bson.D{{Key: "userId", Value: 1}})},
		{"notification_opens", index(bson.D{{Key: "userId", Value: 1}})},
	}
}

type notificationDoc struct {
	ID           string            `bson:"_id"`
	UserID       string            `bson:"userId"`
	Kind         string            `bson:"kind"`
	Category     string            `bson:"category"`
	Vars         map[string]string `bson:"vars,omitempty"`
	Data         map[string]string `bson:"data,omitempty"`
	CollapseKey  string            `bson:"collapseKey,omitempty"`
	DedupKey     string            `bson:"dedupKey,omitempty"`
	CreatedAt    time.Time         `bson:"createdAt"`
	NotBefore    time.Time         `bson:"notBefore"`
	ExpiresAt    time.Time         `bson:"expiresAt"`
	InboxN       int               `bson:"inboxN,omitempty"` // its number in the inbox list
	ListN        int               `bson:"listN,omitempty"`  // its number in everyone's (the admins')
	OutboxFields `bson:",inline"`
}

// OutboxFields are what the outbox changes; UpdateOutbox sets only these.
// Exported only because the BSON codec skips unexported embedded structs.
type OutboxFields struct {
	Title      string     `bson:"title"`
	Body       string     `bson:"body"`
	Status     string     `bson:"status"`
	Reason     string     `bson:"reason"`
	Attempts   int        `bson:"attempts"`
	LastError  string     `bson:"lastError"`
	MessageIDs []string   `bson:"messageIds"`
	SentTo     []string   `bson:"sentTo"`
	SentAt     *time.Time `bson:"sentAt"`
	Waits      int        `bson:"waits"`
	Claim      int        `bson:"claim"`
	Parked     bool       `bson:"parked,omitempty"`
	LeaseOwner string     `bson:"leaseOwner"`
	LeaseUntil time.Time  `bson:"leaseUntil"`
}

func toNotificationDoc(n notify.Notification) notificationDoc {
	return notificationDoc{
		ID: n.ID, UserID: n.UserID, Kind: string(n.Kind), Category: n.Category,
		Vars: n.Vars, Data: n.Data, CollapseKey: n.CollapseKey, DedupKey: n.DedupKey,
		CreatedAt: n.CreatedAt, NotBefore: n.NotBefore, ExpiresAt: n.ExpiresAt,
		OutboxFields: toOutboxFields(n),
	}
}

func toOutboxFields(n notify.Notification) OutboxFields {
	f := OutboxFields{
		Title: n.Title, Body: n.Body, Status: string(n.Status), Reason: n.Reason, Attempts: n.Attempts, LastError: n.LastError,
		MessageIDs: n.MessageIDs, SentTo: n.SentTo, Waits: n.Waits, Claim: n.Claim, Parked: n.Parked,
		LeaseOwner: n.LeaseOwner, LeaseUntil: n.LeaseUntil,
	}
	if !n.SentAt.IsZero() {
		f.SentAt = &n.SentAt
	}
	if f.MessageIDs == nil {
		f.MessageIDs = []string{}
	}
	if f.SentTo == nil {
		f.SentTo = []string{}
	}
	return f
}

func (d notificationDoc) notification() notify.Notification {
	n := notify.Notification{
		ID: d.ID, UserID: d.UserID, Kind: hyperlieu.NotificationKind(d.Kind), Category: d.Category,
		Title: d.Title, Body: d.Body, Vars: d.Vars, Data: d.Data, CollapseKey: d.CollapseKey, DedupKey: d.DedupKey,
		CreatedAt: d.CreatedAt.UTC(), NotBefore: d.NotBefore.UTC(), ExpiresAt: d.ExpiresAt.UTC(),
		Status: notify.Status(d.Status), Reason: d.Reason, Attempts: d.Attempts, LastError: d.LastError,
		MessageIDs: d.MessageIDs, SentTo: d.SentTo, Waits: d.Waits, Claim: d.Claim, Parked: d.Parked,
		LeaseOwner: d.LeaseOwner, LeaseUntil: d.LeaseUntil.UTC(),
	}
	if d.SentAt != nil {
		n.SentAt = d.SentAt.UTC()
	}
	return n
}

// FindUsers returns those of ids that exist.
func (db *DB) FindUsers(ctx context.Context, ids []string) ([]hyperlieu.User, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return findByIDs(ctx, db.c("users"), ids, nil, "users", userDoc.user)
}

// insertMany inserts docs unordered in one round trip and reports which
// were inserted; the others collided with an existing _id.
func (db *DB) insertMany(ctx context.Context, coll string, docs []any) ([]bool, error) {
	ok := make([]bool, len(docs))
	for i := range ok {
		ok[i] = true
	}
	if len(docs) == 0 {
		return ok, nil
	}
	_, err := db.c(coll).InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	var bwe mongo.BulkWriteException
	if errors.As(err, &bwe) && bwe.WriteConcernError == nil {
		for _, we := range bwe.WriteErrors {
			if we.Code != 11000 && !strings.Contains(we.Message, "E11000") {
				return nil, translate(err, coll)
			}
			ok[we.Index] = false
		}
		return ok, nil
	}
	if err != nil {
		return nil, translate(err, coll)
	}
	return ok, nil
}

// CreateNotifications inserts ns, and queues the pending ones for the
// outbox first (a queued copy without its inbox entry is still sent; the
// reverse would be lost), the parked ones listed under their user before
// that (listParked); those whose _id exists are skipped.
//
// Each is listed in its user's inbox first (lists.go: one insert for all
// users, and one bulk update of their heads), so that a stored
// notification is always listed; a repeated one is listed twice and shown
// once. The same insert lists it under everyone (the admins' page) and,
// when it is about someone else (data.userId: a manager's low-rating
// alert quoting a customer), under that person's "about" owner, for
// erasure.
func (db *DB) CreateNotifications(ctx context.Context, ns []notify.Notification) error {
	items := make([]listItem, 2*len(ns), 2*len(ns)+1)
	for i, n := range ns {
		items[i] = listItem{Owner: n.UserID, Ref: n.ID}
		items[len(ns)+i] = listItem{Owner: everyone, Ref: n.ID}
		if who := n.Data["userId"]; who != "" && who != n.UserID {
			items = append(items, listItem{Owner: aboutOwner(who), Ref: n.ID})
		}
	}
	numbers, err := db.appendTo(ctx, inboxList, items)
	if err != nil {
		return err
	}
	docs := make([]any, len(ns))
	var queued []any
	for i, n := range ns {
		d := toNotificationDoc(n)
		d.InboxN, d.ListN = numbers[i], numbers[len(ns)+i]
		docs[i] = d
		if n.Status == notify.StatusPending {
			queued = append(queued, d)
		}
	}
	if err := db.listParked(ctx, ns); err != nil {
		return err
	}
	if _, err := db.insertMany(ctx, queueColl, queued); err != nil {
		return err
	}
	db.queued.add(len(queued))
	_, err = db.insertMany(ctx, "notifications", docs)
	return err
}

// FindNotificationIDs returns which of ids are stored.
func (db *DB) FindNotificationIDs(ctx context.Context, ids []string) ([]string, error) {
	set, err := db.existing(ctx, "notifications", ids)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	return out, nil
}

// CreateSlots claims, for each request, the first of its slots nobody holds,
// by keyed inserts only: round k inserts, in one unordered command, the k-th
// slot of every request still unserved; a duplicate key means taken, and
// that request tries its next slot in the next round. No read precedes the
// inserts (on the embedded FerretDB a `$in` read decodes the whole
// collection), so a user with no contact today costs one insert. The
// unique _id decides every race, between requests of one batch as between
// instances.
func (db *DB) CreateSlots(ctx context.Context, reqs []notify.SlotRequest, at time.Time) ([]bool, error) {
	ok := make([]bool, len(reqs))
	next := make([]int, len(reqs)) // the slot each request tries next
	for {
		var docs []any
		var owner []int
		for i, r := range reqs {
			if !ok[i] && next[i] < len(r.Slots) {
				docs = append(docs, bson.D{{Key: "_id", Value: r.Slots[next[i]]}, {Key: "at", Value: at}})
				owner = append(owner, i)
				next[i]++
			}
		}
		if len(docs) == 0 {
			return ok, nil
		}
		inserted, err := db.insertMany(ctx, "contact_slots", docs)
		if err != nil {
			return nil, err
		}
		for j, i := range owner {
			ok[i] = inserted[j]
		}
	}
}

// existing returns which of ids exist in coll, by one _id read each.
func (db *DB) existing(ctx context.Context, coll string, ids []string) (map[string]bool, error) {
	found, err := findByIDs(ctx, db.c(coll), ids,
		options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}}), coll, func(d idDoc) string { return d.ID })
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(found))
	for _, id := range found {
		out[id] = true
	}
	return out, nil
}

type deviceDoc struct {
	Token      string    `bson:"_id"`
	UserID     string    `bson:"userId"`
	Platform   string    `bson:"platform"`
	AppVersion string    `bson:"appVersion,omitempty"`
	CreatedAt  time.Time `bson:"createdAt"`
	UpdatedAt  time.Time `bson:"updatedAt"`
}

// FindNotification returns the notification with its first open, or NotFound.
func (db *DB) FindNotification(ctx context.Context, id string) (notify.Notification, error) {
	var d notificationDoc
	if err := db.c("notifications").FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return notify.Notification{}, translate(err, "notification")
	}
	ns := []notify.Notification{d.notification()}
	if err := db.withOutbox(ctx, ns, time.Now()); err != nil {
		return notify.Notification{}, err
	}
	if err := db.withOpens(ctx, ns); err != nil {
		return notify.Notification{}, err
	}
	return ns[0], nil
}

func (db *DB) findNotifications(ctx context.Context, filter bson.D, opts *options.FindOptionsBuilder) ([]notify.Notification, error) {
	return findMany(ctx, db.c("notifications"), filter, opts, "notifications", notificationDoc.notification)
}

// withOpens fills OpenedAt from notification_opens, one _id read each (a
// page is bounded; `$in` would decode every open on the embedded database).
func (db *DB) withOpens(ctx context.Context, ns []notify.Notification) error {
	if len(ns) == 0 {
		return nil
	}
	ids := make([]string, len(ns))
	for i, n := range ns {
		ids[i] = n.ID
	}
	type openDoc struct {
		ID string    `bson:"_id"`
		At time.Time `bson:"at"`
	}
	opens, err := findByIDs(ctx, db.c("notification_opens"), ids, nil, "notification opens", func(d openDoc) openDoc { return d })
	if err != nil {
		return err
	}
	at := make(map[string]time.Time, len(opens))
	for _, o := range opens {
		at[o.ID] = o.At.UTC()
	}
	for i := range ns {
		ns[i].OpenedAt = at[ns[i].ID]
	}
	return nil
}

// FindNotificationPage returns a page of q, newest first, with opens and
// outcomes. Status and due time are the outbox's, which the stored
// notification does not follow (outcomes are kept apart, see outbox.go),
// so the page is filtered once merged, reading on (twice as much each
// time) until it is full or the notifications run out. A user's page reads
// their inbox list (lists.go), by _id only, from the number of the
// cursor's notification down; everyone's reads the list of every
// notification likewise, at most maxAdminReads of them (see
// FindAllNotificationPage, which says where it stopped).
func (db *DB) FindNotificationPage(ctx context.Context, q notify.Query) ([]notify.Notification, error) {
	ns, _, err := db.notificationPage(ctx, q)
	return ns, err
}

// maxAdminReads bounds the notifications one page of everyone's reads: a
// status few hold (failed) would otherwise read every notification stored
// for one page.
const maxAdminReads = 200

// FindAllNotificationPage is FindNotificationPage for everyone's
// notifications (q.UserID empty): it reads at most max(q.Limit,
// maxAdminReads) notifications, so a page may hold fewer than q.Limit
// while more remain; last is then the last one read, for the next page to
// start after (zero when the page is full or the list ended). A page costs
// the cursor's notification, the list's head and one read past it, then
// per notification read its entry, itself and its outbox state (one to
// three reads), and its open.
func (db *DB) FindAllNotificationPage(ctx context.Context, q notify.Query) ([]notify.Notification, notify.Notification, error) {
	q.UserID = ""
	return db.notificationPage(ctx, q)
}

func (db *DB) notificationPage(ctx context.Context, q notify.Query) ([]notify.Notification, notify.Notification, error) {
	next, err := db.inboxReader(ctx, q)
	if err != nil {
		return nil, notify.Notification{}, err
	}
	now := time.Now()
	var out []notify.Notification
	var last notify.Notification // the last read, once the reads are spent
	read, budget := 0, math.MaxInt
	if q.UserID == "" {
		budget = max(q.Limit, maxAdminReads)
	}
	for batch := q.Limit; ; batch *= 2 {
		ns, more, err := next(min(batch, budget-read))
		if err != nil {
			return nil, notify.Notification{}, err
		}
		read += len(ns)
		if err := db.withOutbox(ctx, ns, now); err != nil {
			return nil, notify.Notification{}, err
		}
		for _, n := range ns {
			if (len(q.Statuses) == 0 || slices.Contains(q.Statuses, n.Status)) && (q.DueBy.IsZero() || !n.NotBefore.After(q.DueBy)) {
				out = append(out, n)
			}
		}
		if len(out) >= q.Limit || !more {
			break
		}
		if read >= budget && len(ns) > 0 {
			last = ns[len(ns)-1]
			break
		}
	}
	out = out[:min(len(out), q.Limit)]
	return out, last, db.withOpens(ctx, out)
}

// inboxReader returns a reader of the notifications that may be on q's
// page, batch by batch, newest first, saying whether more may follow: the
// user's inbox list, or everyone's.
func (db *DB) inboxReader(ctx context.Context, q notify.Query) (func(batch int) ([]notify.Notification, bool, error), error) {
	owner, number := q.UserID, func(d notificationDoc) int { return d.InboxN }
	if owner == "" {
		owner, number = everyone, func(d notificationDoc) int { return d.ListN }
	}
	before := 0 // the list's numbers below this one, or all
	if q.AfterID != "" {
		var d notificationDoc
		switch err := db.r("notifications").FindOne(ctx, byID(q.AfterID)).Decode(&d); {
		case errors.Is(err, mongo.ErrNoDocuments) || err == nil && q.UserID != "" && d.UserID != q.UserID:
			return func(int) ([]notify.Notification, bool, error) { return nil, false, nil }, nil
		case err != nil:
			return nil, translate(err, "notification")
		}
		if before = number(d); before == 0 && q.UserID != "" { // stored before inboxes were lists
			n, err := db.listNumberOf(ctx, inboxList, q.UserID, d.ID)
			if err != nil {
				return nil, err
			}
			before = n
		}
		if before == 0 && q.UserID == "" { // stored before everyone's list, not migrated
			return func(int) ([]notify.Notification, bool, error) { return nil, false, nil }, nil
		}
	}
	if before == 0 && q.AfterID != "" { // a user's cursor not listed
		return func(batch int) ([]notify.Notification, bool, error) {
			ns, err := db.findNotifications(ctx, pageFilter(q), options.Find().
				SetSort(bson.D{{Key: "createdAt", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(batch)))
			if len(ns) > 0 {
				q.AfterCreated, q.AfterID = ns[len(ns)-1].CreatedAt, ns[len(ns)-1].ID
			}
			return ns, len(ns) == batch, err
		}, nil
	}
	return func(batch int) ([]notify.Notification, bool, error) {
		es, err := db.listPage(ctx, inboxList, owner, before, batch)
		if err != nil || len(es) == 0 {
			return nil, false, err
		}
		before = es[len(es)-1].N
		docs, err := findByIDs(ctx, db.r("notifications"), refsOf(es), nil, "notifications", func(d notificationDoc) notificationDoc { return d })
		ns := make([]notify.Notification, 0, len(docs))
		for _, d := range docs {
			if owner != everyone || d.ListN == 0 || slices.ContainsFunc(es, func(e listEntry) bool { return e.Ref == d.ID && e.N == d.ListN }) {
				ns = append(ns, d.notification())
			}
		}
		return ns, before > 1, err
	}, nil
}

// aboutOwner owns, in inboxList, the notifications to others about userID.
func aboutOwner(userID string) string { return "about:" + userID }

// pageFilter is the stored notifications of a user that may be on q's
// page: a cursor the user's list does not hold (it was stored before
// inboxes were lists and not migrated) is read as a query.
func pageFilter(q notify.Query) bson.D {
	f := bson.D{{Key: "userId", Value: q.UserID}}
	if len(q.Statuses) > 0 {
		st := []string{string(notify.StatusPending)}
		for _, s := range q.Statuses {
			if s != notify.StatusPending {
				st = append(st, string(s))
			}
		}
		f = append(f, bson.E{Key: "status", Value: bson.D{{Key: "$in", Value: st}}})
	}
	if !q.DueBy.IsZero() {
		f = append(f, bson.E{Key: "notBefore", Value: bson.D{{Key: "$lte", Value: q.DueBy}}})
	}
	if q.AfterID != "" {
		f = append(f, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "createdAt", Value: bson.D{{Key: "$lt", Value: q.AfterCreated}}}},
			bson.D{{Key: "createdAt", Value: q.AfterCreated}, {Key: "_id", Value: bson.D{{Key: "$lt", Value: q.AfterID}}}},
		}})
	}
	return f
}

// CreateOpen records the first open of n; Conflict if it was opened.
func (db *DB) CreateOpen(ctx context.Context, n notify.Notification, at time.Time) error {
	_, err := db.c("notification_opens").InsertOne(ctx, bson.D{
		{Key: "_id", Value: n.ID}, {Key: "userId", Value: n.UserID}, {Key: "at", Value: at},
		{Key: "campaignId", Value: n.Data["campaignId"]},
	})
	return translate(err, "notification open")
}

// MaxInstallIDs bounds a user's install history.
const MaxInstallIDs = 20

type installsDoc struct {
	UserID     string   `bson:"_id"`
	InstallIDs []string `bson:"installIds"`
}

// UpdateInstallIDs adds installID to the user's history in device_installs
// (one document per user), keeping the MaxInstallIDs most recent.
func (db *DB) UpdateInstallIDs(ctx context.Context, userID, installID string) error {
	var err error
	// Read, add, replace: two racing first registrations may both insert;
	// the loser reads the winner's document and tries again.
	for range 3 {
		var d installsDoc
		if ferr := db.c("device_installs").FindOne(ctx, byID(userID)).Decode(&d); ferr != nil && !errors.Is(ferr, mongo.ErrNoDocuments) {
			return translate(ferr, "device installs")
		}
		if slices.Contains(d.InstallIDs, installID) {
			return nil
		}
		ids := append(d.InstallIDs, installID)
		if len(ids) > MaxInstallIDs {
			ids = ids[len(ids)-MaxInstallIDs:]
		}
		_, err = db.c("device_installs").ReplaceOne(ctx, byID(userID), installsDoc{userID, ids}, options.Replace().SetUpsert(true))
		if hyperlieu.KindOf(translate(err, "")) != hyperlieu.Conflict {
			break
		}
	}
	return translate(err, "device installs")
}

// FindInstallIDs returns the user's install history, oldest first.
func (db *DB) FindInstallIDs(ctx context.Context, userID string) ([]string, error) {
	var d installsDoc
	err := db.c("device_installs").FindOne(ctx, byID(userID)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	return d.InstallIDs, translate(err, "device installs")
}

// DeleteNotificationData deletes the user's devices, notifications (with
// their opens, queue copies and outcomes), and the notifications to others
// that are about the user (data.userId: a manager's low-rating alert
// quoting their comment), with their queue copies and outcomes, all by
// _id, through the user's lists: a delete by userId decodes the whole
// collection on the embedded database. Their daily contact slots name no
// one: the account's erasure deletes the key that ties them to the user
// (hyperlieu.User.ClaimKey).
func (db *DB) DeleteNotificationData(ctx context.Context, userID string) error {
	if err := db.deleteDevicesOf(ctx, userID); err != nil {
		return err
	}
	mine, err := db.listedNotifications(ctx, userID)
	if err != nil {
		return err
	}
	about, err := db.listedNotifications(ctx, aboutOwner(userID))
	if err != nil {
		return err
	}
	var ids, aboutIDs, entries []string
	for _, d := range mine {
		ids = append(ids, d.ID)
	}
	for _, d := range about {
		aboutIDs = append(aboutIDs, d.ID)
	}
	for _, d := range append(mine, about...) {
		if d.ListN > 0 {
			entries = append(entries, inboxList.entry(everyone, d.ListN))
		}
	}
	for _, del := range []struct {
		coll string
		ids  []string
	}{
		{outcomesColl, ids}, {outcomesColl, aboutIDs}, {queueColl, ids}, {queueColl, aboutIDs},
		{"notification_opens", ids}, {"notifications", ids}, {"notifications", aboutIDs}, {inboxList.coll, entries},
	} {
		if err := db.deleteByIDs(ctx, del.coll, del.ids); err != nil {
			return err
		}
	}
	for _, coll := range []string{"device_installs", deviceListsColl} {
		if _, err := db.c(coll).DeleteOne(ctx, byID(userID)); err != nil {
			return translate(err, coll)
		}
	}
	if err := db.dropList(ctx, inboxList, aboutOwner(userID)); err != nil {
		return err
	}
	return db.dropList(ctx, inboxList, userID)
}

// listedNotifications returns the notifications owner's inbox list holds
// (their numbers only: _id, listN, createdAt).
func (db *DB) listedNotifications(ctx context.Context, owner string) ([]notificationDoc, error) {
	ids, err := db.listedRefs(ctx, inboxList, owner)
	if err != nil {
		return nil, err
	}
	return findByIDs(ctx, db.r("notifications"), ids,
		options.FindOne().SetProjection(bson.D{{Key: "listN", Value: 1}, {Key: "createdAt", Value: 1}}),
		"notifications", func(d notificationDoc) notificationDoc { return d })
}

// deleteDevicesOf deletes the devices the user's list names that are
// still theirs (a token may have moved to another account since).
func (db *DB) deleteDevicesOf(ctx context.Context, userID string) error {
	var l deviceListDoc
	err := db.c(deviceListsColl).FindOne(ctx, byID(userID)).Decode(&l)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil
	}
	if err != nil {
		return translate(err, "devices")
	}
	tokens := make([]string, 0, len(l.Devices))
	for _, d := range l.Devices {
		tokens = append(tokens, d.Token)
	}
	ds, err := findByIDs(ctx, db.c("devices"), tokens, nil, "devices", func(d deviceDoc) deviceDoc { return d })
	if err != nil {
		return err
	}
	var theirs []string
	for _, d := range ds {
		if d.UserID == userID {
			theirs = append(theirs, d.Token)
		}
	}
	return db.deleteByIDs(ctx, "devices", theirs)
}

// migrateNotificationLists lists every notification stored before
// everyone's list, oldest first, and those about someone else under that
// person's about owner.
func (db *DB) migrateNotificationLists(ctx context.Context) (int, error) {
	return db.listEveryone(ctx, inboxList, "notifications", "createdAt", func(d bson.Raw) []listItem {
		who, _ := d.Lookup("data", "userId").StringValueOK()
		owner, _ := d.Lookup("userId").StringValueOK()
		if who == "" || who == owner {
			return nil
		}
		return []listItem{{Owner: aboutOwner(who), Ref: d.Lookup("_id").StringValue()}}
	})
}

type claimDoc struct {
	ID    string    `bson:"_id"` // <notification id>#<seq>
	Owner string    `bson:"owner"`
	Until time.Time `bson:"until"`
}

func claimID(c notify.Claim) string { return c.NotificationID + "#" + strconv.Itoa(c.Seq) }

// CreateClaims inserts the claims unordered and reports which were new.
func (db *DB) CreateClaims(ctx context.Context, cs []notify.Claim) ([]bool, error) {
	docs := make([]any, len(cs))
	for i, c := range cs {
		docs[i] = claimDoc{ID: claimID(c), Owner: c.Owner, Until: c.Until}
	}
	return db.insertMany(ctx, claimsColl, docs)
}

// FindClaims returns the stored claims matching cs, by one _id read each.
func (db *DB) FindClaims(ctx context.Context, cs []notify.Claim) ([]notify.Claim, error) {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = claimID(c)
	}
	docs, err := findByIDs(ctx, db.c(claimsColl), ids, nil, "claims", func(d claimDoc) claimDoc { return d })
	if err != nil {
		return nil, err
	}
	out := make([]notify.Claim, 0, len(docs))
	for _, d := range docs {
		i := strings.LastIndexByte(d.ID, '#')
		seq, err := strconv.Atoi(d.ID[i+1:])
		if i < 0 || err != nil {
			continue
		}
		out = append(out, notify.Claim{NotificationID: d.ID[:i], Seq: seq, Owner: d.Owner, Until: d.Until.UTC()})
	}
	return out, nil
}

// maxUpdateBatch bounds the statements of one update command: the embedded
// FerretDB v1 stops answering (and the connection is lost) from 100 on.
const maxUpdateBatch = 50

// Name returns the database's name, so that tests can open a second
// connection to it, as a second instance would.
func (db *DB) Name() string { return db.db.Name() }
