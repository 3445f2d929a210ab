//go:build js && wasm

package idb

import (
	"encoding/json"
	"fmt"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/syncproto"
)

var entityOf = map[ChangeKind]syncproto.Entity{
	ChangeWorkflow: syncproto.EntityWorkflow, ChangeNode: syncproto.EntityNode, ChangeEdge: syncproto.EntityEdge,
}

// recordWrite appends the operation for writing entity v (its new record
// r, its stored revision old).
func (t *Tx) recordWrite(kind ChangeKind, v any, r rec, old storedRev, found bool) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode operation: %w", err)
	}
	op := syncproto.Op{
		ID: graph.NewID(), Entity: entityOf[kind], EntityID: r.ID, WorkflowID: r.WF,
		Kind: syncproto.OpUpdate, Data: data, BaseVersion: old.SV, Version: r.V, UpdatedAt: r.U,
		Tab: t.db.tab, Time: t.now,
	}
	if kind == ChangeWorkflow {
		op.WorkflowID = r.ID
	}
	if !found {
		op.Kind = syncproto.OpCreate
	}
	t.ops = append(t.ops, op)
	return nil
}

// recordDelete appends the operation for deleting the stored entity r.
func (t *Tx) recordDelete(kind ChangeKind, wf string, r storedRev) {
	t.ops = append(t.ops, syncproto.Op{
		ID: graph.NewID(), Entity: entityOf[kind], EntityID: r.ID, WorkflowID: wf,
		Kind: syncproto.OpDelete, BaseVersion: r.SV, Version: r.V + 1, UpdatedAt: t.stamp(r.U),
		Tab: t.db.tab, Time: t.now,
	})
}

// oplogRecord is an outbox record: {id, e, op}, the op kept as a plain
// object (readable in DevTools), e indexed so that the ops of one entity
// are found without scanning.
type oplogRecord struct {
	ID     string       `json:"id"`
	Entity string       `json:"e"`
	Op     syncproto.Op `json:"op"`
	Parked string       `json:"parked,omitempty"` // why a rejected op is parked
}

// flushOps stores the recorded operations in the outbox: one JSON.parse
// for all of them, then one put each.
func (t *Tx) flushOps() error {
	if len(t.ops) == 0 {
		return nil
	}
	recs := make([]oplogRecord, len(t.ops))
	for i, op := range t.ops {
		recs[i] = oplogRecord{ID: op.ID, Entity: op.EntityID, Op: op}
	}
	b, err := json.Marshal(recs)
	if err != nil {
		return err
	}
	if err := t.tx.PutJSONs(storeOplog, b); err != nil {
		return err
	}
	t.writes += len(recs)
	t.opsStored += len(recs)
	t.ops = t.ops[:0]
	return nil
}

// OnOps registers f to be called, from a goroutine of its own, after this
// tab commits a transaction that recorded operations (Options.RecordOps)
// and whenever another tab announces changes, which may have recorded
// some. A sync engine uses it to push soon after a write
// (syncengine.Engine.Nudge). The returned function unregisters f.
func (d *DB) OnOps(f func()) (stop func()) {
	d.opsMu.Lock()
	defer d.opsMu.Unlock()
	if d.onOps == nil {
		d.onOps = map[int]func(){}
	}
	d.opsN++
	id := d.opsN
	d.onOps[id] = f
	return func() {
		d.opsMu.Lock()
		delete(d.onOps, id)
		d.opsMu.Unlock()
	}
}

func (d *DB) opsRecorded() {
	d.opsMu.Lock()
	fs := make([]func(), 0, len(d.onOps))
	for _, f := range d.onOps {
		fs = append(fs, f)
	}
	d.opsMu.Unlock()
	for _, f := range fs {
		go f()
	}
}
