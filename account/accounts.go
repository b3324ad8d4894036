package account

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// Session is one signed-in device: a family of refresh tokens that rotate.
// Revoking it ends every token of the family.
type Session struct {
	ID        string
	UserID    string
	CreatedAt time.Time
	RevokedAt time.Time // zero while active
}

// RefreshToken is stored by the hash of its secret, never the secret itself.
type RefreshToken struct {
	Hash      string
	SessionID string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Store is what the account use cases need from the database.
type Store interface {
	// CreateUser returns Conflict when the email is taken.
	CreateUser(ctx context.Context, u hyperlieu.User) error
	// FindUser and FindUserByEmail return NotFound when there is no such user.
	FindUser(ctx context.Context, id string) (hyperlieu.User, error)
	FindUserByEmail(ctx context.Context, email string) (hyperlieu.User, error)
	UpdateUser(ctx context.Context, u hyperlieu.User) error
	// FindUsersBy returns at most q.Limit users matching q after the
	// cursor q.After, and the next page's cursor ("" on the last).
	FindUsersBy(ctx context.Context, q UserQuery) (UserPage, error)
	CreateSession(ctx context.Context, s Session) error
	FindSession(ctx context.Context, id string) (Session, error)
	UpdateSessionRevoked(ctx context.Context, id string, at time.Time) error
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	FindRefreshToken(ctx context.Context, hash string) (RefreshToken, error)
	// UpdateRefreshTokenUsed marks a token used; it returns Conflict if it already was,
	// atomically, so that two racing refreshes cannot both succeed.
	UpdateRefreshTokenUsed(ctx context.Context, hash string, at time.Time) error
}

// Tokens issues signed access tokens.
type Tokens interface {
	Issue(userID string, roles []string, sessionID string) (token string, expiresAt time.Time, err error)
}

// Observer hears what operators count.
type Observer interface {
	// Throttled is called when an attempt is refused as one too many:
	// action is signin, signup or refresh; by is account, address or
	// session.
	Throttled(action, by string)
}

// Auth is what a successful sign-up, sign-in or refresh returns.
type Auth struct {
	User         hyperlieu.User
	AccessToken  string
	RefreshToken string
	ExpiresAt    time.Time
}

// Options tunes the account use cases. Zero fields take defaults.
type Options struct {
	Now             func() time.Time
	RefreshTTL      time.Duration // default 30 days
	DefaultLocale   string        // default "en"
	DefaultTimezone string        // default "Europe/Paris"
	// Sign-in failures allowed per window, per email and per client address.
	MaxFailuresPerEmail int // default 5
	MaxFailuresPerAddr  int // default 20
	FailureWindow       time.Duration
	// Sign-ups allowed per client address per SignupWindow (default 20 per
	// hour): a sign-up costs a password hash and tells whether an email is
	// taken, so it is throttled like sign-in.
	MaxSignupsPerAddr int
	SignupWindow      time.Duration
	// Refreshes allowed per session (token family) and failed refreshes per
	// client address, per RefreshWindow (defaults 10 and 20 per 15 minutes).
	MaxRefreshesPerSession    int
	MaxRefreshFailuresPerAddr int
	RefreshWindow             time.Duration
	// Observer, if set, hears of sign-in throttles (metrics).
	Observer Observer
	// OnRegister, if set, is called after an account is created (welcome
	// journey, referrals). Its error is logged, not returned: the account exists.
	OnRegister func(ctx context.Context, u hyperlieu.User, in hyperlieu.Registration) error
}

func (o *Options) defaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RefreshTTL == 0 {
		o.RefreshTTL = 30 * 24 * time.Hour
	}
	if o.DefaultLocale == "" {
		o.DefaultLocale = "en"
	}
	if o.DefaultTimezone == "" {
		o.DefaultTimezone = "Europe/Paris"
	}
	if o.MaxFailuresPerEmail == 0 {
		o.MaxFailuresPerEmail = 5
	}
	if o.MaxFailuresPerAddr == 0 {
		o.MaxFailuresPerAddr = 20
	}
	if o.FailureWindow == 0 {
		o.FailureWindow = 15 * time.Minute
	}
	if o.MaxSignupsPerAddr == 0 {
		o.MaxSignupsPerAddr = 20
	}
	if o.SignupWindow == 0 {
		o.SignupWindow = time.Hour
	}
	if o.MaxRefreshesPerSession == 0 {
		o.MaxRefreshesPerSession = 10
	}
	if o.MaxRefreshFailuresPerAddr == 0 {
		o.MaxRefreshFailuresPerAddr = 20
	}
	if o.RefreshWindow == 0 {
		o.RefreshWindow = 15 * time.Minute
	}
}

