//go:build js && wasm

package idb

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/idbx"
	"github.com/atelierstore/atelier/syncproto"
)

// The store's side of sync: the outbox a sync engine pushes from
// (PendingOps), what the server said about each op (AckOps), and the
// server's changes (ApplyRemote). States from the server are written with
// their own version and time, confirmed (property sv), through the same
// paths as local writes, so live queries and other tabs see them; they are
// not recorded as operations.

// readOplog reads the outbox's operations (all of them, or those of one
// entity), not the done records kept beside them (see doneKey).
func (t *Tx) readOplog(entity string) ([]oplogRecord, error) {
	var req idbx.Request
	var err error
	if entity != "" {
		req, err = t.tx.GetAll(storeOplog, indexEntity, entity)
	} else {
		req, err = t.tx.GetAll(storeOplog, "", opsRange)
	}
	if err != nil {
		return nil, err
	}
	if err := req.Wait(t.ctx); err != nil {
		return nil, err
	}
	b, _, err := req.JSON()
	if err != nil {
		return nil, err
	}
	var out []oplogRecord
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, &CorruptError{Store: storeOplog, Err: err}
	}
	if entity != "" {
		ops := out[:0]
		for _, r := range out {
			if !isDoneKey(r.ID) {
				ops = append(ops, r)
			}
		}
		out = ops
	}
	return out, nil
}

// Done records: the outbox also keeps, for each entity whose server state
// is this device's last applied write, that op (without its data), under
// doneKey(entity id). When a pulled change says it overwrote that op
// unseen (syncproto.Change.Overwrote), the app is told its write was lost
// although it had been applied. The record goes when a pulled change
// replaces the entity's state. Op ids are canonical UUIDs (hex digits and
// dashes), so every done key sorts after every op id.
const donePrefix = "~done:"

func doneKey(entityID string) string { return donePrefix + entityID }

func isDoneKey(id string) bool {
	return len(id) >= len(donePrefix) && id[:len(donePrefix)] == donePrefix
}

// opsRange is the key range of the operations: everything before "~".
var opsRange = idbx.Below("~")

// putDone records op as the device's last applied write of its entity.
func (t *Tx) putDone(op syncproto.Op) error {
	op.Data = nil
	return t.putOplog(oplogRecord{ID: doneKey(op.EntityID), Entity: op.EntityID, Op: op})
}

// dropDone forgets the done record of an entity.
func (t *Tx) dropDone(entityID string) error {
	t.writes++
	return t.tx.Delete(storeOplog, doneKey(entityID))
}

