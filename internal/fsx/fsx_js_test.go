//go:build js && wasm

package fsx

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"syscall/js"
	"testing"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// eval runs JavaScript source as a function body, for tests only.
func eval(src string, args ...any) js.Value {
	return js.Global().Get("Function").New(src).Invoke(args...)
}

// await evaluates src, which returns a promise, and waits for it.
func await(t *testing.T, src string, args ...any) js.Value {
	t.Helper()
	v, err := jsutil.Await(t.Context(), eval(src, args...))
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return v
}

// testDir returns an empty OPFS directory named after the test, removed
// in cleanup.
func testDir(t *testing.T) *Dir {
	t.Helper()
	root, err := StorageRoot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	name := strings.ReplaceAll(t.Name(), "/", "-")
	base, err := root.Dir(t.Context(), "fsx-test", true)
	if err != nil {
		t.Fatal(err)
	}
	_ = base.Remove(t.Context(), name, true)
	d, err := base.Dir(t.Context(), name, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := base.Remove(context.Background(), name, true); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return d
}

// patch replaces prototype[method] of a global constructor for the rest of
// the test.
func patch(t *testing.T, ctor, method string, fn js.Value) {
	t.Helper()
	proto := js.Global().Get(ctor).Get("prototype")
	old := proto.Get(method)
	if fn.IsUndefined() {
		js.Global().Get("Reflect").Call("deleteProperty", proto, method)
	} else {
		proto.Set(method, fn)
	}
	t.Cleanup(func() { proto.Set(method, old) })
}

func writeFile(t *testing.T, d *Dir, name string, data []byte) *File {
	t.Helper()
	ctx := t.Context()
	f, err := d.File(ctx, name, true)
	if err != nil {
		t.Fatal(err)
	}
	w, err := f.CreateWritable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return f
}

func readFile(t *testing.T, f *File) []byte {
	t.Helper()
	b, err := f.Blob(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, b.Size())
	if n, err := b.ReadAt(t.Context(), p, 0); n != len(p) || (err != nil && err != io.EOF) {
		t.Fatalf("ReadAt = %d, %v", n, err)
	}
	return p
}

func names(t *testing.T, d *Dir) []string {
	t.Helper()
	es, err := d.Entries(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name+":"+string(e.Kind))
	}
	slices.Sort(out)
	return out
}

func TestDirectories(t *testing.T) {
	ctx := t.Context()
	d := testDir(t)
	sub, err := d.Path(ctx, "a/b/c", true)
	if err != nil || sub.Name() != "c" {
		t.Fatalf("Path create = %v, %v", sub, err)
	}
	if _, err := d.Path(ctx, "a/x", false); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("Path of a missing directory: %v", err)
	}
	if _, err := d.File(ctx, "nope", false); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("File of a missing file: %v", err)
	}
	writeFile(t, d, "f", []byte("hello"))
	if _, err := d.Dir(ctx, "f", false); !errors.Is(err, jsutil.Named("TypeMismatchError")) {
		t.Fatalf("Dir of a file: %v", err)
	}
	if got := names(t, d); !slices.Equal(got, []string{"a:directory", "f:file"}) {
		t.Fatalf("Entries = %v", got)
	}
	if err := d.Remove(ctx, "a", false); !errors.Is(err, jsutil.Named("InvalidModificationError")) {
		t.Fatalf("Remove of a non-empty directory without recursive: %v", err)
	}
	if err := d.Remove(ctx, "a", true); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(ctx, "a", true); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("Remove of a missing entry: %v", err)
	}
	if got := names(t, d); !slices.Equal(got, []string{"f:file"}) {
		t.Fatalf("Entries after Remove = %v", got)
	}
}

func TestEntriesWithoutFromAsync(t *testing.T) {
	d := testDir(t)
	for _, n := range []string{"x", "y", "z"} {
		writeFile(t, d, n, nil)
	}
	if _, err := d.Dir(t.Context(), "sub", true); err != nil {
		t.Fatal(err)
	}
	want := names(t, d)
	arr := js.Global().Get("Array")
	old := arr.Get("fromAsync")
	js.Global().Get("Reflect").Call("deleteProperty", arr, "fromAsync")
	defer arr.Set("fromAsync", old)
	if got := names(t, d); !slices.Equal(got, want) || len(got) != 4 {
		t.Fatalf("Entries by iterator = %v, by fromAsync = %v", got, want)
	}
}

func TestWrap(t *testing.T) {
	d := testDir(t)
	f := writeFile(t, d, "f", nil)
	if _, err := WrapDir(js.ValueOf(3)); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("WrapDir(3): %v", err)
	}
	if _, err := WrapDir(f.JSValue()); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("WrapDir(file handle): %v", err)
	}
	if _, err := WrapFile(d.JSValue()); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("WrapFile(directory handle): %v", err)
	}
	d2, err := WrapDir(d.JSValue())
	if err != nil || d2.Name() != d.Name() {
		t.Fatalf("WrapDir = %v, %v", d2, err)
	}
	if same, err := d2.IsSameEntry(t.Context(), d); err != nil || !same {
		t.Fatalf("IsSameEntry = %v, %v", same, err)
	}
	f2, err := WrapFile(f.JSValue())
	if err != nil || f2.Name() != "f" {
		t.Fatalf("WrapFile = %v, %v", f2, err)
	}
}

