package shop

import (
	"slices"
	"strings"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/geo"
)

// EventInput is a new event, or (EventPatch) changes to one; nil fields are
// absent.
type EventInput struct {
	Title, Description, Category *string
	StartsAt, EndsAt             *time.Time
	Capacity, MaxWaitlist        *int
	Location                     *geo.Point
	AnnounceRadiusM              *float64
}

// validate checks in and applies it to e; create says every required field must be there.
func (in EventInput) apply(p *hyperlieu.Problems, e *Event, now time.Time, create bool) {
	if in.Title != nil || create {
		validateText(p, "title", deref(in.Title), true, 120)
		e.Title = strings.TrimSpace(deref(in.Title))
	}
	if in.Description != nil {
		validateText(p, "description", *in.Description, false, 5000)
		e.Description = strings.TrimSpace(*in.Description)
	}
	if in.Category != nil || create {
		if !slices.Contains(EventCategories, deref(in.Category)) {
			p.Add("category", "must be one of %s", strings.Join(EventCategories, ", "))
		}
		e.Category = deref(in.Category)
	}
	if in.StartsAt != nil {
		e.StartsAt = in.StartsAt.UTC()
		if !e.StartsAt.After(now) {
			p.Add("startsAt", "must be in the future")
		}
	} else if create {
		p.Add("startsAt", "is required")
	}
	if in.EndsAt != nil {
		e.EndsAt = in.EndsAt.UTC()
	} else if create {
		p.Add("endsAt", "is required")
	}
	if !e.StartsAt.IsZero() && !e.EndsAt.IsZero() {
		if !e.EndsAt.After(e.StartsAt) {
			p.Add("endsAt", "must be after startsAt")
		} else if e.EndsAt.Sub(e.StartsAt) > MaxEventLength {
			p.Add("endsAt", "must be at most 14 days after startsAt")
		}
	}
	if in.Capacity != nil || create {
		if c := deref(in.Capacity); c < 1 || c > MaxEventCapacity {
			p.Add("capacity", "must be between 1 and %d", MaxEventCapacity)
		}
		e.Capacity = deref(in.Capacity)
	}
	if in.MaxWaitlist != nil {
		if w := *in.MaxWaitlist; w < -1 || w > MaxEventCapacity {
			p.Add("maxWaitlist", "must be between 0 and %d, or -1 for no limit", MaxEventCapacity)
		}
		e.MaxWaitlist = *in.MaxWaitlist
	}
	if in.Location != nil {
		validatePoint(p, "location", in.Location, true)
		e.Location = *in.Location
	}
	if in.AnnounceRadiusM != nil {
		if r := *in.AnnounceRadiusM; !(r >= 0 && r <= MaxAnnounceRadiusM) {
			p.Add("announceRadiusM", "must be between 0 and %d", MaxAnnounceRadiusM)
		}
		e.AnnounceRadiusM = *in.AnnounceRadiusM
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
