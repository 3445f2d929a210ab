//go:build js && wasm

package idb

import (
	"encoding/json"
	"fmt"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/syncproto"
)

// The store's side of server truth: states that come from the sync server
// are written with their own version and time, confirmed (the server
// version, kept beside the entity), through the same paths as local
// writes, so that live queries, other tabs and hooks see them; hooks see
// them as Remote writes. Package outbox calls these while it applies acks
// and pulled changes.

// kindStore maps a change kind to its store.
func kindStore(k ChangeKind) (string, error) {
	switch k {
	case ChangeWorkflow:
		return storeWorkflows, nil
	case ChangeNode:
		return storeNodes, nil
	case ChangeEdge:
		return storeEdges, nil
	}
	return "", fmt.Errorf("%w: unknown entity kind %q", errs.ErrInvalid, k)
}

// KindOf maps a protocol entity to its change kind; ok is false for an
// entity this store does not keep.
func KindOf(e syncproto.Entity) (k ChangeKind, ok bool) {
	switch e {
	case syncproto.EntityWorkflow:
		return ChangeWorkflow, true
	case syncproto.EntityNode:
		return ChangeNode, true
	case syncproto.EntityEdge:
		return ChangeEdge, true
	}
	return "", false
}

// EntityOf maps a change kind to its protocol entity.
func EntityOf(k ChangeKind) syncproto.Entity {
	switch k {
	case ChangeWorkflow:
		return syncproto.EntityWorkflow
	case ChangeNode:
		return syncproto.EntityNode
	}
	return syncproto.EntityEdge
}

// Revisions returns the stored revisions of entities of one kind, with one
// wait for all; found[i] is false for a missing one. Later reads of them
// in this transaction are answered without waiting.
func (t *Tx) Revisions(k ChangeKind, ids []string) ([]Revision, []bool, error) {
	store, err := kindStore(k)
	if err != nil {
		return nil, nil, err
	}
	revs, found, err := t.gets(store, ids)
	if err != nil {
		return nil, nil, err
	}
	out := make([]Revision, len(revs))
	for i, r := range revs {
		out[i] = revisionOf(r)
	}
	return out, found, nil
}

// AdoptServerVersion records that the stored state of an entity is the
// server's at version: the entity takes that version, confirmed. A missing
// entity is left alone.
func (t *Tx) AdoptServerVersion(k ChangeKind, id string, version int64) error {
	if err := t.checkWritable(); err != nil {
		return err
	}
	store, err := kindStore(k)
	if err != nil {
		return err
	}
	cur, found, err := t.get(store, id)
	if err != nil || !found {
		return err
	}
	t.exact = true
	defer func() { t.exact = false }()
	switch k {
	case ChangeWorkflow:
		return adopt(t, workflowKind, cur, version)
	case ChangeNode:
		return adopt(t, nodeKind, cur, version)
	default:
		return adopt(t, edgeKind, cur, version)
	}
}

func adopt[T any](t *Tx, k kind[T], cur storedRev, version int64) error {
	var v T
	if err := k.decode(t.c, cur.Body, &v); err != nil {
		return corrupt(k.store, cur.ID, err)
	}
	ver, _ := k.rev(&v)
	*ver = version
	return write(t, k, []T{v}, []storedRev{cur}, []bool{true})
}

// ConfirmServerVersion records the server's version of an entity that has
// newer local changes: the entity keeps its content and version. A missing
// entity is left alone.
func (t *Tx) ConfirmServerVersion(k ChangeKind, id string, sv int64) error {
	if err := t.checkWritable(); err != nil {
		return err
	}
	store, err := kindStore(k)
	if err != nil {
		return err
	}
	cur, found, err := t.get(store, id)
	if err != nil || !found || cur.SV == sv {
		return err
	}
	cur.SV = sv
	r := rec{ID: cur.ID, WF: cur.WF, V: cur.V, U: cur.U, End: len(cur.Body), Asset: cur.Asset, SV: sv}
	t.writes++
	t.cacheWrite(store, cur)
	return t.tx.PutRevs(store, []rec{r}, cur.Body)
}

