//go:build js && wasm

// Tests and benchmarks of the store when the Go program itself runs in a
// dedicated worker, where sync access handles exist (internal/workertest:
// TestDedicatedWorker and BenchmarkDedicatedWorker start the copy that
// runs the *InWorker tests).

package opfs

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"hash/crc32"
	"io"
	"syscall/js"
	"testing"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/assetref/storetest"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/workertest"
)

// TestDedicatedWorker runs the *InWorker tests in a dedicated worker and
// fails if any fails, or if one did not run.
func TestDedicatedWorker(t *testing.T) {
	workertest.RunAll(t, "TestConformanceInWorker", "TestFailedPutsInWorker", "TestQuotaExceededInWorker", "Test64MiBInWorker",
		"TestPeakHeapInWorker", "TestReadHandlesInWorker", "TestPutBlobInWorker", "TestPutBlobFailuresInWorker")
}

func skipOutsideWorker(t testing.TB) {
	workertest.Skip(t)
	if _, err := fsx.StorageRoot(t.Context()); errors.Is(err, errs.ErrUnsupported) {
		t.Skipf("this browser has no OPFS (%v)", err)
	}
	if !fsx.InDedicatedWorker() || !fsx.SyncAccessSupported() {
		t.Fatal("the worker has no sync access handles")
	}
}

func TestConformanceInWorker(t *testing.T) {
	skipOutsideWorker(t)
	storetest.Run(t, func(t *testing.T) assetref.Store {
		s := openOPFS(t, Options{})
		if s.WriteMode() != WriteSyncHandle {
			t.Fatalf("WriteAuto in a worker chose %s", s.WriteMode())
		}
		return s
	})
}

