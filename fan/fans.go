package fan

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// This file holds the fans use cases' options, store and service: the points
// ledger, tiers, rewards, segments, referrals, feedback with service recovery,
// the welcome journey and the fans' share of the customer's own data.

// EarningRules are the points paid for each kind of participation.
// Zero pays nothing.
type EarningRules struct {
	CheckIn          int
	Redemption       int
	Feedback         int
	ReferralReferrer int // to the customer whose code was used
	ReferralReferee  int // to the newcomer who used it
}

// Tier is a loyalty level reached with Min points earned over the tier window.
type Tier struct {
	Name string
	Min  int
}

// JourneyStep is one step of the welcome journey: a message of Category sent
// After sign-up, unless the customer refused that category by then.
type JourneyStep struct {
	Name     string
	After    time.Duration
	Category string
}

// Options tunes the fans use cases. Zero fields take the defaults below.
type Options struct {
	Now  func() time.Time
	Earn EarningRules
	// Tiers in increasing Min; the first has Min 0.
	Tiers      []Tier
	TierWindow time.Duration // default 365 days (a rolling year)
	// Segment thresholds.
	NewcomerPeriod time.Duration // default 7 days
	DevotedWindow  time.Duration // default 60 days
	DevotedMin     int           // activities in DevotedWindow to be devoted; default 3
	DormantAfter   time.Duration // no activity for this long: dormant; default 180 days
	// Referrals.
	ReferralCapPerMonth int // rewarded referrals per referrer per calendar month (UTC); default 5
	// Referral sign-ups accepted per client address per ISO week (UTC);
	// default 10. Beyond, the account is created and the referral refused.
	ReferralsPerAddrWeek int
	ReferralBaseURL      string // the referral link is this followed by the code
	// Service recovery.
	MaxGesturePoints int // default 1000
	// Daily budgets of each manager (UTC days): points given and offers
	// given in gestures; defaults 3000 and 20.
	GesturePointsPerDay, GestureOffersPerDay int
	ComebackWindow                           time.Duration // default 60 days
	Journey                                  []JourneyStep
	// Wallet issues the offer codes of claimed rewards and gestures, so
	// that they redeem at any till like campaign offers; nil keeps the old
	// XXXX-XXXX-XXXX-C codes (tests of this package only).
	Wallet hyperlieu.Wallet
	// Auditor, if set, records gestures and activities recorded by staff.
	Auditor       hyperlieu.Auditor
	OfferValidity time.Duration // of a reward's or a gesture's offer; default 90 days
}

// DefaultTiers are the tiers used when none are configured.
var DefaultTiers = []Tier{{"member", 0}, {"silver", 200}, {"gold", 600}, {"platinum", 1500}}

// DefaultJourney is the welcome journey used when none is configured.
var DefaultJourney = []JourneyStep{
	{Name: "events_near_you", After: 3 * 24 * time.Hour, Category: hyperlieu.CategoryEvents},
	{Name: "first_offer", After: 7 * 24 * time.Hour, Category: hyperlieu.CategoryOffers},
}

func (o *Options) defaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Earn == (EarningRules{}) {
		o.Earn = EarningRules{CheckIn: 50, Redemption: 20, Feedback: 10, ReferralReferrer: 100, ReferralReferee: 50}
	}
	if len(o.Tiers) == 0 {
		o.Tiers = DefaultTiers
	}
	if o.TierWindow == 0 {
		o.TierWindow = 365 * 24 * time.Hour
	}
	if o.NewcomerPeriod == 0 {
		o.NewcomerPeriod = 7 * 24 * time.Hour
	}
	if o.DevotedWindow == 0 {
		o.DevotedWindow = 60 * 24 * time.Hour
	}
	if o.DevotedMin == 0 {
		o.DevotedMin = 3
	}
	if o.DormantAfter == 0 {
		o.DormantAfter = 180 * 24 * time.Hour
	}
	if o.ReferralCapPerMonth == 0 {
		o.ReferralCapPerMonth = 5
	}
	if o.ReferralsPerAddrWeek == 0 {
		o.ReferralsPerAddrWeek = 10
	}
	if o.ReferralBaseURL == "" {
		o.ReferralBaseURL = "https://hyperlieu.app/r/"
	}
	if o.MaxGesturePoints == 0 {
		o.MaxGesturePoints = 1000
	}
	if o.GesturePointsPerDay == 0 {
		o.GesturePointsPerDay = 3000
	}
	if o.GestureOffersPerDay == 0 {
		o.GestureOffersPerDay = 20
	}
	if o.ComebackWindow == 0 {
		o.ComebackWindow = 60 * 24 * time.Hour
	}
	if o.Journey == nil {
		o.Journey = DefaultJourney
	}
}

