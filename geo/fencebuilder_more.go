package geo

// This file adds to FenceIndexBuilder what an index kept up to date needs:
// removing a fence, and reading back the cover Add computed, so that a
// caller changing one fence among thousands covers only that one.

// Remove removes the fence id, if present.
func (b *FenceIndexBuilder) Remove(id string) {
	delete(b.fences, id)
	delete(b.preps, id)
}

// CoverOf returns the cover Add computed for the fence id, and whether it
// is present. The slice must not be modified.
func (b *FenceIndexBuilder) CoverOf(id string) ([]CoverCell, bool) {
	p, ok := b.preps[id]
	return p.cover, ok
}
