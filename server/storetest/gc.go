package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/server"
	"github.com/atelierstore/atelier/server/dirblob"
	"github.com/atelierstore/atelier/syncproto"
)

// gcTests are the tests of server.GC, run by Run on a dirblob.Store and
// by RunGC on the BlobStore given.
var gcTests = []struct {
	name string
	fn   func(t *testing.T, e *env)
}{
	{"GCGrace", testGCGrace},
	{"GCReferenced", testGCReferenced},
	{"GCPushAfterMark", testGCPushAfterMark},
	{"GCPushDuringCollection", testGCPushDuringCollection},
	{"GCUploadDuringCollection", testGCUploadDuringCollection},
	{"GCUploadInFlight", testGCUploadInFlight},
	{"GCAbandonedUpload", testGCAbandonedUpload},
	{"GCSharedBytes", testGCSharedBytes},
	{"GCDryRun", testGCDryRun},
	{"GCConcurrent", testGCConcurrent},
	{"AckCompaction", testAckCompaction},
	{"ResyncRetry", testResyncRetry},
}

// newDirBlobs is a dirblob.Store for one test.
func newDirBlobs(tb testing.TB) server.BlobStore {
	blobs, err := dirblob.Open(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	return blobs
}

// RunGC runs the tests of garbage collection (server.GC) on the Store
// that newDB creates and the BlobStore that newBlobs creates, empty, for
// one test. Run runs them with a dirblob.Store; a BlobStore's own tests
// run them too (s3blob's on a real S3 server).
func RunGC(t *testing.T, newDB NewDB, newBlobs func(tb testing.TB) server.BlobStore) {
	for _, tc := range gcTests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newEnvOn(t, newDB(t), newBlobs(t)))
		})
	}
}

const (
	grace     = server.DefaultGCGrace
	retention = server.DefaultAckRetention
)

// advance moves the test server's clock.
func (e *env) advance(d time.Duration) { e.clock.ms.Add(d.Milliseconds()) }

// gc runs a collection at the test server's time.
func (e *env) gc(dryRun bool) *server.GCReport {
	e.tb.Helper()
	rep, err := server.GC(context.Background(), e.store, e.blobs, &server.GCOptions{DryRun: dryRun, Now: e.clock.now})
	if err != nil {
		e.tb.Fatalf("gc: %v", err)
	}
	return rep
}

// hasBytes reports whether the blob store has the bytes of hash.
func (e *env) hasBytes(hash string) bool {
	e.tb.Helper()
	sum, err := assetref.ParseHash(hash)
	if err != nil {
		e.tb.Fatal(err)
	}
	f, err := e.blobs.Open(context.Background(), sum)
	if errors.Is(err, errs.ErrNotFound) {
		return false
	}
	if err != nil {
		e.tb.Fatal(err)
	}
	f.Close()
	return true
}

// has reports whether ws has a record of hash.
func (e *env) has(ws, hash string) bool {
	e.tb.Helper()
	return len(e.missing(ws, hash)) == 0
}

// assetNodeOp creates (base 0) or updates node id of wf with a result
// whose asset is the blob hash.
func assetNodeOp(wf, id, hash string, base, at int64) syncproto.Op {
	op := nodeOp(wf, id, base, base+1, at, "asset")
	var n graph.Node
	json.Unmarshal(op.Data, &n)
	n.Result = &graph.Result{Asset: &assetref.Ref{Kind: assetref.KindOPFS, Path: "atelier/assets/image/" + id, MIME: "image/png", Hash: hash}}
	op.Data, _ = json.Marshal(n)
	return op
}

// wantGC checks a report's counts: records, bytes (blobs) and acks.
func wantGC(t *testing.T, what string, r *server.GCReport, records, blobs int, acks int64) {
	t.Helper()
	if r.BlobRecords != records || r.Blobs != blobs || r.Acks != acks {
		t.Fatalf("%s: %d records, %d blobs' bytes, %d acks deleted; want %d, %d, %d (%+v)",
			what, r.BlobRecords, r.Blobs, r.Acks, records, blobs, acks, r)
	}
}

