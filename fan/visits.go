package fan

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// The visit that closes the loop: a visit to a shop (detected by the
// location engine, or a check-in or redemption there) is recorded once, and
// at most once per shop and AskEvery the customer is asked "how was your
// visit?". The rating is shop feedback under the ask's ID, so a low one
// follows the service-recovery path (managers alerted, gesture) and a high
// one is answered with what to offer next: a public review, an invitation.
// Every figure of the shop's stats is an increment made once, after a keyed
// insert, never a scan.

// VisitOptions tunes the visit asks. Zero fields take the defaults.
type VisitOptions struct {
	AskEvery time.Duration // one ask per customer and shop per this; default 30 days
	// AskDelay is how long after a check-in or redemption the ask goes out
	// (a detected visit is asked as the customer leaves); default 1 hour.
	AskDelay time.Duration
	Validity time.Duration // an ask unanswered this long expires; default 7 days
}

func (o *VisitOptions) defaults() {
	if o.AskEvery < time.Second {
		o.AskEvery = 30 * 24 * time.Hour
	}
	if o.AskDelay < 0 {
		o.AskDelay = 0
	} else if o.AskDelay == 0 {
		o.AskDelay = time.Hour
	}
	if o.Validity == 0 {
		o.Validity = 7 * 24 * time.Hour
	}
}

// ShopVisit is what is kept of one customer at one shop: their last visit,
// last ask, and the gesture that answered their last low rating, if any.
type ShopVisit struct {
	UserID, ShopID string
	LastAt         time.Time
	LastAskAt      time.Time
	GesturedAt     time.Time // zero once they came back, or never gestured
	GestureAskID   string
}

// VisitAsk is one "how was your visit?".
type VisitAsk struct {
	ID             string // a hash of user, shop and period: one per period, whichever instance asks
	UserID, ShopID string
	Source         string // of the visit
	VisitAt        time.Time
	At             time.Time // when the push goes out
	ExpiresAt      time.Time
	AnsweredAt     time.Time
	Rating         int
	GesturedAt     time.Time
}

// Visit stats counters, per shop.
const (
	statVisits      = "visits"
	statAsked       = "asked"
	statAnswered    = "answered"
	statLow         = "low"
	statLowGestured = "lowGestured"
	statCameBack    = "cameBack"
)

// VisitStore keeps visits, asks and the shops' visit counters.
type VisitStore interface {
	// CreateVisit returns Conflict when v.Key is already recorded.
	CreateVisit(ctx context.Context, v hyperlieu.Visit) error
	// FindShopVisit returns NotFound when the customer never visited the shop.
	FindShopVisit(ctx context.Context, userID, shopID string) (ShopVisit, error)
	// UpdateShopVisit replaces or creates the customer's record at the shop.
	UpdateShopVisit(ctx context.Context, sv ShopVisit) error
	// CreateVisitAsk returns Conflict when the ask's ID is taken.
	CreateVisitAsk(ctx context.Context, a VisitAsk) error
	FindVisitAsk(ctx context.Context, id string) (VisitAsk, error)
	UpdateVisitAsk(ctx context.Context, a VisitAsk) error
	// CreateVisitMark inserts a once-marker; Conflict when key is taken.
	CreateVisitMark(ctx context.Context, key string, at time.Time) error
	// AddVisitStats adds deltas to the shop's counters (an upsert).
	AddVisitStats(ctx context.Context, shopID string, deltas map[string]int64) error
	FindVisitStats(ctx context.Context, shopID string) (map[string]int64, error)
	FindVisitsBy(ctx context.Context, userID string) ([]hyperlieu.Visit, []VisitAsk, error)
	// DeleteVisitData erases the customer's visits, asks and shop records;
	// the shops' counters stay.
	DeleteVisitData(ctx context.Context, userID string) error
}

// Visits holds the visit use cases, on top of the fans service. It
// implements VisitRecorder, ActivityRecorder (passing every activity on to
// the fans service, then recording check-ins and redemptions as visits) and
// PersonalData.
type Visits struct {
	fans  *Service
	store VisitStore
	opts  VisitOptions
}

var (
	_ hyperlieu.VisitRecorder    = (*Visits)(nil)
	_ hyperlieu.ActivityRecorder = (*Visits)(nil)
	_ hyperlieu.PersonalData     = (*Visits)(nil)
)

// NewVisits returns the visit use cases and hooks them to the fans
// service's gestures (for the recovery figures).
func NewVisits(fans *Service, store VisitStore, opts VisitOptions) *Visits {
	opts.defaults()
	v := &Visits{fans: fans, store: store, opts: opts}
	fans.onGestured = v.gestured
	return v
}

// AskEveryDays is the configured period, for messages.
func (v *Visits) AskEveryDays() int { return int(v.opts.AskEvery.Hours() / 24) }

