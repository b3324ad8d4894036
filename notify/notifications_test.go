package notify

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

func TestRender(t *testing.T) {
	vars := map[string]string{"brand": "Hyperlieu", "name": "Ana", "event": "Atelier vélo", "shop": "Lyon", "when": "samedi 10h"}
	tests := []struct {
		name          string
		kind          hyperlieu.NotificationKind
		locale        string
		formality     hyperlieu.Formality
		vars          map[string]string
		title, inBody string
	}{
		{"french familiar uses tu", hyperlieu.KindEventAnnounced, "fr", hyperlieu.Familiar, vars, "Nouveau près de chez toi : Atelier vélo", "Tu viens ?"},
		{"french formal uses vous", hyperlieu.KindEventAnnounced, "fr", hyperlieu.Formal, vars, "Nouveau près de chez vous : Atelier vélo", "Vous venez ?"},
		{"english", hyperlieu.KindEventAnnounced, "en", hyperlieu.Formal, vars, "New near you: Atelier vélo", "Would you like to come?"},
		{"english has no familiar: formal", hyperlieu.KindEventAnnounced, "en", hyperlieu.Familiar, vars, "New near you: Atelier vélo", "at Lyon"},
		{"unknown locale falls back to English", hyperlieu.KindEventAnnounced, "de", hyperlieu.Familiar, vars, "New near you: Atelier vélo", "at Lyon"},
		{"unknown kind: generic message", "mystery", "fr", hyperlieu.Familiar, vars, "Du nouveau chez Hyperlieu", "Ouvre l'application"},
		{"journey step has its own texts", hyperlieu.KindJourney, "fr", hyperlieu.Familiar, map[string]string{"brand": "Hyperlieu", "step": "first_offer"}, "Des offres sur ton chemin", "Garde la localisation"},
		{"unknown journey step: generic journey text", hyperlieu.KindJourney, "fr", hyperlieu.Formal, map[string]string{"brand": "Hyperlieu", "step": "day_30"}, "Bien démarrer avec Hyperlieu", "Découvrez ce que Hyperlieu"},
		{"no journey step: generic journey text", hyperlieu.KindJourney, "en", hyperlieu.Formal, map[string]string{"brand": "Hyperlieu"}, "Getting started with Hyperlieu", "Discover"},
		{"missing var picks a text without it", hyperlieu.KindEventCancelled, "en", hyperlieu.Formal, vars, "Cancelled: Atelier vélo", "will not take place."},
		{"startsAt writes when in French", hyperlieu.KindEventReminder, "fr", hyperlieu.Formal, map[string]string{"event": "Atelier", "shop": "Lyon", "when": "Sat", "startsAt": "2025-06-14T10:00:00+02:00"}, "Atelier commence bientôt", "chez Lyon, samedi 14 juin à 10h00."},
		{"startsAt writes when in English", hyperlieu.KindEventReminder, "en", hyperlieu.Formal, map[string]string{"event": "Atelier", "shop": "Lyon", "startsAt": "2025-06-14T10:00:00+02:00"}, "Atelier starts soon", "See you at Lyon, Saturday 14 June at 10:00."},
		{"welcome without quiet hours", hyperlieu.KindWelcome, "en", hyperlieu.Formal, map[string]string{"brand": "Hyperlieu", "name": "Ana", "max": "3"}, "Welcome to Hyperlieu, Ana", "at most 3 messages a day: offers near you, local events and your rewards. Change"},
		{"values are not expanded", hyperlieu.KindGesture, "en", hyperlieu.Formal, map[string]string{"shop": "{name}", "message": "a {gift}"}, "A gesture from {name}", "a {gift}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			title, body := render(tt.kind, tt.locale, tt.formality, tt.vars)
			if title != tt.title || !strings.Contains(body, tt.inBody) {
				t.Errorf("render(%s, %s, %s) = %q, %q; want %q and a body with %q", tt.kind, tt.locale, tt.formality, title, body, tt.title, tt.inBody)
			}
		})
	}
	// Every template of every kind renders something in every tone.
	for k := range templates {
		for _, loc := range []string{"en", "fr", "xx"} {
			for _, f := range []hyperlieu.Formality{hyperlieu.Formal, hyperlieu.Familiar} {
				if title, body := render(k.kind, loc, f, nil); title == "" || body == "" {
					t.Errorf("render(%s, %s, %s) with no vars = %q, %q; want no empty text", k.kind, loc, f, title, body)
				}
			}
		}
	}
}

