//go:build js && wasm

package idb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/idbx"
	"github.com/atelierstore/atelier/internal/jsutil"
	"github.com/atelierstore/atelier/internal/recbody"
)

// Tx is a managed transaction, passed to the function given to DB.Update
// or DB.View. It offers only IndexedDB operations: the browser commits a
// transaction as soon as control returns to it with no request pending, so
// code inside Update must not wait for anything else (network, timers,
// channels, OPFS). A Tx must not be used after its function returns.
//
// Write methods validate first and write nothing when they fail. They set
// the entity's Version (stored version + 1) and UpdatedAt, and skip the
// write entirely when the entity is unchanged.
type Tx struct {
	ctx      context.Context
	db       *DB
	tx       *idbx.Tx
	writable bool
	c        *recbody.Codec
	now      int64 // ms; the clock reading for this transaction's writes
	writes   int   // write requests issued
	buf      []byte

	// cache holds stored revisions read (or written) in this transaction,
	// so that mutations batched together do not each wait for their own
	// reads. Only the writer's transactions have one; every write through
	// Tx keeps it current.
	cache map[cacheKey]cacheEntry

	// changes lists what the transaction wrote, for live queries and other
	// tabs once it has committed.
	changes []Change

	// exact makes write store entities with the Version and UpdatedAt they
	// carry, confirmed by the server (sv = Version), instead of bumping
	// them: for states that come from the server.
	exact bool
	// bulk marks a write that comes in several calls of write (a chunked
	// SetNodes): none of them is kept in the cache, as one large write
	// would not be.
	bulk bool

	// hooks follow this transaction's entity writes (see Hook), begun
	// at the first write.
	hooks      []TxHook
	hooksBegun bool

	// added names the kinds of which the transaction added records that
	// must not exist yet: a ConstraintError then means an id that belongs
	// to another workflow.
	added map[string]bool
}

