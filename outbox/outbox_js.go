//go:build js && wasm

package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/idb"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/syncproto"
)

// Outbox is the outbox of one open store. Its methods are safe for
// concurrent use.
type Outbox struct {
	db     *idb.DB
	remove func() // uninstalls the hook
	unsub  func() // stops following other tabs

	mu    sync.Mutex
	onOps map[int]func()
	n     int
}

// Open installs the outbox on db: from now on every local write of an
// entity records its operation in the same transaction.
func Open(db *idb.DB) *Outbox {
	o := &Outbox{db: db, onOps: map[int]func(){}}
	o.remove = db.AddHook(o)
	// Another tab's writes may have recorded operations too.
	o.unsub = db.Subscribe(func(cs idb.ChangeSet) {
		if cs.Remote {
			o.notify()
		}
	}, nil)
	return o
}

// Close uninstalls the outbox: later writes record nothing. What it holds
// stays in the store.
func (o *Outbox) Close() {
	o.remove()
	o.unsub()
}

// OnOps registers f to be called, from a goroutine of its own, after this
// tab commits a transaction that recorded operations, and whenever another
// tab announces changes, which may have recorded some. A sync engine uses
// it to push soon after a write (syncengine.Engine.Nudge). The returned
// function unregisters f.
func (o *Outbox) OnOps(f func()) (stop func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.n++
	id := o.n
	o.onOps[id] = f
	return func() {
		o.mu.Lock()
		delete(o.onOps, id)
		o.mu.Unlock()
	}
}

func (o *Outbox) notify() {
	o.mu.Lock()
	fs := make([]func(), 0, len(o.onOps))
	for _, f := range o.onOps {
		fs = append(fs, f)
	}
	o.mu.Unlock()
	for _, f := range fs {
		go f()
	}
}

// Begin implements idb.Hook.
func (o *Outbox) Begin(tx *idb.Tx) idb.TxHook { return &recorder{o: o, tx: tx} }

// recorder records the operations of one transaction's local writes and
// stores them before it commits: one JSON.parse for all, then a put each.
type recorder struct {
	o      *Outbox
	tx     *idb.Tx
	ops    []syncproto.Op
	stored int
}

func (r *recorder) Wrote(w *idb.Write) error {
	if w.Remote {
		return nil // the server's state: nothing to push
	}
	op, err := opOf(w, r.o.db.TabID(), r.tx.Now())
	if err != nil {
		return err
	}
	r.ops = append(r.ops, op)
	return nil
}

func (r *recorder) Flush() error {
	n, err := putOps(r.tx, r.ops)
	r.stored += n
	r.ops = r.ops[:0]
	return err
}

func (r *recorder) Committed() {
	if r.stored > 0 {
		r.o.notify()
	}
}

// opOf is the operation of a write.
func opOf(w *idb.Write, tab string, now int64) (syncproto.Op, error) {
	op := syncproto.Op{
		ID: graph.NewID(), Entity: idb.EntityOf(w.Kind), EntityID: w.ID, WorkflowID: w.WorkflowID,
		Kind: syncproto.OpUpdate, BaseVersion: w.Prev.ServerVersion, Version: w.Version, UpdatedAt: w.UpdatedAt,
		Tab: tab, Time: now,
	}
	switch {
	case w.Deleted():
		op.Kind = syncproto.OpDelete
		return op, nil
	case !w.Found:
		op.Kind = syncproto.OpCreate
	}
	data, err := json.Marshal(w.Entity)
	if err != nil {
		return op, fmt.Errorf("encode operation: %w", err)
	}
	op.Data = data
	if op.Kind == syncproto.OpUpdate {
		// The fields this write changed: the server keeps the others
		// as they are there (see syncproto.Merge).
		before, err := w.Before()
		if err != nil {
			return op, err
		}
		if before != nil {
			op.Fields = syncproto.Fields(before, w.Entity)
		}
	}
	return op, nil
}

// record is an outbox record: {id, e, op}, the op kept as a plain object
// (readable in DevTools), e indexed so that the ops of one entity are
// found without scanning.
type record struct {
	ID     string       `json:"id"`
	Entity string       `json:"e"`
	Op     syncproto.Op `json:"op"`
	Parked string       `json:"parked,omitempty"` // why a rejected op is parked
}

const indexEntity = "entity"

// putOps stores ops in the outbox.
func putOps(tx *idb.Tx, ops []syncproto.Op) (int, error) {
	if len(ops) == 0 {
		return 0, nil
	}
	recs := make([]record, len(ops))
	for i, op := range ops {
		recs[i] = record{ID: op.ID, Entity: op.EntityID, Op: op}
	}
	b, err := json.Marshal(recs)
	if err != nil {
		return 0, err
	}
	s, err := tx.Side(idb.StoreOplog)
	if err != nil {
		return 0, err
	}
	return len(recs), s.PutJSONs(b, len(recs))
}

// Done records: for each entity whose server state is this device's last
// applied write, the outbox keeps that op (without its data) under
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

// opsOnly selects the operations: every key before the done records.
var opsOnly = idb.Query{Below: "~"}

// outbox is the oplog store inside one transaction.
type outbox struct{ s *idb.Side }

func open(tx *idb.Tx) (outbox, error) {
	s, err := tx.Side(idb.StoreOplog)
	return outbox{s}, err
}

