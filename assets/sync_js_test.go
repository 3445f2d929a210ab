//go:build js && wasm

package assets

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
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
	"github.com/atelierstore/atelier/syncengine"
	"github.com/atelierstore/atelier/syncproto"
)

// hub stands in for a sync server's blob store inside the page: it keeps
// the Blobs uploaded to it, checks their hashes, and counts requests. It
// implements syncengine.BlobTransport and Remote; the HTTP transport
// against the real server is tested by browsertest.
type hub struct {
	mu        sync.Mutex
	blobs     map[string]js.Value
	checks    int
	uploads   int
	downloads int // successful ones
	attempts  int // all DownloadBlob calls
	down      bool
	corrupt   bool // serve other bytes
}

func newHub() *hub { return &hub{blobs: map[string]js.Value{}} }

func (h *hub) MissingBlobs(_ context.Context, hashes []string) ([]string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down {
		return nil, errors.New("sync server unreachable")
	}
	h.checks++
	var out []string
	for _, x := range hashes {
		if _, ok := h.blobs[x]; !ok {
			out = append(out, x)
		}
	}
	return out, nil
}

func (h *hub) UploadBlob(ctx context.Context, hash string, c syncengine.Content, progress func(sent, total int64)) error {
	blob, ok := fsx.BlobOf(c.(interface{ Blob() assetref.Blob }).Blob())
	if !ok {
		return errors.New("the content is no Blob the browser holds")
	}
	b := blob.JSValue()
	got, err := fsx.HashBlob(ctx, blob)
	if err != nil {
		return err
	}
	// Keep a copy, as a server does: the Blob of an OPFS file stops
	// being readable once the file is deleted (evicted).
	buf, err := jsutil.Await(ctx, b.Call("arrayBuffer"))
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down {
		return errors.New("sync server unreachable")
	}
	if got != hash || blob.Size() != c.Size() {
		return &syncengine.HTTPError{Status: 400, Code: "Invalid", Msg: "hash or size differs"}
	}
	h.uploads++
	h.blobs[hash] = js.Global().Get("Blob").New([]any{buf}, map[string]any{"type": c.MIME()})
	return nil
}

// missing is the hub's 404: not found, and worth asking again.
type missing struct{ hash string }

func (e missing) Error() string        { return "no blob " + e.hash }
func (e missing) Is(target error) bool { return target == errs.ErrNotFound }
func (e missing) Permanent() bool      { return false }

func (h *hub) DownloadBlob(_ context.Context, hash string) (assetref.Blob, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.attempts++
	if h.down {
		return nil, errors.New("sync server unreachable")
	}
	b, ok := h.blobs[hash]
	if !ok {
		return nil, missing{hash}
	}
	h.downloads++
	if h.corrupt {
		return jsBlob([]byte("not what was asked for"), "image/png"), nil
	}
	return fsx.WrapAssetBlob(b)
}

func (h *hub) counts() (checks, uploads, downloads, attempts int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.checks, h.uploads, h.downloads, h.attempts
}

