//go:build js && wasm

package opfs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"syscall/js"
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/assetref/storetest"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/fsx"
)

// The conformance suite, once per kind of store and write mode.

func TestConformanceOPFS(t *testing.T) {
	storetest.Run(t, func(t *testing.T) assetref.Store { return openOPFS(t, Options{WriteMode: WriteStream}) })
}

func TestConformanceFolder(t *testing.T) {
	storetest.Run(t, func(t *testing.T) assetref.Store {
		s, _ := openFolder(t, Options{WriteMode: WriteStream})
		return s
	})
}

func TestConformanceHelperWorker(t *testing.T) {
	storetest.Run(t, func(t *testing.T) assetref.Store {
		s := openOPFS(t, Options{WriteMode: WriteWorker})
		if s.WriteMode() != WriteWorker {
			t.Fatalf("WriteMode = %s", s.WriteMode())
		}
		return s
	})
}

func TestConformanceSmallChunks(t *testing.T) {
	storetest.Run(t, func(t *testing.T) assetref.Store {
		s, _ := openFolder(t, Options{WriteMode: WriteWorker, ChunkSize: MinChunkSize})
		return s
	})
}

func TestConformanceWithoutMove(t *testing.T) {
	testFolder(t) // skips without OPFS, before patch
	patch(t, "FileSystemFileHandle", "move", js.Undefined())
	storetest.Run(t, func(t *testing.T) assetref.Store { return openOPFS(t, Options{}) })
}

func TestRefLayout(t *testing.T) {
	ctx := t.Context()
	opfs := openOPFS(t, Options{})
	folder, dir := openFolder(t, Options{Root: "my/assets"})
	data := []byte("\x89PNG not really")
	for _, tc := range []struct {
		s    *Store
		want assetref.Ref
		path string // relative to the directory holding the root
	}{
		{opfs, assetref.Ref{Kind: assetref.KindOPFS, Path: opfs.root + "/assets/image/hero"},
			opfs.root + "/assets/image/hero"},
		{folder, assetref.Ref{Kind: assetref.KindFSHandle, HandleID: testKey + "/my/assets/assets/image/hero"},
			"my/assets/assets/image/hero"},
	} {
		ref, err := tc.s.Put(ctx, bytes.NewReader(data), assetref.Hint{MIME: "Image/PNG", ID: "hero"})
		if err != nil {
			t.Fatal(err)
		}
		tc.want.MIME, tc.want.Bytes, tc.want.Hash = "Image/PNG", int64(len(data)), assetref.HashBytes(data)
		if ref != tc.want {
			t.Fatalf("Put = %+v, want %+v", ref, tc.want)
		}
		// The file is where the ref says, with the content as given.
		top := dir
		if tc.s == opfs {
			top, _ = fsx.StorageRoot(ctx)
		}
		parent, name, _ := cut(tc.path)
		d, err := top.Path(ctx, parent, false)
		if err != nil {
			t.Fatal(err)
		}
		f, err := d.File(ctx, name, false)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := f.Blob(ctx)
		got := make([]byte, b.Size())
		b.ReadAt(ctx, got, 0)
		if !bytes.Equal(got, data) {
			t.Fatalf("%s holds %q", tc.path, got)
		}
		hname, _ := hashName(ref.Hash)
		wantLayout(t, tc.s, "assets/image/hero", "by-hash/"+hname, "meta/hero")
	}
}

func cut(p string) (dir, name string, ok bool) {
	i := strings.LastIndexByte(p, '/')
	return p[:i], p[i+1:], i >= 0
}

