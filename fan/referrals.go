package fan

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// Referral statuses.
const (
	ReferralPending  = "pending"  // the newcomer has not checked in or redeemed yet
	ReferralRewarded = "rewarded" // both sides were paid
	ReferralRefused  = "refused"  // fraud check or monthly cap; Reason says which
)

// Referral attributes a newcomer (the referee) to the customer whose code
// they signed up with. A referee has at most one referrer.
type Referral struct {
	RefereeID  string
	ReferrerID string
	Code       string
	Status     string
	Reason     string
	CreatedAt  time.Time
	RewardedAt time.Time
	// EventID is set when the referee came through an invitation to an
	// event: the pair is rewarded on the referee's check-in there only.
	EventID string
}

// ReferralCodeOf returns the customer's referral code: derived from their ID
// by a hash, so it is stable, needs no coordination between instances and
// says nothing about the ID.
func ReferralCodeOf(userID string) string {
	h := sha256.Sum256([]byte("hyperlieu-referral:" + userID))
	return strings.ToUpper(base32.StdEncoding.EncodeToString(h[:5])) // 8 symbols, 40 bits
}

// ReferralInfo is what a customer sees of their referrals.
type ReferralInfo struct {
	Code, Link        string
	Referrals         []Referral
	RewardedThisMonth int
	MonthlyCap        int
}

// MyReferral returns the caller's code, link and referrals, registering the
// code on first use.
func (s *Service) MyReferral(ctx context.Context, userID string) (ReferralInfo, error) {
	code := ReferralCodeOf(userID)
	if err := s.store.CreateReferralCode(ctx, code, userID); err != nil {
		return ReferralInfo{}, fmt.Errorf("referral code: %w", err)
	}
	rs, err := s.store.FindReferralsBy(ctx, userID)
	if err != nil {
		return ReferralInfo{}, fmt.Errorf("referrals: %w", err)
	}
	info := ReferralInfo{Code: code, Link: s.opts.ReferralBaseURL + code, Referrals: rs, MonthlyCap: s.opts.ReferralCapPerMonth}
	// The count is the cap's own: the month's claimed slots, which stay when
	// a rewarded friend erases their account (and their referral with it).
	n, err := s.store.FindReferralSlotCount(ctx, userID, s.now().Format("2006-01"))
	if err != nil {
		return ReferralInfo{}, fmt.Errorf("referral slots: %w", err)
	}
	info.RewardedThisMonth = min(n, s.opts.ReferralCapPerMonth)
	return info, nil
}

// CheckReferralCode returns Invalid naming referralCode when code is not a
// customer's referral code, so that sign-up can refuse it up front.
func (s *Service) CheckReferralCode(ctx context.Context, code string) error {
	_, err := s.store.FindReferralCode(ctx, strings.ToUpper(strings.TrimSpace(code)))
	if hyperlieu.KindOf(err) == hyperlieu.NotFound {
		return hyperlieu.InvalidField("referralCode", "is not a known referral code").WithMessage("unknown referral code")
	}
	return err
}

// Attribute records that u signed up with code. An unknown code or the
// customer's own is refused with Invalid naming referralCode; a customer
// already attributed keeps their first referrer (Conflict).
func (s *Service) Attribute(ctx context.Context, u hyperlieu.User, code string) error {
	return s.attribute(ctx, u, code, "")
}

// attribute is Attribute from the client address addr: past
// ReferralsPerAddrWeek referral sign-ups from addr this week, the referral
// is recorded as refused.
func (s *Service) attribute(ctx context.Context, u hyperlieu.User, code, addr string) error {
	code = strings.ToUpper(strings.TrimSpace(code))
	referrer, err := s.store.FindReferralCode(ctx, code)
	if hyperlieu.KindOf(err) == hyperlieu.NotFound {
		return hyperlieu.InvalidField("referralCode", "is not a known referral code").WithMessage("unknown referral code")
	}
	if err != nil {
		return fmt.Errorf("attribute referral: %w", err)
	}
	if referrer == u.ID {
		return hyperlieu.InvalidField("referralCode", "is your own code").WithMessage("self-referral")
	}
	return s.attributeTo(ctx, Referral{RefereeID: u.ID, ReferrerID: referrer, Code: code}, addr)
}

