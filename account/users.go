package account

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/hyperlieu/hyperlieu"
)

// UserQuery selects users for admins. Every filter is optional.
type UserQuery struct {
	Text  string         // in the email or the display name, ignoring case
	Role  hyperlieu.Role // only users holding it
	Limit int            // 0: 50; at most MaxUserPage
	After string         // Next of the previous page
}

// UserPage is one page of users in sign-up order; Next is empty on the
// last page. A filtered page may hold fewer than Limit users (even none)
// and still have a Next: the store reads a bounded share of the users per
// page (see its FindUsersBy).
type UserPage struct {
	Items []hyperlieu.User
	Next  string
}

// MaxUserPage is the largest page of users.
const MaxUserPage = 200

// ListUsers returns users matching q, in sign-up order. Admins only
// (Forbidden); Invalid names bad filters. See the store's FindUsersBy for
// what a page costs.
func (s *Service) ListUsers(ctx context.Context, a hyperlieu.Actor, q UserQuery) (UserPage, error) {
	if !a.Is(hyperlieu.RoleAdmin) {
		return UserPage{}, hyperlieu.Errorf(hyperlieu.Forbidden, "only admins list users")
	}
	var p hyperlieu.Problems
	q.Text = strings.TrimSpace(q.Text)
	if utf8.RuneCountInString(q.Text) > 200 {
		p.Add("q", "must be at most 200 characters")
	}
	if q.Role != "" && !slices.Contains(hyperlieu.Roles, q.Role) {
		p.Add("role", "must be one of customer, manager, marketer, admin")
	}
	if q.Limit == 0 {
		q.Limit = 50
	} else if q.Limit < 1 || q.Limit > MaxUserPage {
		p.Add("limit", "must be between 1 and %d", MaxUserPage)
	}
	if err := p.Err(); err != nil {
		return UserPage{}, err
	}
	page, err := s.store.FindUsersBy(ctx, q)
	if err != nil {
		return UserPage{}, fmt.Errorf("list users: %w", err)
	}
	return page, nil
}