func TestFailedPutsInWorker(t *testing.T) {
	skipOutsideWorker(t)
	s := openOPFS(t, Options{})
	r := newStream(5<<20, 1)
	r.failAt = 3<<20 + 7
	if _, err := s.Put(t.Context(), r, assetref.Hint{}); !errors.Is(err, errStreamFailed) {
		t.Fatalf("Put from a reader failing midway = %v", err)
	}
	wantLayout(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	if _, err := s.Put(ctx, &cancelAt{r: newStream(5<<20, 2), at: 2 << 20, cancel: cancel}, assetref.Hint{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put cancelled midway = %v", err)
	}
	wantLayout(t, s)
}

func TestQuotaExceededInWorker(t *testing.T) {
	skipOutsideWorker(t)
	s := openOPFS(t, Options{})
	write := js.Global().Get("FileSystemSyncAccessHandle").Get("prototype").Get("write")
	patch(t, "FileSystemSyncAccessHandle", "write", eval(`const [original] = arguments; let calls = 0;
		return function (...args) {
			if (++calls > 2) throw new DOMException("synthetic: out of quota", "QuotaExceededError");
			return original.apply(this, args);
		}`, write))
	_, err := s.Put(t.Context(), newStream(5<<20, 3), assetref.Hint{})
	if !errors.Is(err, errs.ErrQuotaExceeded) {
		t.Fatalf("Put = %v, want an error matching ErrQuotaExceeded", err)
	}
	wantLayout(t, s)
}

func Test64MiBInWorker(t *testing.T) {
	skipOutsideWorker(t)
	ctx := t.Context()
	s := openOPFS(t, Options{})
	const size = 64 << 20
	ref, err := s.Put(ctx, newStream(size, 6), assetref.Hint{MIME: "video/webm"})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := s.Open(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, want := make([]byte, 1<<20), make([]byte, 1<<20)
	src := newStream(size, 6)
	var h assetref.Hasher
	for {
		n, err := rc.Read(got)
		src.Read(want[:n])
		if !bytes.Equal(got[:n], want[:n]) {
			t.Fatalf("content differs at %d", h.Size())
		}
		h.Write(got[:n])
		if err != nil {
			break
		}
	}
	if h.Size() != size || h.Sum() != ref.Hash {
		t.Fatalf("read back %d bytes hashing to %s, want %d and %s", h.Size(), h.Sum(), size, ref.Hash)
	}
}

// TestReadHandlesInWorker: in a worker, sequential reads go through
// read-only sync access handles, a fill at a time, and give the content
// however they are cut; a Delete waits while a handle holds the file, and
// reads fail with ErrNotFound afterwards.
func TestReadHandlesInWorker(t *testing.T) {
	skipOutsideWorker(t)
	ctx := t.Context()
	s := openOPFS(t, Options{})
	const size = 2*readFill + 12345
	want, err := io.ReadAll(newStream(size, 9))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := s.Put(ctx, bytes.NewReader(want), assetref.Hint{MIME: "video/webm"})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := s.Open(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	r := rc.(*reader)
	if r.f == nil {
		if ro := readOnlyHandles(t, s); ro != nil {
			t.Skipf("this browser has no read-only sync access handles (%v): readers read the File instead", ro)
		}
		t.Fatal("the reader does not use read-only handles")
	}
	got := make([]byte, 0, size)
	buf := make([]byte, 100<<10+3)
	for {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, want) || r.f == nil {
		t.Fatalf("read %d bytes, equal %v; handles still used: %v", len(got), bytes.Equal(got, want), r.f != nil)
	}
	if _, err := r.Seek(readFill-10, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	part := make([]byte, 20)
	if _, err := io.ReadFull(r, part); err != nil || !bytes.Equal(part, want[readFill-10:readFill+10]) {
		t.Fatalf("read across fills after Seek: %v", err)
	}

	// A handle held elsewhere makes Delete wait until it is closed.
	_, f, _, err := s.resolveFile(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	h, err := f.OpenReadOnly(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Delete(ctx, ref) }()
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Delete returned while a handle held the file: %v", err)
	default:
	}
	h.Close()
	if err := <-done; err != nil {
		t.Fatalf("Delete after the handle closed: %v", err)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(buf); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("read after Delete = %v, want ErrNotFound", err)
	}
}

// TestPutBlobInWorker: where Go runs in a worker, PutBlob writes with a
// sync access handle while the digest worker hashes each chunk
// (fsx.SyncHandle.CopyBlob): the page-side PutBlob tests hold there, at
// every size and whatever the digest limit (the copy always streams), and
// progress ends at the size.
func TestPutBlobInWorker(t *testing.T) {
	skipOutsideWorker(t)
	t.Run("StoresWithoutGo", TestPutBlobStoresWithoutGo)
	t.Run("StoredCRC32", TestStoredCRC32)
	t.Run("SkipCRC", TestPutBlobSkipCRC)
	ctx := t.Context()
	for _, limit := range []int64{fsx.DigestLimit(), 1 << 20} {
		restore := fsx.SetDigestLimit(limit)
		s := openOPFS(t, Options{})
		for _, n := range []int{0, 1, 1<<20 + 1, 17<<20 + 5} {
			data := make([]byte, n)
			rand.Read(data)
			var last, calls int64
			pctx := assetref.WithProgress(ctx, func(done, total int64) {
				if done < last || total != int64(n) {
					t.Errorf("%d bytes, limit %d: progress %d of %d after %d", n, limit, done, total, last)
				}
				last = done
				calls++
			})
			ref, err := s.PutBlob(pctx, pageBlob(t, data), assetref.Hint{MIME: "video/mp4"})
			if err != nil || ref.Hash != assetref.HashBytes(data) || ref.Bytes != int64(n) {
				t.Fatalf("%d bytes, limit %d: PutBlob = %+v, %v", n, limit, ref, err)
			}
			if last != int64(n) || calls == 0 {
				t.Errorf("%d bytes, limit %d: progress ended at %d (%d calls)", n, limit, last, calls)
			}
			_, crc, ok, err := s.BlobCRC32(ctx, ref)
			if err != nil || !ok || crc != crc32.ChecksumIEEE(data) {
				t.Fatalf("%d bytes, limit %d: BlobCRC32 = %08x, %v, %v", n, limit, crc, ok, err)
			}
			rc, err := s.Open(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%d bytes, limit %d: read back %d bytes (%v), equal %v", n, limit, len(got), err, bytes.Equal(got, data))
			}
		}
		restore()
	}
}

// TestPutBlobFailuresInWorker: a PutBlob cancelled midway, or whose write
// runs out of quota, fails with the reason and leaves nothing behind, in
// both ways of hashing.
func TestPutBlobFailuresInWorker(t *testing.T) {
	skipOutsideWorker(t)
	data := make([]byte, 40<<20+3)
	rand.Read(data)
	for _, limit := range []int64{fsx.DigestLimit(), 1 << 20} {
		restore := fsx.SetDigestLimit(limit)
		s := openOPFS(t, Options{})
		b := pageBlob(t, data)
		ctx, cancel := context.WithCancel(t.Context())
		pctx := assetref.WithProgress(ctx, func(done, total int64) {
			if done > 0 && done < total {
				cancel()
			}
		})
		if _, err := s.PutBlob(pctx, b, assetref.Hint{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("limit %d: PutBlob cancelled midway = %v", limit, err)
		}
		wantLayout(t, s)
		// Content up to the digest limit is written with createWritable,
		// larger content with a sync access handle: both run out of quota
		// at their second write.
		proto := js.Global().Get("FileSystemSyncAccessHandle").Get("prototype")
		write := proto.Get("write")
		proto.Set("write", eval(`const [original] = arguments; let calls = 0;
			return function (...args) {
				if (++calls > 1) throw new DOMException("synthetic: out of quota", "QuotaExceededError");
				return original.apply(this, args);
			}`, write))
		wproto := js.Global().Get("FileSystemWritableFileStream").Get("prototype")
		wwrite := wproto.Get("write")
		wproto.Set("write", eval(`const [original] = arguments; let calls = 0;
			return function (...args) {
				if (++calls > 1) return Promise.reject(new DOMException("synthetic: out of quota", "QuotaExceededError"));
				return original.apply(this, args);
			}`, wwrite))
		_, err := s.PutBlob(t.Context(), b, assetref.Hint{})
		proto.Set("write", write)
		wproto.Set("write", wwrite)
		if !errors.Is(err, errs.ErrQuotaExceeded) {
			t.Fatalf("limit %d: PutBlob out of quota = %v, want an error matching ErrQuotaExceeded", limit, err)
		}
		wantLayout(t, s)
		if ref, err := s.PutBlob(t.Context(), b, assetref.Hint{}); err != nil || ref.Hash != assetref.HashBytes(data) {
			t.Fatalf("limit %d: PutBlob after the failures = %+v, %v", limit, ref, err)
		}
		restore()
	}
}

// readOnlyHandles returns why the browser cannot open read-only sync
// access handles (a Chromium extension; Firefox 153 has none), or nil.
func readOnlyHandles(t *testing.T, s *Store) error {
	t.Helper()
	f, err := s.tmp.File(t.Context(), "read-only-probe", true)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.tmp.Remove(context.Background(), "read-only-probe", false) }()
	h, err := f.OpenReadOnly(t.Context())
	if err != nil {
		return err
	}
	_ = h.Close()
	return nil
}
