//go:build js && wasm

package assets

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall/js"
	"testing"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/idb"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/idbx"
	"github.com/atelierstore/atelier/internal/jsutil"
	"github.com/atelierstore/atelier/opfs"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func name(t *testing.T) string {
	return fmt.Sprintf("assets-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
}

// setup opens a fresh database and an OPFS root of the test's own.
func setup(t *testing.T, o Options) (*idb.DB, *Library, Options) {
	t.Helper()
	return setupTB(t, ctxT(t), name(t), o)
}

func setupB(b *testing.B, o Options) (*idb.DB, *Library, Options) {
	return setupTB(b, context.Background(), fmt.Sprintf("assets-%s-%d", b.Name(), time.Now().UnixNano()), o)
}

func setupTB(t testing.TB, ctx context.Context, n string, o Options) (*idb.DB, *Library, Options) {
	t.Helper()
	if o.Backend != BackendIDB && !takenAway {
		needOPFS(t)
	}
	db, err := idb.Open(ctx, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	o.OPFS = &opfs.Options{Root: n}
	o.CollectEvery = -1
	lib, err := open(t, ctx, db, &o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		lib.Close()
		db.Close()
		if root, err := fsx.StorageRoot(context.Background()); err == nil {
			_ = root.Remove(context.Background(), n, true)
		}
		_ = idbx.Delete(context.Background(), n, nil)
	})
	return db, lib, o
}

// takenAway is set while a test has taken OPFS away on purpose.
var takenAway bool

// needOPFS skips a test that needs OPFS in a browser without it (WebKitGTK's
// automation session has no navigator.storage at all).
func needOPFS(t testing.TB) {
	t.Helper()
	s := js.Global().Get("navigator").Get("storage")
	if s.Type() != js.TypeObject || s.Get("getDirectory").Type() != js.TypeFunction {
		t.Skip("this browser has no OPFS (navigator.storage.getDirectory): new assets go to IndexedDB, which the JS API tests cover here")
	}
}

// needFolderAccess skips a test of folders the user picked in a browser
// without the File System Access API (Firefox, Safari), where adding one
// fails with ErrUnsupported at the JS API.
func needFolderAccess(t testing.TB) {
	t.Helper()
	needOPFS(t)
	h := js.Global().Get("FileSystemHandle")
	if h.Type() != js.TypeFunction || h.Get("prototype").Get("queryPermission").Type() != js.TypeFunction {
		t.Skip("this browser has no File System Access API (FileSystemHandle.queryPermission): folders cannot be used")
	}
}

func bytesOf(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// jsBlob returns a Blob of b as the page hands one over.
func jsBlob(b []byte, mime string) assetref.Blob {
	ab, err := fsx.WrapAssetBlob(js.Global().Get("Blob").New([]any{jsutil.Uint8Array(b)}, map[string]any{"type": mime}))
	if err != nil {
		panic(err)
	}
	return ab
}

func TestPutRegistersAndDedups(t *testing.T) {
	ctx := ctxT(t)
	db, lib, _ := setup(t, Options{})
	if lib.Backend() != BackendOPFS {
		t.Fatalf("backend %q", lib.Backend())
	}
	data := bytesOf(300 << 10)
	ref, err := lib.Put(ctx, bytes.NewReader(data), assetref.Hint{MIME: "image/png"})
	if err != nil {
		t.Fatal(err)
	}
	if ref.Kind != assetref.KindOPFS || ref.Hash != assetref.HashBytes(data) {
		t.Fatalf("ref %+v", ref)
	}
	rec, err := partsOf(t, db).reg.Asset(ctx, ref.Hash)
	if err != nil || rec.Ref != ref {
		t.Fatalf("record %+v %v", rec, err)
	}
	viaBlob, err := lib.PutBlob(ctx, jsBlob(data, "image/png"), assetref.Hint{})
	if err != nil || viaBlob != ref {
		t.Fatalf("PutBlob of the same bytes: %+v %v", viaBlob, err)
	}
	b, err := lib.Blob(ctx, ref)
	if err != nil || b.Size() != int64(len(data)) || b.MIME() != "image/png" {
		t.Fatalf("Blob: %v", err)
	}
	rc, err := lib.Open(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
	if _, err := lib.Open(ctx, assetref.Ref{Kind: assetref.KindURL, URL: "https://example.com/x.png"}); !errors.Is(err, errs.ErrInvalidRef) {
		t.Fatalf("opening a url ref: %v", err)
	}
}

// TestFallbackToIndexedDB: without OPFS the library keeps assets in
// IndexedDB, with no change for the app.
func TestFallbackToIndexedDB(t *testing.T) {
	needOPFS(t) // it takes OPFS away
	ctx := ctxT(t)
	storage := js.Global().Get("navigator").Get("storage")
	saved := storage.Get("getDirectory")
	storage.Set("getDirectory", js.Undefined())
	takenAway = true
	db, lib, _ := setup(t, Options{})
	storage.Set("getDirectory", saved)
	takenAway = false
	if lib.Backend() != BackendIDB {
		t.Fatalf("backend %q", lib.Backend())
	}
	data := bytesOf(100 << 10)
	ref, err := lib.PutBlob(ctx, jsBlob(data, "image/jpeg"), assetref.Hint{})
	if err != nil || ref.Kind != assetref.KindIDB || ref.MIME != "image/jpeg" {
		t.Fatalf("PutBlob: %+v %v", ref, err)
	}
	if _, err := partsOf(t, db).reg.Asset(ctx, ref.Hash); err != nil {
		t.Fatal(err)
	}
	c, err := lib.Capabilities(ctx)
	if err != nil || c.OPFS || c.Backend != BackendIDB {
		t.Fatalf("capabilities %+v %v", c, err)
	}
}

// TestSameBytesAcrossStores: bytes first stored in IndexedDB and then put
// where OPFS is available are kept once, where they were first.
func TestSameBytesAcrossStores(t *testing.T) {
	ctx := ctxT(t)
	db, lib, o := setup(t, Options{})
	o.Backend = BackendIDB
	first, err := open(t, ctx, db, &o)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	data := bytesOf(50 << 10)
	a, err := first.Put(ctx, bytes.NewReader(data), assetref.Hint{})
	if err != nil || a.Kind != assetref.KindIDB {
		t.Fatalf("%+v %v", a, err)
	}
	b, err := lib.Put(ctx, bytes.NewReader(data), assetref.Hint{})
	if err != nil || b != a {
		t.Fatalf("second Put: %+v, want %+v (%v)", b, a, err)
	}
	if list, _ := opfsOf(lib).List(ctx); len(list) != 0 {
		t.Fatalf("the OPFS copy was kept: %+v", list)
	}
}

func TestCollectRemovesWhatNothingUses(t *testing.T) {
	ctx := ctxT(t)
	db, lib, _ := setup(t, Options{Grace: time.Millisecond})
	used, err := lib.Put(ctx, bytes.NewReader(bytesOf(1000)), assetref.Hint{MIME: "image/png"})
	if err != nil {
		t.Fatal(err)
	}
	unused, err := lib.Put(ctx, bytes.NewReader(bytesOf(1000)), assetref.Hint{MIME: "image/png"})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := db.CreateWorkflow(ctx, "w")
	nodes, _ := db.SetNodes(ctx, w.ID, []graph.Node{{Type: "img", Result: &graph.Result{Asset: &used}}})
	time.Sleep(5 * time.Millisecond)
	if n, err := lib.Collect(ctx); err != nil || n != 1 {
		t.Fatalf("Collect = %d, %v", n, err)
	}
	if _, err := lib.Stat(ctx, unused); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("unused asset still there: %v", err)
	}
	if _, err := lib.Stat(ctx, used); err != nil {
		t.Fatalf("used asset: %v", err)
	}
	if err := lib.Delete(ctx, used); !errors.Is(err, assetref.ErrInUse) {
		t.Fatalf("deleting a used asset: %v", err)
	}
	// Deleting the workflow releases it; the next collection removes it.
	if err := db.DeleteWorkflow(ctx, w.ID); err != nil {
		t.Fatal(err)
	}
	_ = nodes
	if n, err := lib.Collect(ctx); err != nil || n != 1 {
		t.Fatalf("second Collect = %d, %v", n, err)
	}
	if _, err := partsOf(t, db).reg.Asset(ctx, used.Hash); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("record after collection: %v", err)
	}
}

// TestReconcileAfterCrash: bytes stored but never registered (a crash
// between the two steps) are removed once old enough; a record whose bytes
// vanished is reported.
func TestReconcileAfterCrash(t *testing.T) {
	ctx := ctxT(t)
	// StartAfter: the leader's own Reconcile must not run first (in a
	// slower browser the Puts take longer than the default 2s).
	_, lib, _ := setup(t, Options{Grace: time.Hour, StartAfter: time.Hour})
	old := assetref.Hint{ID: "01900000-0000-7000-8000-000000000001", MIME: "image/png"} // 2024: long ago
	orphan, err := opfsOf(lib).Put(ctx, bytes.NewReader(bytesOf(2000)), old)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := opfsOf(lib).Put(ctx, bytes.NewReader(bytesOf(2000)), withID(assetref.Hint{}))
	if err != nil {
		t.Fatal(err)
	}
	kept, err := lib.Put(ctx, bytes.NewReader(bytesOf(2000)), assetref.Hint{})
	if err != nil {
		t.Fatal(err)
	}
	vanished, err := lib.Put(ctx, bytes.NewReader(bytesOf(2000)), assetref.Hint{})
	if err != nil {
		t.Fatal(err)
	}
	if err := opfsOf(lib).Delete(ctx, vanished); err != nil {
		t.Fatal(err)
	}
	rep, err := lib.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Removed != 1 || len(rep.Missing) != 1 || rep.Missing[0].Hash != vanished.Hash {
		t.Fatalf("report %+v", rep)
	}
	if _, err := opfsOf(lib).Stat(ctx, orphan); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("old orphan kept: %v", err)
	}
	if _, err := opfsOf(lib).Stat(ctx, fresh); err != nil {
		t.Fatalf("a fresh upload was removed: %v", err)
	}
	if _, err := lib.Stat(ctx, kept); err != nil {
		t.Fatalf("registered asset: %v", err)
	}
}

