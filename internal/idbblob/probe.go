//go:build js && wasm

package idbblob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"syscall/js"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/idbx"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// Chunk values: a store keeps its chunks as Blobs where the browser stores
// Blobs in IndexedDB, and as ArrayBuffers where it does not (WebKit's
// automation and private sessions refuse them: "Error preparing Blob/File
// data to be stored in object store"). Readers take either, so assets
// written in one mode read in the other.

// How chunks are kept, as ChunkValues reports it.
const (
	ValuesBlob  = "blob"  // chunks are Blobs (the browser reads them lazily)
	ValuesBytes = "bytes" // chunks are ArrayBuffers: the browser refused Blobs
)

var probeBytes = []byte("atelier probe")

// Probe finds out, once, whether the browser stores Blobs in IndexedDB:
// it writes a small Blob, reads it back and deletes it. When that fails
// the store keeps chunks as ArrayBuffers from then on, and Probe returns
// why. A failure that says nothing about Blobs (the store closed, ctx
// ended, the origin out of quota) is returned without deciding, and the
// next Probe tries again. Put and PutBlob probe before their first write;
// call it earlier to know ChunkValues sooner.
func (s *Store) Probe(ctx context.Context) error {
	s.probeMu.Lock()
	defer s.probeMu.Unlock()
	if s.probed {
		return s.why
	}
	err := s.probeBlob(ctx)
	if err != nil && (ctx.Err() != nil || errors.Is(err, errs.ErrClosed) || errors.Is(err, errs.ErrQuotaExceeded)) {
		return err
	}
	s.probed = true
	if err != nil {
		s.why = err
		s.bytes.Store(true)
	}
	return err
}

// UseBytes makes the store keep new chunks as ArrayBuffers, for the
// reason why, as if Probe had failed with it.
func (s *Store) UseBytes(why error) {
	s.probeMu.Lock()
	defer s.probeMu.Unlock()
	s.probed, s.why = true, why
	s.bytes.Store(true)
}

// ChunkValues reports how new chunks are kept, ValuesBlob or ValuesBytes,
// and why they are bytes; "" before Probe has decided.
func (s *Store) ChunkValues() (string, error) {
	s.probeMu.Lock()
	defer s.probeMu.Unlock()
	switch {
	case !s.probed:
		return "", nil
	case s.bytes.Load():
		return ValuesBytes, s.why
	}
	return ValuesBlob, nil
}

func (s *Store) probeBlob(ctx context.Context) error {
	data, err := newID()
	if err != nil {
		return err
	}
	tx, err := s.begin(idbx.ReadWrite, storeBlobs)
	if err != nil {
		return err
	}
	var blob js.Value
	if err := jsutil.Try(func() { blob = jsBlob.New([]any{jsutil.Uint8Array(probeBytes)}) }); err != nil {
		tx.Abort()
		return err
	}
	if err := tx.PutKey(storeBlobs, chunkKey(data, 0), blob); err != nil {
		tx.Abort()
		return fmt.Errorf("idbblob: probe: store a Blob: %w", err)
	}
	tx.Commit()
	if err := tx.Wait(ctx); err != nil {
		return fmt.Errorf("idbblob: probe: store a Blob: %w", err)
	}
	defer s.dropChunks(data)
	if tx, err = s.begin(idbx.ReadOnly, storeBlobs); err != nil {
		return err
	}
	req, err := tx.Get(storeBlobs, chunkKey(data, 0))
	if err != nil {
		return err
	}
	v, err := req.Await(ctx)
	if err != nil {
		return fmt.Errorf("idbblob: probe: read the Blob back: %w", err)
	}
	if !v.InstanceOf(jsBlob) {
		return fmt.Errorf("idbblob: probe: a stored Blob came back as %s: %w", v.Type(), errs.ErrCorrupt)
	}
	ab, err := jsutil.Await(ctx, v.Call("arrayBuffer"))
	if err != nil {
		return fmt.Errorf("idbblob: probe: read the Blob back: %w", err)
	}
	got, err := jsutil.Bytes(ab)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, probeBytes) {
		return fmt.Errorf("idbblob: probe: a stored Blob came back with other bytes: %w", errs.ErrCorrupt)
	}
	return nil
}

// chunkValue is what a chunk whose bytes are in u8 (a Uint8Array over an
// ArrayBuffer of its own) and whose Blob is blob is stored as.
func (s *Store) chunkValue(u8, blob js.Value) js.Value {
	if s.bytes.Load() {
		return u8.Get("buffer")
	}
	return blob
}

// asBlobs turns the ArrayBuffer chunks of v, an array of chunk values,
// into Blobs in place, so that readers deal with Blobs alone.
func asBlobs(v js.Value) error {
	return jsutil.Try(func() {
		for i, n := 0, v.Length(); i < n; i++ {
			if c := v.Index(i); !c.InstanceOf(jsBlob) {
				v.SetIndex(i, jsBlob.New([]any{c}))
			}
		}
	})
}

// asBlob is asBlobs for one chunk value.
func asBlob(c js.Value) (b js.Value, err error) {
	err = jsutil.Try(func() {
		b = c
		if !c.InstanceOf(jsBlob) {
			b = jsBlob.New([]any{c})
		}
	})
	return b, err
}