// Service holds the account use cases: sign-up, sign-in, token
// rotation, profile and roles.
type Service struct {
	store    Store
	tokens   Tokens
	opts     Options
	log      *slog.Logger
	failures *failureCounter // sign-in failures
	signups  *failureCounter // sign-up attempts per address
	refresh  *failureCounter // refreshes per session, failed refreshes per address
	sessions sessionCache
	dummy    string // a hash to check against when the email is unknown
}

// NewService returns the account use cases over store and tokens.
func NewService(store Store, tokens Tokens, opts Options, log *slog.Logger) *Service {
	opts.defaults()
	return &Service{
		store: store, tokens: tokens, opts: opts, log: log,
		failures: newFailureCounter(opts.FailureWindow),
		signups:  newFailureCounter(opts.SignupWindow),
		refresh:  newFailureCounter(opts.RefreshWindow),
		dummy:    HashPassword(hyperlieu.RandomToken(16)),
	}
}

// Register creates a customer account and signs it in.
// It returns Invalid naming every bad field, Conflict when the email is
// taken, and TooManyRequests with a RetryAfter once the client address has
// made too many sign-up attempts (taken emails count: they tell who has an
// account; requests with bad fields do not).
func (s *Service) Register(ctx context.Context, in hyperlieu.Registration) (Auth, error) {
	in.Email = hyperlieu.NormalizeEmail(in.Email)
	if in.Locale == "" {
		in.Locale = s.opts.DefaultLocale
	}
	if in.Timezone == "" {
		in.Timezone = s.opts.DefaultTimezone
	}
	var p hyperlieu.Problems
	hyperlieu.ValidateEmail(&p, "email", in.Email)
	hyperlieu.ValidatePassword(&p, "password", in.Password)
	hyperlieu.ValidateDisplayName(&p, "displayName", in.DisplayName)
	hyperlieu.ValidateLocale(&p, "locale", in.Locale)
	hyperlieu.ValidateTimezone(&p, "timezone", in.Timezone)
	if err := p.Err(); err != nil {
		return Auth{}, err
	}
	if err := s.take(s.signups, "signup:"+in.ClientAddr, s.opts.MaxSignupsPerAddr, "too many sign-ups from this address; try again later"); err != nil {
		s.observe("signup", "address")
		return Auth{}, err
	}
	now := s.opts.Now().UTC()
	u := hyperlieu.User{
		ID:           hyperlieu.NewID(),
		Email:        in.Email,
		DisplayName:  strings.TrimSpace(in.DisplayName),
		PasswordHash: HashPassword(in.Password),
		Roles:        []hyperlieu.Role{hyperlieu.RoleCustomer},
		Prefs:        hyperlieu.DefaultPreferences(in.Locale, in.Timezone),
		CreatedAt:    now,
		UpdatedAt:    now,
		ClaimKey:     hyperlieu.NewClaimKey(),
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return Auth{}, fmt.Errorf("register: %w", err)
	}
	if s.opts.OnRegister != nil {
		if err := s.opts.OnRegister(ctx, u, in); err != nil {
			s.log.ErrorContext(ctx, "after registration", "user", u.ID, "err", err)
		}
	}
	return s.startSession(ctx, u)
}

// Login signs a user in. Wrong credentials give Unauthenticated with the same
// message whether or not the email exists; repeated failures for one email or
// one client address give TooManyRequests with a RetryAfter.
func (s *Service) Login(ctx context.Context, email, password, clientAddr string) (Auth, error) {
	email = hyperlieu.NormalizeEmail(email)
	keys := []string{"email:" + email, "addr:" + clientAddr}
	limits := []int{s.opts.MaxFailuresPerEmail, s.opts.MaxFailuresPerAddr}
	now := s.opts.Now()
	for i, k := range keys {
		if err := s.throttled(s.failures, k, limits[i], "too many failed sign-in attempts; try again later"); err != nil {
			s.observe("signin", []string{"account", "address"}[i])
			return Auth{}, err
		}
	}
	u, err := s.store.FindUserByEmail(ctx, email)
	if err != nil && hyperlieu.KindOf(err) != hyperlieu.NotFound {
		return Auth{}, fmt.Errorf("login: %w", err)
	}
	hash := u.PasswordHash
	if err != nil {
		hash = s.dummy // spend the same time whether or not the email exists
	}
	if !CheckPassword(hash, password) || err != nil {
		for _, k := range keys {
			s.failures.add(k, now)
		}
		return Auth{}, hyperlieu.Errorf(hyperlieu.Unauthenticated, "wrong email or password")
	}
	s.failures.reset(keys[0])
	return s.startSession(ctx, u)
}

