package hyperlieu

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

// AccountStore is what the account use cases need from the database.
type AccountStore interface {
	// CreateUser returns Conflict when the email is taken.
	CreateUser(ctx context.Context, u User) error
	// FindUser and FindUserByEmail return NotFound when there is no such user.
	FindUser(ctx context.Context, id string) (User, error)
	FindUserByEmail(ctx context.Context, email string) (User, error)
	UpdateUser(ctx context.Context, u User) error
	CreateSession(ctx context.Context, s Session) error
	FindSession(ctx context.Context, id string) (Session, error)
	RevokeSession(ctx context.Context, id string, at time.Time) error
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	FindRefreshToken(ctx context.Context, hash string) (RefreshToken, error)
	// UseRefreshToken marks a token used; it returns Conflict if it already was,
	// atomically, so that two racing refreshes cannot both succeed.
	UseRefreshToken(ctx context.Context, hash string, at time.Time) error
}

// Tokens issues signed access tokens.
type Tokens interface {
	Issue(userID string, roles []string, sessionID string) (token string, expiresAt time.Time, err error)
}

// Auth is what a successful sign-up, sign-in or refresh returns.
type Auth struct {
	User         User
	AccessToken  string
	RefreshToken string
	ExpiresAt    time.Time
}

// AccountOptions tunes the account use cases. Zero fields take defaults.
type AccountOptions struct {
	Now             func() time.Time
	RefreshTTL      time.Duration // default 30 days
	DefaultLocale   string        // default "en"
	DefaultTimezone string        // default "Europe/Paris"
	// Sign-in failures allowed per window, per email and per client address.
	MaxFailuresPerEmail int // default 5
	MaxFailuresPerAddr  int // default 20
	FailureWindow       time.Duration
	// OnRegister, if set, is called after an account is created (welcome
	// journey, referrals). Its error is logged, not returned: the account exists.
	OnRegister func(ctx context.Context, u User, in Registration) error
}

func (o *AccountOptions) defaults() {
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
}

// AccountService holds the account use cases: sign-up, sign-in, token
// rotation, profile and roles.
type AccountService struct {
	store    AccountStore
	tokens   Tokens
	opts     AccountOptions
	log      *slog.Logger
	failures *failureCounter
	sessions sessionCache
	dummy    string // a hash to check against when the email is unknown
}

// NewAccountService returns the account use cases over store and tokens.
func NewAccountService(store AccountStore, tokens Tokens, opts AccountOptions, log *slog.Logger) *AccountService {
	opts.defaults()
	return &AccountService{
		store: store, tokens: tokens, opts: opts, log: log,
		failures: newFailureCounter(opts.FailureWindow),
		dummy:    HashPassword(RandomToken(16)),
	}
}

// Registration is a sign-up request.
type Registration struct {
	Email, Password, DisplayName string
	Locale, Timezone             string // optional
	ReferralCode                 string // optional; see the loyalty use cases
}

