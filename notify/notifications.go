package notify

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hyperlieu/hyperlieu"
)

// NotificationStatus is where a notification stands in the outbox:
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

// NotificationStatuses lists every status.
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

// Device is a phone or browser that receives pushes for one account. A token
// belongs to one account at a time.
type Device struct {
	Token      string
	UserID     string
	Platform   string // android, ios or web
	AppVersion string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Platforms a device may be.
var Platforms = []string{"android", "ios", "web"}

// NotificationQuery selects a page of notifications, newest first.
type Query struct {
	UserID   string    // "" for every user (admins)
	Statuses []Status  // empty: any
	DueBy    time.Time // not zero: only those with NotBefore ≤ DueBy
	// After continues from a previous page: strictly older than this point.
	AfterCreated time.Time
	AfterID      string
	Limit        int
}

// NotificationStore is what the notification use cases need from the database.
type Store interface {
	// FindUsers returns those of ids that exist, in no particular order.
	FindUsers(ctx context.Context, ids []string) ([]hyperlieu.User, error)
	// CreateNotifications inserts ns in one round trip; a notification whose
	// ID exists already is skipped silently (DedupKey made it deterministic).
	CreateNotifications(ctx context.Context, ns []Notification) error
	// ExistingNotifications returns which of ids are stored.
	ExistingNotifications(ctx context.Context, ids []string) ([]string, error)
	// ClaimSlots claims, for each request, the first of its slots that no
	// one holds, by inserting a document keyed by it, and reports whether one
	// was free. Exact across instances: a slot is taken by unique insert.
	// A few round trips in all, whatever the number of requests.
	ClaimSlots(ctx context.Context, reqs []SlotRequest, at time.Time) ([]bool, error)
	SaveDevice(ctx context.Context, d Device) error
	// FindDevices returns the devices of the users, newest first.
	FindDevices(ctx context.Context, userIDs ...string) ([]Device, error)
	// DeleteDevice returns NotFound unless userID owns token.
	DeleteDevice(ctx context.Context, userID, token string) error
	DeleteDeviceTokens(ctx context.Context, tokens []string) error
	FindNotification(ctx context.Context, id string) (Notification, error)
	ListNotifications(ctx context.Context, q Query) ([]Notification, error)
	// OpenNotification records the first open; Conflict if already opened.
	OpenNotification(ctx context.Context, n Notification, at time.Time) error
	// EraseNotificationData deletes the user's devices, notifications, opens and contact slots.
	EraseNotificationData(ctx context.Context, userID string) error
	// UnparkNotifications makes the user's parked pending notifications due at due.
	UnparkNotifications(ctx context.Context, userID string, due time.Time) error
}

// SlotRequest asks for one of Slots, in order of preference, for UserID.
type SlotRequest struct {
	UserID string
	Slots  []string
}

// NotificationOptions tunes the notification use cases. Zero fields take defaults.
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

// NotificationService renders, queues and lists notifications, and manages
// the devices they go to. It implements Notifier and PersonalData. Sending
// is the Outbox's job.
type Service struct {
	store Store
	opts  Options
	log   *slog.Logger
}

var _ hyperlieu.Notifier = (*Service)(nil)
var _ hyperlieu.PersonalData = (*Service)(nil)

// NewNotificationService returns the notification use cases over store.
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
	var p hyperlieu.Problems
	ids := make([]string, 0, len(reqs))
	var dedupIDs []string
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
	if err := p.Err(); err != nil {
		return err
	}
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
		existing, err := s.store.ExistingNotifications(ctx, dedupIDs)
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
	if len(slots) > 0 {
		ok, err := s.store.ClaimSlots(ctx, slots, now)
		if err != nil {
			return fmt.Errorf("notify: reserve contacts: %w", err)
		}
		for j, i := range capped {
			if !ok[j] {
				ns[i].Status, ns[i].Reason = StatusSuppressed, ReasonContactCap
			}
		}
	}
	if err := s.park(ctx, ns, now); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	if err := s.store.CreateNotifications(ctx, ns); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}