// Store is what the fans use cases need from the database. Every claim
// (a payment, a spend, a referral slot) is an insert with a deterministic ID,
// because unique inserts are the one atomic thing on every backend we run on.
type Store interface {
	PeopleStore
	LedgerStore
	ReferralStore
	FeedbackStore
	// DeleteFanData removes or anonymises every fans document about the user:
	// ledger, activities, profile, referral code and referrals (the referrer's
	// rewards stay, without the referee), feedback (rating kept, author and
	// comment removed) and gestures (kept for stats, without the customer).
	DeleteFanData(ctx context.Context, userID string, gestureReturned map[string]bool) error
}

// PeopleStore reads accounts and keeps each customer's segment.
type PeopleStore interface {
	FindUser(ctx context.Context, id string) (hyperlieu.User, error)
	// FindUsersAfter pages through every user, afterID being the last one
	// of the previous page ("" for the first): for the periodic loop.
	FindUsersAfter(ctx context.Context, afterID string, limit int) ([]hyperlieu.User, error)
	// FindUserIDsWithRole lists the users holding any of roles (staff are few).
	FindUserIDsWithRole(ctx context.Context, roles ...hyperlieu.Role) ([]string, error)
	UpdateFanProfile(ctx context.Context, p Profile) error
	// FindFanProfile returns NotFound when the segment was never computed.
	FindFanProfile(ctx context.Context, userID string) (Profile, error)
	FindSegmentCount(ctx context.Context, s hyperlieu.Segment) (int, error)
}

// LedgerStore keeps activities, points and rewards.
type LedgerStore interface {
	// CreateActivity stores a; Conflict when its SourceKey is already stored.
	CreateActivity(ctx context.Context, a hyperlieu.Activity) error
	// FindActivity returns the activity stored under sourceKey, or NotFound.
	FindActivity(ctx context.Context, sourceKey string) (hyperlieu.Activity, error)
	FindActivitiesOf(ctx context.Context, userID string) ([]hyperlieu.Activity, error)
	// CreateLedgerEntry appends e; Conflict when e.ID is taken.
	CreateLedgerEntry(ctx context.Context, e LedgerEntry) error
	// FindLedgerOf returns the user's entries, oldest first.
	FindLedgerOf(ctx context.Context, userID string) ([]LedgerEntry, error)
	CreateReward(ctx context.Context, r Reward) error
	FindReward(ctx context.Context, id string) (Reward, error)
	FindRewards(ctx context.Context) ([]Reward, error)
	UpdateReward(ctx context.Context, r Reward) error
}

// ReferralStore keeps referral codes and who referred whom.
type ReferralStore interface {
	// CreateReferralCode maps code to userID; adding the same pair again is not an error.
	CreateReferralCode(ctx context.Context, code, userID string) error
	// FindReferralCode returns the owner of code, or NotFound.
	FindReferralCode(ctx context.Context, code string) (string, error)
	// CreateReferral returns Conflict when the referee is already attributed.
	CreateReferral(ctx context.Context, r Referral) error
	FindReferral(ctx context.Context, refereeID string) (Referral, error)
	UpdateReferral(ctx context.Context, r Referral) error
	FindReferralsBy(ctx context.Context, referrerID string) ([]Referral, error)
	// CreateReferralSlot inserts slot n of the referrer's month for referee.
	// It returns the referee holding the slot (referee itself if it won).
	CreateReferralSlot(ctx context.Context, referrerID, month string, n int, refereeID string) (string, error)
	// FindReferralSlotCount counts the slots claimed in the referrer's month.
	FindReferralSlotCount(ctx context.Context, referrerID, month string) (int, error)
}