// Register creates a customer account and signs it in.
// It returns Invalid naming every bad field, and Conflict when the email is taken.
func (s *AccountService) Register(ctx context.Context, in Registration) (Auth, error) {
	in.Email = NormalizeEmail(in.Email)
	if in.Locale == "" {
		in.Locale = s.opts.DefaultLocale
	}
	if in.Timezone == "" {
		in.Timezone = s.opts.DefaultTimezone
	}
	var p Problems
	validateEmail(&p, "email", in.Email)
	validatePassword(&p, "password", in.Password)
	validateDisplayName(&p, "displayName", in.DisplayName)
	validateLocale(&p, "locale", in.Locale)
	validateTimezone(&p, "timezone", in.Timezone)
	if err := p.Err(); err != nil {
		return Auth{}, err
	}
	now := s.opts.Now().UTC()
	u := User{
		ID:           NewID(),
		Email:        in.Email,
		DisplayName:  strings.TrimSpace(in.DisplayName),
		PasswordHash: HashPassword(in.Password),
		Roles:        []Role{RoleCustomer},
		Prefs:        DefaultPreferences(in.Locale, in.Timezone),
		CreatedAt:    now,
		UpdatedAt:    now,
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
func (s *AccountService) Login(ctx context.Context, email, password, clientAddr string) (Auth, error) {
	email = NormalizeEmail(email)
	keys := []string{"email:" + email, "addr:" + clientAddr}
	limits := []int{s.opts.MaxFailuresPerEmail, s.opts.MaxFailuresPerAddr}
	now := s.opts.Now()
	for i, k := range keys {
		if wait := s.failures.blocked(k, limits[i], now); wait > 0 {
			return Auth{}, &Error{Kind: TooManyRequests, Message: "too many failed sign-in attempts; try again later", RetryAfter: wait}
		}
	}
	u, err := s.store.FindUserByEmail(ctx, email)
	if err != nil && KindOf(err) != NotFound {
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
		return Auth{}, Errorf(Unauthenticated, "wrong email or password")
	}
	s.failures.reset(keys[0])
	return s.startSession(ctx, u)
}

func (s *AccountService) startSession(ctx context.Context, u User) (Auth, error) {
	sess := Session{ID: NewID(), UserID: u.ID, CreatedAt: s.opts.Now().UTC()}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return Auth{}, fmt.Errorf("start session: %w", err)
	}
	return s.issue(ctx, u, sess.ID)
}

func (s *AccountService) issue(ctx context.Context, u User, sessionID string) (Auth, error) {
	secret := RandomToken(32)
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

var errBadRefresh = Errorf(Unauthenticated, "refresh token is invalid, expired or revoked")

// Refresh exchanges a refresh token for a new pair. Each token works once:
// presenting a used one means it was stolen or replayed, so the whole session
// is revoked and Unauthenticated returned.
func (s *AccountService) Refresh(ctx context.Context, secret string) (Auth, error) {
	if secret == "" {
		return Auth{}, &Error{Kind: Invalid, Message: "refreshToken is required", Fields: []FieldError{{"refreshToken", "is required"}}}
	}
	rt, sess, err := s.findRefresh(ctx, secret)
	if err != nil {
		return Auth{}, err
	}
	now := s.opts.Now().UTC()
	if err := s.store.UseRefreshToken(ctx, rt.Hash, now); err != nil {
		if KindOf(err) == Conflict {
			s.forgetSession(sess.ID)
			if err := s.store.RevokeSession(ctx, sess.ID, now); err != nil {
				return Auth{}, fmt.Errorf("revoke reused session: %w", err)
			}
			s.log.WarnContext(ctx, "refresh token reused; session revoked", "user", rt.UserID, "session", sess.ID)
			return Auth{}, errBadRefresh
		}
		return Auth{}, fmt.Errorf("refresh: %w", err)
	}
	u, err := s.store.FindUser(ctx, rt.UserID)
	if err != nil {
		if KindOf(err) == NotFound {
			return Auth{}, errBadRefresh
		}
		return Auth{}, fmt.Errorf("refresh: %w", err)
	}
	return s.issue(ctx, u, sess.ID)
}

func (s *AccountService) findRefresh(ctx context.Context, secret string) (RefreshToken, Session, error) {
	rt, err := s.store.FindRefreshToken(ctx, hashToken(secret))
	if err != nil {
		if KindOf(err) == NotFound {
			return RefreshToken{}, Session{}, errBadRefresh
		}
		return RefreshToken{}, Session{}, fmt.Errorf("find refresh token: %w", err)
	}
	sess, err := s.store.FindSession(ctx, rt.SessionID)
	if err != nil {
		if KindOf(err) == NotFound {
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
func (s *AccountService) Logout(ctx context.Context, secret string) error {
	rt, err := s.store.FindRefreshToken(ctx, hashToken(secret))
	if err != nil {
		if KindOf(err) == NotFound {
			return errBadRefresh
		}
		return fmt.Errorf("logout: %w", err)
	}
	s.forgetSession(rt.SessionID)
	if err := s.store.RevokeSession(ctx, rt.SessionID, s.opts.Now().UTC()); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// Me returns the caller's account. NotFound if it was erased meanwhile.
func (s *AccountService) Me(ctx context.Context, userID string) (User, error) {
	u, err := s.store.FindUser(ctx, userID)
	if err != nil {
		return User{}, fmt.Errorf("me: %w", err)
	}
	return u, nil
}

// UpdateMe applies a profile and preferences patch. Invalid names every bad field
// and nothing is stored.
func (s *AccountService) UpdateMe(ctx context.Context, userID string, patch PreferencesPatch) (User, error) {
	u, err := s.store.FindUser(ctx, userID)
	if err != nil {
		return User{}, fmt.Errorf("update me: %w", err)
	}
	if err := patch.apply(&u); err != nil {
		return User{}, err
	}
	u.UpdatedAt = s.opts.Now().UTC()
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return User{}, fmt.Errorf("update me: %w", err)
	}
	return u, nil
}

// SetRoles replaces the roles of user id. Every user keeps the customer role.
// An admin cannot remove their own admin role (Conflict), so that the last
// admin cannot lock everyone out by mistake.
func (s *AccountService) SetRoles(ctx context.Context, actorID, id string, roles []string) (User, error) {
	var p Problems
	set := []Role{RoleCustomer}
	for i, r := range roles {
		role := Role(r)
		if !slices.Contains(Roles, role) {
			p.Add(fmt.Sprintf("roles[%d]", i), "must be one of customer, manager, marketer, admin")
			continue
		}
		if !slices.Contains(set, role) {
			set = append(set, role)
		}
	}
	if err := p.Err(); err != nil {
		return User{}, err
	}
	if actorID == id && !slices.Contains(set, RoleAdmin) {
		return User{}, Errorf(Conflict, "an admin cannot remove their own admin role")
	}
	u, err := s.store.FindUser(ctx, id)
	if err != nil {
		return User{}, fmt.Errorf("set roles: %w", err)
	}
	slices.SortFunc(set, func(a, b Role) int { return slices.Index(Roles, a) - slices.Index(Roles, b) })
	u.Roles = set
	u.UpdatedAt = s.opts.Now().UTC()
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return User{}, fmt.Errorf("set roles: %w", err)
	}
	return u, nil
}

// EnsureUser creates the account for email with password and roles, or, if it
// exists, resets its password and adds the roles. It bootstraps the first
// admin and the demo accounts.
func (s *AccountService) EnsureUser(ctx context.Context, email, password, displayName string, roles ...Role) (User, error) {
	email = NormalizeEmail(email)
	var p Problems
	validateEmail(&p, "email", email)
	validatePassword(&p, "password", password)
	if err := p.Err(); err != nil {
		return User{}, err
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
			return User{}, fmt.Errorf("ensure user: %w", err)
		}
		return u, nil
	case KindOf(err) != NotFound:
		return User{}, fmt.Errorf("ensure user: %w", err)
	}
	u = User{
		ID: NewID(), Email: email, DisplayName: displayName,
		PasswordHash: HashPassword(password),
		Roles:        append([]Role{RoleCustomer}, roles...),
		Prefs:        DefaultPreferences(s.opts.DefaultLocale, s.opts.DefaultTimezone),
		CreatedAt:    now, UpdatedAt: now,
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return User{}, fmt.Errorf("ensure user: %w", err)
	}
	return u, nil
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

func (f *failureCounter) add(key string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
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