// ApplyServerState makes the local copy of an entity the server's state c
// (its data, version and time, confirmed), unless what is confirmed
// locally is as new already. Deleting a workflow or node also deletes what
// it contains, as a local delete does. wrote reports whether it wrote;
// when it did not, orphan reports that the entity's workflow, or an edge's
// end node, is missing here, so that the change may apply later. A state
// that is not valid is an error: a server never sends one.
func (t *Tx) ApplyServerState(c syncproto.Change) (wrote, orphan bool, err error) {
	return t.applyServerState(c, false)
}

// AdoptServerState is ApplyServerState for the answer to this device's
// own write: c replaces the local copy even when what is confirmed
// locally is as new (an earlier answer of the same push may have
// confirmed c's version while the local copy still held the write that c
// superseded).
func (t *Tx) AdoptServerState(c syncproto.Change) (wrote, orphan bool, err error) {
	return t.applyServerState(c, true)
}

func (t *Tx) applyServerState(c syncproto.Change, force bool) (wrote, orphan bool, err error) {
	if err := t.checkWritable(); err != nil {
		return false, false, err
	}
	k, ok := KindOf(c.Entity)
	if !ok {
		return false, false, nil
	}
	store, _ := kindStore(k)
	cur, found, err := t.get(store, c.EntityID)
	if err != nil {
		return false, false, err
	}
	if found && !force && cur.SV >= c.Version && cur.V >= c.Version {
		return false, false, nil // already there, or newer
	}
	t.exact = true
	defer func() { t.exact = false }()
	if c.Deleted {
		if !found {
			return false, false, nil
		}
		return true, false, t.deleteServerState(k, cur)
	}
	switch k {
	case ChangeWorkflow:
		var w graph.Workflow
		if err := remoteEntity(c, &w, w.Validate); err != nil {
			return false, false, err
		}
		w.Version, w.UpdatedAt = c.Version, c.UpdatedAt
		return true, false, write(t, workflowKind, []graph.Workflow{w}, []storedRev{cur}, []bool{found})
	case ChangeNode:
		return t.applyServerNode(c, cur, found)
	default:
		return t.applyServerEdge(c, cur, found)
	}
}

func (t *Tx) deleteServerState(k ChangeKind, cur storedRev) error {
	switch k {
	case ChangeWorkflow:
		return t.deleteWorkflow(cur.ID, writeOptions{})
	case ChangeNode:
		edges, err := t.edgesTouching(cur.WF, []string{cur.ID})
		if err != nil {
			return err
		}
		if err := t.deleteRevs(storeEdges, edges); err != nil {
			return err
		}
		return t.dropNodes([]storedRev{cur})
	default:
		return t.deleteRevs(storeEdges, []storedRev{cur})
	}
}

func (t *Tx) applyServerNode(c syncproto.Change, cur storedRev, found bool) (wrote, orphan bool, err error) {
	var n graph.Node
	if err := remoteEntity(c, &n, n.Validate); err != nil {
		return false, false, err
	}
	_, ok, err := t.get(storeWorkflows, n.WorkflowID)
	if err != nil || !ok {
		return false, err == nil, err
	}
	if found && cur.WF != n.WorkflowID {
		return false, false, nil
	}
	n.Version, n.UpdatedAt = c.Version, c.UpdatedAt
	return true, false, write(t, nodeKind, []graph.Node{n}, []storedRev{cur}, []bool{found})
}

