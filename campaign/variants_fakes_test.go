package campaign_test

import (
	"context"

	"github.com/hyperlieu/hyperlieu/campaign"
)

// memExperiments is memStore's share of the ExperimentStore.
type memExperiments struct {
	assigned  map[string]campaign.Assignment
	exposures map[string]map[string]campaign.Exposure
	marks     map[string]bool
}

func (m *memStore) CreateAssignment(_ context.Context, a campaign.Assignment) error {
	defer m.lock()()
	if m.exp.assigned == nil {
		m.exp.assigned = map[string]campaign.Assignment{}
	}
	k := a.CampaignID + "." + a.UserID
	if _, ok := m.exp.assigned[k]; ok {
		return errTaken
	}
	m.exp.assigned[k] = a
	return nil
}

func (m *memStore) FindAssignment(_ context.Context, campaignID, userID string) (campaign.Assignment, error) {
	defer m.lock()()
	a, ok := m.exp.assigned[campaignID+"."+userID]
	if !ok {
		return a, errNotFound
	}
	return a, nil
}

func (m *memStore) UpdateExposure(_ context.Context, userID, campaignID string, e campaign.Exposure) error {
	defer m.lock()()
	if m.exp.exposures == nil {
		m.exp.exposures = map[string]map[string]campaign.Exposure{}
	}
	if m.exp.exposures[userID] == nil {
		m.exp.exposures[userID] = map[string]campaign.Exposure{}
	}
	m.exp.exposures[userID][campaignID] = e
	return nil
}

func (m *memStore) FindExposures(_ context.Context, userID string) (map[string]campaign.Exposure, error) {
	defer m.lock()()
	out := map[string]campaign.Exposure{}
	for k, v := range m.exp.exposures[userID] {
		out[k] = v
	}
	return out, nil
}

func (m *memStore) CreateExperimentMark(_ context.Context, key, _ string) error {
	defer m.lock()()
	if m.exp.marks == nil {
		m.exp.marks = map[string]bool{}
	}
	if m.exp.marks[key] {
		return errTaken
	}
	m.exp.marks[key] = true
	return nil
}
