package assets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/assetref/memstore"
	"github.com/atelierstore/atelier/assets/memregistry"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/syncengine"
)

// The library's logic on the host: memstore stands in for OPFS (kind opfs)
// and IndexedDB (kind idb), memregistry for the IndexedDB registry. The
// browser tests (*_js_test.go) run the same logic over the real stores.

func hostCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func content(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// hostLib is a library over memory stores.
type hostLib struct {
	*Library
	reg      *memregistry.Registry
	primary  *memstore.Store // nil without one
	fallback *memstore.Store
}

func newHostLib(t *testing.T, withPrimary bool, o Options, env Env) hostLib {
	t.Helper()
	h := hostLib{reg: memregistry.New(), fallback: memstore.NewKind(assetref.KindIDB)}
	env.Registry, env.Fallback = h.reg, h.fallback
	if withPrimary {
		h.primary = memstore.NewKind(assetref.KindOPFS)
		env.Primary = h.primary
	}
	o.CollectEvery = -1
	lib, err := New(env, &o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lib.Close() })
	h.Library = lib
	return h
}

func putT(t *testing.T, l *Library, b []byte) assetref.Ref {
	t.Helper()
	ref, err := l.Put(hostCtx(t), bytes.NewReader(b), assetref.Hint{MIME: "image/png"})
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func readT(t *testing.T, l *Library, ref assetref.Ref) []byte {
	t.Helper()
	rc, err := l.Open(hostCtx(t), ref)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func memUser() assetref.User { return assetref.User{WorkflowID: graph.NewID(), NodeID: graph.NewID()} }

func TestNewNeedsRegistryAndFallback(t *testing.T) {
	t.Parallel()
	if _, err := New(Env{Registry: memregistry.New()}, nil); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("New without a fallback store: %v", err)
	}
	if _, err := New(Env{Fallback: memstore.NewKind(assetref.KindIDB)}, nil); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("New without a registry: %v", err)
	}
}