// device opens a database (recording ops, as with sync) and a library
// with an OPFS root of its own, wired to h.
func device(t *testing.T, label string, h *hub, o Options) (*idb.DB, *Library) {
	t.Helper()
	ctx := ctxT(t)
	n := name(t) + "-" + label
	if o.Backend != BackendIDB {
		needOPFS(t)
	}
	db, err := idb.Open(ctx, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	o.OPFS = &opfs.Options{Root: n}
	o.CollectEvery = -1
	if o.EvictEvery == 0 {
		o.EvictEvery = time.Hour
	}
	lib, err := open(t, ctx, db, &o)
	if err != nil {
		t.Fatal(err)
	}
	lib.SetRemote(h)
	t.Cleanup(func() {
		lib.Close()
		db.Close()
		if root, err := fsx.StorageRoot(context.Background()); err == nil {
			_ = root.Remove(context.Background(), n, true)
		}
		_ = idbx.Delete(context.Background(), n, nil)
	})
	return db, lib
}

// relay gives b the operations a has recorded, as a sync server would
// hand them out as changes.
func relay(t *testing.T, a, b *idb.DB) {
	t.Helper()
	ctx := ctxT(t)
	ops, err := partsOf(t, a).ob.PendingOps(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	ob := partsOf(t, b).ob
	cursor, err := ob.SyncCursor(ctx)
	if err != nil {
		t.Fatal(err)
	}
	changes := make([]syncproto.Change, len(ops))
	for i, op := range ops {
		changes[i] = syncproto.Change{Seq: cursor + int64(i) + 1, Entity: op.Entity, EntityID: op.EntityID,
			WorkflowID: op.WorkflowID, Version: op.Version, Proposed: op.Version, UpdatedAt: op.UpdatedAt,
			OpID: op.ID, Deleted: op.Kind == syncproto.OpDelete, Data: op.Data}
	}
	if _, err := ob.ApplyChanges(ctx, changes, cursor+int64(len(ops))); err != nil {
		t.Fatal(err)
	}
}

// imageNode makes a workflow with one node whose result is ref.
func imageNode(t *testing.T, db *idb.DB, ref assetref.Ref) (graph.Workflow, graph.Node) {
	t.Helper()
	ctx := ctxT(t)
	w, err := db.CreateWorkflow(ctx, "Synced images")
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := db.SetNodes(ctx, w.ID, []graph.Node{{Type: "image", Title: "Hero", Result: &graph.Result{Asset: &ref}}})
	if err != nil {
		t.Fatal(err)
	}
	return w, nodes[0]
}

func readAll(t *testing.T, lib *Library, ref assetref.Ref) []byte {
	t.Helper()
	rc, err := lib.Open(ctxT(t), ref)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestUploadThenFetchOnAnotherDevice: the uploader checks, then uploads an
// asset once (identical bytes again cost nothing); another device gets
// the node without the bytes and fetches them on first read, once.
func TestUploadThenFetchOnAnotherDevice(t *testing.T) {
	ctx := ctxT(t)
	h := newHub()
	dbA, libA := device(t, "a", h, Options{})
	up := syncengine.NewUploader(libA, h, nil)

	data := bytesOf(700 << 10)
	ref, err := libA.PutBlob(ctx, jsBlob(data, "image/png"), assetref.Hint{})
	if err != nil {
		t.Fatal(err)
	}
	unused, err := libA.Put(ctx, bytes.NewReader(bytesOf(10<<10)), assetref.Hint{MIME: "image/png"})
	if err != nil {
		t.Fatal(err)
	}
	w, node := imageNode(t, dbA, ref)
	pending, err := libA.PendingUploads(ctx)
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
		if rec, err := partsOf(t, dbA).reg.Asset(ctx, x); err != nil || rec.Uploaded == 0 {
			t.Fatalf("record after upload: %+v %v", rec, err)
		}
	}
	// The same bytes again: same ref, nothing more to upload.
	again, err := libA.Put(ctx, bytes.NewReader(data), assetref.Hint{MIME: "image/png"})
	if err != nil || again != ref {
		t.Fatalf("Put of the same bytes: %+v %v", again, err)
	}
	if err := up.Round(ctx); err != nil {
		t.Fatal(err)
	}
	if _, uploads, _, _ := h.counts(); uploads != 2 {
		t.Fatalf("identical bytes uploaded again: %d uploads", uploads)
	}

	// Device B gets the workflow: metadata only.
	dbB, libB := device(t, "b", h, Options{})
	relay(t, dbA, dbB)
	g, err := dbB.LoadWorkflow(ctx, w.ID)
	if err != nil || len(g.Nodes) != 1 || *g.Nodes[0].Result.Asset != ref {
		t.Fatalf("B's workflow: %+v %v", g, err)
	}
	rec, err := partsOf(t, dbB).reg.Asset(ctx, ref.Hash)
	if err != nil || !rec.Remote || len(rec.Users) != 1 || rec.Users[0].NodeID != node.ID {
		t.Fatalf("B's record of the asset: %+v %v", rec, err)
	}
	if p, _ := libB.PendingUploads(ctx); len(p) != 0 {
		t.Fatalf("B would upload what it does not have: %+v", p)
	}
	info, err := libB.Stat(ctx, ref)
	if err != nil || info.Size != int64(len(data)) || info.Hash != ref.Hash {
		t.Fatalf("Stat on B: %+v %v", info, err)
	}
	if _, _, downloads, _ := h.counts(); downloads != 0 {
		t.Fatalf("B downloaded %d blobs before anything read them", downloads)
	}

	// Reading fetches, caches, and serves the same bytes.
	if got := readAll(t, libB, ref); !bytes.Equal(got, data) {
		t.Fatal("B read other bytes")
	}
	rec, err = partsOf(t, dbB).reg.Asset(ctx, ref.Hash)
	if err != nil || rec.Remote || rec.Uploaded == 0 || rec.UsedAt == 0 {
		t.Fatalf("B's record after fetching: %+v %v", rec, err)
	}
	if got := readAll(t, libB, ref); !bytes.Equal(got, data) {
		t.Fatal("B read other bytes the second time")
	}
	b, err := libB.Blob(ctx, ref)
	if err != nil || b.Size() != int64(len(data)) {
		t.Fatalf("Blob on B: %v", err)
	}
	if _, _, downloads, _ := h.counts(); downloads != 1 {
		t.Fatalf("B downloaded %d times, want once", downloads)
	}
	// B's copy is in its own OPFS root, under the id the ref names.
	if _, err := opfsOf(libB).Stat(ctx, rec.Ref); err != nil {
		t.Fatalf("B's cached copy: %v", err)
	}
	if rec.Ref.Path != ref.Path {
		t.Logf("B stored the copy at %s (A: %s)", rec.Ref.Path, ref.Path)
	}
	// Reconcile on B finds nothing amiss.
	if rep, err := libB.Reconcile(ctx); err != nil || rep.Removed != 0 || len(rep.Missing) != 0 {
		t.Fatalf("Reconcile on B: %+v %v", rep, err)
	}
}

// TestConcurrentFetchesShareOneDownload: readers of one missing asset in
// one tab wait for a single download.
func TestConcurrentFetchesShareOneDownload(t *testing.T) {
	ctx := ctxT(t)
	h := newHub()
	dbA, libA := device(t, "a", h, Options{})
	data := bytesOf(2 << 20)
	ref, err := libA.PutBlob(ctx, jsBlob(data, "image/png"), assetref.Hint{})
	if err != nil {
		t.Fatal(err)
	}
	imageNode(t, dbA, ref)
	if err := syncengine.NewUploader(libA, h, nil).Round(ctx); err != nil {
		t.Fatal(err)
	}
	dbB, libB := device(t, "b", h, Options{})
	relay(t, dbA, dbB)
	const readers = 4
	errs := make(chan error, readers)
	for range readers {
		go func() {
			rc, err := libB.Open(ctx, ref)
			if err == nil {
				var got []byte
				got, err = io.ReadAll(rc)
				rc.Close()
				if err == nil && !bytes.Equal(got, data) {
					err = errors.New("other bytes")
				}
			}
			errs <- err
		}()
	}
	for range readers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if _, _, downloads, _ := h.counts(); downloads != 1 {
		t.Fatalf("%d downloads for %d concurrent readers", downloads, readers)
	}
}

// TestEvictOnlyWhatTheServerHas: Evict deletes local copies of uploaded
// assets only, never one being read, least recently used first, and a
// later read brings the bytes back.
func TestEvictOnlyWhatTheServerHas(t *testing.T) {
	ctx := ctxT(t)
	h := newHub()
	db, lib := device(t, "a", h, Options{EvictIdle: -1})
	up := syncengine.NewUploader(lib, h, nil)
	olderData, newerData := bytesOf(300<<10), bytesOf(200<<10)
	older, err := lib.PutBlob(ctx, jsBlob(olderData, "image/png"), assetref.Hint{})
	if err != nil {
		t.Fatal(err)
	}
	newer, err := lib.PutBlob(ctx, jsBlob(newerData, "image/png"), assetref.Hint{})
	if err != nil {
		t.Fatal(err)
	}
	imageNode(t, db, older)
	if err := up.Round(ctx); err != nil {
		t.Fatal(err)
	}
	// Stored after the upload: only this device has it.
	onlyHere, err := lib.Put(ctx, bytes.NewReader(bytesOf(100<<10)), assetref.Hint{MIME: "image/png"})
	if err != nil {
		t.Fatal(err)
	}
	// Read newer now, so older is the least recently used.
	time.Sleep(5 * time.Millisecond)
	readAll(t, lib, newer)

	// One byte's worth: the least recently used goes first.
	rep, err := lib.Evict(ctx, 1)
	if err != nil || rep.Evicted != 1 || rep.Bytes != int64(len(olderData)) {
		t.Fatalf("Evict(1): %+v %v", rep, err)
	}
	if _, err := opfsOf(lib).Stat(ctx, older); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("the evicted copy is still in OPFS: %v", err)
	}
	if rec, _ := partsOf(t, db).reg.Asset(ctx, older.Hash); !rec.Remote || len(rec.Users) != 1 {
		t.Fatalf("evicted record %+v", rec)
	}

	// An open reader keeps newer; onlyHere is never evicted.
	rc, err := lib.Open(ctx, newer)
	if err != nil {
		t.Fatal(err)
	}
	rep, err = lib.Evict(ctx, 0)
	if err != nil || rep.Evicted != 0 {
		t.Fatalf("Evict with newer being read: %+v %v", rep, err)
	}
	rc.Close()
	rep, err = lib.Evict(ctx, 0)
	if err != nil || rep.Evicted != 1 || rep.Bytes != int64(len(newerData)) {
		t.Fatalf("Evict after the reader closed: %+v %v", rep, err)
	}
	if _, err := opfsOf(lib).Stat(ctx, onlyHere); err != nil {
		t.Fatalf("an asset the server lacks was evicted: %v", err)
	}
	if rec, _ := partsOf(t, db).reg.Asset(ctx, onlyHere.Hash); rec.Remote {
		t.Fatal("an asset the server lacks is marked remote")
	}
	// Stat answers from the record; Reconcile does not count evicted
	// copies as missing.
	if info, err := lib.Stat(ctx, older); err != nil || info.Size != int64(len(olderData)) {
		t.Fatalf("Stat of an evicted asset: %+v %v", info, err)
	}
	if rep, err := lib.Reconcile(ctx); err != nil || len(rep.Missing) != 0 {
		t.Fatalf("Reconcile: %+v %v", rep, err)
	}

	// Reading brings them back.
	_, _, before, _ := h.counts()
	if got := readAll(t, lib, older); !bytes.Equal(got, olderData) {
		t.Fatal("older came back with other bytes")
	}
	b, err := lib.Blob(ctx, newer)
	if err != nil || b.Size() != int64(len(newerData)) {
		t.Fatalf("Blob of evicted newer: %v", err)
	}
	if _, _, after, _ := h.counts(); after-before != 2 {
		t.Fatalf("%d downloads to bring 2 assets back", after-before)
	}
	if _, err := opfsOf(lib).Stat(ctx, older); err != nil {
		t.Fatalf("older is not cached again: %v", err)
	}
	// Recently read: a default EvictIdle would keep them.
	lib.opts.EvictIdle = time.Minute
	if rep, err := lib.Evict(ctx, 0); err != nil || rep.Evicted != 0 {
		t.Fatalf("Evict of recently read assets: %+v %v", rep, err)
	}
}

// TestEvictIfNeeded: the quota check evicts only above EvictAbove, down
// towards EvictTo.
func TestEvictIfNeeded(t *testing.T) {
	ctx := ctxT(t)
	h := newHub()
	_, lib := device(t, "a", h, Options{EvictIdle: -1, EvictAbove: 0.8, EvictTo: 0.5})
	var refs []assetref.Ref
	for i := range 3 {
		ref, err := lib.Put(ctx, bytes.NewReader(bytesOf(100<<10+i)), assetref.Hint{MIME: "image/png"})
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
	}
	if err := syncengine.NewUploader(lib, h, nil).Round(ctx); err != nil {
		t.Fatal(err)
	}
	usage, quota := int64(700<<10), int64(1000<<10)
	lib.opts.estimate = func(context.Context) (int64, int64, error) { return usage, quota, nil }
	if rep, err := lib.EvictIfNeeded(ctx); err != nil || rep.Evicted != 0 {
		t.Fatalf("below EvictAbove: %+v %v", rep, err)
	}
	// 900 of 1000 KiB: down to 500 needs 400 KiB, so all three go (each
	// is about 100 KiB).
	usage = 900 << 10
	rep, err := lib.EvictIfNeeded(ctx)
	if err != nil || rep.Evicted != 3 {
		t.Fatalf("above EvictAbove: %+v %v", rep, err)
	}
	// 850 of 1000: 350 KiB wanted, nothing left to evict.
	usage = 850 << 10
	if rep, err := lib.EvictIfNeeded(ctx); err != nil || rep.Evicted != 0 {
		t.Fatalf("nothing left: %+v %v", rep, err)
	}
	for _, r := range refs {
		if _, err := opfsOf(lib).Stat(ctx, r); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("still in OPFS: %v", err)
		}
	}
}