// TestFolderAssets: a folder the user picked (an OPFS directory stands in)
// receives new assets and is still usable after a reload.
func TestFolderAssets(t *testing.T) {
	needFolderAccess(t)
	ctx := ctxT(t)
	db, lib, o := setup(t, Options{})
	root, _ := fsx.StorageRoot(ctx)
	n := name(t) + "-picked"
	picked, err := root.Dir(ctx, n, true)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Remove(context.Background(), n, true)
	key, err := lib.AddFolder(ctx, picked, true)
	if err != nil {
		t.Fatal(err)
	}
	data := bytesOf(4000)
	ref, err := lib.PutBlob(ctx, jsBlob(data, "video/mp4"), assetref.Hint{})
	if err != nil || ref.Kind != assetref.KindFSHandle || !strings.HasPrefix(ref.HandleID, key+"/") {
		t.Fatalf("%+v %v", ref, err)
	}
	c, _ := lib.Capabilities(ctx)
	if c.Folder != key {
		t.Fatalf("capabilities folder %q", c.Folder)
	}
	// "Reload": a new library on the same database finds the folder.
	again, err := open(t, ctx, db, &o)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	rc, err := again.Open(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
	if err := lib.RemoveFolder(ctx, key); err != nil {
		t.Fatal(err)
	}
	third, _ := open(t, ctx, db, &o)
	defer third.Close()
	if _, err := third.Open(ctx, ref); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("asset of a forgotten folder: %v", err)
	}
}

func TestCapabilitiesAndPersist(t *testing.T) {
	ctx := ctxT(t)
	_, lib, _ := setup(t, Options{})
	c, err := lib.Capabilities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !c.OPFS || c.Backend != BackendOPFS || c.Quota <= 0 || c.Usage < 0 {
		t.Fatalf("%+v", c)
	}
	granted, err := lib.Persist(ctx)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := lib.Capabilities(ctx)
	if after.Persisted != granted {
		t.Fatalf("Persist said %v, Capabilities says %v", granted, after.Persisted)
	}
}

// opfsOf is the library's OPFS store.
func opfsOf(lib *Library) *opfs.Store { return lib.primary.(*opfs.Store) }
