package campaign

import (
	"context"
	"maps"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/geo"
)

// A report that moves the customer but changes nothing the engine decides
// on (no fence or shop entered or left, no dwell judged, no offer, no
// stored answer) is not written at once: the position is kept in this
// instance's memory and written with the next report that changes
// something, or once the stored one is StateRefresh old. An app tracking
// in the foreground reports every second or so; writing each of those was
// half of a report's cost on the embedded database.
//
// What the stored state then lags by, at most StateRefresh: the last
// position in a personal-data export made on another instance, the
// retention clock, and the stale and speed checks of a report landing on
// another instance (this one checks against its memory, so on one
// instance they are exact). Memberships are always written before the
// answer, so one stay is still one offer across instances.

// position is where a report put the customer.
type position struct {
	Cell      geo.Cell
	Point     geo.Point
	At        time.Time
	AccuracyM float64
}

func positionOf(st LocationState) position {
	return position{Cell: st.Cell, Point: st.Point, At: st.At, AccuracyM: st.AccuracyM}
}

func (p position) onto(st *LocationState) {
	st.Cell, st.Point, st.At, st.AccuracyM = p.Cell, p.Point, p.At, p.AccuracyM
}

// state reads the customer's state and lays over it the position this
// instance kept unwritten, when that is the later one; before is what the
// report's write may not skip. A customer with nothing stored gets an
// empty state.
func (l *LocationService) state(ctx context.Context, userID string) (st LocationState, before decided, err error) {
	st, err = l.store.FindLocationState(ctx, userID)
	exists := err == nil
	if err != nil && hyperlieu.KindOf(err) != hyperlieu.NotFound {
		return st, before, err
	}
	st.UserID = userID
	before = decidedOf(st, exists)
	if p, ok := l.positions.get(userID, time.Now()); ok && exists && p.At.After(st.At) {
		p.onto(&st)
	}
	return st, before, nil
}

// decided is what of a state a report's write may not skip.
type decided struct {
	cell                   geo.Cell
	stored                 time.Time // the position's time as stored
	exists                 bool
	inside, dwelled, shops map[string]time.Time
	answers                map[string]time.Time
	issued                 map[string]int
}

func decidedOf(st LocationState, exists bool) decided {
	return decided{cell: st.Cell, stored: st.At, exists: exists, inside: maps.Clone(st.Inside), dwelled: maps.Clone(st.Dwelled),
		shops: maps.Clone(st.AtShops), answers: maps.Clone(st.Answers), issued: maps.Clone(st.Issued)}
}

// unchanged reports whether st still holds what d saw.
func (d decided) unchanged(st LocationState) bool {
	same := func(a, b time.Time) bool { return a.Equal(b) }
	return d.exists && st.Cell == d.cell && !st.contended &&
		maps.EqualFunc(d.inside, st.Inside, same) && maps.EqualFunc(d.dwelled, st.Dwelled, same) &&
		maps.EqualFunc(d.shops, st.AtShops, same) && maps.EqualFunc(d.answers, st.Answers, same) &&
		maps.Equal(d.issued, st.Issued)
}

// keep writes run's state, unless only its position moved and the stored
// one is younger than StateRefresh: then the position is remembered.
func (run *reportRun) keep(ctx context.Context) error {
	l, st := run.l, run.st
	if run.before.unchanged(st) && st.At.Sub(run.before.stored) < l.opts.StateRefresh {
		now := time.Now()
		l.positions.put(st.UserID, positionOf(st), now, now.Add(l.opts.StateRefresh))
		return nil
	}
	if err := l.store.UpdateLocationState(ctx, st); err != nil {
		return err
	}
	l.positions.forget(st.UserID)
	if !run.before.exists || run.before.cell != st.Cell {
		from := run.before.cell
		if !run.before.exists {
			from = 0
		}
		l.campaigns.presence.add(PresenceMove{UserID: st.UserID, From: from, To: st.Cell, At: st.At})
	}
	return nil
}