func (s *Service) startSession(ctx context.Context, u hyperlieu.User) (Auth, error) {
	sess := Session{ID: hyperlieu.NewID(), UserID: u.ID, CreatedAt: s.opts.Now().UTC()}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return Auth{}, fmt.Errorf("start session: %w", err)
	}
	return s.issue(ctx, u, sess.ID)
}

func (s *Service) issue(ctx context.Context, u hyperlieu.User, sessionID string) (Auth, error) {
	secret := hyperlieu.RandomToken(32)
	now := s.opts.Now().UTC()
	rt := RefreshToken{Hash: hashToken(secret), SessionID: sessionID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(s.opts.RefreshTTL)}
	if err := s.store.CreateRefreshToken(ctx, rt); err != nil {
		return Auth{}, fmt.Errorf("issue refresh token: %w", err)
	}
	roles := make([]string, len(u.Roles))
	for i, r := range u.Roles {
		roles[i] = string(r)
	}
	access, exp, err := s.tokens.Issue(u.ID, roles, sessionID)
	if err != nil {
		return Auth{}, fmt.Errorf("issue access token: %w", err)
	}
	return Auth{User: u, AccessToken: access, RefreshToken: secret, ExpiresAt: exp}, nil
}

func hashToken(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

var errBadRefresh = hyperlieu.Errorf(hyperlieu.Unauthenticated, "refresh token is invalid, expired or revoked")

// Refresh exchanges a refresh token for a new pair. Each token works once:
// presenting a used one means it was stolen or replayed, so the whole session
// is revoked and Unauthenticated returned. Too many refreshes of one session,
// or too many failed ones from one client address, give TooManyRequests with
// a RetryAfter; the token presented is then not used up.
func (s *Service) Refresh(ctx context.Context, secret, clientAddr string) (Auth, error) {
	if secret == "" {
		return Auth{}, hyperlieu.InvalidField("refreshToken", "is required").WithMessage("refreshToken is required")
	}
	addrKey := "refresh-fail:" + clientAddr
	if err := s.throttled(s.refresh, addrKey, s.opts.MaxRefreshFailuresPerAddr, "too many failed token refreshes from this address; try again later"); err != nil {
		s.observe("refresh", "address")
		return Auth{}, err
	}
	rt, sess, err := s.findRefresh(ctx, secret)
	if err != nil {
		if hyperlieu.KindOf(err) == hyperlieu.Unauthenticated {
			s.refresh.add(addrKey, s.opts.Now())
		}
		return Auth{}, err
	}
	if err := s.take(s.refresh, "refresh:"+sess.ID, s.opts.MaxRefreshesPerSession, "this session refreshes too often; try again later"); err != nil {
		s.observe("refresh", "session")
		return Auth{}, err
	}
	now := s.opts.Now().UTC()
	if err := s.store.UpdateRefreshTokenUsed(ctx, rt.Hash, now); err != nil {
		if hyperlieu.KindOf(err) == hyperlieu.Conflict {
			s.forgetSession(sess.ID)
			if err := s.store.UpdateSessionRevoked(ctx, sess.ID, now); err != nil {
				return Auth{}, fmt.Errorf("revoke reused session: %w", err)
			}
			s.log.WarnContext(ctx, "refresh token reused; session revoked", "user", rt.UserID, "session", sess.ID)
			return Auth{}, errBadRefresh
		}
		return Auth{}, fmt.Errorf("refresh: %w", err)
	}
	u, err := s.store.FindUser(ctx, rt.UserID)
	if err != nil {
		if hyperlieu.KindOf(err) == hyperlieu.NotFound {
			return Auth{}, errBadRefresh
		}
		return Auth{}, fmt.Errorf("refresh: %w", err)
	}
	return s.issue(ctx, u, sess.ID)
}

func (s *Service) findRefresh(ctx context.Context, secret string) (RefreshToken, Session, error) {
	rt, err := s.store.FindRefreshToken(ctx, hashToken(secret))
	if err != nil {
		if hyperlieu.KindOf(err) == hyperlieu.NotFound {
			return RefreshToken{}, Session{}, errBadRefresh
		}
		return RefreshToken{}, Session{}, fmt.Errorf("find refresh token: %w", err)
	}
	sess, err := s.store.FindSession(ctx, rt.SessionID)
	if err != nil {
		if hyperlieu.KindOf(err) == hyperlieu.NotFound {
			return RefreshToken{}, Session{}, errBadRefresh
		}
		return RefreshToken{}, Session{}, fmt.Errorf("find session: %w", err)
	}
	if !sess.RevokedAt.IsZero() || !s.opts.Now().Before(rt.ExpiresAt) {
		return RefreshToken{}, Session{}, errBadRefresh
	}
	return rt, sess, nil
}

// Logout revokes the session the refresh token belongs to. Logging out twice
// is not an error.
func (s *Service) Logout(ctx context.Context, secret string) error {
	rt, err := s.store.FindRefreshToken(ctx, hashToken(secret))
	if err != nil {
		if hyperlieu.KindOf(err) == hyperlieu.NotFound {
			return errBadRefresh
		}
		return fmt.Errorf("logout: %w", err)
	}
	s.forgetSession(rt.SessionID)
	if err := s.store.UpdateSessionRevoked(ctx, rt.SessionID, s.opts.Now().UTC()); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// Me returns the caller's account. NotFound if it was erased meanwhile.
func (s *Service) Me(ctx context.Context, userID string) (hyperlieu.User, error) {
	u, err := s.store.FindUser(ctx, userID)
	if err != nil {
		return hyperlieu.User{}, fmt.Errorf("me: %w", err)
	}
	return u, nil
}

// UpdateMe applies a profile and preferences patch. Invalid names every bad field
// and nothing is stored.
func (s *Service) UpdateMe(ctx context.Context, userID string, patch hyperlieu.PreferencesPatch) (hyperlieu.User, error) {
	u, err := s.store.FindUser(ctx, userID)
	if err != nil {
		return hyperlieu.User{}, fmt.Errorf("update me: %w", err)
	}
	if err := patch.Apply(&u); err != nil {
		return hyperlieu.User{}, err
	}
	u.UpdatedAt = s.opts.Now().UTC()
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return hyperlieu.User{}, fmt.Errorf("update me: %w", err)
	}
	return u, nil
}

// SetRoles replaces the roles of user id. Every user keeps the customer role.
// An admin cannot remove their own admin role (Conflict), so that the last
// admin cannot lock everyone out by mistake.
func (s *Service) SetRoles(ctx context.Context, actorID, id string, roles []string) (hyperlieu.User, error) {
	if roles == nil {
		return hyperlieu.User{}, hyperlieu.InvalidField("roles", "is required")
	}
	var p hyperlieu.Problems
	set := []hyperlieu.Role{hyperlieu.RoleCustomer}
	for i, r := range roles {
		role := hyperlieu.Role(r)
		if !slices.Contains(hyperlieu.Roles, role) {
			p.Add(fmt.Sprintf("roles[%d]", i), "must be one of customer, manager, marketer, admin")
			continue
		}
		if !slices.Contains(set, role) {
			set = append(set, role)
		}
	}
	if err := p.Err(); err != nil {
		return hyperlieu.User{}, err
	}
	if actorID == id && !slices.Contains(set, hyperlieu.RoleAdmin) {
		return hyperlieu.User{}, hyperlieu.Errorf(hyperlieu.Conflict, "an admin cannot remove their own admin role")
	}
	u, err := s.store.FindUser(ctx, id)
	if err != nil {
		return hyperlieu.User{}, fmt.Errorf("set roles: %w", err)
	}
	slices.SortFunc(set, func(a, b hyperlieu.Role) int {
		return slices.Index(hyperlieu.Roles, a) - slices.Index(hyperlieu.Roles, b)
	})
	u.Roles = set
	u.UpdatedAt = s.opts.Now().UTC()
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return hyperlieu.User{}, fmt.Errorf("set roles: %w", err)
	}
	s.forgetUser(u.ID) // the new roles hold at once on this instance
	return u, nil
}

