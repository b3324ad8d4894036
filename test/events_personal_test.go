package test

import (
	"net/http"
	"slices"

	"testing"
	"time"
)

// TestEventsExportAndErase: a customer RSVPs, checks in and rates an event,
// holds a seat at a later one with someone waiting behind; then exports and
// erases. Nothing names her afterwards, the later seat goes to the next in
// line, the past seat and her rating stay without her. Then the manager who
// ran it all erases too.
func TestEventsExportAndErase(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	admin := s.admin(t)
	at := offset(paris, -2000, 500)
	shop := s.createShop(t, admin.Token, "Atelier", at)
	m := s.managerOf(t, admin, shop, "Mona")
	ana, ben, cy := s.register(t, "Ana"), s.register(t, "Ben"), s.register(t, "Cy")

	// Now: starts soon, check-in already open; started (startNow) once
	// Ana and Ben have checked in.
	now := want(t, s.do(t, "POST", "/v1/shops/"+shop+"/events", m.Token, eventBody("Now", soon, 5)), http.StatusCreated).JSON(t)["id"].(string)
	// Later: one seat, Ana holds it and Cy waits.
	later := want(t, s.do(t, "POST", "/v1/shops/"+shop+"/events", m.Token, eventBody("Later", 48*time.Hour, 1)), http.StatusCreated).JSON(t)["id"].(string)
	var anaNow, benNow, anaLater, cyLater rsvp
	want(t, s.do(t, "POST", "/v1/events/"+now+"/rsvp", ana.Token, nil), http.StatusOK).Decode(t, &anaNow)
	want(t, s.do(t, "POST", "/v1/events/"+now+"/rsvp", ben.Token, nil), http.StatusOK).Decode(t, &benNow)
	want(t, s.do(t, "POST", "/v1/events/"+later+"/rsvp", ana.Token, nil), http.StatusOK).Decode(t, &anaLater)
	want(t, s.do(t, "POST", "/v1/events/"+later+"/rsvp", cy.Token, nil), http.StatusOK).Decode(t, &cyLater)
	if anaLater.Status != "going" || cyLater.Status != "waitlisted" {
		t.Fatalf("later: Ana %+v, Cy %+v; want going and waitlisted", anaLater, cyLater)
	}
	want(t, s.do(t, "POST", "/v1/events/"+now+"/checkin", ana.Token, map[string]any{"lat": at[0], "lng": at[1]}), http.StatusCreated)
	want(t, s.do(t, "POST", "/v1/events/"+now+"/checkins", m.Token, map[string]any{"ticketCode": benNow.TicketCode}), http.StatusCreated)
	rate := func(u user, rating int, comment string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			r := s.do(t, "POST", "/v1/events/"+now+"/feedback", u.Token, map[string]any{"rating": rating, "comment": comment})
			if r.Status == http.StatusOK {
				return
			}
			if r.Status != http.StatusConflict || time.Now().After(deadline) {
				t.Fatalf("feedback = %d %s, want 409 until the start then 200", r.Status, r.Body)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	s.startNow(t, m.Token, now)
	rate(ana, 2, "Ana says: too loud")
	rate(ben, 4, "")

	// Export: her part of the events area, ticket codes included, in lowerCamel.
	doc := want(t, s.do(t, "GET", "/v1/me/export", ana.Token, nil), http.StatusOK).JSON(t)
	for section, n := range map[string]int{"rsvps": 2, "queuePositions": 2, "checkIns": 1, "eventFeedback": 1, "eventsCreated": 0, "shopsManaged": 0} {
		if got, ok := doc[section].([]any); !ok || len(got) != n {
			t.Errorf("export[%q] = %v, want %d entries", section, doc[section], n)
		}
	}
	var statuses []string
	for _, r := range doc["rsvps"].([]any) {
		r := r.(map[string]any)
		statuses = append(statuses, r["status"].(string))
		if r["ticketCode"] != anaNow.TicketCode && r["ticketCode"] != anaLater.TicketCode {
			t.Errorf("exported rsvp %v lacks her ticket code", r)
		}
	}
	if slices.Sort(statuses); !slices.Equal(statuses, []string{"going", "going"}) {
		t.Errorf("exported rsvp statuses = %v, want going twice", statuses)
	}
	if fb := doc["eventFeedback"].([]any)[0].(map[string]any); fb["rating"] != 2.0 || fb["comment"] != "Ana says: too loud" {
		t.Errorf("exported feedback = %v", fb)
	}
	if where := findInDatabase(t, s.MongoURI, ana.ID); !containsAll(where, "rsvps", "event_queue", "checkins", "feedback") {
		t.Fatalf("before erasure %s is found in %v only", ana.ID, where)
	}

	want(t, s.do(t, "DELETE", "/v1/me", ana.Token, nil), http.StatusNoContent)
	// Her token died with her sessions: a second erase cannot come from her
	// (erasing twice is tested on the use case, TestEraseUser).
	problemOf(t, s.do(t, "DELETE", "/v1/me", ana.Token, nil), http.StatusUnauthorized)
	for _, needle := range []string{ana.ID, ana.Email, anaNow.TicketCode, anaLater.TicketCode, "Ana says"} {
		if where := findInDatabase(t, s.MongoURI, needle); len(where) > 0 {
			t.Errorf("%q still stored in %v", needle, where)
		}
	}
	// Her seat at the later event went to Cy; her seat at the started one stays, anonymous.
	var st rsvp
	want(t, s.do(t, "GET", "/v1/events/"+later+"/rsvp", cy.Token, nil), http.StatusOK).Decode(t, &st)
	if st.Status != "going" {
		t.Errorf("Cy after Ana's erasure = %+v, want going", st)
	}
	seats := func(id string) (going, waiting float64) {
		e := want(t, s.do(t, "GET", "/v1/events/"+id, admin.Token, nil), http.StatusOK).JSON(t)
		return e["going"].(float64), e["waitlisted"].(float64)
	}
	if g, w := seats(later); g != 1 || w != 0 {
		t.Errorf("later: %v going, %v waitlisted; want 1 and 0", g, w)
	}
	if g, w := seats(now); g != 2 || w != 0 {
		t.Errorf("now: %v going, %v waitlisted; want 2 (Ana's seat kept, anonymous) and 0", g, w)
	}
	var fbs []map[string]any
	want(t, s.do(t, "GET", "/v1/events/"+now+"/feedback", m.Token, nil), http.StatusOK).Decode(t, &fbs)
	if len(fbs) != 2 || fbs[0]["rating"] != 2.0 || fbs[0]["userId"] != "" || fbs[0]["comment"] != "" || fbs[0]["needsAttention"] != true {
		t.Errorf("feedback after erasure = %v, want her rating 2 kept without her or her words, then Ben's", fbs)
	}
	var att []map[string]any
	want(t, s.do(t, "GET", "/v1/events/"+now+"/attendees", m.Token, nil), http.StatusOK).Decode(t, &att)
	if len(att) != 1 || att[0]["userId"] != ben.ID {
		t.Errorf("attendees after erasure = %v, want Ben only", att)
	}
	problemOf(t, s.do(t, "POST", "/v1/events/"+now+"/checkins", m.Token, map[string]any{"ticketCode": anaNow.TicketCode}), http.StatusNotFound)

	// The manager: events she scheduled, the shop she ran, the ticket she scanned.
	mdoc := want(t, s.do(t, "GET", "/v1/me/export", m.Token, nil), http.StatusOK).JSON(t)
	if got, _ := mdoc["eventsCreated"].([]any); len(got) != 2 {
		t.Errorf("manager's eventsCreated = %v, want 2", mdoc["eventsCreated"])
	}
	if got, _ := mdoc["shopsManaged"].([]any); len(got) != 1 {
		t.Errorf("manager's shopsManaged = %v, want 1", mdoc["shopsManaged"])
	}
	want(t, s.do(t, "DELETE", "/v1/me", m.Token, nil), http.StatusNoContent)
	if where := findInDatabase(t, s.MongoURI, m.ID); len(where) > 0 {
		t.Errorf("manager %s still stored in %v", m.ID, where)
	}
	sh := want(t, s.do(t, "GET", "/v1/shops/"+shop, admin.Token, nil), http.StatusOK).JSON(t)
	if ids, _ := sh["managerIds"].([]any); len(ids) != 0 {
		t.Errorf("shop managers after the manager's erasure = %v, want none", ids)
	}
	// Ben is untouched.
	var benSt rsvp
	want(t, s.do(t, "GET", "/v1/events/"+now+"/rsvp", ben.Token, nil), http.StatusOK).Decode(t, &benSt)
	if benSt.TicketCode != benNow.TicketCode {
		t.Errorf("Ben's RSVP after the others' erasure = %+v", benSt)
	}
}

func containsAll(have []string, want ...string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
