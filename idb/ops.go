//go:build js && wasm

package idb

import (
	"context"
	"sort"

	"github.com/atelierstore/atelier/graph"
)

// Every mutation below goes through the writer queue: it is applied in
// call order, may share a transaction with concurrent mutations, and
// returns once that transaction has committed. A failed mutation writes
// nothing. If ctx ends while the mutation is still queued it is withdrawn
// and ctx.Err() is returned; once it is in a transaction, the call reports
// that transaction's outcome.

// keysIn lists the records a mutation of ids will read. Malformed ids are
// left out; the mutation rejects them.
func keysIn(store string, ids []string) []cacheKey {
	keys := make([]cacheKey, 0, len(ids))
	for _, id := range ids {
		if graph.ValidID(id) {
			keys = append(keys, cacheKey{store, id})
		}
	}
	return keys
}

func resolve(opts []WriteOption) writeOptions {
	var wo writeOptions
	for _, o := range opts {
		o(&wo)
	}
	return wo
}

// CreateWorkflow creates an empty workflow with a new id and the default
// viewport.
func (d *DB) CreateWorkflow(ctx context.Context, name string) (graph.Workflow, error) {
	w := graph.Workflow{ID: graph.NewID(), Name: name, Viewport: graph.DefaultViewport}
	if err := w.Validate(); err != nil {
		return graph.Workflow{}, err
	}
	var out graph.Workflow
	err := d.mutate(ctx, func(t *Tx) error {
		cp := w
		if err := t.writeWorkflow(&cp, storedRev{}, false); err != nil {
			return err
		}
		out = cp
		return nil
	})
	return out, err
}

// UpdateWorkflow applies a patch (name, viewport, meta) to a workflow and
// returns the stored result: to rename one,
// UpdateWorkflow(ctx, id, graph.WorkflowPatch{Name: new("Storyboard")}). It fails with atelier.ErrNotFound for an
// unknown workflow and atelier.ErrInvalid when the result is invalid.
func (d *DB) UpdateWorkflow(ctx context.Context, id string, p graph.WorkflowPatch, opts ...WriteOption) (graph.Workflow, error) {
	wo := resolve(opts)
	var out graph.Workflow
	err := d.mutate(ctx, func(t *Tx) (err error) {
		out, err = t.updateWorkflow(id, &p, wo)
		return err
	}, cacheKey{storeWorkflows, id})
	return out, err
}

// DeleteWorkflow deletes a workflow with all of its nodes and edges. It
// fails with atelier.ErrNotFound for an unknown workflow.
func (d *DB) DeleteWorkflow(ctx context.Context, id string, opts ...WriteOption) error {
	wo := resolve(opts)
	return d.mutate(ctx, func(t *Tx) error { return t.deleteWorkflow(id, wo) }, cacheKey{storeWorkflows, id})
}

// ListWorkflows returns every workflow, most recently updated first.
func (d *DB) ListWorkflows(ctx context.Context) ([]graph.Workflow, error) {
	var out []graph.Workflow
	err := d.View(ctx, func(t *Tx) (err error) {
		out, err = t.Workflows()
		return err
	})
	sortWorkflows(out)
	return out, err
}

// sortWorkflows orders workflows most recently updated first.
func sortWorkflows(ws []graph.Workflow) {
	sort.Slice(ws, func(i, j int) bool {
		if ws[i].UpdatedAt != ws[j].UpdatedAt {
			return ws[i].UpdatedAt > ws[j].UpdatedAt
		}
		return ws[i].ID > ws[j].ID
	})
}

// LoadWorkflow returns a workflow with all of its nodes and edges (in
// creation order), read in one consistent snapshot. It fails with
// atelier.ErrNotFound for an unknown workflow.
func (d *DB) LoadWorkflow(ctx context.Context, id string) (graph.Graph, error) {
	if !graph.ValidID(id) {
		return graph.Graph{}, badWorkflowID(id)
	}
	var g graph.Graph
	err := d.View(ctx, func(t *Tx) error {
		// Three requests, one wait: they complete in order.
		wreq, err := t.tx.Get(storeWorkflows, id)
		if err != nil {
			return err
		}
		nreq, err := t.tx.GetAll(storeNodes, indexWorkflowID, id)
		if err != nil {
			return err
		}
		ereq, err := t.tx.GetAll(storeEdges, indexWorkflowID, id)
		if err != nil {
			return err
		}
		if err := ereq.Wait(t.ctx); err != nil {
			return err
		}
		r, ok, err := wreq.Rev()
		if err != nil {
			return err
		}
		if !ok {
			return notFound("workflow", id)
		}
		if err := t.c.DecodeWorkflow(r.Body, &g.Workflow); err != nil {
			return corrupt(storeWorkflows, id, err)
		}
		if g.Nodes, err = decodeAll(t, nodeKind, nreq); err != nil {
			return err
		}
		g.Edges, err = decodeAll(t, edgeKind, ereq)
		return err
	})
	return g, err
}

// SetNodes makes nodes the complete node set of workflow wf: nodes of wf
// not in the list are deleted together with their edges; nodes whose
// content did not change are not rewritten (their version stays). Nodes
// with an empty ID get a new one, an empty WorkflowID means wf. It returns
// the nodes as stored. It fails with atelier.ErrNotFound for an unknown
// workflow and atelier.ErrInvalid for an invalid node, a repeated id, or an
// id that belongs to another workflow.
func (d *DB) SetNodes(ctx context.Context, wf string, nodes []graph.Node) ([]graph.Node, error) {
	var out []graph.Node
	err := d.mutate(ctx, func(t *Tx) (err error) {
		out, err = t.setNodes(wf, nodes)
		return err
	}, cacheKey{storeWorkflows, wf})
	return out, err
}