// park holds the pending notifications of customers who have no device yet
// until the end of the device grace period, or until they register one
// (RegisterDevice), so that the outbox does not pick them up again and
// again in the meantime. One round trip for the whole batch.
func (s *Service) park(ctx context.Context, ns []Notification, now time.Time) error {
	var users []string
	for _, n := range ns {
		if n.Status == StatusPending && !slices.Contains(users, n.UserID) {
			users = append(users, n.UserID)
		}
	}
	if len(users) == 0 {
		return nil
	}
	devs, err := s.store.FindDevices(ctx, users...)
	if err != nil {
		return err
	}
	has := make(map[string]bool, len(devs))
	for _, d := range devs {
		has[d.UserID] = true
	}
	for i := range ns {
		if n := &ns[i]; n.Status == StatusPending && !has[n.UserID] {
			n.Parked = true
			n.NotBefore = hyperlieu.Later(n.NotBefore, now.Add(s.opts.DeviceGrace))
		}
	}
	return nil
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
	for k, v := range vars {
		all[k] = v
	}
	formality := u.Prefs.Formality
	if formality == "" {
		formality = hyperlieu.Formal
	}
	return render(kind, u.Prefs.Locale, formality, all)
}

// AfterQuietHours returns t, or, when t falls within the quiet hours q in
// loc, the end of those quiet hours: the next q.To on the customer's wall
// clock, so that a DST change in between is accounted for. Nil or malformed
// quiet hours change nothing.
func AfterQuietHours(t time.Time, loc *time.Location, q *hyperlieu.QuietHours) time.Time {
	if q == nil {
		return t
	}
	return q.End(t, loc)
}

// ReserveContact claims one of u's daily contacts for the day at falls on in
// their time zone, and returns false when all MaxNotificationsPerDay are
// taken (or the cap is 0). Each contact is a slot document keyed
// contact:<user>:<day>:<n>, claimed by unique insert, so the cap is exact
// across instances and on FerretDB.
func (s *Service) ReserveContact(ctx context.Context, u hyperlieu.User, at time.Time) (bool, error) {
	req := contactSlots(u, at)
	if len(req.Slots) == 0 {
		return false, nil
	}
	ok, err := s.store.ClaimSlots(ctx, []SlotRequest{req}, s.opts.Now().UTC())
	if err != nil {
		return false, fmt.Errorf("reserve contact: %w", err)
	}
	return ok[0], nil
}

// contactSlots are u's daily contacts for the day at falls on in their time zone.
func contactSlots(u hyperlieu.User, at time.Time) SlotRequest {
	day := at.In(u.Prefs.Location()).Format(time.DateOnly)
	req := SlotRequest{UserID: u.ID, Slots: make([]string, max(u.Prefs.MaxNotificationsPerDay, 0))}
	for i := range req.Slots {
		req.Slots[i] = "contact:" + u.ID + ":" + day + ":" + strconv.Itoa(i+1)
	}
	return req
}

// Welcome queues the message that greets a new customer and tells them what
// the brand will send and how often. It is a service message (never capped
// or refused) and idempotent per user. The welcome journey builds on it.
func (s *Service) Welcome(ctx context.Context, u hyperlieu.User) error {
	// Only what holds is said: no "at most 0 messages", no quiet hours the
	// customer does not have (the templates do without them).
	vars := map[string]string{}
	if n := u.Prefs.MaxNotificationsPerDay; n > 0 {
		vars["max"] = strconv.Itoa(n)
	}
	if q := u.Prefs.QuietHours; q != nil {
		vars["quietFrom"], vars["quietTo"] = q.From, q.To
	}
	return s.Notify(ctx, hyperlieu.NotificationRequest{
		UserID: u.ID, Kind: hyperlieu.KindWelcome, Vars: vars,
		Data: map[string]string{"screen": "preferences"}, CollapseKey: "welcome",
		DedupKey: "welcome:" + u.ID,
	})
}

// DeviceInput registers a device.
type DeviceInput struct {
	Token, Platform, AppVersion string
}

