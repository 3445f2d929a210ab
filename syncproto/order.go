package syncproto

import "sort"

// ApplyOrder returns the deferred changes and a page's changes, the
// latest of each entity, ordered for a client to apply them: creations
// and updates parents first, deletions children first, each kind in seq
// order.
func ApplyOrder(deferred, page []Change) []Change {
	latest := map[string]int{}
	var all []Change
	for _, list := range [][]Change{deferred, page} {
		for _, c := range list {
			if i, ok := latest[c.EntityID]; ok {
				if c.Seq >= all[i].Seq {
					all[i] = c
				}
				continue
			}
			latest[c.EntityID] = len(all)
			all = append(all, c)
		}
	}
	order := map[Entity]int{EntityWorkflow: 0, EntityNode: 1, EntityEdge: 2}
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if a.Deleted != b.Deleted {
			return !a.Deleted
		}
		if order[a.Entity] != order[b.Entity] {
			if a.Deleted {
				return order[a.Entity] > order[b.Entity]
			}
			return order[a.Entity] < order[b.Entity]
		}
		return a.Seq < b.Seq
	})
	return all
}