// Chunks yields a list a chunk at a time: it calls each with the chunks
// in order and returns the first error, each's or its own (a chunk it
// could not decode, say). SetNodesFrom may call it more than once (a write
// is retried on fresh reads), and it must yield the same items each time.
type Chunks[T any] func(each func([]T) error) error

// SetNodesFrom is SetNodes for nodes that come a chunk at a time: each
// chunk is checked and handed to the database before the next is asked
// for, so that the database writes the first ones while the rest are
// still being decoded. A chunk that fails (an invalid node, or the
// source's error) leaves the store as it was, as SetNodes does; so does
// an unknown workflow, which is reported before any chunk is asked for.
func (d *DB) SetNodesFrom(ctx context.Context, wf string, nodes Chunks[graph.Node]) ([]graph.Node, error) {
	var out []graph.Node
	err := d.mutate(ctx, func(t *Tx) (err error) {
		out, err = t.setNodesFrom(wf, nodes)
		return err
	}, cacheKey{storeWorkflows, wf})
	return out, err
}

// PutNodes creates or replaces the given nodes of workflow wf, leaving its
// other nodes alone. Errors are those of SetNodes.
func (d *DB) PutNodes(ctx context.Context, wf string, nodes []graph.Node) ([]graph.Node, error) {
	var out []graph.Node
	reads := make([]cacheKey, 0, len(nodes)+1)
	reads = append(reads, cacheKey{storeWorkflows, wf})
	for _, n := range nodes {
		if n.ID != "" {
			reads = append(reads, cacheKey{storeNodes, n.ID})
		}
	}
	err := d.mutate(ctx, func(t *Tx) (err error) {
		out, err = t.putNodes(wf, nodes)
		return err
	}, reads...)
	return out, err
}

// DeleteNodes deletes nodes of workflow wf and the edges attached to them.
// It fails with atelier.ErrNotFound, deleting nothing, if any id is not a
// node of wf.
func (d *DB) DeleteNodes(ctx context.Context, wf string, ids ...string) error {
	return d.mutate(ctx, func(t *Tx) error { return t.deleteNodes(wf, ids) }, keysIn(storeNodes, ids)...)
}

// UpdateNode applies a patch to one node of workflow wf and returns the
// stored node: any of its fields, in one write (a move and a resize
// together, say, so that no reader sees one without the other). It fails with atelier.ErrNotFound for an unknown node,
// atelier.ErrInvalid when the node belongs to another workflow or the
// result is invalid, and atelier.ErrVersionConflict under IfVersion.
func (d *DB) UpdateNode(ctx context.Context, wf, id string, p graph.NodePatch, opts ...WriteOption) (graph.Node, error) {
	wo := resolve(opts)
	var out graph.Node
	err := d.mutate(ctx, func(t *Tx) (err error) {
		out, err = t.updateNode(wf, id, &p, wo)
		return err
	}, cacheKey{storeNodes, id})
	return out, err
}

// SetEdges makes edges the complete edge set of workflow wf (edges not in
// the list are deleted, unchanged ones not rewritten). Every edge must
// connect two nodes of wf. It returns the edges as stored.
func (d *DB) SetEdges(ctx context.Context, wf string, edges []graph.Edge) ([]graph.Edge, error) {
	var out []graph.Edge
	err := d.mutate(ctx, func(t *Tx) (err error) {
		out, err = t.putEdges(wf, edges, true)
		return err
	}, cacheKey{storeWorkflows, wf})
	return out, err
}

// PutEdges creates or replaces the given edges of workflow wf.
func (d *DB) PutEdges(ctx context.Context, wf string, edges []graph.Edge) ([]graph.Edge, error) {
	var out []graph.Edge
	reads := make([]cacheKey, 0, len(edges)+1)
	reads = append(reads, cacheKey{storeWorkflows, wf})
	for _, e := range edges {
		if e.ID != "" {
			reads = append(reads, cacheKey{storeEdges, e.ID})
		}
	}
	err := d.mutate(ctx, func(t *Tx) (err error) {
		out, err = t.putEdges(wf, edges, false)
		return err
	}, reads...)
	return out, err
}

// DeleteEdges deletes edges of workflow wf. It fails with
// atelier.ErrNotFound, deleting nothing, if any id is not an edge of wf.
func (d *DB) DeleteEdges(ctx context.Context, wf string, ids ...string) error {
	return d.mutate(ctx, func(t *Tx) error { return t.deleteEdges(wf, ids) }, keysIn(storeEdges, ids)...)
}

// PutGraph stores a whole graph in one transaction: the workflow (created,
// or replaced if its id exists), then exactly g's nodes and edges (others
// of the workflow are deleted). It is what an import commits. It fails
// with atelier.ErrInvalid (writing nothing) when the graph is invalid; the
// returned graph holds the stored versions.
func (d *DB) PutGraph(ctx context.Context, g *graph.Graph) (graph.Graph, error) {
	if err := g.Validate(); err != nil {
		return graph.Graph{}, err
	}
	var out graph.Graph
	err := d.Update(ctx, func(t *Tx) error {
		w := g.Workflow
		old, found, err := t.get(storeWorkflows, w.ID)
		if err != nil {
			return err
		}
		if err := t.writeWorkflow(&w, old, found); err != nil {
			return err
		}
		nodes, err := t.setNodes(w.ID, g.Nodes)
		if err != nil {
			return err
		}
		edges, err := t.putEdges(w.ID, g.Edges, true)
		if err != nil {
			return err
		}
		out = graph.Graph{Workflow: w, Nodes: nodes, Edges: edges}
		return nil
	})
	return out, err
}
