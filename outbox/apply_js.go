//go:build js && wasm

package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"github.com/atelierstore/atelier/idb"
	"github.com/atelierstore/atelier/syncproto"
)

// AckOps applies the server's answers to pushed operations, in one
// transaction. An applied op leaves the outbox and its entity gets the
// authoritative version (confirmed), and the server's state when it kept
// fields of other writes beside the op's; a superseded op leaves the outbox
// and, unless newer local operations on the entity are still pending, the
// winning state replaces the local one; a rejected op stays in the outbox,
// parked. Superseded and rejected ops are returned as conflicts for the
// app. Acks for ops no longer in the outbox (a replay) are ignored.
//
// The outbox is read once and the entities touched are fetched together,
// so a batch of acks costs a few waits, not a few per ack.
func (o *Outbox) AckOps(ctx context.Context, acks []syncproto.Ack) ([]syncproto.Conflict, error) {
	var conflicts []syncproto.Conflict
	err := o.db.Update(ctx, func(tx *idb.Tx) error {
		conflicts = nil
		b, err := open(tx)
		if err != nil {
			return err
		}
		recs, err := b.read("")
		if err != nil {
			return err
		}
		byID := make(map[string]*record, len(recs))
		left := map[string]int{} // ops still in the outbox, per entity
		for i := range recs {
			byID[recs[i].ID] = &recs[i]
			left[recs[i].Entity]++
		}
		byKind := map[idb.ChangeKind][]string{}
		for _, a := range acks {
			if r := byID[a.OpID]; r != nil {
				if k, ok := idb.KindOf(r.Op.Entity); ok {
					byKind[k] = append(byKind[k], r.Op.EntityID)
				}
			}
		}
		for k, ids := range byKind {
			if _, _, err := tx.Revisions(k, ids); err != nil {
				return err
			}
		}
		for _, a := range acks {
			rec := byID[a.OpID]
			if rec == nil {
				continue // gone already: a replayed ack
			}
			delete(byID, a.OpID)
			c, err := ack(tx, b, a, *rec, left)
			if err != nil {
				return fmt.Errorf("ack of op %s: %w", a.OpID, err)
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
func ack(tx *idb.Tx, b outbox, a syncproto.Ack, rec record, left map[string]int) (*syncproto.Conflict, error) {
	op := rec.Op
	if a.Status == syncproto.Rejected {
		rec.Parked = a.Error
		if rec.Parked == "" {
			rec.Parked = "rejected by the server"
		}
		return &syncproto.Conflict{Lost: op, Reason: rec.Parked}, b.put(rec)
	}
	if err := b.s.Delete(op.ID); err != nil {
		return nil, err
	}
	left[rec.Entity]--
	others := left[rec.Entity]
	k, ok := idb.KindOf(op.Entity)
	if !ok {
		return nil, unknownEntity(op.Entity)
	}
	revs, found, err := tx.Revisions(k, []string{op.EntityID})
	if err != nil {
		return nil, err
	}
	cur := revs[0]
	switch a.Status {
	case syncproto.Applied:
		mine := found[0] && cur.Version == op.Version
		if others == 0 && (op.Kind == syncproto.OpDelete || mine) {
			// The server's state of the entity is this op's.
			if err := b.putDone(op); err != nil {
				return nil, err
			}
		}
		if !found[0] {
			return nil, nil // deleted since (or a delete op)
		}
		if others == 0 && mine {
			if a.Current != nil {
				// The server kept fields of other writes beside the
				// op's: its state replaces the local one.
				_, _, err := tx.AdoptServerState(*a.Current)
				return nil, err
			}
			// The local state is the op's: take the server's version.
			return nil, tx.AdoptServerVersion(k, op.EntityID, a.Version)
		}
		return nil, tx.ConfirmServerVersion(k, op.EntityID, a.Version)
	case syncproto.Superseded:
		if err := b.dropDone(op.EntityID); err != nil {
			return nil, err
		}
		c := &syncproto.Conflict{Lost: op, Winner: a.Current}
		if a.Current == nil {
			return c, nil
		}
		if op.Kind == syncproto.OpDelete && a.Current.Deleted {
			// Deleted by another write first (another device, or the
			// server along with its workflow or node): nothing was lost.
			c = nil
		}
		if others > 0 {
			// Newer local operations will be pushed and judged.
			if found[0] {
				return c, tx.ConfirmServerVersion(k, op.EntityID, a.Current.Version)
			}
			return c, nil
		}
		_, _, err := tx.AdoptServerState(*a.Current)
		return c, err
	}
	return nil, fmt.Errorf("unknown ack status %q", a.Status)
}

// Keys of the kv store.
const (
	// kvSyncCursor holds the sequence number of the last server change
	// applied.
	kvSyncCursor = "syncCursor"
	// kvSyncDeferred keeps, as JSON, the pulled changes that could not
	// apply yet because their workflow or an end node was missing
	// locally.
	kvSyncDeferred = "syncDeferred"
)

// maxDeferred bounds the deferred changes kept; past it the oldest go.
const maxDeferred = 50_000

// ApplyChanges applies changes pulled from the server and records cursor
// as the position reached, in one transaction. A change is skipped when
// the entity has local operations still pending (the push settles it) or
// when the local copy is already at that confirmed version or newer.
// Deleting a workflow or node also deletes what it contains, as a local
// delete does. It also reports this device's writes that the changes
// overwrote (see syncproto.Change.Overwrote).
//
// The server sends each entity once, in the order of its last change, a
// page at a time, so a node can come a page before its workflow (when the
// workflow changed after it) and an edge before its nodes. Such a change
// is deferred, not dropped: it is kept in the store and applied by a
// later call once what it needs has arrived, unless a newer change of the
// entity replaces it. Deferred changes count as skipped.
func (o *Outbox) ApplyChanges(ctx context.Context, changes []syncproto.Change, cursor int64) (syncproto.ApplyResult, error) {
	var res syncproto.ApplyResult
	err := o.db.Update(ctx, func(tx *idb.Tx) error {
		res = syncproto.ApplyResult{}
		a, err := newApplier(tx)
		if err != nil {
			return err
		}
		deferred, err := a.readDeferred()
		if err != nil {
			return err
		}
		later, err := a.apply(syncproto.ApplyOrder(deferred, changes), &res)
		if err != nil {
			return err
		}
		if err := a.writeDeferred(later); err != nil {
			return err
		}
		return a.kv.PutValue(kvSyncCursor, float64(cursor))
	})
	return res, err
}

// applier applies pulled changes inside one transaction.
type applier struct {
	tx *idb.Tx
	b  outbox
	kv *idb.Side
}

func newApplier(tx *idb.Tx) (*applier, error) {
	b, err := open(tx)
	if err != nil {
		return nil, err
	}
	kv, err := tx.Side(idb.StoreKV)
	return &applier{tx: tx, b: b, kv: kv}, err
}

// apply applies sorted changes, counting into res, and returns those that
// must wait for their workflow or end nodes.
func (a *applier) apply(sorted []syncproto.Change, res *syncproto.ApplyResult) (later []syncproto.Change, err error) {
	// One read of the outbox and one wait per kind for the entities
	// touched, instead of a wait per change.
	ops, err := a.b.read("")
	if err != nil {
		return nil, err
	}
	pending := map[string]bool{}
	for _, r := range ops {
		pending[r.Entity] = true
	}
	byKind := map[idb.ChangeKind][]string{}
	var all []string
	for _, c := range sorted {
		if k, ok := idb.KindOf(c.Entity); ok {
			byKind[k] = append(byKind[k], c.EntityID)
			all = append(all, c.EntityID)
		}
	}
	for k, ids := range byKind {
		if _, _, err := a.tx.Revisions(k, ids); err != nil {
			return nil, err
		}
	}
	dones, err := a.b.dones(all)
	if err != nil {
		return nil, err
	}
	for _, c := range sorted {
		if pending[c.EntityID] {
			res.Skipped++
			continue
		}
		ok, orphan, err := a.tx.ApplyServerState(c)
		if err != nil {
			return nil, fmt.Errorf("apply %s %s: %w", c.Entity, c.EntityID, err)
		}
		if ok || (c.Deleted && !orphan) {
			// The entity's state is no longer this device's write.
			lost, err := a.overwritten(c, dones)
			if err != nil {
				return nil, err
			}
			if lost != nil {
				res.Overwritten = append(res.Overwritten, *lost)
			}
		}
		switch {
		case ok:
			res.Applied++
		case orphan:
			later = append(later, c)
			res.Skipped++
		default:
			res.Skipped++
		}
	}
	return later, nil
}

// overwritten drops the done record of c's entity (from dones too) and
// returns it as a conflict when c says it overwrote that op unseen.
func (a *applier) overwritten(c syncproto.Change, dones map[string]*record) (*syncproto.Conflict, error) {
	rec := dones[c.EntityID]
	if rec == nil || c.OpID == rec.Op.ID {
		return nil, nil // none, or this device's own write echoed
	}
	delete(dones, c.EntityID)
	if err := a.b.dropDone(c.EntityID); err != nil {
		return nil, err
	}
	if !slices.Contains(c.Overwrote, rec.Op.ID) {
		return nil, nil
	}
	w := c
	return &syncproto.Conflict{Lost: rec.Op, Winner: &w}, nil
}

func (a *applier) readDeferred() ([]syncproto.Change, error) {
	v, ok, err := a.kv.Value(kvSyncDeferred)
	if err != nil || !ok {
		return nil, err
	}
	s, _ := v.(string)
	var out []syncproto.Change
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, &idb.CorruptError{Store: idb.StoreKV, Key: kvSyncDeferred, Err: err}
	}
	return out, nil
}

func (a *applier) writeDeferred(cs []syncproto.Change) error {
	if len(cs) == 0 {
		return a.kv.Delete(kvSyncDeferred)
	}
	if len(cs) > maxDeferred {
		sort.Slice(cs, func(i, j int) bool { return cs[i].Seq < cs[j].Seq })
		cs = cs[len(cs)-maxDeferred:]
	}
	b, err := json.Marshal(cs)
	if err != nil {
		return err
	}
	return a.kv.PutValue(kvSyncDeferred, string(b))
}

// SyncCursor returns the position in the server's change sequence reached
// by ApplyChanges (0 before the first pull).
func (o *Outbox) SyncCursor(ctx context.Context) (int64, error) {
	var c int64
	err := o.db.View(ctx, func(tx *idb.Tx) error {
		kv, err := tx.Side(idb.StoreKV)
		if err != nil {
			return err
		}
		v, _, err := kv.Value(kvSyncCursor)
		if n, ok := v.(float64); ok {
			c = int64(n)
		}
		return err
	})
	return c, err
}