func testGCGrace(t *testing.T, e *env) {
	img := []byte("an image nobody refers to")
	h := assetref.HashBytes(img)
	e.upload(t, "alpha", img, "image/png")
	if r := e.gc(false); r.Marked != 1 || r.BlobRecords != 0 {
		t.Fatalf("first gc: %+v, want the blob marked, nothing deleted", r)
	}
	e.advance(grace - time.Millisecond)
	wantGC(t, "gc within the grace", e.gc(false), 0, 0, 0)
	if !e.has("alpha", h) || !e.hasBytes(h) {
		t.Fatal("the blob is gone within the grace")
	}
	if r := e.download(t, "alpha", h); !bytes.Equal(r.body, img) {
		t.Fatalf("download within the grace: %d %q", r.status, r.body)
	}
	e.advance(time.Millisecond)
	r := e.gc(false)
	// The record goes; the bytes stay while the upload's grant (its URL
	// and the grace after it) may still bring them.
	wantGC(t, "gc after the grace", r, 1, 0, 0)
	if r.RecordBytes != int64(len(img)) || len(r.Deleted["alpha"]) != 1 || r.Deleted["alpha"][0] != h {
		t.Fatalf("report %+v", r)
	}
	if e.has("alpha", h) || !e.hasBytes(h) {
		t.Fatal("want the record gone and the bytes kept")
	}
	e.advance(2*e.urlTTL() + 3*time.Second)
	wantGC(t, "gc after the grant's grace", e.gc(false), 0, 1, 0)
	if e.hasBytes(h) {
		t.Fatal("the bytes are still there")
	}
	res, _ := e.blobURL(syncproto.RouteBlobDownload, "alpha", syncproto.BlobURLRequest{Hash: h})
	wantStatus(t, "download URL of a collected blob", res, http.StatusNotFound, "NotFound")
	wantGC(t, "gc again", e.gc(false), 0, 0, 0)
	// Uploaded again, it is there again.
	e.upload(t, "alpha", img, "image/png")
	if r := e.download(t, "alpha", h); !bytes.Equal(r.body, img) {
		t.Fatalf("download after uploading again: %d %q", r.status, r.body)
	}
}

func testGCReferenced(t *testing.T, e *env) {
	img := []byte("an image a node shows")
	h := assetref.HashBytes(img)
	e.upload(t, "alpha", img, "image/png")
	wf, n := graph.NewID(), graph.NewID()
	e.push("alpha", workflowOp(wf, 0, 1, 1000, "W"), assetNodeOp(wf, n, h, 0, 1000))
	for range 3 {
		if r := e.gc(false); r.Marked != 0 || r.BlobRecords != 0 {
			t.Fatalf("gc of a referenced blob: %+v", r)
		}
		e.advance(grace)
	}
	// A reference anywhere in a live entity counts: here in a node's
	// config, the node's result being text.
	cfg := nodeOp(wf, n, 1, 2, 2000, "config")
	var node graph.Node
	json.Unmarshal(cfg.Data, &node)
	node.Config = json.RawMessage(`{"previous":{"hash":"` + h + `"}}`)
	cfg.Data, _ = json.Marshal(node)
	e.push("alpha", cfg)
	e.advance(grace)
	if r := e.gc(false); r.Marked != 0 || r.BlobRecords != 0 {
		t.Fatalf("gc of a blob named in a node's config: %+v", r)
	}
	// Deleting the node leaves it unreferenced: marked, deleted after
	// the grace.
	e.push("alpha", deleteOp(syncproto.EntityNode, wf, n, 2, 3, 3000))
	if r := e.gc(false); r.Marked != 1 || r.BlobRecords != 0 {
		t.Fatalf("gc after the node's deletion: %+v", r)
	}
	e.advance(grace)
	wantGC(t, "gc a grace after the node's deletion", e.gc(false), 1, 1, 0)
}

