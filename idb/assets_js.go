//go:build js && wasm

package idb

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/errs"
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
	if err := reqs[len(reqs)-1].Wait(t.ctx); err != nil {
		return nil, err
	}
	out := make([]*AssetRecord, len(hashes))
	for i, r := range reqs {
		rec, ok, err := r.Record()
		if err != nil {
			return nil, err
		}
		if ok {
			if out[i], err = assetFromRecord(rec); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func assetFromRecord(r idbx.Record) (*AssetRecord, error) {
	a, err := assetRecordFromRecord(Record(r))
	return &a, err
}

func (t *Tx) putAssetRecord(a *AssetRecord) error {
	r, err := assetRecordToRecord(a)
	if err != nil {
		return err
	}
	t.writes++
	return t.tx.PutRecord(storeAssets, idbx.Record(r))
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
		if a := u.apply(h, recs[i], t.now, t.exact); a != nil {
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
	if err := r.Wait(t.ctx); err != nil {
		return err
	}
	recs, err := r.Records()
	if err != nil {
		return err
	}
	for _, rec := range recs {
		a, err := assetFromRecord(rec)
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
// delete it unless it is the same location. (A record that is Remote, whose
// bytes are not on this device, takes ref as its location instead: then
// the returned record's location is ref's.) A new record has no users; it
// gains them when node results refer to it.
func (d *DB) RegisterAsset(ctx context.Context, ref assetref.Ref) (rec AssetRecord, existed bool, err error) {
	hash, err := trackedRef(ref)
	if err != nil {
		return rec, false, fmt.Errorf("register asset: %w", err)
	}
	err = d.mutate(ctx, func(t *Tx) error {
		recs, err := t.assetRecords([]string{hash})
		if err != nil {
			return err
		}
		if a := recs[0]; a != nil {
			existed = true
			if a.Remote {
				a.Ref, a.Remote = ref, false
				if err := t.putAssetRecord(a); err != nil {
					return err
				}
			}
			rec = *a
			return nil
		}
		rec, existed = AssetRecord{Hash: hash, Ref: ref, CreatedAt: t.now}, false
		return t.putAssetRecord(&rec)
	})
	return rec, existed, err
}

// trackedRef checks that ref is valid and of a kind with a usage record,
// and returns its hash.
func trackedRef(ref assetref.Ref) (string, error) {
	if err := ref.Validate(); err != nil {
		return "", err
	}
	hash, ok := tracked(&ref)
	if !ok {
		return "", fmt.Errorf("%w: a stored asset needs kind opfs, fs-handle or idb and a hash", errs.ErrInvalidRef)
	}
	return hash, nil
}

// updateAsset changes the record of hash in one writer transaction: f
// returns whether to write it. It fails with errs.ErrNotFound when
// there is no record (f is not called), and with f's error.
func (d *DB) updateAsset(ctx context.Context, hash string, f func(t *Tx, a *AssetRecord) (bool, error)) (AssetRecord, error) {
	var rec AssetRecord
	err := d.mutate(ctx, func(t *Tx) error {
		recs, err := t.assetRecords([]string{hash})
		if err != nil {
			return err
		}
		a := recs[0]
		if a == nil {
			return fmt.Errorf("asset %s: %w", hash, errs.ErrNotFound)
		}
		write, err := f(t, a)
		if err != nil {
			return err
		}
		if write {
			if err := t.putAssetRecord(a); err != nil {
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
func (d *DB) MarkAssetsUploaded(ctx context.Context, hashes []string) error {
	if len(hashes) == 0 {
		return nil
	}
	return d.mutate(ctx, func(t *Tx) error {
		recs, err := t.assetRecords(hashes)
		if err != nil {
			return err
		}
		for _, a := range recs {
			if a == nil || a.Uploaded != 0 {
				continue
			}
			a.Uploaded = t.now
			if err := t.putAssetRecord(a); err != nil {
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
func (d *DB) TouchAsset(ctx context.Context, hash string, granularity time.Duration) error {
	_, err := d.updateAsset(ctx, hash, func(t *Tx, a *AssetRecord) (bool, error) {
		if t.now-a.UsedAt < granularity.Milliseconds() {
			return false, nil
		}
		a.UsedAt = t.now
		return true, nil
	})
	return err
}

// EvictAsset marks the local copy of an asset as gone (Remote), before the
// caller deletes the bytes at the returned record's Ref: record first, so
// that a crash in between leaves bytes the record calls remote (fetching
// them again finds them), never a record naming bytes that are gone.
//
// It refuses, changing nothing, with ErrNotUploaded when the sync server
// is not known to have the asset, with errs.ErrNotFound when there is
// no record, and with errs.ErrVersionConflict when the record is Remote
// already or its location is no longer at (another tab moved it since the
// caller looked).
func (d *DB) EvictAsset(ctx context.Context, hash string, at assetref.Ref) (AssetRecord, error) {
	return d.updateAsset(ctx, hash, func(_ *Tx, a *AssetRecord) (bool, error) {
		switch {
		case a.Uploaded == 0:
			return false, fmt.Errorf("evict asset %s: %w", hash, ErrNotUploaded)
		case a.Remote || !SameLocation(a.Ref, at):
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
func (d *DB) AssetFetched(ctx context.Context, ref, expect assetref.Ref) (rec AssetRecord, moved bool, err error) {
	hash, err := trackedRef(ref)
	if err != nil {
		return rec, false, fmt.Errorf("asset fetched: %w", err)
	}
	err = d.mutate(ctx, func(t *Tx) error {
		recs, err := t.assetRecords([]string{hash})
		if err != nil {
			return err
		}
		a := recs[0]
		switch {
		case a == nil:
			a = &AssetRecord{Hash: hash, Ref: ref, CreatedAt: t.now}
		case a.Remote || SameLocation(a.Ref, expect):
			a.Ref, a.Remote = ref, false
		default:
			rec = *a
			return nil
		}
		moved = true
		a.Uploaded = max(a.Uploaded, t.now)
		a.UsedAt = t.now
		rec = *a
		return t.putAssetRecord(a)
	})
	return rec, moved, err
}

// SameLocation reports whether two refs name the same stored bytes (see
// assetref.SameLocation).
func SameLocation(a, b assetref.Ref) bool { return assetref.SameLocation(a, b) }

// Asset returns the record of the asset with the given hash. It fails with
// errs.ErrNotFound when there is none.
func (d *DB) Asset(ctx context.Context, hash string) (AssetRecord, error) {
	var rec AssetRecord
	err := d.View(ctx, func(t *Tx) error {
		recs, err := t.assetRecords([]string{hash})
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
func (d *DB) Assets(ctx context.Context) ([]AssetRecord, error) {
	var out []AssetRecord
	err := d.View(ctx, func(t *Tx) error {
		r, err := t.tx.GetAll(storeAssets, "", nil)
		if err != nil {
			return err
		}
		if err := r.Wait(t.ctx); err != nil {
			return err
		}
		recs, err := r.Records()
		if err != nil {
			return err
		}
		out = make([]AssetRecord, 0, len(recs))
		for _, rec := range recs {
			a, err := assetFromRecord(rec)
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
// errs.ErrNotFound if there is no record.
func (d *DB) ForgetAsset(ctx context.Context, hash string) (AssetRecord, error) {
	var rec AssetRecord
	err := d.mutate(ctx, func(t *Tx) error {
		recs, err := t.assetRecords([]string{hash})
		if err != nil {
			return err
		}
		if recs[0] == nil {
			return fmt.Errorf("asset %s: %w", hash, errs.ErrNotFound)
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
