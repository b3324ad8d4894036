package campaign

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hyperlieu/hyperlieu"
)

// defaultTimezone is a schedule's zone when the marketer names none.
const defaultTimezone = "Europe/Paris"

// apply validates in and applies it to c, reporting every bad field.
func (s *Service) apply(ctx context.Context, c *Campaign, in Input) error {
	var p hyperlieu.Problems
	if in.Name != nil {
		c.Name = checkName(&p, *in.Name)
	}
	if in.Geofence != nil {
		g, err := s.checkGeofence(ctx, &p, *in.Geofence)
		if err != nil {
			return err
		}
		c.Geofence = g
	}
	if in.Trigger != nil {
		c.Trigger = checkTrigger(&p, *in.Trigger)
	}
	if in.Schedule != nil {
		c.Schedule = checkSchedule(&p, *in.Schedule)
	}
	if in.Audience != nil {
		c.Audience = checkAudience(&p, *in.Audience)
	}
	if in.Offer != nil {
		c.Offer = checkOffer(&p, *in.Offer)
	}
	if in.Caps != nil {
		c.Caps = checkCaps(&p, *in.Caps)
	}
	if err := applyExperiment(&p, c, in); err != nil {
		return err
	}
	return p.Err()
}

// Each check… function adds the value's problems to p and returns the
// value as it is kept (trimmed, defaulted).

func checkName(p *hyperlieu.Problems, name string) string {
	name = strings.TrimSpace(name)
	if n := utf8.RuneCountInString(name); n == 0 || n > 120 {
		p.Add("name", "must be 1 to 120 characters")
	}
	return name
}

func checkTrigger(p *hyperlieu.Problems, t Trigger) Trigger {
	switch t.Kind {
	case TriggerEnter:
		t.DwellSeconds, t.MinDwellSeconds = 0, 0
	case TriggerDwell:
		if t.DwellSeconds < 10 || t.DwellSeconds > 86400 {
			p.Add("trigger.dwellSeconds", "must be between 10 and 86400 for a dwell trigger")
		}
		t.MinDwellSeconds = 0
	case TriggerExit:
		t.DwellSeconds = 0
		if t.MinDwellSeconds < 0 || t.MinDwellSeconds > 86400 {
			p.Add("trigger.minDwellSeconds", "must be between 0 and 86400 for an exit trigger")
		}
	default:
		p.Add("trigger.kind", "must be enter, dwell or exit")
	}
	return t
}

func checkSchedule(p *hyperlieu.Problems, sc Schedule) Schedule {
	if sc.Timezone == "" {
		sc.Timezone = defaultTimezone
	}
	hyperlieu.ValidateTimezone(p, "schedule.timezone", sc.Timezone)
	if !sc.StartsAt.IsZero() && !sc.EndsAt.IsZero() && !sc.EndsAt.After(sc.StartsAt) {
		p.Add("schedule.endsAt", "must be after startsAt")
	}
	for i, d := range sc.Days {
		if d < time.Sunday || d > time.Saturday {
			p.Add(fmt.Sprintf("schedule.days[%d]", i), "must be one of mon, tue, wed, thu, fri, sat, sun")
		}
	}
	if sc.Hours != nil {
		if _, err := hyperlieu.ParseClock(sc.Hours.From); err != nil {
			p.Add("schedule.hours.from", "%v", err)
		}
		if _, err := hyperlieu.ParseClock(sc.Hours.To); err != nil {
			p.Add("schedule.hours.to", "%v", err)
		}
		if sc.Hours.From == sc.Hours.To {
			p.Add("schedule.hours", "from and to must differ; leave hours out for all day")
		}
	}
	return sc
}

func checkAudience(p *hyperlieu.Problems, au Audience) Audience {
	for i, sg := range au.Segments {
		if !slices.Contains(hyperlieu.Segments, sg) {
			p.Add(fmt.Sprintf("audience.segments[%d]", i), "must be one of %s", segmentList())
		}
	}
	return au
}

func segmentList() string {
	s := make([]string, len(hyperlieu.Segments))
	for i, sg := range hyperlieu.Segments {
		s[i] = string(sg)
	}
	return strings.Join(s, ", ")
}

func checkOffer(p *hyperlieu.Problems, o OfferTemplate) OfferTemplate {
	if len(o.Texts) == 0 {
		p.Add("offer.texts", "needs at least one text")
	}
	for i, t := range o.Texts {
		f := fmt.Sprintf("offer.texts[%d]", i)
		hyperlieu.ValidateLocale(p, f+".locale", t.Locale)
		if t.Formality != hyperlieu.Formal && t.Formality != hyperlieu.Familiar {
			p.Add(f+".formality", "must be formal or familiar")
		}
		if n := utf8.RuneCountInString(strings.TrimSpace(t.Title)); n == 0 || n > 80 {
			p.Add(f+".title", "must be 1 to 80 characters")
		}
		if utf8.RuneCountInString(t.Body) > 500 {
			p.Add(f+".body", "must be at most 500 characters")
		}
	}
	if utf8.RuneCountInString(o.Value) > 60 {
		p.Add("offer.value", "must be at most 60 characters")
	}
	if o.Validity < time.Hour || o.Validity > 365*24*time.Hour {
		p.Add("offer.validityHours", "must be between 1 and 8760")
	}
	if o.Budget < 0 || o.Budget > 10_000_000 {
		p.Add("offer.budget", "must be between 0 (unlimited) and 10000000")
	}
	return o
}

func checkCaps(p *hyperlieu.Problems, cp Caps) Caps {
	if cp.PerCustomer < 0 || cp.PerCustomer > 1000 {
		p.Add("caps.perCustomer", "must be between 0 (no limit) and 1000")
	}
	if cp.Cooldown < 0 || cp.Cooldown > 365*24*time.Hour {
		p.Add("caps.cooldownSeconds", "must be between 0 and 31536000")
	}
	return cp
}
