package test

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
)

// eventBody is a valid new event starting in `in`, lasting two hours.
func eventBody(title string, in time.Duration, capacity int) map[string]any {
	start := time.Now().Add(in)
	return map[string]any{
		"title": title, "description": "Bring your questions", "category": "workshop",
		"startsAt": start.Format(time.RFC3339Nano), "endsAt": start.Add(2 * time.Hour).Format(time.RFC3339Nano), "capacity": capacity,
	}
}

// soon is how far ahead an event is scheduled when the test starts it
// itself (startNow): time enough for any setup on a busy machine, and
// within the 30 minutes before the start when check-in is open.
const soon = 10 * time.Minute

// startNow moves an event's start to a second from now, once the test has
// done what must happen before it; the end stays. It does not race the
// machine's speed: a start already past when the server reads it is
// refused (422) and simply asked for again.
func (s *server) startNow(t testing.TB, token, eventID string) {
	t.Helper()
	for tries := 1; ; tries++ {
		at := time.Now().Add(time.Second).Format(time.RFC3339Nano)
		r := s.do(t, "PATCH", "/v1/events/"+eventID, token, map[string]any{"startsAt": at})
		if r.Status == http.StatusOK {
			return
		}
		if r.Status != http.StatusUnprocessableEntity || tries == 20 {
			t.Fatalf("moving the start of %s to %s = %d %s, want 200", eventID, at, r.Status, r.Body)
		}
	}
}

type rsvp struct {
	Status     string
	Position   int
	TicketCode string
}

// registerMany signs up n customers, a few at a time.
func (s *server) registerMany(t *testing.T, n int, prefix string) []user {
	t.Helper()
	users := make([]user, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			users[i] = s.register(inGoroutine{t}, fmt.Sprintf("%s%d", prefix, i))
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return users
}

// rsvpAll has every user answer at once, through the given servers in turn.
func rsvpAll(t *testing.T, servers []*server, users []user, eventID string) []rsvp {
	t.Helper()
	out := make([]rsvp, len(users))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			s := servers[i%len(servers)]
			gt := inGoroutine{t}
			want(gt, s.do(gt, "POST", "/v1/events/"+eventID+"/rsvp", u.Token, nil), http.StatusOK).Decode(gt, &out[i])
		}()
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return out
}

// checkSeats asserts exactly capacity going and the rest waitlisted 1..n.
func checkSeats(t *testing.T, got []rsvp, capacity int) {
	t.Helper()
	going := 0
	var positions []int
	for _, r := range got {
		switch r.Status {
		case "going":
			going++
		case "waitlisted":
			positions = append(positions, r.Position)
		default:
			t.Errorf("status %q, want going or waitlisted", r.Status)
		}
	}
	slices.Sort(positions)
	wantPos := make([]int, len(got)-capacity)
	for i := range wantPos {
		wantPos[i] = i + 1
	}
	if going != capacity || !slices.Equal(positions, wantPos) {
		t.Errorf("going = %d, waitlist positions = %v; want %d going and positions 1..%d", going, positions, capacity, len(got)-capacity)
	}
}

func TestEventsRSVPConcurrent(t *testing.T) {
	t.Parallel()
	s := startServer(t, rsvpRush)
	admin := s.admin(t)
	shop := s.createShop(t, admin.Token, "Rush", paris)
	ev := want(t, s.do(t, "POST", "/v1/shops/"+shop+"/events", admin.Token, eventBody("Launch", 24*time.Hour, 50)), http.StatusCreated).JSON(t)
	users := s.registerMany(t, 200, "fan")
	got := rsvpAll(t, []*server{s}, users, ev["id"].(string))
	checkSeats(t, got, 50)
	e := want(t, s.do(t, "GET", "/v1/events/"+ev["id"].(string), users[0].Token, nil), http.StatusOK).JSON(t)
	if e["going"] != 50.0 || e["waitlisted"] != 150.0 {
		t.Errorf("event seats = %v going, %v waitlisted; want 50 and 150", e["going"], e["waitlisted"])
	}
}