// testGCPushAfterMark checks that a write referring to a marked blob
// clears its mark: its grace starts again when it is next unreferenced,
// however briefly it was referred to in between.
func testGCPushAfterMark(t *testing.T, e *env) {
	img := []byte("an image used again")
	h := assetref.HashBytes(img)
	e.upload(t, "alpha", img, "image/png")
	if r := e.gc(false); r.Marked != 1 {
		t.Fatalf("gc: %+v, want the blob marked", r)
	}
	e.advance(grace - time.Hour)
	wf, n := graph.NewID(), graph.NewID()
	e.push("alpha", assetNodeOp(wf, n, h, 0, 1000))
	e.advance(time.Minute)
	e.push("alpha", deleteOp(syncproto.EntityNode, wf, n, 1, 2, 2000))
	e.advance(time.Hour)
	// Past the first mark's grace, but the mark was cleared: marked anew.
	if r := e.gc(false); r.Marked != 1 || r.BlobRecords != 0 {
		t.Fatalf("gc after the blob was referred to: %+v", r)
	}
	if !e.has("alpha", h) || !e.hasBytes(h) {
		t.Fatal("the blob is gone")
	}
	e.advance(grace)
	wantGC(t, "gc a grace after the new mark", e.gc(false), 1, 1, 0)
}

// hooked is a Store whose Update of a workspace, and DropBytes, first
// call a hook: what another server does while a collection runs.
type hooked struct {
	server.Store
	beforeUpdate func(ws string)
	beforeDrop   func(hash string)
	afterDrop    func(hash string)
}

func (h *hooked) Update(ctx context.Context, ws string, fn func(server.Tx) error) error {
	if h.beforeUpdate != nil {
		h.beforeUpdate(ws)
	}
	return h.Store.Update(ctx, ws, fn)
}

func (h *hooked) DropBytes(ctx context.Context, hash string, before int64, drop func(context.Context) error) (bool, error) {
	if h.beforeDrop != nil {
		h.beforeDrop(hash)
	}
	dropped, err := h.Store.DropBytes(ctx, hash, before, drop)
	if h.afterDrop != nil {
		h.afterDrop(hash)
	}
	return dropped, err
}

// gcHooked runs a collection through h.
func (e *env) gcHooked(h *hooked) *server.GCReport {
	e.tb.Helper()
	h.Store = e.store
	rep, err := server.GC(context.Background(), h, e.blobs, &server.GCOptions{Now: e.clock.now})
	if err != nil {
		e.tb.Fatalf("gc: %v", err)
	}
	return rep
}

// testGCPushDuringCollection checks that a push referring to a blob,
// committed after the collection read the workspace and before it decides
// in the workspace's transaction, keeps the blob.
func testGCPushDuringCollection(t *testing.T, e *env) {
	img := []byte("an image referred to while gc runs")
	h := assetref.HashBytes(img)
	e.upload(t, "alpha", img, "image/png")
	e.gc(false)
	e.advance(grace + 3*e.urlTTL())
	wf, n := graph.NewID(), graph.NewID()
	r := e.gcHooked(&hooked{beforeUpdate: func(ws string) {
		if ws == "alpha" && n != "" {
			e.push("alpha", assetNodeOp(wf, n, h, 0, 1000))
			n = ""
		}
	}})
	wantGC(t, "gc with a push referring to the blob", r, 0, 0, 0)
	if n != "" {
		t.Fatal("the hook did not run")
	}
	if !e.has("alpha", h) || !e.hasBytes(h) {
		t.Fatal("the blob is gone")
	}
	e.advance(3 * grace)
	wantGC(t, "gc later", e.gc(false), 0, 0, 0)
}