func TestHostPutRegistersAndDedups(t *testing.T) {
	t.Parallel()
	ctx := hostCtx(t)
	h := newHostLib(t, true, Options{}, Env{})
	if h.Backend() != BackendOPFS {
		t.Fatalf("backend %q", h.Backend())
	}
	b := content(300<<10, 1)
	ref := putT(t, h.Library, b)
	if ref.Kind != assetref.KindOPFS || ref.Hash != assetref.HashBytes(b) {
		t.Fatalf("ref %+v", ref)
	}
	rec, err := h.reg.Asset(ctx, ref.Hash)
	if err != nil || rec.Ref != ref {
		t.Fatalf("record %+v %v", rec, err)
	}
	if again := putT(t, h.Library, b); again != ref {
		t.Fatalf("Put of the same bytes: %+v, want %+v", again, ref)
	}
	if got := readT(t, h.Library, ref); !bytes.Equal(got, b) {
		t.Fatal("content differs")
	}
	rc, err := h.Open(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rc.(io.ReaderAt); !ok {
		t.Error("the reader hides io.ReaderAt, which packing zips needs")
	}
	rc.Close()
	if _, err := h.Open(ctx, assetref.Ref{Kind: assetref.KindURL, URL: "https://example.com/x.png"}); !errors.Is(err, errs.ErrInvalidRef) {
		t.Fatalf("opening a url ref: %v", err)
	}
	if _, err := h.Open(ctx, assetref.Ref{Kind: assetref.KindEmbedded, ID: "x"}); !errors.Is(err, errs.ErrInvalidRef) {
		t.Fatalf("opening an embedded ref: %v", err)
	}
}

// refusing is a primary store that refuses writes at write time, as OPFS
// may (ErrUnsupported).
type refusing struct{ *memstore.Store }

func (refusing) Put(context.Context, io.Reader, assetref.Hint) (assetref.Ref, error) {
	return assetref.Ref{}, fmt.Errorf("refused: %w", errs.ErrUnsupported)
}

func TestHostFallback(t *testing.T) {
	t.Parallel()
	ctx := hostCtx(t)
	h := newHostLib(t, false, Options{}, Env{})
	if h.Backend() != BackendIDB {
		t.Fatalf("backend %q", h.Backend())
	}
	ref := putT(t, h.Library, content(1000, 2))
	if ref.Kind != assetref.KindIDB {
		t.Fatalf("ref %+v", ref)
	}
	// An opfs ref cannot be read without the store.
	if _, err := h.Open(ctx, assetref.Ref{Kind: assetref.KindOPFS, Path: "a/b", Hash: ref.Hash}); err != nil {
		t.Fatalf("an opfs ref with a known hash is served from where the registry says: %v", err)
	}

	// A primary store that refuses at write time: a seekable reader goes
	// to the fallback.
	r := newHostLib(t, false, Options{}, Env{Primary: refusing{memstore.NewKind(assetref.KindOPFS)}})
	ref, err := r.Put(ctx, bytes.NewReader(content(500, 3)), assetref.Hint{})
	if err != nil || ref.Kind != assetref.KindIDB {
		t.Fatalf("Put with a refusing primary: %+v %v", ref, err)
	}
	if _, err := r.Put(ctx, io.MultiReader(bytes.NewReader(content(500, 4))), assetref.Hint{}); !errors.Is(err, errs.ErrUnsupported) {
		t.Fatalf("Put of an unseekable reader with a refusing primary: %v", err)
	}
	// PutBlob falls back the same way: a Blob can always be read again.
	data := content(700, 5)
	ref, err = r.PutBlob(ctx, bytesBlob{bytes.NewReader(data), "image/png"}, assetref.Hint{})
	if err != nil || ref.Kind != assetref.KindIDB || ref.Hash != assetref.HashBytes(data) {
		t.Fatalf("PutBlob with a refusing primary: %+v %v", ref, err)
	}
	if got := readT(t, r.Library, ref); !bytes.Equal(got, data) {
		t.Fatalf("PutBlob's fallback stored %d bytes, want %d", len(got), len(data))
	}
}

// TestHostSameBytesAcrossStores: bytes stored first in one store and then
// put in another are kept once, where they were first.
func TestHostSameBytesAcrossStores(t *testing.T) {
	t.Parallel()
	ctx := hostCtx(t)
	h := newHostLib(t, true, Options{}, Env{})
	b := content(50<<10, 5)
	first, err := h.fallback.Put(ctx, bytes.NewReader(b), withID(assetref.Hint{}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.register(ctx, h.fallback, first); err != nil {
		t.Fatal(err)
	}
	second := putT(t, h.Library, b)
	if second != first {
		t.Fatalf("second Put: %+v, want %+v", second, first)
	}
	if list, _ := h.primary.List(ctx); len(list) != 0 {
		t.Fatalf("the second copy was kept: %+v", list)
	}
}

func TestHostCollectRemovesWhatNothingUses(t *testing.T) {
	t.Parallel()
	ctx := hostCtx(t)
	h := newHostLib(t, true, Options{Grace: time.Minute}, Env{})
	now := time.Now().UnixMilli()
	h.reg.Now = func() int64 { return now }
	used, unused := putT(t, h.Library, content(1000, 6)), putT(t, h.Library, content(1000, 7))
	u := memUser()
	if err := h.reg.Use(used, u, false); err != nil {
		t.Fatal(err)
	}
	if n, err := h.Collect(ctx); err != nil || n != 0 {
		t.Fatalf("Collect within the grace = %d, %v", n, err)
	}
	now -= 2 * time.Minute.Milliseconds()
	h.reg.Now = func() int64 { return now }
	h2 := newHostLib(t, true, Options{Grace: time.Minute}, Env{})
	h2.reg.Now = h.reg.Now
	old := putT(t, h2.Library, content(1000, 8))
	if n, err := h2.Collect(ctx); err != nil || n != 1 {
		t.Fatalf("Collect past the grace = %d, %v", n, err)
	}
	if _, err := h2.Stat(ctx, old); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("collected asset still there: %v", err)
	}
	if list, _ := h2.primary.List(ctx); len(list) != 0 {
		t.Fatalf("collected bytes still stored: %+v", list)
	}

	// Deleting: refused while used, then allowed.
	if err := h.Delete(ctx, used); !errors.Is(err, assetref.ErrInUse) {
		t.Fatalf("deleting a used asset: %v", err)
	}
	if err := h.Delete(ctx, unused); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Stat(ctx, unused); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("deleted asset: %v", err)
	}
	if err := h.Delete(ctx, unused); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("deleting twice: %v", err)
	}
	if err := h.Delete(ctx, assetref.Ref{Kind: assetref.KindOPFS, Path: "x/y"}); !errors.Is(err, errs.ErrInvalidRef) {
		t.Fatalf("deleting without a hash: %v", err)
	}
	h.reg.Release(used.Hash, u)
	if _, err := h.Stat(ctx, used); err != nil {
		t.Fatalf("released asset before collection: %v", err)
	}
}

// TestHostReconcileAfterCrash: bytes stored but never registered are
// removed once old enough; a record whose bytes vanished is reported.
func TestHostReconcileAfterCrash(t *testing.T) {
	t.Parallel()
	ctx := hostCtx(t)
	h := newHostLib(t, true, Options{Grace: time.Hour}, Env{})
	old := assetref.Hint{ID: "01900000-0000-7000-8000-000000000001", MIME: "image/png"} // 2024: long ago
	orphan, err := h.primary.Put(ctx, bytes.NewReader(content(2000, 9)), old)
	if err != nil {
		t.Fatal(err)
	}
	oldIDB, err := h.fallback.Put(ctx, bytes.NewReader(content(2000, 10)), assetref.Hint{ID: "01900000-0000-7000-8000-000000000002"})
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := h.primary.Put(ctx, bytes.NewReader(content(2000, 11)), withID(assetref.Hint{}))
	if err != nil {
		t.Fatal(err)
	}
	kept := putT(t, h.Library, content(2000, 12))
	vanished := putT(t, h.Library, content(2000, 13))
	if err := h.primary.Delete(ctx, vanished); err != nil {
		t.Fatal(err)
	}
	remote := assetref.Ref{Kind: assetref.KindOPFS, Path: "memstore/" + graph.NewID(), Hash: assetref.HashBytes([]byte("elsewhere"))}
	if err := h.reg.Use(remote, memUser(), true); err != nil {
		t.Fatal(err)
	}
	rep, err := h.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Removed != 2 || len(rep.Missing) != 1 || rep.Missing[0].Hash != vanished.Hash {
		t.Fatalf("report %+v", rep)
	}
	for _, r := range []assetref.Ref{orphan, oldIDB} {
		if _, err := h.Stat(ctx, r); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("old orphan %+v kept: %v", r, err)
		}
	}
	if _, err := h.primary.Stat(ctx, fresh); err != nil {
		t.Fatalf("a fresh upload was removed: %v", err)
	}
	if _, err := h.Stat(ctx, kept); err != nil {
		t.Fatalf("registered asset: %v", err)
	}
}

