package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// Endpoint is a receiver an admin registered. Secret signs its deliveries;
// it is never shown again after creation.
type Endpoint struct {
	ID        string
	URL       string
	Types     []Type
	Secret    string
	CreatedAt time.Time
	Paused    bool
	// PausedReason is PausedByAdmin or PausedFailing while Paused.
	PausedReason string
	PausedAt     time.Time
	// FailingSince is the first failed attempt since the last success;
	// zero while the endpoint answers.
	FailingSince time.Time
}

// Why an endpoint is paused.
const (
	PausedByAdmin = "admin"
	PausedFailing = "failing"
)

// Wants reports whether e takes events of type t now.
func (e Endpoint) Wants(t Type) bool { return !e.Paused && slices.Contains(e.Types, t) }

// EndpointInput is what an admin registers. Secret may be empty: one is made.
type EndpointInput struct {
	URL    string
	Types  []string
	Secret string
}

// MaxEndpoints bounds the endpoints: they are kept in memory and every
// event is matched against each.
const MaxEndpoints = 100

// EndpointStore keeps the endpoints (a few documents, keyed by id).
type EndpointStore interface {
	CreateWebhookEndpoint(ctx context.Context, e Endpoint) error
	// FindWebhookEndpoints returns every endpoint.
	FindWebhookEndpoints(ctx context.Context) ([]Endpoint, error)
	// UpdateWebhookEndpointState sets paused, reason, pausedAt and
	// failingSince of endpoint id; NotFound when there is none.
	UpdateWebhookEndpointState(ctx context.Context, e Endpoint) error
	// DeleteWebhookEndpoint removes the deliveries of endpoint id, then the
	// endpoint; NotFound when there was no endpoint.
	DeleteWebhookEndpoint(ctx context.Context, id string) error
}

func (in EndpointInput) validate() (Endpoint, error) {
	var p hyperlieu.Problems
	e := Endpoint{URL: strings.TrimSpace(in.URL), Secret: in.Secret}
	if u, err := url.Parse(e.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		p.Add("url", "must be an absolute http or https URL")
	} else if u.User != nil || u.Fragment != "" || len(e.URL) > 2048 {
		p.Add("url", "must have no user info nor fragment, and at most 2048 characters")
	}
	if len(in.Types) == 0 {
		p.Add("types", "must name at least one event type")
	}
	for _, t := range in.Types {
		if !slices.Contains(Types, Type(t)) {
			p.Add("types", "has an unknown event type; known: %s", typeList())
			break
		}
		if !slices.Contains(e.Types, Type(t)) {
			e.Types = append(e.Types, Type(t))
		}
	}
	switch n := len(in.Secret); {
	case n == 0:
		e.Secret = newSecret()
	case n < 16 || n > 256 || strings.ContainsFunc(in.Secret, func(r rune) bool { return r < 0x21 || r > 0x7e }):
		p.Add("secret", "must be 16 to 256 printable ASCII characters without spaces")
	}
	return e, p.Err()
}