// FeedbackStore keeps shop feedback and the gestures that answer it.
type FeedbackStore interface {
	CreateShopFeedback(ctx context.Context, f ShopFeedback) error
	FindShopFeedback(ctx context.Context, id string) (ShopFeedback, error)
	UpdateShopFeedback(ctx context.Context, f ShopFeedback) error
	// FindShopFeedbackOf returns up to limit of the shop's feedback listed
	// before the cursor before (0: the newest), newest first, and the
	// cursor of the next page (0 at the end); a page may be short.
	FindShopFeedbackOf(ctx context.Context, shopID string, needsAttention bool, before, limit int) ([]ShopFeedback, int, error)
	FindShopFeedbackBy(ctx context.Context, userID string) ([]ShopFeedback, error)
	CreateGesture(ctx context.Context, g Gesture) error
	// CreateGestureClaim inserts c, or returns the claim already under its ID.
	CreateGestureClaim(ctx context.Context, c GestureClaim) (GestureClaim, error)
	FindGesturesOfShop(ctx context.Context, shopID string) ([]Gesture, error)
	FindGesturesFor(ctx context.Context, userID string) ([]Gesture, error)
}

// Service holds the fans use cases. It implements ActivityRecorder,
// Segmenter and PersonalData.
type Service struct {
	store   Store
	shops   hyperlieu.ShopDirectory
	notify  hyperlieu.Notifier
	devices hyperlieu.DeviceTokens
	opts    Options
	log     *slog.Logger
	// onGestured is told when a gesture answers feedback (the visits'
	// recovery stats); set once by NewVisits, before serving.
	onGestured func(ctx context.Context, f ShopFeedback, g Gesture)
}

var (
	_ hyperlieu.ActivityRecorder = (*Service)(nil)
	_ hyperlieu.Segmenter        = (*Service)(nil)
	_ hyperlieu.PersonalData     = (*Service)(nil)
)

// NewService returns the fans use cases.
func NewService(store Store, shops hyperlieu.ShopDirectory, notify hyperlieu.Notifier, devices hyperlieu.DeviceTokens, opts Options, log *slog.Logger) *Service {
	opts.defaults()
	if opts.OfferValidity == 0 {
		opts.OfferValidity = 90 * 24 * time.Hour
	}
	return &Service{store: store, shops: shops, notify: notify, devices: devices, opts: opts, log: log}
}

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

func (s *Service) send(ctx context.Context, reqs ...hyperlieu.NotificationRequest) {
	if len(reqs) == 0 {
		return
	}
	// A notification that could not be queued must not undo what the
	// customer did; it is logged and the use case succeeds.
	if err := s.notify.Notify(ctx, reqs...); err != nil {
		s.log.ErrorContext(ctx, "queue notification", "kind", reqs[0].Kind, "err", err)
	}
}

// purchaseLike reports whether k makes someone a customer.
func purchaseLike(k hyperlieu.ActivityKind) bool {
	return k == hyperlieu.ActivityCheckIn || k == hyperlieu.ActivityRedemption
}

func (s *Service) pointsFor(k hyperlieu.ActivityKind) int {
	switch k {
	case hyperlieu.ActivityCheckIn:
		return s.opts.Earn.CheckIn
	case hyperlieu.ActivityRedemption:
		return s.opts.Earn.Redemption
	case hyperlieu.ActivityFeedback:
		return s.opts.Earn.Feedback
	}
	return 0
}

// RecordStaffActivity records an activity a member of staff enters by hand
// (replays, corrections), as RecordActivity does, and adds it to the audit
// trail. Forbidden unless the actor is an admin.
func (s *Service) RecordStaffActivity(ctx context.Context, actor hyperlieu.Actor, a hyperlieu.Activity) error {
	if !actor.Is(hyperlieu.RoleAdmin) {
		return hyperlieu.Errorf(hyperlieu.Forbidden, "only admins record activities by hand")
	}
	if err := s.RecordActivity(ctx, a); err != nil {
		return err
	}
	s.audit(ctx, hyperlieu.AuditEntry{
		ActorID: actor.UserID, ActorRole: hyperlieu.RoleAdmin, Action: hyperlieu.AuditActivity,
		UserID: a.UserID, ShopID: a.ShopID, ObjectID: a.SourceKey, Kind: string(a.Kind),
	})
	return nil
}

func (s *Service) audit(ctx context.Context, e hyperlieu.AuditEntry) {
	if s.opts.Auditor != nil {
		s.opts.Auditor.Record(ctx, e)
	}
}