// testGCUploadDuringCollection checks the bytes of a blob whose record
// goes while another workspace is granted an upload of it: granted before
// the bytes are looked at, they stay; granted after they went, the upload
// puts them again.
func testGCUploadDuringCollection(t *testing.T, e *env) {
	for i, before := range []bool{true, false} {
		owner, other := workspaces[2*i], workspaces[2*i+1]
		img := []byte(fmt.Sprintf("an image uploaded while gc runs (%v)", before))
		h := assetref.HashBytes(img)
		e.upload(t, owner, img, "image/png")
		e.gc(false)
		e.advance(grace + 3*e.urlTTL())
		var u syncproto.BlobURLResponse
		grant := func(hash string) {
			if hash == h && u.URL == "" {
				var res *response
				res, u = e.blobURL(syncproto.RouteBlobUpload, other, syncproto.BlobURLRequest{Hash: h, Bytes: int64(len(img)), MIME: "image/png"})
				wantStatus(t, "upload URL", res, http.StatusOK, "")
			}
		}
		hk := &hooked{afterDrop: grant}
		if before {
			hk = &hooked{beforeDrop: grant}
		}
		r := e.gcHooked(hk)
		if u.URL == "" {
			t.Fatal("the hook did not run")
		}
		if len(r.Deleted[owner]) != 1 || e.has(owner, h) {
			t.Fatalf("granted before the drop %v: %s's record not deleted: %+v", before, owner, r)
		}
		if kept := e.hasBytes(h); kept != before {
			t.Fatalf("granted before the drop %v: bytes kept %v", before, kept)
		}
		wantStatus(t, "upload", e.do("PUT", u.URL, "", img), http.StatusNoContent, "")
		if r := e.download(t, other, h); !bytes.Equal(r.body, img) {
			t.Fatalf("%s's download: %d %q", other, r.status, r.body)
		}
	}
}

// testGCUploadInFlight checks that bytes an upload URL was handed out for
// stay while it may be used, though no workspace has a record of them.
func testGCUploadInFlight(t *testing.T, e *env) {
	img := []byte("an image being uploaded elsewhere")
	h := assetref.HashBytes(img)
	e.upload(t, "alpha", img, "image/png")
	e.gc(false) // marks it
	e.advance(grace)
	// beta is granted an upload of the same bytes, and has not put them
	// yet when alpha's record goes.
	res, u := e.blobURL(syncproto.RouteBlobUpload, "beta", syncproto.BlobURLRequest{Hash: h, Bytes: int64(len(img)), MIME: "image/png"})
	wantStatus(t, "upload URL", res, http.StatusOK, "")
	wantGC(t, "gc with an upload in flight", e.gc(false), 1, 0, 0)
	if e.has("alpha", h) || !e.hasBytes(h) {
		t.Fatal("want alpha's record gone and the bytes kept")
	}
	e.advance(e.urlTTL()/2 + time.Minute)
	wantStatus(t, "upload", e.do("PUT", u.URL, "", img), http.StatusNoContent, "")
	if r := e.download(t, "beta", h); !bytes.Equal(r.body, img) {
		t.Fatalf("beta's download: %d %q", r.status, r.body)
	}
	// beta's record protects the bytes from then on, grant or not.
	e.advance(2 * grace)
	wantGC(t, "gc after the upload", e.gc(false), 0, 0, 0)
	if !e.hasBytes(h) {
		t.Fatal("beta's bytes are gone")
	}
}

// testGCAbandonedUpload checks that bytes stored under an upload grant
// that no workspace ever recorded (a presigned PUT never committed, say)
// are deleted once the grant has expired and the grace has passed.
func testGCAbandonedUpload(t *testing.T, e *env) {
	img := []byte("an upload never committed")
	h := assetref.HashBytes(img)
	res, _ := e.blobURL(syncproto.RouteBlobUpload, "alpha", syncproto.BlobURLRequest{Hash: h, Bytes: int64(len(img)), MIME: "image/png"})
	wantStatus(t, "upload URL", res, http.StatusOK, "")
	sum, _ := assetref.ParseHash(h)
	if err := e.blobs.Put(context.Background(), sum, bytes.NewReader(img)); err != nil {
		t.Fatal(err)
	}
	e.advance(grace)
	wantGC(t, "gc within the grant and its grace", e.gc(false), 0, 0, 0)
	if !e.hasBytes(h) {
		t.Fatal("bytes gone while their grant holds them")
	}
	e.advance(2*e.urlTTL() + time.Minute)
	wantGC(t, "gc after the grant and its grace", e.gc(false), 0, 1, 0)
	if e.hasBytes(h) {
		t.Fatal("abandoned bytes kept")
	}
}

