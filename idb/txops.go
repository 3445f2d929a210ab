//go:build js && wasm

package idb

import (
	"fmt"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
)

// The operations below back both the Tx methods and the DB methods. Each
// reads and checks everything before its first write, so that a failing
// operation leaves the shared writer transaction untouched.

// requireWorkflow starts reading the workflow; check reports whether it
// exists, once a later read of the transaction has been awaited (or at
// once, when the read cache has it).
func (t *Tx) requireWorkflow(wf string) (check func() error, err error) {
	missing := func() error { return notFound("workflow", wf) }
	if e, ok := t.cache[cacheKey{storeWorkflows, wf}]; ok {
		if !e.found {
			return missing, nil
		}
		return func() error { return nil }, nil
	}
	req, err := t.tx.Get(storeWorkflows, wf)
	if err != nil {
		return nil, err
	}
	return func() error {
		if _, err := req.Await(t.ctx); err != nil {
			return err
		}
		v, err := req.Result()
		if err != nil {
			return err
		}
		if v.IsUndefined() {
			return missing()
		}
		return nil
	}, nil
}

// lookup reads the stored revisions of the entities that might exist
// (those whose ids were not generated just now).
func (t *Tx) lookup(store string, ids []string, generated []bool) ([]storedRev, []bool, error) {
	old := make([]storedRev, len(ids))
	found := make([]bool, len(ids))
	var keys []string
	var at []int
	for i, id := range ids {
		if !generated[i] {
			keys = append(keys, id)
			at = append(at, i)
		}
	}
	rs, fs, err := t.gets(store, keys)
	if err != nil {
		return nil, nil, err
	}
	for j, i := range at {
		old[i], found[i] = rs[j], fs[j]
	}
	return old, found, nil
}

func nodeIDs(nodes []graph.Node) []string {
	ids := make([]string, len(nodes))
	for i := range nodes {
		ids[i] = nodes[i].ID
	}
	return ids
}

func edgeIDs(edges []graph.Edge) []string {
	ids := make([]string, len(edges))
	for i := range edges {
		ids[i] = edges[i].ID
	}
	return ids
}

func otherWorkflow(entity, id string) error {
	return &errs.ValidationError{Entity: entity, ID: id, Field: "id", Reason: "belongs to another workflow"}
}

// putNodes creates or replaces nodes of workflow wf.
func (t *Tx) putNodes(wf string, in []graph.Node) ([]graph.Node, error) {
	nodes, generated, err := prepare(nodeKind, wf, in)
	if err != nil {
		return nil, err
	}
	wfExists, err := t.requireWorkflow(wf)
	if err != nil {
		return nil, err
	}
	old, found, err := t.lookup(storeNodes, nodeIDs(nodes), generated)
	if err != nil {
		return nil, err
	}
	if err := wfExists(); err != nil {
		return nil, err
	}
	for i := range nodes {
		if found[i] && old[i].WF != wf {
			return nil, otherWorkflow("node", nodes[i].ID)
		}
	}
	if err := write(t, nodeKind, nodes, old, found); err != nil {
		return nil, err
	}
	return nodes, nil
}

// setNodes makes in the complete node set of workflow wf: nodes not in it
// are deleted together with their edges, unchanged nodes are not written.
func (t *Tx) setNodes(wf string, in []graph.Node) ([]graph.Node, error) {
	return t.setNodesFrom(wf, func(each func([]graph.Node) error) error { return each(in) })
}