func TestAfterQuietHours(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	ny, _ := time.LoadLocation("America/New_York")
	night := &hyperlieu.QuietHours{From: "21:00", To: "08:00"}
	lunch := &hyperlieu.QuietHours{From: "12:00", To: "14:00"}
	utc := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	tests := []struct {
		name string
		at   string
		loc  *time.Location
		q    *hyperlieu.QuietHours
		want string
	}{
		{"outside", "2025-06-01T10:00:00Z", paris, night, "2025-06-01T10:00:00Z"},
		{"evening, ends next morning", "2025-06-01T20:00:00Z", paris, night, "2025-06-02T06:00:00Z"}, // 22:00 CEST → 08:00 CEST
		{"after midnight, ends this morning", "2025-06-01T23:30:00Z", paris, night, "2025-06-02T06:00:00Z"},
		{"the end itself is allowed", "2025-06-02T06:00:00Z", paris, night, "2025-06-02T06:00:00Z"},
		{"same-day window", "2025-06-01T10:30:00Z", paris, lunch, "2025-06-01T12:00:00Z"},
		{"spring forward: night is an hour shorter", "2025-03-29T22:30:00Z", paris, night, "2025-03-30T06:00:00Z"}, // 23:30 CET → 08:00 CEST
		{"fall back: night is an hour longer", "2025-10-25T21:30:00Z", paris, night, "2025-10-26T07:00:00Z"},       // 23:30 CEST → 08:00 CET
		{"New York DST", "2025-03-09T04:00:00Z", ny, night, "2025-03-09T12:00:00Z"},                                // 23:00 EST → 08:00 EDT
		{"no quiet hours", "2025-06-01T20:00:00Z", paris, nil, "2025-06-01T20:00:00Z"},
		{"malformed quiet hours", "2025-06-01T20:00:00Z", paris, &hyperlieu.QuietHours{From: "9pm", To: "8am"}, "2025-06-01T20:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AfterQuietHours(utc(tt.at), tt.loc, tt.q).UTC(); !got.Equal(utc(tt.want)) {
				t.Errorf("AfterQuietHours(%s, %s) = %s, want %s", tt.at, tt.loc, got.Format(time.RFC3339), tt.want)
			}
		})
	}
}

func TestPrepareQuietHoursAndExpiry(t *testing.T) {
	s := NewService(nil, Options{}, nil)
	u := hyperlieu.User{ID: "u", Prefs: hyperlieu.DefaultPreferences("fr", "Europe/Paris")} // quiet 21:00–08:00
	now := time.Date(2025, 6, 1, 21, 0, 0, 0, time.UTC)                                     // 23:00 in Paris
	n := s.prepare(u, hyperlieu.NotificationRequest{UserID: "u", Kind: hyperlieu.KindOffer, Category: hyperlieu.CategoryOffers, ExpiresAt: now.Add(2 * time.Hour)}, now)
	if n.Status != StatusExpired || n.Reason != ReasonQuietExpiry {
		t.Errorf("offer expiring before 08:00 = %s (%s), want expired", n.Status, n.Reason)
	}
	n = s.prepare(u, hyperlieu.NotificationRequest{UserID: "u", Kind: hyperlieu.KindOffer, Category: hyperlieu.CategoryOffers}, now)
	if want := time.Date(2025, 6, 2, 6, 0, 0, 0, time.UTC); n.Status != StatusPending || !n.NotBefore.Equal(want) {
		t.Errorf("offer at 23:00 = %s not before %s, want pending not before %s", n.Status, n.NotBefore, want)
	}
	u.Prefs.Categories = nil
	if n = s.prepare(u, hyperlieu.NotificationRequest{UserID: "u", Kind: hyperlieu.KindOffer, Category: hyperlieu.CategoryOffers}, now); n.Status != StatusSuppressed {
		t.Errorf("refused category = %s, want suppressed", n.Status)
	}
	if n = s.prepare(u, hyperlieu.NotificationRequest{UserID: "u", Kind: hyperlieu.KindGesture}, now); n.Status != StatusPending {
		t.Errorf("service message with no categories = %s, want pending", n.Status)
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempt    int
		retryAfter time.Duration
		r          float64
		want       time.Duration
	}{
		{1, 0, 0, 500 * time.Millisecond},
		{1, 0, 0.5, 750 * time.Millisecond},
		{3, 0, 0, 2 * time.Second},
		{3, 10 * time.Second, 0, 10 * time.Second},
		{40, 0, 0, 30 * time.Second}, // capped at max
	}
	for _, tt := range tests {
		if got := Backoff(time.Second, time.Minute, tt.attempt, tt.retryAfter, tt.r); got.Round(time.Microsecond) != tt.want {
			t.Errorf("Backoff(1s, 1m, %d, %v, %v) = %v, want %v", tt.attempt, tt.retryAfter, tt.r, got, tt.want)
		}
	}
}

