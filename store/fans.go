package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/account"
	"github.com/hyperlieu/hyperlieu/fan"
)

// The fans area's collections. Claims are inserts with deterministic _ids:
// fan_activity by SourceKey, ledger by earn:<kind>:<source> or
// ledger:<user>:<seq>, referrals by referee, referral_slots by
// <referrer>:<month>:<n>.
func fanIndexes() []indexSpec {
	return append(fanListIndexes(), []indexSpec{
		{"fan_activity", index(bson.D{{Key: "userId", Value: 1}})},
		{"ledger", index(bson.D{{Key: "userId", Value: 1}})},
		{"fan_profiles", index(bson.D{{Key: "segment", Value: 1}})},
		{"referral_codes", index(bson.D{{Key: "userId", Value: 1}})},
		{"referrals", index(bson.D{{Key: "referrerId", Value: 1}})},
		{"referral_slots", index(bson.D{{Key: "referrerId", Value: 1}})},
		{"shop_feedback", index(bson.D{{Key: "shopId", Value: 1}})},
		{"shop_feedback", index(bson.D{{Key: "userId", Value: 1}})},
		{"gestures", index(bson.D{{Key: "shopId", Value: 1}})},
		{"gestures", index(bson.D{{Key: "userId", Value: 1}})},
	}...)
}

// FindUsersAfter returns up to limit users in the order they signed up,
// after the user afterID ("" from the first), by _id reads of the admins'
// user list (two per user): the hourly segment loop pages through every
// account with it, which by an _id range decoded every user per page on
// the embedded database.
func (db *DB) FindUsersAfter(ctx context.Context, afterID string, limit int) ([]hyperlieu.User, error) {
	p, err := db.FindUsersBy(ctx, account.UserQuery{After: afterID, Limit: limit})
	return p.Items, err
}

type activityDoc struct {
	SourceKey string    `bson:"_id"`
	UserID    string    `bson:"userId"`
	Kind      string    `bson:"kind"`
	ShopID    string    `bson:"shopId,omitempty"`
	At        time.Time `bson:"at"`
	EventID   string    `bson:"eventId,omitempty"`
	Rating    int       `bson:"rating,omitempty"`
}

// CreateActivity stores a, keyed by its SourceKey, and lists it under its
// customer (fanlists.go); Conflict if already stored.
func (db *DB) CreateActivity(ctx context.Context, a hyperlieu.Activity) error {
	d := activityDoc{a.SourceKey, a.UserID, string(a.Kind), a.ShopID, a.At, a.EventID, a.Rating}
	return db.insertListed(ctx, activityList, a.UserID, a.SourceKey, true, "fan_activity", d, "activity")
}

// FindActivity returns the activity stored under sourceKey, or NotFound.
func (db *DB) FindActivity(ctx context.Context, sourceKey string) (hyperlieu.Activity, error) {
	var d activityDoc
	if err := db.r("fan_activity").FindOne(ctx, byID(sourceKey)).Decode(&d); err != nil {
		return hyperlieu.Activity{}, translate(err, "activity")
	}
	return d.activity(), nil
}

func (d activityDoc) activity() hyperlieu.Activity {
	return hyperlieu.Activity{UserID: d.UserID, Kind: hyperlieu.ActivityKind(d.Kind), SourceKey: d.SourceKey, ShopID: d.ShopID, EventID: d.EventID, At: d.At.UTC(), Rating: d.Rating}
}

// FindActivitiesOf returns the user's activities, oldest first, from their
// list: one _id read per activity, plus two.
func (db *DB) FindActivitiesOf(ctx context.Context, userID string) ([]hyperlieu.Activity, error) {
	ds, err := listedDocs(ctx, db, activityList, userID, "fan_activity", "activities", func(d activityDoc) string { return d.UserID })
	if err != nil {
		return nil, err
	}
	out := make([]hyperlieu.Activity, len(ds))
	for i, d := range ds {
		out[i] = d.activity()
	}
	// Listed in the order recorded; at is when it happened.
	slices.SortStableFunc(out, func(a, b hyperlieu.Activity) int { return a.At.Compare(b.At) })
	return out, nil
}

