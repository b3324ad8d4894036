package test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// Issue 13, "Invitations to local events" and "The customer space, everywhere".

type invitation struct {
	Code, EventID, Link string
	Invitees            []struct {
		FirstName string
		CheckedIn bool
	}
}

// signUpWith registers a newcomer with extra fields in the body.
func (s *server) signUpWith(t testing.TB, name string, extra map[string]any, status int) response {
	t.Helper()
	userSeq.Lock()
	userSeq.n++
	email := fmt.Sprintf("%s-%d@e2e.test", strings.ToLower(name), userSeq.n)
	userSeq.Unlock()
	body := map[string]any{"email": email, "password": "correct horse battery", "displayName": name}
	for k, v := range extra {
		body[k] = v
	}
	return want(t, s.do(t, "POST", "/v1/auth/register", "", body), status)
}

// pathOf returns the path and query of an absolute URL the server gave.
func pathOf(t testing.TB, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatalf("link %q: %v", link, err)
	}
	return u.RequestURI()
}

func TestInvitationSignUpCheckInRewardsBoth(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	admin := s.admin(t)
	at := offset(paris, 2000, 0)
	shopID := s.createShop(t, admin.Token, "Atelier Lumière", at)
	m := s.managerOf(t, admin, shopID, "Max")
	ev := want(t, s.do(t, "POST", "/v1/shops/"+shopID+"/events", m.Token, eventBody("Soirée vinyle", soon, 10)), http.StatusCreated).JSON(t)
	id := ev["id"].(string)

	// Only someone going can invite.
	ana := s.register(t, "Ana Martin")
	problemOf(t, s.do(t, "POST", "/v1/events/"+id+"/invitations", ana.Token, nil), http.StatusForbidden)
	want(t, s.do(t, "PATCH", "/v1/me", ana.Token, map[string]any{"showInAttendeeLists": true}), http.StatusOK)
	want(t, s.do(t, "POST", "/v1/events/"+id+"/rsvp", ana.Token, nil), http.StatusOK)
	var inv invitation
	want(t, s.do(t, "POST", "/v1/events/"+id+"/invitations", ana.Token, nil), http.StatusOK).Decode(t, &inv)
	var again invitation
	want(t, s.do(t, "POST", "/v1/events/"+id+"/invitations", ana.Token, nil), http.StatusOK).Decode(t, &again)
	if inv.Code == "" || again.Code != inv.Code || !strings.Contains(inv.Link, "/e/"+id+"?i="+inv.Code) {
		t.Fatalf("invitation = %+v, again %+v: want one stable code in a /e/<event>?i=<code> link", inv, again)
	}

	// The share link opens a public page, in the reader's language, that
	// previews well: Open Graph and Twitter tags, the inviter's first name,
	// who else is going (those who agreed), seats left, a calendar link.
	page := want(t, s.doHeaders(t, "GET", pathOf(t, inv.Link), "", nil, map[string]string{"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.8"}), http.StatusOK)
	html := string(page.Body)
	for _, w := range []string{`property="og:title" content="Soirée vinyle"`, `property="og:description"`, `name="twitter:card" content="summary"`,
		"Ana vous invite", "Participent : Ana", "9 places restantes", `href="/v1/events/` + id + `.ics"`, inv.Code, `lang="fr"`} {
		if !strings.Contains(html, w) {
			t.Errorf("page lacks %q:\n%s", w, html)
		}
	}
	if strings.Contains(html, "Martin") {
		t.Errorf("page shows more than first names:\n%s", html)
	}
	csp := page.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(html, "<script") {
		t.Errorf("CSP = %q (and no script allowed), page:\n%s", csp, html)
	}
	en := string(want(t, s.doHeaders(t, "GET", "/e/"+id, "", nil, map[string]string{"Accept-Language": "en-GB"}), http.StatusOK).Body)
	if !strings.Contains(en, "9 seats left") || strings.Contains(en, "invites you") {
		t.Errorf("English page without a code: want seats and no inviter:\n%s", en)
	}
	problemOf(t, s.do(t, "GET", "/e/nope", "", nil), http.StatusNotFound)

	// Sign-up refuses a bad code, or one given with a referral code.
	p := problemOf(t, s.signUpWith(t, "Zed", map[string]any{"inviteCode": "nope"}, http.StatusUnprocessableEntity), http.StatusUnprocessableEntity)
	if got := fields(p); len(got) != 1 || got[0] != "inviteCode" {
		t.Errorf("fields = %v, want inviteCode", got)
	}
	problemOf(t, s.signUpWith(t, "Zoe", map[string]any{"inviteCode": inv.Code, "referralCode": s.referral(t, ana).Code}, http.StatusUnprocessableEntity), http.StatusUnprocessableEntity)

	// A friend signs up through the link: a prospect attributed to Ana.
	fred := authUser(t, s.signUpWith(t, "Fred", map[string]any{"inviteCode": strings.ToUpper(inv.Code)}, http.StatusCreated))
	if info := s.referral(t, ana); len(info.Referrals) != 1 || info.Referrals[0].Status != "pending" {
		t.Fatalf("Ana's referrals after the sign-up = %+v, want one pending", info.Referrals)
	}
	// A check-in elsewhere does not pay the invitation: only this event's does.
	s.recordActivity(t, admin, fred.ID, "checkin", "checkin:elsewhere:"+fred.ID, time.Time{})
	if l := s.loyalty(t, ana); l.Balance != 0 {
		t.Errorf("Ana's balance after Fred checked in elsewhere = %d, want 0", l.Balance)
	}
	want(t, s.do(t, "POST", "/v1/events/"+id+"/rsvp", fred.Token, nil), http.StatusOK)
	want(t, s.do(t, "POST", "/v1/events/"+id+"/checkin", fred.Token, map[string]any{"lat": at[0], "lng": at[1]}), http.StatusCreated)

	// Both are rewarded, through the referral rules, in their ledgers.
	if l := s.loyalty(t, ana); l.Balance != 100 || len(l.Recent) != 1 || !strings.Contains(l.Recent[0].Reason, "referral") {
		t.Errorf("Ana's loyalty = %+v, want the referrer's 100", l)
	}
	if l := s.loyalty(t, fred); l.Balance != 150 { // two check-ins (50 each) and the welcome bonus (50)
		t.Errorf("Fred's balance = %d, want 150", l.Balance)
	}

	// Ana sees who accepted, by first name; the managers see the counts.
	var mine []invitation
	want(t, s.do(t, "GET", "/v1/me/invitations", ana.Token, nil), http.StatusOK).Decode(t, &mine)
	if len(mine) != 1 || len(mine[0].Invitees) != 1 || mine[0].Invitees[0].FirstName != "Fred" || !mine[0].Invitees[0].CheckedIn {
		t.Errorf("Ana's invitations = %+v, want Fred, checked in", mine)
	}
	var st struct{ Sent, Accepted, CheckedIn int }
	want(t, s.do(t, "GET", "/v1/events/"+id+"/invitations/stats", m.Token, nil), http.StatusOK).Decode(t, &st)
	if st.Sent != 1 || st.Accepted != 1 || st.CheckedIn != 1 {
		t.Errorf("stats = %+v, want 1 sent, 1 accepted, 1 checked in", st)
	}
	problemOf(t, s.do(t, "GET", "/v1/events/"+id+"/invitations/stats", ana.Token, nil), http.StatusForbidden)
	other := s.managerOf(t, admin, s.createShop(t, admin.Token, "Ailleurs", paris), "Olga")
	problemOf(t, s.do(t, "GET", "/v1/events/"+id+"/invitations/stats", other.Token, nil), http.StatusForbidden)

	// Erasing Fred keeps him in the counts, unnamed.
	want(t, s.do(t, "DELETE", "/v1/me", fred.Token, nil), http.StatusNoContent)
	want(t, s.do(t, "GET", "/v1/events/"+id+"/invitations/stats", m.Token, nil), http.StatusOK).Decode(t, &st)
	if st.Sent != 1 || st.Accepted != 1 || st.CheckedIn != 1 {
		t.Errorf("stats after the invitee's erasure = %+v, want 1, 1, 1", st)
	}
	want(t, s.do(t, "GET", "/v1/me/invitations", ana.Token, nil), http.StatusOK).Decode(t, &mine)
	if len(mine) != 1 || len(mine[0].Invitees) != 0 {
		t.Errorf("Ana's invitations after Fred's erasure = %+v, want nobody named", mine)
	}
	if where := findInDatabase(t, s.MongoURI, fred.ID); len(where) > 0 {
		t.Errorf("the erased invitee is still stored in %v", where)
	}

	// Erasing Ana: her link dies, her feeds go, the counts stay.
	want(t, s.do(t, "POST", "/v1/me/feeds/calendar", ana.Token, nil), http.StatusCreated)
	want(t, s.do(t, "DELETE", "/v1/me", ana.Token, nil), http.StatusNoContent)
	for _, c := range findInDatabase(t, s.MongoURI, ana.ID) {
		if slices.Contains([]string{"invitations", "invitation_owners", "invitation_counts", "invite_acceptances", "feed_keys", "feed_owners"}, c) {
			t.Errorf("the erased inviter is still stored in %s", c)
		}
	}
	want(t, s.do(t, "GET", "/v1/events/"+id+"/invitations/stats", m.Token, nil), http.StatusOK).Decode(t, &st)
	if st.Sent != 1 || st.Accepted != 1 || st.CheckedIn != 1 {
		t.Errorf("stats after the inviter's erasure = %+v, want 1, 1, 1", st)
	}
	problemOf(t, s.signUpWith(t, "Late", map[string]any{"inviteCode": inv.Code}, http.StatusUnprocessableEntity), http.StatusUnprocessableEntity)
}