// TestFetchWaitsForTheUpload: a device that reads an asset before the
// device that has it has uploaded it waits (retrying with backoff) up to
// FetchWait; past that it fails with a temporary FetchError, and a later
// read succeeds.
func TestFetchWaitsForTheUpload(t *testing.T) {
	ctx := ctxT(t)
	h := newHub()
	dbA, libA := device(t, "a", h, Options{})
	data := bytesOf(64 << 10)
	ref, err := libA.PutBlob(ctx, jsBlob(data, "image/png"), assetref.Hint{})
	if err != nil {
		t.Fatal(err)
	}
	imageNode(t, dbA, ref)
	dbB, libB := device(t, "b", h, Options{FetchWait: -1})
	relay(t, dbA, dbB)

	// Not uploaded, no waiting: a temporary NotFound.
	_, err = libB.Open(ctx, ref)
	var fe *FetchError
	if !errors.Is(err, errs.ErrNotFound) || !errors.As(err, &fe) || !fe.Temporary() || fe.Hash != ref.Hash {
		t.Fatalf("Open before the upload: %v", err)
	}
	// Unreachable: the same.
	h.mu.Lock()
	h.down = true
	h.mu.Unlock()
	if _, err := libB.Blob(ctx, ref); !errors.As(err, &fe) || !fe.Temporary() {
		t.Fatalf("Blob while the server is down: %v", err)
	}
	h.mu.Lock()
	h.down = false
	h.mu.Unlock()

	// Waiting: the upload comes while B retries.
	libB.opts.FetchWait, libB.opts.fetchBackoff = 20*time.Second, 50*time.Millisecond
	_, _, _, attempts := h.counts()
	go func() {
		time.Sleep(400 * time.Millisecond)
		if err := syncengine.NewUploader(libA, h, nil).Round(ctx); err != nil {
			t.Error(err)
		}
	}()
	start := time.Now()
	if got := readAll(t, libB, ref); !bytes.Equal(got, data) {
		t.Fatal("other bytes")
	}
	_, _, downloads, after := h.counts()
	t.Logf("fetched after %v and %d tries", time.Since(start).Round(time.Millisecond), after-attempts)
	if after-attempts < 2 || downloads != 1 {
		t.Fatalf("%d tries, %d downloads: B should have retried until the upload", after-attempts, downloads)
	}
}