type ledgerDoc struct {
	ID        string    `bson:"_id"`
	UserID    string    `bson:"userId"`
	Amount    int       `bson:"amount"`
	Reason    string    `bson:"reason"`
	SourceKey string    `bson:"sourceKey"`
	Seq       int       `bson:"seq,omitempty"`
	RewardID  string    `bson:"rewardId,omitempty"`
	Code      string    `bson:"code,omitempty"`
	At        time.Time `bson:"at"`
}

// CreateLedgerEntry appends e; Conflict when its ID is taken (already paid,
// or the spend number already used). Earnings are listed under their
// customer (fanlists.go); spends need no list: they are numbered from 1
// (ledger:<user>:<seq>), so FindLedgerOf reads them by _id in turn.
func (db *DB) CreateLedgerEntry(ctx context.Context, e fan.LedgerEntry) error {
	if e.Seq > 0 {
		_, err := db.c("ledger").InsertOne(ctx, ledgerDoc(e))
		return translate(err, "ledger entry")
	}
	return db.insertListed(ctx, ledgerList, e.UserID, e.ID, true, "ledger", ledgerDoc(e), "ledger entry")
}

func spendID(userID string, seq int) string { return "ledger:" + userID + ":" + strconv.Itoa(seq) }

// FindLedgerOf returns the user's ledger, oldest first: the earnings from
// their list (one _id read each, plus two) and the spends by number until
// one is free (one read each, plus one). A spend stays exact: spend n is
// taken only by a writer that read spends 1 to n-1, by a unique insert.
func (db *DB) FindLedgerOf(ctx context.Context, userID string) ([]fan.LedgerEntry, error) {
	ds, err := listedDocs(ctx, db, ledgerList, userID, "ledger", "ledger", func(d ledgerDoc) string { return d.UserID })
	if err != nil {
		return nil, err
	}
	ds = slices.DeleteFunc(ds, func(d ledgerDoc) bool { return d.Seq > 0 }) // read by number below
	spends, err := db.findSpends(ctx, userID, len(ds) > 0)
	if err != nil {
		return nil, err
	}
	ds = append(ds, spends...)
	out := make([]fan.LedgerEntry, len(ds))
	for i, d := range ds {
		d.At = d.At.UTC()
		out[i] = fan.LedgerEntry(d)
	}
	slices.SortStableFunc(out, func(a, b fan.LedgerEntry) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// findSpends reads the user's spends by number, from 1 until one is free;
// those this instance read before are held (db.finals, a spend never
// changes), so a read is one per new spend, plus one. earned is false when
// the user has no earnings listed: erased (nobody spends without points),
// so what is held goes.
func (db *DB) findSpends(ctx context.Context, userID string, earned bool) ([]ledgerDoc, error) {
	key := "s:" + userID
	if !earned {
		db.finals.drop(key)
	}
	held := db.finals.get(key)
	finals := make(map[int]listEntry, len(held)+1)
	var out []ledgerDoc
	for seq := 1; ; seq++ {
		e, ok := held[seq]
		if !ok {
			err := db.r("ledger").FindOne(ctx, byID(spendID(userID, seq))).Decode(&e.Doc)
			if errors.Is(err, mongo.ErrNoDocuments) {
				break
			}
			if err != nil {
				return nil, translate(err, "ledger")
			}
		}
		var d ledgerDoc
		if err := bson.Unmarshal(e.Doc, &d); err != nil {
			return nil, translate(err, "ledger")
		}
		finals[seq] = e
		out = append(out, d)
	}
	if len(finals) > len(held) {
		db.finals.put(key, finals)
	}
	return out, nil
}

type fanProfileDoc struct {
	UserID     string    `bson:"_id"`
	Segment    string    `bson:"segment"`
	Reason     string    `bson:"reason"`
	ComputedAt time.Time `bson:"computedAt"`
}

// UpdateFanProfile stores the customer's segment, replacing the previous
// one, and moves the segment counts when it changed: the replace returns
// the profile it replaced (one keyed findAndModify), so a refresh that
// changes nothing writes nothing more.
func (db *DB) UpdateFanProfile(ctx context.Context, p fan.Profile) error {
	var old fanProfileDoc
	var err error
	// Two racing upserts may both try to insert (FerretDB, and MongoDB
	// without a retry); the loser finds the document there and replaces it.
	for range 3 {
		old = fanProfileDoc{}
		err = db.c("fan_profiles").FindOneAndReplace(ctx, byID(p.UserID),
			fanProfileDoc{p.UserID, string(p.Segment), p.Reason, p.ComputedAt},
			options.FindOneAndReplace().SetUpsert(true).SetReturnDocument(options.Before)).Decode(&old)
		if errors.Is(err, mongo.ErrNoDocuments) {
			err = nil // created
		}
		if hyperlieu.KindOf(translate(err, "")) != hyperlieu.Conflict {
			break
		}
	}
	if err != nil {
		return translate(err, "fan profile")
	}
	return db.moveSegment(ctx, hyperlieu.Segment(old.Segment), p.Segment)
}

// fan_segment_counts holds one document, "segments", of the number of
// stored profiles per segment ("n.<segment>"), moved by $inc where a
// profile's segment changes (UpdateFanProfile, erasure), so that the counts
// are one _id read, not a count of every profile (issue 15). A segment
// changes seldom (a customer's first activities, months of absence), so
// one document takes the writes; were it contended, it would be sharded
// like the campaigns' stats.
const segmentCounts = "fan_segment_counts"

// moveSegment counts one profile out of from and into to ("" for none).
func (db *DB) moveSegment(ctx context.Context, from, to hyperlieu.Segment) error {
	if from == to {
		return nil
	}
	inc := bson.D{}
	if from != "" {
		inc = append(inc, bson.E{Key: "n." + string(from), Value: -1})
	}
	if to != "" {
		inc = append(inc, bson.E{Key: "n." + string(to), Value: 1})
	}
	_, err := db.c(segmentCounts).UpdateOne(ctx, byID("segments"), bson.D{{Key: "$inc", Value: inc}}, options.UpdateOne().SetUpsert(true))
	return translate(err, "segment counts")
}

// FindFanProfile returns the stored segment, or NotFound.
func (db *DB) FindFanProfile(ctx context.Context, userID string) (fan.Profile, error) {
	var d fanProfileDoc
	if err := db.r("fan_profiles").FindOne(ctx, byID(userID)).Decode(&d); err != nil {
		return fan.Profile{}, translate(err, "fan profile")
	}
	return fan.Profile{UserID: d.UserID, Segment: hyperlieu.Segment(d.Segment), Reason: d.Reason, ComputedAt: d.ComputedAt.UTC()}, nil
}

// FindSegmentCount returns how many stored profiles are in segment s: one
// _id read of the counts.
func (db *DB) FindSegmentCount(ctx context.Context, s hyperlieu.Segment) (int, error) {
	var d struct {
		N map[string]int `bson:"n"`
	}
	err := db.r(segmentCounts).FindOne(ctx, byID("segments")).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, translate(err, "segment counts")
	}
	return max(d.N[string(s)], 0), nil
}

// countAllSegments sets, once per database, the segment counts from the
// profiles stored before they were counted (it reads every profile).
func (db *DB) countAllSegments(ctx context.Context) error {
	return db.once(ctx, "segment-counts-1", func() error {
		ps, err := findMany(ctx, db.c("fan_profiles"), bson.D{}, nil, "fan profiles", func(d fanProfileDoc) string { return d.Segment })
		if err != nil {
			return err
		}
		n := map[string]int{}
		for _, s := range ps {
			n[s]++
		}
		set := bson.D{}
		for _, s := range hyperlieu.Segments {
			set = append(set, bson.E{Key: "n." + string(s), Value: n[string(s)]})
		}
		_, err = db.c(segmentCounts).UpdateOne(ctx, byID("segments"), bson.D{{Key: "$set", Value: set}}, options.UpdateOne().SetUpsert(true))
		return translate(err, "segment counts")
	})
}

type rewardDoc struct {
	ID          string    `bson:"_id"`
	Name        string    `bson:"name"`
	Description string    `bson:"description"`
	Cost        int       `bson:"cost"`
	Active      bool      `bson:"active"`
	CreatedAt   time.Time `bson:"createdAt"`
	UpdatedAt   time.Time `bson:"updatedAt"`
}

func (d rewardDoc) reward() fan.Reward {
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return fan.Reward(d)
}

// CreateReferralCode maps code to userID; the same pair again is not an error.
func (db *DB) CreateReferralCode(ctx context.Context, code, userID string) error {
	_, err := db.c("referral_codes").InsertOne(ctx, bson.D{{Key: "_id", Value: code}, {Key: "userId", Value: userID}})
	if hyperlieu.KindOf(translate(err, "")) == hyperlieu.Conflict {
		owner, ferr := db.FindReferralCode(ctx, code)
		if ferr == nil && owner == userID {
			return nil
		}
	}
	return translate(err, "referral code")
}

// FindReferralCode returns the user owning code, or NotFound.
func (db *DB) FindReferralCode(ctx context.Context, code string) (string, error) {
	var d struct {
		UserID string `bson:"userId"`
	}
	if err := db.r("referral_codes").FindOne(ctx, byID(code)).Decode(&d); err != nil {
		return "", translate(err, "referral code")
	}
	return d.UserID, nil
}

type referralDoc struct {
	RefereeID  string     `bson:"_id"`
	ReferrerID string     `bson:"referrerId"`
	Code       string     `bson:"code"`
	Status     string     `bson:"status"`
	Reason     string     `bson:"reason,omitempty"`
	CreatedAt  time.Time  `bson:"createdAt"`
	RewardedAt *time.Time `bson:"rewardedAt,omitempty"`
	EventID    string     `bson:"eventId,omitempty"` // an event invitation's
}

func toReferralDoc(r fan.Referral) referralDoc {
	return referralDoc{r.RefereeID, r.ReferrerID, r.Code, r.Status, r.Reason, r.CreatedAt, timePtr(r.RewardedAt), r.EventID}
}

func (d referralDoc) referral() fan.Referral {
	return fan.Referral{RefereeID: d.RefereeID, ReferrerID: d.ReferrerID, Code: d.Code, Status: d.Status,
		Reason: d.Reason, CreatedAt: d.CreatedAt.UTC(), RewardedAt: timeOf(d.RewardedAt), EventID: d.EventID}
}

// CreateReferral stores r, listed under its referrer (fanlists.go);
// Conflict when the referee is already attributed.
func (db *DB) CreateReferral(ctx context.Context, r fan.Referral) error {
	return db.insertListed(ctx, referralList, r.ReferrerID, r.RefereeID, false, "referrals", toReferralDoc(r), "referral")
}

// FindReferral returns the referee's referral, or NotFound.
func (db *DB) FindReferral(ctx context.Context, refereeID string) (fan.Referral, error) {
	var d referralDoc
	if err := db.r("referrals").FindOne(ctx, byID(refereeID)).Decode(&d); err != nil {
		return fan.Referral{}, translate(err, "referral")
	}
	return d.referral(), nil
}

// UpdateReferral replaces the referral.
func (db *DB) UpdateReferral(ctx context.Context, r fan.Referral) error {
	_, err := db.c("referrals").ReplaceOne(ctx, byID(r.RefereeID), toReferralDoc(r))
	return translate(err, "referral")
}

// FindReferralsBy returns the referrals a referrer made, oldest first,
// from their list: two _id reads per referral (its entry, itself: a
// referral's status changes), plus two.
func (db *DB) FindReferralsBy(ctx context.Context, referrerID string) ([]fan.Referral, error) {
	ds, err := listedDocs(ctx, db, referralList, referrerID, "referrals", "referrals", func(d referralDoc) string { return d.ReferrerID })
	if err != nil {
		return nil, err
	}
	out := make([]fan.Referral, len(ds))
	for i, d := range ds {
		out[i] = d.referral()
	}
	slices.SortStableFunc(out, func(a, b fan.Referral) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// CreateReferralSlot inserts slot n of the referrer's month for the referee,
// and returns who holds it: the referee if it won, else the earlier holder.
func (db *DB) CreateReferralSlot(ctx context.Context, referrerID, month string, n int, refereeID string) (string, error) {
	id := fmt.Sprintf("%s:%s:%d", referrerID, month, n)
	// Listed under the referee and the referrer, so that either one's
	// erasure finds it by _id; an address's slots name no one.
	owner := referrerID
	if strings.HasPrefix(owner, "addr:") {
		owner = ""
	}
	err := db.insertIndexed(ctx, "referral_slots", id, bson.D{{Key: "_id", Value: id}, {Key: "referrerId", Value: referrerID}, {Key: "refereeId", Value: refereeID}},
		"referral slot", listing{heldSlotList, refereeID}, listing{ownSlotList, owner})
	if err == nil {
		return refereeID, nil
	}
	if hyperlieu.KindOf(err) != hyperlieu.Conflict {
		return "", err
	}
	var d struct {
		RefereeID string `bson:"refereeId"`
	}
	if err := db.r("referral_slots").FindOne(ctx, byID(id)).Decode(&d); err != nil {
		return "", translate(err, "referral slot")
	}
	return d.RefereeID, nil
}

// FindReferralSlotCount counts the slots claimed in the referrer's month.
// Slots are claimed from 1 upwards (fan's claimSlot tries n only once n-1
// is held), so it reads <referrer>:<month>:<n> by _id until one is free:
// the count plus one reads, bounded by the monthly cap.
func (db *DB) FindReferralSlotCount(ctx context.Context, referrerID, month string) (int, error) {
	for n := 1; ; n++ {
		id := fmt.Sprintf("%s:%s:%d", referrerID, month, n)
		err := db.r("referral_slots").FindOne(ctx, byID(id), options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
		if errors.Is(err, mongo.ErrNoDocuments) {
			return n - 1, nil
		}
		if err != nil {
			return 0, translate(err, "referral slots")
		}
	}
}

type shopFeedbackDoc struct {
	ID             string     `bson:"_id"`
	ShopID         string     `bson:"shopId"`
	UserID         string     `bson:"userId"`
	Rating         int        `bson:"rating"`
	Comment        string     `bson:"comment"`
	At             time.Time  `bson:"at"`
	NeedsAttention bool       `bson:"needsAttention"`
	AnsweredAt     *time.Time `bson:"answeredAt,omitempty"`
	GestureID      string     `bson:"gestureId,omitempty"`
}

func toShopFeedbackDoc(f fan.ShopFeedback) shopFeedbackDoc {
	return shopFeedbackDoc{f.ID, f.ShopID, f.UserID, f.Rating, f.Comment, f.At, f.NeedsAttention(), timePtr(f.AnsweredAt), f.GestureID}
}

func (d shopFeedbackDoc) feedback() fan.ShopFeedback {
	return fan.ShopFeedback{ID: d.ID, ShopID: d.ShopID, UserID: d.UserID, Rating: d.Rating, Comment: d.Comment,
		At: d.At.UTC(), AnsweredAt: timeOf(d.AnsweredAt), GestureID: d.GestureID}
}

// CreateShopFeedback stores new feedback, listed under its shop, its
// author and, for a low rating, the shop's feedback needing attention.
func (db *DB) CreateShopFeedback(ctx context.Context, f fan.ShopFeedback) error {
	attention := ""
	if f.NeedsAttention() {
		attention = f.ShopID
	}
	return db.insertIndexed(ctx, "shop_feedback", f.ID, toShopFeedbackDoc(f), "feedback",
		listing{shopFeedbackList, f.ShopID}, listing{userFeedbackList, f.UserID}, listing{attentionList, attention})
}

// FindShopFeedback returns the feedback, or NotFound.
func (db *DB) FindShopFeedback(ctx context.Context, id string) (fan.ShopFeedback, error) {
	var d shopFeedbackDoc
	if err := db.r("shop_feedback").FindOne(ctx, byID(id)).Decode(&d); err != nil {
		return fan.ShopFeedback{}, translate(err, "feedback")
	}
	return d.feedback(), nil
}

// UpdateShopFeedback replaces the feedback.
func (db *DB) UpdateShopFeedback(ctx context.Context, f fan.ShopFeedback) error {
	_, err := db.c("shop_feedback").ReplaceOne(ctx, byID(f.ID), toShopFeedbackDoc(f))
	return translate(err, "feedback")
}

// attentionScan bounds the entries a page of feedback needing attention
// reads per item asked: answered ones stay in the list and are skipped.
const attentionScan = 10

// FindShopFeedbackOf returns up to limit of the shop's feedback given
// before the cursor before (0: the newest), newest first; only what needs
// attention (rating ≤ 2, unanswered) when needsAttention. next is the
// cursor of the following page, 0 at the end. Two _id reads per feedback
// (its entry in the shop's list, itself); needing attention reads at most
// attentionScan entries per item asked, so a page may come back short
// with a next cursor.
func (db *DB) FindShopFeedbackOf(ctx context.Context, shopID string, needsAttention bool, before, limit int) ([]fan.ShopFeedback, int, error) {
	l, scan := shopFeedbackList, limit
	if needsAttention {
		l, scan = attentionList, limit*attentionScan
	}
	ds, next, err := pageOf(ctx, db, l, shopID, before, limit, scan, "shop_feedback", "feedback", func(d shopFeedbackDoc) bool {
		return d.ShopID == shopID && (!needsAttention || d.feedback().NeedsAttention())
	})
	return feedbackOf(ds), next, err
}

func feedbackOf(ds []shopFeedbackDoc) []fan.ShopFeedback {
	out := make([]fan.ShopFeedback, len(ds))
	for i, d := range ds {
		out[i] = d.feedback()
	}
	return out
}

// FindShopFeedbackBy returns the user's feedback, newest first, from their
// list (two _id reads each).
func (db *DB) FindShopFeedbackBy(ctx context.Context, userID string) ([]fan.ShopFeedback, error) {
	ds, err := allOf(ctx, db, userFeedbackList, userID, "shop_feedback", "feedback", func(d shopFeedbackDoc) bool { return d.UserID == userID })
	out := feedbackOf(ds)
	slices.SortStableFunc(out, func(a, b fan.ShopFeedback) int { return cmp.Or(b.At.Compare(a.At), cmp.Compare(a.ID, b.ID)) })
	return out, err
}

type gestureDoc struct {
	ID         string    `bson:"_id"`
	ShopID     string    `bson:"shopId"`
	ManagerID  string    `bson:"managerId"`
	UserID     string    `bson:"userId"`
	FeedbackID string    `bson:"feedbackId,omitempty"`
	Message    string    `bson:"message"`
	OfferTitle string    `bson:"offerTitle,omitempty"`
	Code       string    `bson:"code,omitempty"`
	Points     int       `bson:"points,omitempty"`
	At         time.Time `bson:"at"`
	Returned   *bool     `bson:"returned,omitempty"`
}

// CreateGesture stores a gesture, listed under its shop, its customer and
// its manager (erasure of either finds it by _id).
func (db *DB) CreateGesture(ctx context.Context, g fan.Gesture) error {
	return db.insertIndexed(ctx, "gestures", g.ID, gestureDoc(g), "gesture",
		listing{shopGestureList, g.ShopID}, listing{userGestureList, g.UserID}, listing{managerGestureList, g.ManagerID})
}

func gesturesOf(ds []gestureDoc) []fan.Gesture {
	out := make([]fan.Gesture, len(ds))
	for i, d := range ds {
		d.At = d.At.UTC()
		out[i] = fan.Gesture(d)
	}
	slices.SortStableFunc(out, func(a, b fan.Gesture) int { return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.ID, b.ID)) })
	return out
}

// FindGesturesOfShop returns the shop's gestures, oldest first, from its
// list: two _id reads per gesture. (Gestures are few: each manager's daily
// budget bounds them.)
func (db *DB) FindGesturesOfShop(ctx context.Context, shopID string) ([]fan.Gesture, error) {
	ds, err := allOf(ctx, db, shopGestureList, shopID, "gestures", "gestures", func(d gestureDoc) bool { return d.ShopID == shopID })
	return gesturesOf(ds), err
}

// FindGesturesFor returns the gestures a customer received, oldest first,
// from their list.
func (db *DB) FindGesturesFor(ctx context.Context, userID string) ([]fan.Gesture, error) {
	ds, err := allOf(ctx, db, userGestureList, userID, "gestures", "gestures", func(d gestureDoc) bool { return d.UserID == userID })
	return gesturesOf(ds), err
}

// DeleteFanData removes the fans documents about the user, keeping shop ratings,
// referral caps and gesture outcomes without identity. returned freezes,
// per gesture ID, whether the customer came back. Erasing twice is fine.
// Every document is found through the user's lists or by a key derived
// from their id, and written by _id (issue 15: a query by userId decodes
// the whole collection on the embedded database).
func (db *DB) DeleteFanData(ctx context.Context, userID string, returned map[string]bool) error {
	steps := []func(context.Context, string, map[string]bool) error{
		db.deleteHistory, db.deleteReferralData, db.deleteFeedbackData, db.deleteGestureData,
		func(ctx context.Context, id string, _ map[string]bool) error { return db.deleteReviewData(ctx, id) },
		func(ctx context.Context, id string, _ map[string]bool) error { return db.unlistRoles(ctx, id) },
	}
	for _, step := range steps {
		if err := step(ctx, userID, returned); err != nil {
			return err
		}
	}
	return nil
}

// deleteHistory deletes the user's activities and earnings (their lists'
// references), spends (by number), profile (out of the segment counts)
// and referral code (derived from their id), then their lists.
func (db *DB) deleteHistory(ctx context.Context, userID string, _ map[string]bool) error {
	acts, err := db.listedRefs(ctx, activityList, userID)
	if err != nil {
		return err
	}
	if err := db.deleteByIDs(ctx, "fan_activity", acts); err != nil {
		return err
	}
	ledger, err := db.listedRefs(ctx, ledgerList, userID)
	if err != nil {
		return err
	}
	db.finals.drop("s:" + userID)
	spends, err := db.findSpends(ctx, userID, false)
	if err != nil {
		return err
	}
	for _, d := range spends {
		ledger = append(ledger, d.ID)
	}
	if err := db.deleteByIDs(ctx, "ledger", ledger); err != nil {
		return err
	}
	db.finals.drop("s:" + userID)
	var p fanProfileDoc
	switch err := db.c("fan_profiles").FindOneAndDelete(ctx, byID(userID)).Decode(&p); {
	case err == nil:
		if err := db.moveSegment(ctx, hyperlieu.Segment(p.Segment), ""); err != nil {
			return err
		}
	case !errors.Is(err, mongo.ErrNoDocuments):
		return translate(err, "fan profile")
	}
	code := fan.ReferralCodeOf(userID)
	if owner, err := db.FindReferralCode(ctx, code); err == nil && owner == userID {
		if _, err := db.c("referral_codes").DeleteOne(ctx, byID(code)); err != nil {
			return translate(err, "referral code")
		}
	} else if err != nil && hyperlieu.KindOf(err) != hyperlieu.NotFound {
		return err
	}
	for _, l := range []ownerList{activityList, ledgerList} {
		db.finals.drop(l.head(userID))
		if err := db.dropList(ctx, l, userID); err != nil {
			return err
		}
	}
	return nil
}

// deleteReferralData deletes the user's own referral (voiding its entry in
// their referrer's list), blanks them as referrer in the referrals they
// made and as referee in the slots they hold, and deletes the slots under
// them (their _id names them), all by _id.
func (db *DB) deleteReferralData(ctx context.Context, userID string, _ map[string]bool) error {
	switch r, err := db.FindReferral(ctx, userID); {
	case err == nil:
		if err := db.voidRef(ctx, referralList, r.ReferrerID, userID); err != nil {
			return err
		}
	case hyperlieu.KindOf(err) != hyperlieu.NotFound:
		return err
	}
	if _, err := db.c("referrals").DeleteOne(ctx, byID(userID)); err != nil {
		return translate(err, "referral")
	}
	made, err := allOf(ctx, db, referralList, userID, "referrals", "referrals", func(d referralDoc) bool { return d.ReferrerID == userID })
	if err != nil {
		return err
	}
	ids := make([]string, len(made))
	for i, d := range made {
		ids[i] = d.RefereeID
	}
	if err := db.setByIDs(ctx, "referrals", ids, bson.D{{Key: "referrerId", Value: ""}}); err != nil {
		return err
	}
	type slotDoc struct {
		ID         string `bson:"_id"`
		ReferrerID string `bson:"referrerId"`
		RefereeID  string `bson:"refereeId"`
	}
	held, err := allOf(ctx, db, heldSlotList, userID, "referral_slots", "referral slots", func(d slotDoc) bool { return d.RefereeID == userID })
	if err != nil {
		return err
	}
	ids = ids[:0]
	for _, d := range held {
		ids = append(ids, d.ID)
	}
	if err := db.setByIDs(ctx, "referral_slots", ids, bson.D{{Key: "refereeId", Value: ""}}); err != nil {
		return err
	}
	owned, err := db.listedRefs(ctx, ownSlotList, userID)
	if err != nil {
		return err
	}
	if err := db.deleteByIDs(ctx, "referral_slots", owned); err != nil {
		return err
	}
	db.finals.drop(referralList.head(userID))
	for _, l := range []ownerList{referralList, heldSlotList, ownSlotList} {
		if err := db.dropList(ctx, l, userID); err != nil {
			return err
		}
	}
	return nil
}

// deleteFeedbackData blanks the user's feedback (the rating stays, for the
// shop) and drops their list.
func (db *DB) deleteFeedbackData(ctx context.Context, userID string, _ map[string]bool) error {
	ids, err := db.listedRefs(ctx, userFeedbackList, userID)
	if err != nil {
		return err
	}
	if err := db.setByIDs(ctx, "shop_feedback", ids, bson.D{{Key: "userId", Value: ""}, {Key: "comment", Value: ""}}); err != nil {
		return err
	}
	return db.dropList(ctx, userFeedbackList, userID)
}

// deleteGestureData blanks the user as the manager of the gestures they
// made, freezes whether they came back and blanks them in the gestures
// they received, and drops both lists.
func (db *DB) deleteGestureData(ctx context.Context, userID string, returned map[string]bool) error {
	made, err := db.listedRefs(ctx, managerGestureList, userID)
	if err != nil {
		return err
	}
	if err := db.setByIDs(ctx, "gestures", made, bson.D{{Key: "managerId", Value: ""}}); err != nil {
		return err
	}
	got, err := db.listedRefs(ctx, userGestureList, userID)
	if err != nil {
		return err
	}
	var models []mongo.WriteModel
	for _, id := range got {
		set := bson.D{{Key: "userId", Value: ""}, {Key: "message", Value: ""}, {Key: "code", Value: ""}}
		if back, ok := returned[id]; ok {
			set = append(set, bson.E{Key: "returned", Value: back})
		}
		models = append(models, mongo.NewUpdateOneModel().SetFilter(byID(id)).SetUpdate(bson.D{{Key: "$set", Value: set}}))
	}
	if err := db.bulkByID(ctx, "gestures", models); err != nil {
		return err
	}
	for _, l := range []ownerList{managerGestureList, userGestureList} {
		if err := db.dropList(ctx, l, userID); err != nil {
			return err
		}
	}
	return nil
}
