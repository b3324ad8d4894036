package shop

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/geo"
)

// Shop is a physical store. Its managers run its events; a deleted shop
// keeps answering (DeletedAt set) so that its events and history stay readable.
type Shop struct {
	ID, Name, Address string
	Location          geo.Point
	Timezone          string // IANA name; event times are shown in it
	OpeningHours      string // free text, e.g. "Mon-Sat 10:00-19:00"
	ManagerIDs        []string
	CreatedAt         time.Time
	UpdatedAt         time.Time
	DeletedAt         time.Time // zero while the shop exists
}

// Deleted reports whether the shop was deleted.
func (s Shop) Deleted() bool { return !s.DeletedAt.IsZero() }

// Zone returns the shop's time zone, or UTC if the stored name is unknown.
func (s Shop) Zone() *time.Location {
	return hyperlieu.Zone(s.Timezone)
}

// ManagedBy reports whether userID is one of the shop's managers.
func (s Shop) ManagedBy(userID string) bool { return slices.Contains(s.ManagerIDs, userID) }

// Store is what the shop use cases need from the database.
type Store interface {
	// CreateShop returns Conflict if the ID is taken.
	CreateShop(ctx context.Context, s Shop) error
	// FindShop returns the shop, deleted or not, or NotFound.
	FindShop(ctx context.Context, id string) (Shop, error)
	// UpdateShop replaces the stored shop; NotFound if it does not exist.
	UpdateShop(ctx context.Context, s Shop) error
	// FindShopsChangedSince returns every shop whose UpdatedAt is after t
	// (the zero time: all of them), deleted ones included.
	FindShopsChangedSince(ctx context.Context, t time.Time) ([]Shop, error)
	// FindShopsManagedBy returns the shops listing userID among their
	// managers, deleted ones too.
	FindShopsManagedBy(ctx context.Context, userID string) ([]Shop, error)
}

// Service holds the shop use cases and the in-memory map of shops and
// upcoming events behind nearby search.
type Service struct {
	store  Store
	users  hyperlieu.UserFinder
	places *Places
	offers hyperlieu.OfferSource
	now    func() time.Time
	log    *slog.Logger
}

// Options are the shop use cases' settings.
type Options struct {
	Now func() time.Time // default time.Now
}

// NewService returns the shop use cases. places is the in-memory index
// shared with the event use cases; offers lists the offers nearby search
// shows beside shops and events.
func NewService(store Store, users hyperlieu.UserFinder, places *Places, offers hyperlieu.OfferSource, opts Options, log *slog.Logger) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{store: store, users: users, places: places, offers: offers, now: opts.Now, log: log}
}

// Input is what an admin sends to create a shop.
type Input struct {
	Name, Address string
	Location      *geo.Point
	Timezone      string
	OpeningHours  string
}

// Patch changes some of a shop's fields; nil fields stay as they are.
type Patch struct {
	Name, Address, Timezone, OpeningHours *string
	Location                              *geo.Point
}

func validateText(p *hyperlieu.Problems, field, s string, required bool, max int) {
	n := utf8.RuneCountInString(strings.TrimSpace(s))
	switch {
	case required && n == 0:
		p.Add(field, "is required")
	case n > max:
		p.Add(field, "must be at most %d characters", max)
	}
}

// validatePoint checks an optional or required location field.
func validatePoint(p *hyperlieu.Problems, field string, pt *geo.Point, required bool) {
	if pt == nil {
		if required {
			p.Add(field, "is required")
		}
		return
	}
	if err := pt.Valid(); err != nil {
		p.Add(field, "%v", err)
	}
}

// canManage reports whether the actor may run the shop: an admin, or a
// manager of that very shop.
func canManage(a hyperlieu.Actor, s Shop) bool {
	return a.CanManage(s.ManagedBy(a.UserID))
}

