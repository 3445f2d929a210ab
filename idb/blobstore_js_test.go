//go:build js && wasm

package idb

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"syscall/js"
	"testing"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/assetref/storetest"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/jsutil"
)

func TestBlobStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) assetref.Store {
		// Small chunks so that the suite's assets span many of them.
		return newDB(t, nil).BlobStore(64 << 10)
	})
}

// countChunks counts the chunk records of the blob store.
func countChunks(t *testing.T, d *DB) int {
	t.Helper()
	tx, err := d.conn.Begin(0, storeBlobs)
	if err != nil {
		t.Fatal(err)
	}
	r, err := tx.Count(storeBlobs, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := r.Await(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	return v.Int()
}

type failingReader struct {
	r     io.Reader
	after int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("source went away")
	}
	if len(p) > f.after {
		p = p[:f.after]
	}
	n, err := f.r.Read(p)
	f.after -= n
	return n, err
}

func TestBlobStoreFailedPutLeavesNothing(t *testing.T) {
	d := newDB(t, nil)
	s := d.BlobStore(16 << 10)
	data := make([]byte, 200<<10)
	rand.Read(data)
	_, err := s.Put(testCtx(t), &failingReader{r: bytes.NewReader(data), after: 100 << 10}, assetref.Hint{})
	if err == nil {
		t.Fatal("Put from a failing reader succeeded")
	}
	if n := countChunks(t, d); n != 0 {
		t.Fatalf("%d chunks left after a failed Put", n)
	}
	// A crash leaves chunks with no record: Sweep removes them once they
	// are older than the grace period, and not before.
	m := &blobMeta{key: "crashed", data: "01900000-0000-7000-8000-000000000000", chunkSize: s.chunk}
	if err := s.writeChunks(testCtx(t), bytes.NewReader(data), m); err != nil {
		t.Fatal(err)
	}
	recent := &blobMeta{key: "in-progress", data: newDataID(t), chunkSize: s.chunk}
	if err := s.writeChunks(testCtx(t), bytes.NewReader(data[:1000]), recent); err != nil {
		t.Fatal(err)
	}
	ref, err := s.Put(testCtx(t), bytes.NewReader([]byte("kept")), assetref.Hint{})
	if err != nil {
		t.Fatal(err)
	}
	before := countChunks(t, d)
	removed, err := s.Sweep(testCtx(t), time.Hour)
	if err != nil || removed != 1 {
		t.Fatalf("Sweep removed %d (%v), want 1", removed, err)
	}
	if after := countChunks(t, d); after != before-m.chunks {
		t.Fatalf("chunks %d -> %d, want the crashed upload's %d gone", before, after, m.chunks)
	}
	if _, err := s.Stat(testCtx(t), ref); err != nil {
		t.Fatalf("committed asset after Sweep: %v", err)
	}
}

func newDataID(t *testing.T) string {
	t.Helper()
	id, err := newID()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestBlobStoreLargeAssetRoundTrip(t *testing.T) {
	d := newDB(t, nil)
	s := d.BlobStore(0)
	data := make([]byte, 20<<20+12345)
	rand.Read(data)
	ref, err := s.Put(testCtx(t), bytes.NewReader(data), assetref.Hint{MIME: "video/mp4"})
	if err != nil {
		t.Fatal(err)
	}
	if ref.Bytes != int64(len(data)) || ref.Hash != assetref.HashBytes(data) || ref.MIME != "video/mp4" {
		t.Fatalf("ref %+v", ref)
	}
	rc, err := s.Open(testCtx(t), ref)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes (%v), equal %v", len(got), err, bytes.Equal(got, data))
	}
	// Random access across a chunk boundary.
	ra := rc.(io.ReaderAt)
	buf := make([]byte, 100)
	if _, err := ra.ReadAt(buf, DefaultChunkSize-50); err != nil || !bytes.Equal(buf, data[DefaultChunkSize-50:DefaultChunkSize+50]) {
		t.Fatalf("ReadAt across chunks: %v", err)
	}
}

// TestBlobStoreHashesLargeAssetsInGo: an asset up to hashAtOnce is hashed
// by WebCrypto at the end; one that outgrows it mid-stream is hashed in Go
// (the chunks kept so far, then the rest as it passes). Both give the
// content's hash.
func TestBlobStoreHashesLargeAssetsInGo(t *testing.T) {
	defer func(v int64) { hashAtOnce = v }(hashAtOnce)
	hashAtOnce = 2 * 1000
	d := newDB(t, nil)
	s := d.BlobStore(1000)
	for _, n := range []int{0, 999, 2000, 2001, 2999, 5432} {
		data := make([]byte, n)
		rand.Read(data)
		ref, err := s.Put(testCtx(t), bytes.NewReader(data), assetref.Hint{MIME: "application/octet-stream"})
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if ref.Hash != assetref.HashBytes(data) || ref.Bytes != int64(n) {
			t.Fatalf("%d bytes: ref %+v, want hash %s", n, ref, assetref.HashBytes(data))
		}
	}
}

func TestBlobStoreCancelledPut(t *testing.T) {
	d := newDB(t, nil)
	s := d.BlobStore(16 << 10)
	ctx, cancel := context.WithCancel(context.Background())
	data := make([]byte, 1<<20)
	r := &cancelAfter{r: bytes.NewReader(data), n: 200 << 10, cancel: cancel}
	if _, err := s.Put(ctx, r, assetref.Hint{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Put: %v", err)
	}
	if n := countChunks(t, d); n != 0 {
		t.Fatalf("%d chunks left after a cancelled Put", n)
	}
}

// cancelAfter cancels its context once n bytes were read.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n -= k
	if c.n <= 0 {
		c.cancel()
	}
	return k, err
}

func TestBlobStorePutBlob(t *testing.T) {
	ctx := testCtx(t)
	d := newDB(t, nil)
	s := d.BlobStore(64 << 10)
	data := make([]byte, 1<<20+5)
	rand.Read(data)
	b, err := fsx.WrapBlob(js.Global().Get("Blob").New([]any{jsutil.Uint8Array(data)}))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := s.PutBlob(ctx, b, assetref.Hint{MIME: "image/webp"})
	if err != nil || ref.Hash != assetref.HashBytes(data) || ref.Bytes != int64(len(data)) {
		t.Fatalf("PutBlob: %+v %v", ref, err)
	}
	before := countChunks(t, d)
	again, err := s.Put(ctx, bytes.NewReader(data), assetref.Hint{})
	if err != nil || again.BlobKey != ref.BlobKey || countChunks(t, d) != before {
		t.Fatalf("Put of the same bytes: %+v %v, chunks %d -> %d", again, err, before, countChunks(t, d))
	}
	out, err := s.Blob(ctx, ref)
	if err != nil || out.Size() != int64(len(data)) || out.JSValue().Get("type").String() != "image/webp" {
		t.Fatalf("Blob: %v", err)
	}
	ab, _ := jsutil.Await(ctx, out.JSValue().Call("arrayBuffer"))
	got := make([]byte, len(data))
	js.CopyBytesToGo(got, js.Global().Get("Uint8Array").New(ab))
	if !bytes.Equal(got, data) {
		t.Fatal("Blob content differs")
	}
}
