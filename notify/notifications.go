package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// Status is where a notification stands in the outbox:
// pending → sending → sent | failed | expired, or suppressed from the start.
type Status string

const (
	StatusPending    Status = "pending"    // queued, due at NotBefore
	StatusSending    Status = "sending"    // claimed by a worker until its lease ends
	StatusSent       Status = "sent"       // delivered to FCM for at least one device
	StatusFailed     Status = "failed"     // gave up after the configured attempts; admins see it
	StatusExpired    Status = "expired"    // its validity ended before it could be sent
	StatusSuppressed Status = "suppressed" // the customer's own rules said no (category, daily cap, no device)
)

// Statuses lists every status.
var Statuses = []Status{StatusPending, StatusSending, StatusSent, StatusFailed, StatusExpired, StatusSuppressed}

// Notification is one message to one customer: what the inbox shows and
// what the outbox sends.
type Notification struct {
	ID          string
	UserID      string
	Kind        hyperlieu.NotificationKind
	Category    string            // "" for service messages
	Title, Body string            // rendered in the customer's language and tone
	Vars        map[string]string // what the template was filled with, to render again at send time
	Data        map[string]string
	CollapseKey string
	DedupKey    string
	CreatedAt   time.Time
	NotBefore   time.Time // not pushed before (quiet hours move it)
	ExpiresAt   time.Time // not pushed after; the push TTL never exceeds it
	Status      Status
	Reason      string // why suppressed or expired
	Attempts    int    // sends tried
	LastError   string
	MessageIDs  []string // FCM message names, one per device reached
	SentTo      []string // device tokens reached, so that a retry skips them
	SentAt      time.Time
	OpenedAt    time.Time // zero until the customer opens it

	// Outbox bookkeeping.
	// Parked: the customer had no device when it was queued, so NotBefore was
	// set to the end of the device grace period; registering a device makes
	// it due at once. The outbox thus never churns over device-less customers.
	Parked     bool
	Waits      int    // rounds spent waiting for the customer's first device
	Claim      int    // sequence number of the last claim (see Outbox)
	LeaseOwner string // worker holding the claim
	LeaseUntil time.Time
}

// Platforms a device may be.
var Platforms = []string{"android", "ios", "web"}

// Query selects a page of notifications, newest first.
type Query struct {
	UserID   string    // "" for every user (admins)
	Statuses []Status  // empty: any
	DueBy    time.Time // not zero: only those with NotBefore ≤ DueBy
	// After continues from a previous page: strictly older than this point.
	AfterCreated time.Time
	AfterID      string
	Limit        int
}

// Store is what the notification use cases need from the database: the
// queue, the devices and the inbox.
type Store interface {
	QueueStore
	DeviceStore
	InboxStore
}

// QueueStore queues notifications.
type QueueStore interface {
	// FindUsers returns those of ids that exist, in no particular order.
	FindUsers(ctx context.Context, ids []string) ([]hyperlieu.User, error)
	// CreateNotifications inserts ns in one round trip; a notification whose
	// ID exists already is skipped silently (DedupKey made it deterministic).
	CreateNotifications(ctx context.Context, ns []Notification) error
	// FindNotificationIDs returns which of ids are stored.
	FindNotificationIDs(ctx context.Context, ids []string) ([]string, error)
	// CreateSlots claims, for each request, the first of its slots that no
	// one holds, by inserting a document keyed by it, and reports whether one
	// was free. Exact across instances: a slot is taken by unique insert.
	// A few round trips in all, whatever the number of requests.
	CreateSlots(ctx context.Context, reqs []SlotRequest, at time.Time) ([]bool, error)
	// FindDevices returns the devices of the users, newest first.
	FindDevices(ctx context.Context, userIDs ...string) ([]Device, error)
}

