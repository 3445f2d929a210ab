//go:build js && wasm

package opfs

import (
	"context"
	"errors"
	"fmt"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/fsx"
)

// Probe writes a small file the way Put writes (a sync access handle in
// a dedicated worker; createWritable, or where that is missing the helper
// worker's sync access handles, on a page), reads its size back and
// removes it. It returns nil when that worked, and otherwise why: an
// error matching errs.ErrUnsupported where the browser has OPFS but no
// way to write a file (WebKit's createWritable and worker sync handles
// are missing with OPFS on), or the browser's error. Opening a store only
// checks that the directories exist; Probe is how a caller learns whether
// Put can work before the first asset depends on it.
func (s *Store) Probe(ctx context.Context) (err error) {
	if err := s.check(ctx); err != nil {
		return err
	}
	release, err := s.lock(ctx, s.tmpLock, true) // as a Put holds it: Sweep leaves the file alone
	if err != nil {
		return err
	}
	defer release()
	fctx, cancel := cleanupContext(ctx)
	defer cancel()
	name := tmpName()
	f, err := s.tmp.File(fctx, name, true)
	if err != nil {
		return fmt.Errorf("opfs: probe: %w", err)
	}
	defer func() {
		if rerr := removeIfExists(fctx, s.tmp, name); rerr != nil && err == nil {
			err = fmt.Errorf("opfs: probe: remove: %w", rerr)
		}
	}()
	var w fsx.Writer
	switch {
	case s.mode == WriteSyncHandle:
		w, err = fsx.NewSyncWriter(ctx, f)
	default:
		w, err = f.CreateWritable(ctx)
		if errors.Is(err, errs.ErrUnsupported) && s.mode == WriteWorker {
			var h *fsx.Helper
			if h, err = s.workerHelper(ctx); err == nil && h == nil {
				err = fmt.Errorf("helper worker: %w", errs.ErrUnsupported)
			}
			if err == nil {
				w, err = h.Create(ctx, f)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("opfs: probe: %w", err)
	}
	probe := []byte("atelier probe")
	if err := w.Write(ctx, probe); err != nil {
		_ = w.Abort(fctx)
		return fmt.Errorf("opfs: probe: write: %w", err)
	}
	if err := w.Close(ctx); err != nil {
		return fmt.Errorf("opfs: probe: close: %w", err)
	}
	b, err := f.Blob(ctx)
	if err != nil {
		return fmt.Errorf("opfs: probe: read back: %w", err)
	}
	if b.Size() != int64(len(probe)) {
		return fmt.Errorf("opfs: probe: read back %d bytes of %d written: %w", b.Size(), len(probe), errs.ErrCorrupt)
	}
	return nil
}
