package hyperlieu

import "time"

// Later returns the later of a and b.
func Later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Zone returns the IANA time zone name, or UTC when name is empty or
// unknown: stored names were validated once, so a zone that no longer
// resolves should not stop the product from working.
func Zone(name string) *time.Location {
	if loc, err := time.LoadLocation(name); err == nil && name != "" {
		return loc
	}
	return time.UTC
}

// ClockWindow is a daily window "HH:MM"–"HH:MM" on a wall clock: a
// campaign's hours, a customer's quiet hours. From after To spans
// midnight; From equal to To, or a malformed bound, is an empty window.
type ClockWindow struct {
	From, To string // "HH:MM"
}

// bounds returns the window's minutes after midnight, ok false when empty.
func (w ClockWindow) bounds() (from, to int, ok bool) {
	from, err1 := ParseClock(w.From)
	to, err2 := ParseClock(w.To)
	return from, to, err1 == nil && err2 == nil && from != to
}

// Contains reports whether t, on the wall clock of loc, falls in [From, To).
func (w ClockWindow) Contains(t time.Time, loc *time.Location) bool {
	from, to, ok := w.bounds()
	if !ok {
		return false
	}
	lt := t.In(loc)
	m := lt.Hour()*60 + lt.Minute()
	if from < to {
		return m >= from && m < to
	}
	return m >= from || m < to
}

// End returns t when t is outside the window, else the moment the window
// ends: the next To on loc's wall clock, so that a DST change in between is
// accounted for.
func (w ClockWindow) End(t time.Time, loc *time.Location) time.Time {
	if !w.Contains(t, loc) {
		return t
	}
	from, to, _ := w.bounds()
	lt := t.In(loc)
	day := lt
	if from > to && lt.Hour()*60+lt.Minute() >= from { // spans midnight: ends tomorrow
		day = lt.AddDate(0, 0, 1)
	}
	return time.Date(day.Year(), day.Month(), day.Day(), to/60, to%60, 0, 0, loc)
}