// read reads the operations (all of them, or those of one entity), not
// the done records kept beside them.
func (b outbox) read(entity string) ([]record, error) {
	q := opsOnly
	if entity != "" {
		q = idb.Query{Index: indexEntity, Key: entity}
	}
	data, err := b.s.JSON(q)
	if err != nil {
		return nil, err
	}
	var out []record
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, &idb.CorruptError{Store: idb.StoreOplog, Err: err}
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

func (b outbox) put(r record) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return b.s.PutJSON(data)
}

// putDone records op as the device's last applied write of its entity.
func (b outbox) putDone(op syncproto.Op) error {
	op.Data = nil
	return b.put(record{ID: doneKey(op.EntityID), Entity: op.EntityID, Op: op})
}

// dropDone forgets the done record of an entity.
func (b outbox) dropDone(entityID string) error { return b.s.Delete(doneKey(entityID)) }

// dones returns the done records of entities, by entity id, with one wait.
func (b outbox) dones(entityIDs []string) (map[string]*record, error) {
	out := map[string]*record{}
	keys := make([]string, len(entityIDs))
	for i, id := range entityIDs {
		keys[i] = doneKey(id)
	}
	data, err := b.s.GetJSON(keys)
	if err != nil {
		return nil, err
	}
	for i, d := range data {
		if d == nil {
			continue
		}
		var rec record
		if err := json.Unmarshal(d, &rec); err != nil {
			return nil, &idb.CorruptError{Store: idb.StoreOplog, Key: keys[i], Err: err}
		}
		out[entityIDs[i]] = &rec
	}
	return out, nil
}

// PendingOps returns up to limit operations waiting in the outbox (limit
// <= 0: all), oldest first. Parked operations are left out.
func (o *Outbox) PendingOps(ctx context.Context, limit int) ([]syncproto.Op, error) {
	var out []syncproto.Op
	err := o.db.View(ctx, func(tx *idb.Tx) error {
		b, err := open(tx)
		if err != nil {
			return err
		}
		recs, err := b.read("")
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
func (o *Outbox) CountOps(ctx context.Context) (int, error) {
	n := 0
	err := o.db.View(ctx, func(tx *idb.Tx) error {
		b, err := open(tx)
		if err == nil {
			n, err = b.s.Count(opsOnly)
		}
		return err
	})
	return n, err
}

// ParkedOps returns the operations the server rejected, with why.
func (o *Outbox) ParkedOps(ctx context.Context) ([]syncproto.Conflict, error) {
	var out []syncproto.Conflict
	err := o.db.View(ctx, func(tx *idb.Tx) error {
		b, err := open(tx)
		if err != nil {
			return err
		}
		recs, err := b.read("")
		for _, r := range recs {
			if r.Parked != "" {
				out = append(out, syncproto.Conflict{Lost: r.Op, Reason: r.Parked})
			}
		}
		return err
	})
	return out, err
}

// RetryParked puts parked operations back in the queue to be pushed
// again (all of them when ids is empty). One parked because the server
// had forgotten it (syncproto.IsResyncReason) goes back under a new id,
// so that the server decides it afresh instead of refusing it again.
func (o *Outbox) RetryParked(ctx context.Context, ids ...string) error {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	return o.db.Update(ctx, func(tx *idb.Tx) error {
		b, err := open(tx)
		if err != nil {
			return err
		}
		recs, err := b.read("")
		if err != nil {
			return err
		}
		for _, r := range recs {
			if r.Parked != "" && (len(want) == 0 || want[r.ID]) {
				if syncproto.IsResyncReason(r.Parked) {
					if err := b.s.Delete(r.ID); err != nil {
						return err
					}
					r.ID = graph.NewID()
					r.Op.ID = r.ID
				}
				r.Parked = ""
				if err := b.put(r); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// RecordUnsynced puts in the outbox a create operation for every entity
// the server has never confirmed that has no operation pending: what was
// written before the outbox was installed. It returns how many it
// recorded. Workflows come first, then nodes, then edges, so the server
// receives parents before what they contain.
func (o *Outbox) RecordUnsynced(ctx context.Context) (int, error) {
	n := 0
	err := o.db.Update(ctx, func(tx *idb.Tx) error {
		n = 0
		b, err := open(tx)
		if err != nil {
			return err
		}
		recs, err := b.read("")
		if err != nil {
			return err
		}
		pending := map[string]bool{}
		for _, r := range recs {
			pending[r.Entity] = true
		}
		var ops []syncproto.Op
		for _, k := range []idb.ChangeKind{idb.ChangeWorkflow, idb.ChangeNode, idb.ChangeEdge} {
			ws, err := tx.Unconfirmed(k)
			if err != nil {
				return err
			}
			for i := range ws {
				if pending[ws[i].ID] {
					continue
				}
				op, err := opOf(&ws[i], o.db.TabID(), tx.Now())
				if err != nil {
					return err
				}
				ops = append(ops, op)
			}
		}
		n, err = putOps(tx, ops)
		return err
	})
	if err == nil && n > 0 {
		o.notify()
	}
	return n, err
}

// errNotFound reports an op of an unknown entity kind.
func unknownEntity(e syncproto.Entity) error {
	return fmt.Errorf("%w: op of unknown entity %q", errs.ErrInvalid, e)
}
