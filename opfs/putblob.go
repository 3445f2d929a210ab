//go:build js && wasm

package opfs

import (
	"context"
	"fmt"
	"io"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/fsx"
)

// PutBlob stores content the page already holds as a Blob (a File the
// user dropped, a fetched image) without its bytes passing through Go,
// reading it once: the bytes are hashed while they are written, not read
// back afterwards. Where Go runs in a dedicated worker (WriteSyncHandle)
// the bridge writes them with a sync access handle while its digest worker
// hashes them (fsx.SyncHandle.CopyBlob); elsewhere the browser copies the Blob
// into the file with createWritable while it hashes it, the two running
// at the same time. Unless hint.SkipCRC it records the content's CRC-32,
// computed meanwhile as well, so that an export need not read the file.
// Content already stored is found by its hash at commit, and the new copy
// discarded. A Blob the browser does not hold (another implementation of
// assetref.Blob) is read through ReadAt and stored like Put stores it,
// without a CRC-32. Otherwise it behaves, and fails, like Put; progress
// (assetref.WithProgress) is reported as the bytes are written.
func (s *Store) PutBlob(ctx context.Context, b assetref.Blob, hint assetref.Hint) (assetref.Ref, error) {
	if b == nil {
		return assetref.Ref{}, fmt.Errorf("opfs: put blob: %w", &errs.ValidationError{Entity: "asset", Field: "blob", Reason: "no Blob"})
	}
	fb, ok := fsx.BlobOf(b)
	if !ok {
		return s.Put(ctx, io.NewSectionReader(b, 0, b.Size()), hint)
	}
	ref, err := s.putBlob(ctx, fb, hint)
	if err != nil {
		return assetref.Ref{}, fmt.Errorf("opfs: put blob: %w", err)
	}
	return ref, nil
}

// putBlobSlice is how much of a Blob a createWritable write takes per step.
const putBlobSlice = 16 << 20

func (s *Store) putBlob(ctx context.Context, b *fsx.Blob, hint assetref.Hint) (ref assetref.Ref, err error) {
	hint, err = hint.Normalize()
	if err != nil {
		return ref, err
	}
	if err := s.check(ctx); err != nil {
		return ref, err
	}
	// WebCrypto may start hashing before the lock is held.
	var hashed func() (fsx.Sum, error)
	if !s.copiesBlob(b) {
		start := fsx.StartSum
		if hint.SkipCRC {
			start = fsx.StartHashOnly
		}
		hashed = start(ctx, b)
	}
	release, err := s.lock(ctx, s.tmpLock, true)
	if err != nil {
		return ref, err
	}
	defer release()
	fctx, cancel := cleanupContext(ctx)
	defer cancel()
	name := tmpName()
	f, err := s.tmp.File(fctx, name, true)
	if err != nil {
		return ref, err
	}
	moved := false
	defer func() {
		if !moved {
			_ = removeIfExists(fctx, s.tmp, name)
		}
	}()
	var sum fsx.Sum
	if hashed == nil {
		sum, err = copyBlob(ctx, f, b, !hint.SkipCRC)
	} else {
		if err = writeBlob(ctx, fctx, f, b); err == nil {
			sum, err = hashed()
		}
	}
	if err != nil {
		return ref, err
	}
	rec := record{ID: hint.ID, Type: mediaType(hint.MIME), MIME: hint.MIME, Hash: sum.Hash, Bytes: b.Size(), CRC32: sum.CRC32, HasCRC: sum.HasCRC}
	ref, moved, err = s.commit(ctx, f, rec)
	return ref, err
}

// copiesBlob reports whether b is written with a sync access handle while
// the bridge hashes what it wrote (copyBlob), rather than copied by the
// browser with createWritable while the content is hashed beside it. In a
// worker the sync handle wins at every size: it reads the Blob once, as a
// stream, and the digest worker's streaming SHA-256 keeps pace with it.
// A 64 MiB putAsset from the JavaScript API in worker mode (bench J4,
// Chromium, 2 cores) ran at 148-150 MiB/s that way against 79-91 MiB/s
// with createWritable beside a whole-Blob WebCrypto digest.
func (s *Store) copiesBlob(*fsx.Blob) bool {
	return s.mode == WriteSyncHandle && s.kind == assetref.KindOPFS
}

// copyBlob writes b into f with a sync access handle, hashing it meanwhile.
func copyBlob(ctx context.Context, f *fsx.File, b *fsx.Blob, withCRC bool) (fsx.Sum, error) {
	h, err := f.CreateSyncAccessHandle(ctx)
	if err != nil {
		return fsx.Sum{}, err
	}
	size := b.Size()
	sum, err := h.CopyBlob(ctx, b, withCRC, func(done int64) { assetref.ReportProgress(ctx, done, size) })
	if err == nil && size == 0 {
		assetref.ReportProgress(ctx, 0, 0)
	}
	if cerr := h.Close(); err == nil {
		err = cerr
	}
	return sum, err
}

// writeBlob copies b into f with createWritable, in slices, so that a
// large Blob reports progress as it goes.
func writeBlob(ctx, fctx context.Context, f *fsx.File, b *fsx.Blob) (err error) {
	w, err := f.CreateWritable(fctx)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			w.Abort(fctx)
		}
	}()
	size := b.Size()
	for off := int64(0); off == 0 || off < size; off += putBlobSlice {
		part := b
		if size > putBlobSlice {
			if part, err = fsx.WrapBlob(b.Slice(off, min(off+putBlobSlice, size))); err != nil {
				return err
			}
		}
		if err := w.WriteBlob(ctx, part); err != nil {
			return err
		}
		assetref.ReportProgress(ctx, min(off+putBlobSlice, size), size)
	}
	return w.Close(fctx)
}

// Blob returns the asset's content as a Blob the browser holds (the file
// itself: nothing is read or copied), of the recorded media type, for the
// page to display or upload. It fails like Stat.
func (s *Store) Blob(ctx context.Context, ref assetref.Ref) (assetref.Blob, error) {
	b, _, _, err := s.BlobCRC32(ctx, ref)
	return b, err
}

// BlobCRC32 is Blob that also returns the content's CRC-32 as recorded
// when it was stored (ok false for assets stored without one).
func (s *Store) BlobCRC32(ctx context.Context, ref assetref.Ref) (b assetref.Blob, crc uint32, ok bool, err error) {
	r, fb, err := s.resolve(ctx, ref)
	if err != nil {
		return nil, 0, false, fmt.Errorf("opfs: blob: %w", err)
	}
	return fb.Asset(r.MIME), r.CRC32, r.HasCRC, nil
}