func TestPermissionOnOPFS(t *testing.T) {
	d := testDir(t)
	for _, write := range []bool{false, true} {
		p, err := d.QueryPermission(t.Context(), write)
		if err != nil || p != PermissionGranted {
			t.Fatalf("QueryPermission(write=%v) = %q, %v", write, p, err)
		}
	}
}

func TestBlobReads(t *testing.T) {
	ctx := t.Context()
	d := testDir(t)
	data := make([]byte, 10_000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	f := writeFile(t, d, "f", data)
	b, err := f.Blob(ctx)
	if err != nil || b.Size() != int64(len(data)) {
		t.Fatalf("Blob = %v, %v", b, err)
	}
	p := make([]byte, 100)
	if n, err := b.ReadAt(ctx, p, 5000); n != 100 || err != nil || !bytes.Equal(p, data[5000:5100]) {
		t.Fatalf("ReadAt middle = %d, %v", n, err)
	}
	if n, err := b.ReadAt(ctx, p, 9950); n != 50 || err != io.EOF || !bytes.Equal(p[:50], data[9950:]) {
		t.Fatalf("ReadAt across the end = %d, %v", n, err)
	}
	if n, err := b.ReadAt(ctx, p, 10_000); n != 0 || err != io.EOF {
		t.Fatalf("ReadAt at the end = %d, %v", n, err)
	}
	c := b.Prefetch(9000, 4096)
	if c.Off() != 9000 || c.Len() != 1000 {
		t.Fatalf("Prefetch clamps to [%d, +%d)", c.Off(), c.Len())
	}
	q := make([]byte, 2000)
	if n, err := c.Wait(ctx, q); n != 1000 || err != nil || !bytes.Equal(q[:n], data[9000:]) {
		t.Fatalf("Chunk.Wait = %d, %v", n, err)
	}
	// The snapshot fails once the file is gone.
	if err := d.Remove(ctx, "f", false); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ReadAt(ctx, p, 0); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("ReadAt of a removed file: %v", err)
	}
}

func TestWritableAbortKeepsOldContent(t *testing.T) {
	ctx := t.Context()
	d := testDir(t)
	f := writeFile(t, d, "f", []byte("old"))
	w, err := f.CreateWritable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := w.Write(ctx, bytes.Repeat([]byte("new"), 1000)); err != nil {
			t.Fatal(err)
		}
	}
	// The file is locked while the writable is open.
	if err := d.Remove(ctx, "f", false); !errors.Is(err, jsutil.Named("NoModificationAllowedError")) {
		t.Fatalf("Remove while writing: %v", err)
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, f); string(got) != "old" {
		t.Fatalf("after Abort the file holds %q", got)
	}
	if err := w.Write(ctx, []byte("x")); err == nil {
		t.Fatal("Write after Abort succeeded")
	}
	if err := d.Remove(ctx, "f", false); err != nil {
		t.Fatalf("Remove after Abort: %v", err)
	}
}