// readDones returns the done records of entities, by entity id: one
// request each, one wait for all.
func (t *Tx) readDones(entityIDs []string) (map[string]*oplogRecord, error) {
	out := map[string]*oplogRecord{}
	if len(entityIDs) == 0 {
		return out, nil
	}
	reqs := make([]idbx.Request, len(entityIDs))
	for i, id := range entityIDs {
		r, err := t.tx.Get(storeOplog, doneKey(id))
		if err != nil {
			return nil, err
		}
		reqs[i] = r
	}
	if err := reqs[len(reqs)-1].Wait(t.ctx); err != nil {
		return nil, err
	}
	for i, r := range reqs {
		b, ok, err := r.JSON()
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		var rec oplogRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			return nil, &CorruptError{Store: storeOplog, Key: doneKey(entityIDs[i]), Err: err}
		}
		out[entityIDs[i]] = &rec
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

// CountOps returns how many operations the outbox holds, pending and
// parked together, with one count request: cheap at any size, where
// PendingOps reads and decodes them all.
func (d *DB) CountOps(ctx context.Context) (int, error) {
	n := 0
	err := d.View(ctx, func(t *Tx) error {
		req, err := t.tx.Count(storeOplog, "", opsRange)
		if err != nil {
			return err
		}
		if err := req.Wait(t.ctx); err != nil {
			return err
		}
		c, _, err := req.Number()
		n = int(c)
		return err
	})
	return n, err
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
	t.writes++
	return t.tx.PutJSON(storeOplog, b)
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
//
// The outbox is read once and the entities touched are fetched together,
// so a batch of acks costs a few waits, not a few per ack.
func (d *DB) AckOps(ctx context.Context, acks []syncproto.Ack) ([]Conflict, error) {
	var conflicts []Conflict
	err := d.Update(ctx, func(t *Tx) error {
		t.recordOps = false
		conflicts = nil
		recs, err := t.readOplog("")
		if err != nil {
			return err
		}
		byID := make(map[string]*oplogRecord, len(recs))
		left := map[string]int{} // ops still in the outbox, per entity
		for i := range recs {
			byID[recs[i].ID] = &recs[i]
			left[recs[i].Entity]++
		}
		byStore := map[string][]string{}
		for _, a := range acks {
			if r := byID[a.OpID]; r != nil {
				if store, _, ok := kindOf(r.Op.Entity); ok {
					byStore[store] = append(byStore[store], r.Op.EntityID)
				}
			}
		}
		for store, ids := range byStore {
			if _, _, err := t.gets(store, ids); err != nil {
				return err
			}
		}
		for _, ack := range acks {
			rec := byID[ack.OpID]
			if rec == nil {
				continue // gone already: a replayed ack
			}
			delete(byID, ack.OpID)
			c, err := t.ack(ack, *rec, left)
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

// ack applies one ack to its op's outbox record rec; left counts the ops
// of each entity still in the outbox, and is updated.
func (t *Tx) ack(ack syncproto.Ack, rec oplogRecord, left map[string]int) (*Conflict, error) {
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
	left[rec.Entity]--
	others := left[rec.Entity]
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
		if others == 0 && (op.Kind == syncproto.OpDelete || (found && cur.V == op.Version)) {
			// The server's state of the entity is this op's.
			if err := t.putDone(op); err != nil {
				return nil, err
			}
		}
		if !found {
			return nil, nil // deleted since (or a delete op)
		}
		if others == 0 && cur.V == op.Version {
			// The local state is the op's: take the server's version.
			return nil, t.confirm(op.Entity, cur, ack.Version)
		}
		return nil, t.confirmSV(store, cur, ack.Version)
	case syncproto.Superseded:
		if err := t.dropDone(op.EntityID); err != nil {
			return nil, err
		}
		c := &Conflict{Lost: op, Winner: ack.Current}
		if ack.Current == nil {
			return c, nil
		}
		if op.Kind == syncproto.OpDelete && ack.Current.Deleted {
			// Deleted by another write first (another device, or the
			// server along with its workflow or node): nothing was lost.
			c = nil
		}
		if others > 0 {
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
	if err := k.decode(t.c, cur.Body, &v); err != nil {
		return corrupt(k.store, cur.ID, err)
	}
	ver, _ := k.rev(&v)
	*ver = version
	return write(t, k, []T{v}, []storedRev{cur}, []bool{true})
}

// confirmSV records the server's version of an entity that has newer local
// changes: the record keeps its content and version.
func (t *Tx) confirmSV(store string, cur storedRev, sv int64) error {
	if cur.SV == sv {
		return nil
	}
	cur.SV = sv
	r := rec{ID: cur.ID, WF: cur.WF, V: cur.V, U: cur.U, End: len(cur.Body), Asset: cur.Asset, SV: sv}
	t.writes++
	t.cacheWrite(store, cur)
	return t.tx.PutRevs(store, []rec{r}, cur.Body)
}

// kvSyncDeferred keeps, as JSON, the pulled changes that could not apply
// yet because their workflow or an end node was missing locally.
const kvSyncDeferred = "syncDeferred"

// maxDeferred bounds the deferred changes kept; past it the oldest go.
const maxDeferred = 50_000

// ApplyRemote applies changes pulled from the server and records cursor
// as the position reached, in one transaction. A change is skipped when
// the entity has local operations still pending (the push settles it) or
// when the local copy is already at that confirmed version or newer.
// Deleting a workflow or node also deletes what it contains, as a local
// delete does.
//
// The server sends each entity once, in the order of its last change, a
// page at a time, so a node can come a page before its workflow (when the
// workflow changed after it) and an edge before its nodes. Such a change
// is deferred, not dropped: it is kept in the store and applied by a
// later call once what it needs has arrived, unless a newer change of the
// entity replaces it. Deferred changes count as skipped.
func (d *DB) ApplyRemote(ctx context.Context, changes []syncproto.Change, cursor int64) (applied, skipped int, err error) {
	r, err := d.ApplyChanges(ctx, changes, cursor)
	return r.Applied, r.Skipped, err
}

// ApplyChanges is ApplyRemote also reporting this device's writes that
// the changes overwrote (see syncproto.Change.Overwrote).
func (d *DB) ApplyChanges(ctx context.Context, changes []syncproto.Change, cursor int64) (Applied, error) {
	var res Applied
	err := d.Update(ctx, func(t *Tx) error {
		t.recordOps = false
		res = Applied{}
		applied, skipped := 0, 0
		deferred, err := t.readDeferred()
		if err != nil {
			return err
		}
		sorted := mergeChanges(deferred, changes)
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
		var all []string
		for store, ids := range byStore {
			if _, _, err := t.gets(store, ids); err != nil {
				return err
			}
			all = append(all, ids...)
		}
		dones, err := t.readDones(all)
		if err != nil {
			return err
		}
		var later []syncproto.Change
		for _, c := range sorted {
			if pending[c.EntityID] {
				skipped++
				continue
			}
			ok, orphan, err := t.applyStateWhy(c)
			if err != nil {
				return fmt.Errorf("apply %s %s: %w", c.Entity, c.EntityID, err)
			}
			if ok || (c.Deleted && !orphan) {
				// The entity's state is no longer this device's write.
				lost, err := t.overwritten(c, dones)
				if err != nil {
					return err
				}
				if lost != nil {
					res.Overwritten = append(res.Overwritten, *lost)
				}
			}
			switch {
			case ok:
				applied++
			case orphan:
				later = append(later, c)
				skipped++
			default:
				skipped++
			}
		}
		if err := t.writeDeferred(later); err != nil {
			return err
		}
		res.Applied, res.Skipped = applied, skipped
		return t.tx.PutKeyValue(storeKV, kvSyncCursor, float64(cursor))
	})
	return res, err
}

// overwritten drops the done record of c's entity (from dones too) and
// returns it as a conflict when c says it overwrote that op unseen.
func (t *Tx) overwritten(c syncproto.Change, dones map[string]*oplogRecord) (*Conflict, error) {
	rec := dones[c.EntityID]
	if rec == nil || c.OpID == rec.Op.ID {
		return nil, nil // none, or this device's own write echoed
	}
	delete(dones, c.EntityID)
	if err := t.dropDone(c.EntityID); err != nil {
		return nil, err
	}
	if !slices.Contains(c.Overwrote, rec.Op.ID) {
		return nil, nil
	}
	w := c
	return &Conflict{Lost: rec.Op, Winner: &w}, nil
}

// mergeChanges returns the deferred changes and a page's changes, the
// latest of each entity, ordered for applying: creations and updates
// parents first, deletions children first, each kind in seq order.
func mergeChanges(deferred, page []syncproto.Change) []syncproto.Change {
	latest := map[string]int{}
	var all []syncproto.Change
	for _, list := range [][]syncproto.Change{deferred, page} {
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
	order := map[syncproto.Entity]int{syncproto.EntityWorkflow: 0, syncproto.EntityNode: 1, syncproto.EntityEdge: 2}
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

func (t *Tx) readDeferred() ([]syncproto.Change, error) {
	r, err := t.tx.Get(storeKV, kvSyncDeferred)
	if err != nil {
		return nil, err
	}
	if err := r.Wait(t.ctx); err != nil {
		return nil, err
	}
	s, ok, err := r.String()
	if err != nil || !ok {
		return nil, err
	}
	var out []syncproto.Change
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, &CorruptError{Store: storeKV, Key: kvSyncDeferred, Err: err}
	}
	return out, nil
}

func (t *Tx) writeDeferred(cs []syncproto.Change) error {
	t.writes++
	if len(cs) == 0 {
		return t.tx.Delete(storeKV, kvSyncDeferred)
	}
	if len(cs) > maxDeferred {
		sort.Slice(cs, func(i, j int) bool { return cs[i].Seq < cs[j].Seq })
		cs = cs[len(cs)-maxDeferred:]
	}
	b, err := json.Marshal(cs)
	if err != nil {
		return err
	}
	return t.tx.PutKeyValue(storeKV, kvSyncDeferred, string(b))
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
		if err := r.Wait(t.ctx); err != nil {
			return err
		}
		n, _, err := r.Number()
		c = int64(n)
		return err
	})
	return c, err
}

// applyState makes the local copy of an entity the server's state c, if c
// is newer than what is confirmed locally. It reports whether it wrote.
func (t *Tx) applyState(c syncproto.Change) (bool, error) {
	ok, _, err := t.applyStateWhy(c)
	return ok, err
}

// applyStateWhy is applyState also reporting, when it did not write,
// whether that is because the entity's workflow or an edge's end node is
// missing locally (orphan), so that the change may apply later.
func (t *Tx) applyStateWhy(c syncproto.Change) (wrote, orphan bool, err error) {
	store, _, ok := kindOf(c.Entity)
	if !ok {
		return false, false, nil
	}
	cur, found, err := t.get(store, c.EntityID)
	if err != nil {
		return false, false, err
	}
	if found && cur.SV >= c.Version && cur.V >= c.Version {
		return false, false, nil // already there, or newer
	}
	t.exact = true
	defer func() { t.exact = false }()
	if c.Deleted {
		if !found {
			return false, false, nil
		}
		switch c.Entity {
		case syncproto.EntityWorkflow:
			return true, false, t.deleteWorkflow(c.EntityID, writeOptions{})
		case syncproto.EntityNode:
			edges, err := t.edgesTouching(cur.WF, []string{cur.ID})
			if err != nil {
				return false, false, err
			}
			if err := t.deleteRevs(storeEdges, edges); err != nil {
				return false, false, err
			}
			return true, false, t.dropNodes([]storedRev{cur})
		default:
			return true, false, t.deleteRevs(storeEdges, []storedRev{cur})
		}
	}
	switch c.Entity {
	case syncproto.EntityWorkflow:
		var w graph.Workflow
		if err := remoteEntity(c, &w, w.Validate); err != nil {
			return false, false, err
		}
		w.Version, w.UpdatedAt = c.Version, c.UpdatedAt
		ws := []graph.Workflow{w}
		return true, false, write(t, workflowKind, ws, []storedRev{cur}, []bool{found})
	case syncproto.EntityNode:
		var n graph.Node
		if err := remoteEntity(c, &n, n.Validate); err != nil {
			return false, false, err
		}
		if ok, err := t.workflowExists(n.WorkflowID); err != nil || !ok {
			return false, err == nil, err
		}
		if found && cur.WF != n.WorkflowID {
			return false, false, nil
		}
		n.Version, n.UpdatedAt = c.Version, c.UpdatedAt
		return true, false, write(t, nodeKind, []graph.Node{n}, []storedRev{cur}, []bool{found})
	default:
		var e graph.Edge
		if err := remoteEntity(c, &e, e.Validate); err != nil {
			return false, false, err
		}
		ends, found2, err := t.gets(storeNodes, []string{e.Source, e.Target})
		if err != nil {
			return false, false, err
		}
		if !found2[0] || !found2[1] {
			return false, true, nil
		}
		if ends[0].WF != e.WorkflowID || ends[1].WF != e.WorkflowID || (found && cur.WF != e.WorkflowID) {
			return false, false, nil
		}
		e.Version, e.UpdatedAt = c.Version, c.UpdatedAt
		return true, false, write(t, edgeKind, []graph.Edge{e}, []storedRev{cur}, []bool{found})
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
		return fmt.Errorf("%w: server sent %s %s that does not decode: %v", errs.ErrInvalid, c.Entity, c.EntityID, err)
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
			if err := r.Wait(t.ctx); err != nil {
				return err
			}
			all, err := r.Revs()
			if err != nil {
				return err
			}
			for _, rev := range all {
				if rev.SV > 0 || pending[rev.ID] {
					continue
				}
				v, err := decodeAny(t, k.kind, rev.Body)
				if err != nil {
					return corrupt(k.store, rev.ID, err)
				}
				wf := rev.WF
				if k.kind == ChangeWorkflow {
					wf = rev.ID
				}
				if err := t.recordWrite(k.kind, v, rec{ID: rev.ID, WF: wf, V: rev.V, U: rev.U}, storedRev{}, false); err != nil {
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