// AttributeInvite records that u signed up through inviterID's invitation
// to eventID (code), from the client address addr: a referral like any
// other (per-address limit now; same-device check and monthly cap when it
// pays), paid on u's check-in at that event. It implements
// hyperlieu.InviteReferrals. Invalid naming inviteCode for one's own
// invitation; Conflict when u already has a referrer.
func (s *Service) AttributeInvite(ctx context.Context, u hyperlieu.User, inviterID, eventID, code, addr string) error {
	if inviterID == u.ID {
		return hyperlieu.InvalidField("inviteCode", "is your own invitation").WithMessage("self-invitation")
	}
	return s.attributeTo(ctx, Referral{RefereeID: u.ID, ReferrerID: inviterID, Code: code, EventID: eventID}, addr)
}

// attributeTo stores the pending referral r, refused past
// ReferralsPerAddrWeek referral sign-ups from addr this week.
func (s *Service) attributeTo(ctx context.Context, r Referral, addr string) error {
	r.Status, r.CreatedAt = ReferralPending, s.now()
	if addr != "" {
		ok, err := s.claimAddrSlot(ctx, addr, r.RefereeID)
		if err != nil {
			return fmt.Errorf("attribute referral: %w", err)
		}
		if !ok {
			r.Status, r.Reason = ReferralRefused, fmt.Sprintf("more than %d referral sign-ups from one address this week", s.opts.ReferralsPerAddrWeek)
		}
	}
	if err := s.store.CreateReferral(ctx, r); err != nil {
		return fmt.Errorf("attribute referral: %w", err)
	}
	return nil
}

// rewardReferral pays a pending referral of u, once, on their first
// purchase-like activity a (for an invitation: their check-in at its
// event): unless the two accounts share a device, or the referrer already
// had their monthly cap of rewarded referrals.
func (s *Service) rewardReferral(ctx context.Context, u hyperlieu.User, a hyperlieu.Activity) error {
	r, err := s.store.FindReferral(ctx, u.ID)
	if hyperlieu.KindOf(err) == hyperlieu.NotFound {
		return nil
	}
	if err != nil {
		return fmt.Errorf("referral of %s: %w", u.ID, err)
	}
	if r.Status != ReferralPending {
		return nil
	}
	if r.EventID != "" && (a.Kind != hyperlieu.ActivityCheckIn || a.EventID != r.EventID) {
		return nil // an invitation pays on the check-in at its event
	}
	now := s.now()
	// An erased referrer earns nothing and claims no slot: erasure blanks
	// their ID in the referral, and slots under one empty ID would be
	// shared by every erased referrer's friends.
	if gone, err := s.erased(ctx, r.ReferrerID); err != nil {
		return err
	} else if gone {
		r.Status, r.Reason = ReferralRefused, "the referrer's account was erased"
		return s.store.UpdateReferral(ctx, r)
	}
	shared, err := s.shareDevice(ctx, r.ReferrerID, r.RefereeID)
	if err != nil {
		return err
	}
	if shared {
		r.Status, r.Reason = ReferralRefused, "the referrer and the newcomer use the same device"
		return s.store.UpdateReferral(ctx, r)
	}
	won, err := s.claimSlot(ctx, r.ReferrerID, now.Format("2006-01"), s.opts.ReferralCapPerMonth, r.RefereeID)
	if err != nil {
		return fmt.Errorf("claim referral slot: %w", err)
	}
	if !won {
		r.Status, r.Reason = ReferralRefused, fmt.Sprintf("the referrer reached the cap of %d rewarded referrals this month", s.opts.ReferralCapPerMonth)
		return s.store.UpdateReferral(ctx, r)
	}
	// The source key hides the referee's ID: the referrer's ledger must not
	// name them once they erase their account.
	src := "referral:" + ReferralCodeOf(r.RefereeID)
	if s.opts.Earn.ReferralReferrer > 0 {
		if err := s.award(ctx, r.ReferrerID, s.opts.Earn.ReferralReferrer, "referral: a friend joined", src+":referrer"); err != nil {
			return fmt.Errorf("pay referrer: %w", err)
		}
	}
	if s.opts.Earn.ReferralReferee > 0 {
		if err := s.award(ctx, r.RefereeID, s.opts.Earn.ReferralReferee, "referral: welcome bonus", src+":referee"); err != nil {
			return fmt.Errorf("pay referee: %w", err)
		}
	}
	r.Status, r.Reason, r.RewardedAt = ReferralRewarded, "", now
	if err := s.store.UpdateReferral(ctx, r); err != nil {
		return fmt.Errorf("referral of %s: %w", u.ID, err)
	}
	// Each side hears of the points it was paid (the "for" variable picks
	// the referral texts); a side paid nothing hears nothing.
	var reqs []hyperlieu.NotificationRequest
	for _, side := range []struct {
		userID, role string
		points       int
	}{{r.ReferrerID, "referrer", s.opts.Earn.ReferralReferrer}, {r.RefereeID, "referee", s.opts.Earn.ReferralReferee}} {
		if side.points > 0 {
			reqs = append(reqs, hyperlieu.NotificationRequest{UserID: side.userID, Kind: hyperlieu.KindReward, Category: hyperlieu.CategoryLoyalty,
				Vars: map[string]string{"for": side.role, "points": fmt.Sprint(side.points)}, DedupKey: src + ":" + side.role})
		}
	}
	s.send(ctx, reqs...)
	return nil
}