// TestHostFolders: fs-handle refs go to the folder store Env.Folders
// opens, once per key; UseFolder sends new assets there.
func TestHostFolders(t *testing.T) {
	t.Parallel()
	ctx := hostCtx(t)
	f := &memFolders{stores: map[string]*memstore.Store{}}
	h := newHostLib(t, true, Options{}, Env{Folders: f})
	if err := h.UseFolder(ctx, "missing"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("UseFolder of an unknown key: %v", err)
	}
	f.stores["k"] = memstore.NewKind(assetref.KindFSHandle)
	if err := h.UseFolder(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	ref := putT(t, h.Library, content(100, 14))
	if ref.Kind != assetref.KindFSHandle {
		t.Fatalf("ref %+v", ref)
	}
	if list, _ := f.stores["k"].List(ctx); len(list) != 1 {
		t.Fatalf("folder holds %d assets", len(list))
	}
	if err := h.UseFolder(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if ref := putT(t, h.Library, content(100, 15)); ref.Kind != assetref.KindOPFS {
		t.Fatalf("after UseFolder(\"\"): %+v", ref)
	}
	if f.opened != 1 {
		t.Fatalf("the folder store was opened %d times", f.opened)
	}
	// Without Env.Folders an fs-handle ref is not found.
	n := newHostLib(t, true, Options{}, Env{})
	if err := n.UseFolder(ctx, "k"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("UseFolder without folders: %v", err)
	}
}

type memFolders struct {
	mu     sync.Mutex
	stores map[string]*memstore.Store
	opened int
}

// memFolder is a folder a host test picks.
type memFolder string

func (f memFolder) Name() string { return string(f) }

func (f *memFolders) AddFolder(_ context.Context, picked assetref.Folder) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := picked.Name()
	f.stores[key] = memstore.NewKind(assetref.KindFSHandle)
	return key, nil
}

func (f *memFolders) Folders(context.Context) ([]Folder, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Folder
	for k := range f.stores {
		out = append(out, Folder{Key: k, Name: k, Handle: memFolder(k)})
	}
	return out, nil
}

func (f *memFolders) RemoveFolder(_ context.Context, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stores[key] == nil {
		return fmt.Errorf("folder %s: %w", key, errs.ErrNotFound)
	}
	delete(f.stores, key)
	return nil
}

func (f *memFolders) OpenFolder(_ context.Context, key string, _ bool) (assetref.Store, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.stores[key]
	if s == nil {
		return nil, fmt.Errorf("folder %s: %w", key, errs.ErrNotFound)
	}
	f.opened++
	return s, nil
}

// ---- sync

// memHub is a sync server's blob store in memory: a BlobTransport for the
// uploader and a fetcher for the library.
type memHub struct {
	mu                                   sync.Mutex
	blobs                                map[string][]byte
	checks, uploads, downloads, attempts int
	down, corrupt                        bool
	gate                                 chan struct{} // when set, downloads wait for it
}

func newMemHub() *memHub { return &memHub{blobs: map[string][]byte{}} }

func (h *memHub) MissingBlobs(_ context.Context, hashes []string) ([]string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks++
	var out []string
	for _, x := range hashes {
		if _, ok := h.blobs[x]; !ok {
			out = append(out, x)
		}
	}
	return out, nil
}

func (h *memHub) UploadBlob(_ context.Context, hash string, c syncengine.Content, _ func(sent, total int64)) error {
	r, ok := c.(io.Reader)
	if !ok {
		return fmt.Errorf("content %T is no reader", c)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if int64(len(b)) != c.Size() || assetref.HashBytes(b) != hash {
		return fmt.Errorf("upload of %s: %d bytes of hash %s", hash, len(b), assetref.HashBytes(b))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.uploads++
	h.blobs[hash] = b
	return nil
}

type memMissing struct{ hash string }

func (e memMissing) Error() string        { return "no blob " + e.hash }
func (e memMissing) Is(target error) bool { return target == errs.ErrNotFound }
func (e memMissing) Permanent() bool      { return false }

func (h *memHub) download(ctx context.Context, hash string) (fetched, error) {
	h.mu.Lock()
	gate := h.gate
	h.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.attempts++
	if h.down {
		return nil, errors.New("server unreachable")
	}
	b, ok := h.blobs[hash]
	if !ok {
		return nil, memMissing{hash}
	}
	h.downloads++
	if h.corrupt {
		b = append([]byte("x"), b...)
	}
	// As syncengine's HTTP transport does: as the bytes come, and once
	// all have.
	assetref.ReportProgress(ctx, int64(len(b)/2), int64(len(b)))
	assetref.ReportProgress(ctx, int64(len(b)), int64(len(b)))
	return fetchedBytes{b}, nil
}

func (h *memHub) counts() (checks, uploads, downloads, attempts int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.checks, h.uploads, h.downloads, h.attempts
}

type fetchedBytes struct{ b []byte }

func (f fetchedBytes) size() int64  { return int64(len(f.b)) }
func (f fetchedBytes) mime() string { return "" }
func (f fetchedBytes) putInto(ctx context.Context, s assetref.Store, hint assetref.Hint) (assetref.Ref, error) {
	return s.Put(ctx, bytes.NewReader(f.b), hint)
}

// device is a library wired to h, as on one device.
func memDevice(t *testing.T, h *memHub, withPrimary bool, o Options) hostLib {
	t.Helper()
	d := newHostLib(t, withPrimary, o, Env{})
	d.setRemote(h)
	return d
}

// synced gives b the record a node from a brings: the ref, Remote.
func synced(t *testing.T, b hostLib, ref assetref.Ref) {
	t.Helper()
	if err := b.reg.Use(ref, memUser(), true); err != nil {
		t.Fatal(err)
	}
}

func TestHostUploadThenFetchOnAnotherDevice(t *testing.T) {
	t.Parallel()
	ctx := hostCtx(t)
	h := newMemHub()
	a := memDevice(t, h, true, Options{})
	up := syncengine.NewUploader(a, h, nil)
	b := content(700<<10, 20)
	ref := putT(t, a.Library, b)
	unused := putT(t, a.Library, content(10<<10, 21))
	if err := a.reg.Use(ref, memUser(), false); err != nil {
		t.Fatal(err)
	}
	pending, err := a.PendingUploads(ctx)
	if err != nil || len(pending) != 2 {
		t.Fatalf("pending %+v %v", pending, err)
	}
	for _, p := range pending {
		if p.Used != (p.Hash == ref.Hash) {
			t.Fatalf("pending %+v: Used should say whether a node uses it", p)
		}
	}
	if err := up.Round(ctx); err != nil {
		t.Fatal(err)
	}
	if checks, uploads, _, _ := h.counts(); checks != 1 || uploads != 2 {
		t.Fatalf("after the first pass: %d checks, %d uploads", checks, uploads)
	}
	for _, x := range []string{ref.Hash, unused.Hash} {
		if rec, err := a.reg.Asset(ctx, x); err != nil || rec.Uploaded == 0 {
			t.Fatalf("record after upload: %+v %v", rec, err)
		}
	}
	if again := putT(t, a.Library, b); again != ref {
		t.Fatalf("Put of the same bytes: %+v", again)
	}
	if err := up.Round(ctx); err != nil {
		t.Fatal(err)
	}
	if _, uploads, _, _ := h.counts(); uploads != 2 {
		t.Fatalf("identical bytes uploaded again: %d uploads", uploads)
	}

	d := memDevice(t, h, true, Options{})
	synced(t, d, ref)
	if p, _ := d.PendingUploads(ctx); len(p) != 0 {
		t.Fatalf("B would upload what it does not have: %+v", p)
	}
	if _, err := d.UploadContent(ctx, ref.Hash); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("UploadContent of bytes not here: %v", err)
	}
	info, err := d.Stat(ctx, ref)
	if err != nil || info.Size != int64(len(b)) || info.Hash != ref.Hash {
		t.Fatalf("Stat on B: %+v %v", info, err)
	}
	if _, _, downloads, _ := h.counts(); downloads != 0 {
		t.Fatalf("B downloaded %d blobs before anything read them", downloads)
	}
	if got := readT(t, d.Library, ref); !bytes.Equal(got, b) {
		t.Fatal("B read other bytes")
	}
	rec, err := d.reg.Asset(ctx, ref.Hash)
	if err != nil || rec.Remote || rec.Uploaded == 0 || rec.UsedAt == 0 {
		t.Fatalf("B's record after fetching: %+v %v", rec, err)
	}
	if rec.Ref.Path != ref.Path {
		t.Errorf("B stored the copy at %s, not under the ref's id (%s)", rec.Ref.Path, ref.Path)
	}
	if got := readT(t, d.Library, ref); !bytes.Equal(got, b) {
		t.Fatal("B read other bytes the second time")
	}
	if _, _, downloads, _ := h.counts(); downloads != 1 {
		t.Fatalf("B downloaded %d times, want once", downloads)
	}
	if rep, err := d.Reconcile(ctx); err != nil || rep.Removed != 0 || len(rep.Missing) != 0 {
		t.Fatalf("Reconcile on B: %+v %v", rep, err)
	}
	c, err := a.UploadContent(ctx, ref.Hash)
	if err != nil || c.Size() != int64(len(b)) || c.MIME() != "image/png" {
		t.Fatalf("UploadContent on A: %v", err)
	}
	c.Close()
}

func TestHostConcurrentFetchesShareOneDownload(t *testing.T) {
	t.Parallel()
	ctx := hostCtx(t)
	h := newMemHub()
	a := memDevice(t, h, true, Options{})
	b := content(2<<20, 22)
	ref := putT(t, a.Library, b)
	if err := syncengine.NewUploader(a, h, nil).Round(ctx); err != nil {
		t.Fatal(err)
	}
	d := memDevice(t, h, true, Options{})
	synced(t, d, ref)
	gate := make(chan struct{})
	h.mu.Lock()
	h.gate = gate
	h.mu.Unlock()
	const readers = 4
	errc := make(chan error, readers)
	var mu sync.Mutex
	heard := make([][]int64, readers) // the done figures each reader heard
	for i := range readers {
		go func() {
			ctx := assetref.WithProgress(ctx, func(done, total int64) {
				mu.Lock()
				defer mu.Unlock()
				if total != int64(len(b)) {
					heard[i] = append(heard[i], -1)
				}
				heard[i] = append(heard[i], done)
			})
			rc, err := d.Open(ctx, ref)
			if err == nil {
				var got []byte
				got, err = io.ReadAll(rc)
				rc.Close()
				if err == nil && !bytes.Equal(got, b) {
					err = errors.New("other bytes")
				}
			}
			errc <- err
		}()
	}
	time.Sleep(50 * time.Millisecond) // let every reader reach the download
	close(gate)
	for range readers {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	if _, _, downloads, _ := h.counts(); downloads != 1 {
		t.Fatalf("%d downloads for %d concurrent readers", downloads, readers)
	}
	// Every reader hears of the one download, and nothing of storing the
	// copy.
	want := fmt.Sprint([]int64{int64(len(b) / 2), int64(len(b))})
	for i, h := range heard {
		if fmt.Sprint(h) != want {
			t.Errorf("reader %d heard progress %v, want %s", i, h, want)
		}
	}
}

func TestHostEvictOnlyWhatTheServerHas(t *testing.T) {
	t.Parallel()
	ctx := hostCtx(t)
	h := newMemHub()
	l := memDevice(t, h, true, Options{EvictIdle: -1})
	// A clock that ticks at every reading, 30 s behind the real one, which
	// Evict's idle cutoff reads: it never runs ahead of it, and what it
	// stamps is well within the minute of EvictIdle at the end.
	now := time.Now().Add(-30 * time.Second).UnixMilli()
	var clock sync.Mutex
	l.reg.Now = func() int64 { clock.Lock(); defer clock.Unlock(); now++; return now }
	up := syncengine.NewUploader(l, h, nil)
	olderData, newerData := content(300<<10, 23), content(200<<10, 24)
	older, newer := putT(t, l.Library, olderData), putT(t, l.Library, newerData)
	if err := l.reg.Use(older, memUser(), false); err != nil {
		t.Fatal(err)
	}
	if err := up.Round(ctx); err != nil {
		t.Fatal(err)
	}
	onlyHere := putT(t, l.Library, content(100<<10, 25))
	readT(t, l.Library, newer) // older is now the least recently used

	rep, err := l.Evict(ctx, 1)
	if err != nil || rep.Evicted != 1 || rep.Bytes != int64(len(olderData)) {
		t.Fatalf("Evict(1): %+v %v", rep, err)
	}
	if _, err := l.primary.Stat(ctx, older); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("the evicted copy is still stored: %v", err)
	}
	if rec, _ := l.reg.Asset(ctx, older.Hash); !rec.Remote || len(rec.Users) != 1 {
		t.Fatalf("evicted record %+v", rec)
	}
	rc, err := l.Open(ctx, newer)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := l.Evict(ctx, 0); err != nil || rep.Evicted != 0 {
		t.Fatalf("Evict with newer being read: %+v %v", rep, err)
	}
	rc.Close()
	rep, err = l.Evict(ctx, 0)
	if err != nil || rep.Evicted != 1 || rep.Bytes != int64(len(newerData)) {
		t.Fatalf("Evict after the reader closed: %+v %v", rep, err)
	}
	if _, err := l.primary.Stat(ctx, onlyHere); err != nil {
		t.Fatalf("an asset the server lacks was evicted: %v", err)
	}
	if rec, _ := l.reg.Asset(ctx, onlyHere.Hash); rec.Remote {
		t.Fatal("an asset the server lacks is marked remote")
	}
	if info, err := l.Stat(ctx, older); err != nil || info.Size != int64(len(olderData)) {
		t.Fatalf("Stat of an evicted asset: %+v %v", info, err)
	}
	if rep, err := l.Reconcile(ctx); err != nil || len(rep.Missing) != 0 {
		t.Fatalf("Reconcile: %+v %v", rep, err)
	}
	_, _, before, _ := h.counts()
	if got := readT(t, l.Library, older); !bytes.Equal(got, olderData) {
		t.Fatal("older came back with other bytes")
	}
	if got := readT(t, l.Library, newer); !bytes.Equal(got, newerData) {
		t.Fatal("newer came back with other bytes")
	}
	if _, _, after, _ := h.counts(); after-before != 2 {
		t.Fatalf("%d downloads to bring 2 assets back", after-before)
	}
	l.opts.EvictIdle = time.Minute
	if rep, err := l.Evict(ctx, 0); err != nil || rep.Evicted != 0 {
		t.Fatalf("Evict of recently read assets: %+v %v", rep, err)
	}
}

func TestHostEvictIfNeeded(t *testing.T) {
	t.Parallel()
	ctx := hostCtx(t)
	h := newMemHub()
	var mu sync.Mutex
	usage, quota := int64(700<<10), int64(1000<<10)
	est := func(context.Context) (int64, int64, error) { mu.Lock(); defer mu.Unlock(); return usage, quota, nil }
	l := newHostLib(t, true, Options{EvictIdle: -1, EvictAbove: 0.8, EvictTo: 0.5}, Env{Estimate: est})
	l.setRemote(h)
	var refs []assetref.Ref
	for i := range 3 {
		refs = append(refs, putT(t, l.Library, content(100<<10+i, 26)))
	}
	if err := syncengine.NewUploader(l, h, nil).Round(ctx); err != nil {
		t.Fatal(err)
	}
	if rep, err := l.EvictIfNeeded(ctx); err != nil || rep.Evicted != 0 {
		t.Fatalf("below EvictAbove: %+v %v", rep, err)
	}
	mu.Lock()
	usage = 900 << 10
	mu.Unlock()
	if rep, err := l.EvictIfNeeded(ctx); err != nil || rep.Evicted != 3 {
		t.Fatalf("above EvictAbove: %+v %v", rep, err)
	}
	mu.Lock()
	usage = 850 << 10
	mu.Unlock()
	if rep, err := l.EvictIfNeeded(ctx); err != nil || rep.Evicted != 0 {
		t.Fatalf("nothing left: %+v %v", rep, err)
	}
	for _, r := range refs {
		if _, err := l.primary.Stat(ctx, r); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("still stored: %v", err)
		}
	}
	// Without an estimate there is nothing to compare with.
	n := newHostLib(t, true, Options{}, Env{})
	if rep, err := n.EvictIfNeeded(ctx); err != nil || rep.Evicted != 0 {
		t.Fatalf("without an estimate: %+v %v", rep, err)
	}
}

// quotaStore fails writes for want of quota while full is set.
type quotaStore struct {
	*memstore.Store
	mu   sync.Mutex
	full bool
}

func (q *quotaStore) Put(ctx context.Context, r io.Reader, hint assetref.Hint) (assetref.Ref, error) {
	q.mu.Lock()
	full := q.full
	q.mu.Unlock()
	if full {
		return assetref.Ref{}, fmt.Errorf("put: %w", errs.ErrQuotaExceeded)
	}
	return q.Store.Put(ctx, r, hint)
}

func (q *quotaStore) Delete(ctx context.Context, ref assetref.Ref) error {
	q.mu.Lock()
	q.full = false // deleting makes room
	q.mu.Unlock()
	return q.Store.Delete(ctx, ref)
}

// TestHostPutEvictsForRoom: a write that finds no room evicts uploaded
// assets and tries once more.
func TestHostPutEvictsForRoom(t *testing.T) {
	t.Parallel()
	ctx := hostCtx(t)
	h := newMemHub()
	q := &quotaStore{Store: memstore.NewKind(assetref.KindOPFS)}
	l := newHostLib(t, false, Options{EvictIdle: -1}, Env{Primary: q})
	old := putT(t, l.Library, content(1000, 27))
	q.mu.Lock()
	q.full = true
	q.mu.Unlock()
	if _, err := l.Put(ctx, bytes.NewReader(content(1000, 28)), assetref.Hint{}); !errors.Is(err, errs.ErrQuotaExceeded) {
		t.Fatalf("Put out of quota without a sync server: %v", err)
	}
	l.setRemote(h)
	if err := syncengine.NewUploader(l, h, nil).Round(ctx); err != nil {
		t.Fatal(err)
	}
	ref, err := l.Put(ctx, bytes.NewReader(content(1000, 28)), assetref.Hint{})
	if err != nil {
		t.Fatalf("Put out of quota with an evictable asset: %v", err)
	}
	if rec, _ := l.reg.Asset(ctx, old.Hash); !rec.Remote {
		t.Fatalf("the uploaded asset was not evicted: %+v", rec)
	}
	if got := readT(t, l.Library, ref); !bytes.Equal(got, content(1000, 28)) {
		t.Fatal("other bytes")
	}
}

func TestHostFetchWaitsForTheUpload(t *testing.T) {
	t.Parallel()
	ctx := hostCtx(t)
	h := newMemHub()
	a := memDevice(t, h, true, Options{})
	b := content(64<<10, 29)
	ref := putT(t, a.Library, b)
	d := memDevice(t, h, true, Options{FetchWait: -1})
	synced(t, d, ref)

	_, err := d.Open(ctx, ref)
	var fe *FetchError
	if !errors.Is(err, errs.ErrNotFound) || !errors.As(err, &fe) || !fe.Temporary() || fe.Hash != ref.Hash {
		t.Fatalf("Open before the upload: %v", err)
	}
	h.mu.Lock()
	h.down = true
	h.mu.Unlock()
	if _, err := d.Open(ctx, ref); !errors.As(err, &fe) || !fe.Temporary() {
		t.Fatalf("Open while the server is down: %v", err)
	}
	h.mu.Lock()
	h.down = false
	h.mu.Unlock()

	d.opts.FetchWait, d.opts.fetchBackoff = 20*time.Second, 20*time.Millisecond
	_, _, _, attempts := h.counts()
	done := make(chan error, 1)
	go func() {
		time.Sleep(200 * time.Millisecond)
		done <- syncengine.NewUploader(a, h, nil).Round(ctx)
	}()
	if got := readT(t, d.Library, ref); !bytes.Equal(got, b) {
		t.Fatal("other bytes")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, _, downloads, after := h.counts(); after-attempts < 2 || downloads != 1 {
		t.Fatalf("%d tries, %d downloads: B should have retried until the upload", after-attempts, downloads)
	}
}

func TestHostFetchGivesUpWhenCancelled(t *testing.T) {
	t.Parallel()
	h := newMemHub()
	d := memDevice(t, h, true, Options{FetchWait: time.Minute})
	ref := assetref.Ref{Kind: assetref.KindOPFS, Path: "memstore/" + graph.NewID(), Hash: assetref.HashBytes([]byte("never uploaded"))}
	synced(t, d, ref)
	ctx, cancel := context.WithTimeout(hostCtx(t), 100*time.Millisecond)
	defer cancel()
	if _, err := d.Open(ctx, ref); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Open with a short context: %v", err)
	}
}

func TestHostFetchRejectsOtherBytes(t *testing.T) {
	t.Parallel()
	ctx := hostCtx(t)
	h := newMemHub()
	a := memDevice(t, h, true, Options{})
	ref := putT(t, a.Library, content(32<<10, 30))
	if err := syncengine.NewUploader(a, h, nil).Round(ctx); err != nil {
		t.Fatal(err)
	}
	d := memDevice(t, h, true, Options{})
	synced(t, d, ref)
	h.mu.Lock()
	h.corrupt = true
	h.mu.Unlock()
	_, err := d.Open(ctx, ref)
	var fe *FetchError
	if !errors.As(err, &fe) || fe.Temporary() {
		t.Fatalf("Open with corrupt bytes from the server: %v", err)
	}
	if rec, _ := d.reg.Asset(ctx, ref.Hash); !rec.Remote {
		t.Fatalf("record changed: %+v", rec)
	}
	if infos, err := d.primary.List(ctx); err != nil || len(infos) != 0 {
		t.Fatalf("the store holds %d assets after a rejected fetch: %v", len(infos), err)
	}
}

func TestHostFetchIntoFallback(t *testing.T) {
	t.Parallel()
	ctx := hostCtx(t)
	h := newMemHub()
	a := memDevice(t, h, true, Options{})
	b := content(100<<10, 31)
	ref := putT(t, a.Library, b)
	if err := syncengine.NewUploader(a, h, nil).Round(ctx); err != nil {
		t.Fatal(err)
	}
	d := memDevice(t, h, false, Options{})
	synced(t, d, ref)
	if got := readT(t, d.Library, ref); !bytes.Equal(got, b) {
		t.Fatal("other bytes")
	}
	rec, err := d.reg.Asset(ctx, ref.Hash)
	if err != nil || rec.Ref.Kind != assetref.KindIDB || rec.Remote {
		t.Fatalf("B's record: %+v %v", rec, err)
	}
	if got := readT(t, d.Library, ref); !bytes.Equal(got, b) {
		t.Fatal("other bytes")
	}
	if _, _, downloads, _ := h.counts(); downloads != 1 {
		t.Fatalf("%d downloads", downloads)
	}
	// Unknown assets are not found.
	unknown := ref
	unknown.Hash = assetref.HashBytes([]byte("unknown"))
	unknown.Path = "memstore/" + graph.NewID()
	d.opts.FetchWait = -1
	if _, err := d.Open(ctx, unknown); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("Open of an unknown asset: %v", err)
	}
	// Without a sync server a remote asset is not found either.
	d.setRemote(nil)
	if _, err := d.Evict(ctx, 0); err != nil {
		t.Fatal(err)
	}
}

