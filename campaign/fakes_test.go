package campaign_test

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/campaign"
	"github.com/hyperlieu/hyperlieu/geo"
)

// memStore is an in-memory Store, LocationStore and OfferStore.
// Its claims are exact, as the database's unique inserts are.
type memStore struct {
	mu        sync.Mutex
	users     map[string]hyperlieu.User
	campaigns map[string]campaign.Campaign
	changes   []string // the change log: campaign ids, as written
	moves     []campaign.PresenceMove
	version   string
	stats     map[string]map[string]int64
	states    map[string]campaign.LocationState
	triggers  map[string]campaign.TriggerClaim
	answers   map[string]memAnswer
	offers    map[string]campaign.Offer // by code
	redeemed  map[string]campaign.Redemption
	budget    map[string]bool
	ops       int // store calls, each one database round trip
	exp       memExperiments
}

func newMemStore() *memStore {
	return &memStore{
		users: map[string]hyperlieu.User{}, campaigns: map[string]campaign.Campaign{}, stats: map[string]map[string]int64{},
		states: map[string]campaign.LocationState{}, triggers: map[string]campaign.TriggerClaim{},
		offers: map[string]campaign.Offer{}, redeemed: map[string]campaign.Redemption{}, budget: map[string]bool{},
	}
}

var errNotFound = hyperlieu.Errorf(hyperlieu.NotFound, "not found")
var errTaken = hyperlieu.Errorf(hyperlieu.Conflict, "already exists")

func (m *memStore) lock() func() {
	m.mu.Lock()
	m.ops++
	return m.mu.Unlock
}

func (m *memStore) FindUser(_ context.Context, id string) (hyperlieu.User, error) {
	defer m.lock()()
	u, ok := m.users[id]
	if !ok {
		return u, errNotFound
	}
	return u, nil
}
func (m *memStore) CreateCampaign(_ context.Context, c campaign.Campaign) error {
	defer m.lock()()
	m.campaigns[c.ID] = c
	m.changes = append(m.changes, c.ID)
	return nil
}
func (m *memStore) FindCampaign(_ context.Context, id string) (campaign.Campaign, error) {
	defer m.lock()()
	c, ok := m.campaigns[id]
	if !ok {
		return c, errNotFound
	}
	return c, nil
}
func (m *memStore) FindCampaigns(_ context.Context, sts ...campaign.Status) ([]campaign.Campaign, error) {
	defer m.lock()()
	var out []campaign.Campaign
	for _, c := range m.campaigns {
		for _, s := range sts {
			if c.Status == s {
				out = append(out, c)
			}
		}
	}
	return out, nil
}
func (m *memStore) CampaignChangeTop(context.Context) (int, error) {
	defer m.lock()()
	return len(m.changes), nil
}
func (m *memStore) FindCampaignsChangedAfter(_ context.Context, after int) ([]campaign.Campaign, int, error) {
	defer m.lock()()
	var out []campaign.Campaign
	seen := map[string]bool{}
	for _, id := range m.changes[min(after, len(m.changes)):] {
		if c, ok := m.campaigns[id]; ok && !seen[id] {
			seen[id] = true
			out = append(out, c)
		}
	}
	return out, max(after, len(m.changes)), nil
}
func (m *memStore) UpdateCampaign(_ context.Context, c campaign.Campaign) error {
	defer m.lock()()
	if _, ok := m.campaigns[c.ID]; !ok {
		return errNotFound
	}
	m.campaigns[c.ID] = c
	m.changes = append(m.changes, c.ID)
	return nil
}
func (m *memStore) FindCampaignsVersion(context.Context) (string, error) {
	defer m.lock()()
	return m.version, nil
}
func (m *memStore) UpdateCampaignsVersion(_ context.Context, v string) error {
	defer m.lock()()
	m.version = v
	return nil
}
func (m *memStore) UpdateCampaignStats(_ context.Context, id, _ string, d map[string]int64) error {
	defer m.lock()()
	if m.stats[id] == nil {
		m.stats[id] = map[string]int64{}
	}
	for k, v := range d {
		m.stats[id][k] += v
	}
	return nil
}
func (m *memStore) FindCampaignStats(_ context.Context, id string) (map[string]int64, error) {
	defer m.lock()()
	out := map[string]int64{}
	for k, v := range m.stats[id] {
		out[k] = v
	}
	return out, nil
}