// explain turns a failed commit into the error the caller should see.
func (t *Tx) explain(err error) error {
	if !errors.Is(err, jsutil.Named("ConstraintError")) {
		return err
	}
	var kinds []string
	for _, k := range []string{"workflow", "node", "edge"} {
		if t.added[k] {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) == 0 {
		return err
	}
	entity := strings.Join(kinds, " or ")
	return fmt.Errorf("%w (%v)", &errs.ValidationError{Entity: entity, Field: "id", Reason: "already belongs to another workflow"}, err)
}

type cacheKey struct{ store, id string }

type cacheEntry struct {
	rev   storedRev
	found bool
}

// cacheWrite records a revision this transaction wrote. The body is kept
// as it is: write never reuses the part of its buffer that bodies occupy.
func (t *Tx) cacheWrite(store string, r storedRev) {
	if t.cache != nil {
		t.cache[cacheKey{store, r.ID}] = cacheEntry{r, true}
	}
}

// prefetch reads, with a single wait, every record the batch's mutations
// declared they will read.
func (t *Tx) prefetch(keys []cacheKey) error {
	byStore := map[string][]string{}
	var stores []string
	for _, k := range keys {
		if _, ok := t.cache[k]; ok {
			continue
		}
		if _, seen := byStore[k.store]; !seen {
			stores = append(stores, k.store)
		}
		byStore[k.store] = append(byStore[k.store], k.id)
	}
	for _, s := range stores {
		if _, _, err := t.gets(s, byStore[s]); err != nil {
			return err
		}
	}
	return nil
}

func (t *Tx) checkWritable() error {
	if !t.writable {
		return ErrReadOnly
	}
	return nil
}

// stamp returns the updatedAt for a new revision of an entity whose stored
// revision has updatedAt prev: the clock, but never going backwards.
func (t *Tx) stamp(prev int64) int64 {
	if t.now <= prev {
		return prev + 1
	}
	return t.now
}

// ---- reading

// storedRev is one stored record: its plain properties and its body.
type storedRev = idbx.Rev

// gets returns the stored revisions for keys. Keys in the transaction's
// read cache are answered from it; the others are requested together and
// awaited once: requests of a transaction complete in order, so awaiting
// the last one means all are done.
func (t *Tx) gets(store string, keys []string) ([]storedRev, []bool, error) {
	if len(keys) == 0 {
		return nil, nil, nil
	}
	out := make([]storedRev, len(keys))
	found := make([]bool, len(keys))
	reqs := make([]idbx.Request, len(keys))
	issued := make([]bool, len(keys))
	pending := -1 // index of the last request issued
	for i, k := range keys {
		if e, ok := t.cache[cacheKey{store, k}]; ok {
			out[i], found[i] = e.rev, e.found
			continue
		}
		r, err := t.tx.Get(store, k)
		if err != nil {
			return nil, nil, err
		}
		reqs[i], issued[i], pending = r, true, i
	}
	if pending < 0 {
		return out, found, nil
	}
	if err := reqs[pending].Wait(t.ctx); err != nil {
		return nil, nil, err
	}
	for i, r := range reqs {
		if !issued[i] {
			continue
		}
		var err error
		if out[i], found[i], err = r.Rev(); err != nil {
			return nil, nil, err
		}
		if t.cache != nil {
			t.cache[cacheKey{store, keys[i]}] = cacheEntry{out[i], found[i]}
		}
	}
	return out, found, nil
}

func (t *Tx) get(store, key string) (storedRev, bool, error) {
	rs, found, err := t.gets(store, []string{key})
	if err != nil {
		return storedRev{}, false, err
	}
	return rs[0], found[0], nil
}

// byWorkflow reads every record of store that belongs to the workflow.
func (t *Tx) byWorkflow(store, wf string) ([]storedRev, error) {
	r, err := t.tx.GetAll(store, indexWorkflowID, wf)
	if err != nil {
		return nil, err
	}
	if err := r.Wait(t.ctx); err != nil {
		return nil, err
	}
	return r.Revs()
}

// keysByWorkflow reads the keys of every record of store that belongs to
// the workflow.
func (t *Tx) keysByWorkflow(store, wf string) ([]string, error) {
	r, err := t.tx.GetAllKeys(store, indexWorkflowID, wf)
	if err != nil {
		return nil, err
	}
	if err := r.Wait(t.ctx); err != nil {
		return nil, err
	}
	return r.Keys()
}

func notFound(entity, id string) error {
	return fmt.Errorf("%s %s: %w", entity, id, errs.ErrNotFound)
}

func badID(entity, id string) error {
	return &errs.ValidationError{Entity: entity, ID: id, Field: "id", Reason: "must be a canonical UUID"}
}

func corrupt(store, key string, err error) error {
	return &CorruptError{Store: store, Key: key, Err: err}
}

// one reads the entity with the given id.
func one[T any](t *Tx, k kind[T], id string) (T, error) {
	var v T
	if !graph.ValidID(id) {
		return v, badID(k.name, id)
	}
	r, ok, err := t.get(k.store, id)
	if err != nil {
		return v, err
	}
	if !ok {
		return v, notFound(k.name, id)
	}
	if err := k.decode(t.c, r.Body, &v); err != nil {
		return v, corrupt(k.store, id, err)
	}
	return v, nil
}

// decodeAll decodes the records a completed getAll returned.
func decodeAll[T any](t *Tx, k kind[T], req idbx.Request) ([]T, error) {
	g, err := req.Packed(false)
	if err != nil {
		return nil, err
	}
	out := make([]T, g.Len())
	var r storedRev
	for i := range out {
		b, shared, err := g.Next(&r)
		if err == nil {
			err = k.decodeIn(t.c, b, shared, &out[i])
		}
		if err != nil {
			return nil, corrupt(k.store, fmt.Sprint("#", i), err)
		}
	}
	return out, nil
}

// all reads every entity of a store, or of one workflow when wf is set.
func all[T any](t *Tx, k kind[T], wf string) ([]T, error) {
	var r idbx.Request
	var err error
	if wf == "" {
		r, err = t.tx.GetAll(k.store, "", nil)
	} else {
		if !graph.ValidID(wf) {
			return nil, badWorkflowID(wf)
		}
		r, err = t.tx.GetAll(k.store, indexWorkflowID, wf)
	}
	if err != nil {
		return nil, err
	}
	if err := r.Wait(t.ctx); err != nil {
		return nil, err
	}
	return decodeAll(t, k, r)
}

// Workflow returns the workflow with the given id. It fails with
// errs.ErrNotFound when there is none.
func (t *Tx) Workflow(id string) (graph.Workflow, error) { return one(t, workflowKind, id) }

// Workflows returns every workflow, in id (creation) order.
func (t *Tx) Workflows() ([]graph.Workflow, error) { return all(t, workflowKind, "") }

// Node returns the node with the given id. It fails with
// errs.ErrNotFound when there is none.
func (t *Tx) Node(id string) (graph.Node, error) { return one(t, nodeKind, id) }

// Nodes returns the nodes of a workflow in id (creation) order. A workflow
// without nodes, or an unknown workflow, gives an empty slice.
func (t *Tx) Nodes(workflowID string) ([]graph.Node, error) { return all(t, nodeKind, workflowID) }

// Edge returns the edge with the given id. It fails with
// errs.ErrNotFound when there is none.
func (t *Tx) Edge(id string) (graph.Edge, error) { return one(t, edgeKind, id) }

// Edges returns the edges of a workflow in id (creation) order.
func (t *Tx) Edges(workflowID string) ([]graph.Edge, error) { return all(t, edgeKind, workflowID) }

// ---- writing

// revise decides how an entity is written given its stored revision:
// unchanged content keeps the stored version and is not written; anything
// else gets version+1 and a fresh updatedAt. body is the entity encoded with
// the stored version and updatedAt, trailer the offset of those two fields.
// It returns the (possibly re-trailered) body and whether to write it.
func (t *Tx) revise(body []byte, trailer int, old storedRev, found bool) (nb []byte, v, u int64, write bool) {
	if found && bytes.Equal(body, old.Body) {
		return body, old.V, old.U, false
	}
	v, u = 1, t.now
	if found {
		v, u = old.V+1, t.stamp(old.U)
	}
	return t.c.AppendTrailer(body[:trailer], u, v), v, u, true
}

// write stores entities (already prepared and validated) given their
// stored revisions, and sets their Version and UpdatedAt. Entities new to
// the database are written with add, so that an id that exists elsewhere
// fails the transaction instead of being overwritten.
func write[T any](t *Tx, k kind[T], items []T, old []storedRev, found []bool) error {
	buf := t.buf[:0]
	recs := make([]rec, 0, len(items))
	t.changes = slices.Grow(t.changes, len(items))
	// A bulk write is not kept in the cache (the writer would not remember
	// it anyway): its entries are dropped, so that a later read in this
	// transaction asks the database, which has the new records.
	cache := len(items) <= maxRememberBatch && !t.bulk
	// Records are handed to the database every writeChunk records, so that
	// it stores the first ones while the rest are encoded.
	flushed := 0
	flush := func() error {
		chunk := recs[flushed:]
		flushed = len(recs)
		t.writes += len(chunk)
		for _, r := range chunk {
			if r.Add {
				t.added[k.name] = true
			}
			wf := r.WF
			if wf == "" {
				wf = r.ID // a workflow
			}
			t.changes = append(t.changes, Change{Kind: storeChange[k.store], ID: r.ID, WorkflowID: wf, Version: r.V, Replaced: t.exact})
			if cache {
				t.cacheWrite(k.store, storedRev{ID: r.ID, WF: r.WF, V: r.V, U: r.U, Body: buf[r.Start:r.End], Asset: r.Asset, SV: r.SV})
			} else if t.cache != nil {
				delete(t.cache, cacheKey{k.store, r.ID})
			}
		}
		return t.tx.PutRevs(k.store, chunk, buf)
	}
	for i := range items {
		v, u := k.rev(&items[i])
		exactV, exactU := *v, *u
		if !t.exact {
			*v, *u = old[i].V, old[i].U
		}
		start := len(buf)
		var trailer int
		buf, trailer = k.encode(t.c, buf, &items[i])
		if i == 0 && len(items) > 1 {
			// Room for a chunk of bodies sized like the first: growing
			// buf step by step copies them over and over (for 10k nodes,
			// 18 MB of garbage for 3.6 MB of bodies).
			buf = slices.Grow(buf, (len(buf)-start)*min(len(items), writeChunk)*9/8)
		}
		var nb []byte
		var nv, nu int64
		var changed bool
		sv := old[i].SV
		if t.exact {
			// The server's state: its version and time, confirmed.
			nb, nv, nu, sv = buf[start:], exactV, exactU, exactV
			changed = !found[i] || !bytes.Equal(nb, old[i].Body) || old[i].SV != sv
		} else {
			nb, nv, nu, changed = t.revise(buf[start:], trailer-start, old[i], found[i])
		}
		*v, *u = nv, nu
		if !changed {
			buf = buf[:start]
			continue
		}
		buf = append(buf[:start], nb...)
		id, wf := k.ids(&items[i])
		r := rec{ID: *id, V: nv, U: nu, Start: start, End: len(buf), Add: !found[i], SV: sv}
		if wf != nil {
			r.WF = *wf
		}
		if k.asset != nil {
			r.Asset = k.asset(&items[i])
		}
		owner := r.WF
		if owner == "" {
			owner = r.ID // a workflow
		}
		w := &Write{Kind: storeChange[k.store], ID: r.ID, WorkflowID: owner, Entity: &items[i],
			Prev: revisionOf(old[i]), Found: found[i], Version: nv, UpdatedAt: nu, Remote: t.exact, Asset: r.Asset}
		if found[i] && !t.exact {
			w.before = func() (any, error) {
				var v T
				if err := k.decode(t.c, old[i].Body, &v); err != nil {
					return nil, corrupt(k.store, r.ID, err)
				}
				return &v, nil
			}
		}
		if err := t.wrote(w); err != nil {
			return err
		}
		recs = append(recs, r)
		if len(recs)-flushed == writeChunk {
			if err := flush(); err != nil {
				return err
			}
			if !cache {
				// The flushed bodies are in JavaScript now and nothing
				// here refers to them: the next chunk reuses their room.
				buf = buf[:0]
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	// Later writes of this transaction append after these bodies, which
	// the cache keeps.
	t.buf = buf[len(buf):]
	return nil
}

// writeChunk is how many records write hands to the database at once: few
// enough that the database starts on a large write early, many enough that
// the calls cost nothing next to the records.
const writeChunk = 500

// writeWorkflow writes w (already validated), keeping the stored CreatedAt
// or setting it for a new workflow.
func (t *Tx) writeWorkflow(w *graph.Workflow, old storedRev, found bool) error {
	w.CreatedAt = t.now
	if found {
		var prev graph.Workflow
		if err := t.c.DecodeWorkflow(old.Body, &prev); err != nil {
			return corrupt(storeWorkflows, w.ID, err)
		}
		w.CreatedAt = prev.CreatedAt
	}
	ws := []graph.Workflow{*w}
	if err := write(t, workflowKind, ws, []storedRev{old}, []bool{found}); err != nil {
		return err
	}
	*w = ws[0]
	return nil
}

// deleteRevs deletes stored entities of store, recording the changes (and,
// when the store keeps an outbox, the delete operations).
func (t *Tx) deleteRevs(store string, revs []storedRev) error {
	kind := storeChange[store]
	for _, r := range revs {
		if err := t.tx.Delete(store, r.ID); err != nil {
			return fmt.Errorf("delete %s %s: %w", store, r.ID, err)
		}
		t.writes++
		if t.cache != nil {
			t.cache[cacheKey{store, r.ID}] = cacheEntry{}
		}
		wf := r.WF
		if wf == "" {
			wf = r.ID // a workflow
		}
		t.changes = append(t.changes, Change{Kind: kind, ID: r.ID, WorkflowID: wf})
		err := t.wrote(&Write{Kind: kind, ID: r.ID, WorkflowID: wf, Prev: revisionOf(r), Found: true,
			Version: r.V + 1, UpdatedAt: t.stamp(r.U), Remote: t.exact})
		if err != nil {
			return err
		}
	}
	return nil
}

// storeChange maps the stores whose changes other tabs hear about to the
// kind of change.
var storeChange = map[string]ChangeKind{
	storeWorkflows: ChangeWorkflow, storeNodes: ChangeNode, storeEdges: ChangeEdge,
}

// PutWorkflow creates or replaces a workflow. An empty w.ID gets a new id.
// On success w holds the stored Version, UpdatedAt and CreatedAt.
func (t *Tx) PutWorkflow(w *graph.Workflow) error {
	if err := t.checkWritable(); err != nil {
		return err
	}
	cp := *w
	if cp.ID == "" {
		cp.ID = graph.NewID()
	}
	if err := cp.Validate(); err != nil {
		return err
	}
	old, found, err := t.get(storeWorkflows, cp.ID)
	if err != nil {
		return err
	}
	if err := t.writeWorkflow(&cp, old, found); err != nil {
		return err
	}
	*w = cp
	return nil
}

// PutNode creates or replaces a node of an existing workflow (n.WorkflowID
// must be set). An empty n.ID gets a new id. It fails with
// errs.ErrNotFound if the workflow does not exist and errs.ErrInvalid
// if the node exists in another workflow. On success n holds the stored
// Version and UpdatedAt.
func (t *Tx) PutNode(n *graph.Node) error {
	if err := t.checkWritable(); err != nil {
		return err
	}
	if n.WorkflowID == "" {
		return &errs.ValidationError{Entity: "node", ID: n.ID, Field: "workflowId", Reason: "missing"}
	}
	out, err := t.putNodes(n.WorkflowID, []graph.Node{*n})
	if err != nil {
		return err
	}
	*n = out[0]
	return nil
}

// PutEdge creates or replaces an edge between two nodes of an existing
// workflow (e.WorkflowID must be set). It fails with errs.ErrNotFound if
// the workflow does not exist and errs.ErrInvalid if either end is not a
// node of that workflow. On success e holds the stored Version and
// UpdatedAt.
func (t *Tx) PutEdge(e *graph.Edge) error {
	if err := t.checkWritable(); err != nil {
		return err
	}
	if e.WorkflowID == "" {
		return &errs.ValidationError{Entity: "edge", ID: e.ID, Field: "workflowId", Reason: "missing"}
	}
	out, err := t.putEdges(e.WorkflowID, []graph.Edge{*e}, false)
	if err != nil {
		return err
	}
	*e = out[0]
	return nil
}

// DeleteWorkflow deletes a workflow with all its nodes and edges. It fails
// with errs.ErrNotFound when there is no such workflow.
func (t *Tx) DeleteWorkflow(id string) error {
	if err := t.checkWritable(); err != nil {
		return err
	}
	return t.deleteWorkflow(id, writeOptions{})
}

// DeleteNode deletes a node and the edges attached to it. It fails with
// errs.ErrNotFound when there is no such node.
func (t *Tx) DeleteNode(id string) error {
	if err := t.checkWritable(); err != nil {
		return err
	}
	if !graph.ValidID(id) {
		return badID("node", id)
	}
	r, ok, err := t.get(storeNodes, id)
	if err != nil {
		return err
	}
	if !ok {
		return notFound("node", id)
	}
	return t.deleteNodes(r.WF, []string{id})
}

// DeleteEdge deletes an edge. It fails with errs.ErrNotFound when there
// is no such edge.
func (t *Tx) DeleteEdge(id string) error {
	if err := t.checkWritable(); err != nil {
		return err
	}
	if !graph.ValidID(id) {
		return badID("edge", id)
	}
	r, ok, err := t.get(storeEdges, id)
	if err != nil {
		return err
	}
	if !ok {
		return notFound("edge", id)
	}
	return t.deleteEdges(r.WF, []string{id})
}