type memBus struct {
	mu     sync.Mutex
	recv   []func(string)
	posted int
}

type busEnd struct {
	b    *memBus
	self int // index in b.recv
}

func (b *memBus) open(recv func(string)) (Notifier, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.recv = append(b.recv, recv)
	return busEnd{b, len(b.recv) - 1}, nil
}

func (e busEnd) Post(msg string) error {
	e.b.mu.Lock()
	defer e.b.mu.Unlock()
	e.b.posted++
	for i, r := range e.b.recv {
		if i != e.self {
			r(msg)
		}
	}
	return nil
}

func (busEnd) Close() {}

// TestHostStoredNotifies: a new asset calls OnStored in this library and,
// through the notifier, in another one sharing the stores.
func TestHostStoredNotifies(t *testing.T) {
	t.Parallel()
	ctx := hostCtx(t)
	b := &memBus{}
	a := newHostLib(t, true, Options{}, Env{Notify: b.open})
	other, err := New(Env{Registry: a.reg, Primary: a.primary, Fallback: a.fallback, Notify: b.open}, &Options{CollectEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	here, there := make(chan struct{}, 4), make(chan struct{}, 4)
	a.OnStored(func() { here <- struct{}{} })
	other.OnStored(func() { there <- struct{}{} })
	if _, err := a.Put(ctx, bytes.NewReader([]byte("new")), assetref.Hint{}); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]chan struct{}{"this library": here, "another library": there} {
		select {
		case <-c:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s was not told of the new asset", name)
		}
	}
}

// TestHostForgetRemoteAsset: an asset known only from a synced node is
// collected or deleted without touching any store.
func TestHostForgetRemoteAsset(t *testing.T) {
	t.Parallel()
	ctx := hostCtx(t)
	d := memDevice(t, newMemHub(), true, Options{Grace: time.Minute})
	d.reg.Now = func() int64 { return time.Now().Add(-time.Hour).UnixMilli() }
	one := assetref.Ref{Kind: assetref.KindOPFS, Path: "memstore/" + graph.NewID(), Hash: assetref.HashBytes([]byte("one"))}
	two := assetref.Ref{Kind: assetref.KindOPFS, Path: "memstore/" + graph.NewID(), Hash: assetref.HashBytes([]byte("two"))}
	u1, u2 := memUser(), memUser()
	if err := d.reg.Use(one, u1, true); err != nil {
		t.Fatal(err)
	}
	if err := d.reg.Use(two, u2, true); err != nil {
		t.Fatal(err)
	}
	d.reg.Release(one.Hash, u1)
	d.reg.Release(two.Hash, u2)
	if err := d.Delete(ctx, two); err != nil {
		t.Fatalf("Delete of a remote asset: %v", err)
	}
	if n, err := d.Collect(ctx); err != nil || n != 1 {
		t.Fatalf("Collect: %d %v", n, err)
	}
	if recs, err := d.reg.Assets(ctx); err != nil || len(recs) != 0 {
		t.Fatalf("records left: %+v %v", recs, err)
	}
}

// leader runs every job at once, as a tab that leads.
type memLeader struct {
	mu   sync.Mutex
	jobs []string
	wg   sync.WaitGroup
}

func (l *memLeader) RunOnLeader(name string, job func(ctx context.Context)) func() {
	l.mu.Lock()
	l.jobs = append(l.jobs, name)
	l.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		job(ctx)
	}()
	return cancel
}