// DeviceStore keeps the devices pushes go to.
type DeviceStore interface {
	// UpdateDevice inserts or replaces the device keyed by its token.
	UpdateDevice(ctx context.Context, d Device) error
	FindDevices(ctx context.Context, userIDs ...string) ([]Device, error)
	// DeleteDevice returns NotFound unless userID owns token.
	DeleteDevice(ctx context.Context, userID, token string) error
	DeleteDeviceTokens(ctx context.Context, tokens []string) error
	// UpdateInstallIDs adds installID to the user's install history (one
	// document per user, at most MaxInstallIDs, the oldest dropped first).
	UpdateInstallIDs(ctx context.Context, userID, installID string) error
	// FindInstallIDs returns the user's install history (none: empty).
	FindInstallIDs(ctx context.Context, userID string) ([]string, error)
	// UpdateParked makes the user's parked pending notifications due at due.
	UpdateParked(ctx context.Context, userID string, due time.Time) error
}

// InboxStore reads what customers and admins list, and records opens.
type InboxStore interface {
	FindNotification(ctx context.Context, id string) (Notification, error)
	FindNotificationPage(ctx context.Context, q Query) ([]Notification, error)
	// FindAllNotificationPage is FindNotificationPage for everyone's
	// notifications, reading a bounded share of them: when the bound stops
	// it before the page is full, last is the last one read, for the next
	// page to start after (zero otherwise).
	FindAllNotificationPage(ctx context.Context, q Query) (ns []Notification, last Notification, err error)
	// CreateOpen records the first open; Conflict if already opened.
	CreateOpen(ctx context.Context, n Notification, at time.Time) error
	// DeleteNotificationData deletes the user's devices, notifications, opens and contact slots.
	DeleteNotificationData(ctx context.Context, userID string) error
}

// SlotRequest asks for one of Slots, in order of preference: keys that
// name no one (see ReserveContact).
type SlotRequest struct {
	Slots []string
}

// Options tunes the notification use cases. Zero fields take defaults.
type Options struct {
	Now        func() time.Time
	Brand      string        // signs the messages; default "Hyperlieu"
	Validity   time.Duration // how long a message may wait when the producer gives no ExpiresAt; default 72h
	MaxDevices int           // per account, oldest dropped; default 5
	// DeviceGrace is how long a notification for a customer with no device
	// waits (parked) for one; the outbox's own DeviceGrace should match.
	DeviceGrace time.Duration // default 1h
	// OnOpened, if set, is called once per notification, the first time the
	// customer opens it (campaign stats read Data["campaignId"]). Its error
	// is logged, not returned.
	OnOpened func(ctx context.Context, n Notification) error
	// OnQueued, if set, is handed what each Notify call stored, with the
	// customers and devices it read (Outbox.Enqueue), once it is stored.
	OnQueued func(qs []Queued)
}

func (o *Options) defaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Brand == "" {
		o.Brand = "Hyperlieu"
	}
	if o.Validity <= 0 {
		o.Validity = 72 * time.Hour
	}
	if o.MaxDevices <= 0 {
		o.MaxDevices = 5
	}
	if o.DeviceGrace <= 0 {
		o.DeviceGrace = time.Hour
	}
}

// Service renders, queues and lists notifications, and manages
// the devices they go to. It implements Notifier and PersonalData. Sending
// is the Outbox's job.
type Service struct {
	store Store
	opts  Options
	log   *slog.Logger
}

var _ hyperlieu.Notifier = (*Service)(nil)
var _ hyperlieu.PersonalData = (*Service)(nil)

// NewService returns the notification use cases over store.
func NewService(store Store, opts Options, log *slog.Logger) *Service {
	opts.defaults()
	return &Service{store: store, opts: opts, log: log}
}

// Suppression and expiry reasons.
const (
	ReasonCategory    = "category refused"
	ReasonContactCap  = "daily cap reached"
	ReasonNoDevice    = "no device"
	ReasonQuietExpiry = "expires before the end of quiet hours"
	ReasonExpired     = "expired before it could be sent"
)