// RegisterDevice registers or refreshes the caller's device. A token known
// for another account moves to this one (phones change hands). When the
// account then has more than MaxDevices, the least recently refreshed are
// dropped. Invalid names each bad field.
func (s *Service) RegisterDevice(ctx context.Context, userID string, in DeviceInput) (Device, error) {
	var p hyperlieu.Problems
	switch n := len(in.Token); {
	case strings.TrimSpace(in.Token) == "":
		p.Add("token", "is required")
	case n > 4096 || !utf8.ValidString(in.Token) || strings.ContainsAny(in.Token, " \t\r\n/"):
		p.Add("token", "is not a push registration token")
	}
	if !slices.Contains(Platforms, in.Platform) {
		p.Add("platform", "must be one of %s", strings.Join(Platforms, ", "))
	}
	if len(in.AppVersion) > 64 {
		p.Add("appVersion", "must be at most 64 bytes")
	}
	if err := p.Err(); err != nil {
		return Device{}, err
	}
	now := s.opts.Now().UTC()
	d := Device{Token: in.Token, UserID: userID, Platform: in.Platform, AppVersion: in.AppVersion, CreatedAt: now, UpdatedAt: now}
	if err := s.store.SaveDevice(ctx, d); err != nil {
		return Device{}, fmt.Errorf("register device: %w", err)
	}
	// What waited for a first device is due now, or when the customer's
	// quiet hours end.
	users, err := s.store.FindUsers(ctx, []string{userID})
	if err != nil {
		return Device{}, fmt.Errorf("register device: %w", err)
	}
	due := now
	if len(users) == 1 {
		due = AfterQuietHours(now, users[0].Prefs.Location(), users[0].Prefs.QuietHours).UTC()
	}
	if err := s.store.UnparkNotifications(ctx, userID, due); err != nil {
		return Device{}, fmt.Errorf("register device: %w", err)
	}
	devs, err := s.store.FindDevices(ctx, userID)
	if err != nil {
		return Device{}, fmt.Errorf("register device: %w", err)
	}
	if len(devs) > s.opts.MaxDevices {
		var old []string
		for _, o := range devs[s.opts.MaxDevices:] {
			if o.Token != d.Token {
				old = append(old, o.Token)
			}
		}
		if err := s.store.DeleteDeviceTokens(ctx, old); err != nil {
			return Device{}, fmt.Errorf("register device: %w", err)
		}
	}
	for _, o := range devs {
		if o.Token == d.Token {
			return o, nil
		}
	}
	return d, nil
}

// DeleteDevice forgets the caller's device. NotFound unless it is theirs.
func (s *Service) DeleteDevice(ctx context.Context, userID, token string) error {
	if err := s.store.DeleteDevice(ctx, userID, token); err != nil {
		return fmt.Errorf("delete device: %w", err)
	}
	return nil
}

// NotificationPage is a page of notifications and the cursor of the next
// one ("" on the last page).
type Page struct {
	Items []Notification
	Next  string
}

// MaxPageSize bounds a page of notifications.
const MaxPageSize = 100

// Inbox returns the customer's notifications, newest first: those already
// due, whatever became of the push, except those suppressed by their rules
// or expired unsent. Invalid for a bad cursor or limit.
func (s *Service) Inbox(ctx context.Context, userID, cursor string, limit int) (Page, error) {
	q, err := pageQuery(cursor, limit)
	if err != nil {
		return Page{}, err
	}
	q.UserID = userID
	q.Statuses = []Status{StatusPending, StatusSending, StatusSent, StatusFailed}
	q.DueBy = s.opts.Now().UTC()
	return s.page(ctx, q)
}

// ListNotifications is the admins' view of every notification with status
// (or all, when empty), newest first. Forbidden unless actor is an admin;
// Invalid for an unknown status, a bad cursor or limit.
func (s *Service) ListNotifications(ctx context.Context, actor hyperlieu.Actor, status, cursor string, limit int) (Page, error) {
	if !actor.Is(hyperlieu.RoleAdmin) {
		return Page{}, hyperlieu.Errorf(hyperlieu.Forbidden, "only admins see every notification")
	}
	q, err := pageQuery(cursor, limit)
	if err != nil {
		return Page{}, err
	}
	if status != "" {
		if !slices.Contains(Statuses, Status(status)) {
			return Page{}, hyperlieu.InvalidField("status", "must be one of pending, sending, sent, failed, expired, suppressed")
		}
		q.Statuses = []Status{Status(status)}
	}
	return s.page(ctx, q)
}

func (s *Service) page(ctx context.Context, q Query) (Page, error) {
	want := q.Limit
	q.Limit++
	ns, err := s.store.ListNotifications(ctx, q)
	if err != nil {
		return Page{}, fmt.Errorf("list notifications: %w", err)
	}
	page := Page{Items: ns}
	if len(ns) > want {
		page.Items = ns[:want]
		last := page.Items[want-1]
		page.Next = encodeCursor(last.CreatedAt, last.ID)
	}
	return page, nil
}