// EnsureUser creates the account for email with password and roles, or, if it
// exists, resets its password and adds the roles. It bootstraps the first
// admin and the demo accounts.
func (s *Service) EnsureUser(ctx context.Context, email, password, displayName string, roles ...hyperlieu.Role) (hyperlieu.User, error) {
	email = hyperlieu.NormalizeEmail(email)
	var p hyperlieu.Problems
	hyperlieu.ValidateEmail(&p, "email", email)
	hyperlieu.ValidatePassword(&p, "password", password)
	if err := p.Err(); err != nil {
		return hyperlieu.User{}, err
	}
	now := s.opts.Now().UTC()
	u, err := s.store.FindUserByEmail(ctx, email)
	switch {
	case err == nil:
		u.PasswordHash = HashPassword(password)
		for _, r := range roles {
			if !slices.Contains(u.Roles, r) {
				u.Roles = append(u.Roles, r)
			}
		}
		u.UpdatedAt = now
		if err := s.store.UpdateUser(ctx, u); err != nil {
			return hyperlieu.User{}, fmt.Errorf("ensure user: %w", err)
		}
		return u, nil
	case hyperlieu.KindOf(err) != hyperlieu.NotFound:
		return hyperlieu.User{}, fmt.Errorf("ensure user: %w", err)
	}
	u = hyperlieu.User{
		ID: hyperlieu.NewID(), Email: email, DisplayName: displayName,
		PasswordHash: HashPassword(password),
		Roles:        append([]hyperlieu.Role{hyperlieu.RoleCustomer}, roles...),
		Prefs:        hyperlieu.DefaultPreferences(s.opts.DefaultLocale, s.opts.DefaultTimezone),
		CreatedAt:    now, UpdatedAt: now, ClaimKey: hyperlieu.NewClaimKey(),
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return hyperlieu.User{}, fmt.Errorf("ensure user: %w", err)
	}
	return u, nil
}