// TestFetchRejectsOtherBytes: bytes whose hash is not the asset's are
// neither served nor kept.
func TestFetchRejectsOtherBytes(t *testing.T) {
	ctx := ctxT(t)
	h := newHub()
	dbA, libA := device(t, "a", h, Options{})
	ref, err := libA.PutBlob(ctx, jsBlob(bytesOf(32<<10), "image/png"), assetref.Hint{})
	if err != nil {
		t.Fatal(err)
	}
	imageNode(t, dbA, ref)
	if err := syncengine.NewUploader(libA, h, nil).Round(ctx); err != nil {
		t.Fatal(err)
	}
	dbB, libB := device(t, "b", h, Options{})
	relay(t, dbA, dbB)
	h.mu.Lock()
	h.corrupt = true
	h.mu.Unlock()
	_, err = libB.Open(ctx, ref)
	var fe *FetchError
	if !errors.As(err, &fe) || fe.Temporary() {
		t.Fatalf("Open with corrupt bytes from the server: %v", err)
	}
	if rec, _ := partsOf(t, dbB).reg.Asset(ctx, ref.Hash); !rec.Remote {
		t.Fatalf("record changed: %+v", rec)
	}
	infos, err := opfsOf(libB).List(ctx)
	if err != nil || len(infos) != 0 {
		t.Fatalf("B's OPFS holds %d assets after a rejected fetch: %v", len(infos), err)
	}
}

