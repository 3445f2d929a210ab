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
// user dropped, a fetched image) without its bytes passing through Go: the
// browser copies it into the file while it hashes it (WebCrypto), the two
// running at the same time, and unless hint.SkipCRC it records its CRC-32,
// computed meanwhile as well, so that an export need not read the file.
// Content already stored is found by its hash at commit, and the new copy
// discarded. A Blob the browser does not hold (another implementation of
// assetref.Blob) is read through ReadAt and stored like Put stores it,
// without a CRC-32. Otherwise it behaves, and fails, like Put.
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

// putBlobSlice is how much of a Blob PutBlob writes per step.
const putBlobSlice = 16 << 20

func (s *Store) putBlob(ctx context.Context, b *fsx.Blob, hint assetref.Hint) (ref assetref.Ref, err error) {
	hint, err = hint.Normalize()
	if err != nil {
		return ref, err
	}
	if err := s.check(ctx); err != nil {
		return ref, err
	}
	start := fsx.StartSum
	if hint.SkipCRC {
		start = fsx.StartHashOnly
	}
	hashed := start(ctx, b)
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
	var w *fsx.Writable
	defer func() {
		if moved {
			return
		}
		if w != nil {
			w.Abort(fctx)
		}
		_ = removeIfExists(fctx, s.tmp, name)
	}()
	if w, err = f.CreateWritable(fctx); err != nil {
		w = nil
		return ref, err
	}
	// In slices, so that a large Blob reports progress as it goes.
	size := b.Size()
	for off := int64(0); off == 0 || off < size; off += putBlobSlice {
		part := b
		if size > putBlobSlice {
			if part, err = fsx.WrapBlob(b.Slice(off, min(off+putBlobSlice, size))); err != nil {
				return ref, err
			}
		}
		if err := w.WriteBlob(ctx, part); err != nil {
			return ref, err
		}
		assetref.ReportProgress(ctx, min(off+putBlobSlice, size), size)
	}
	if err := w.Close(fctx); err != nil {
		return ref, err
	}
	sum, err := hashed()
	if err != nil {
		return ref, err
	}
	rec := record{ID: hint.ID, Type: mediaType(hint.MIME), MIME: hint.MIME, Hash: sum.Hash, Bytes: b.Size(), CRC32: sum.CRC32, HasCRC: sum.HasCRC}
	ref, moved, err = s.commit(ctx, f, rec)
	return ref, err
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