// CreateShop creates a shop. Only admins may; Forbidden otherwise, Invalid
// naming every bad field.
func (s *Service) CreateShop(ctx context.Context, a hyperlieu.Actor, in Input) (Shop, error) {
	if !a.Is(hyperlieu.RoleAdmin) {
		return Shop{}, hyperlieu.Errorf(hyperlieu.Forbidden, "only admins create shops")
	}
	var p hyperlieu.Problems
	validateText(&p, "name", in.Name, true, 120)
	validateText(&p, "address", in.Address, true, 300)
	validatePoint(&p, "location", in.Location, true)
	hyperlieu.ValidateTimezone(&p, "timezone", in.Timezone)
	validateText(&p, "openingHours", in.OpeningHours, false, 500)
	if err := p.Err(); err != nil {
		return Shop{}, err
	}
	now := s.now().UTC()
	sh := Shop{
		ID: hyperlieu.NewID(), Name: strings.TrimSpace(in.Name), Address: strings.TrimSpace(in.Address),
		Location: *in.Location, Timezone: in.Timezone, OpeningHours: strings.TrimSpace(in.OpeningHours),
		ManagerIDs: []string{}, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.store.CreateShop(ctx, sh); err != nil {
		return Shop{}, fmt.Errorf("create shop: %w", err)
	}
	s.places.PutShop(sh)
	return sh, nil
}

// Shop returns a shop, deleted or not. NotFound if there is none.
func (s *Service) Shop(ctx context.Context, id string) (Shop, error) {
	return s.store.FindShop(ctx, id)
}

// UpdateShop changes a shop. Admins and the shop's own managers may;
// Forbidden otherwise; NotFound for an unknown shop; Conflict for a deleted one.
func (s *Service) UpdateShop(ctx context.Context, a hyperlieu.Actor, id string, patch Patch) (Shop, error) {
	sh, err := s.store.FindShop(ctx, id)
	if err != nil {
		return Shop{}, err
	}
	if !canManage(a, sh) {
		return Shop{}, hyperlieu.Errorf(hyperlieu.Forbidden, "you do not manage this shop")
	}
	if sh.Deleted() {
		return Shop{}, hyperlieu.Errorf(hyperlieu.Conflict, "the shop was deleted")
	}
	var p hyperlieu.Problems
	if patch.Name != nil {
		validateText(&p, "name", *patch.Name, true, 120)
		sh.Name = strings.TrimSpace(*patch.Name)
	}
	if patch.Address != nil {
		validateText(&p, "address", *patch.Address, true, 300)
		sh.Address = strings.TrimSpace(*patch.Address)
	}
	if patch.Location != nil {
		validatePoint(&p, "location", patch.Location, true)
		sh.Location = *patch.Location
	}
	if patch.Timezone != nil {
		hyperlieu.ValidateTimezone(&p, "timezone", *patch.Timezone)
		sh.Timezone = *patch.Timezone
	}
	if patch.OpeningHours != nil {
		validateText(&p, "openingHours", *patch.OpeningHours, false, 500)
		sh.OpeningHours = strings.TrimSpace(*patch.OpeningHours)
	}
	if err := p.Err(); err != nil {
		return Shop{}, err
	}
	return s.save(ctx, sh)
}

func (s *Service) save(ctx context.Context, sh Shop) (Shop, error) {
	sh.UpdatedAt = s.now().UTC()
	if err := s.store.UpdateShop(ctx, sh); err != nil {
		return Shop{}, fmt.Errorf("update shop %s: %w", sh.ID, err)
	}
	s.places.PutShop(sh)
	return sh, nil
}

// DeleteShop marks a shop deleted: it leaves nearby search, its events and
// history stay readable. Admins only. Deleting twice is not an error.
func (s *Service) DeleteShop(ctx context.Context, a hyperlieu.Actor, id string) error {
	if !a.Is(hyperlieu.RoleAdmin) {
		return hyperlieu.Errorf(hyperlieu.Forbidden, "only admins delete shops")
	}
	sh, err := s.store.FindShop(ctx, id)
	if err != nil || sh.Deleted() {
		return err
	}
	sh.DeletedAt = s.now().UTC()
	_, err = s.save(ctx, sh)
	return err
}

// AddManager makes a user a manager of the shop. Admins only. NotFound for
// an unknown shop or user; Conflict if the user lacks the manager role (give
// it first) or the shop was deleted. Adding twice is not an error.
func (s *Service) AddManager(ctx context.Context, a hyperlieu.Actor, shopID, userID string) (Shop, error) {
	if !a.Is(hyperlieu.RoleAdmin) {
		return Shop{}, hyperlieu.Errorf(hyperlieu.Forbidden, "only admins appoint shop managers")
	}
	sh, err := s.store.FindShop(ctx, shopID)
	if err != nil {
		return Shop{}, err
	}
	if sh.Deleted() {
		return Shop{}, hyperlieu.Errorf(hyperlieu.Conflict, "the shop was deleted")
	}
	u, err := s.users.FindUser(ctx, userID)
	if err != nil {
		return Shop{}, err
	}
	if !u.HasRole(hyperlieu.RoleManager) {
		return Shop{}, hyperlieu.Errorf(hyperlieu.Conflict, "user %s does not have the manager role; grant it with POST /v1/admin/users/{id}/roles first", userID)
	}
	if sh.ManagedBy(userID) {
		return sh, nil
	}
	sh.ManagerIDs = append(sh.ManagerIDs, userID)
	return s.save(ctx, sh)
}

// RemoveManager takes a user off the shop's managers. Admins only. NotFound
// for an unknown shop, or a user who is not one of its managers.
func (s *Service) RemoveManager(ctx context.Context, a hyperlieu.Actor, shopID, userID string) error {
	if !a.Is(hyperlieu.RoleAdmin) {
		return hyperlieu.Errorf(hyperlieu.Forbidden, "only admins remove shop managers")
	}
	sh, err := s.store.FindShop(ctx, shopID)
	if err != nil {
		return err
	}
	if !sh.ManagedBy(userID) {
		return hyperlieu.Errorf(hyperlieu.NotFound, "user %s is not a manager of this shop", userID)
	}
	sh.ManagerIDs = slices.DeleteFunc(sh.ManagerIDs, func(id string) bool { return id == userID })
	_, err = s.save(ctx, sh)
	return err
}

// ShopPlace returns where the shop is and its time zone, for other areas.
// NotFound if there is no such shop; a deleted shop still answers.
func (s *Service) ShopPlace(ctx context.Context, shopID string) (loc geo.Point, timezone string, err error) {
	if sh, ok := s.places.Shop(shopID); ok {
		return sh.Location, sh.Timezone, nil
	}
	sh, err := s.store.FindShop(ctx, shopID)
	if err != nil {
		return geo.Point{}, "", err
	}
	return sh.Location, sh.Timezone, nil
}

// ShopName returns the shop's name, for messages that mention it. NotFound
// if there is no such shop; a deleted shop still answers.
func (s *Service) ShopName(ctx context.Context, shopID string) (string, error) {
	if sh, ok := s.places.Shop(shopID); ok {
		return sh.Name, nil
	}
	sh, err := s.store.FindShop(ctx, shopID)
	if err != nil {
		return "", err
	}
	return sh.Name, nil
}

// MayManageShop returns nil when the actor may run the shop (see canManage),
// Forbidden otherwise, NotFound when there is no such shop.
func (s *Service) MayManageShop(ctx context.Context, a hyperlieu.Actor, shopID string) error {
	sh, err := s.store.FindShop(ctx, shopID)
	if err != nil {
		return err
	}
	if sh.Deleted() {
		return hyperlieu.Errorf(hyperlieu.NotFound, "shop %s not found", shopID)
	}
	if !canManage(a, sh) {
		return hyperlieu.Errorf(hyperlieu.Forbidden, "you do not manage this shop")
	}
	return nil
}

// ManagesShop reports whether userID is a manager of the shop (roles aside:
// admins are not managers of every shop). NotFound if there is no such shop;
// a deleted shop has no managers any more.
func (s *Service) ManagesShop(ctx context.Context, userID, shopID string) (bool, error) {
	sh, err := s.store.FindShop(ctx, shopID)
	if err != nil {
		return false, err
	}
	return !sh.Deleted() && sh.ManagedBy(userID), nil
}