// Notify renders and queues reqs in a few round trips whatever their number:
// one to read the users, one to check dedup keys, one to insert, plus one or
// two per capped request to reserve a daily contact. A request is recorded
// as suppressed when the customer refuses its category or their daily cap is
// reached (when Capped), and as expired when quiet hours push it past its
// expiry; neither is an error. Requests for users that no longer exist are
// skipped. Invalid is returned, before anything is written, when a request
// lacks UserID or Kind or names an unknown category.
func (s *Service) Notify(ctx context.Context, reqs ...hyperlieu.NotificationRequest) error {
	if len(reqs) == 0 {
		return nil
	}
	ids, dedupIDs, err := checkRequests(reqs)
	if err != nil {
		return err
	}
	read := time.Now()
	users, err := s.store.FindUsers(ctx, ids)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	byID := make(map[string]hyperlieu.User, len(users))
	for _, u := range users {
		byID[u.ID] = u
	}
	seen := map[string]bool{}
	if len(dedupIDs) > 0 {
		// Checked before the daily cap is reserved, so that a repeated request
		// does not spend a contact.
		existing, err := s.store.FindNotificationIDs(ctx, dedupIDs)
		if err != nil {
			return fmt.Errorf("notify: %w", err)
		}
		for _, id := range existing {
			seen[id] = true
		}
	}
	now := s.opts.Now().UTC().Truncate(time.Millisecond) // as stored, so that cursors match
	ns := make([]Notification, 0, len(reqs))
	var capped []int // indexes in ns of notifications that need a daily contact
	var slots []SlotRequest
	for _, r := range reqs {
		u, ok := byID[r.UserID]
		if !ok {
			continue
		}
		id := hyperlieu.NewID()
		if r.DedupKey != "" {
			if id = dedupID(r.DedupKey); seen[id] {
				continue
			}
			seen[id] = true
		}
		n := s.prepare(u, r, now)
		n.ID = id
		if r.Capped && n.Status == StatusPending {
			capped = append(capped, len(ns))
			slots = append(slots, contactSlots(u, n.NotBefore))
		}
		ns = append(ns, n)
	}
	if err := s.reserve(ctx, ns, capped, slots, now); err != nil {
		return err
	}
	devs, err := s.park(ctx, ns, now)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	if err := s.store.CreateNotifications(ctx, ns); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	if s.opts.OnQueued != nil {
		qs := make([]Queued, 0, len(ns))
		for _, n := range ns {
			if n.Status == StatusPending && !n.Parked {
				qs = append(qs, Queued{Notification: n, User: byID[n.UserID], Devices: devs[n.UserID], At: read})
			}
		}
		s.opts.OnQueued(qs)
	}
	return nil
}

// checkRequests validates requests before anything is written, and returns
// the users they address and their dedup IDs.
func checkRequests(reqs []hyperlieu.NotificationRequest) (ids, dedupIDs []string, err error) {
	var p hyperlieu.Problems
	ids = make([]string, 0, len(reqs))
	for i, r := range reqs {
		if r.UserID == "" {
			p.Add(fmt.Sprintf("[%d].userId", i), "is required")
		}
		if r.Kind == "" {
			p.Add(fmt.Sprintf("[%d].kind", i), "is required")
		}
		if r.Category != "" && !slices.Contains(hyperlieu.MessageCategories, r.Category) {
			p.Add(fmt.Sprintf("[%d].category", i), "must be empty or one of %s", strings.Join(hyperlieu.MessageCategories, ", "))
		}
		if !slices.Contains(ids, r.UserID) {
			ids = append(ids, r.UserID)
		}
		if r.DedupKey != "" {
			dedupIDs = append(dedupIDs, dedupID(r.DedupKey))
		}
	}
	return ids, dedupIDs, p.Err()
}