// RecordActivity passes a on to the fans service, then records a check-in
// or redemption at a shop as a visit. A failure to record the visit is
// logged: the activity itself counted.
func (v *Visits) RecordActivity(ctx context.Context, a hyperlieu.Activity) error {
	if err := v.fans.RecordActivity(ctx, a); err != nil {
		return err
	}
	src := map[hyperlieu.ActivityKind]string{hyperlieu.ActivityCheckIn: hyperlieu.VisitCheckIn, hyperlieu.ActivityRedemption: hyperlieu.VisitRedemption}[a.Kind]
	if src == "" || a.ShopID == "" {
		return nil
	}
	err := v.RecordVisit(ctx, hyperlieu.Visit{UserID: a.UserID, ShopID: a.ShopID, Source: src, At: a.At, Key: a.SourceKey})
	if err != nil {
		v.fans.log.ErrorContext(ctx, "record visit", "shop", a.ShopID, "err", err)
	}
	return nil
}

// RecordVisit records a visit once (by its key), counts it, counts a return
// after a gesture, and asks for a rating when none was asked at this shop in
// the period. Each step is keyed, so a retry finishes what a failure left.
// Invalid for a visit without user, shop or key.
func (v *Visits) RecordVisit(ctx context.Context, vis hyperlieu.Visit) error {
	if vis.UserID == "" || vis.ShopID == "" || vis.Key == "" || vis.At.IsZero() {
		return hyperlieu.Errorf(hyperlieu.Invalid, "a visit needs a user, a shop, a key and a time")
	}
	vis.At = vis.At.UTC()
	sv, err := v.store.FindShopVisit(ctx, vis.UserID, vis.ShopID)
	if err != nil && hyperlieu.KindOf(err) != hyperlieu.NotFound {
		return fmt.Errorf("record visit: %w", err)
	}
	sv.UserID, sv.ShopID = vis.UserID, vis.ShopID
	if vis.At.After(sv.LastAt) {
		sv.LastAt = vis.At
	}
	if err := v.cameBack(ctx, &sv, vis.At); err != nil {
		return err
	}
	if sv.LastAskAt.IsZero() || vis.At.Sub(sv.LastAskAt) >= v.opts.AskEvery {
		if err := v.ask(ctx, &sv, vis); err != nil {
			return err
		}
	}
	if err := v.store.UpdateShopVisit(ctx, sv); err != nil {
		return fmt.Errorf("record visit: %w", err)
	}
	err = v.store.CreateVisit(ctx, vis)
	switch {
	case hyperlieu.KindOf(err) == hyperlieu.Conflict:
		return nil // recorded and counted before
	case err != nil:
		return fmt.Errorf("record visit: %w", err)
	}
	v.count(ctx, vis.ShopID, statVisits)
	return nil
}

// cameBack counts, once per gestured ask, a customer who came back to the
// shop within the comeback window after a gesture answered their low rating.
func (v *Visits) cameBack(ctx context.Context, sv *ShopVisit, at time.Time) error {
	if sv.GesturedAt.IsZero() || !at.After(sv.GesturedAt) {
		return nil
	}
	if at.Sub(sv.GesturedAt) > v.fans.opts.ComebackWindow {
		sv.GesturedAt, sv.GestureAskID = time.Time{}, ""
		return nil
	}
	err := v.store.CreateVisitMark(ctx, "back:"+sv.GestureAskID, at)
	switch {
	case err == nil:
		v.count(ctx, sv.ShopID, statCameBack)
	case hyperlieu.KindOf(err) != hyperlieu.Conflict:
		return fmt.Errorf("came back: %w", err)
	}
	sv.GesturedAt, sv.GestureAskID = time.Time{}, ""
	return nil
}

// askID is the ask's key: one per customer, shop and period. It is a hash,
// as the rating's feedback takes it as its ID and outlives the customer's
// erasure (anonymised): it must not name them.
func (v *Visits) askID(userID, shopID string, at time.Time) string {
	period := at.Unix() / int64(v.opts.AskEvery/time.Second)
	h := sha256.Sum256([]byte("hyperlieu-visit-ask:" + userID + "." + shopID + "." + strconv.FormatInt(period, 10)))
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h[:16]))
}