func TestInvitationPageEscapesHostileTitle(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	admin := s.admin(t)
	shopID := s.createShop(t, admin.Token, `Chez "Bob" & <b>Co</b>`, paris)
	hostile := `</title><script>alert(1)</script>"><img src=x onerror=alert(2)>`
	body := eventBody(hostile, 3*time.Hour, 3)
	body["description"] = `<iframe src="https://evil.example"></iframe>`
	ev := want(t, s.do(t, "POST", "/v1/shops/"+shopID+"/events", admin.Token, body), http.StatusCreated).JSON(t)
	html := string(want(t, s.do(t, "GET", "/e/"+ev["id"].(string)+"?i=%22%3E%3Cscript%3E", "", nil), http.StatusOK).Body)
	for _, bad := range []string{"<script", "<img", "<iframe", "<b>"} {
		if strings.Contains(html, bad) {
			t.Errorf("page contains %q unescaped:\n%s", bad, html)
		}
	}
	if !strings.Contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;") || !strings.Contains(html, `content="&lt;/title&gt;`) {
		t.Errorf("page does not show the title escaped:\n%s", html)
	}
}

// vevent returns the VEVENT of uid in an iCalendar body, unfolded.
func vevent(t testing.TB, ics, uid string) string {
	t.Helper()
	ics = strings.ReplaceAll(ics, "\r\n ", "")
	for _, part := range strings.Split(ics, "BEGIN:VEVENT") {
		if strings.Contains(part, "UID:"+uid+"@hyperlieu") {
			return part
		}
	}
	return ""
}

func TestPersonalFeedsCalendarWidgetAndRevocation(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	admin := s.admin(t)
	shopID := s.createShop(t, admin.Token, "Atelier", paris)
	m := s.managerOf(t, admin, shopID, "Max")
	moved := want(t, s.do(t, "POST", "/v1/shops/"+shopID+"/events", m.Token, eventBody("Moved <night>", 48*time.Hour, 1)), http.StatusCreated).JSON(t)["id"].(string)
	dropped := want(t, s.do(t, "POST", "/v1/shops/"+shopID+"/events", m.Token, eventBody("Dropped", 72*time.Hour, 1)), http.StatusCreated).JSON(t)["id"].(string)
	ana := s.register(t, "Ana Martin")
	bob := s.register(t, "Bob")
	want(t, s.do(t, "POST", "/v1/events/"+moved+"/rsvp", ana.Token, nil), http.StatusOK)
	want(t, s.do(t, "POST", "/v1/events/"+dropped+"/rsvp", bob.Token, nil), http.StatusOK)
	want(t, s.do(t, "POST", "/v1/events/"+dropped+"/rsvp", ana.Token, nil), http.StatusOK) // waitlisted

	var cal struct{ URL, WebcalURL string }
	want(t, s.do(t, "POST", "/v1/me/feeds/calendar", ana.Token, nil), http.StatusCreated).Decode(t, &cal)
	if !strings.HasPrefix(cal.WebcalURL, "webcal://") || !strings.HasSuffix(cal.URL, ".ics") {
		t.Fatalf("calendar feed = %+v, want an .ics URL and its webcal:// twin", cal)
	}
	r := want(t, s.do(t, "GET", pathOf(t, cal.URL), "", nil), http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/calendar") {
		t.Errorf("content type = %q", ct)
	}
	if e := vevent(t, string(r.Body), moved); !strings.Contains(e, "SEQUENCE:0") || !strings.Contains(e, "STATUS:CONFIRMED") {
		t.Errorf("going event = %q", e)
	}
	if e := vevent(t, string(r.Body), dropped); !strings.Contains(e, "STATUS:TENTATIVE") {
		t.Errorf("waitlisted event = %q, want TENTATIVE", e)
	}

	// The manager moves one and cancels the other: the calendar follows.
	start := time.Now().Add(96 * time.Hour).UTC().Truncate(time.Second)
	want(t, s.do(t, "PATCH", "/v1/events/"+moved, m.Token, map[string]any{"startsAt": start.Format(time.RFC3339), "endsAt": start.Add(time.Hour).Format(time.RFC3339)}), http.StatusOK)
	want(t, s.do(t, "POST", "/v1/events/"+dropped+"/cancel", m.Token, map[string]any{"reason": "flood"}), http.StatusOK)
	body := string(want(t, s.do(t, "GET", pathOf(t, cal.URL), "", nil), http.StatusOK).Body)
	if e := vevent(t, body, moved); !strings.Contains(e, "SEQUENCE:1") || !strings.Contains(e, "DTSTART:"+start.Format("20060102T150405Z")) {
		t.Errorf("moved event = %q, want SEQUENCE:1 and the new start", e)
	}
	if e := vevent(t, body, dropped); !strings.Contains(e, "STATUS:CANCELLED") || !strings.Contains(e, "SEQUENCE:1") {
		t.Errorf("cancelled event = %q, want CANCELLED, SEQUENCE:1", e)
	}

	// Renewing kills the old URL; revoking kills the new one.
	var renewed struct{ URL string }
	want(t, s.do(t, "POST", "/v1/me/feeds/calendar", ana.Token, nil), http.StatusCreated).Decode(t, &renewed)
	problemOf(t, s.do(t, "GET", pathOf(t, cal.URL), "", nil), http.StatusNotFound)
	want(t, s.do(t, "GET", pathOf(t, renewed.URL), "", nil), http.StatusOK)
	want(t, s.do(t, "DELETE", "/v1/me/feeds/calendar", ana.Token, nil), http.StatusNoContent)
	want(t, s.do(t, "DELETE", "/v1/me/feeds/calendar", ana.Token, nil), http.StatusNoContent)
	problemOf(t, s.do(t, "GET", pathOf(t, renewed.URL), "", nil), http.StatusNotFound)
	problemOf(t, s.do(t, "GET", "/feeds/not-a-secret.ics", "", nil), http.StatusNotFound)

	// The widget: first name, points, next events; no ids, no tokens.
	var w struct{ URL, JSONURL string }
	want(t, s.do(t, "POST", "/v1/me/feeds/widget", ana.Token, nil), http.StatusCreated).Decode(t, &w)
	s.recordActivity(t, admin, ana.ID, "checkin", "checkin:e2e:"+ana.ID, time.Time{})
	jr := want(t, s.do(t, "GET", pathOf(t, w.JSONURL), "", nil), http.StatusOK)
	var f struct {
		FirstName string
		Points    int
		Events    []struct{ Title, Status string }
	}
	jr.Decode(t, &f)
	if f.FirstName != "Ana" || f.Points != 50 || len(f.Events) != 2 || f.Events[0].Status != "cancelled" || f.Events[1].Status != "going" {
		t.Errorf("widget feed = %+v, want Ana, 50 points, the cancelled then the moved event", f)
	}
	for _, leak := range []string{ana.ID, ana.Email, "Martin", ana.Token, "ticket"} {
		if strings.Contains(string(jr.Body), leak) {
			t.Errorf("widget feed contains %q: %s", leak, jr.Body)
		}
	}
	page := want(t, s.doHeaders(t, "GET", pathOf(t, w.URL), "", nil, map[string]string{"Accept-Language": "fr"}), http.StatusOK)
	html := string(page.Body)
	if !strings.Contains(html, "Bonjour Ana") || !strings.Contains(html, "Moved &lt;night&gt;") || strings.Contains(html, "<night>") {
		t.Errorf("widget page:\n%s", html)
	}
	if csp := page.Header.Get("Content-Security-Policy"); !regexp.MustCompile(`style-src 'sha256-[A-Za-z0-9+/=]+'`).MatchString(csp) {
		t.Errorf("widget CSP = %q, want a style hash", csp)
	}
	// A widget secret opens no calendar; revoking closes both of its URLs.
	secret := strings.TrimPrefix(pathOf(t, w.URL), "/widgets/")
	problemOf(t, s.do(t, "GET", "/feeds/"+secret+".ics", "", nil), http.StatusNotFound)
	want(t, s.do(t, "DELETE", "/v1/me/feeds/widget", ana.Token, nil), http.StatusNoContent)
	problemOf(t, s.do(t, "GET", pathOf(t, w.URL), "", nil), http.StatusNotFound)
	problemOf(t, s.do(t, "GET", pathOf(t, w.JSONURL), "", nil), http.StatusNotFound)
}
