//go:build js && wasm

package idbblob

import (
	"context"
	"fmt"
	"io"
	"syscall/js"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/idbx"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// blobChunk is the chunk size for Blobs the page hands over. Their chunks
// are slices of the Blob, never in Go memory, so they can be larger than
// those of Put: fewer parts make reading the whole faster.
const blobChunk = 32 << 20

// PutBlob stores content the page already holds as a Blob (a File the
// user dropped, a fetched image) without its bytes passing through Go: its
// chunks are slices of the Blob (no copy until IndexedDB stores them),
// written while the browser hashes it (WebCrypto). Content already stored
// is found by its hash at commit, and the new copy discarded. A Blob the
// browser does not hold (another implementation of assetref.Blob) is read
// through ReadAt and stored as Put stores it. Otherwise it behaves, and
// fails, like Put.
func (s *Store) PutBlob(ctx context.Context, b assetref.Blob, hint assetref.Hint) (assetref.Ref, error) {
	if b == nil {
		return assetref.Ref{}, fmt.Errorf("idbblob: put blob: %w", &errs.ValidationError{Entity: "asset", Field: "blob", Reason: "no Blob"})
	}
	fb, ok := fsx.BlobOf(b)
	if !ok {
		return s.Put(ctx, io.NewSectionReader(b, 0, b.Size()), hint)
	}
	return s.putBlob(ctx, fb, hint)
}

func (s *Store) putBlob(ctx context.Context, b *fsx.Blob, hint assetref.Hint) (assetref.Ref, error) {
	hint, err := hint.Normalize()
	if err != nil {
		return assetref.Ref{}, err
	}
	_ = s.Probe(ctx) // on failure it decided for bytes, or the write fails too
	hashed := fsx.StartHashOnly(ctx, b)
	data, err := newID()
	if err != nil {
		return assetref.Ref{}, err
	}
	chunk := max(s.chunk, blobChunk)
	asBytes := s.bytes.Load()
	if asBytes {
		chunk = s.chunk // each chunk is read into memory before it is stored
	}
	m := &blobMeta{key: hint.ID, data: data, mime: hint.MIME, chunkSize: chunk, size: b.Size()}
	var pending []*idbx.Tx
	fail := func(err error) (assetref.Ref, error) {
		for _, tx := range pending {
			_ = tx.Wait(context.Background())
		}
		_, _ = hashed()
		s.dropChunks(m.data)
		return assetref.Ref{}, err
	}
	var stored int64
	stepped := func() {
		stored = min(stored+int64(chunk), b.Size())
		assetref.ReportProgress(ctx, stored, b.Size())
	}
	for off := int64(0); off < b.Size(); off += int64(chunk) {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		if len(pending) == inFlight {
			if err := pending[0].Wait(ctx); err != nil {
				return fail(fmt.Errorf("store chunk: %w", err))
			}
			pending = pending[1:]
			stepped()
		}
		v := b.Slice(off, min(off+int64(chunk), b.Size()))
		if asBytes {
			// Read before the transaction begins: awaiting anything but
			// its own requests would let it commit.
			if v, err = jsutil.Await(ctx, v.Call("arrayBuffer")); err != nil {
				return fail(fmt.Errorf("read blob: %w", err))
			}
		}
		tx, err := s.begin(idbx.ReadWrite, storeBlobs)
		if err != nil {
			return fail(err)
		}
		if err := tx.PutKey(storeBlobs, chunkKey(m.data, m.chunks), v); err != nil {
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
		stepped()
	}
	if b.Size() == 0 {
		assetref.ReportProgress(ctx, 0, 0)
	}
	sum, err := hashed()
	if err != nil {
		return fail(err)
	}
	m.hash = sum.Hash
	ref, err := s.commit(ctx, m)
	if err != nil {
		return fail(err)
	}
	if ref.BlobKey != m.key {
		s.dropChunks(m.data) // deduplicated by another tab meanwhile
	}
	return ref, nil
}

// Blob returns the asset's content as one Blob the browser holds, made of
// its chunks' Blobs (nothing is read or copied), of the recorded media
// type, for the page to display or upload. It fails like Stat.
func (s *Store) Blob(ctx context.Context, ref assetref.Ref) (assetref.Blob, error) {
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
	return fsx.NewBlob(parts, m.mime).Asset(m.mime), nil
}