// ask sends "how was your visit?" unless the customer refused the loyalty
// category or their daily cap is reached (then a later visit asks again).
// The push goes out as they leave, or AskDelay after a check-in or
// redemption; the notifier holds it through their quiet hours.
func (v *Visits) ask(ctx context.Context, sv *ShopVisit, vis hyperlieu.Visit) error {
	u, err := v.fans.store.FindUser(ctx, vis.UserID)
	if hyperlieu.KindOf(err) == hyperlieu.NotFound {
		return nil // erased meanwhile
	}
	if err != nil {
		return fmt.Errorf("visit ask: %w", err)
	}
	if !slices.Contains(u.Prefs.Categories, hyperlieu.CategoryLoyalty) {
		return nil
	}
	now := v.fans.now()
	at := now
	if vis.Source != hyperlieu.VisitDetected {
		at = vis.At.Add(v.opts.AskDelay)
	}
	a := VisitAsk{ID: v.askID(vis.UserID, vis.ShopID, vis.At), UserID: vis.UserID, ShopID: vis.ShopID, Source: vis.Source,
		VisitAt: vis.At, At: at, ExpiresAt: at.Add(v.opts.Validity)}
	switch old, err := v.store.FindVisitAsk(ctx, a.ID); {
	case err == nil:
		sv.LastAskAt = old.VisitAt // asked already, by a try that failed later
		return nil
	case hyperlieu.KindOf(err) != hyperlieu.NotFound:
		return fmt.Errorf("visit ask: %w", err)
	}
	ok, err := v.fans.notify.ReserveContact(ctx, u, at)
	if err != nil {
		return fmt.Errorf("visit ask: reserve contact: %w", err)
	}
	if !ok {
		return nil // the daily cap: the next visit asks
	}
	err = v.store.CreateVisitAsk(ctx, a)
	switch {
	case hyperlieu.KindOf(err) == hyperlieu.Conflict:
		sv.LastAskAt = vis.At // another instance asked
		return nil
	case err != nil:
		return fmt.Errorf("visit ask: %w", err)
	}
	sv.LastAskAt = vis.At
	v.count(ctx, vis.ShopID, statAsked)
	req := hyperlieu.NotificationRequest{
		UserID: u.ID, Kind: hyperlieu.KindVisitAsk, Category: hyperlieu.CategoryLoyalty,
		Vars:        map[string]string{"shop": v.fans.shopName(ctx, vis.ShopID)},
		Data:        map[string]string{"visitAskId": a.ID, "shopId": vis.ShopID},
		CollapseKey: "visit:" + vis.ShopID, ExpiresAt: a.ExpiresAt, DedupKey: "visit_ask:" + a.ID,
	}
	if at.After(now) {
		req.NotBefore = at
	}
	v.fans.send(ctx, req)
	return nil
}

// count adds one to each of the shop's counters; a failure is logged, as a
// figure is not worth failing what the customer did.
func (v *Visits) count(ctx context.Context, shopID string, names ...string) {
	deltas := map[string]int64{}
	for _, n := range names {
		deltas[n]++
	}
	if err := v.store.AddVisitStats(ctx, shopID, deltas); err != nil {
		v.fans.log.ErrorContext(ctx, "visit stats", "shop", shopID, "err", err)
	}
}

// What the app offers next, after a rating.
const (
	NextRecovery = "recovery" // a low rating: the shop's team was told and will get back to them
	NextReview   = "review"   // a high rating: publish it as a public review
	NextInvite   = "invite"   // a high rating: invite a friend (ReferralLink)
)

// HighRating is the lowest rating that invites a review and a friend.
const HighRating = 4

// VisitAnswer is what rating a visit did, and what to offer next.
type VisitAnswer struct {
	Ask          VisitAsk
	Feedback     ShopFeedback
	Next         []string
	ReferralLink string // with NextInvite
}

// Rate answers the customer's visit ask: the rating becomes shop feedback
// (2 or less alerts the managers), once. NotFound unless the ask is theirs;
// Conflict when already rated or expired; Invalid names bad fields.
func (v *Visits) Rate(ctx context.Context, userID, askID string, rating int, comment string) (VisitAnswer, error) {
	a, err := v.store.FindVisitAsk(ctx, askID)
	if err != nil || a.UserID != userID {
		return VisitAnswer{}, hyperlieu.Errorf(hyperlieu.NotFound, "visit ask not found")
	}
	if !a.AnsweredAt.IsZero() {
		return VisitAnswer{}, hyperlieu.Errorf(hyperlieu.Conflict, "this visit is already rated")
	}
	now := v.fans.now()
	if now.After(a.ExpiresAt) {
		return VisitAnswer{}, hyperlieu.Errorf(hyperlieu.Conflict, "this visit ask has expired")
	}
	f, err := v.fans.giveFeedback(ctx, a.ID, userID, a.ShopID, rating, comment)
	if hyperlieu.KindOf(err) == hyperlieu.Conflict {
		return VisitAnswer{}, hyperlieu.Errorf(hyperlieu.Conflict, "this visit is already rated")
	}
	if err != nil {
		return VisitAnswer{}, err
	}
	a.AnsweredAt, a.Rating = f.At, f.Rating
	if err := v.store.UpdateVisitAsk(ctx, a); err != nil {
		return VisitAnswer{}, fmt.Errorf("rate visit: %w", err)
	}
	counters := []string{statAnswered}
	out := VisitAnswer{Ask: a, Feedback: f, Next: []string{}}
	switch {
	case f.Rating <= 2:
		counters = append(counters, statLow)
		out.Next = append(out.Next, NextRecovery)
	case f.Rating >= HighRating:
		out.Next = append(out.Next, NextReview, NextInvite)
		if ref, err := v.fans.MyReferral(ctx, userID); err == nil {
			out.ReferralLink = ref.Link
		} else {
			v.fans.log.WarnContext(ctx, "referral link after a rating", "err", err)
		}
	}
	v.count(ctx, a.ShopID, counters...)
	return out, nil
}