func typeList() string {
	s := make([]string, len(Types))
	for i, t := range Types {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return "whsec_" + hex.EncodeToString(b)
}

func mustAdmin(a hyperlieu.Actor) error {
	if !a.Is(hyperlieu.RoleAdmin) {
		return hyperlieu.Errorf(hyperlieu.Forbidden, "only admins manage webhooks")
	}
	return nil
}

// CreateEndpoint registers an endpoint for admin a. The returned endpoint
// holds its secret: the only time it is shown. Invalid names the field;
// Conflict past MaxEndpoints.
func (s *Service) CreateEndpoint(ctx context.Context, a hyperlieu.Actor, in EndpointInput) (Endpoint, error) {
	if err := mustAdmin(a); err != nil {
		return Endpoint{}, err
	}
	e, err := in.validate()
	if err != nil {
		return Endpoint{}, err
	}
	if err := s.Refresh(ctx); err != nil {
		return Endpoint{}, err
	}
	if len(s.endpointList()) >= MaxEndpoints {
		return Endpoint{}, hyperlieu.Errorf(hyperlieu.Conflict, "at most %d webhook endpoints", MaxEndpoints)
	}
	e.ID, e.CreatedAt = hyperlieu.NewID(), s.opts.Now().UTC()
	if err := s.store.CreateWebhookEndpoint(ctx, e); err != nil {
		return Endpoint{}, fmt.Errorf("create webhook endpoint: %w", err)
	}
	s.setEndpoint(e)
	return e, nil
}

// Endpoints lists the endpoints, oldest first, secrets blanked.
func (s *Service) Endpoints(ctx context.Context, a hyperlieu.Actor) ([]Endpoint, error) {
	if err := mustAdmin(a); err != nil {
		return nil, err
	}
	if err := s.Refresh(ctx); err != nil {
		return nil, err
	}
	es := s.endpointList()
	for i := range es {
		es[i].Secret = ""
	}
	return es, nil
}

// SetEndpointPaused pauses or resumes endpoint id. A paused endpoint is
// queued no new events and its queued deliveries wait; resuming sends them
// and forgets past failures. NotFound when there is none.
func (s *Service) SetEndpointPaused(ctx context.Context, a hyperlieu.Actor, id string, paused bool) (Endpoint, error) {
	if err := mustAdmin(a); err != nil {
		return Endpoint{}, err
	}
	e, err := s.endpoint(ctx, id)
	if err != nil {
		return Endpoint{}, err
	}
	e.Paused, e.PausedReason, e.PausedAt, e.FailingSince = paused, "", time.Time{}, time.Time{}
	if paused {
		e.PausedReason, e.PausedAt = PausedByAdmin, s.opts.Now().UTC()
	}
	if err := s.saveState(ctx, e); err != nil {
		return Endpoint{}, err
	}
	e.Secret = ""
	return e, nil
}

// DeleteEndpoint removes endpoint id with its queued and past deliveries.
// NotFound when there is none.
func (s *Service) DeleteEndpoint(ctx context.Context, a hyperlieu.Actor, id string) error {
	if err := mustAdmin(a); err != nil {
		return err
	}
	if err := s.store.DeleteWebhookEndpoint(ctx, id); err != nil {
		return fmt.Errorf("delete webhook endpoint: %w", err)
	}
	s.mu.Lock()
	delete(s.endpoints, id)
	s.mu.Unlock()
	return nil
}

// Refresh reloads the endpoints from the database: other instances'
// registrations, pauses and deletions reach this one at the next refresh.
func (s *Service) Refresh(ctx context.Context) error {
	es, err := s.store.FindWebhookEndpoints(ctx)
	if err != nil {
		return fmt.Errorf("load webhook endpoints: %w", err)
	}
	m := make(map[string]Endpoint, len(es))
	for _, e := range es {
		m[e.ID] = e
	}
	s.mu.Lock()
	s.endpoints = m
	s.mu.Unlock()
	return nil
}

// endpoint returns endpoint id from memory, refreshed once when missing.
func (s *Service) endpoint(ctx context.Context, id string) (Endpoint, error) {
	if e, ok := s.lookup(id); ok {
		return e, nil
	}
	if err := s.Refresh(ctx); err != nil {
		return Endpoint{}, err
	}
	if e, ok := s.lookup(id); ok {
		return e, nil
	}
	return Endpoint{}, hyperlieu.Errorf(hyperlieu.NotFound, "webhook endpoint not found")
}

func (s *Service) endpointList() []Endpoint {
	s.mu.RLock()
	out := make([]Endpoint, 0, len(s.endpoints))
	for _, e := range s.endpoints {
		out = append(out, e)
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func (s *Service) setEndpoint(e Endpoint) {
	s.mu.Lock()
	if s.endpoints == nil {
		s.endpoints = map[string]Endpoint{}
	}
	s.endpoints[e.ID] = e
	s.mu.Unlock()
}

// saveState stores e's pause and failure state, then keeps it in memory.
func (s *Service) saveState(ctx context.Context, e Endpoint) error {
	if err := s.store.UpdateWebhookEndpointState(ctx, e); err != nil {
		return fmt.Errorf("update webhook endpoint: %w", err)
	}
	s.setEndpoint(e)
	return nil
}

// lookup returns endpoint id from memory.
func (s *Service) lookup(id string) (Endpoint, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.endpoints[id]
	return e, ok
}
