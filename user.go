package hyperlieu

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Role is what a user may do. Everyone is a customer; the other roles add
// powers. A manager's powers are scoped to the shops they manage.
type Role string

const (
	RoleCustomer Role = "customer"
	RoleManager  Role = "manager"
	RoleMarketer Role = "marketer"
	RoleAdmin    Role = "admin"
)

// Roles lists every role, in order of power.
var Roles = []Role{RoleCustomer, RoleManager, RoleMarketer, RoleAdmin}

// Formality is how the brand addresses a customer: "vous" or "tu" in French.
type Formality string

const (
	Formal   Formality = "formal"
	Familiar Formality = "familiar"
)

// Locales the brand writes in. Templates fall back to English.
var Locales = []string{"en", "fr"}

// Categories of messages a customer may accept. Messages about something the
// customer did themselves (their RSVP moved, a gesture for them) are service
// messages and are always delivered.
const (
	CategoryOffers  = "offers"
	CategoryEvents  = "events"
	CategoryLoyalty = "loyalty"
	CategoryNews    = "news"
)

// MessageCategories lists the categories a customer can accept or refuse.
var MessageCategories = []string{CategoryOffers, CategoryEvents, CategoryLoyalty, CategoryNews}

// User is an account. PasswordHash never leaves the domain and the store.
type User struct {
	ID           string
	Email        string
	DisplayName  string
	PasswordHash string
	Roles        []Role
	Prefs        Preferences
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// ClaimKey is the person's own secret, set when the account is stored:
	// the keys of their once-only claims (stays, trigger slots, daily
	// contacts) are MACs under it, and the claims name nobody, so erasing
	// the account, which deletes the key, leaves claims no one can tie to
	// them. It never leaves the domain and the store.
	ClaimKey []byte `json:"-"`
}

// ClaimID is the key of one of u's claims, named by parts: a MAC under
// their ClaimKey, so that it is the same on every instance yet says
// nothing about whose it is once the key is gone.
func (u User) ClaimID(prefix string, parts ...string) string {
	m := hmac.New(sha256.New, u.ClaimKey)
	m.Write([]byte(u.ID))
	for _, p := range parts {
		m.Write([]byte{0})
		m.Write([]byte(p))
	}
	return prefix + ":" + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// HasRole reports whether u has role r. Every user is a customer.
func (u User) HasRole(r Role) bool {
	return r == RoleCustomer || slices.Contains(u.Roles, r)
}

// FirstName is the first word of the display name: all that public pages
// and personal feeds show of a person.
func (u User) FirstName() string {
	if f := strings.Fields(u.DisplayName); len(f) > 0 {
		return f[0]
	}
	return ""
}

// Preferences are the customer's own rules for how the brand may reach them.
type Preferences struct {
	Locale                 string
	Timezone               string // IANA name
	Formality              Formality
	QuietHours             *QuietHours // nil: none
	MaxNotificationsPerDay int
	Categories             []string
	LocationConsent        bool
	ShowInAttendeeLists    bool
}

// QuietHours is a daily window, in the customer's time zone, when nothing is
// pushed.
type QuietHours = ClockWindow

// Location returns the customer's time zone, or UTC if the stored name is unknown.
func (p Preferences) Location() *time.Location {
	return Zone(p.Timezone)
}

// Accepts reports whether the customer accepts messages of category c.
func (p Preferences) Accepts(c string) bool {
	return slices.Contains(p.Categories, c)
}

// DefaultPreferences are what a new account starts with: formal address,
// quiet nights, a few messages a day at most, no location until consent.
func DefaultPreferences(locale, timezone string) Preferences {
	return Preferences{
		Locale:                 locale,
		Timezone:               timezone,
		Formality:              Formal,
		QuietHours:             &QuietHours{From: "21:00", To: "08:00"},
		MaxNotificationsPerDay: 3,
		Categories:             slices.Clone(MessageCategories),
	}
}

// MaxNotificationsPerDayLimit bounds what a customer may ask for.
const MaxNotificationsPerDayLimit = 50

// NormalizeEmail trims and lower-cases an address, the form it is stored in.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 10

func ValidateEmail(p *Problems, field, email string) {
	a, err := mail.ParseAddress(email)
	if email == "" {
		p.Add(field, "is required")
	} else if err != nil || a.Address != email || len(email) > 254 {
		p.Add(field, "is not a valid email address")
	}
}

func ValidatePassword(p *Problems, field, pw string) {
	switch n := utf8.RuneCountInString(pw); {
	case n < MinPasswordLength:
		p.Add(field, "must be at least %d characters", MinPasswordLength)
	case len(pw) > 256:
		p.Add(field, "must be at most 256 bytes")
	}
}

func ValidateDisplayName(p *Problems, field, name string) {
	switch n := utf8.RuneCountInString(strings.TrimSpace(name)); {
	case n == 0:
		p.Add(field, "is required")
	case n > 80:
		p.Add(field, "must be at most 80 characters")
	}
}

func ValidateLocale(p *Problems, field, locale string) {
	if !slices.Contains(Locales, locale) {
		p.Add(field, "must be one of %s", strings.Join(Locales, ", "))
	}
}

func ValidateTimezone(p *Problems, field, tz string) {
	if tz == "" || tz == "Local" {
		p.Add(field, "must be an IANA time zone such as Europe/Paris")
		return
	}
	if _, err := time.LoadLocation(tz); err != nil {
		p.Add(field, "%q is not a known IANA time zone", tz)
	}
}

// ParseClock parses "HH:MM" into minutes after midnight.
func ParseClock(s string) (int, error) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil || h > 23 || m > 59 || h < 0 || m < 0 {
		return 0, fmt.Errorf("%q is not a time of day HH:MM", s)
	}
	return h*60 + m, nil
}

