package webhook

import (
	"context"
	"fmt"
	"slices"

	"github.com/hyperlieu/hyperlieu"
)

// Each endpoint's deliveries are numbered 1, 2, 3… in the order they were
// queued: slot n of endpoint e is a document "<e>#<n>" naming the delivery,
// taken by keyed insert, so that the admin's list is read by _id, newest
// first, in reads proportional to the page (issue 15). Slots are taken in
// order (a taken one sends the taker to the next), so they have no holes
// and the newest is found by doubling then halving from a hint.

// SlotStore keeps the numbered lists.
type SlotStore interface {
	// CreateWebhookSlot takes slot n of endpoint's list for deliveryID;
	// Conflict when it is taken.
	CreateWebhookSlot(ctx context.Context, endpointID string, n int, deliveryID string) error
	// FindWebhookSlot returns the delivery in slot n; NotFound when free.
	FindWebhookSlot(ctx context.Context, endpointID string, n int) (string, error)
}

// list takes d's slot in its endpoint's list, the first free one from the
// hint on (no read once the hint is known), and records it in d.Seq.
func (s *Service) list(ctx context.Context, d *Delivery) error {
	s.slotMu.Lock()
	n, known := s.slots[d.EndpointID]
	s.slotMu.Unlock()
	if !known { // once per endpoint and instance
		var err error
		if n, err = s.newest(ctx, d.EndpointID); err != nil {
			return err
		}
	}
	for round := 0; ; round++ {
		n++
		err := s.store.CreateWebhookSlot(ctx, d.EndpointID, n, d.ID)
		if err == nil {
			break
		}
		if hyperlieu.KindOf(err) != hyperlieu.Conflict {
			return fmt.Errorf("list delivery: %w", err)
		}
		if round == 3 { // far behind the others: look again
			s.hint(d.EndpointID, n)
			if n, err = s.newest(ctx, d.EndpointID); err != nil {
				return err
			}
		}
	}
	s.hint(d.EndpointID, n)
	d.Seq = n
	return nil
}

// newest returns the number of endpoint's newest taken slot (0 for none):
// one read when the hint is current.
func (s *Service) newest(ctx context.Context, endpoint string) (int, error) {
	s.slotMu.Lock()
	lo := s.slots[endpoint]
	s.slotMu.Unlock()
	taken := func(n int) (bool, error) {
		_, err := s.store.FindWebhookSlot(ctx, endpoint, n)
		if hyperlieu.KindOf(err) == hyperlieu.NotFound {
			return false, nil
		}
		return err == nil, err
	}
	lo, err := hyperlieu.LastTaken(lo, taken)
	if err != nil {
		return 0, fmt.Errorf("find list head: %w", err)
	}
	s.hint(endpoint, lo)
	return lo, nil
}

// hint records that endpoint's slot n is taken.
func (s *Service) hint(endpoint string, n int) {
	s.slotMu.Lock()
	defer s.slotMu.Unlock()
	if s.slots == nil {
		s.slots = map[string]int{}
	}
	s.slots[endpoint] = max(s.slots[endpoint], n)
}

// listed returns up to limit deliveries of endpoint from slot from down,
// newest first: a slot read and one or two delivery reads (the queue's
// copy, current for a replayed one, else the history's) each. Slots whose
// delivery is gone (a crash between the slot and the delivery, or an
// erased endpoint) are skipped, at most limit of them, as is a second slot
// of one delivery (a queueing retried after its slot was taken).
func (s *Service) listed(ctx context.Context, endpoint string, from, limit int) ([]Delivery, error) {
	var out []Delivery
	for n, skipped := from, 0; n >= 1 && len(out) < limit && skipped <= limit; n-- {
		id, err := s.store.FindWebhookSlot(ctx, endpoint, n)
		if err == nil {
			var d Delivery
			d, err = s.findDelivery(ctx, id)
			if err == nil && d.EndpointID == endpoint && !slices.ContainsFunc(out, func(o Delivery) bool { return o.ID == d.ID }) {
				out = append(out, d)
				continue
			}
		}
		if hyperlieu.KindOf(err) != hyperlieu.NotFound && err != nil {
			return nil, fmt.Errorf("list deliveries: %w", err)
		}
		skipped++
	}
	return out, nil
}

// findDelivery returns delivery id, queued or else finished; NotFound.
func (s *Service) findDelivery(ctx context.Context, id string) (Delivery, error) {
	d, err := s.store.FindQueuedWebhookDelivery(ctx, id)
	if hyperlieu.KindOf(err) == hyperlieu.NotFound {
		return s.store.FindWebhookDelivery(ctx, id)
	}
	return d, err
}
