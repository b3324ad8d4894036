package notify

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hyperlieu/hyperlieu"
)

// Device is a phone or browser that receives pushes for one account. A token
// belongs to one account at a time.
type Device struct {
	Token      string
	UserID     string
	Platform   string // android, ios or web
	AppVersion string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// DeviceInput registers a device. InstallID is the app's install
// identifier: unlike the token, it stays in the account's install history
// when the token moves on, so referrals can tell two accounts on one phone.
type DeviceInput struct {
	Token, Platform, AppVersion, InstallID string
}

// RegisterDevice registers or refreshes the caller's device. A token known
// for another account moves to this one (phones change hands). When the
// account then has more than MaxDevices, the least recently refreshed are
// dropped. Invalid names each bad field.
func (s *Service) RegisterDevice(ctx context.Context, userID string, in DeviceInput) (Device, error) {
	var p hyperlieu.Problems
	switch n := len(in.Token); {
	case strings.TrimSpace(in.Token) == "":
		p.Add("token", "is required")
	case n > 4096 || !utf8.ValidString(in.Token) || strings.ContainsAny(in.Token, " \t\r\n/"):
		p.Add("token", "is not a push registration token")
	}
	if !slices.Contains(Platforms, in.Platform) {
		p.Add("platform", "must be one of %s", strings.Join(Platforms, ", "))
	}
	if len(in.AppVersion) > 64 {
		p.Add("appVersion", "must be at most 64 bytes")
	}
	if len(in.InstallID) > 128 || !utf8.ValidString(in.InstallID) || strings.ContainsAny(in.InstallID, " \t\r\n") {
		p.Add("installId", "must be at most 128 bytes, without spaces")
	}
	if err := p.Err(); err != nil {
		return Device{}, err
	}
	now := s.opts.Now().UTC()
	d := Device{Token: in.Token, UserID: userID, Platform: in.Platform, AppVersion: in.AppVersion, CreatedAt: now, UpdatedAt: now}
	if err := s.store.UpdateDevice(ctx, d); err != nil {
		return Device{}, fmt.Errorf("register device: %w", err)
	}
	if in.InstallID != "" {
		if err := s.store.UpdateInstallIDs(ctx, userID, in.InstallID); err != nil {
			return Device{}, fmt.Errorf("register device: %w", err)
		}
	}
	// What waited for a first device is due now, or when the customer's
	// quiet hours end.
	users, err := s.store.FindUsers(ctx, []string{userID})
	if err != nil {
		return Device{}, fmt.Errorf("register device: %w", err)
	}
	due := now
	if len(users) == 1 {
		due = AfterQuietHours(now, users[0].Prefs.Location(), users[0].Prefs.QuietHours).UTC()
	}
	if err := s.store.UpdateParked(ctx, userID, due); err != nil {
		return Device{}, fmt.Errorf("register device: %w", err)
	}
	devs, err := s.store.FindDevices(ctx, userID)
	if err != nil {
		return Device{}, fmt.Errorf("register device: %w", err)
	}
	if len(devs) > s.opts.MaxDevices {
		var old []string
		for _, o := range devs[s.opts.MaxDevices:] {
			if o.Token != d.Token {
				old = append(old, o.Token)
			}
		}
		if err := s.store.DeleteDeviceTokens(ctx, old); err != nil {
			return Device{}, fmt.Errorf("register device: %w", err)
		}
	}
	for _, o := range devs {
		if o.Token == d.Token {
			return o, nil
		}
	}
	return d, nil
}

// DeleteDevice forgets the caller's device. NotFound unless it is theirs.
func (s *Service) DeleteDevice(ctx context.Context, userID, token string) error {
	if err := s.store.DeleteDevice(ctx, userID, token); err != nil {
		return fmt.Errorf("delete device: %w", err)
	}
	return nil
}

// DeviceTokensOf returns the push tokens registered to the user, so that
// referrals can refuse a newcomer on the referrer's own phone.
func (s *Service) DeviceTokensOf(ctx context.Context, userID string) ([]string, error) {
	ds, err := s.store.FindDevices(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("device tokens: %w", err)
	}
	tokens := make([]string, len(ds))
	for i, d := range ds {
		tokens[i] = d.Token
	}
	return tokens, nil
}

// InstallIDsOf returns the app installs the user ever registered a device
// from (bounded), so that referrals can refuse a newcomer on the referrer's
// own phone even after the push token moved between the accounts.
func (s *Service) InstallIDsOf(ctx context.Context, userID string) ([]string, error) {
	ids, err := s.store.FindInstallIDs(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("install ids: %w", err)
	}
	return ids, nil
}