// PreferencesPatch changes some preferences; nil fields stay as they are.
type PreferencesPatch struct {
	DisplayName            *string
	Locale                 *string
	Timezone               *string
	Formality              *string
	QuietHours             **QuietHours // set to a nil *QuietHours to remove them
	MaxNotificationsPerDay *int
	Categories             *[]string
	LocationConsent        *bool
	ShowInAttendeeLists    *bool
}

// Apply validates the patch and applies it to u, reporting every bad field.
func (pp PreferencesPatch) Apply(u *User) error {
	var p Problems
	if pp.DisplayName != nil {
		ValidateDisplayName(&p, "displayName", *pp.DisplayName)
		u.DisplayName = strings.TrimSpace(*pp.DisplayName)
	}
	if pp.Locale != nil {
		ValidateLocale(&p, "locale", *pp.Locale)
		u.Prefs.Locale = *pp.Locale
	}
	if pp.Timezone != nil {
		ValidateTimezone(&p, "timezone", *pp.Timezone)
		u.Prefs.Timezone = *pp.Timezone
	}
	if pp.Formality != nil {
		if f := Formality(*pp.Formality); f != Formal && f != Familiar {
			p.Add("formality", "must be formal or familiar")
		} else {
			u.Prefs.Formality = f
		}
	}
	if pp.QuietHours != nil {
		if q := *pp.QuietHours; q != nil {
			if _, err := ParseClock(q.From); err != nil {
				p.Add("quietHours.from", "%v", err)
			}
			if _, err := ParseClock(q.To); err != nil {
				p.Add("quietHours.to", "%v", err)
			}
			if q.From == q.To {
				p.Add("quietHours", "from and to must differ; send null to remove quiet hours")
			}
			u.Prefs.QuietHours = &QuietHours{From: q.From, To: q.To}
		} else {
			u.Prefs.QuietHours = nil
		}
	}
	if pp.MaxNotificationsPerDay != nil {
		if n := *pp.MaxNotificationsPerDay; n < 0 || n > MaxNotificationsPerDayLimit {
			p.Add("maxNotificationsPerDay", "must be between 0 and %d", MaxNotificationsPerDayLimit)
		}
		u.Prefs.MaxNotificationsPerDay = *pp.MaxNotificationsPerDay
	}
	if pp.Categories != nil {
		cats := []string{}
		for i, c := range *pp.Categories {
			if !slices.Contains(MessageCategories, c) {
				p.Add(fmt.Sprintf("categories[%d]", i), "must be one of %s", strings.Join(MessageCategories, ", "))
			} else if !slices.Contains(cats, c) {
				cats = append(cats, c)
			}
		}
		u.Prefs.Categories = cats
	}
	if pp.LocationConsent != nil {
		u.Prefs.LocationConsent = *pp.LocationConsent
	}
	if pp.ShowInAttendeeLists != nil {
		u.Prefs.ShowInAttendeeLists = *pp.ShowInAttendeeLists
	}
	return p.Err()
}

// Actor is who performs a use case: a user and the roles their token carries.
type Actor struct {
	UserID string
	Roles  []Role
}

// Is reports whether the actor holds role r. Everyone is a customer.
func (a Actor) Is(r Role) bool { return r == RoleCustomer || slices.Contains(a.Roles, r) }

// CanManage is the one rule for running a shop: admins run every shop,
// managers the shops they manage (managesIt). Everyone else runs none.
func (a Actor) CanManage(managesIt bool) bool {
	return a.Is(RoleAdmin) || (a.Is(RoleManager) && managesIt)
}

// Registration is a sign-up request. The accounts area creates the account;
// the fans area reads the referral code from it.
type Registration struct {
	Email, Password, DisplayName string
	Locale, Timezone             string // optional
	ReferralCode                 string // optional; see the loyalty use cases
	InviteCode                   string // optional; an event invitation (the events area)
	ClientAddr                   string // the client's address, for the referral sign-ups limit
}
