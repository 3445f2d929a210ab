//go:build js && wasm

package assets

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/pack"
)

// The part paths of Export and Import (see pack.Part): media assets go
// from one Blob to another, copied by the browser, with their CRC-32
// computed in JavaScript and their SHA-256 by WebCrypto, never in Go.
// Export reads nothing for an asset whose CRC-32 the OPFS store recorded
// when it stored the content (PutBlob does); Import stores without one,
// since the hash verifies the content and the checksum would slow every
// import for the sake of a later export, which computes it then.
//
// Measured in Chromium on a 2-core machine for 100 MiB in four assets, Go
// on wasm hashes SHA-256 at 70-100 MB/s and CRC-32 at about 320 MB/s plus
// the copies in and out of Go; WebCrypto hashes at about 600 MB/s and the
// JavaScript CRC-32 (fsx.BlobCRC32) at about 1.2 GB/s.

// blobPart is a pack.Part over a Blob: a slice of a package File, or an
// asset's stored file, with its CRC-32 when the store recorded it (hasCRC)
// or it was computed with the hash.
type blobPart struct {
	b      *fsx.Blob
	crc    uint32
	hasCRC bool
}

func (p blobPart) Size() int64 { return p.b.Size() }

// CRC32 returns the known CRC-32, or reads the content to compute it.
func (p blobPart) CRC32(ctx context.Context) (uint32, error) {
	if p.hasCRC {
		return p.crc, nil
	}
	return fsx.BlobCRC32(ctx, p.b)
}

// blobCRCGetter is implemented by stores that record their assets'
// CRC-32 (the OPFS store): an export then need not read the file for it.
type blobCRCGetter interface {
	BlobCRC32(ctx context.Context, ref assetref.Ref) (assetref.Blob, uint32, bool, error)
}

func asBlobPart(p pack.Part) (blobPart, bool) {
	bp, ok := p.(blobPart)
	return bp, ok && bp.b != nil
}

// OpenPart hands Export an asset's stored file, wherever the registry
// says its bytes are (fetching them first, like Open), with the hash (and
// CRC-32, where the store has it) recorded when they were stored. A file
// in a folder the user picked is hashed again, since other programs may
// have changed it.
func (s libSource) OpenPart(ctx context.Context, ref assetref.Ref) (pack.Part, string, error) {
	var (
		part blobPart
		loc  assetref.Ref
		st   assetref.Store
	)
	_, err := s.l.access(ctx, ref, false, func(store assetref.Store, at assetref.Ref) error {
		st, loc = store, at
		var (
			b   assetref.Blob
			err error
		)
		if g, ok := store.(blobCRCGetter); ok {
			b, part.crc, part.hasCRC, err = g.BlobCRC32(ctx, at)
		} else if givesBlobs(store) {
			b, err = getBlob(ctx, store, at)
		} else {
			return pack.ErrNoPart
		}
		if err != nil {
			return err
		}
		fb, ok := fsx.BlobOf(b)
		if !ok {
			return pack.ErrNoPart // not a Blob the browser holds
		}
		part.b = fb
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	hash := loc.Hash
	switch {
	case loc.Kind == assetref.KindFSHandle:
		sum, err := fsx.SumBlob(ctx, part.b)
		if err != nil {
			return nil, "", err
		}
		hash, part.crc, part.hasCRC = sum.Hash, sum.CRC32, sum.HasCRC
	case hash == "":
		info, err := st.Stat(ctx, loc)
		if err != nil {
			return nil, "", err
		}
		hash = info.Hash
	}
	return part, hash, nil
}

// WritePart appends an asset's stored file (a part from the library's
// source) to the Blob without reading it.
func (w *BlobWriter) WritePart(_ context.Context, p pack.Part) error {
	bp, ok := asBlobPart(p)
	if !ok {
		return fmt.Errorf("assets: BlobWriter cannot take a part of type %T", p)
	}
	w.parts.Append(bp.b)
	return nil
}

// Part returns the n bytes at off of the package as a slice of its Blob.
func (a blobAt) Part(off, n int64) (pack.Part, error) {
	if off < 0 || n < 0 || off > a.b.Size()-n {
		return nil, fmt.Errorf("assets: part [%d, %d) of a %d-byte package", off, off+n, a.b.Size())
	}
	b, err := fsx.WrapBlob(a.b.Slice(off, off+n))
	if err != nil {
		return nil, err
	}
	return blobPart{b: b}, nil
}

// PutPart stores a slice of the package with the store's Blob path: the
// browser writes it to the store while WebCrypto hashes it, and nothing
// is registered unless the hash is the manifest's.
func (s libSink) PutPart(ctx context.Context, p pack.Part, hash string, hint assetref.Hint) (assetref.Ref, bool, error) {
	bp, ok := asBlobPart(p)
	if !ok {
		return assetref.Ref{}, false, pack.ErrNoPart
	}
	st, err := s.l.newStore(ctx)
	if err != nil {
		return assetref.Ref{}, false, err
	}
	if !takesBlobs(st) {
		return assetref.Ref{}, false, pack.ErrNoPart
	}
	hint = withID(hint)
	hint.SkipCRC = true // the hash verifies it; a CRC-32 would only slow the import
	ref, err := s.l.withRoom(ctx, bp.b.Size(), func() (assetref.Ref, error) { return putBlob(ctx, st, bp.b.Asset(hint.MIME), hint) })
	if err != nil {
		return assetref.Ref{}, false, err
	}
	if ref.Hash != hash {
		// Not the content the manifest names. The store's copy goes,
		// unless the store had that content already, under another id.
		if isLocation(ref, hint.ID) {
			if derr := st.Delete(context.WithoutCancel(ctx), ref); derr != nil && !errors.Is(derr, errs.ErrNotFound) {
				s.l.log.Warn("deleting a mismatched import copy failed", "ref", ref, "err", derr)
			}
		}
		return assetref.Ref{}, false, fmt.Errorf("stored content of hash %s: %w", ref.Hash, pack.ErrHashMismatch)
	}
	return s.register(ctx, st, ref)
}

// isLocation reports whether ref locates the asset stored under id: its
// locator is id or ends in "/" and id.
func isLocation(ref assetref.Ref, id string) bool {
	loc := ref.ID + ref.BlobKey + ref.HandleID + ref.Path
	return loc == id || strings.HasSuffix(loc, "/"+id)
}

// CheckPart hashes a slice of the package with WebCrypto, for an asset the
// library has already.
func (s libSink) CheckPart(ctx context.Context, p pack.Part, hash string) error {
	bp, ok := asBlobPart(p)
	if !ok {
		return pack.ErrNoPart
	}
	got, err := fsx.HashBlob(ctx, bp.b)
	if err != nil {
		return err
	}
	if got != hash {
		return fmt.Errorf("content of hash %s: %w", got, pack.ErrHashMismatch)
	}
	return nil
}
