//go:build js && wasm

package registry

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/idb"
	"github.com/atelierstore/atelier/internal/errs"
)

// Registry is the asset registry of one open store. Its methods are safe
// for concurrent use.
type Registry struct {
	db     *idb.DB
	remove func()
}

// Open installs the registry on db: from now on every node write keeps
// the asset records up to date in its own transaction.
func Open(db *idb.DB) *Registry {
	r := &Registry{db: db}
	r.remove = db.AddHook(r)
	return r
}

// Close uninstalls the registry. The records stay in the store.
func (r *Registry) Close() { r.remove() }

// indexWorkflows indexes the records by the workflows that use them.
const indexWorkflows = "workflows"

// Begin implements idb.Hook.
func (r *Registry) Begin(tx *idb.Tx) idb.TxHook { return &usageTx{tx: tx} }

// usageTx follows the asset users of one transaction's node writes and
// writes the records they change before it commits.
type usageTx struct {
	tx            *idb.Tx
	local, remote assetref.Usage // remote: changes from the sync server
}

func (u *usageTx) Wrote(w *idb.Write) error {
	switch w.Kind {
	case idb.ChangeWorkflow:
		if w.Deleted() {
			// Its nodes are gone already; drop every user of the workflow
			// the records name, whatever its nodes said (after what this
			// transaction gathered, which may add some).
			if err := u.Flush(); err != nil {
				return err
			}
			return releaseWorkflow(u.tx, w.ID)
		}
	case idb.ChangeNode:
		old := ""
		if w.Found {
			old = w.Prev.Asset
		}
		var ref *assetref.Ref
		if n, ok := w.Entity.(*graph.Node); ok && w.Asset != "" {
			ref = n.Result.Asset
		}
		use := &u.local
		if w.Remote {
			use = &u.remote
		}
		use.Change(old, w.Asset, assetref.User{WorkflowID: w.WorkflowID, NodeID: w.ID}, ref)
	}
	return nil
}

func (u *usageTx) Flush() error {
	if err := apply(u.tx, &u.local, false); err != nil {
		return err
	}
	return apply(u.tx, &u.remote, true)
}

// apply writes the user changes to the asset records.
func apply(tx *idb.Tx, use *assetref.Usage, remote bool) error {
	if use.Empty() {
		return nil
	}
	s, err := tx.Side(idb.StoreAssets)
	if err != nil {
		return err
	}
	hashes := use.Hashes()
	recs, err := records(s, hashes)
	if err != nil {
		return err
	}
	for i, h := range hashes {
		if a := use.Apply(h, recs[i], tx.Now(), remote); a != nil {
			if err := put(s, a); err != nil {
				return err
			}
		}
	}
	*use = assetref.Usage{}
	return nil
}

// releaseWorkflow removes every node of workflow wf from the users of the
// assets it used.
func releaseWorkflow(tx *idb.Tx, wf string) error {
	s, err := tx.Side(idb.StoreAssets)
	if err != nil {
		return err
	}
	recs, err := s.Records(idb.Query{Index: indexWorkflows, Key: wf})
	if err != nil {
		return err
	}
	for _, rec := range recs {
		a, err := decode(rec)
		if err != nil {
			return err
		}
		kept := a.Users[:0]
		for _, u := range a.Users {
			if u.WorkflowID != wf {
				kept = append(kept, u)
			}
		}
		a.Users = kept
		if err := put(s, &a); err != nil {
			return err
		}
	}
	return nil
}

func decode(r idb.Record) (assetref.Record, error) {
	a, err := assetref.RecordFromStored(r.Props, r.Body)
	if err != nil {
		return a, &idb.CorruptError{Store: idb.StoreAssets, Key: a.Hash, Err: err}
	}
	return a, nil
}

// records reads the records of the given hashes with one wait; a missing
// record is nil.
func records(s *idb.Side, hashes []string) ([]*assetref.Record, error) {
	recs, err := s.GetRecords(hashes)
	if err != nil {
		return nil, err
	}
	out := make([]*assetref.Record, len(hashes))
	for i, rec := range recs {
		if rec == nil {
			continue
		}
		a, err := decode(*rec)
		if err != nil {
			return nil, err
		}
		out[i] = &a
	}
	return out, nil
}

func put(s *idb.Side, a *assetref.Record) error {
	props, body, err := assetref.StoredRecord(a)
	if err != nil {
		return err
	}
	return s.PutRecord(idb.Record{Props: props, Body: body})
}