func (e *env) urlTTL() time.Duration {
	if e.opts.URLTTL == 0 {
		return server.DefaultURLTTL
	}
	return e.opts.URLTTL
}

// testGCSharedBytes checks that bytes two workspaces have survive the
// collection of one's record.
func testGCSharedBytes(t *testing.T, e *env) {
	img := []byte("an image two workspaces have")
	h := assetref.HashBytes(img)
	e.upload(t, "alpha", img, "image/png")
	e.upload(t, "beta", img, "image/png")
	wf := graph.NewID()
	e.push("beta", assetNodeOp(wf, graph.NewID(), h, 0, 1000))
	e.gc(false)
	e.advance(grace)
	wantGC(t, "gc", e.gc(false), 1, 0, 0)
	if e.has("alpha", h) || !e.has("beta", h) || !e.hasBytes(h) {
		t.Fatal("want alpha's record gone, beta's and the bytes kept")
	}
	if r := e.download(t, "beta", h); !bytes.Equal(r.body, img) {
		t.Fatalf("beta's download: %d %q", r.status, r.body)
	}
	e.advance(3 * grace)
	wantGC(t, "gc later", e.gc(false), 0, 0, 0)
	if !e.hasBytes(h) {
		t.Fatal("beta's bytes are gone")
	}
}

// testGCDryRun checks that a dry run reports what a collection deletes
// and changes nothing.
func testGCDryRun(t *testing.T, e *env) {
	img := []byte("an image to collect")
	h := assetref.HashBytes(img)
	e.upload(t, "alpha", img, "image/png")
	wf := graph.NewID()
	op := workflowOp(wf, 0, 1, 1000, "W")
	first := e.pushRaw("alpha", op)
	if r := e.gc(true); r.Marked != 1 || r.BlobRecords != 0 || r.Acks != 0 || !r.DryRun {
		t.Fatalf("dry run: %+v", r)
	}
	// The dry run marked nothing: a collection now only marks.
	if r := e.gc(false); r.Marked != 1 || r.BlobRecords != 0 {
		t.Fatalf("gc after a dry run: %+v", r)
	}
	e.advance(retention + time.Millisecond)
	for range 2 {
		r := e.gc(true)
		wantGC(t, "dry run past the grace and retention", r, 1, 1, 1)
		if r.RecordBytes != int64(len(img)) || r.AckBytes == 0 {
			t.Fatalf("dry run sizes: %+v", r)
		}
	}
	if !e.has("alpha", h) || !e.hasBytes(h) {
		t.Fatal("a dry run deleted the blob")
	}
	if again := e.pushRaw("alpha", op); !bytes.Equal(again, first) {
		t.Fatalf("replay after a dry run: %s, want %s", again, first)
	}
	r := e.gc(false)
	wantGC(t, "gc", r, 1, 1, 1)
	if len(r.Deleted["alpha"]) != 1 || r.Deleted["alpha"][0] != h {
		t.Fatalf("deleted %v", r.Deleted)
	}
}