func TestEventsRSVPTwoInstances(t *testing.T) {
	t.Parallel()
	s1 := startServer(t, rsvpRush)
	s2 := startServer(t, withEnv(rsvpRush, "MONGO_URI", s1.MongoURI))
	admin := s1.admin(t)
	shop := s1.createShop(t, admin.Token, "Twin", paris)
	ev := want(t, s1.do(t, "POST", "/v1/shops/"+shop+"/events", admin.Token, eventBody("Barcamp", 24*time.Hour, 50)), http.StatusCreated).JSON(t)
	id := ev["id"].(string)
	users := s1.registerMany(t, 200, "twin")
	got := rsvpAll(t, []*server{s1, s2}, users, id)
	checkSeats(t, got, 50)

	// The second instance's nearby search picks up the first one's event.
	deadline := time.Now().Add(15 * time.Second)
	for {
		near := want(t, s2.do(t, "GET", fmt.Sprintf("/v1/nearby?lat=%v&lng=%v", paris[0], paris[1]), users[0].Token, nil), http.StatusOK).JSON(t)
		found := slices.ContainsFunc(near["items"].([]any), func(it any) bool { return it.(map[string]any)["id"] == id })
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("event %s never showed up in the second instance's nearby search: %v", id, near)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestEventsLifecycle(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	admin := s.admin(t)
	at := offset(paris, 0, 300)
	shop := s.createShop(t, admin.Token, "Atelier", at)
	m := s.managerOf(t, admin, shop, "Manon")

	// Validation names every bad field.
	p := problemOf(t, s.do(t, "POST", "/v1/shops/"+shop+"/events", m.Token, map[string]any{
		"title": "", "category": "rave", "startsAt": time.Now().Add(-time.Hour).Format(time.RFC3339),
		"endsAt": "2000-01-01T00:00:00Z", "capacity": 0,
	}), http.StatusUnprocessableEntity)
	if got := fields(p); !slices.Equal(got, []string{"capacity", "category"}) { // the schema's enum and bounds first
		t.Errorf("fields = %v", got)
	}
	p = problemOf(t, s.do(t, "POST", "/v1/shops/"+shop+"/events", m.Token, map[string]any{
		"title": "", "category": "meetup", "startsAt": time.Now().Add(-time.Hour).Format(time.RFC3339),
		"endsAt": "2000-01-01T00:00:00Z", "capacity": 5,
	}), http.StatusUnprocessableEntity)
	if got := fields(p); !slices.Equal(got, []string{"title", "startsAt", "endsAt"}) {
		t.Errorf("fields = %v", got)
	}
	p = problemOf(t, s.do(t, "POST", "/v1/shops/"+shop+"/events", m.Token, map[string]any{"endsAt": "tomorrow", "capacity": "ten"}), http.StatusUnprocessableEntity)
	if got := fields(p); !slices.Equal(got, []string{"capacity", "endsAt"}) {
		t.Errorf("fields = %v, want capacity, endsAt (the schema's type and format)", got)
	}
	p = problemOf(t, s.do(t, "POST", "/v1/shops/"+shop+"/events", m.Token, map[string]any{"endsAt": "tomorrow"}), http.StatusUnprocessableEntity)
	if got := fields(p); !slices.Equal(got, []string{"endsAt"}) {
		t.Errorf("fields = %v, want endsAt", got)
	}
	start := time.Now().Add(48 * time.Hour)
	p = problemOf(t, s.do(t, "POST", "/v1/shops/"+shop+"/events", m.Token, map[string]any{
		"title": "x", "category": "launch", "startsAt": start.Format(time.RFC3339), "endsAt": start.Add(-time.Minute).Format(time.RFC3339), "capacity": 3,
	}), http.StatusUnprocessableEntity)
	if got := fields(p); !slices.Equal(got, []string{"endsAt"}) {
		t.Errorf("fields = %v, want endsAt", got)
	}

	ev := want(t, s.do(t, "POST", "/v1/shops/"+shop+"/events", m.Token, eventBody("Repair café", 48*time.Hour, 2)), http.StatusCreated).JSON(t)
	id := ev["id"].(string)
	if loc := ev["location"].(map[string]any); loc["lat"] != at[0] || loc["lng"] != at[1] || loc["cell"] == "" {
		t.Errorf("event location = %v, want the shop's %v with a cell", loc, at)
	}
	a, b, c := s.register(t, "Ana"), s.register(t, "Ben"), s.register(t, "Cleo")
	want(t, s.do(t, "PATCH", "/v1/me", a.Token, map[string]any{"showInAttendeeLists": true}), http.StatusOK)

	var ra, ra2, rb, rc rsvp
	want(t, s.do(t, "POST", "/v1/events/"+id+"/rsvp", a.Token, nil), http.StatusOK).Decode(t, &ra)
	want(t, s.do(t, "POST", "/v1/events/"+id+"/rsvp", a.Token, nil), http.StatusOK).Decode(t, &ra2)
	if ra.Status != "going" || ra != ra2 || ra.TicketCode == "" {
		t.Errorf("RSVP twice = %+v then %+v, want the same going RSVP with a ticket", ra, ra2)
	}
	want(t, s.do(t, "POST", "/v1/events/"+id+"/rsvp", b.Token, nil), http.StatusOK).Decode(t, &rb)
	want(t, s.do(t, "POST", "/v1/events/"+id+"/rsvp", c.Token, nil), http.StatusOK).Decode(t, &rc)
	if rb.Status != "going" || rc.Status != "waitlisted" || rc.Position != 1 {
		t.Errorf("Ben %+v, Cleo %+v; want going, and waitlisted at 1", rb, rc)
	}

	// Who else is going.
	var seen []map[string]any
	want(t, s.do(t, "GET", "/v1/events/"+id+"/attendees", b.Token, nil), http.StatusOK).Decode(t, &seen)
	if len(seen) != 1 || seen[0]["displayName"] != "Ana" || seen[0]["userId"] != nil {
		t.Errorf("Ben sees %v, want only Ana's name", seen)
	}
	want(t, s.do(t, "GET", "/v1/events/"+id+"/attendees", a.Token, nil), http.StatusOK).Decode(t, &seen)
	if len(seen) != 0 {
		t.Errorf("Ana sees %v, want nobody (Ben is not shown)", seen)
	}
	problemOf(t, s.do(t, "GET", "/v1/events/"+id+"/attendees", c.Token, nil), http.StatusForbidden)
	want(t, s.do(t, "GET", "/v1/events/"+id+"/attendees", m.Token, nil), http.StatusOK).Decode(t, &seen)
	if len(seen) != 3 || seen[2]["status"] != "waitlisted" || seen[2]["userId"] != c.ID {
		t.Errorf("manager sees %v, want all three, Cleo waitlisted", seen)
	}

	// Ben withdraws: Cleo takes the seat.
	want(t, s.do(t, "DELETE", "/v1/events/"+id+"/rsvp", b.Token, nil), http.StatusNoContent)
	problemOf(t, s.do(t, "DELETE", "/v1/events/"+id+"/rsvp", b.Token, nil), http.StatusNotFound)
	want(t, s.do(t, "GET", "/v1/events/"+id+"/rsvp", c.Token, nil), http.StatusOK).Decode(t, &rc)
	if rc.Status != "going" {
		t.Errorf("Cleo after Ben left = %+v, want going", rc)
	}
	want(t, s.do(t, "POST", "/v1/events/"+id+"/rsvp", b.Token, nil), http.StatusOK).Decode(t, &rb)
	if rb.Status != "waitlisted" || rb.Position != 1 {
		t.Errorf("Ben again = %+v, want waitlisted at 1", rb)
	}

	// Check-in is not open two days before.
	problemOf(t, s.do(t, "POST", "/v1/events/"+id+"/checkin", a.Token, map[string]any{"lat": at[0], "lng": at[1]}), http.StatusConflict)
	problemOf(t, s.do(t, "POST", "/v1/events/"+id+"/checkin", a.Token, map[string]any{"lat": 200, "lng": at[1]}), http.StatusUnprocessableEntity)

	// Changing the capacity below those going is refused; raising it seats Ben.
	problemOf(t, s.do(t, "PATCH", "/v1/events/"+id, m.Token, map[string]any{"capacity": 1}), http.StatusConflict)
	want(t, s.do(t, "PATCH", "/v1/events/"+id, m.Token, map[string]any{"capacity": 3, "title": "Repair café XL"}), http.StatusOK)
	want(t, s.do(t, "GET", "/v1/events/"+id+"/rsvp", b.Token, nil), http.StatusOK).Decode(t, &rb)
	if rb.Status != "going" {
		t.Errorf("Ben after capacity 3 = %+v, want going", rb)
	}

	// Cancellation: readable, marked, and closed to RSVPs.
	problemOf(t, s.do(t, "POST", "/v1/events/"+id+"/cancel", m.Token, map[string]any{"reason": ""}), http.StatusUnprocessableEntity)
	got := want(t, s.do(t, "POST", "/v1/events/"+id+"/cancel", m.Token, map[string]any{"reason": "Flooded workshop"}), http.StatusOK).JSON(t)
	if got["status"] != "cancelled" || got["cancelReason"] != "Flooded workshop" {
		t.Errorf("cancelled event = %v", got)
	}
	p = problemOf(t, s.do(t, "POST", "/v1/events/"+id+"/rsvp", s.register(t, "Late").Token, nil), http.StatusConflict)
	if !strings.Contains(p["detail"].(string), "cancelled") {
		t.Errorf("RSVP to a cancelled event: %v, want a reason", p)
	}
	problemOf(t, s.do(t, "PATCH", "/v1/events/"+id, m.Token, map[string]any{"title": "back"}), http.StatusConflict)

	// A closed waitlist.
	closed := eventBody("Tiny", 48*time.Hour, 1)
	closed["maxWaitlist"] = 0
	cid := want(t, s.do(t, "POST", "/v1/shops/"+shop+"/events", m.Token, closed), http.StatusCreated).JSON(t)["id"].(string)
	want(t, s.do(t, "POST", "/v1/events/"+cid+"/rsvp", a.Token, nil), http.StatusOK)
	p = problemOf(t, s.do(t, "POST", "/v1/events/"+cid+"/rsvp", b.Token, nil), http.StatusConflict)
	if !strings.Contains(p["detail"].(string), "full") {
		t.Errorf("RSVP to a full, closed event: %v, want a reason", p)
	}
	problemOf(t, s.do(t, "POST", "/v1/events/nope/rsvp", b.Token, nil), http.StatusNotFound)
}

func TestEventsCheckInAndFeedback(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	admin := s.admin(t)
	at := offset(paris, 1000, 0)
	shop := s.createShop(t, admin.Token, "Boutique", at)
	m := s.managerOf(t, admin, shop, "Max")
	other := s.managerOf(t, admin, s.createShop(t, admin.Token, "Elsewhere", paris), "Olga")
	// Starts soon: check-in is already open (30 minutes before); the test
	// moves the start to now once the seats are taken (startNow).
	ev := want(t, s.do(t, "POST", "/v1/shops/"+shop+"/events", m.Token, eventBody("Launch night", soon, 5)), http.StatusCreated).JSON(t)
	id := ev["id"].(string)
	a, b, c := s.register(t, "Ana"), s.register(t, "Ben"), s.register(t, "Cy")
	var ra, rb rsvp
	want(t, s.do(t, "POST", "/v1/events/"+id+"/rsvp", a.Token, nil), http.StatusOK).Decode(t, &ra)
	want(t, s.do(t, "POST", "/v1/events/"+id+"/rsvp", b.Token, nil), http.StatusOK).Decode(t, &rb)

	far := offset(at, 160, 0)
	p := problemOf(t, s.do(t, "POST", "/v1/events/"+id+"/checkin", a.Token, map[string]any{"lat": far[0], "lng": far[1]}), http.StatusConflict)
	if !strings.Contains(p["detail"].(string), "150 m") {
		t.Errorf("check-in 160 m away: %v", p)
	}
	near := offset(at, 140, 0)
	want(t, s.do(t, "POST", "/v1/events/"+id+"/checkin", a.Token, map[string]any{"lat": near[0], "lng": near[1]}), http.StatusCreated)
	problemOf(t, s.do(t, "POST", "/v1/events/"+id+"/checkin", a.Token, map[string]any{"lat": near[0], "lng": near[1]}), http.StatusConflict)
	problemOf(t, s.do(t, "POST", "/v1/events/"+id+"/checkin", c.Token, map[string]any{"lat": at[0], "lng": at[1]}), http.StatusConflict)
	problemOf(t, s.do(t, "POST", "/v1/events/"+id+"/checkin", c.Token, map[string]any{"lat": at[0]}), http.StatusUnprocessableEntity)

	// Ticket scan by the shop's manager only.
	problemOf(t, s.do(t, "POST", "/v1/events/"+id+"/checkins", other.Token, map[string]any{"ticketCode": rb.TicketCode}), http.StatusForbidden)
	problemOf(t, s.do(t, "POST", "/v1/events/"+id+"/checkins", b.Token, map[string]any{"ticketCode": rb.TicketCode}), http.StatusForbidden)
	problemOf(t, s.do(t, "POST", "/v1/events/"+id+"/checkins", m.Token, map[string]any{"ticketCode": "wrong"}), http.StatusNotFound)
	ci := want(t, s.do(t, "POST", "/v1/events/"+id+"/checkins", m.Token, map[string]any{"ticketCode": rb.TicketCode}), http.StatusCreated).JSON(t)
	if ci["userId"] != b.ID || ci["method"] != "ticket" {
		t.Errorf("ticket check-in = %v, want Ben by ticket", ci)
	}
	problemOf(t, s.do(t, "POST", "/v1/events/"+id+"/checkins", m.Token, map[string]any{"ticketCode": rb.TicketCode}), http.StatusConflict)

	// Feedback opens at the start; wait for it rather than assume a clock.
	s.startNow(t, m.Token, id)
	problemOf(t, s.do(t, "POST", "/v1/events/"+id+"/feedback", a.Token, map[string]any{"rating": 6}), http.StatusUnprocessableEntity)
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := s.do(t, "POST", "/v1/events/"+id+"/feedback", a.Token, map[string]any{"rating": 5, "comment": "Lovely"})
		if r.Status == http.StatusOK {
			break
		}
		if r.Status != http.StatusConflict || time.Now().After(deadline) {
			t.Fatalf("feedback = %d %s, want 409 until the start then 200", r.Status, r.Body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	fb := want(t, s.do(t, "POST", "/v1/events/"+id+"/feedback", a.Token, map[string]any{"rating": 2, "comment": "Actually, too loud"}), http.StatusOK).JSON(t)
	if fb["needsAttention"] != true {
		t.Errorf("rating 2 = %v, want needsAttention", fb)
	}
	want(t, s.do(t, "POST", "/v1/events/"+id+"/feedback", b.Token, map[string]any{"rating": 4}), http.StatusOK)
	problemOf(t, s.do(t, "POST", "/v1/events/"+id+"/feedback", c.Token, map[string]any{"rating": 4}), http.StatusForbidden)
	var list []map[string]any
	want(t, s.do(t, "GET", "/v1/events/"+id+"/feedback", m.Token, nil), http.StatusOK).Decode(t, &list)
	if len(list) != 2 || list[0]["rating"] != 2.0 || list[0]["comment"] != "Actually, too loud" || list[0]["needsAttention"] != true {
		t.Errorf("feedback list = %v, want Ana's replaced rating 2 first, then Ben's", list)
	}
	problemOf(t, s.do(t, "GET", "/v1/events/"+id+"/feedback", other.Token, nil), http.StatusForbidden)
	// The event has started: no more RSVPs.
	p = problemOf(t, s.do(t, "POST", "/v1/events/"+id+"/rsvp", c.Token, nil), http.StatusConflict)
	if !strings.Contains(p["detail"].(string), "started") {
		t.Errorf("RSVP after the start: %v", p)
	}
}

func TestEventsFeeds(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	admin := s.admin(t)
	shop := s.createShop(t, admin.Token, "Café; Atelier, Paris", paris)
	long := strings.Repeat("Atelier réparation vélo — ", 8)
	e1 := want(t, s.do(t, "POST", "/v1/shops/"+shop+"/events", admin.Token, map[string]any{
		"title": "<script>alert(1)</script>", "description": long + "\nline two; with, commas\\", "category": "workshop",
		"startsAt": "2099-06-01T18:30:00+02:00", "endsAt": "2099-06-01T20:00:00+02:00", "capacity": 12,
	}), http.StatusCreated).JSON(t)
	e2 := want(t, s.do(t, "POST", "/v1/shops/"+shop+"/events", admin.Token, eventBody("Soirée", 72*time.Hour, 5)), http.StatusCreated).JSON(t)
	want(t, s.do(t, "POST", "/v1/events/"+e2["id"].(string)+"/cancel", admin.Token, map[string]any{"reason": "Storm"}), http.StatusOK)

	// iCalendar, parsed by a real library.
	for _, path := range []string{"/feeds/shops/" + shop + "/events.ics", "/v1/events/" + e1["id"].(string) + ".ics"} {
		r := want(t, s.do(t, "GET", path, "", nil), http.StatusOK)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/calendar") {
			t.Errorf("%s Content-Type = %q", path, ct)
		}
		for i, line := range bytes.Split(bytes.TrimSuffix(r.Body, []byte("\r\n")), []byte("\r\n")) {
			if len(line) > 75 || bytes.ContainsRune(line, '\n') {
				t.Errorf("%s line %d is %d octets or has a bare LF: %q", path, i, len(line), line)
			}
		}
		cal, err := ics.ParseCalendar(bytes.NewReader(r.Body))
		if err != nil {
			t.Fatalf("%s: parse: %v\n%s", path, err, r.Body)
		}
		for _, ev := range cal.Events() {
			if ev.Id() == e1["id"].(string)+"@hyperlieu" {
				if got := ev.GetProperty(ics.ComponentPropertySummary).Value; got != "<script>alert(1)</script>" {
					t.Errorf("SUMMARY = %q", got)
				}
				desc := ev.GetProperty(ics.ComponentPropertyDescription).Value
				if want := long + "\nline two; with, commas\\"; icsUnescape(desc) != want {
					t.Errorf("DESCRIPTION = %q, want %q", icsUnescape(desc), want)
				}
				start, err := ev.GetStartAt()
				if err != nil || !start.Equal(time.Date(2099, 6, 1, 16, 30, 0, 0, time.UTC)) {
					t.Errorf("DTSTART = %v, %v; want 2099-06-01 16:30 UTC", start, err)
				}
			}
			if ev.Id() == e2["id"].(string)+"@hyperlieu" {
				if got := ev.GetProperty(ics.ComponentPropertyStatus).Value; got != "CANCELLED" {
					t.Errorf("cancelled event STATUS = %q", got)
				}
			}
		}
		if n := len(cal.Events()); (strings.HasPrefix(path, "/feeds") && n != 2) || (!strings.HasPrefix(path, "/feeds") && n != 1) {
			t.Errorf("%s has %d events", path, n)
		}
	}

	// JSON feed: public, CORS, ETag, 304.
	r := want(t, s.do(t, "GET", "/feeds/shops/"+shop+"/events.json", "", nil), http.StatusOK)
	etag := r.Header.Get("ETag")
	if r.Header.Get("Access-Control-Allow-Origin") != "*" || etag == "" || !strings.Contains(r.Header.Get("Cache-Control"), "max-age") {
		t.Errorf("JSON feed headers = %v", r.Header)
	}
	var feed struct {
		Items []struct {
			ID, Title string
		}
	}
	r.Decode(t, &feed)
	if len(feed.Items) != 2 || feed.Items[1].Title != "<script>alert(1)</script>" {
		t.Errorf("JSON feed items = %+v", feed.Items)
	}
	r = s.doHeaders(t, "GET", "/feeds/shops/"+shop+"/events.json", "", nil, map[string]string{"If-None-Match": etag})
	if r.Status != http.StatusNotModified || len(r.Body) != 0 {
		t.Errorf("If-None-Match = %d %q, want 304 and no body", r.Status, r.Body)
	}
	problemOf(t, s.do(t, "GET", "/feeds/shops/nope/events.json", "", nil), http.StatusNotFound)

	// Widget: escaped, self-contained, dates in the shop's zone and the viewer's language.
	r = want(t, s.do(t, "GET", "/widgets/shops/"+shop+"/events?lang=fr", "", nil), http.StatusOK)
	html := string(r.Body)
	if strings.Contains(html, "<script>") || !strings.Contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("widget does not escape the title:\n%s", html)
	}
	if !strings.Contains(html, "lundi 1 juin, 18:30") || !strings.Contains(html, "Annulé") {
		t.Errorf("widget lacks the French date in Paris time or the cancelled label:\n%s", html)
	}
	if strings.Contains(html, "src=") || strings.Contains(html, "http://") || strings.Contains(html, "https://") {
		t.Errorf("widget loads something external:\n%s", html)
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("widget CSP = %q", csp)
	}
	en := string(want(t, s.do(t, "GET", "/widgets/shops/"+shop+"/events?lang=en", "", nil), http.StatusOK).Body)
	if !strings.Contains(en, "Monday 1 June, 18:30") {
		t.Errorf("English widget lacks the date:\n%s", en)
	}

	// Every new route is in the OpenAPI document.
	doc := want(t, s.do(t, "GET", "/openapi.json", "", nil), http.StatusOK).JSON(t)
	paths := doc["paths"].(map[string]any)
	for _, p := range []string{"/v1/shops", "/v1/shops/{id}/events", "/v1/events/{id}/rsvp", "/v1/nearby", "/v1/events/{id}.ics",
		"/feeds/shops/{id}/events.json", "/widgets/shops/{id}/events", "/v1/events/{id}/checkins"} {
		if paths[p] == nil {
			t.Errorf("OpenAPI lacks %s", p)
		}
	}
}

// icsUnescape undoes TEXT escaping (the library leaves values escaped).
func icsUnescape(s string) string {
	return strings.NewReplacer(`\\`, `\`, `\;`, `;`, `\,`, `,`, `\n`, "\n", `\N`, "\n").Replace(s)
}

// rsvpRush is the environment of the 200-RSVP tests: the point is that no
// seat is oversold, not how fast 200 simultaneous requests queue on the
// embedded database's one connection, so a busy CI machine must not turn
// the wait into 503s.
var rsvpRush = map[string]string{"HYPERLIEU_REQUEST_TIMEOUT": "3m"}

// withEnv returns a copy of env with k set to v.
func withEnv(env map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for ek, ev := range env {
		if ek != k {
			out[ek] = ev
		}
	}
	return out
}