// observe tells the Observer, if any, of a refused attempt.
func (s *Service) observe(action, by string) {
	if s.opts.Observer != nil {
		s.opts.Observer.Throttled(action, by)
	}
}

// throttled returns TooManyRequests, with how long to wait, once key has
// reached limit in c's window.
func (s *Service) throttled(c *failureCounter, key string, limit int, msg string) error {
	if wait := c.blocked(key, limit, s.opts.Now()); wait > 0 {
		return &hyperlieu.Error{Kind: hyperlieu.TooManyRequests, Message: msg, RetryAfter: wait}
	}
	return nil
}

// take counts one attempt of key, unless it is throttled (then it returns
// TooManyRequests and counts nothing).
func (s *Service) take(c *failureCounter, key string, limit int, msg string) error {
	if wait := c.take(key, limit, s.opts.Now()); wait > 0 {
		return &hyperlieu.Error{Kind: hyperlieu.TooManyRequests, Message: msg, RetryAfter: wait}
	}
	return nil
}

// failureCounter counts recent sign-in failures per key, in memory. Limits are
// per instance: with N instances an attacker gets at most N times the budget.
type failureCounter struct {
	mu     sync.Mutex
	window time.Duration
	hits   map[string][]time.Time
}

func newFailureCounter(window time.Duration) *failureCounter {
	return &failureCounter{window: window, hits: map[string][]time.Time{}}
}

func (f *failureCounter) prune(key string, now time.Time) []time.Time {
	h := f.hits[key]
	i := 0
	for i < len(h) && now.Sub(h[i]) >= f.window {
		i++
	}
	h = h[i:]
	if len(h) == 0 {
		delete(f.hits, key)
		return nil
	}
	f.hits[key] = h
	return h
}

// blocked returns how long key must wait, or 0 if it may try.
func (f *failureCounter) blocked(key string, limit int, now time.Time) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := f.prune(key, now)
	if len(h) < limit {
		return 0
	}
	return h[len(h)-limit].Add(f.window).Sub(now)
}

// take adds one hit to key and returns 0, or, if key is at its limit, adds
// nothing and returns how long it must wait: check and count in one step.
func (f *failureCounter) take(key string, limit int, now time.Time) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if h := f.prune(key, now); len(h) >= limit {
		return h[len(h)-limit].Add(f.window).Sub(now)
	}
	f.addLocked(key, now)
	return 0
}

func (f *failureCounter) add(key string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addLocked(key, now)
}

func (f *failureCounter) addLocked(key string, now time.Time) {
	if len(f.hits) > 100_000 { // bound memory under a spray of addresses
		for k := range f.hits {
			f.prune(k, now)
		}
	}
	f.hits[key] = append(f.prune(key, now), now)
}

func (f *failureCounter) reset(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.hits, key)
}