// FindUsersPresentIn answers with every customer who has a state: the
// store's presence is a superset too.
func (m *memStore) FindUsersPresentIn(context.Context, []geo.Cell) ([]string, error) {
	defer m.lock()()
	return slices.Collect(maps.Keys(m.states)), nil
}
func (m *memStore) MovePresence(_ context.Context, moves []campaign.PresenceMove) error {
	defer m.lock()()
	m.moves = append(m.moves, moves...)
	return nil
}
func (m *memStore) FindConsentingUsers(_ context.Context, ids []string) ([]string, error) {
	defer m.lock()()
	var out []string
	for _, id := range ids {
		if m.users[id].Prefs.LocationConsent {
			out = append(out, id)
		}
	}
	return out, nil
}
func (m *memStore) FindLocationState(_ context.Context, id string) (campaign.LocationState, error) {
	defer m.lock()()
	s, ok := m.states[id]
	if !ok {
		return s, errNotFound
	}
	return cloneState(s), nil
}
func cloneState(s campaign.LocationState) campaign.LocationState {
	c := s
	c.Inside, c.Dwelled, c.Issued = map[string]time.Time{}, map[string]time.Time{}, map[string]int{}
	for k, v := range s.Inside {
		c.Inside[k] = v
	}
	for k, v := range s.Dwelled {
		c.Dwelled[k] = v
	}
	for k, v := range s.Issued {
		c.Issued[k] = v
	}
	c.Answers = maps.Clone(s.Answers)
	return c
}
func (m *memStore) UpdateLocationState(_ context.Context, s campaign.LocationState) error {
	defer m.lock()()
	m.states[s.UserID] = cloneState(s)
	return nil
}
func (m *memStore) CreateTrigger(_ context.Context, t campaign.TriggerClaim) error {
	defer m.lock()()
	if _, ok := m.triggers[t.Key]; ok {
		return errTaken
	}
	m.triggers[t.Key] = t
	return nil
}
func (m *memStore) FindTrigger(_ context.Context, key string) (campaign.TriggerClaim, error) {
	defer m.lock()()
	t, ok := m.triggers[key]
	if !ok {
		return t, errNotFound
	}
	return t, nil
}
func (m *memStore) CreateOffer(_ context.Context, o campaign.Offer) error {
	defer m.lock()()
	if _, ok := m.offers[o.Code]; ok {
		return errTaken
	}
	m.offers[o.Code] = o
	return nil
}
func (m *memStore) FindOfferByCode(_ context.Context, code string) (campaign.Offer, error) {
	defer m.lock()()
	o, ok := m.offers[code]
	if !ok {
		return o, errNotFound
	}
	if r, ok := m.redeemed[o.ID]; ok {
		o.RedeemedAt, o.ShopID = r.At, r.ShopID
	}
	return o, nil
}
func (m *memStore) FindOffer(_ context.Context, id string) (campaign.Offer, error) {
	defer m.lock()()
	for _, o := range m.offers {
		if o.ID == id {
			return o, nil
		}
	}
	return campaign.Offer{}, errNotFound
}
func (m *memStore) FindOffersOf(_ context.Context, userID string) ([]campaign.Offer, error) {
	defer m.lock()()
	var out []campaign.Offer
	for _, o := range m.offers {
		if o.UserID == userID {
			out = append(out, o)
		}
	}
	return out, nil
}
func (m *memStore) CreateRedemption(_ context.Context, r campaign.Redemption) error {
	defer m.lock()()
	if _, ok := m.redeemed[r.OfferID]; ok {
		return errTaken
	}
	m.redeemed[r.OfferID] = r
	return nil
}
func (m *memStore) DeleteRedemption(_ context.Context, id string) error {
	defer m.lock()()
	delete(m.redeemed, id)
	return nil
}
func (m *memStore) CreateBudgetSlot(_ context.Context, c string, n int, _ string) error {
	defer m.lock()()
	k := c + ":" + string(rune('0'+n))
	if m.budget[k] {
		return errTaken
	}
	m.budget[k] = true
	return nil
}
func (m *memStore) UpdateOfferRedeemed(_ context.Context, r campaign.Redemption) error {
	defer m.lock()()
	for code, o := range m.offers {
		if o.ID == r.OfferID {
			o.RedeemedAt, o.ShopID = r.At, r.ShopID
			m.offers[code] = o
			return nil
		}
	}
	return errNotFound
}
func (m *memStore) UpdateBudgetSpent(_ context.Context, id string, at time.Time) error {
	defer m.lock()()
	c, ok := m.campaigns[id]
	if !ok {
		return errNotFound
	}
	c.BudgetSpentAt, c.UpdatedAt = at, at
	m.campaigns[id] = c
	m.changes = append(m.changes, id)
	return nil
}

