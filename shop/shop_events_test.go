package shop

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestShopEventsFromMemory: a shop's events that have not ended (its
// feeds, its widget) come from memory, cancelled ones included and ended
// ones not, without a query; only a from in the past reads the database.
func TestShopEventsFromMemory(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	over := f.event(time.Hour, 5) // ends three hours in: an hour before now
	now := f.clock.Now().Add(4 * time.Hour)
	f.clock.Set(now)
	later, soon := f.event(48*time.Hour, 5), f.event(time.Hour, 5)
	if _, err := f.events.CancelEvent(ctx, f.manager, later.ID, "rain"); err != nil {
		t.Fatal(err)
	}
	f.store.mu.Lock()
	f.store.eventsErr = errors.New("no query expected")
	f.store.mu.Unlock()
	_, evs, err := f.events.ShopEvents(ctx, f.shop.ID, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].ID != soon.ID || evs[1].ID != later.ID || !evs[1].Cancelled() {
		t.Errorf("ShopEvents from now = %v; want the coming one, then the cancelled one", evs)
	}
	if _, _, err := f.events.ShopEvents(ctx, f.shop.ID, f.clock.Now().Add(-24*time.Hour)); err == nil {
		t.Errorf("a from in the past did not read the database")
	}
	f.store.mu.Lock()
	f.store.eventsErr = nil
	f.store.mu.Unlock()
	_, evs, err = f.events.ShopEvents(ctx, f.shop.ID, f.clock.Now().Add(-24*time.Hour))
	if err != nil || len(evs) != 3 || evs[0].ID != over.ID {
		t.Errorf("ShopEvents from yesterday = %v, %v; want the ended one too, first", evs, err)
	}
}