// RecordActivity counts a customer action: it pays its points once (the
// ledger entry's ID is derived from a.SourceKey), pays a pending referral on
// the first check-in or redemption, and recomputes the customer's segment.
// Recording the same SourceKey again, whatever its kind, pays nothing more
// and is not an error, so producers may retry. It returns Invalid for a missing field or an
// unknown kind, NotFound when the user does not exist.
func (s *Service) RecordActivity(ctx context.Context, a hyperlieu.Activity) error {
	var p hyperlieu.Problems
	if a.UserID == "" {
		p.Add("userId", "is required")
	}
	if !slices.Contains([]hyperlieu.ActivityKind{hyperlieu.ActivityCheckIn, hyperlieu.ActivityRedemption, hyperlieu.ActivityFeedback, hyperlieu.ActivityRSVP}, a.Kind) {
		p.Add("kind", "must be one of checkin, redemption, feedback, rsvp")
	}
	if a.SourceKey == "" || len(a.SourceKey) > 300 {
		p.Add("sourceKey", "is required, at most 300 characters")
	}
	now := s.now()
	if a.At.IsZero() {
		a.At = now
	} else if a.At.After(now.Add(5 * time.Minute)) {
		p.Add("at", "must not be in the future")
	}
	if err := p.Err(); err != nil {
		return err
	}
	a.At = a.At.UTC()
	u, err := s.store.FindUser(ctx, a.UserID)
	if err != nil {
		return fmt.Errorf("record activity: %w", err)
	}
	err = s.store.CreateActivity(ctx, a)
	if hyperlieu.KindOf(err) == hyperlieu.Conflict {
		// The source is what makes an activity one: a replay under another
		// kind (or for another user) carries on as the stored activity, so
		// it pays what the first recording paid and nothing more.
		first, ferr := s.store.FindActivity(ctx, a.SourceKey)
		if ferr != nil {
			return fmt.Errorf("record activity: %w", ferr)
		}
		if first.UserID != a.UserID {
			if u, err = s.store.FindUser(ctx, first.UserID); err != nil {
				return fmt.Errorf("record activity: %w", err)
			}
		}
		a = first
	} else if err != nil {
		return fmt.Errorf("record activity: %w", err)
	}
	// Even when the activity was already stored, carry on: a crash between
	// the steps below is repaired by the producer's retry.
	if pts := s.pointsFor(a.Kind); pts > 0 {
		e := LedgerEntry{
			ID: "earn:" + string(a.Kind) + ":" + a.SourceKey, UserID: a.UserID, Amount: pts,
			Reason: string(a.Kind), SourceKey: a.SourceKey, At: a.At,
		}
		if err := s.store.CreateLedgerEntry(ctx, e); err != nil && hyperlieu.KindOf(err) != hyperlieu.Conflict {
			return fmt.Errorf("record activity: pay points: %w", err)
		}
	}
	if purchaseLike(a.Kind) {
		if err := s.rewardReferral(ctx, u, a); err != nil {
			return fmt.Errorf("record activity: %w", err)
		}
	}
	if _, err := s.refreshSegment(ctx, u); err != nil {
		return fmt.Errorf("record activity: %w", err)
	}
	return nil
}

// Profile is the stored segment of a customer, with why, so that
// marketers can read it and counts per segment are cheap.
type Profile struct {
	UserID     string
	Segment    hyperlieu.Segment
	Reason     string
	ComputedAt time.Time
}

// SegmentOf computes the customer's segment at the given time from their
// activities and referral. It implements Segmenter.
func (s *Service) SegmentOf(ctx context.Context, u hyperlieu.User, at time.Time) (hyperlieu.Segment, error) {
	seg, _, err := s.classify(ctx, u, at)
	return seg, err
}

func (s *Service) classify(ctx context.Context, u hyperlieu.User, at time.Time) (hyperlieu.Segment, string, error) {
	acts, err := s.store.FindActivitiesOf(ctx, u.ID)
	if err != nil {
		return "", "", fmt.Errorf("segment of %s: %w", u.ID, err)
	}
	_, err = s.store.FindReferral(ctx, u.ID)
	if err != nil && hyperlieu.KindOf(err) != hyperlieu.NotFound {
		return "", "", fmt.Errorf("segment of %s: %w", u.ID, err)
	}
	seg, why := Classify(Facts{CreatedAt: u.CreatedAt, Referred: err == nil, Activities: acts}, at, s.thresholds())
	return seg, why, nil
}

func (s *Service) thresholds() SegmentThresholds {
	return SegmentThresholds{
		NewcomerPeriod: s.opts.NewcomerPeriod, DevotedWindow: s.opts.DevotedWindow,
		DevotedMin: s.opts.DevotedMin, DormantAfter: s.opts.DormantAfter,
	}
}

