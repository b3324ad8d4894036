package shop

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/geo"
)

// ListQuery selects shops for the back office. Every filter is optional.
type ListQuery struct {
	Text      string     // in the name or the address, ignoring case
	Near      *geo.Point // only shops within RadiusM of it, nearest first
	RadiusM   float64    // with Near; 0: DefaultListRadiusM
	ManagedBy string     // only shops this user manages
	Limit     int        // 0: 50; at most MaxListLimit
	Cursor    string     // Next of the previous page
}

// ListPage is one page of shops; Next is empty on the last page.
type ListPage struct {
	Items []Shop
	Next  string
}

const (
	// DefaultListRadiusM is the radius of a shop search near a point.
	DefaultListRadiusM = 5_000
	// MaxListLimit is the largest page of shops or users.
	MaxListLimit = 200
)

// listCursor is where a page ended: the sort key of its last shop.
type listCursor struct {
	D float64 `json:"d,omitempty"` // distance, when near a point
	N string  `json:"n,omitempty"` // folded name otherwise
	I string  `json:"i"`
}

// ListShops returns shops that are not deleted, from the in-memory index
// (no database query): by name, or nearest first near a point. Invalid
// names the bad filters.
func (s *Service) ListShops(ctx context.Context, q ListQuery) (ListPage, error) {
	var p hyperlieu.Problems
	if utf8.RuneCountInString(q.Text) > 200 {
		p.Add("q", "must be at most 200 characters")
	}
	if q.Near != nil {
		if err := q.Near.Valid(); err != nil {
			p.Add("lat,lng", "%v", err)
		}
		if q.RadiusM == 0 {
			q.RadiusM = DefaultListRadiusM
		}
		if q.RadiusM < 1 || q.RadiusM > MaxNearbyRadiusM {
			p.Add("radiusM", "must be between 1 and %d metres", MaxNearbyRadiusM)
		}
	}
	if q.Limit == 0 {
		q.Limit = 50
	} else if q.Limit < 1 || q.Limit > MaxListLimit {
		p.Add("limit", "must be between 1 and %d", MaxListLimit)
	}
	var after *listCursor
	if q.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(q.Cursor)
		var c listCursor
		if err != nil || json.Unmarshal(b, &c) != nil || c.I == "" {
			p.Add("cursor", "is not a cursor this API returned")
		}
		after = &c
	}
	if err := p.Err(); err != nil {
		return ListPage{}, err
	}
	text := strings.ToLower(strings.TrimSpace(q.Text))
	var found []listed
	for _, l := range s.places.shopsNear(q.Near, q.RadiusM) {
		sh := l.shop
		switch {
		case sh.Deleted():
		case text != "" && !strings.Contains(strings.ToLower(sh.Name), text) && !strings.Contains(strings.ToLower(sh.Address), text):
		case q.ManagedBy != "" && !sh.ManagedBy(q.ManagedBy):
		default:
			found = append(found, l)
		}
	}
	byKey := func(a, b listCursor) int {
		if q.Near != nil {
			return cmp.Or(cmp.Compare(a.D, b.D), cmp.Compare(a.I, b.I))
		}
		return cmp.Or(cmp.Compare(a.N, b.N), cmp.Compare(a.I, b.I))
	}
	slices.SortFunc(found, func(a, b listed) int { return byKey(a.key(), b.key()) })
	if after != nil {
		i, _ := slices.BinarySearchFunc(found, *after, func(l listed, c listCursor) int {
			if byKey(l.key(), c) <= 0 {
				return -1
			}
			return 1
		})
		found = found[i:]
	}
	page := ListPage{Items: []Shop{}}
	for i, l := range found {
		if i == q.Limit {
			b, _ := json.Marshal(found[i-1].key())
			page.Next = base64.RawURLEncoding.EncodeToString(b)
			break
		}
		page.Items = append(page.Items, l.shop)
	}
	return page, nil
}

// listed is a shop and its distance from the search's centre, if any.
type listed struct {
	shop      Shop
	distanceM float64
	near      bool
}

func (l listed) key() listCursor {
	if l.near {
		return listCursor{D: l.distanceM, I: l.shop.ID}
	}
	return listCursor{N: strings.ToLower(l.shop.Name), I: l.shop.ID}
}

// shopsNear returns every known shop within radiusM of center, or every
// known shop when center is nil, deleted ones included.
func (p *Places) shopsNear(center *geo.Point, radiusM float64) []listed {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if center == nil {
		out := make([]listed, 0, len(p.shops))
		for _, s := range p.shops {
			out = append(out, listed{shop: s})
		}
		return out
	}
	var out []listed
	for _, h := range p.idx.Within(*center, radiusM) {
		if kind, id := splitKey(h.ID); kind == "shop" {
			if s, ok := p.shops[id]; ok {
				out = append(out, listed{shop: s, distanceM: h.DistanceM, near: true})
			}
		}
	}
	return out
}

// AllShops returns every shop that is not deleted, by name, from memory.
func (s *Service) AllShops(ctx context.Context) []Shop {
	var out []Shop
	for _, l := range s.places.shopsNear(nil, 0) {
		if !l.shop.Deleted() {
			out = append(out, l.shop)
		}
	}
	slices.SortFunc(out, func(a, b Shop) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), cmp.Compare(a.ID, b.ID))
	})
	return out
}
