//go:build js && wasm

package idb

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"syscall/js"

	"github.com/atelierstore/atelier"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/jsutil"
	"github.com/atelierstore/atelier/syncproto"
)

// The store's side of sync: the outbox a sync engine pushes from
// (PendingOps), what the server said about each op (AckOps), and the
// server's changes (ApplyRemote). States from the server are written with
// their own version and time, confirmed (property sv), through the same
// paths as local writes, so live queries and other tabs see them; they are
// not recorded as operations.

// readOplog reads outbox records (all of them, or those of one entity).
func (t *Tx) readOplog(entity string) ([]oplogRecord, error) {
	var req, err = t.tx.GetAll(storeOplog, "", nil)
	if entity != "" {
		req, err = t.tx.GetAll(storeOplog, indexEntity, entity)
	}
	if err != nil {
		return nil, err
	}
	arr, err := req.Await(t.ctx)
	if err != nil {
		return nil, err
	}
	var s string
	if err := jsutil.Try(func() { s = jsJSON.Call("stringify", arr).String() }); err != nil {
		return nil, err
	}
	var out []oplogRecord
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, &CorruptError{Store: storeOplog, Err: err}
	}
	return out, nil
}

// PendingOps returns up to limit operations waiting in the outbox (limit
// <= 0: all), oldest first. Parked operations are left out.
func (d *DB) PendingOps(ctx context.Context, limit int) ([]syncproto.Op, error) {
	var out []syncproto.Op
	err := d.View(ctx, func(t *Tx) error {
		recs, err := t.readOplog("")
		for _, r := range recs {
			if r.Parked == "" && (limit <= 0 || len(out) < limit) {
				out = append(out, r.Op)
			}
		}
		return err
	})
	return out, err
}

// ParkedOps returns the operations the server rejected, with why.
func (d *DB) ParkedOps(ctx context.Context) ([]Conflict, error) {
	var out []Conflict
	err := d.View(ctx, func(t *Tx) error {
		recs, err := t.readOplog("")
		for _, r := range recs {
			if r.Parked != "" {
				out = append(out, Conflict{Lost: r.Op, Reason: r.Parked})
			}
		}
		return err
	})
	return out, err
}

