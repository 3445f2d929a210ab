//go:build js && wasm

package idb

import (
	"context"
	"fmt"
	"syscall/js"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/idbx"
)

// PutBlob stores content the page already holds as a Blob without its
// bytes passing through Go: the browser hashes it (WebCrypto), its chunks
// are slices of the Blob (no copy until IndexedDB stores them), and
// content already stored is found by its hash before anything is written.
// Otherwise it behaves, and fails, like Put.
func (s *BlobStore) PutBlob(ctx context.Context, b *fsx.Blob, hint assetref.Hint) (assetref.Ref, error) {
	hint, err := hint.Normalize()
	if err != nil {
		return assetref.Ref{}, err
	}
	hash, err := fsx.HashBlob(ctx, b)
	if err != nil {
		return assetref.Ref{}, err
	}
	if m, err := s.byHash(ctx, hash); err != nil || m != nil {
		if m == nil {
			return assetref.Ref{}, err
		}
		return m.ref(), nil
	}
	data, err := newID()
	if err != nil {
		return assetref.Ref{}, err
	}
	m := &blobMeta{key: hint.ID, data: data, mime: hint.MIME, chunkSize: s.chunk, hash: hash, size: b.Size()}
	var pending []*idbx.Tx
	fail := func(err error) (assetref.Ref, error) {
		for _, tx := range pending {
			_ = tx.Wait(context.Background())
		}
		s.dropChunks(m.data)
		return assetref.Ref{}, err
	}
	for off := int64(0); off < b.Size(); off += int64(s.chunk) {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		if len(pending) == inFlight {
			if err := pending[0].Wait(ctx); err != nil {
				return fail(fmt.Errorf("store chunk: %w", err))
			}
			pending = pending[1:]
		}
		tx, err := s.begin(idbx.ReadWrite, storeBlobs)
		if err != nil {
			return fail(err)
		}
		if err := tx.PutKey(storeBlobs, chunkKey(m.data, m.chunks), b.Slice(off, min(off+int64(s.chunk), b.Size()))); err != nil {
			tx.Abort()
			return fail(err)
		}
		tx.Commit()
		pending = append(pending, tx)
		m.chunks++
	}
	for len(pending) > 0 {
		if err := pending[0].Wait(ctx); err != nil {
			return fail(fmt.Errorf("store chunk: %w", err))
		}
		pending = pending[1:]
	}
	ref, err := s.commit(ctx, m)
	if err != nil {
		return fail(err)
	}
	if ref.BlobKey != m.key {
		s.dropChunks(m.data) // deduplicated by another tab meanwhile
	}
	return ref, nil
}

// byHash returns the committed asset with the given hash, or nil.
func (s *BlobStore) byHash(ctx context.Context, hash string) (*blobMeta, error) {
	tx, err := s.begin(idbx.ReadOnly, storeBlobMeta)
	if err != nil {
		return nil, err
	}
	r, err := tx.GetAll(storeBlobMeta, indexHash, hash)
	if err != nil {
		return nil, err
	}
	arr, err := r.Await(ctx)
	if err != nil || arr.Length() == 0 {
		return nil, err
	}
	return metaFromJS(arr.Index(0))
}

// Blob returns the asset's content as one Blob made of its chunks' Blobs
// (nothing is copied), for the page to display or upload. It fails like
// Stat.
func (s *BlobStore) Blob(ctx context.Context, ref assetref.Ref) (*fsx.Blob, error) {
	m, err := s.lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	r := &blobReader{ctx: ctx, s: s, m: m, blobs: js.Undefined()}
	if err := r.fetchAll(); err != nil {
		return nil, err
	}
	parts := make([]js.Value, r.blobs.Length())
	for i := range parts {
		parts[i] = r.blobs.Index(i)
	}
	return fsx.NewBlob(parts, m.mime), nil
}