// TestFetchIntoIndexedDB: a device without OPFS caches fetched assets in
// IndexedDB, and the registry points there.
func TestFetchIntoIndexedDB(t *testing.T) {
	ctx := ctxT(t)
	h := newHub()
	dbA, libA := device(t, "a", h, Options{})
	data := bytesOf(100 << 10)
	ref, err := libA.PutBlob(ctx, jsBlob(data, "image/png"), assetref.Hint{})
	if err != nil {
		t.Fatal(err)
	}
	imageNode(t, dbA, ref)
	if err := syncengine.NewUploader(libA, h, nil).Round(ctx); err != nil {
		t.Fatal(err)
	}
	dbB, libB := device(t, "b", h, Options{Backend: BackendIDB})
	relay(t, dbA, dbB)
	if got := readAll(t, libB, ref); !bytes.Equal(got, data) {
		t.Fatal("other bytes")
	}
	rec, err := partsOf(t, dbB).reg.Asset(ctx, ref.Hash)
	if err != nil || rec.Ref.Kind != assetref.KindIDB || rec.Remote {
		t.Fatalf("B's record: %+v %v", rec, err)
	}
	// The node still holds A's opfs ref; reading through it is served
	// from IndexedDB without another download.
	if got := readAll(t, libB, ref); !bytes.Equal(got, data) {
		t.Fatal("other bytes")
	}
	if _, _, downloads, _ := h.counts(); downloads != 1 {
		t.Fatalf("%d downloads", downloads)
	}
}

