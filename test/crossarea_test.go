package test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu/push/fcmfake"
)

// These tests follow a message across areas, from the HTTP request that
// causes it (fans, campaigns and location, events) through the notification
// outbox to the fake FCM, with the real Firebase client in the real binary.

// pushable registers a customer in locale and formality with a device and
// without quiet hours, so that their pushes go at once.
func (s *server) pushable(t *testing.T, name, locale, formality, token string, roles ...string) user {
	t.Helper()
	var u user
	if len(roles) > 0 {
		u = s.withRoles(t, name, roles...)
	} else {
		u = s.register(t, name)
	}
	want(t, s.do(t, "PATCH", "/v1/me", u.Token, map[string]any{
		"locale": locale, "formality": formality, "quietHours": nil, "locationConsent": true, "maxNotificationsPerDay": 20,
	}), http.StatusOK)
	s.addDevice(t, u, token)
	return u
}

// pushWith waits for the one push to token whose data has key set to value
// (to anything when value is ""), and returns it.
func pushWith(t *testing.T, s *server, fake *fcmfake.Server, token, key, value string) fcmfake.Received {
	t.Helper()
	var got []fcmfake.Received
	waitUntil(t, s, 15*time.Second, "a push with "+key+" reaches "+token, func() bool {
		got = got[:0]
		for _, m := range messagesTo(fake, token) {
			if v := m.Data[key]; v != "" && (value == "" || v == value) {
				got = append(got, m)
			}
		}
		return len(got) > 0
	})
	if len(got) != 1 {
		t.Errorf("pushes with %s to %s = %d, want 1", key, token, len(got))
	}
	return got[0]
}

// inTone reports whether a French text addresses its reader in formality:
// "tu"/"toi"/"ton"… when familiar, "vous"/"votre"… when formal, never both.
func inTone(text, formality string) bool {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		// Digits and dashes belong to words, so that an offer code such
		// as 9TU3-… is not read as "tu".
		return !(r >= 'a' && r <= 'z' || r >= 'à' && r <= 'ÿ' || r >= '0' && r <= '9' || r == '-' || r == '\'')
	})
	tu, vous := false, false
	for _, w := range words {
		switch {
		case w == "tu" || w == "toi" || w == "ton" || w == "ta" || w == "tes" || w == "te" || strings.HasPrefix(w, "t'"):
			tu = true
		case w == "vous" || w == "votre" || w == "vos":
			vous = true
		}
	}
	if formality == "familiar" {
		return tu && !vous
	}
	return vous && !tu
}