// TestHostUpkeepOnTheLeader: on the leader the library reconciles and
// collects by itself; Close stops the jobs and waits for the sweep.
func TestHostUpkeepOnTheLeader(t *testing.T) {
	t.Parallel()
	ctx := hostCtx(t)
	reg := memregistry.New()
	reg.Now = func() int64 { return time.Now().Add(-time.Hour).UnixMilli() }
	fallback := memstore.NewKind(assetref.KindIDB)
	ref, err := fallback.Put(ctx, bytes.NewReader([]byte("unused")), withID(assetref.Hint{}))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := reg.RegisterAsset(ctx, ref); err != nil {
		t.Fatal(err)
	}
	swept := make(chan struct{})
	ld := &memLeader{}
	lib, err := New(Env{Registry: reg, Fallback: fallback, Leader: ld,
		Sweep: func(ctx context.Context, _ time.Duration, _ *slog.Logger) { <-ctx.Done(); close(swept) }}, &Options{Grace: time.Minute, CollectEvery: time.Hour, StartAfter: -1})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if recs, _ := reg.Assets(ctx); len(recs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the leader's upkeep did not collect the unused asset")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := lib.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-swept:
	default:
		t.Fatal("Close returned before the sweep ended")
	}
	ld.wg.Wait()
	if len(ld.jobs) != 2 {
		t.Fatalf("jobs %v: want the upkeep and the eviction loop", ld.jobs)
	}
	if list, _ := fallback.List(ctx); len(list) != 0 {
		t.Fatalf("collected bytes still stored: %+v", list)
	}
}

func TestLocalLocks(t *testing.T) {
	t.Parallel()
	ctx := hostCtx(t)
	k := newLocalLocks()
	release, err := k.ReadLock(ctx, "h")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := k.TryLock(ctx, "h"); ok {
		t.Fatal("TryLock succeeded while a reader holds the lock")
	}
	if _, ok, _ := k.TryLock(ctx, "other"); !ok {
		t.Fatal("TryLock of another asset failed")
	}
	release()
	release() // twice is harmless
	if _, ok, _ := k.TryLock(ctx, "h"); !ok {
		t.Fatal("TryLock failed after the reader released")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := k.ReadLock(cctx, "h"); !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadLock with a cancelled context: %v", err)
	}
}
