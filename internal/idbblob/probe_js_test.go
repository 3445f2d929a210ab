//go:build js && wasm

package idbblob

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"syscall/js"
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/assetref/storetest"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/idbtest"
	"github.com/atelierstore/atelier/internal/idbx"
	"github.com/atelierstore/atelier/internal/jsutil"
)

var errForced = errors.New("forced by the test")

// chunkKinds counts the store's chunk values by kind.
func chunkKinds(t *testing.T, s *Store) (blobs, buffers int) {
	t.Helper()
	tx, err := s.begin(idbx.ReadOnly, storeBlobs)
	if err != nil {
		t.Fatal(err)
	}
	r, err := tx.GetAll(storeBlobs, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := r.Await(idbtest.Ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < v.Length(); i++ {
		switch c := v.Index(i); {
		case c.InstanceOf(jsBlob):
			blobs++
		case c.InstanceOf(js.Global().Get("ArrayBuffer")):
			buffers++
		default:
			t.Errorf("chunk %d is neither a Blob nor an ArrayBuffer: %s", i, c.Type())
		}
	}
	return blobs, buffers
}

// TestProbe: the probe decides for Blobs where the browser stores them
// (Chromium, Firefox) and for ArrayBuffers, saying why, where it refuses
// them (WebKitGTK's automation session: a *TxError of the UnknownError
// after complete), and leaves no chunk behind either way.
func TestProbe(t *testing.T) {
	s := openStore(t, 0)
	if kind, _ := s.ChunkValues(); kind != "" {
		t.Fatalf("ChunkValues before the probe = %q", kind)
	}
	err := s.Probe(idbtest.Ctx(t))
	kind, why := s.ChunkValues()
	switch {
	case err == nil && (kind != ValuesBlob || why != nil):
		t.Fatalf("the probe passed, but ChunkValues = %q, %v; want blob", kind, why)
	case err != nil && (kind != ValuesBytes || why != err):
		t.Fatalf("the probe failed (%v), but ChunkValues = %q, %v; want bytes for that reason", err, kind, why)
	case err != nil && !errors.Is(err, errs.ErrWriteFailed):
		t.Fatalf("the probe failed with %v, want the refused write's error", err)
	}
	t.Logf("chunk values: %s (%v)", kind, why)
	if n := countChunks(t, s); n != 0 {
		t.Fatalf("the probe left %d chunks", n)
	}
}

// needBlobs skips a test of Blob chunks where the browser refuses Blobs.
func needBlobs(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Probe(idbtest.Ctx(t)); err != nil {
		t.Skipf("this browser refuses Blobs in IndexedDB (%v): chunks are ArrayBuffers, which TestConformanceBytes covers", err)
	}
}

// TestConformanceBytes: the whole suite with chunks kept as ArrayBuffers,
// as where the browser refuses Blobs in IndexedDB.
func TestConformanceBytes(t *testing.T) {
	storetest.Run(t, func(t *testing.T) assetref.Store {
		s := openStore(t, 64<<10)
		s.UseBytes(errForced)
		return s
	})
}

// TestBytesAndBlobsMix: assets written with Blob chunks read back after the
// store switched to ArrayBuffers, and the other way round; Put and PutBlob
// both store ArrayBuffers once the store uses bytes.
func TestBytesAndBlobsMix(t *testing.T) {
	ctx := idbtest.Ctx(t)
	s := openStore(t, 64<<10)
	needBlobs(t, s)
	a := make([]byte, 100<<10)
	rand.Read(a)
	refA, err := s.Put(ctx, bytes.NewReader(a), assetref.Hint{})
	if err != nil {
		t.Fatal(err)
	}
	if blobs, buffers := chunkKinds(t, s); blobs != 2 || buffers != 0 {
		t.Fatalf("with Blobs: %d Blob and %d ArrayBuffer chunks, want 2 and 0", blobs, buffers)
	}
	s.UseBytes(errForced)
	if kind, why := s.ChunkValues(); kind != ValuesBytes || why != errForced {
		t.Fatalf("ChunkValues after UseBytes = %q, %v", kind, why)
	}
	b := make([]byte, 100<<10)
	rand.Read(b)
	refB, err := s.Put(ctx, bytes.NewReader(b), assetref.Hint{})
	if err != nil {
		t.Fatal(err)
	}
	c := make([]byte, 70<<10)
	rand.Read(c)
	cb, err := fsx.WrapAssetBlob(jsBlob.New([]any{jsutil.Uint8Array(c)}))
	if err != nil {
		t.Fatal(err)
	}
	refC, err := s.PutBlob(ctx, cb, assetref.Hint{MIME: "image/png"})
	if err != nil || refC.Hash != assetref.HashBytes(c) {
		t.Fatalf("PutBlob with bytes: %+v %v", refC, err)
	}
	if blobs, buffers := chunkKinds(t, s); blobs != 2 || buffers != 2+2 {
		t.Fatalf("after the switch: %d Blob and %d ArrayBuffer chunks, want 2 and 4", blobs, buffers)
	}
	for _, tc := range []struct {
		ref  assetref.Ref
		want []byte
	}{{refA, a}, {refB, b}, {refC, c}} {
		r, err := s.Open(ctx, tc.ref)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Fatalf("read %s: %d bytes, %v", tc.ref.BlobKey, len(got), err)
		}
		out, err := s.Blob(ctx, tc.ref)
		if err != nil {
			t.Fatal(err)
		}
		got = make([]byte, len(tc.want))
		if n, err := out.ReadAt(got, 0); n != len(got) || (err != nil && err != io.EOF) || !bytes.Equal(got, tc.want) {
			t.Fatalf("Blob of %s: %d bytes, %v", tc.ref.BlobKey, n, err)
		}
	}
}

// TestReopenAfterTheConnectionCloses: the browser closes the store's
// connection under it (with its close event, or without); the next call
// opens a new one, and what was stored is there once.
func TestReopenAfterTheConnectionCloses(t *testing.T) {
	for _, event := range []bool{false, true} {
		ctx := idbtest.Ctx(t)
		s := openStore(t, 64<<10)
		a := make([]byte, 150<<10)
		rand.Read(a)
		refA, err := s.Put(ctx, bytes.NewReader(a), assetref.Hint{})
		if err != nil {
			t.Fatal(err)
		}
		sh, err := s.conn.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		v := sh.DB().Value()
		v.Call("close")
		if event {
			v.Call("dispatchEvent", js.Global().Get("Event").New("close"))
		}
		b := make([]byte, 10<<10)
		rand.Read(b)
		if _, err := s.Put(ctx, bytes.NewReader(b), assetref.Hint{}); err != nil {
			t.Fatalf("event %v: the first Put after the connection closed: %v", event, err)
		}
		r, err := s.Open(ctx, refA)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, a) {
			t.Fatalf("event %v: the asset stored before: %d bytes, %v", event, len(got), err)
		}
		if list, err := s.List(ctx); err != nil || len(list) != 2 {
			t.Fatalf("event %v: List = %d assets, %v; want 2", event, len(list), err)
		}
	}
}
