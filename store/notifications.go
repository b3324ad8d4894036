package store

import (
	"context"
	"errors"
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

// Notifications live in five collections: notifications (inbox and outbox
// state), notification_claims (one document per outbox claim, taken by
// unique insert), notification_opens (first open, by unique insert),
// devices (keyed by token) and contact_slots (daily cap, by unique insert).
func notificationIndexes() []indexSpec {
	return []indexSpec{
		{"notifications", index(bson.D{{Key: "userId", Value: 1}, {Key: "createdAt", Value: -1}})},
		{"notifications", index(bson.D{{Key: "status", Value: 1}, {Key: "notBefore", Value: 1}})},
		{"notifications", index(bson.D{{Key: "status", Value: 1}, {Key: "createdAt", Value: -1}})},
		{"devices", index(bson.D{{Key: "userId", Value: 1}})},
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

// CreateNotifications inserts ns; those whose _id exists are skipped.
func (db *DB) CreateNotifications(ctx context.Context, ns []notify.Notification) error {
	docs := make([]any, len(ns))
	for i, n := range ns {
		docs[i] = toNotificationDoc(n)
	}
	_, err := db.insertMany(ctx, "notifications", docs)
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
				docs = append(docs, bson.D{{Key: "_id", Value: r.Slots[next[i]]}, {Key: "userId", Value: r.UserID}, {Key: "at", Value: at}})
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

// UpdateDevice creates or refreshes the device keyed by its token, moving it
// to d.UserID; a refresh by the same user keeps its creation time.
func (db *DB) UpdateDevice(ctx context.Context, d notify.Device) error {
	var old deviceDoc
	err := db.c("devices").FindOne(ctx, bson.D{{Key: "_id", Value: d.Token}}).Decode(&old)
	if err == nil && old.UserID == d.UserID {
		d.CreatedAt = old.CreatedAt
	} else if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return translate(err, "device")
	}
	_, err = db.c("devices").ReplaceOne(ctx, bson.D{{Key: "_id", Value: d.Token}}, deviceDoc(d), options.Replace().SetUpsert(true))
	return translate(err, "device")
}

// FindDevices returns the devices of the users, most recently refreshed first.
func (db *DB) FindDevices(ctx context.Context, userIDs ...string) ([]notify.Device, error) {
	if len(userIDs) == 0 {
		return nil, nil
	}
	return findMany(ctx, db.c("devices"), bson.D{{Key: "userId", Value: bson.D{{Key: "$in", Value: userIDs}}}},
		options.Find().SetSort(bson.D{{Key: "updatedAt", Value: -1}, {Key: "_id", Value: 1}}),
		"devices", func(d deviceDoc) notify.Device {
			d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
			return notify.Device(d)
		})
}

// DeleteDevice deletes token if userID owns it, else returns NotFound.
func (db *DB) DeleteDevice(ctx context.Context, userID, token string) error {
	r, err := db.c("devices").DeleteOne(ctx, bson.D{{Key: "_id", Value: token}, {Key: "userId", Value: userID}})
	if err != nil {
		return translate(err, "device")
	}
	if r.DeletedCount == 0 {
		return hyperlieu.Errorf(hyperlieu.NotFound, "device not found")
	}
	return nil
}

// DeleteDeviceTokens deletes the devices with these tokens, whoever owns them.
func (db *DB) DeleteDeviceTokens(ctx context.Context, tokens []string) error {
	if len(tokens) == 0 {
		return nil
	}
	_, err := db.c("devices").DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: tokens}}}})
	return translate(err, "devices")
}

// FindNotification returns the notification with its first open, or NotFound.
func (db *DB) FindNotification(ctx context.Context, id string) (notify.Notification, error) {
	var d notificationDoc
	if err := db.c("notifications").FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return notify.Notification{}, translate(err, "notification")
	}
	ns := []notify.Notification{d.notification()}
	if err := db.withOpens(ctx, ns); err != nil {
		return notify.Notification{}, err
	}
	return ns[0], nil
}

// FindNotifications returns those of ids that exist, without opens, in the
// order of ids. It reads them one by one: on the embedded FerretDB a lookup
// by _id uses an index (see Embedded.IndexIDs) but `$in` scans the whole
// collection, which grows with every notification ever sent.
func (db *DB) FindNotifications(ctx context.Context, ids []string) ([]notify.Notification, error) {
	out := make([]notify.Notification, 0, len(ids))
	for _, id := range ids {
		var d notificationDoc
		err := db.c("notifications").FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue
		}
		if err != nil {
			return nil, translate(err, "notifications")
		}
		out = append(out, d.notification())
	}
	return out, nil
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