// setNodesFrom is setNodes for nodes that come in chunks. Each chunk is
// prepared and written before the next is asked for; the nodes of wf that
// none of them holds are deleted at the end, with their edges.
func (t *Tx) setNodesFrom(wf string, chunks Chunks[graph.Node]) ([]graph.Node, error) {
	if !graph.ValidID(wf) {
		return nil, badWorkflowID(wf)
	}
	wfExists, err := t.requireWorkflow(wf)
	if err != nil {
		return nil, err
	}
	existing, err := t.byWorkflow(storeNodes, wf)
	if err != nil {
		return nil, err
	}
	if err := wfExists(); err != nil {
		return nil, err
	}
	byID := make(map[string]int, len(existing))
	for i, r := range existing {
		byID[r.ID] = i
	}
	seen := map[string]struct{}{}
	var out []graph.Node
	n := 0
	defer func() { t.bulk = false }()
	err = chunks(func(in []graph.Node) error {
		if n++; n > 1 {
			t.bulk = true // see write
		}
		nodes, _, err := prepareSeen(nodeKind, wf, in, seen)
		if err != nil {
			return err
		}
		old := make([]storedRev, len(nodes))
		found := make([]bool, len(nodes))
		for i := range nodes {
			if j, ok := byID[nodes[i].ID]; ok {
				old[i], found[i] = existing[j], true
			}
		}
		if err := write(t, nodeKind, nodes, old, found); err != nil {
			return err
		}
		if out == nil {
			out = nodes
		} else {
			out = append(out, nodes...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var gone []storedRev
	for _, r := range existing {
		if _, kept := seen[r.ID]; !kept {
			gone = append(gone, r)
		}
	}
	edgesGone, err := t.edgesTouching(wf, revIDs(gone))
	if err != nil {
		return nil, err
	}
	if err := t.deleteRevs(storeEdges, edgesGone); err != nil {
		return nil, err
	}
	if err := t.dropNodes(gone); err != nil {
		return nil, err
	}
	if out == nil {
		out = []graph.Node{}
	}
	return out, nil
}

// replacing reads the records of workflow wf in store for a write that
// replaces them with ids: the stored revision of each id that is already
// in the workflow, and the ids of the records that will be gone. Ids that
// are not in the workflow yet are written with add, which fails if they
// exist in another workflow: the database does that check for free.
func (t *Tx) replacing(store, wf string, ids []string) (old []storedRev, found []bool, gone []storedRev, err error) {
	existing, err := t.byWorkflow(store, wf)
	if err != nil {
		return nil, nil, nil, err
	}
	byID := make(map[string]int, len(existing))
	for i, r := range existing {
		byID[r.ID] = i
	}
	old = make([]storedRev, len(ids))
	found = make([]bool, len(ids))
	for i, id := range ids {
		if j, ok := byID[id]; ok {
			old[i], found[i] = existing[j], true
			delete(byID, id)
		}
	}
	for _, r := range existing {
		if _, left := byID[r.ID]; left {
			gone = append(gone, r)
		}
	}
	return old, found, gone, nil
}

// edgesTouching returns the edges of wf attached to any of the given
// nodes.
func (t *Tx) edgesTouching(wf string, nodes []string) ([]storedRev, error) {
	if len(nodes) == 0 {
		return nil, nil
	}
	set := make(map[string]struct{}, len(nodes))
	for _, id := range nodes {
		set[id] = struct{}{}
	}
	revs, err := t.byWorkflow(storeEdges, wf)
	if err != nil {
		return nil, err
	}
	var out []storedRev
	var e graph.Edge
	for _, r := range revs {
		if err := t.c.DecodeEdge(r.Body, &e); err != nil {
			return nil, corrupt(storeEdges, r.ID, err)
		}
		_, s := set[e.Source]
		_, d := set[e.Target]
		if s || d {
			out = append(out, r)
		}
	}
	return out, nil
}

// deleteNodes deletes nodes of wf and the edges attached to them; every
// id must be a node of wf.
func (t *Tx) deleteNodes(wf string, ids []string) error {
	revs, err := t.ownedBy(storeNodes, "node", wf, ids)
	if err != nil {
		return err
	}
	edges, err := t.edgesTouching(wf, revIDs(revs))
	if err != nil {
		return err
	}
	if err := t.deleteRevs(storeEdges, edges); err != nil {
		return err
	}
	return t.dropNodes(revs)
}

// putEdges creates or replaces edges of wf; with replace, edges of wf not
// in the list are deleted.
func (t *Tx) putEdges(wf string, in []graph.Edge, replace bool) ([]graph.Edge, error) {
	edges, generated, err := prepare(edgeKind, wf, in)
	if err != nil {
		return nil, err
	}
	wfExists, err := t.requireWorkflow(wf)
	if err != nil {
		return nil, err
	}
	nodeKeys, err := t.keysByWorkflow(storeNodes, wf)
	if err != nil {
		return nil, err
	}
	if err := wfExists(); err != nil {
		return nil, err
	}
	nodes := make(map[string]struct{}, len(nodeKeys))
	for _, k := range nodeKeys {
		nodes[k] = struct{}{}
	}
	for i := range edges {
		e := &edges[i]
		if _, ok := nodes[e.Source]; !ok {
			return nil, &errs.ValidationError{Entity: "edge", ID: e.ID, Field: "source", Reason: "not a node of the workflow"}
		}
		if _, ok := nodes[e.Target]; !ok {
			return nil, &errs.ValidationError{Entity: "edge", ID: e.ID, Field: "target", Reason: "not a node of the workflow"}
		}
	}
	ids := edgeIDs(edges)
	var old []storedRev
	var found []bool
	var gone []storedRev
	if replace {
		if old, found, gone, err = t.replacing(storeEdges, wf, ids); err != nil {
			return nil, err
		}
	} else {
		if old, found, err = t.lookup(storeEdges, ids, generated); err != nil {
			return nil, err
		}
		for i := range edges {
			if found[i] && old[i].WF != wf {
				return nil, otherWorkflow("edge", ids[i])
			}
		}
	}
	if err := write(t, edgeKind, edges, old, found); err != nil {
		return nil, err
	}
	if err := t.deleteRevs(storeEdges, gone); err != nil {
		return nil, err
	}
	return edges, nil
}

// deleteEdges deletes edges of wf; every id must be an edge of wf.
func (t *Tx) deleteEdges(wf string, ids []string) error {
	revs, err := t.ownedBy(storeEdges, "edge", wf, ids)
	if err != nil {
		return err
	}
	return t.deleteRevs(storeEdges, revs)
}

// ownedBy checks that every id is a record of store belonging to workflow
// wf, and returns their stored revisions, without repeats.
func (t *Tx) ownedBy(store, entity, wf string, ids []string) ([]storedRev, error) {
	ids, err := prepareIDs(entity, ids)
	if err != nil {
		return nil, err
	}
	old, found, err := t.gets(store, ids)
	if err != nil {
		return nil, err
	}
	for i, id := range ids {
		if !found[i] || old[i].WF != wf {
			return nil, fmt.Errorf("%s %s of workflow %s: %w", entity, id, wf, errs.ErrNotFound)
		}
	}
	return old, nil
}

func revIDs(revs []storedRev) []string {
	ids := make([]string, len(revs))
	for i, r := range revs {
		ids[i] = r.ID
	}
	return ids
}

// dropNodes deletes nodes (hooks release the assets they used).
func (t *Tx) dropNodes(revs []storedRev) error {
	return t.deleteRevs(storeNodes, revs)
}

// deleteWorkflow deletes a workflow and everything in it.
func (t *Tx) deleteWorkflow(id string, wo writeOptions) error {
	if !graph.ValidID(id) {
		return badWorkflowID(id)
	}
	r, ok, err := t.get(storeWorkflows, id)
	if err != nil {
		return err
	}
	if !ok {
		return notFound("workflow", id)
	}
	if err := checkVersion("workflow", id, wo, r.V); err != nil {
		return err
	}
	nodes, err := t.byWorkflow(storeNodes, id)
	if err != nil {
		return err
	}
	edges, err := t.byWorkflow(storeEdges, id)
	if err != nil {
		return err
	}
	if err := t.deleteRevs(storeEdges, edges); err != nil {
		return err
	}
	if err := t.deleteRevs(storeNodes, nodes); err != nil {
		return err
	}
	return t.deleteRevs(storeWorkflows, []storedRev{r})
}

// updateNode applies a patch to one node of wf.
func (t *Tx) updateNode(wf, id string, p *graph.NodePatch, wo writeOptions) (graph.Node, error) {
	if !graph.ValidID(wf) {
		return graph.Node{}, badWorkflowID(wf)
	}
	if !graph.ValidID(id) {
		return graph.Node{}, badID("node", id)
	}
	r, ok, err := t.get(storeNodes, id)
	if err != nil {
		return graph.Node{}, err
	}
	if !ok {
		return graph.Node{}, notFound("node", id)
	}
	if r.WF != wf {
		return graph.Node{}, &errs.ValidationError{Entity: "node", ID: id, Field: "workflowId",
			Reason: "the node belongs to workflow " + r.WF + ", not " + wf}
	}
	if err := checkVersion("node", id, wo, r.V); err != nil {
		return graph.Node{}, err
	}
	var n graph.Node
	if err := t.c.DecodeNode(r.Body, &n); err != nil {
		return n, corrupt(storeNodes, id, err)
	}
	p.Apply(&n)
	if err := n.Validate(); err != nil {
		return graph.Node{}, err
	}
	nodes := []graph.Node{n}
	if err := write(t, nodeKind, nodes, []storedRev{r}, []bool{true}); err != nil {
		return graph.Node{}, err
	}
	return nodes[0], nil
}

// updateWorkflow applies a patch to a workflow.
func (t *Tx) updateWorkflow(id string, p *graph.WorkflowPatch, wo writeOptions) (graph.Workflow, error) {
	if !graph.ValidID(id) {
		return graph.Workflow{}, badWorkflowID(id)
	}
	r, ok, err := t.get(storeWorkflows, id)
	if err != nil {
		return graph.Workflow{}, err
	}
	if !ok {
		return graph.Workflow{}, notFound("workflow", id)
	}
	if err := checkVersion("workflow", id, wo, r.V); err != nil {
		return graph.Workflow{}, err
	}
	var w graph.Workflow
	if err := t.c.DecodeWorkflow(r.Body, &w); err != nil {
		return w, corrupt(storeWorkflows, id, err)
	}
	p.Apply(&w)
	if err := w.Validate(); err != nil {
		return graph.Workflow{}, err
	}
	if err := t.writeWorkflow(&w, r, true); err != nil {
		return graph.Workflow{}, err
	}
	return w, nil
}