func TestRejectedRefs(t *testing.T) {
	ctx := t.Context()
	opfs := openOPFS(t, Options{})
	folder, _ := openFolder(t, Options{})
	content := []byte("x")
	opfsRef, err := opfs.Put(ctx, bytes.NewReader(content), assetref.Hint{ID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	folderRef, err := folder.Put(ctx, bytes.NewReader(content), assetref.Hint{ID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	root := opfs.root
	for _, tc := range []struct {
		s   *Store
		ref assetref.Ref
	}{
		// Traversal out of the store, in every position.
		{opfs, assetref.Ref{Kind: assetref.KindOPFS, Path: root + "/assets/application/../../meta/a"}},
		{opfs, assetref.Ref{Kind: assetref.KindOPFS, Path: root + "/assets/application/.."}},
		{opfs, assetref.Ref{Kind: assetref.KindOPFS, Path: "../" + root + "/assets/application/a"}},
		{folder, assetref.Ref{Kind: assetref.KindFSHandle, HandleID: testKey + "/atelier/assets/application/../../meta/a"}},
		{folder, assetref.Ref{Kind: assetref.KindFSHandle, HandleID: testKey + "/atelier/assets/../assets/application/a"}},
		{folder, assetref.Ref{Kind: assetref.KindFSHandle, HandleID: testKey + "/../atelier/assets/application/a"}},
		{folder, assetref.Ref{Kind: assetref.KindFSHandle, HandleID: "../atelier/assets/application/a"}},
		{folder, assetref.Ref{Kind: assetref.KindFSHandle, HandleID: testKey + "//atelier/assets/application/a"}},
		// Paths outside the layout.
		{opfs, assetref.Ref{Kind: assetref.KindOPFS, Path: root + "/meta/a"}},
		{opfs, assetref.Ref{Kind: assetref.KindOPFS, Path: root + "/assets/a"}},
		{opfs, assetref.Ref{Kind: assetref.KindOPFS, Path: root + "/assets/application/a/b"}},
		{opfs, assetref.Ref{Kind: assetref.KindOPFS, Path: "elsewhere/assets/application/a"}},
		{folder, assetref.Ref{Kind: assetref.KindFSHandle, HandleID: testKey + "/atelier/tmp/a"}},
		{folder, assetref.Ref{Kind: assetref.KindFSHandle, HandleID: testKey}},
		// Another folder's key, and the other store's kind.
		{folder, assetref.Ref{Kind: assetref.KindFSHandle, HandleID: "other-folder/atelier/assets/application/a"}},
		{opfs, folderRef},
		{folder, opfsRef},
	} {
		_, err := tc.s.Stat(ctx, tc.ref)
		if !errors.Is(err, errs.ErrInvalidRef) {
			t.Errorf("Stat(%+v) = %v, want ErrInvalidRef", tc.ref, err)
		}
		rc, err := tc.s.Open(ctx, tc.ref)
		if err == nil {
			rc.Close()
		}
		if !errors.Is(err, errs.ErrInvalidRef) {
			t.Errorf("Open(%+v) = %v, want ErrInvalidRef", tc.ref, err)
		}
		if err := tc.s.Delete(ctx, tc.ref); !errors.Is(err, errs.ErrInvalidRef) {
			t.Errorf("Delete(%+v) = %v, want ErrInvalidRef", tc.ref, err)
		}
	}
	for _, s := range []*Store{opfs, folder} {
		if infos, err := s.List(ctx); err != nil || len(infos) != 1 {
			t.Fatalf("List after the rejected refs = %v, %v", infos, err)
		}
	}
}

// failedPut runs a Put that fails in the way fail arranges and checks that
// nothing is left below the store's root.
func TestFailedPutsLeaveNothing(t *testing.T) {
	for _, mode := range []WriteMode{WriteStream, WriteWorker} {
		t.Run(mode.String(), func(t *testing.T) {
			s := openOPFS(t, Options{WriteMode: mode})
			const size = 5<<20 + 123

			r := newStream(size, 1)
			r.failAt = 3<<20 + 7
			_, err := s.Put(t.Context(), r, assetref.Hint{MIME: "video/mp4"})
			if !errors.Is(err, errStreamFailed) {
				t.Fatalf("Put from a reader failing midway = %v", err)
			}
			wantLayout(t, s)

			ctx, cancel := context.WithCancel(t.Context())
			_, err = s.Put(ctx, &cancelAt{r: newStream(size, 2), at: 2 << 20, cancel: cancel}, assetref.Hint{})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Put cancelled midway = %v", err)
			}
			wantLayout(t, s)

			ref, err := s.Put(t.Context(), newStream(size, 2), assetref.Hint{ID: "ok"})
			if err != nil {
				t.Fatal(err)
			}
			hname, _ := hashName(ref.Hash)
			wantLayout(t, s, "assets/application/ok", "by-hash/"+hname, "meta/ok")
		})
	}
}

// cancelAt cancels a context once at bytes were read.
type cancelAt struct {
	r      io.Reader
	n, at  int
	cancel func()
}

func (c *cancelAt) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n += n; c.n >= c.at {
		c.cancel()
	}
	return n, err
}

// quotaAfter returns a replacement for an async JavaScript method that
// behaves as the original for n calls and then rejects like a full disk.
func quotaAfter(n int, original js.Value) js.Value {
	return eval(`const [n, original] = arguments; let calls = 0;
		return function (...args) {
			if (++calls > n) return Promise.reject(new DOMException("synthetic: out of quota", "QuotaExceededError"));
			return original.apply(this, args);
		}`, n, original)
}

// TestQuotaExceeded makes createWritable's writes fail as a full disk
// does, at each point of a Put: while streaming the content, and while
// writing the records of the commit.
func TestQuotaExceeded(t *testing.T) {
	testFolder(t) // skips without OPFS
	if js.Global().Get("FileSystemWritableFileStream").Type() != js.TypeFunction {
		t.Skip("this browser has no createWritable (FileSystemWritableFileStream)")
	}
	proto := js.Global().Get("FileSystemWritableFileStream").Get("prototype")
	for _, tc := range []struct {
		name  string
		size  int64
		after int // writes that succeed
	}{
		{"content", 3<<20 + 5, 1},
		{"by-hash record", 1000, 1},
		{"meta record", 1000, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openOPFS(t, Options{WriteMode: WriteStream})
			patch(t, "FileSystemWritableFileStream", "write", quotaAfter(tc.after, proto.Get("write")))
			_, err := s.Put(t.Context(), newStream(tc.size, 3), assetref.Hint{})
			if !errors.Is(err, errs.ErrQuotaExceeded) {
				t.Fatalf("Put = %v, want an error matching ErrQuotaExceeded", err)
			}
			wantLayout(t, s)
		})
	}
}

func TestSweep(t *testing.T) {
	ctx := t.Context()
	s := openOPFS(t, Options{})
	keep, err := s.Put(ctx, bytes.NewReader([]byte("keep me")), assetref.Hint{MIME: "text/plain", ID: "keep"})
	if err != nil {
		t.Fatal(err)
	}
	keepHash, _ := hashName(keep.Hash)
	if n, err := s.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("Sweep of a clean store = %d, %v", n, err)
	}

	// What crashes leave: a temporary file of an unfinished Put, records
	// whose asset never appeared, a copy that stopped short, a record
	// that is not one.
	write := func(d *fsx.Dir, name string, b []byte) {
		t.Helper()
		f, err := d.File(ctx, name, true)
		if err != nil {
			t.Fatal(err)
		}
		w, err := f.CreateWritable(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	orphan := record{ID: "never-moved", Type: "image", MIME: "image/png", Hash: assetref.HashBytes([]byte("o")), Bytes: 1}
	orphanHash, _ := hashName(orphan.Hash)
	short := record{ID: "short-copy", Type: "video", MIME: "video/mp4", Hash: assetref.HashBytes([]byte("0123456789")), Bytes: 10}
	shortHash, _ := hashName(short.Hash)
	write(s.tmp, tmpName(), bytes.Repeat([]byte("partial"), 1000))
	write(s.tmp, tmpName(), nil)
	write(s.byHash, orphanHash, orphan.encode())
	write(s.meta, orphan.ID, orphan.encode())
	write(s.byHash, shortHash, short.encode())
	write(s.meta, short.ID, short.encode())
	video, err := s.typeDir(ctx, "video", true)
	if err != nil {
		t.Fatal(err)
	}
	write(video, short.ID, nil)
	write(s.meta, "garbage", []byte("not a record"))

	// Lookups ignore all of it.
	for _, ref := range []assetref.Ref{s.ref(orphan), s.ref(short)} {
		if _, err := s.Stat(ctx, ref); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("Stat of a crash leftover %+v = %v", ref, err)
		}
	}
	if infos, err := s.List(ctx); err != nil || len(infos) != 1 || infos[0].Ref != keep {
		t.Fatalf("List with crash leftovers = %+v, %v", infos, err)
	}

	n, err := s.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// 2 temporary files, 3 meta records, 2 by-hash records, 1 short copy.
	if n != 8 {
		t.Fatalf("Sweep removed %d entries, want 8", n)
	}
	wantLayout(t, s, "assets/text/keep", "by-hash/"+keepHash, "meta/keep")
	if info, err := s.Stat(ctx, keep); err != nil || info.Ref != keep {
		t.Fatalf("Stat of the kept asset after Sweep = %+v, %v", info, err)
	}
}

// TestSweepWaitsForPuts checks that Sweep never removes the temporary file
// of a Put in progress: it waits for the Put to finish.
func TestSweepWaitsForPuts(t *testing.T) {
	ctx := t.Context()
	s := openOPFS(t, Options{})
	r := &gatedReader{r: newStream(3<<20, 4), gate: make(chan struct{}), started: make(chan struct{})}
	putDone := make(chan error, 1)
	go func() {
		_, err := s.Put(ctx, r, assetref.Hint{})
		putDone <- err
	}()
	<-r.started // the Put holds its temporary file now
	sweepDone := make(chan error, 1)
	go func() {
		_, err := s.Sweep(ctx)
		sweepDone <- err
	}()
	// Sweep is queued behind the Put's lock.
	for !pendingLock(t, s.tmpLock) {
		await(t, eval(`return new Promise(r => setTimeout(r, 1))`))
	}
	close(r.gate)
	if err := <-putDone; err != nil {
		t.Fatalf("Put while Sweep waits: %v", err)
	}
	if err := <-sweepDone; err != nil {
		t.Fatal(err)
	}
	if infos, err := s.List(ctx); err != nil || len(infos) != 1 {
		t.Fatalf("List = %+v, %v", infos, err)
	}
}

// pendingLock reports whether a Web Lock request for name is waiting.
func pendingLock(t *testing.T, name string) bool {
	q := await(t, eval(`return navigator.locks.query()`))
	p := q.Get("pending")
	for i := range p.Length() {
		if p.Index(i).Get("name").String() == name {
			return true
		}
	}
	return false
}

// gatedReader yields its first megabyte, then blocks until gate closes.
type gatedReader struct {
	r       io.Reader
	n       int
	gate    chan struct{}
	started chan struct{}
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if g.n >= 1<<20 {
		if g.started != nil {
			close(g.started)
			g.started = nil
		}
		<-g.gate
	}
	n, err := g.r.Read(p[:min(len(p), 1<<20)])
	g.n += n
	return n, err
}

// TestTwoStoresOneRoot stands in for two tabs: two Stores over the same
// directory, putting the same content at once, end with one file.
func TestTwoStoresOneRoot(t *testing.T) {
	ctx := t.Context()
	a := openOPFS(t, Options{WriteMode: WriteStream})
	b, err := Open(ctx, &Options{Root: a.root, WriteMode: WriteWorker})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var wg sync.WaitGroup
	refs := make([]assetref.Ref, 6)
	errs := make([]error, 6)
	for i := range refs {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			refs[i], errs[i] = s.Put(ctx, newStream(2<<20+1, 5), assetref.Hint{MIME: "audio/ogg"})
		}()
	}
	wg.Wait()
	for i := range refs {
		if errs[i] != nil || refs[i] != refs[0] {
			t.Fatalf("Put %d = %+v, %v; Put 0 = %+v", i, refs[i], errs[i], refs[0])
		}
	}
	if got := len(layout(t, a)); got != 3 {
		t.Fatalf("%d files below the root, want 3: %q", got, layout(t, a))
	}
}