// testGCConcurrent runs collections at once, through two handles on the
// database as two processes would: each thing is deleted once, and none
// fails.
func testGCConcurrent(t *testing.T, e *env) {
	var hashes []string
	for i := range 5 {
		img := []byte(fmt.Sprintf("image %d", i))
		hashes = append(hashes, assetref.HashBytes(img))
		e.upload(t, workspaces[i%3], img, "image/png")
	}
	e.gc(false)
	e.advance(grace + 3*e.urlTTL()) // past the uploads' grants too
	// Two handles on the database, as two processes have.
	other := e.open(t)
	defer other.Close()
	var wg sync.WaitGroup
	reports := make([]*server.GCReport, 4)
	gcErrs := make([]error, 4)
	for i := range reports {
		store := e.store
		if i%2 == 1 {
			store = other
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			reports[i], gcErrs[i] = server.GC(context.Background(), store, e.blobs, &server.GCOptions{Now: e.clock.now})
		}()
	}
	wg.Wait()
	records, blobs := 0, 0
	for i, r := range reports {
		if gcErrs[i] != nil {
			t.Fatalf("gc %d: %v", i, gcErrs[i])
		}
		records += r.BlobRecords
		blobs += r.Blobs
	}
	if records != 5 || blobs != 5 {
		t.Fatalf("concurrent collections deleted %d records and %d blobs' bytes, want 5 and 5", records, blobs)
	}
	for _, h := range hashes {
		if e.hasBytes(h) {
			t.Fatalf("%s kept", h)
		}
	}
}