// TestRenderProducerRequests renders what each producer actually queues
// (the Vars each one sends, as in events.go, feedback.go, journey.go,
// ledger.go, referrals.go, location.go and Service.Welcome) in
// every locale and tone: no placeholder may remain, no text may be empty,
// and no ID from the deep-link data may be shown.
func TestRenderProducerRequests(t *testing.T) {
	event := map[string]string{"event": "Atelier vélo", "shop": "Le Comptoir", "when": "Sat 14 Jun 2025 10:00 CEST", "startsAt": "2025-06-14T10:00:00+02:00"}
	with := func(base map[string]string, extra ...string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i+1 < len(extra); i += 2 {
			out[extra[i]] = extra[i+1]
		}
		return out
	}
	ids := map[string]string{"shopId": "0193a5f0c2d8", "eventId": "0193a5f0e4b1", "offerId": "0193a5f1a7c3", "userId": "0193a5f2b9d4"}
	tests := []struct {
		producer string
		kind     hyperlieu.NotificationKind
		vars     map[string]string
	}{
		{"notifications Welcome", hyperlieu.KindWelcome, map[string]string{"max": "3", "quietFrom": "21:00", "quietTo": "08:00"}},
		{"notifications Welcome, no quiet hours", hyperlieu.KindWelcome, map[string]string{"max": "3"}},
		{"notifications Welcome, no messages", hyperlieu.KindWelcome, map[string]string{}},
		{"fans journey events_near_you", hyperlieu.KindJourney, map[string]string{"step": "events_near_you"}},
		{"fans journey first_offer", hyperlieu.KindJourney, map[string]string{"step": "first_offer"}},
		{"fans journey, a step configured without texts", hyperlieu.KindJourney, map[string]string{"step": "day_30"}},
		{"location offer", hyperlieu.KindOffer, map[string]string{"offer": "-20 % sur le brunch", "message": "Ce midi seulement.", "code": "K7Q2-M9XP", "value": "20%"}},
		{"location offer without texts in any locale", hyperlieu.KindOffer, map[string]string{"code": "K7Q2-M9XP", "value": "20%"}},
		{"events announce", hyperlieu.KindEventAnnounced, event},
		{"events reminder", hyperlieu.KindEventReminder, event},
		{"events changed", hyperlieu.KindEventChanged, event},
		{"events cancelled with a reason", hyperlieu.KindEventCancelled, with(event, "reason", "The host is ill.")},
		{"events cancelled, no reason", hyperlieu.KindEventCancelled, with(event, "reason", "")},
		{"events waitlist promotion", hyperlieu.KindWaitlistPromoted, event},
		{"events low rating", hyperlieu.KindLowRating, with(event, "rating", "1", "comment", "Too loud")},
		{"events low rating, no comment", hyperlieu.KindLowRating, with(event, "rating", "2", "comment", "")},
		{"fans low rating", hyperlieu.KindLowRating, map[string]string{"rating": "1", "comment": "Cold coffee", "shop": "Le Comptoir"}},
		{"fans low rating, no comment, shop name unknown", hyperlieu.KindLowRating, map[string]string{"rating": "2", "comment": "", "shop": ""}},
		{"fans gesture with an offer", hyperlieu.KindGesture, map[string]string{"message": "Sorry about that.", "shop": "Le Comptoir", "offer": "A coffee on us", "code": "K7Q2-M9XP"}},
		{"fans gesture with points", hyperlieu.KindGesture, map[string]string{"message": "Sorry about that.", "shop": "Le Comptoir", "points": "50"}},
		{"ledger claimed reward", hyperlieu.KindReward, map[string]string{"for": "claim", "code": "K7Q2-M9XP", "offer": "Free croissant"}},
		{"referrals referrer", hyperlieu.KindReward, map[string]string{"for": "referrer", "points": "100"}},
		{"referrals referee", hyperlieu.KindReward, map[string]string{"for": "referee", "points": "50"}},
		{"visits ask", hyperlieu.KindVisitAsk, map[string]string{"shop": "Le Comptoir"}},
		{"visits ask, shop name unknown", hyperlieu.KindVisitAsk, map[string]string{"shop": ""}},
	}
	for _, tt := range tests {
		for _, locale := range []string{"en", "fr"} {
			for _, f := range []hyperlieu.Formality{hyperlieu.Formal, hyperlieu.Familiar} {
				u := hyperlieu.User{ID: "0193a5f2b9d4", DisplayName: "Ana", Prefs: hyperlieu.Preferences{Locale: locale, Formality: f}}
				title, body := renderFor(u, tt.kind, tt.vars, "Hyperlieu")
				text := title + "\n" + body
				bad := title == "" || body == "" || strings.ContainsAny(text, "{}") ||
					strings.Contains(text, "— ") || strings.Contains(text, " .") || strings.Contains(text, "“”") || strings.Contains(text, "« »")
				for _, id := range ids {
					bad = bad || strings.Contains(text, id)
				}
				if bad {
					t.Errorf("%s in %s %s = %q / %q; want a complete text without holes or IDs", tt.producer, locale, f, title, body)
				}
				if locale == "fr" && tt.kind != hyperlieu.KindLowRating {
					// Managers' alerts aside, French addresses the customer in their tone.
					tu, vous := familiarWords.MatchString(text), formalWords.MatchString(text)
					if tt.kind == hyperlieu.KindOffer && tt.vars["message"] != "" {
						continue // the campaign's own texts carry the tone
					}
					if f == hyperlieu.Familiar && (vous || !tu) || f == hyperlieu.Formal && (tu || !vous) {
						t.Errorf("%s in fr %s = %q / %q; want the %s form only", tt.producer, f, title, body, f)
					}
				}
			}
		}
	}
}

var (
	familiarWords = regexp.MustCompile(`(?i)\b(tu|toi|ton|ta|tes|te)\b|\bt'`)
	formalWords   = regexp.MustCompile(`(?i)\b(vous|votre|vos)\b`)
)
