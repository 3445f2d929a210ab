//go:build js && wasm

package idb

import (
	"context"
	"fmt"
	"sort"
	"syscall/js"

	"github.com/atelierstore/atelier"
	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/idbx"
)

// assetRecords reads the asset records of the given hashes with one wait;
// a missing record is nil.
func (t *Tx) assetRecords(hashes []string) ([]*AssetRecord, error) {
	if len(hashes) == 0 {
		return nil, nil
	}
	reqs := make([]idbx.Request, len(hashes))
	for i, h := range hashes {
		r, err := t.tx.Get(storeAssets, h)
		if err != nil {
			return nil, err
		}
		reqs[i] = r
	}
	if _, err := reqs[len(reqs)-1].Await(t.ctx); err != nil {
		return nil, err
	}
	out := make([]*AssetRecord, len(hashes))
	for i, r := range reqs {
		v, err := r.Result()
		if err != nil {
			return nil, err
		}
		if out[i], err = assetFromJS(v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func assetFromJS(v js.Value) (*AssetRecord, error) {
	if v.IsUndefined() || v.IsNull() {
		return nil, nil
	}
	r, err := recordFromJS(v)
	if err != nil {
		return nil, err
	}
	a, err := assetRecordFromRecord(r)
	return &a, err
}

func (t *Tx) putAssetRecord(a *AssetRecord) error {
	r, err := assetRecordToRecord(a)
	if err != nil {
		return err
	}
	v, err := recordToJS(r)
	if err != nil {
		return err
	}
	t.writes++
	return t.tx.Put(storeAssets, v)
}

// applyUsage writes the user changes a mutation made to asset records.
func (t *Tx) applyUsage(u *usage) error {
	if u.empty() {
		return nil
	}
	hashes := u.hashes()
	recs, err := t.assetRecords(hashes)
	if err != nil {
		return err
	}
	for i, h := range hashes {
		if a := u.apply(h, recs[i], t.now); a != nil {
			if err := t.putAssetRecord(a); err != nil {
				return err
			}
		}
	}
	return nil
}

// releaseWorkflow removes every node of workflow wf from the users of the
// assets it used.
func (t *Tx) releaseWorkflow(wf string) error {
	r, err := t.tx.GetAll(storeAssets, indexWorkflows, wf)
	if err != nil {
		return err
	}
	arr, err := r.Await(t.ctx)
	if err != nil {
		return err
	}
	for i := 0; i < arr.Length(); i++ {
		a, err := assetFromJS(arr.Index(i))
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
		if err := t.putAssetRecord(a); err != nil {
			return err
		}
	}
	return nil
}

// RegisterAsset records that the bytes ref points at (a tracked kind with a
// hash: opfs, fs-handle or idb) are stored. If an asset with the same hash
// is already registered, nothing changes and its record is returned with
// existed set: the caller then holds a second copy of the bytes and should
// delete it unless it is the same location. A new record has no users; it
// gains them when node results refer to it.
func (d *DB) RegisterAsset(ctx context.Context, ref assetref.Ref) (rec AssetRecord, existed bool, err error) {
	if err := ref.Validate(); err != nil {
		return rec, false, err
	}
	hash, ok := tracked(&ref)
	if !ok {
		return rec, false, fmt.Errorf("register asset: %w: a stored asset needs kind opfs, fs-handle or idb and a hash", atelier.ErrInvalidRef)
	}
	err = d.mutate(ctx, func(t *Tx) error {
		recs, err := t.assetRecords([]string{hash})
		if err != nil {
			return err
		}
		if recs[0] != nil {
			rec, existed = *recs[0], true
			return nil
		}
		rec, existed = AssetRecord{Hash: hash, Ref: ref, CreatedAt: t.now}, false
		return t.putAssetRecord(&rec)
	})
	return rec, existed, err
}

// Asset returns the record of the asset with the given hash. It fails with
// atelier.ErrNotFound when there is none.
func (d *DB) Asset(ctx context.Context, hash string) (AssetRecord, error) {
	var rec AssetRecord
	err := d.View(ctx, func(t *Tx) error {
		recs, err := t.assetRecords([]string{hash})
		if err != nil {
			return err
		}
		if recs[0] == nil {
			return fmt.Errorf("asset %s: %w", hash, atelier.ErrNotFound)
		}
		rec = *recs[0]
		return nil
	})
	return rec, err
}

// Assets returns every asset record, by hash.
func (d *DB) Assets(ctx context.Context) ([]AssetRecord, error) {
	var out []AssetRecord
	err := d.View(ctx, func(t *Tx) error {
		r, err := t.tx.GetAll(storeAssets, "", nil)
		if err != nil {
			return err
		}
		arr, err := r.Await(t.ctx)
		if err != nil {
			return err
		}
		out = make([]AssetRecord, 0, arr.Length())
		for i := 0; i < arr.Length(); i++ {
			a, err := assetFromJS(arr.Index(i))
			if err != nil {
				return err
			}
			out = append(out, *a)
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Hash < out[j].Hash })
	return out, err
}

// ForgetAsset deletes the record of an asset that no node uses and returns
// it, so the caller can delete the bytes (record first: a crash in between
// leaves bytes without a record, which the reconciler removes, never a
// record without bytes). It fails with ErrInUse if nodes use the asset and
// atelier.ErrNotFound if there is no record.
func (d *DB) ForgetAsset(ctx context.Context, hash string) (AssetRecord, error) {
	var rec AssetRecord
	err := d.mutate(ctx, func(t *Tx) error {
		recs, err := t.assetRecords([]string{hash})
		if err != nil {
			return err
		}
		if recs[0] == nil {
			return fmt.Errorf("asset %s: %w", hash, atelier.ErrNotFound)
		}
		if len(recs[0].Users) > 0 {
			return fmt.Errorf("asset %s: %w by %d nodes", hash, ErrInUse, len(recs[0].Users))
		}
		rec = *recs[0]
		t.writes++
		return t.tx.Delete(storeAssets, hash)
	})
	return rec, err
}