func pageQuery(cursor string, limit int) (Query, error) {
	var p hyperlieu.Problems
	q := Query{Limit: limit}
	if limit == 0 {
		q.Limit = 20
	} else if limit < 1 || limit > MaxPageSize {
		p.Add("limit", "must be between 1 and %d", MaxPageSize)
	}
	if cursor != "" {
		var ok bool
		if q.AfterCreated, q.AfterID, ok = decodeCursor(cursor); !ok {
			p.Add("cursor", "is not a cursor this API returned")
		}
	}
	return q, p.Err()
}

func encodeCursor(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t.UnixMilli(), 10) + "." + id))
}

func decodeCursor(c string) (time.Time, string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", false
	}
	ms, id, ok := strings.Cut(string(b), ".")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || id == "" {
		return time.Time{}, "", false
	}
	return time.UnixMilli(n).UTC(), id, true
}

// Opened records that the customer opened their notification id. Opening
// twice keeps the first time and is not an error; OnOpened runs once.
// NotFound unless the notification is theirs and in their inbox.
func (s *Service) Opened(ctx context.Context, userID, id string) (Notification, error) {
	n, err := s.store.FindNotification(ctx, id)
	if err != nil && hyperlieu.KindOf(err) != hyperlieu.NotFound {
		return Notification{}, fmt.Errorf("open notification: %w", err)
	}
	now := s.opts.Now().UTC().Truncate(time.Millisecond) // as stored
	if err != nil || n.UserID != userID || n.Status == StatusSuppressed || n.Status == StatusExpired || n.NotBefore.After(now) {
		return Notification{}, hyperlieu.Errorf(hyperlieu.NotFound, "notification not found")
	}
	if !n.OpenedAt.IsZero() {
		return n, nil
	}
	switch err := s.store.OpenNotification(ctx, n, now); {
	case hyperlieu.KindOf(err) == hyperlieu.Conflict: // a concurrent open won; it runs the hook
		return n, nil
	case err != nil:
		return Notification{}, fmt.Errorf("open notification: %w", err)
	}
	n.OpenedAt = now
	if s.opts.OnOpened != nil {
		if err := s.opts.OnOpened(ctx, n); err != nil {
			s.log.ErrorContext(ctx, "after notification opened", "notification", n.ID, "err", err)
		}
	}
	return n, nil
}

// ExportUser returns the user's devices and every notification about them.
func (s *Service) ExportUser(ctx context.Context, userID string) (map[string]any, error) {
	devs, err := s.store.FindDevices(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("export notifications: %w", err)
	}
	devices := make([]any, len(devs))
	for i, d := range devs {
		devices[i] = map[string]any{"token": d.Token, "platform": d.Platform, "appVersion": d.AppVersion, "createdAt": d.CreatedAt, "updatedAt": d.UpdatedAt}
	}
	var notes []any
	q := Query{UserID: userID, Limit: 1000}
	for {
		ns, err := s.store.ListNotifications(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("export notifications: %w", err)
		}
		for _, n := range ns {
			m := map[string]any{"id": n.ID, "kind": string(n.Kind), "category": n.Category, "title": n.Title, "body": n.Body,
				"data": n.Data, "createdAt": n.CreatedAt, "status": string(n.Status)}
			if !n.OpenedAt.IsZero() {
				m["openedAt"] = n.OpenedAt
			}
			notes = append(notes, m)
		}
		if len(ns) < q.Limit {
			break
		}
		q.AfterCreated, q.AfterID = ns[len(ns)-1].CreatedAt, ns[len(ns)-1].ID
	}
	if notes == nil {
		notes = []any{}
	}
	return map[string]any{"devices": devices, "notifications": notes}, nil
}

// EraseUser deletes the user's devices, notifications and contact slots.
// Campaign open counts, kept by OnOpened's receiver, stay as aggregates.
func (s *Service) EraseUser(ctx context.Context, userID string) error {
	if err := s.store.EraseNotificationData(ctx, userID); err != nil {
		return fmt.Errorf("erase notifications: %w", err)
	}
	return nil
}

// DeviceTokensOf returns the push tokens registered to the user, so that
// referrals can refuse a newcomer on the referrer's own phone.
func (s *Service) DeviceTokensOf(ctx context.Context, userID string) ([]string, error) {
	ds, err := s.store.FindDevices(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("device tokens: %w", err)
	}
	tokens := make([]string, len(ds))
	for i, d := range ds {
		tokens[i] = d.Token
	}
	return tokens, nil
}