// TestReopen checks that everything a store knows is in its files: a
// store opened later (after a reload) finds the assets, their metadata and
// their hashes.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	s, dir := openFolder(t, Options{})
	ref, err := s.Put(ctx, bytes.NewReader([]byte("persisted")), assetref.Hint{MIME: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := s.Stat(ctx, ref); !errors.Is(err, errs.ErrClosed) {
		t.Fatalf("Stat after Close = %v", err)
	}
	if _, err := s.Put(ctx, bytes.NewReader(nil), assetref.Hint{}); !errors.Is(err, errs.ErrClosed) {
		t.Fatalf("Put after Close = %v", err)
	}
	again, err := OpenFolder(ctx, testKey, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	bare := ref
	bare.MIME, bare.Bytes, bare.Hash = "", 0, ""
	if info, err := again.Stat(ctx, bare); err != nil || info.Ref != ref {
		t.Fatalf("Stat after reopening = %+v, %v; want %+v", info, err, ref)
	}
	dup, err := again.Put(ctx, bytes.NewReader([]byte("persisted")), assetref.Hint{MIME: "image/gif", ID: "other"})
	if err != nil || dup != ref {
		t.Fatalf("Put of the same content after reopening = %+v, %v; want %+v", dup, err, ref)
	}
}

// Test64MiBRoundTrip streams 64 MiB in and out and compares every byte.
func Test64MiBRoundTrip(t *testing.T) {
	const size = 64 << 20
	for _, mode := range []WriteMode{WriteStream, WriteWorker} {
		t.Run(mode.String(), func(t *testing.T) {
			ctx := t.Context()
			s := openOPFS(t, Options{WriteMode: mode})
			ref, err := s.Put(ctx, newStream(size, 6), assetref.Hint{MIME: "video/webm"})
			if err != nil {
				t.Fatal(err)
			}
			if ref.Bytes != size || ref.Hash != streamHash(size, 6) {
				t.Fatalf("Put = %+v, want %d bytes hashing to %s", ref, size, streamHash(size, 6))
			}
			rc, err := s.Open(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			want := newStream(size, 6)
			got, exp := make([]byte, 1<<20+3), make([]byte, 1<<20+3) // odd reads cross chunks
			var h assetref.Hasher
			for off := 0; ; {
				n, err := io.ReadFull(rc, got)
				io.ReadFull(want, exp[:n])
				if !bytes.Equal(got[:n], exp[:n]) {
					t.Fatalf("content differs within bytes %d..%d", off, off+n)
				}
				h.Write(got[:n])
				off += n
				if err == io.ErrUnexpectedEOF || err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if h.Size() != size || h.Sum() != ref.Hash {
				t.Fatalf("read back %d bytes hashing to %s", h.Size(), h.Sum())
			}
		})
	}
}

func TestReaderAcrossChunks(t *testing.T) {
	ctx := t.Context()
	s := openOPFS(t, Options{ChunkSize: MinChunkSize})
	const size = 5*MinChunkSize + 17
	data := make([]byte, size)
	io.ReadFull(newStream(size, 7), data)
	ref, err := s.Put(ctx, bytes.NewReader(data), assetref.Hint{})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := s.Open(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	r := rc.(interface {
		io.ReadSeeker
		io.ReaderAt
		io.WriterTo
		Size() int64
	})
	if r.Size() != size {
		t.Fatalf("Size = %d", r.Size())
	}
	// ReadAt spanning three chunks, and one past the end.
	p := make([]byte, 2*MinChunkSize+100)
	if n, err := r.ReadAt(p, MinChunkSize-50); n != len(p) || err != nil || !bytes.Equal(p, data[MinChunkSize-50:][:len(p)]) {
		t.Fatalf("ReadAt across chunks = %d, %v", n, err)
	}
	if n, err := r.ReadAt(p, size-10); n != 10 || err != io.EOF {
		t.Fatalf("ReadAt past the end = %d, %v", n, err)
	}
	// Small reads, a seek backwards into the buffered chunk, a seek far
	// ahead, then the rest through WriteTo.
	q := make([]byte, 1000)
	if _, err := io.ReadFull(r, q); err != nil || !bytes.Equal(q, data[:1000]) {
		t.Fatalf("first read: %v", err)
	}
	r.Seek(-500, io.SeekCurrent)
	if _, err := io.ReadFull(r, q); err != nil || !bytes.Equal(q, data[500:1500]) {
		t.Fatalf("read after seeking back: %v", err)
	}
	r.Seek(3*MinChunkSize+1, io.SeekStart)
	var rest bytes.Buffer
	if n, err := r.WriteTo(&rest); err != nil || n != size-(3*MinChunkSize+1) || !bytes.Equal(rest.Bytes(), data[3*MinChunkSize+1:]) {
		t.Fatalf("WriteTo = %d, %v", n, err)
	}
	if n, err := r.Read(q); n != 0 || err != io.EOF {
		t.Fatalf("Read at the end = %d, %v", n, err)
	}
	// A reader survives its asset only as long as the file does.
	if err := s.Delete(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadAt(q, 0); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("ReadAt after Delete = %v", err)
	}
	r.Seek(0, io.SeekStart)
	if _, err := r.Read(q); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("Read after Delete = %v", err)
	}
	rc.Close()
	if _, err := r.Read(q); err == nil {
		t.Fatal("Read after Close succeeded")
	}
}

func TestWriteModes(t *testing.T) {
	ctx := t.Context()
	auto := openOPFS(t, Options{})
	if auto.WriteMode() != DefaultMainThreadMode {
		t.Fatalf("WriteAuto on the main thread chose %s, want %s", auto.WriteMode(), DefaultMainThreadMode)
	}
	// A helper worker that stops working (here: closed under the store)
	// fails the Puts of an explicit WriteWorker store, and WriteAuto
	// carries on with createWritable.
	explicit := openOPFS(t, Options{WriteMode: WriteWorker})
	auto.helper.Close()
	explicit.helper.Close()
	if _, err := explicit.Put(ctx, bytes.NewReader([]byte("x")), assetref.Hint{}); !errors.Is(err, errs.ErrClosed) {
		t.Fatalf("Put through a closed helper = %v", err)
	}
	wantLayout(t, explicit)
	if _, err := auto.Put(ctx, bytes.NewReader([]byte("x")), assetref.Hint{}); err != nil {
		t.Fatalf("WriteAuto Put after the helper stopped = %v", err)
	}
	dir := testFolder(t)
	if _, err := OpenFolder(ctx, testKey, dir, &Options{WriteMode: WriteSyncHandle}); !errors.Is(err, errs.ErrUnsupported) {
		t.Fatalf("WriteSyncHandle on the main thread: %v", err)
	}
	for _, o := range []Options{{Root: "../x"}, {ChunkSize: 1}, {WriteMode: 99}} {
		if _, err := OpenFolder(ctx, testKey, dir, &o); !errors.Is(err, errs.ErrInvalid) {
			t.Fatalf("OpenFolder(%+v) = %v, want ErrInvalid", o, err)
		}
	}
	if _, err := OpenFolder(ctx, "no/slashes", dir, nil); !errors.Is(err, errs.ErrInvalidRef) {
		t.Fatalf("OpenFolder with an invalid key: %v", err)
	}

	// Without a helper worker (a strict Content-Security-Policy), WriteAuto
	// falls back and an explicit WriteWorker fails.
	old := startHelper
	startHelper = func(context.Context) (*fsx.Helper, error) {
		return nil, errors.Join(errs.ErrUnsupported, errors.New("synthetic: blocked by CSP"))
	}
	defer func() { startHelper = old }()
	if _, err := OpenFolder(ctx, testKey, dir, &Options{WriteMode: WriteWorker}); !errors.Is(err, errs.ErrUnsupported) {
		t.Fatalf("WriteWorker without a helper: %v", err)
	}
	s := &Store{auto: true}
	if err := s.chooseMode(ctx, WriteWorker); err != nil || s.WriteMode() != WriteStream {
		t.Fatalf("WriteAuto choosing the worker without one: %s, %v", s.WriteMode(), err)
	}
}
