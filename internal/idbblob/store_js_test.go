//go:build js && wasm

package idbblob

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"runtime"
	"slices"
	"sync"
	"syscall/js"
	"testing"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/assetref/storetest"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/idbtest"
	"github.com/atelierstore/atelier/internal/idbx"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// openStore opens the asset store of a fresh workflow store (idbtest.Open:
// a database of its own with the full schema, checked and deleted in
// cleanup), and closes it in cleanup, before the database goes.
func openStore(t testing.TB, chunkSize int) *Store {
	t.Helper()
	d := idbtest.Open(t, nil)
	s, err := Open(idbtest.Ctx(t), d.Name(), chunkSize)
	if err != nil {
		t.Fatalf("open the asset store of %s: %v", d.Name(), err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) assetref.Store {
		// Small chunks so that the suite's assets span many of them.
		return openStore(t, 64<<10)
	})
}

// TestIDBSchemaHasTheStores fails when the workflow store's schema no
// longer creates what this package keeps assets in.
func TestIDBSchemaHasTheStores(t *testing.T) {
	d := idbtest.Open(t, nil)
	conn, err := idbx.Open(idbtest.Ctx(t), d.Name(), 0, idbx.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, st := range []string{storeBlobs, storeBlobMeta} {
		if !slices.Contains(conn.StoreNames(), st) {
			t.Errorf("idb.Open no longer creates the object store %q (it has %v): idbblob keeps assets in it", st, conn.StoreNames())
		}
	}
	if err := checkIndex(conn); err != nil {
		t.Errorf("the database idb.Open creates does not suit idbblob: %v", err)
	}
}

// TestOpenNeedsTheSchema: Open neither creates a database nor upgrades
// one; without the stores it fails with ErrNotFound.
func TestOpenNeedsTheSchema(t *testing.T) {
	ctx := idbtest.Ctx(t)
	name := idbtest.Name(t)
	t.Cleanup(func() { idbtest.Drop(t, name) })
	if _, err := Open(ctx, name, 0); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("Open of a missing database = %v, want ErrNotFound", err)
	}
	// A database of schema version 1 has no asset stores yet.
	conn, err := idbx.Open(ctx, name, 1, idbx.Hooks{Upgrade: func(u *idbx.Upgrade) error {
		if u.OldVersion != 0 {
			t.Errorf("the failed Open left a database of version %d", u.OldVersion)
		}
		return u.CreateStore("workflows", "id", false)
	}})
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if _, err := Open(ctx, name, 0); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("Open of a database without the stores = %v, want ErrNotFound", err)
	}
}

// TestClosed: after Close, and once another tab upgrades or deletes the
// database, calls fail with ErrClosed; the store's connection does not
// hold the other tab up.
func TestClosed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		close func(t *testing.T, s *Store, db string)
	}{
		{"Close", func(t *testing.T, s *Store, _ string) {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			_ = s.Close() // harmless
		}},
		{"upgrade", func(t *testing.T, _ *Store, db string) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			conn, err := idbx.Open(ctx, db, 0, idbx.Hooks{})
			if err != nil {
				t.Fatal(err)
			}
			v := conn.Version()
			conn.Close()
			conn, err = idbx.Open(ctx, db, v+1, idbx.Hooks{Blocked: func(int, int) { t.Error("upgrade blocked") }})
			if err != nil {
				t.Fatal(err)
			}
			conn.Close()
		}},
		{"delete", func(t *testing.T, _ *Store, db string) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := idbx.Delete(ctx, db, func() { t.Error("delete blocked") }); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := idbtest.Ctx(t)
			d := idbtest.Open(t, nil)
			s, err := Open(ctx, d.Name(), 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			ref, err := s.Put(ctx, bytes.NewReader([]byte("before")), assetref.Hint{})
			if err != nil {
				t.Fatal(err)
			}
			tc.close(t, s, d.Name())
			if _, err := s.Stat(ctx, ref); !errors.Is(err, errs.ErrClosed) {
				t.Errorf("Stat = %v, want ErrClosed", err)
			}
			if _, err := s.Put(ctx, bytes.NewReader([]byte("after")), assetref.Hint{}); !errors.Is(err, errs.ErrClosed) {
				t.Errorf("Put = %v, want ErrClosed", err)
			}
			if _, err := s.List(ctx); !errors.Is(err, errs.ErrClosed) {
				t.Errorf("List = %v, want ErrClosed", err)
			}
		})
	}
}