// claimAddrSlot claims one of the week's referral sign-up slots of the
// client address, and reports whether one was free. The address is stored
// hashed.
func (s *Service) claimAddrSlot(ctx context.Context, addr, refereeID string) (bool, error) {
	h := sha256.Sum256([]byte("hyperlieu-addr:" + addr))
	y, w := s.now().ISOWeek()
	ok, err := s.claimSlot(ctx, "addr:"+base32.StdEncoding.EncodeToString(h[:10]), fmt.Sprintf("%d-W%02d", y, w), s.opts.ReferralsPerAddrWeek, refereeID)
	if err != nil {
		return false, fmt.Errorf("claim address slot: %w", err)
	}
	return ok, nil
}

// claimSlot claims for refereeID one of owner's limit slots of period, and
// reports whether one was free. Slots are claimed by unique insert, so the
// limit is exact across instances; a retry finds the slot it already holds.
func (s *Service) claimSlot(ctx context.Context, owner, period string, limit int, refereeID string) (bool, error) {
	for n := 1; n <= limit; n++ {
		holder, err := s.store.CreateReferralSlot(ctx, owner, period, n, refereeID)
		if err != nil {
			return false, err
		}
		if holder == refereeID {
			return true, nil
		}
	}
	return false, nil
}

// erased reports whether userID names no account (blank after erasure).
func (s *Service) erased(ctx context.Context, userID string) (bool, error) {
	if userID == "" {
		return true, nil
	}
	_, err := s.store.FindUser(ctx, userID)
	if hyperlieu.KindOf(err) == hyperlieu.NotFound {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("user %s: %w", userID, err)
	}
	return false, nil
}

func (s *Service) shareDevice(ctx context.Context, a, b string) (bool, error) {
	// Install ids, not push tokens: a token moves to whoever signs in on the
	// phone, so two accounts never hold the same one at once.
	ta, err := s.devices.InstallIDsOf(ctx, a)
	if err != nil {
		return false, fmt.Errorf("installs of %s: %w", a, err)
	}
	tb, err := s.devices.InstallIDsOf(ctx, b)
	if err != nil {
		return false, fmt.Errorf("installs of %s: %w", b, err)
	}
	for _, t := range tb {
		if slices.Contains(ta, t) {
			return true, nil
		}
	}
	return false, nil
}

// OnRegister is the fans' part of a sign-up, for AccountOptions.OnRegister:
// it registers the newcomer's own referral code, attributes them to the
// referrer whose code they gave and stores their first segment. The welcome
// message itself is the notification service's (NotificationService.Welcome). A bad referral code does not undo the sign-up: its error
// is returned for the log.
func (s *Service) OnRegister(ctx context.Context, u hyperlieu.User, in hyperlieu.Registration) error {
	var errs []error
	if err := s.store.CreateReferralCode(ctx, ReferralCodeOf(u.ID), u.ID); err != nil {
		errs = append(errs, err)
	}
	if strings.TrimSpace(in.ReferralCode) != "" {
		if err := s.attribute(ctx, u, in.ReferralCode, in.ClientAddr); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := s.refreshSegment(ctx, u); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("fans on register: %v", errs)
	}
	return nil
}