// update runs f on the records of hashes in a transaction of its own.
func (r *Registry) update(ctx context.Context, hashes []string, f func(tx *idb.Tx, s *idb.Side, recs []*assetref.Record) error) error {
	return r.db.Update(ctx, func(tx *idb.Tx) error {
		s, err := tx.Side(idb.StoreAssets)
		if err != nil {
			return err
		}
		recs, err := records(s, hashes)
		if err != nil {
			return err
		}
		return f(tx, s, recs)
	})
}

// trackedRef checks that ref is valid and of a kind with a record, and
// returns its hash.
func trackedRef(ref assetref.Ref) (string, error) {
	if err := ref.Validate(); err != nil {
		return "", err
	}
	hash, ok := assetref.Tracked(&ref)
	if !ok {
		return "", fmt.Errorf("%w: a stored asset needs kind opfs, fs-handle or idb and a hash", errs.ErrInvalidRef)
	}
	return hash, nil
}

// RegisterAsset records that the bytes ref points at (a tracked kind with a
// hash: opfs, fs-handle or idb) are stored. If an asset with the same hash
// is already registered, nothing changes and its record is returned with
// existed set: the caller then holds a second copy of the bytes and should
// delete it unless it is the same location. (A record that is Remote, whose
// bytes are not on this device, takes ref as its location instead: then
// the returned record's location is ref's.) A new record has no users; it
// gains them when node results refer to it.
func (r *Registry) RegisterAsset(ctx context.Context, ref assetref.Ref) (rec assetref.Record, existed bool, err error) {
	hash, err := trackedRef(ref)
	if err != nil {
		return rec, false, fmt.Errorf("register asset: %w", err)
	}
	err = r.update(ctx, []string{hash}, func(tx *idb.Tx, s *idb.Side, recs []*assetref.Record) error {
		if a := recs[0]; a != nil {
			existed = true
			if a.Remote {
				a.Ref, a.Remote = ref, false
				if err := put(s, a); err != nil {
					return err
				}
			}
			rec = *a
			return nil
		}
		rec, existed = assetref.Record{Hash: hash, Ref: ref, CreatedAt: tx.Now()}, false
		return put(s, &rec)
	})
	return rec, existed, err
}

// updateOne changes the record of hash in a transaction of its own: f
// returns whether to write it. It fails with errs.ErrNotFound when there
// is no record (f is not called), and with f's error.
func (r *Registry) updateOne(ctx context.Context, hash string, f func(tx *idb.Tx, a *assetref.Record) (bool, error)) (assetref.Record, error) {
	var rec assetref.Record
	err := r.update(ctx, []string{hash}, func(tx *idb.Tx, s *idb.Side, recs []*assetref.Record) error {
		a := recs[0]
		if a == nil {
			return fmt.Errorf("asset %s: %w", hash, errs.ErrNotFound)
		}
		write, err := f(tx, a)
		if err != nil {
			return err
		}
		if write {
			if err := put(s, a); err != nil {
				return err
			}
		}
		rec = *a
		return nil
	})
	return rec, err
}

// MarkAssetsUploaded records that the sync server has the assets with the
// given hashes. Hashes without a record are ignored; it fails only when
// the store does.
func (r *Registry) MarkAssetsUploaded(ctx context.Context, hashes []string) error {
	if len(hashes) == 0 {
		return nil
	}
	return r.update(ctx, hashes, func(tx *idb.Tx, s *idb.Side, recs []*assetref.Record) error {
		for _, a := range recs {
			if a == nil || a.Uploaded != 0 {
				continue
			}
			a.Uploaded = tx.Now()
			if err := put(s, a); err != nil {
				return err
			}
		}
		return nil
	})
}

// TouchAsset records that the asset's bytes were read now, for
// least-recently-used eviction. It writes only when the recorded time is
// older than granularity, so that reading often costs no writes. It fails
// with errs.ErrNotFound when there is no record.
func (r *Registry) TouchAsset(ctx context.Context, hash string, granularity time.Duration) error {
	_, err := r.updateOne(ctx, hash, func(tx *idb.Tx, a *assetref.Record) (bool, error) {
		if tx.Now()-a.UsedAt < granularity.Milliseconds() {
			return false, nil
		}
		a.UsedAt = tx.Now()
		return true, nil
	})
	return err
}

