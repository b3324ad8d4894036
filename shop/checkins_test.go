package shop

import (
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/geo"
)

// TestCheckIn: from 30 minutes before the start to the end, within 150 m,
// for people going, once.
func TestCheckIn(t *testing.T) {
	start := t0.Add(time.Hour)
	end := start.Add(2 * time.Hour)
	tests := []struct {
		name string
		at   time.Time
		who  string
		from geo.Point
		prep func(f *fixture, e Event)
		want hyperlieu.Kind // Internal: accepted
	}{
		{"31 minutes before", start.Add(-CheckInOpensBefore - time.Second), "ana", shopAt, nil, hyperlieu.Conflict},
		{"30 minutes before", start.Add(-CheckInOpensBefore), "ana", shopAt, nil, hyperlieu.Internal},
		{"at the start", start, "ana", shopAt, nil, hyperlieu.Internal},
		{"at the end", end, "ana", shopAt, nil, hyperlieu.Internal},
		{"just after the end", end.Add(time.Nanosecond), "ana", shopAt, nil, hyperlieu.Conflict},
		{"149.99 m away", start, "ana", north(shopAt, 149.99), nil, hyperlieu.Internal},
		{"150.01 m away", start, "ana", north(shopAt, 150.01), nil, hyperlieu.Conflict},
		{"5 km away", start, "ana", north(shopAt, 5000), nil, hyperlieu.Conflict},
		{"bad point", start, "ana", geo.Point{Lat: 91, Lng: 0}, nil, hyperlieu.Invalid},
		{"waitlisted", start, "ben", shopAt, nil, hyperlieu.Conflict},
		{"no RSVP", start, "cy", shopAt, nil, hyperlieu.Conflict},
		{"withdrawn", start, "ana", shopAt, func(f *fixture, e Event) {
			f.clock.Set(t0)
			if err := f.events.CancelRSVP(ctx, "ana", e.ID); err != nil {
				t.Fatal(err)
			}
		}, hyperlieu.Conflict},
		{"cancelled event", start, "ana", shopAt, func(f *fixture, e Event) {
			f.clock.Set(t0)
			if _, err := f.events.CancelEvent(ctx, f.manager, e.ID, "flooded"); err != nil {
				t.Fatal(err)
			}
		}, hyperlieu.Conflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			e := f.event(time.Hour, 1)
			f.rsvp(e, "ana", "ben")
			f.addUser("cy")
			if tt.prep != nil {
				tt.prep(f, e)
			}
			f.clock.Set(tt.at)
			from := tt.from
			c, err := f.events.CheckIn(ctx, tt.who, e.ID, &from)
			if tt.want == hyperlieu.Internal {
				if err != nil {
					t.Fatalf("CheckIn(%s at %v, %.2f m) = %v, want accepted", tt.who, tt.at.Sub(start), geo.Distance(from, shopAt), err)
				}
				if c.UserID != tt.who || c.Method != "location" || !c.At.Equal(tt.at) {
					t.Errorf("CheckIn = %+v", c)
				}
				if _, err := f.events.CheckIn(ctx, tt.who, e.ID, &from); hyperlieu.KindOf(err) != hyperlieu.Conflict {
					t.Errorf("CheckIn twice = %v, want Conflict", err)
				}
				if !f.acts.has("checkin:" + e.ID + ":" + tt.who) {
					t.Errorf("check-in activity not recorded")
				}
				return
			}
			if hyperlieu.KindOf(err) != tt.want {
				t.Errorf("CheckIn(%s at %v, %.2f m) = %v, want %v", tt.who, tt.at.Sub(start), geo.Distance(from, shopAt), err, tt.want)
			}
			if f.acts.has("checkin:" + e.ID + ":" + tt.who) {
				t.Errorf("a refused check-in was recorded as an activity")
			}
		})
	}
}

// TestScanTicket: only the shop's managers scan, a ticket checks its holder in once.
func TestScanTicket(t *testing.T) {
	f := newFixture(t)
	e := f.event(time.Hour, 1)
	sts := f.rsvp(e, "ana", "ben")
	f.clock.Set(e.StartsAt)
	stranger := hyperlieu.Actor{UserID: "zed", Roles: []hyperlieu.Role{hyperlieu.RoleManager}}
	tests := []struct {
		name string
		by   hyperlieu.Actor
		code string
		want hyperlieu.Kind
	}{
		{"another shop's manager", stranger, sts[0].TicketCode, hyperlieu.Forbidden},
		{"the customer", hyperlieu.Actor{UserID: "ana"}, sts[0].TicketCode, hyperlieu.Forbidden},
		{"unknown code", f.manager, "nope", hyperlieu.NotFound},
		{"empty code", f.manager, " ", hyperlieu.Invalid},
		{"waitlisted holder", f.manager, sts[1].TicketCode, hyperlieu.Conflict},
		{"going holder", f.manager, sts[0].TicketCode, hyperlieu.Internal},
		{"again", f.manager, sts[0].TicketCode, hyperlieu.Conflict},
	}
	for _, tt := range tests {
		c, err := f.events.ScanTicket(ctx, tt.by, e.ID, tt.code)
		if hyperlieu.KindOf(err) != tt.want || (tt.want == hyperlieu.Internal && err != nil) {
			t.Errorf("%s: ScanTicket = %v, want %v", tt.name, err, tt.want)
		}
		if err == nil && (c.UserID != "ana" || c.Method != "ticket" || c.By != "mgr") {
			t.Errorf("%s: ScanTicket = %+v, want ana by ticket, scanned by mgr", tt.name, c)
		}
	}
}
