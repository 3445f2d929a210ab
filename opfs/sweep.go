//go:build js && wasm

package opfs

import (
	"context"
	"errors"
	"fmt"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/fsx"
)

// Sweep removes what interrupted work left behind: temporary files of
// Puts that never finished (the tab closed or crashed mid-write), records
// without an asset, and asset files whose size differs from their record
// (a crash during the copy that replaces move in browsers without it). It
// returns the number of entries removed. Call it when the application
// starts, after Open.
//
// Sweep waits until no Put of this store runs in any tab or worker, and
// holds new ones back until it is done; it costs a few browser calls per
// stored asset. It fails only if ctx ends, the store is closed, or the
// browser fails; what it removed until then stays removed.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	n, err := s.sweep(ctx)
	if err != nil {
		return n, fmt.Errorf("opfs: sweep: %w", err)
	}
	return n, nil
}

func (s *Store) sweep(ctx context.Context) (int, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	releaseTmp, err := s.lock(ctx, s.tmpLock, false)
	if err != nil {
		return 0, err
	}
	defer releaseTmp()
	release, err := s.lock(ctx, s.commitLock, false)
	if err != nil {
		return 0, err
	}
	defer release()

	removed := 0
	remove := func(dir *fsx.Dir, name string, recursive bool) error {
		if err := dir.Remove(ctx, name, recursive); err != nil {
			return err
		}
		removed++
		return nil
	}
	tmps, err := s.tmp.Entries(ctx)
	if err != nil {
		return removed, err
	}
	for _, e := range tmps {
		if err := remove(s.tmp, e.Name, true); err != nil {
			return removed, err
		}
	}

	metas, err := s.meta.Entries(ctx)
	if err != nil {
		return removed, err
	}
	for _, e := range metas {
		r, ok, err := readRecord(ctx, s.meta, e.Name)
		if err != nil {
			return removed, err
		}
		if ok && r.ID == e.Name {
			_, present, err := s.assetFile(ctx, r)
			if err != nil {
				return removed, err
			}
			if present {
				continue
			}
			// A file of the wrong size is a copy that never finished.
			if dir, err := s.typeDir(ctx, r.Type, false); err == nil {
				if err := dir.Remove(ctx, r.ID, false); err == nil {
					removed++
				} else if !errors.Is(err, errs.ErrNotFound) {
					return removed, err
				}
			}
		}
		if err := remove(s.meta, e.Name, true); err != nil {
			return removed, err
		}
	}

	hashes, err := s.byHash.Entries(ctx)
	if err != nil {
		return removed, err
	}
	for _, e := range hashes {
		r, ok, err := readRecord(ctx, s.byHash, e.Name)
		if err != nil {
			return removed, err
		}
		if ok {
			if name, err := hashName(r.Hash); err == nil && name == e.Name {
				if cur, found, err := s.findID(ctx, r.ID); err != nil {
					return removed, err
				} else if found && cur.Hash == r.Hash {
					continue
				}
			}
		}
		if err := remove(s.byHash, e.Name, true); err != nil {
			return removed, err
		}
	}
	return removed, nil
}