func (s *Service) refreshSegment(ctx context.Context, u hyperlieu.User) (Profile, error) {
	now := s.now()
	seg, why, err := s.classify(ctx, u, now)
	if err != nil {
		return Profile{}, err
	}
	p := Profile{UserID: u.ID, Segment: seg, Reason: why, ComputedAt: now}
	if err := s.store.UpdateFanProfile(ctx, p); err != nil {
		return Profile{}, fmt.Errorf("save segment of %s: %w", u.ID, err)
	}
	return p, nil
}

// RefreshSegments recomputes every customer's segment and sends the welcome
// journey steps that are due. It is what the periodic loop runs; it returns
// the number of customers visited.
func (s *Service) RefreshSegments(ctx context.Context) (int, error) {
	after, n := "", 0
	for {
		users, err := s.store.FindUsersAfter(ctx, after, 200)
		if err != nil {
			return n, fmt.Errorf("refresh segments: %w", err)
		}
		for _, u := range users {
			if _, err := s.refreshSegment(ctx, u); err != nil {
				return n, err
			}
			s.journey(ctx, u)
			n++
		}
		if len(users) < 200 {
			return n, nil
		}
		after = users[len(users)-1].ID
	}
}

// Run recomputes segments every interval until ctx is done.
func (s *Service) Run(ctx context.Context, interval time.Duration) {
	hyperlieu.Every(ctx, interval, true, s.log, "refresh segments", func(ctx context.Context) error {
		n, err := s.RefreshSegments(ctx)
		s.log.DebugContext(ctx, "segments refreshed", "customers", n)
		return err
	})
}

// SegmentCounts returns how many customers are in each segment, as last
// computed. Staff (anyone holding a role besides customer) are not
// customers: their profiles are taken out of the counts, whatever their
// roles were when the segment was computed.
func (s *Service) SegmentCounts(ctx context.Context) (map[hyperlieu.Segment]int, error) {
	out := map[hyperlieu.Segment]int{}
	for _, seg := range hyperlieu.Segments {
		n, err := s.store.FindSegmentCount(ctx, seg)
		if err != nil {
			return nil, fmt.Errorf("count segment %s: %w", seg, err)
		}
		out[seg] = n
	}
	staff, err := s.staffIDs(ctx)
	if err != nil {
		return nil, fmt.Errorf("segment counts: %w", err)
	}
	for id := range staff {
		p, err := s.store.FindFanProfile(ctx, id)
		if hyperlieu.KindOf(err) == hyperlieu.NotFound {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("segment counts: %w", err)
		}
		if out[p.Segment] > 0 {
			out[p.Segment]--
		}
	}
	return out, nil
}

// staffIDs returns the ids of everyone holding a role besides customer
// (staff are few), in one query.
func (s *Service) staffIDs(ctx context.Context) (map[string]bool, error) {
	var staff []hyperlieu.Role
	for _, r := range hyperlieu.Roles {
		if r != hyperlieu.RoleCustomer {
			staff = append(staff, r)
		}
	}
	got, err := s.store.FindUserIDsWithRole(ctx, staff...)
	if err != nil {
		return nil, fmt.Errorf("staff: %w", err)
	}
	ids := make(map[string]bool, len(got))
	for _, id := range got {
		ids[id] = true
	}
	return ids, nil
}

// View is what marketers see of one customer.
type View struct {
	User     hyperlieu.User
	Profile  Profile
	Loyalty  Loyalty
	Referral *Referral // who referred them, if anyone
}

// Fan returns a customer's segment (recomputed now, with why), loyalty and
// referral. NotFound when there is no such user.
func (s *Service) Fan(ctx context.Context, userID string) (View, error) {
	u, err := s.store.FindUser(ctx, userID)
	if err != nil {
		return View{}, fmt.Errorf("fan %s: %w", userID, err)
	}
	p, err := s.refreshSegment(ctx, u)
	if err != nil {
		return View{}, err
	}
	l, err := s.Loyalty(ctx, userID)
	if err != nil {
		return View{}, err
	}
	v := View{User: u, Profile: p, Loyalty: l}
	if r, err := s.store.FindReferral(ctx, userID); err == nil {
		v.Referral = &r
	} else if hyperlieu.KindOf(err) != hyperlieu.NotFound {
		return View{}, fmt.Errorf("fan %s: %w", userID, err)
	}
	return v, nil
}

func trimmed(s string) string { return strings.TrimSpace(s) }