// EvictAsset marks the local copy of an asset as gone (Remote), before the
// caller deletes the bytes at the returned record's Ref: record first, so
// that a crash in between leaves bytes the record calls remote (fetching
// them again finds them), never a record naming bytes that are gone.
//
// It refuses, changing nothing, with assetref.ErrNotUploaded when the sync
// server is not known to have the asset, with errs.ErrNotFound when there
// is no record, and with errs.ErrVersionConflict when the record is Remote
// already or its location is no longer at (another tab moved it since the
// caller looked).
func (r *Registry) EvictAsset(ctx context.Context, hash string, at assetref.Ref) (assetref.Record, error) {
	return r.updateOne(ctx, hash, func(_ *idb.Tx, a *assetref.Record) (bool, error) {
		switch {
		case a.Uploaded == 0:
			return false, fmt.Errorf("evict asset %s: %w", hash, assetref.ErrNotUploaded)
		case a.Remote || !assetref.SameLocation(a.Ref, at):
			return false, fmt.Errorf("evict asset %s: %w: it moved or was evicted meanwhile", hash, errs.ErrVersionConflict)
		}
		a.Remote = true
		return true, nil
	})
}

// AssetFetched records that the bytes of an asset the sync server has
// were stored on this device at ref (fetched on demand). The record (made
// if there is none) takes ref as its location when it is Remote or still
// at expect, the location the caller found empty; then moved reports true.
// Otherwise another tab stored the bytes first: the record is unchanged
// and returned, and the caller deletes its own copy unless it is at the
// record's location.
func (r *Registry) AssetFetched(ctx context.Context, ref, expect assetref.Ref) (rec assetref.Record, moved bool, err error) {
	hash, err := trackedRef(ref)
	if err != nil {
		return rec, false, fmt.Errorf("asset fetched: %w", err)
	}
	err = r.update(ctx, []string{hash}, func(tx *idb.Tx, s *idb.Side, recs []*assetref.Record) error {
		a := recs[0]
		switch {
		case a == nil:
			a = &assetref.Record{Hash: hash, Ref: ref, CreatedAt: tx.Now()}
		case a.Remote || assetref.SameLocation(a.Ref, expect):
			a.Ref, a.Remote = ref, false
		default:
			rec = *a
			return nil
		}
		moved = true
		a.Uploaded = max(a.Uploaded, tx.Now())
		a.UsedAt = tx.Now()
		rec = *a
		return put(s, a)
	})
	return rec, moved, err
}

// Asset returns the record of the asset with the given hash. It fails with
// errs.ErrNotFound when there is none.
func (r *Registry) Asset(ctx context.Context, hash string) (assetref.Record, error) {
	var rec assetref.Record
	err := r.db.View(ctx, func(tx *idb.Tx) error {
		s, err := tx.Side(idb.StoreAssets)
		if err != nil {
			return err
		}
		recs, err := records(s, []string{hash})
		if err != nil {
			return err
		}
		if recs[0] == nil {
			return fmt.Errorf("asset %s: %w", hash, errs.ErrNotFound)
		}
		rec = *recs[0]
		return nil
	})
	return rec, err
}

// Assets returns every asset record, by hash.
func (r *Registry) Assets(ctx context.Context) ([]assetref.Record, error) {
	var out []assetref.Record
	err := r.db.View(ctx, func(tx *idb.Tx) error {
		s, err := tx.Side(idb.StoreAssets)
		if err != nil {
			return err
		}
		recs, err := s.Records(idb.Query{})
		if err != nil {
			return err
		}
		out = make([]assetref.Record, 0, len(recs))
		for _, rec := range recs {
			a, err := decode(rec)
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Hash < out[j].Hash })
	return out, err
}

// ForgetAsset deletes the record of an asset that no node uses and returns
// it, so the caller can delete the bytes (record first: a crash in between
// leaves bytes without a record, which the reconciler removes, never a
// record without bytes). It fails with assetref.ErrInUse if nodes use the
// asset and errs.ErrNotFound if there is no record.
func (r *Registry) ForgetAsset(ctx context.Context, hash string) (assetref.Record, error) {
	var rec assetref.Record
	err := r.update(ctx, []string{hash}, func(tx *idb.Tx, s *idb.Side, recs []*assetref.Record) error {
		if recs[0] == nil {
			return fmt.Errorf("asset %s: %w", hash, errs.ErrNotFound)
		}
		if len(recs[0].Users) > 0 {
			return fmt.Errorf("asset %s: %w by %d nodes", hash, assetref.ErrInUse, len(recs[0].Users))
		}
		rec = *recs[0]
		return s.Delete(hash)
	})
	return rec, err
}