// countChunks counts the chunk records of the store.
func countChunks(t *testing.T, s *Store) int {
	t.Helper()
	tx, err := s.begin(idbx.ReadOnly, storeBlobs)
	if err != nil {
		t.Fatal(err)
	}
	r, err := tx.Count(storeBlobs, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := r.Await(idbtest.Ctx(t))
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

func TestFailedPutLeavesNothing(t *testing.T) {
	s := openStore(t, 16<<10)
	data := make([]byte, 200<<10)
	rand.Read(data)
	_, err := s.Put(idbtest.Ctx(t), &failingReader{r: bytes.NewReader(data), after: 100 << 10}, assetref.Hint{})
	if err == nil {
		t.Fatal("Put from a failing reader succeeded")
	}
	if n := countChunks(t, s); n != 0 {
		t.Fatalf("%d chunks left after a failed Put", n)
	}
	// A crash leaves chunks with no record: Sweep removes them once they
	// are older than the grace period, and not before.
	m := &blobMeta{key: "crashed", data: "01900000-0000-7000-8000-000000000000", chunkSize: s.chunk}
	if err := s.writeChunks(idbtest.Ctx(t), bytes.NewReader(data), m); err != nil {
		t.Fatal(err)
	}
	recent := &blobMeta{key: "in-progress", data: newDataID(t), chunkSize: s.chunk}
	if err := s.writeChunks(idbtest.Ctx(t), bytes.NewReader(data[:1000]), recent); err != nil {
		t.Fatal(err)
	}
	ref, err := s.Put(idbtest.Ctx(t), bytes.NewReader([]byte("kept")), assetref.Hint{})
	if err != nil {
		t.Fatal(err)
	}
	before := countChunks(t, s)
	removed, err := s.Sweep(idbtest.Ctx(t), time.Hour)
	if err != nil || removed != 1 {
		t.Fatalf("Sweep removed %d (%v), want 1", removed, err)
	}
	if after := countChunks(t, s); after != before-m.chunks {
		t.Fatalf("chunks %d -> %d, want the crashed upload's %d gone", before, after, m.chunks)
	}
	if _, err := s.Stat(idbtest.Ctx(t), ref); err != nil {
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

func TestLargeAssetRoundTrip(t *testing.T) {
	s := openStore(t, 0)
	data := make([]byte, 20<<20+12345)
	rand.Read(data)
	ref, err := s.Put(idbtest.Ctx(t), bytes.NewReader(data), assetref.Hint{MIME: "video/mp4"})
	if err != nil {
		t.Fatal(err)
	}
	if ref.Bytes != int64(len(data)) || ref.Hash != assetref.HashBytes(data) || ref.MIME != "video/mp4" {
		t.Fatalf("ref %+v", ref)
	}
	rc, err := s.Open(idbtest.Ctx(t), ref)
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

// TestHashesLargeAssetsInGo: an asset up to hashAtOnce is hashed
// by WebCrypto at the end; one that outgrows it mid-stream is hashed in Go
// (the chunks kept so far, then the rest as it passes). Both give the
// content's hash.
func TestHashesLargeAssetsInGo(t *testing.T) {
	defer func(v int64) { hashAtOnce = v }(hashAtOnce)
	hashAtOnce = 2 * 1000
	s := openStore(t, 1000)
	for _, n := range []int{0, 999, 2000, 2001, 2999, 5432} {
		data := make([]byte, n)
		rand.Read(data)
		ref, err := s.Put(idbtest.Ctx(t), bytes.NewReader(data), assetref.Hint{MIME: "application/octet-stream"})
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if ref.Hash != assetref.HashBytes(data) || ref.Bytes != int64(n) {
			t.Fatalf("%d bytes: ref %+v, want hash %s", n, ref, assetref.HashBytes(data))
		}
	}
}

func TestCancelledPut(t *testing.T) {
	s := openStore(t, 16<<10)
	ctx, cancel := context.WithCancel(context.Background())
	data := make([]byte, 1<<20)
	r := &cancelAfter{r: bytes.NewReader(data), n: 200 << 10, cancel: cancel}
	if _, err := s.Put(ctx, r, assetref.Hint{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Put: %v", err)
	}
	if n := countChunks(t, s); n != 0 {
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

// TestPutBlob: a Blob the browser holds is stored in slices of itself
// (chunks of blobChunk, not of the store's chunk size) and deduplicated
// against Put; Blob hands the content back as a browser Blob of the
// recorded type. A Blob of another implementation is read through ReadAt.
func TestPutBlob(t *testing.T) {
	ctx := idbtest.Ctx(t)
	s := openStore(t, 64<<10)
	needBlobs(t, s)
	data := make([]byte, 1<<20+5)
	rand.Read(data)
	b, err := fsx.WrapAssetBlob(js.Global().Get("Blob").New([]any{jsutil.Uint8Array(data)}))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := s.PutBlob(ctx, b, assetref.Hint{MIME: "image/webp"})
	if err != nil || ref.Hash != assetref.HashBytes(data) || ref.Bytes != int64(len(data)) || ref.MIME != "image/webp" {
		t.Fatalf("PutBlob: %+v %v", ref, err)
	}
	if n := countChunks(t, s); n != 1 {
		t.Fatalf("PutBlob of a browser Blob stored %d chunks, want 1 slice of it", n)
	}
	again, err := s.Put(ctx, bytes.NewReader(data), assetref.Hint{})
	if err != nil || again.BlobKey != ref.BlobKey || countChunks(t, s) != 1 {
		t.Fatalf("Put of the same bytes: %+v %v, chunks 1 -> %d", again, err, countChunks(t, s))
	}
	out, err := s.Blob(ctx, ref)
	if err != nil {
		t.Fatalf("Blob: %v", err)
	}
	fb, ok := fsx.BlobOf(out)
	if !ok || out.Size() != int64(len(data)) || out.MIME() != "image/webp" || fb.Type() != "image/webp" {
		t.Fatalf("Blob: browser Blob %v, size %d, MIME %q", ok, out.Size(), out.MIME())
	}
	got := make([]byte, len(data))
	if n, err := out.ReadAt(got, 0); n != len(data) || (err != nil && err != io.EOF) || !bytes.Equal(got, data) {
		t.Fatalf("Blob content: read %d (%v), equal %v", n, err, bytes.Equal(got, data))
	}

	other := make([]byte, 200<<10+1)
	rand.Read(other)
	ref, err = s.PutBlob(ctx, bytesBlob{bytes.NewReader(other)}, assetref.Hint{MIME: "image/png"})
	if err != nil || ref.Hash != assetref.HashBytes(other) || ref.Bytes != int64(len(other)) || ref.MIME != "image/png" {
		t.Fatalf("PutBlob of bytes: %+v %v", ref, err)
	}
	if n := countChunks(t, s); n != 1+4 {
		t.Fatalf("PutBlob of bytes: %d chunks, want 1 + 4 of the store's chunk size", n)
	}
	if _, err := s.PutBlob(ctx, nil, assetref.Hint{}); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("PutBlob(nil) = %v, want ErrInvalid", err)
	}
}

// bytesBlob is an assetref.Blob the browser does not hold.
type bytesBlob struct{ *bytes.Reader }

func (bytesBlob) MIME() string { return "" }

// A PutBlob cancelled while it writes, at any moment, fails with the
// context's error and keeps nothing.
func TestPutBlobCancelledWhileWriting(t *testing.T) {
	s := openStore(t, 64<<10)
	data := make([]byte, 40<<20)
	rand.Read(data)
	b, err := fsx.WrapAssetBlob(js.Global().Get("Blob").New([]any{jsutil.Uint8Array(data)}))
	if err != nil {
		t.Fatal(err)
	}
	for _, delay := range []time.Duration{0, time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond} {
		ctx, cancel := context.WithCancel(idbtest.Ctx(t))
		var once sync.Once
		ctx = assetref.WithProgress(ctx, func(done, total int64) {
			once.Do(func() { time.AfterFunc(delay, cancel) })
		})
		done := make(chan error, 1)
		go func() {
			_, err := s.PutBlob(ctx, b, assetref.Hint{MIME: "video/mp4"})
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Logf("cancelled after %v: the write completed first", delay)
			} else if !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled after %v: %v, want context.Canceled", delay, err)
			}
		case <-time.After(20 * time.Second):
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("cancelled after %v: PutBlob did not return\n%s", delay, buf[:n])
		}
		cancel()
	}
}