// reserve claims the daily contacts of the capped notifications (ns[capped[j]]
// needs slots[j]) and suppresses those whose cap is reached.
func (s *Service) reserve(ctx context.Context, ns []Notification, capped []int, slots []SlotRequest, now time.Time) error {
	if len(slots) == 0 {
		return nil
	}
	ok, err := s.store.CreateSlots(ctx, slots, now)
	if err != nil {
		return fmt.Errorf("notify: reserve contacts: %w", err)
	}
	for j, i := range capped {
		if !ok[j] {
			ns[i].Status, ns[i].Reason = StatusSuppressed, ReasonContactCap
		}
	}
	return nil
}

// park holds the pending notifications of customers who have no device yet
// until the end of the device grace period, or until they register one
// (RegisterDevice), so that the outbox does not pick them up again and
// again in the meantime. It returns the devices it read, by user: one _id
// read per customer.
func (s *Service) park(ctx context.Context, ns []Notification, now time.Time) (map[string][]Device, error) {
	var users []string
	for _, n := range ns {
		if n.Status == StatusPending && !slices.Contains(users, n.UserID) {
			users = append(users, n.UserID)
		}
	}
	if len(users) == 0 {
		return nil, nil
	}
	devs, err := s.store.FindDevices(ctx, users...)
	if err != nil {
		return nil, err
	}
	byUser := make(map[string][]Device, len(devs))
	for _, d := range devs {
		byUser[d.UserID] = append(byUser[d.UserID], d)
	}
	for i := range ns {
		if n := &ns[i]; n.Status == StatusPending && len(byUser[n.UserID]) == 0 {
			n.Parked = true
			n.NotBefore = hyperlieu.Later(n.NotBefore, now.Add(s.opts.DeviceGrace))
		}
	}
	return byUser, nil
}

// dedupID turns a producer's dedup key into a notification id, the same on
// every instance, so that the unique _id makes the request idempotent.
func dedupID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "d" + hex.EncodeToString(sum[:13])
}

// prepare renders r for u and applies the customer's categories and quiet
// hours. It does not touch the daily cap.
func (s *Service) prepare(u hyperlieu.User, r hyperlieu.NotificationRequest, now time.Time) Notification {
	title, body := renderFor(u, r.Kind, r.Vars, s.opts.Brand)
	n := Notification{
		UserID: u.ID, Kind: r.Kind, Category: r.Category, Title: title, Body: body,
		Vars: r.Vars, Data: r.Data, CollapseKey: r.CollapseKey, DedupKey: r.DedupKey,
		CreatedAt: now, NotBefore: r.NotBefore.UTC(), ExpiresAt: r.ExpiresAt.UTC(),
		Status: StatusPending,
	}
	if n.NotBefore.Before(now) {
		n.NotBefore = now
	}
	if r.ExpiresAt.IsZero() {
		n.ExpiresAt = n.NotBefore.Add(s.opts.Validity)
	}
	if r.Category != "" && !u.Prefs.Accepts(r.Category) {
		n.Status, n.Reason = StatusSuppressed, ReasonCategory
		return n
	}
	n.NotBefore = AfterQuietHours(n.NotBefore, u.Prefs.Location(), u.Prefs.QuietHours).UTC()
	if !n.NotBefore.Before(n.ExpiresAt) {
		n.Status, n.Reason = StatusExpired, ReasonQuietExpiry
	}
	return n
}

// renderFor renders kind for u, in their language and tone, with vars plus
// their display name ("name") and the brand ("brand").
func renderFor(u hyperlieu.User, kind hyperlieu.NotificationKind, vars map[string]string, brand string) (title, body string) {
	all := make(map[string]string, len(vars)+2)
	all["name"], all["brand"] = u.DisplayName, brand
	if kind == hyperlieu.KindWelcome {
		vars = welcomeVars(u) // the limits of now, not of when it was queued
	}
	for k, v := range vars {
		all[k] = v
	}
	formality := u.Prefs.Formality
	if formality == "" {
		formality = hyperlieu.Formal
	}
	return render(kind, u.Prefs.Locale, formality, all)
}

// MaxPageSize bounds a page of notifications.
const MaxPageSize = 100