// TestUploadContentOfMissingBytes: an asset registered from a synced
// node has nothing to upload here.
func TestUploadContentOfMissingBytes(t *testing.T) {
	ctx := ctxT(t)
	h := newHub()
	dbA, libA := device(t, "a", h, Options{})
	ref, err := libA.PutBlob(ctx, jsBlob(bytesOf(1000), "image/png"), assetref.Hint{})
	if err != nil {
		t.Fatal(err)
	}
	imageNode(t, dbA, ref)
	dbB, libB := device(t, "b", h, Options{})
	relay(t, dbA, dbB)
	if _, err := libB.UploadContent(ctx, ref.Hash); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("UploadContent on B: %v", err)
	}
	c, err := libA.UploadContent(ctx, ref.Hash)
	if err != nil || c.Size() != 1000 || c.MIME() != "image/png" {
		t.Fatalf("UploadContent on A: %v", err)
	}
	c.Close()
	// Unknown refs and kinds fail as before.
	if _, err := libB.Open(ctx, assetref.Ref{Kind: assetref.KindEmbedded, ID: "x"}); !errors.Is(err, errs.ErrInvalidRef) {
		t.Fatalf("Open of an embedded ref: %v", err)
	}
	unknown := ref
	unknown.Hash = assetref.HashBytes([]byte("unknown"))
	unknown.Path = "atelier/assets/image/" + graph.NewID()
	libB.opts.FetchWait = -1
	if _, err := libB.Open(ctx, unknown); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("Open of an unknown asset: %v", err)
	}
}

// TestStoredNotifies: registering a new asset calls OnStored listeners,
// in this tab and (through the bus) in another tab's library.
func TestStoredNotifies(t *testing.T) {
	ctx := ctxT(t)
	h := newHub()
	db, lib := device(t, "a", h, Options{})
	other, err := open(t, ctx, db, &Options{OPFS: lib.opts.OPFS, CollectEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	here, there := make(chan struct{}, 4), make(chan struct{}, 4)
	lib.OnStored(func() { here <- struct{}{} })
	other.OnStored(func() { there <- struct{}{} })
	if _, err := lib.Put(ctx, bytes.NewReader([]byte("new")), assetref.Hint{}); err != nil {
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

// TestForgetRemoteAsset: an asset known only from a synced node is
// collected or deleted without touching any store.
func TestForgetRemoteAsset(t *testing.T) {
	ctx := ctxT(t)
	h := newHub()
	dbA, libA := device(t, "a", h, Options{})
	ref, err := libA.PutBlob(ctx, jsBlob(bytesOf(2000), "image/png"), assetref.Hint{})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := imageNode(t, dbA, ref)
	other, err := libA.PutBlob(ctx, jsBlob(bytesOf(3000), "image/png"), assetref.Hint{})
	if err != nil {
		t.Fatal(err)
	}
	w2, _ := imageNode(t, dbA, other)
	dbB, libB := device(t, "b", h, Options{Grace: time.Millisecond})
	relay(t, dbA, dbB)
	if err := dbB.DeleteWorkflow(ctx, w.ID); err != nil {
		t.Fatal(err)
	}
	if err := dbB.DeleteWorkflow(ctx, w2.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if err := libB.Delete(ctx, other); err != nil {
		t.Fatalf("Delete of a remote asset: %v", err)
	}
	if n, err := libB.Collect(ctx); err != nil || n != 1 {
		t.Fatalf("Collect: %d %v", n, err)
	}
	if recs, err := partsOf(t, dbB).reg.Assets(ctx); err != nil || len(recs) != 0 {
		t.Fatalf("records left: %+v %v", recs, err)
	}
}
