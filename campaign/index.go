package campaign

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/geo"
)

// Campaign changes are loaded from the store's numbered change log, after
// the last change loaded; every fullReload, when something changed, all
// active campaigns are loaded again, in case a writer died between a
// campaign's write and its log entry. A full load reads every campaign by
// _id, so it is rare: at start, then at most hourly.
const fullReload = time.Hour

// snapshot is an immutable view of the active campaigns; it is swapped
// whole, so that readers never lock.
type snapshot struct {
	version   string
	index     *geo.FenceIndex
	campaigns map[string]Campaign
	cells     map[geo.Cell][]string // cover cells → campaigns, for "nearby"
}

// Refresh rebuilds the fence index from the active campaigns if the change
// marker moved since the last build.
func (s *Service) Refresh(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.store.FindCampaignsVersion(ctx)
	if err != nil {
		return err
	}
	old := s.snap.Load()
	if old.index != nil && old.version == v {
		return nil
	}
	snap := &snapshot{version: v, campaigns: map[string]Campaign{}, cells: map[geo.Cell][]string{}}
	if old.index == nil || time.Since(s.fullLoad) > fullReload {
		err = s.loadAll(ctx, snap)
	} else {
		err = s.loadChanges(ctx, old, snap)
	}
	if err != nil {
		return err
	}
	s.rebuild(ctx, snap)
	s.snap.Store(snap)
	return nil
}

// loadAll puts every active campaign in snap. s.mu is held.
func (s *Service) loadAll(ctx context.Context, snap *snapshot) error {
	// The log's top first: a change made during the load is loaded again.
	top, err := s.store.CampaignChangeTop(ctx)
	if err != nil {
		return err
	}
	cs, err := s.store.FindCampaigns(ctx, Active)
	if err != nil {
		return err
	}
	for _, c := range cs {
		snap.campaigns[c.ID] = c
	}
	s.changes, s.fullLoad = top, time.Now()
	return nil
}

// loadChanges puts in snap the campaigns of old, with the changes logged
// since the last loaded. s.mu is held.
func (s *Service) loadChanges(ctx context.Context, old, snap *snapshot) error {
	cs, top, err := s.store.FindCampaignsChangedAfter(ctx, s.changes)
	if err != nil {
		return err
	}
	maps.Copy(snap.campaigns, old.campaigns)
	for _, c := range cs {
		if c.Status == Active {
			snap.campaigns[c.ID] = c
		} else {
			delete(snap.campaigns, c.ID)
		}
	}
	s.changes = top
	return nil
}

// rebuild brings the index builder in line with snap's campaigns and
// builds snap's index and cells. Only new or changed fences are covered
// again: with thousands of campaigns, one change must not cost thousands of
// covers. A fence that cannot be indexed is logged and left out. s.mu is held.
func (s *Service) rebuild(ctx context.Context, snap *snapshot) {
	for id := range s.built {
		if c, ok := snap.campaigns[id]; !ok || !c.UpdatedAt.Equal(s.built[id]) {
			s.builder.Remove(id)
			delete(s.built, id)
		}
	}
	for id, c := range snap.campaigns {
		if _, ok := s.built[id]; ok {
			continue
		}
		if err := s.builder.Add(id, c.Geofence.Fence); err != nil {
			s.log.ErrorContext(ctx, "campaign geofence cannot be indexed; skipped", "campaign", id, "err", err)
			delete(snap.campaigns, id)
			continue
		}
		s.built[id] = c.UpdatedAt
	}
	for id := range snap.campaigns {
		cover, _ := s.builder.CoverOf(id)
		for _, cc := range cover {
			snap.cells[cc.Cell] = append(snap.cells[cc.Cell], id)
		}
	}
	snap.index = s.builder.Build()
}

// Run refreshes the index every Poll until ctx is done, so that a change
// made through any instance is live on this one within a few seconds, and
// writes the stats counted and the presence moves queued meanwhile. It returns once ctx is done, the
// refresh under way, if any, has stopped and the last counts are written.
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { hyperlieu.Every(ctx, s.opts.Poll, false, s.log, "write campaign stats", s.FlushStats) })
	wg.Go(func() { hyperlieu.Every(ctx, s.opts.Poll, false, s.log, "write presence", s.FlushPresence) })
	hyperlieu.Every(ctx, s.opts.Poll, false, s.log, "refresh campaigns", s.Refresh)
	wg.Wait()
	// The counts and moves of the last moments, as the server stops.
	if err := s.FlushStats(context.WithoutCancel(ctx)); err != nil {
		s.log.ErrorContext(ctx, "write campaign stats", "err", err)
	}
	if err := s.FlushPresence(context.WithoutCancel(ctx)); err != nil {
		s.log.ErrorContext(ctx, "write presence", "err", err)
	}
}

// active returns the current snapshot.
func (s *Service) active() *snapshot { return s.snap.Load() }