// gestured counts a gesture answering a low rating given to a visit ask,
// once per ask, and starts the comeback watch of that customer at the shop.
func (v *Visits) gestured(ctx context.Context, f ShopFeedback, g Gesture) {
	a, err := v.store.FindVisitAsk(ctx, f.ID)
	if err != nil || a.Rating > 2 || a.Rating == 0 {
		return // not a visit's rating, or not a low one
	}
	if err := v.store.CreateVisitMark(ctx, "gestured:"+a.ID, g.At); err != nil {
		if hyperlieu.KindOf(err) != hyperlieu.Conflict { // Conflict: counted already
			v.fans.log.ErrorContext(ctx, "visit gestured", "err", err)
		}
		return
	}
	v.count(ctx, a.ShopID, statLowGestured)
	a.GesturedAt = g.At
	if err := v.store.UpdateVisitAsk(ctx, a); err != nil {
		v.fans.log.ErrorContext(ctx, "visit ask gestured", "err", err)
	}
	sv, err := v.store.FindShopVisit(ctx, a.UserID, a.ShopID)
	if err != nil {
		v.fans.log.ErrorContext(ctx, "visit gestured", "err", err)
		return
	}
	sv.GesturedAt, sv.GestureAskID = g.At, a.ID
	if err := v.store.UpdateShopVisit(ctx, sv); err != nil {
		v.fans.log.ErrorContext(ctx, "visit gestured", "err", err)
	}
}

// VisitStats are a shop's visit figures: visits detected, ratings asked and
// answered, low ratings, those answered with a gesture and, of those, the
// customers who came back within the comeback window.
type VisitStats struct {
	Visits, Asked, Answered, Low, LowGestured, CameBack int64
	RecoveryRate                                        float64 // CameBack / LowGestured; 0 when none
	WindowDays                                          int
}

// ShopVisitStats returns the shop's visit figures. Forbidden unless a
// manager of the shop or an admin; NotFound for an unknown shop.
func (v *Visits) ShopVisitStats(ctx context.Context, a hyperlieu.Actor, shopID string) (VisitStats, error) {
	if err := v.fans.canManage(ctx, a, shopID); err != nil {
		return VisitStats{}, err
	}
	c, err := v.store.FindVisitStats(ctx, shopID)
	if err != nil {
		return VisitStats{}, fmt.Errorf("visit stats: %w", err)
	}
	st := VisitStats{Visits: c[statVisits], Asked: c[statAsked], Answered: c[statAnswered], Low: c[statLow],
		LowGestured: c[statLowGestured], CameBack: c[statCameBack], WindowDays: int(v.fans.opts.ComebackWindow.Hours() / 24)}
	if st.LowGestured > 0 {
		st.RecoveryRate = float64(st.CameBack*100/st.LowGestured) / 100
	}
	return st, nil
}

// ExportUser returns the customer's visits and visit asks.
func (v *Visits) ExportUser(ctx context.Context, userID string) (map[string]any, error) {
	vs, asks, err := v.store.FindVisitsBy(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("export visits: %w", err)
	}
	visits := make([]map[string]any, 0, len(vs))
	for _, x := range vs {
		m := map[string]any{"shopId": x.ShopID, "source": x.Source, "at": x.At}
		if !x.LeftAt.IsZero() {
			m["leftAt"] = x.LeftAt
		}
		visits = append(visits, m)
	}
	out := make([]map[string]any, 0, len(asks))
	for _, a := range asks {
		m := map[string]any{"shopId": a.ShopID, "askedAt": a.At}
		if !a.AnsweredAt.IsZero() {
			m["answeredAt"], m["rating"] = a.AnsweredAt, a.Rating
		}
		out = append(out, m)
	}
	return map[string]any{"visits": visits, "visitAsks": out}, nil
}

// EraseUser erases the customer's visits and asks; the shops' figures stay.
func (v *Visits) EraseUser(ctx context.Context, userID string) error {
	if err := v.store.DeleteVisitData(ctx, userID); err != nil {
		return fmt.Errorf("erase visits: %w", err)
	}
	return nil
}