// fakeShops is a ShopDirectory of one shop and its managers.
type fakeShops struct {
	shop     string
	at       geo.Point
	managers map[string]bool
}

func (f fakeShops) ShopPlace(_ context.Context, id string) (geo.Point, string, error) {
	if id != f.shop {
		return geo.Point{}, "", errNotFound
	}
	return f.at, "Europe/Paris", nil
}
func (f fakeShops) ShopName(_ context.Context, id string) (string, error) {
	if id != f.shop {
		return "", errNotFound
	}
	return "Boutique " + id, nil
}
func (f fakeShops) ManagesShop(_ context.Context, user, id string) (bool, error) {
	return id == f.shop && f.managers[user], nil
}

func (f fakeShops) MayManageShop(ctx context.Context, a hyperlieu.Actor, id string) error {
	if ok, _ := f.ManagesShop(ctx, a.UserID, id); !a.CanManage(ok) {
		return hyperlieu.Errorf(hyperlieu.Forbidden, "you do not manage this shop")
	}
	return nil
}

// fakeNotifier counts contacts per user with a daily cap, as the
// notification service does, and records requests.
type fakeNotifier struct {
	mu       sync.Mutex
	contacts map[string]int
	sent     []hyperlieu.NotificationRequest
}

func (f *fakeNotifier) Notify(_ context.Context, reqs ...hyperlieu.NotificationRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, reqs...)
	return nil
}
func (f *fakeNotifier) ReserveContact(_ context.Context, u hyperlieu.User, at time.Time) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := u.ID + at.In(u.Prefs.Location()).Format("2006-01-02")
	if f.contacts == nil {
		f.contacts = map[string]int{}
	}
	if f.contacts[k] >= u.Prefs.MaxNotificationsPerDay {
		return false, nil
	}
	f.contacts[k]++
	return true, nil
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func (m *memStore) DeleteLocationData(_ context.Context, userID string) error {
	defer m.lock()()
	delete(m.states, userID)
	return nil
}

func (m *memStore) DeleteLocationStatesBefore(_ context.Context, before time.Time) (int64, error) {
	defer m.lock()()
	var n int64
	for id, s := range m.states {
		if s.At.Before(before) {
			delete(m.states, id)
			n++
		}
	}
	return n, nil
}

// fakeSegments puts every customer in one segment.
type fakeSegments hyperlieu.Segment

func (f fakeSegments) SegmentOf(context.Context, hyperlieu.User, time.Time) (hyperlieu.Segment, error) {
	return hyperlieu.Segment(f), nil
}

// fakeActivity records what loyalty is told.
type fakeActivity struct {
	mu   sync.Mutex
	seen []hyperlieu.Activity
}

func (f *fakeActivity) RecordActivity(_ context.Context, a hyperlieu.Activity) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen = append(f.seen, a)
	return nil
}

// count returns the number of trigger claims whose key starts with prefix.
func (m *memStore) count(prefix string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for k := range m.triggers {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

type memAnswer struct {
	answer []byte
	at     time.Time
}

func (m *memStore) CreateReportAnswer(_ context.Context, key, _ string, at time.Time, answer []byte) error {
	defer m.lock()()
	if _, ok := m.answers[key]; ok {
		return hyperlieu.Errorf(hyperlieu.Conflict, "taken")
	}
	if m.answers == nil {
		m.answers = map[string]memAnswer{}
	}
	m.answers[key] = memAnswer{answer: answer, at: at}
	return nil
}
func (m *memStore) FindReportAnswer(_ context.Context, key string) ([]byte, error) {
	defer m.lock()()
	a, ok := m.answers[key]
	if !ok {
		return nil, errNotFound
	}
	return a.answer, nil
}
func (m *memStore) DeleteReportAnswers(_ context.Context, keys []string) error {
	defer m.lock()()
	for _, k := range keys {
		delete(m.answers, k)
	}
	return nil
}
func (m *memStore) DeleteReportAnswersBefore(_ context.Context, before time.Time) (int64, error) {
	defer m.lock()()
	var n int64
	for k, a := range m.answers {
		if a.at.Before(before) {
			delete(m.answers, k)
			n++
		}
	}
	return n, nil
}