// opIDAt returns a UUIDv7 made at ms, as a device whose clock said ms
// would make it.
func opIDAt(ms int64) string {
	var u [16]byte
	rand.Read(u[:])
	u[0], u[1], u[2], u[3], u[4], u[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	u[6] = 0x70 | u[6]&0x0f
	u[8] = 0x80 | u[8]&0x3f
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// testAckCompaction checks that acks past the retention are deleted, and
// that a replay of an op whose ack may be gone is answered Resync rather
// than decided again, while newer ops and kept acks work as before.
func testAckCompaction(t *testing.T, e *env) {
	t0 := e.clock.now().UnixMilli()
	wf := graph.NewID()
	old := workflowOp(wf, 0, 1, t0, "W")
	old.ID = opIDAt(t0)
	e.pushRaw("alpha", old)
	e.advance(retention / 2)
	kept := nodeOp(wf, graph.NewID(), 0, 1, t0+1, "kept")
	kept.ID = opIDAt(e.clock.now().UnixMilli())
	keptAck := e.pushRaw("alpha", kept)
	before := e.latest("alpha")

	e.advance(retention/2 + time.Millisecond)
	if r := e.gc(true); r.Acks != 1 {
		t.Fatalf("dry run: %d acks, want 1", r.Acks)
	}
	wantGC(t, "gc past the retention of the first ack", e.gc(false), 0, 0, 1)
	wantGC(t, "gc again", e.gc(false), 0, 0, 0)

	res := e.do("POST", route(syncproto.RoutePush, "alpha"), tokenOf("alpha"), syncproto.PushRequest{Ops: []syncproto.Op{old}})
	wantStatus(t, "replay of a compacted op", res, http.StatusConflict, "Resync")
	// With others, the whole push is refused, the others unapplied.
	fresh := nodeOp(wf, graph.NewID(), 0, 1, t0+2, "fresh")
	res = e.do("POST", route(syncproto.RoutePush, "alpha"), tokenOf("alpha"), syncproto.PushRequest{Ops: []syncproto.Op{fresh, old}})
	wantStatus(t, "push holding a compacted op", res, http.StatusConflict, "Resync")
	// An op never seen, made before the horizon plus the clock skew
	// allowed, may be one whose ack is gone: Resync too.
	unsure := nodeOp(wf, graph.NewID(), 0, 1, t0+3, "unsure")
	unsure.ID = opIDAt(t0 + server.ClockSkew.Milliseconds())
	res = e.do("POST", route(syncproto.RoutePush, "alpha"), tokenOf("alpha"), syncproto.PushRequest{Ops: []syncproto.Op{unsure}})
	wantStatus(t, "push of an op within the clock skew of the horizon", res, http.StatusConflict, "Resync")
	if got := e.latest("alpha"); len(got) != len(before) {
		t.Fatalf("refused pushes changed the workspace: %d entities, want %d", len(got), len(before))
	}

	// A kept ack is answered as before; an op made after the horizon
	// plus the skew is decided.
	if again := e.pushRaw("alpha", kept); !bytes.Equal(again, keptAck) {
		t.Fatalf("replay of a kept op: %s, want %s", again, keptAck)
	}
	fresh.ID = opIDAt(t0 + 1 + server.ClockSkew.Milliseconds())
	if a := e.push("alpha", fresh); a[0].Status != syncproto.Applied {
		t.Fatalf("op after the horizon: %+v", a[0])
	}
	// Server code may use op ids other than UUIDv7: they say nothing of
	// their age and are decided.
	v4 := nodeOp(wf, graph.NewID(), 0, 1, t0+4, "v4")
	v4.ID = "3f1a2b3c-4d5e-4f60-8a7b-8c9d0e1f2a3b"
	if a := e.push("alpha", v4); a[0].Status != syncproto.Applied {
		t.Fatalf("op with a UUIDv4 id: %+v", a[0])
	}
	// The horizon holds across a restart, and the state pulls whole.
	e.restart()
	res = e.do("POST", route(syncproto.RoutePush, "alpha"), tokenOf("alpha"), syncproto.PushRequest{Ops: []syncproto.Op{old}})
	wantStatus(t, "replay of a compacted op after a restart", res, http.StatusConflict, "Resync")
	if got := e.latest("alpha"); len(got) != len(before)+2 {
		t.Fatalf("pull after compaction: %d entities, want %d", len(got), len(before)+2)
	}
	// Other workspaces keep their own horizon (none).
	e.pushRaw("beta", old)
	if again := e.pushRaw("beta", old); !bytes.Contains(again, []byte(old.ID)) {
		t.Fatalf("beta's replay: %s", again)
	}
}

// testResyncRetry checks what syncproto.CodeResync promises of ops a
// client sends again under new ids after a Resync: one that had applied
// writes nothing new, and one that had been overwritten since loses again.
func testResyncRetry(t *testing.T, e *env) {
	t0 := e.clock.now().UnixMilli()
	wf, mine, theirs := graph.NewID(), graph.NewID(), graph.NewID()
	a := nodeOp(wf, mine, 0, 1, t0+1, "mine")
	b := nodeOp(wf, theirs, 0, 1, t0+2, "old")
	a.ID, b.ID = opIDAt(t0), opIDAt(t0+1)
	e.push("alpha", a, b)
	later := nodeOp(wf, theirs, 1, 2, t0+10, "newer")
	later.Kind, later.Fields = syncproto.OpUpdate, []string{"title"}
	e.push("alpha", later)
	before := e.latest("alpha")
	e.advance(retention + time.Millisecond)
	wantGC(t, "gc", e.gc(false), 0, 0, 3)
	res := e.do("POST", route(syncproto.RoutePush, "alpha"), tokenOf("alpha"), syncproto.PushRequest{Ops: []syncproto.Op{a, b}})
	wantStatus(t, "replay", res, http.StatusConflict, syncproto.CodeResync)

	a.ID, b.ID = graph.NewID(), graph.NewID()
	for _, ack := range e.push("alpha", a, b) {
		if ack.Status == syncproto.Rejected {
			t.Fatalf("retried op rejected: %+v", ack)
		}
	}
	after := e.latest("alpha")
	for _, id := range []string{mine, theirs} {
		var was, is graph.Node
		json.Unmarshal(before[id].Data, &was)
		json.Unmarshal(after[id].Data, &is)
		was.Version, is.Version, was.UpdatedAt, is.UpdatedAt = 0, 0, 0, 0
		if !bytes.Equal(mustJSON(t, was), mustJSON(t, is)) {
			t.Fatalf("retried op changed %s: %s, was %s", id, after[id].Data, before[id].Data)
		}
	}
	var n graph.Node
	json.Unmarshal(after[theirs].Data, &n)
	if n.Title != "newer" {
		t.Fatalf("the later write lost to a retried older op: %q", n.Title)
	}
}