func TestWritableReusesBuffers(t *testing.T) {
	ctx := t.Context()
	d := testDir(t)
	f, err := d.File(ctx, "f", true)
	if err != nil {
		t.Fatal(err)
	}
	w, err := f.CreateWritable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	chunk := make([]byte, 4096)
	for i := range 20 {
		for j := range chunk {
			chunk[j] = byte(i + j)
		}
		n := len(chunk) - i*100 // shrinking chunks reuse larger buffers through views
		want = append(want, chunk[:n]...)
		if err := w.Write(ctx, chunk[:n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, f); !bytes.Equal(got, want) {
		t.Fatalf("read back %d bytes that differ from the %d written", len(got), len(want))
	}
}

// quotaAfter returns a JavaScript function that behaves as wrapped does for
// the first n calls and then fails like a full disk.
func quotaAfter(n int, wrapped js.Value, async bool) js.Value {
	return eval(`const [n, wrapped, async] = arguments; let calls = 0;
		return function (...args) {
			if (++calls > n) {
				const e = new DOMException("synthetic: out of quota", "QuotaExceededError");
				if (async) return Promise.reject(e);
				throw e;
			}
			return wrapped.apply(this, args);
		}`, n, wrapped, async)
}

func TestWritableQuotaExceeded(t *testing.T) {
	ctx := t.Context()
	d := testDir(t)
	proto := js.Global().Get("FileSystemWritableFileStream").Get("prototype")
	patch(t, "FileSystemWritableFileStream", "write", quotaAfter(2, proto.Get("write"), true))
	f := writeFile(t, d, "f", nil) // one write of nothing: no call
	w, err := f.CreateWritable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	for range 5 {
		if werr = w.Write(ctx, make([]byte, 1000)); werr != nil {
			break
		}
	}
	if werr == nil {
		werr = w.Close(ctx)
	}
	if !errors.Is(werr, errs.ErrQuotaExceeded) {
		t.Fatalf("error after the quota ran out = %v, want one matching ErrQuotaExceeded", werr)
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, f); len(got) != 0 {
		t.Fatalf("the file holds %d bytes after a failed write", len(got))
	}
}

func TestMove(t *testing.T) {
	ctx := t.Context()
	d := testDir(t)
	dst, err := d.Dir(ctx, "dst", true)
	if err != nil {
		t.Fatal(err)
	}
	f := writeFile(t, d, "tmp", []byte("content"))
	writeFile(t, dst, "final", []byte("replaced"))
	if err := f.Move(ctx, dst, "final"); err != nil {
		t.Fatal(err)
	}
	if f.Name() != "final" {
		t.Fatalf("Name after Move = %q", f.Name())
	}
	g, err := dst.File(ctx, "final", false)
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, g); string(got) != "content" {
		t.Fatalf("moved file holds %q", got)
	}
	if same, err := f.IsSameEntry(ctx, g); err != nil || !same {
		t.Fatalf("IsSameEntry after Move = %v, %v", same, err)
	}
	if _, err := d.File(ctx, "tmp", false); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("the old name still exists: %v", err)
	}

	patch(t, "FileSystemFileHandle", "move", js.Undefined())
	if err := g.Move(ctx, d, "back"); !errors.Is(err, errs.ErrUnsupported) {
		t.Fatalf("Move without FileSystemFileHandle.move: %v", err)
	}
}

func TestSyncAccessOnMainThread(t *testing.T) {
	if InDedicatedWorker() || SyncAccessSupported() {
		t.Fatal("the test page's main thread reports itself as a dedicated worker")
	}
	d := testDir(t)
	f := writeFile(t, d, "f", nil)
	if _, err := f.CreateSyncAccessHandle(t.Context()); !errors.Is(err, errs.ErrUnsupported) {
		t.Fatalf("CreateSyncAccessHandle on the main thread: %v", err)
	}
	if _, err := NewSyncWriter(t.Context(), f); !errors.Is(err, errs.ErrUnsupported) {
		t.Fatalf("NewSyncWriter on the main thread: %v", err)
	}
}

func TestCancelledCalls(t *testing.T) {
	d := testDir(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := d.File(ctx, "f", true); !errors.Is(err, context.Canceled) {
		t.Fatalf("File with a cancelled context: %v", err)
	}
	if _, err := d.File(t.Context(), "f", false); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("a cancelled File created the file: %v", err)
	}
	if _, err := StorageRoot(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("StorageRoot with a cancelled context: %v", err)
	}
}

func TestBlobStream(t *testing.T) {
	ctx := t.Context()
	d := testDir(t)
	data := make([]byte, 5<<20+321) // several of the browser's chunks
	for i := range data {
		data[i] = byte(i*131 + i>>11)
	}
	f := writeFile(t, d, "f", data)
	b, err := f.Blob(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, start := range []int64{0, 1, 3<<20 + 5, int64(len(data))} {
		s := b.StreamFrom(start)
		var got []byte
		p := make([]byte, 77_777) // reads that straddle chunk boundaries
		for {
			if s.Offset() != start+int64(len(got)) {
				t.Fatalf("Offset = %d after %d bytes from %d", s.Offset(), len(got), start)
			}
			n, err := s.Read(ctx, p)
			got = append(got, p[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got, data[start:]) {
			t.Fatalf("stream from %d: %d bytes that differ from the %d expected", start, len(got), len(data)-int(start))
		}
		s.Close()
		if _, err := s.Read(ctx, p); err == nil {
			t.Fatal("Read after Close succeeded")
		}
	}

	// Closing midway, and cancelling a wait, are clean.
	s := b.StreamFrom(0)
	p := make([]byte, 100)
	if n, err := s.Read(ctx, p); n == 0 || err != nil {
		t.Fatalf("first read = %d, %v", n, err)
	}
	s.Close()
	s = b.StreamFrom(0)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Read(cctx, p); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read with a cancelled context = %v", err)
	}
	if n, err := s.Read(ctx, p); n != len(p) || err != nil || !bytes.Equal(p, data[:len(p)]) {
		t.Fatalf("Read after a cancelled one = %d, %v", n, err)
	}
	s.Close()

	// A snapshot of a removed file fails.
	if err := d.Remove(ctx, "f", false); err != nil {
		t.Fatal(err)
	}
	s = b.StreamFrom(0)
	defer s.Close()
	if _, err := s.Read(ctx, p); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("Read of a removed file = %v", err)
	}
}