// FindNotificationPage returns a page of q, newest first, with opens.
func (db *DB) FindNotificationPage(ctx context.Context, q notify.Query) ([]notify.Notification, error) {
	f := bson.D{}
	if q.UserID != "" {
		f = append(f, bson.E{Key: "userId", Value: q.UserID})
	}
	if len(q.Statuses) > 0 {
		st := make([]string, len(q.Statuses))
		for i, s := range q.Statuses {
			st[i] = string(s)
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
	ns, err := db.findNotifications(ctx, f, options.Find().
		SetSort(bson.D{{Key: "createdAt", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(q.Limit)))
	if err != nil {
		return nil, err
	}
	return ns, db.withOpens(ctx, ns)
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

// DeleteNotificationData deletes the user's devices, notifications, opens and
// contact slots, and the notifications to others that are about the user
// (data.userId: a manager's low-rating alert quoting their comment).
func (db *DB) DeleteNotificationData(ctx context.Context, userID string) error {
	for _, coll := range []string{"devices", "notifications", "notification_opens", "contact_slots"} {
		if _, err := db.c(coll).DeleteMany(ctx, bson.D{{Key: "userId", Value: userID}}); err != nil {
			return translate(err, coll)
		}
	}
	if _, err := db.c("notifications").DeleteMany(ctx, bson.D{{Key: "data.userId", Value: userID}}); err != nil {
		return translate(err, "notifications")
	}
	if _, err := db.c("device_installs").DeleteOne(ctx, byID(userID)); err != nil {
		return translate(err, "device installs")
	}
	return nil
}

// FindDueNotifications returns pending notifications due by now and sending
// ones whose lease ended, oldest due first.
func (db *DB) FindDueNotifications(ctx context.Context, now time.Time, limit int) ([]notify.Notification, error) {
	f := bson.D{{Key: "$or", Value: bson.A{
		bson.D{{Key: "status", Value: string(notify.StatusPending)}, {Key: "notBefore", Value: bson.D{{Key: "$lte", Value: now}}}},
		bson.D{{Key: "status", Value: string(notify.StatusSending)}, {Key: "leaseUntil", Value: bson.D{{Key: "$lt", Value: now}}}},
	}}}
	return db.findNotifications(ctx, f, options.Find().SetSort(bson.D{{Key: "notBefore", Value: 1}}).SetLimit(int64(limit)))
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
	return db.insertMany(ctx, "notification_claims", docs)
}

// FindClaims returns the stored claims matching cs, by one _id read each.
func (db *DB) FindClaims(ctx context.Context, cs []notify.Claim) ([]notify.Claim, error) {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = claimID(c)
	}
	docs, err := findByIDs(ctx, db.c("notification_claims"), ids, nil, "claims", func(d claimDoc) claimDoc { return d })
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

// UpdateSending marks ids sending in bulk writes of at most maxUpdateBatch
// updates, each filtered on _id alone: an update filtered on `$in` makes
// FerretDB scan the whole collection (see UpdateOutbox).
func (db *DB) UpdateSending(ctx context.Context, ids []string, claimDelta int, owner string, until time.Time) error {
	update := bson.D{
		{Key: "$set", Value: bson.D{{Key: "status", Value: string(notify.StatusSending)}, {Key: "leaseOwner", Value: owner}, {Key: "leaseUntil", Value: until}}},
		{Key: "$inc", Value: bson.D{{Key: "attempts", Value: 1}, {Key: "claim", Value: claimDelta}}},
	}
	for start := 0; start < len(ids); start += maxUpdateBatch {
		chunk := ids[start:min(start+maxUpdateBatch, len(ids))]
		models := make([]mongo.WriteModel, len(chunk))
		for i, id := range chunk {
			models[i] = mongo.NewUpdateOneModel().SetFilter(bson.D{{Key: "_id", Value: id}}).SetUpdate(update)
		}
		if _, err := db.c("notifications").BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false)); err != nil {
			return translate(err, "notifications")
		}
	}
	return nil
}

// maxUpdateBatch bounds the statements of one update command: the embedded
// FerretDB v1 stops answering (and the connection is lost) from 100 on.
const maxUpdateBatch = 50

// UpdateOutbox sets the outbox fields of ns in bulk writes of at most
// maxUpdateBatch. Each filters on _id alone: FerretDB scans the collection
// for any other condition.
func (db *DB) UpdateOutbox(ctx context.Context, ns []notify.Notification) error {
	for start := 0; start < len(ns); start += maxUpdateBatch {
		chunk := ns[start:min(start+maxUpdateBatch, len(ns))]
		models := make([]mongo.WriteModel, len(chunk))
		for i, n := range chunk {
			models[i] = mongo.NewUpdateOneModel().
				SetFilter(bson.D{{Key: "_id", Value: n.ID}}).
				SetUpdate(bson.D{{Key: "$set", Value: toOutboxFields(n)}})
		}
		if _, err := db.c("notifications").BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false)); err != nil {
			return translate(err, "notifications")
		}
	}
	return nil
}

// Name returns the database's name, so that tests can open a second
// connection to it, as a second instance would.
func (db *DB) Name() string { return db.db.Name() }

// UpdateParked makes the user's parked pending notifications due at
// due. Idempotent, so a racing outbox update needs no atomicity.
func (db *DB) UpdateParked(ctx context.Context, userID string, due time.Time) error {
	_, err := db.c("notifications").UpdateMany(ctx,
		bson.D{{Key: "userId", Value: userID}, {Key: "parked", Value: true}, {Key: "status", Value: string(notify.StatusPending)}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "parked", Value: false}, {Key: "notBefore", Value: due}}}})
	return translate(err, "notifications")
}

// OutboxBacklog returns how many notifications are pending and due by now,
// and when the oldest of them fell due (zero when none is). The
// {status, notBefore} index serves both on MongoDB; the embedded FerretDB
// scans the notifications, so metrics scrapes cost a scan each.
func (db *DB) OutboxBacklog(ctx context.Context, now time.Time) (int, time.Time, error) {
	f := bson.D{{Key: "status", Value: string(notify.StatusPending)}, {Key: "notBefore", Value: bson.D{{Key: "$lte", Value: now}}}}
	n, err := db.c("notifications").CountDocuments(ctx, f)
	if err != nil {
		return 0, time.Time{}, translate(err, "notifications")
	}
	if n == 0 {
		return 0, time.Time{}, nil
	}
	var d struct {
		NotBefore time.Time `bson:"notBefore"`
	}
	err = db.c("notifications").FindOne(ctx, f, options.FindOne().SetSort(bson.D{{Key: "notBefore", Value: 1}}).
		SetProjection(bson.D{{Key: "notBefore", Value: 1}})).Decode(&d)
	if err != nil {
		return 0, time.Time{}, translate(err, "notifications")
	}
	return int(n), d.NotBefore.UTC(), nil
}