func TestCrossAreaPushes(t *testing.T) {
	t.Parallel()
	fake, env := fcmEnv(t)
	s := startServer(t, env)
	admin := s.admin(t)

	t.Run("gesture after a low shop rating", func(t *testing.T) {
		shop := s.createShop(t, admin.Token, "Paris Marais", offset(paris, 500, 500))
		mgr := s.pushable(t, "Manon", "fr", "formal", "fcm:mgr-gesture", "manager")
		want(t, s.do(t, "POST", "/v1/shops/"+shop+"/managers", admin.Token, map[string]any{"userId": mgr.ID}), http.StatusOK)
		for _, tt := range []struct{ name, formality, offer string }{
			{"Tom", "familiar", "Un café offert"},
			{"Vera", "formal", "Un croissant offert"},
		} {
			token := "fcm:" + tt.name
			c := s.pushable(t, tt.name, "fr", tt.formality, token)
			var fb struct{ ID string }
			want(t, s.do(t, "POST", "/v1/shops/"+shop+"/feedback", c.Token, map[string]any{"rating": 1, "comment": "Trop d'attente"}), http.StatusCreated).Decode(t, &fb)

			// The managers hear of it first, with the shop's name, never its ID.
			alert := pushWith(t, s, fake, "fcm:mgr-gesture", "feedbackId", fb.ID)
			if alert.Data["feedbackId"] != fb.ID || !strings.Contains(alert.Title, "Paris Marais") ||
				!strings.Contains(alert.Body, "1/5") || !strings.Contains(alert.Body, "Trop d'attente") || strings.Contains(alert.Title+alert.Body, shop) {
				t.Errorf("low-rating alert = %q / %q (data %v); want the shop's name, the rating and the comment", alert.Title, alert.Body, alert.Data)
			}

			var g struct{ ID, Code string }
			want(t, s.do(t, "POST", "/v1/shops/"+shop+"/gestures", mgr.Token, map[string]any{
				"userId": c.ID, "feedbackId": fb.ID, "message": "Désolés pour l'attente.", "offer": map[string]any{"title": tt.offer},
			}), http.StatusCreated).Decode(t, &g)
			m := pushWith(t, s, fake, token, "gestureId", g.ID)
			text := m.Title + " " + m.Body
			if m.Token != token || m.Data["gestureId"] != g.ID || !inTone(text, tt.formality) ||
				!strings.Contains(m.Title, "Paris Marais") || !strings.Contains(m.Body, "Désolés pour l'attente.") ||
				!strings.Contains(m.Body, tt.offer) || !strings.Contains(m.Body, g.Code) || strings.ContainsAny(text, "{}") {
				t.Errorf("gesture push to %s = %q / %q (data %v); want the %s tone, the shop's name, the message, offer and code %s",
					tt.name, m.Title, m.Body, m.Data, tt.formality, g.Code)
			}
		}
	})

	t.Run("campaign offer from a location report", func(t *testing.T) {
		mk := s.withRoles(t, "Mona", "marketer")
		body := campaign("Brunch", nil)
		body["offer"] = map[string]any{
			"texts": []map[string]any{
				{"locale": "en", "formality": "formal", "title": "Brunch: 20% off", "body": "Show this code at the till."},
				{"locale": "fr", "formality": "familiar", "title": "Brunch : -20 % pour toi", "body": "Montre ce code en caisse."},
				{"locale": "fr", "formality": "formal", "title": "Brunch : -20 % pour vous", "body": "Présentez ce code en caisse."},
			},
			"value": "-20%", "validityHours": 2,
		}
		campaignID := s.launch(t, mk.Token, body)
		for _, tt := range []struct{ name, formality, title, body string }{
			{"Lou", "familiar", "Brunch : -20 % pour toi", "Montre ce code en caisse."},
			{"Marc", "formal", "Brunch : -20 % pour vous", "Présentez ce code en caisse."},
		} {
			token := "fcm:" + tt.name
			c := s.pushable(t, tt.name, "fr", tt.formality, token)
			s.report(t, c, out, time.Now().Add(-2*time.Minute), 10)
			a := s.report(t, c, in, time.Now().Add(-time.Minute), 10)
			if len(a.Triggered) != 1 {
				t.Fatalf("%s entering the zone triggered %v, want the campaign's offer", tt.name, a.Triggered)
			}
			m := pushWith(t, s, fake, token, "offerId", "")
			ttl, err := strconv.ParseFloat(strings.TrimSuffix(m.AndroidTTL, "s"), 64)
			if m.Title != tt.title || m.Body != tt.body || !inTone(m.Title+" "+m.Body, tt.formality) {
				t.Errorf("offer push to %s = %q / %q, want %q / %q", tt.name, m.Title, m.Body, tt.title, tt.body)
			}
			// The offer is valid for 2 hours, longer than the 1h default
			// validity of notifications: the TTL follows the offer.
			if err != nil || ttl <= 0 || ttl > 2*3600 || ttl < 3600 {
				t.Errorf("offer push TTL = %q, want at most the offer's 2h validity (and more than the 1h default)", m.AndroidTTL)
			}
			if m.AndroidCollapseKey != "campaign:"+campaignID || m.Data["offerId"] != a.Triggered[0].ID || m.Data["campaignId"] != campaignID {
				t.Errorf("offer push collapse key %q, data %v; want campaign:%s and offerId %s", m.AndroidCollapseKey, m.Data, campaignID, a.Triggered[0].ID)
			}
		}
	})

	t.Run("low event rating reaches the manager", func(t *testing.T) {
		at := offset(paris, 1000, 0)
		shop := s.createShop(t, admin.Token, "Boutique Rivoli", at)
		mgr := s.pushable(t, "Max", "fr", "familiar", "fcm:mgr-event", "manager")
		want(t, s.do(t, "POST", "/v1/shops/"+shop+"/managers", admin.Token, map[string]any{"userId": mgr.ID}), http.StatusOK)
		ev := want(t, s.do(t, "POST", "/v1/shops/"+shop+"/events", mgr.Token, eventBody("Soirée dégustation", soon, 5)), http.StatusCreated).JSON(t)
		id := ev["id"].(string)
		c := s.pushable(t, "Zoe", "fr", "formal", "fcm:Zoe")
		want(t, s.do(t, "POST", "/v1/events/"+id+"/rsvp", c.Token, nil), http.StatusOK)
		want(t, s.do(t, "POST", "/v1/events/"+id+"/checkin", c.Token, map[string]any{"lat": at[0], "lng": at[1]}), http.StatusCreated)
		s.startNow(t, mgr.Token, id)
		deadline := time.Now().Add(15 * time.Second)
		for { // feedback opens when the event starts
			r := s.do(t, "POST", "/v1/events/"+id+"/feedback", c.Token, map[string]any{"rating": 1, "comment": "Trop bruyant"})
			if r.Status == http.StatusOK {
				break
			}
			if r.Status != http.StatusConflict || time.Now().After(deadline) {
				t.Fatalf("feedback = %d %s, want 409 until the start then 200", r.Status, r.Body)
			}
			time.Sleep(100 * time.Millisecond)
		}
		// Only the low rating carries the customer's ID in an event push.
		m := pushWith(t, s, fake, "fcm:mgr-event", "userId", c.ID)
		if m.Data["eventId"] != id || !strings.Contains(m.Title, "Boutique Rivoli") || !strings.Contains(m.Body, "Soirée dégustation") ||
			!strings.Contains(m.Body, "1/5") || !strings.Contains(m.Body, "Trop bruyant") || !inTone(m.Body, "familiar") {
			t.Errorf("low event rating push = %q / %q (data %v); want the shop, event, rating and comment, in the manager's familiar tone", m.Title, m.Body, m.Data)
		}
		for _, x := range messagesTo(fake, "fcm:Zoe") {
			if x.Data["userId"] != "" {
				t.Errorf("the customer got the managers' alert: %q", x.Title)
			}
		}
	})
}