// RetryParked puts parked operations back in the queue to be pushed
// again (all of them when ids is empty).
func (d *DB) RetryParked(ctx context.Context, ids ...string) error {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	return d.Update(ctx, func(t *Tx) error {
		recs, err := t.readOplog("")
		if err != nil {
			return err
		}
		for _, r := range recs {
			if r.Parked != "" && (len(want) == 0 || want[r.ID]) {
				r.Parked = ""
				if err := t.putOplog(r); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func (t *Tx) putOplog(r oplogRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	var v js.Value
	if err := jsutil.Try(func() { v = jsJSON.Call("parse", string(b)) }); err != nil {
		return err
	}
	t.writes++
	return t.tx.Put(storeOplog, v)
}

// kindOf maps a protocol entity to its store and change kind.
func kindOf(e syncproto.Entity) (store string, kind ChangeKind, ok bool) {
	switch e {
	case syncproto.EntityWorkflow:
		return storeWorkflows, ChangeWorkflow, true
	case syncproto.EntityNode:
		return storeNodes, ChangeNode, true
	case syncproto.EntityEdge:
		return storeEdges, ChangeEdge, true
	}
	return "", "", false
}

// AckOps applies the server's answers to pushed operations, in one
// transaction. An applied op leaves the outbox and its entity gets the
// authoritative version (confirmed); a superseded op leaves the outbox
// and, unless newer local operations on the entity are still pending, the
// winning state replaces the local one; a rejected op stays in the outbox,
// parked. Superseded and rejected ops are returned as conflicts for the
// app. Acks for ops no longer in the outbox (a replay) are ignored.
func (d *DB) AckOps(ctx context.Context, acks []syncproto.Ack) ([]Conflict, error) {
	var conflicts []Conflict
	err := d.Update(ctx, func(t *Tx) error {
		t.recordOps = false
		conflicts = nil
		for _, ack := range acks {
			c, err := t.ack(ack)
			if err != nil {
				return fmt.Errorf("ack of op %s: %w", ack.OpID, err)
			}
			if c != nil {
				conflicts = append(conflicts, *c)
			}
		}
		return nil
	})
	return conflicts, err
}

func (t *Tx) ack(ack syncproto.Ack) (*Conflict, error) {
	req, err := t.tx.Get(storeOplog, ack.OpID)
	if err != nil {
		return nil, err
	}
	v, err := req.Await(t.ctx)
	if err != nil || v.IsUndefined() {
		return nil, err // gone already: a replayed ack
	}
	var rec oplogRecord
	if err := jsutil.Try(func() { err = json.Unmarshal([]byte(jsJSON.Call("stringify", v).String()), &rec) }); err != nil {
		return nil, err
	}
	if err != nil {
		return nil, &CorruptError{Store: storeOplog, Key: ack.OpID, Err: err}
	}
	op := rec.Op
	if ack.Status == syncproto.Rejected {
		rec.Parked = ack.Error
		if rec.Parked == "" {
			rec.Parked = "rejected by the server"
		}
		return &Conflict{Lost: op, Reason: rec.Parked}, t.putOplog(rec)
	}
	if err := t.tx.Delete(storeOplog, op.ID); err != nil {
		return nil, err
	}
	t.writes++
	others, err := t.readOplog(op.EntityID)
	if err != nil {
		return nil, err
	}
	store, _, ok := kindOf(op.Entity)
	if !ok {
		return nil, fmt.Errorf("op of unknown entity %q", op.Entity)
	}
	cur, found, err := t.get(store, op.EntityID)
	if err != nil {
		return nil, err
	}
	switch ack.Status {
	case syncproto.Applied:
		if !found {
			return nil, nil // deleted since (or a delete op)
		}
		if len(others) == 0 && cur.v == op.Version {
			// The local state is the op's: take the server's version.
			return nil, t.confirm(op.Entity, cur, ack.Version)
		}
		return nil, t.confirmSV(store, cur, ack.Version)
	case syncproto.Superseded:
		c := &Conflict{Lost: op, Winner: ack.Current}
		if ack.Current == nil {
			return c, nil
		}
		if len(others) > 0 {
			// Newer local operations will be pushed and judged.
			if found {
				return c, t.confirmSV(store, cur, ack.Current.Version)
			}
			return c, nil
		}
		_, err := t.applyState(*ack.Current)
		return c, err
	}
	return nil, fmt.Errorf("unknown ack status %q", ack.Status)
}

// confirm rewrites a stored entity with the server's version, confirmed.
func (t *Tx) confirm(e syncproto.Entity, cur storedRev, version int64) error {
	t.exact = true
	defer func() { t.exact = false }()
	switch e {
	case syncproto.EntityWorkflow:
		return confirmAs(t, workflowKind, cur, version)
	case syncproto.EntityNode:
		return confirmAs(t, nodeKind, cur, version)
	default:
		return confirmAs(t, edgeKind, cur, version)
	}
}

func confirmAs[T any](t *Tx, k kind[T], cur storedRev, version int64) error {
	var v T
	if err := k.decode(t.c, cur.body, &v); err != nil {
		return corrupt(k.store, cur.id, err)
	}
	ver, _ := k.rev(&v)
	*ver = version
	return write(t, k, []T{v}, []storedRev{cur}, []bool{true})
}

// confirmSV records the server's version of an entity that has newer local
// changes: the record keeps its content and version.
func (t *Tx) confirmSV(store string, cur storedRev, sv int64) error {
	if cur.sv == sv {
		return nil
	}
	cur.sv = sv
	r := rec{id: cur.id, wf: cur.wf, v: cur.v, u: cur.u, end: len(cur.body), asset: cur.asset, sv: sv}
	t.writes++
	t.cacheWrite(store, cur)
	return putRecords(t.tx, store, []rec{r}, cur.body)
}

// ApplyRemote applies changes pulled from the server and records cursor
// as the position reached, in one transaction. A change is skipped when
// the entity has local operations still pending (the push settles it) or
// when the local copy is already at that confirmed version or newer; a
// node whose workflow is missing, or an edge whose ends are, is skipped
// too (counted in skipped). Deleting a workflow or node also deletes what
// it contains, as a local delete does.
func (d *DB) ApplyRemote(ctx context.Context, changes []syncproto.Change, cursor int64) (applied, skipped int, err error) {
	order := map[syncproto.Entity]int{syncproto.EntityWorkflow: 0, syncproto.EntityNode: 1, syncproto.EntityEdge: 2}
	sorted := append([]syncproto.Change(nil), changes...)
	// Creations and updates parents first; deletions children first.
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if a.Deleted != b.Deleted {
			return !a.Deleted
		}
		if a.Deleted {
			return order[a.Entity] > order[b.Entity]
		}
		return order[a.Entity] < order[b.Entity]
	})
	err = d.Update(ctx, func(t *Tx) error {
		t.recordOps = false
		applied, skipped = 0, 0
		// One read of the outbox and one wait per store for the entities
		// touched, instead of a wait per change.
		ops, err := t.readOplog("")
		if err != nil {
			return err
		}
		pending := map[string]bool{}
		for _, r := range ops {
			pending[r.Entity] = true
		}
		byStore := map[string][]string{}
		for _, c := range sorted {
			if store, _, ok := kindOf(c.Entity); ok {
				byStore[store] = append(byStore[store], c.EntityID)
			}
		}
		for store, ids := range byStore {
			if _, _, err := t.gets(store, ids); err != nil {
				return err
			}
		}
		for _, c := range sorted {
			if pending[c.EntityID] {
				skipped++
				continue
			}
			ok, err := t.applyState(c)
			if err != nil {
				return fmt.Errorf("apply %s %s: %w", c.Entity, c.EntityID, err)
			}
			if ok {
				applied++
			} else {
				skipped++
			}
		}
		return t.tx.PutKey(storeKV, kvSyncCursor, js.ValueOf(float64(cursor)))
	})
	return applied, skipped, err
}

// SyncCursor returns the position in the server's change sequence reached
// by ApplyRemote (0 before the first pull).
func (d *DB) SyncCursor(ctx context.Context) (int64, error) {
	var c int64
	err := d.View(ctx, func(t *Tx) error {
		r, err := t.tx.Get(storeKV, kvSyncCursor)
		if err != nil {
			return err
		}
		v, err := r.Await(t.ctx)
		if err == nil && v.Type() == js.TypeNumber {
			c = int64(v.Float())
		}
		return err
	})
	return c, err
}

// applyState makes the local copy of an entity the server's state c, if c
// is newer than what is confirmed locally. It reports whether it wrote.
func (t *Tx) applyState(c syncproto.Change) (bool, error) {
	store, _, ok := kindOf(c.Entity)
	if !ok {
		return false, nil
	}
	cur, found, err := t.get(store, c.EntityID)
	if err != nil {
		return false, err
	}
	if found && cur.sv >= c.Version && cur.v >= c.Version {
		return false, nil // already there, or newer
	}
	t.exact = true
	defer func() { t.exact = false }()
	if c.Deleted {
		if !found {
			return false, nil
		}
		switch c.Entity {
		case syncproto.EntityWorkflow:
			return true, t.deleteWorkflow(c.EntityID, writeOptions{})
		case syncproto.EntityNode:
			edges, err := t.edgesTouching(cur.wf, []string{cur.id})
			if err != nil {
				return false, err
			}
			if err := t.deleteRevs(storeEdges, edges); err != nil {
				return false, err
			}
			return true, t.dropNodes([]storedRev{cur})
		default:
			return true, t.deleteRevs(storeEdges, []storedRev{cur})
		}
	}
	switch c.Entity {
	case syncproto.EntityWorkflow:
		var w graph.Workflow
		if err := remoteEntity(c, &w, w.Validate); err != nil {
			return false, err
		}
		w.Version, w.UpdatedAt = c.Version, c.UpdatedAt
		ws := []graph.Workflow{w}
		return true, write(t, workflowKind, ws, []storedRev{cur}, []bool{found})
	case syncproto.EntityNode:
		var n graph.Node
		if err := remoteEntity(c, &n, n.Validate); err != nil {
			return false, err
		}
		if ok, err := t.workflowExists(n.WorkflowID); err != nil || !ok {
			return false, err
		}
		if found && cur.wf != n.WorkflowID {
			return false, nil
		}
		n.Version, n.UpdatedAt = c.Version, c.UpdatedAt
		return true, write(t, nodeKind, []graph.Node{n}, []storedRev{cur}, []bool{found})
	default:
		var e graph.Edge
		if err := remoteEntity(c, &e, e.Validate); err != nil {
			return false, err
		}
		ends, found2, err := t.gets(storeNodes, []string{e.Source, e.Target})
		if err != nil {
			return false, err
		}
		if !found2[0] || !found2[1] || ends[0].wf != e.WorkflowID || ends[1].wf != e.WorkflowID {
			return false, nil
		}
		if found && cur.wf != e.WorkflowID {
			return false, nil
		}
		e.Version, e.UpdatedAt = c.Version, c.UpdatedAt
		return true, write(t, edgeKind, []graph.Edge{e}, []storedRev{cur}, []bool{found})
	}
}

func (t *Tx) workflowExists(id string) (bool, error) {
	_, found, err := t.get(storeWorkflows, id)
	return found, err
}

// remoteEntity decodes and validates the state in a change. A state that
// is not valid here is an error: a server should never send one.
func remoteEntity(c syncproto.Change, v any, validate func() error) error {
	if err := json.Unmarshal(c.Data, v); err != nil {
		return fmt.Errorf("%w: server sent %s %s that does not decode: %v", atelier.ErrInvalid, c.Entity, c.EntityID, err)
	}
	if err := validate(); err != nil {
		return fmt.Errorf("server sent an invalid %s: %w", c.Entity, err)
	}
	return nil
}

// RecordUnsynced puts in the outbox a create operation for every entity
// the server has never confirmed (no sv) that has no operation pending:
// what was written before RecordOps was on, or before sync was set up. It
// returns how many it recorded. Workflows come first, then nodes, then
// edges, so the server receives parents before what they contain.
func (d *DB) RecordUnsynced(ctx context.Context) (int, error) {
	n := 0
	err := d.Update(ctx, func(t *Tx) error {
		n = 0
		ops, err := t.readOplog("")
		if err != nil {
			return err
		}
		pending := map[string]bool{}
		for _, r := range ops {
			pending[r.Entity] = true
		}
		t.recordOps = true
		for _, k := range []struct {
			store string
			kind  ChangeKind
		}{{storeWorkflows, ChangeWorkflow}, {storeNodes, ChangeNode}, {storeEdges, ChangeEdge}} {
			r, err := t.tx.GetAll(k.store, "", nil)
			if err != nil {
				return err
			}
			arr, err := r.Await(t.ctx)
			if err != nil {
				return err
			}
			all, err := revs(arr)
			if err != nil {
				return err
			}
			for _, rev := range all {
				if rev.sv > 0 || pending[rev.id] {
					continue
				}
				v, err := decodeAny(t, k.kind, rev.body)
				if err != nil {
					return corrupt(k.store, rev.id, err)
				}
				wf := rev.wf
				if k.kind == ChangeWorkflow {
					wf = rev.id
				}
				if err := t.recordWrite(k.kind, v, rec{id: rev.id, wf: wf, v: rev.v, u: rev.u}, storedRev{}, false); err != nil {
					return err
				}
				n++
			}
		}
		return t.flushOps()
	})
	return n, err
}

// decodeAny decodes a stored body of the given kind.
func decodeAny(t *Tx, k ChangeKind, body []byte) (any, error) {
	switch k {
	case ChangeWorkflow:
		var w graph.Workflow
		return &w, t.c.decodeWorkflow(body, &w)
	case ChangeNode:
		var n graph.Node
		return &n, t.c.decodeNode(body, &n)
	default:
		var e graph.Edge
		return &e, t.c.decodeEdge(body, &e)
	}
}