func (t *Tx) applyServerEdge(c syncproto.Change, cur storedRev, found bool) (wrote, orphan bool, err error) {
	var e graph.Edge
	if err := remoteEntity(c, &e, e.Validate); err != nil {
		return false, false, err
	}
	ends, there, err := t.gets(storeNodes, []string{e.Source, e.Target})
	if err != nil {
		return false, false, err
	}
	if !there[0] || !there[1] {
		return false, true, nil
	}
	if ends[0].WF != e.WorkflowID || ends[1].WF != e.WorkflowID || (found && cur.WF != e.WorkflowID) {
		return false, false, nil
	}
	e.Version, e.UpdatedAt = c.Version, c.UpdatedAt
	return true, false, write(t, edgeKind, []graph.Edge{e}, []storedRev{cur}, []bool{found})
}

// remoteEntity decodes and validates the state in a change.
func remoteEntity(c syncproto.Change, v any, validate func() error) error {
	if err := json.Unmarshal(c.Data, v); err != nil {
		return fmt.Errorf("%w: server sent %s %s that does not decode: %v", errs.ErrInvalid, c.Entity, c.EntityID, err)
	}
	if err := validate(); err != nil {
		return fmt.Errorf("server sent an invalid %s: %w", c.Entity, err)
	}
	return nil
}

// Unconfirmed returns, as writes of new entities, every entity of kind k
// that the server has never confirmed (no server version): what was
// written before sync was set up.
func (t *Tx) Unconfirmed(k ChangeKind) ([]Write, error) {
	store, err := kindStore(k)
	if err != nil {
		return nil, err
	}
	r, err := t.tx.GetAll(store, "", nil)
	if err != nil {
		return nil, err
	}
	if err := r.Wait(t.ctx); err != nil {
		return nil, err
	}
	all, err := r.Revs()
	if err != nil {
		return nil, err
	}
	var out []Write
	for _, rev := range all {
		if rev.SV > 0 {
			continue
		}
		v, err := decodeAny(t, k, rev.Body)
		if err != nil {
			return nil, corrupt(store, rev.ID, err)
		}
		wf := rev.WF
		if k == ChangeWorkflow {
			wf = rev.ID
		}
		out = append(out, Write{Kind: k, ID: rev.ID, WorkflowID: wf, Entity: v,
			Version: rev.V, UpdatedAt: rev.U, Asset: rev.Asset})
	}
	return out, nil
}

// decodeAny decodes a stored body of the given kind.
func decodeAny(t *Tx, k ChangeKind, body []byte) (any, error) {
	switch k {
	case ChangeWorkflow:
		var w graph.Workflow
		return &w, t.c.DecodeWorkflow(body, &w)
	case ChangeNode:
		var n graph.Node
		return &n, t.c.DecodeNode(body, &n)
	default:
		var e graph.Edge
		return &e, t.c.DecodeEdge(body, &e)
	}
}

// GetWorkflows returns the workflows with the given ids, with one wait;
// found[i] is false for a missing one.
func (t *Tx) GetWorkflows(ids []string) ([]graph.Workflow, []bool, error) {
	return many(t, workflowKind, ids)
}

// GetNodes returns the nodes with the given ids, with one wait; found[i]
// is false for a missing one.
func (t *Tx) GetNodes(ids []string) ([]graph.Node, []bool, error) { return many(t, nodeKind, ids) }

// GetEdges returns the edges with the given ids, with one wait; found[i]
// is false for a missing one.
func (t *Tx) GetEdges(ids []string) ([]graph.Edge, []bool, error) { return many(t, edgeKind, ids) }

func many[T any](t *Tx, k kind[T], ids []string) ([]T, []bool, error) {
	for _, id := range ids {
		if !graph.ValidID(id) {
			return nil, nil, badID(k.name, id)
		}
	}
	revs, found, err := t.gets(k.store, ids)
	if err != nil {
		return nil, nil, err
	}
	out := make([]T, len(ids))
	for i := range ids {
		if found[i] {
			if err := k.decode(t.c, revs[i].Body, &out[i]); err != nil {
				return nil, nil, corrupt(k.store, ids[i], err)
			}
		}
	}
	return out, found, nil
}
