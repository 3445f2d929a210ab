package browsertest_test

// Assets in hybrid persistence, against the real sync server: a page
// program (assets/testdata/syncpage) wires the workflow store, the asset
// library, the op engine and the asset uploader as an app does, and these
// tests drive it in separate profiles (separate devices), counting what
// reaches the server in its request log.

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atelierstore/atelier/browsertest"
)

// syncPageWasm is assets/testdata/syncpage built for js/wasm, once per
// test process.
var syncPageWasm = sync.OnceValues(func() ([]byte, error) {
	root, err := checkoutRoot()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "browsertest-syncpage")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "syncpage.wasm")
	cmd := exec.Command("go", "build", "-o", out, "./assets/testdata/syncpage")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("GOOS=js GOARCH=wasm go build ./assets/testdata/syncpage: %v\n%s", err, msg)
	}
	return os.ReadFile(out)
})

const syncPagePath = "/assetsync/index.html"

const syncPageHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>asset sync</title>
<script src="/build/wasm_exec.js"></script>
<script>
  const ready = Promise.withResolvers();
  globalThis.browsertestReady = ready.promise;
  globalThis.assetsyncReady = () => ready.resolve(true);
  (async () => {
    const go = new Go();
    const { instance } = await WebAssembly.instantiateStreaming(fetch("/assetsync/app.wasm"), go.importObject);
    go.run(instance);
  })().catch((e) => ready.reject(e));
  // call(method, ...args) calls the page program and parses its JSON.
  globalThis.call = async (m, ...args) => JSON.parse(await assetsync[m](...args));
  // image(seed) paints a noisy picture and returns it as a PNG Blob.
  globalThis.image = async (seed, size = 256) => {
    const c = new OffscreenCanvas(size, size);
    const g = c.getContext("2d");
    const px = g.createImageData(size, size);
    let x = seed >>> 0 || 1;
    for (let i = 0; i < px.data.length; i++) {
      x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
      px.data[i] = i % 4 === 3 ? 255 : x & 255;
    }
    g.putImageData(px, 0, 0);
    return c.convertToBlob({ type: "image/png" });
  };
</script></head><body>asset sync</body></html>`

type syncedRef struct {
	Kind  string `json:"kind"`
	Path  string `json:"path,omitempty"`
	Key   string `json:"blobKey,omitempty"`
	MIME  string `json:"mime,omitempty"`
	Bytes int64  `json:"bytes,omitempty"`
	Hash  string `json:"hash"`
}

type assetRecord struct {
	Ref      syncedRef `json:"ref"`
	Uploaded int64     `json:"uploaded"`
	Remote   bool      `json:"remote"`
	UsedAt   int64     `json:"usedAt"`
	Users    int       `json:"users"`
}

type uploadStatus struct {
	State     string `json:"state"`
	Pending   int    `json:"pending"`
	Waiting   int    `json:"waiting"`
	Uploaded  int    `json:"uploaded"`
	Failures  int    `json:"failures"`
	LastError string `json:"lastError"`
	RetryInMs int64  `json:"retryInMs"`
}

// pageGraph is a loaded workflow, as far as these tests look.
type pageGraph struct {
	Nodes []struct {
		ID     string `json:"id"`
		Result struct {
			Asset syncedRef `json:"asset"`
		} `json:"result"`
	} `json:"nodes"`
}

type readResult struct {
	Size int64  `json:"size"`
	Hash string `json:"hash"`
}

type pageOpts struct {
	Name           string `json:"name"`
	URL            string `json:"url"`
	Workspace      string `json:"workspace"`
	Token          string `json:"token"`
	PullMs         int    `json:"pullMs"`
	BackoffMs      int    `json:"backoffMs,omitempty"`
	BackoffCapMs   int    `json:"backoffCapMs,omitempty"`
	IntervalMs     int    `json:"intervalMs,omitempty"`
	FetchWaitMs    int    `json:"fetchWaitMs,omitempty"`
	EvictIdleMs    int    `json:"evictIdleMs,omitempty"`
	NoUploader     bool   `json:"noUploader,omitempty"`
	NoFollowOnline bool   `json:"noFollowOnline,omitempty"`
}

// assetFixture is a sync server and a browser serving the page program.
type assetFixture struct {
	srv *syncServer
	b   *browsertest.Browser
}

func newAssetFixture(t *testing.T) *assetFixture {
	t.Helper()
	return newAssetFixtureOn(t, startSyncServer(t))
}

// newAssetFixtureOn is newAssetFixture with the sync server srv.
func newAssetFixtureOn(t *testing.T, srv *syncServer) *assetFixture {
	t.Helper()
	wasm, err := syncPageWasm()
	if err != nil {
		t.Fatal(err)
	}
	f := &assetFixture{srv: srv, b: browsertest.Start(t, nil)}
	f.b.AddFile(t, "/assetsync/app.wasm", wasm)
	f.b.AddFile(t, syncPagePath, []byte(syncPageHTML))
	return f
}

// deviceB opens a page in a second profile (another device), waits until
// its sync has brought workflow wf, and checks that the workflow's one node
// has the asset with hash as its result. Its bytes may not be there yet.
func deviceB(t *testing.T, f *assetFixture, wf, hash string) (*browsertest.Tab, pageGraph) {
	t.Helper()
	b := f.b.NewProfile(t).NewTab(t, "B")
	openPage(t, b, f.opts("assets-b"))
	var g pageGraph
	waitFor(t, 20*time.Second, func() string {
		var err error
		if g, err = tryCall[pageGraph](t, b, "loadWorkflow", wf); err != nil {
			return "B: " + err.Error()
		}
		return ""
	})
	if len(g.Nodes) != 1 || g.Nodes[0].Result.Asset.Hash != hash {
		t.Fatalf("B's workflow: %+v", g)
	}
	return b, g
}

func (f *assetFixture) opts(name string) pageOpts {
	return pageOpts{Name: name, URL: f.srv.URL(), Workspace: f.srv.ws, Token: f.srv.token, PullMs: 300,
		BackoffMs: 300, BackoffCapMs: 2000, IntervalMs: 60000, FetchWaitMs: -1}
}

// openPage loads the page program in tab and opens it with o.
func openPage(t *testing.T, tab *browsertest.Tab, o pageOpts) {
	t.Helper()
	tab.Navigate(t, syncPagePath)
	b, _ := json.Marshal(o)
	browsertest.Eval[any](t, tab, `(o) => call("open", o)`, string(b))
}

// call calls a method of the page program and decodes its result.
func call[T any](t *testing.T, tab *browsertest.Tab, method string, args ...any) T {
	t.Helper()
	return browsertest.Eval[T](t, tab, `(m, ...a) => call(m, ...a)`, append([]any{method}, args...)...)
}

func tryCall[T any](t *testing.T, tab *browsertest.Tab, method string, args ...any) (T, error) {
	t.Helper()
	return browsertest.TryEval[T](t.Context(), tab, `(m, ...a) => call(m, ...a)`, append([]any{method}, args...)...)
}

func refJSON(r syncedRef) string {
	b, _ := json.Marshal(r)
	return string(b)
}

// putImage paints picture seed in tab, keeps it as globalThis.images[seed]
// and stores it.
func putImage(t *testing.T, tab *browsertest.Tab, seed int) syncedRef {
	t.Helper()
	return browsertest.Eval[syncedRef](t, tab, `async (seed) => {
		globalThis.images ??= {};
		const img = globalThis.images[seed] ??= await image(seed);
		return call("put", img);
	}`, seed)
}

// waitFor polls cond until it returns "" (done) or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		why := cond()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func waitUploaded(t *testing.T, tab *browsertest.Tab, hash string, timeout time.Duration) assetRecord {
	t.Helper()
	var rec assetRecord
	waitFor(t, timeout, func() string {
		rec = call[assetRecord](t, tab, "record", hash)
		if rec.Uploaded == 0 {
			st := call[uploadStatus](t, tab, "uploadStatus")
			return fmt.Sprintf("%s: asset %s not uploaded; uploader %+v", tab.Name(), hash, st)
		}
		return ""
	})
	return rec
}

// serverRequests counts the requests in the server's log whose method and
// path match: what reached the server, whichever tab sent it.
func (s *syncServer) requests(method, pathPattern string) int {
	re := regexp.MustCompile(`msg=request method=` + method + ` path=` + pathPattern + ` `)
	return len(re.FindAllString(s.out.String(), -1))
}

const (
	blobPUT      = `/v1/blobs/ws/[0-9a-f]{64}`
	blobCheck    = `/v1/workspaces/ws/blobs/check`
	blobUpload   = `/v1/workspaces/ws/blobs/upload`
	blobDownload = `/v1/workspaces/ws/blobs/download`
)

// serverBlob downloads a blob from the server as any client would (token,
// then the signed URL) and returns its hash string, or "" if the server
// has none.
func serverBlob(t *testing.T, s *syncServer, hash string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"hash": hash})
	req, _ := http.NewRequest("POST", s.URL()+strings.Replace(blobDownload, "ws", s.ws, 1), bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return ""
	}
	var grant struct {
		URL string `json:"url"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&grant); err != nil || resp.StatusCode != 200 {
		t.Fatalf("download URL: %d %v", resp.StatusCode, err)
	}
	get, err := http.Get(grant.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer get.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, get.Body); err != nil || get.StatusCode != 200 {
		t.Fatalf("GET blob: %d %v", get.StatusCode, err)
	}
	return "sha256-" + base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// TestAssetSyncUploadFetchEvict: device A stores an image on a node; its
// uploader asks the server, then uploads it once, and identical bytes
// stored again are not uploaded again. Device B, fresh, syncs the
// workflow without the image, then reads the node's asset: fetched once,
// cached, the same bytes. A evicts its copy (only once uploaded) and a
// later read brings it back; a copy the server lacks is never evicted.
func TestAssetSyncUploadFetchEvict(t *testing.T) {
	f := newAssetFixture(t)
	a := f.b.NewTab(t, "A")
	oa := f.opts("assets-a")
	oa.EvictIdleMs = -1
	openPage(t, a, oa)

	ref := putImage(t, a, 1)
	if ref.Kind != "opfs" || ref.MIME != "image/png" || ref.Bytes < 100<<10 {
		t.Fatalf("stored image ref %+v", ref)
	}
	ids := call[map[string]string](t, a, "createNode", refJSON(ref))
	waitUploaded(t, a, ref.Hash, 20*time.Second)
	if n := f.srv.requests("PUT", blobPUT); n != 1 {
		t.Fatalf("%d blob PUTs for one image, want 1", n)
	}
	if f.srv.requests("POST", blobCheck) < 1 || f.srv.requests("POST", blobUpload) != 1 {
		t.Fatalf("checks %d, upload URLs %d: the uploader should ask first, then upload once",
			f.srv.requests("POST", blobCheck), f.srv.requests("POST", blobUpload))
	}
	if got := serverBlob(t, f.srv, ref.Hash); got != ref.Hash {
		t.Fatalf("the server holds %q for %s", got, ref.Hash)
	}

	// The same bytes again, as another Blob on another node: same ref,
	// nothing more reaches the server's blob routes.
	same := browsertest.Eval[syncedRef](t, a, `async () => {
		const copy = new Blob([await images[1].arrayBuffer()], { type: "image/png" });
		return call("put", copy);
	}`)
	if same.Hash != ref.Hash || same.Path != ref.Path {
		t.Fatalf("identical bytes stored as %+v, first as %+v", same, ref)
	}
	call[map[string]string](t, a, "createNode", refJSON(same))
	other := putImage(t, a, 2)
	call[map[string]string](t, a, "createNode", refJSON(other))
	waitUploaded(t, a, other.Hash, 20*time.Second)
	if n := f.srv.requests("PUT", blobPUT); n != 2 {
		t.Fatalf("%d blob PUTs for two distinct images (one stored twice), want 2", n)
	}
	if n := f.srv.requests("POST", blobUpload); n != 2 {
		t.Fatalf("%d upload URL requests, want 2", n)
	}
	waitFor(t, 20*time.Second, func() string {
		if st := call[syncStatus](t, a, "syncStatus"); st.Pending != 0 {
			return fmt.Sprintf("A: %d ops pending", st.Pending)
		}
		return ""
	})

	// Device B: metadata first.
	b, g := deviceB(t, f, ids["workflowId"], ref.Hash)
	nodeRef := g.Nodes[0].Result.Asset
	if rec := call[assetRecord](t, b, "record", ref.Hash); !rec.Remote || rec.Users != 2 {
		t.Fatalf("B's record before reading: %+v", rec)
	}
	if local := call[bool](t, b, "local", ref.Hash); local {
		t.Fatal("B has the bytes before anything read them")
	}
	// serverBlob above downloaded once itself: count from here.
	gets0 := f.srv.requests("GET", blobPUT)
	time.Sleep(time.Second)
	if n := f.srv.requests("GET", blobPUT) - gets0; n != 0 {
		t.Fatalf("%d blob downloads before anything read an asset", n)
	}

	// On demand: fetched, cached, identical.
	got := call[readResult](t, b, "read", refJSON(nodeRef))
	if got.Hash != ref.Hash || got.Size != ref.Bytes {
		t.Fatalf("B read %+v, want %s (%d bytes)", got, ref.Hash, ref.Bytes)
	}
	if rec := call[assetRecord](t, b, "record", ref.Hash); rec.Remote || rec.Uploaded == 0 {
		t.Fatalf("B's record after reading: %+v", rec)
	}
	if !call[bool](t, b, "local", ref.Hash) {
		t.Fatal("B did not keep the fetched bytes")
	}
	if size := call[int64](t, b, "blobSize", refJSON(nodeRef)); size != ref.Bytes {
		t.Fatalf("B's Blob has %d bytes", size)
	}
	if got := call[readResult](t, b, "read", refJSON(nodeRef)); got.Hash != ref.Hash {
		t.Fatalf("B's second read: %+v", got)
	}
	if n := f.srv.requests("GET", blobPUT) - gets0; n != 1 {
		t.Fatalf("%d blob GETs for one asset read three times, want 1", n)
	}
	// B never uploads what it fetched.
	time.Sleep(500 * time.Millisecond)
	if n := f.srv.requests("PUT", blobPUT); n != 2 {
		t.Fatalf("%d blob PUTs after B read, want still 2", n)
	}

	// A evicts its uploaded copies; a read brings one back.
	rep := call[struct{ Evicted int }](t, a, "evict", 0)
	if rep.Evicted != 2 {
		t.Fatalf("A evicted %d copies, want 2", rep.Evicted)
	}
	if rec := call[assetRecord](t, a, "record", ref.Hash); !rec.Remote || call[bool](t, a, "local", ref.Hash) {
		t.Fatalf("A's record after eviction: %+v", rec)
	}
	gets := f.srv.requests("GET", blobPUT)
	if got := call[readResult](t, a, "read", refJSON(ref)); got.Hash != ref.Hash || got.Size != ref.Bytes {
		t.Fatalf("A read back %+v", got)
	}
	if n := f.srv.requests("GET", blobPUT); n != gets+1 {
		t.Fatalf("%d blob GETs to bring one asset back", n-gets)
	}
	if !call[bool](t, a, "local", ref.Hash) {
		t.Fatal("A did not keep the copy it fetched back")
	}

	// Device C has no uploader running: its copy is the only one, and
	// eviction leaves it.
	c := f.b.NewProfile(t).NewTab(t, "C")
	oc := f.opts("assets-c")
	oc.NoUploader, oc.EvictIdleMs = true, -1
	openPage(t, c, oc)
	only := putImage(t, c, 3)
	if rep := call[struct{ Evicted int }](t, c, "evict", 0); rep.Evicted != 0 {
		t.Fatalf("C evicted %d copies the server lacks", rep.Evicted)
	}
	if !call[bool](t, c, "local", only.Hash) {
		t.Fatal("C lost the only copy")
	}
	if got := serverBlob(t, f.srv, only.Hash); got != "" {
		t.Fatal("the server has C's asset though C never uploaded it")
	}
}

// TestAssetSyncUploadRetries: uploads that fail because the server is
// down are retried with growing delays and succeed once it is back,
// without anything asking; an upload while the browser is offline waits
// and goes out when it is online again.
func TestAssetSyncUploadRetries(t *testing.T) {
	f := newAssetFixture(t)
	a := f.b.NewTab(t, "A")
	openPage(t, a, f.opts("assets-retry"))

	f.srv.Kill(t)
	ref := putImage(t, a, 7)
	call[map[string]string](t, a, "createNode", refJSON(ref))
	waitFor(t, 20*time.Second, func() string {
		if st := call[uploadStatus](t, a, "uploadStatus"); st.Failures < 3 || st.State != "error" {
			return fmt.Sprintf("uploader while the server is down: %+v", st)
		}
		return ""
	})
	st := call[uploadStatus](t, a, "uploadStatus")
	if !strings.Contains(st.LastError, "unreachable") {
		t.Fatalf("last error %q", st.LastError)
	}
	// The delays grow (jitter keeps each in the upper half of its step).
	statuses := call[[]uploadStatus](t, a, "uploadStatuses")
	var retries []int64
	last := 0
	for _, s := range statuses {
		if s.State == "error" && s.Failures > last {
			retries = append(retries, s.RetryInMs)
			last = s.Failures
		}
	}
	t.Logf("retry delays (ms): %v", retries)
	// Backoff from 300 ms doubling to 2 s, each delay drawn from the upper
	// half of its step: 150-300, 300-600, 600-1200 ms (a little less, as
	// the status is stamped just after the delay is drawn).
	want := [][2]int64{{100, 300}, {250, 600}, {550, 1200}}
	if len(retries) < 3 {
		t.Fatalf("retry delays %v: want at least 3", retries)
	}
	for i, w := range want {
		if retries[i] < w[0] || retries[i] > w[1] {
			t.Fatalf("retry delay %d = %d ms, want in [%d, %d]: %v", i+1, retries[i], w[0], w[1], retries)
		}
	}
	f.srv.Start(t)
	waitUploaded(t, a, ref.Hash, 20*time.Second)
	if n := f.srv.requests("PUT", blobPUT); n != 1 {
		t.Fatalf("%d blob PUTs, want 1", n)
	}
	if got := serverBlob(t, f.srv, ref.Hash); got != ref.Hash {
		t.Fatalf("server holds %q", got)
	}

	// Offline: nothing goes out, nothing counts as a failure.
	setOffline(t, a, true)
	off := putImage(t, a, 8)
	call[map[string]string](t, a, "createNode", refJSON(off))
	time.Sleep(1500 * time.Millisecond)
	if st := call[uploadStatus](t, a, "uploadStatus"); st.State != "offline" {
		t.Fatalf("uploader while offline: %+v", st)
	}
	if rec := call[assetRecord](t, a, "record", off.Hash); rec.Uploaded != 0 {
		t.Fatal("uploaded while offline")
	}
	setOffline(t, a, false)
	start := time.Now()
	waitUploaded(t, a, off.Hash, 10*time.Second)
	t.Logf("uploaded %v after coming back online", time.Since(start).Round(time.Millisecond))
	if n := f.srv.requests("PUT", blobPUT); n != 2 {
		t.Fatalf("%d blob PUTs, want 2", n)
	}
}

// TestAssetSyncFetchWaitsForUpload: device B reads a node's asset before
// device A, which has it, has uploaded it: B keeps trying and gets it as
// soon as A uploads.
func TestAssetSyncFetchWaitsForUpload(t *testing.T) {
	f := newAssetFixture(t)
	a := f.b.NewTab(t, "A")
	oa := f.opts("assets-late")
	oa.NoUploader = true
	openPage(t, a, oa)
	ref := putImage(t, a, 11)
	ids := call[map[string]string](t, a, "createNode", refJSON(ref))
	waitFor(t, 20*time.Second, func() string {
		if st := call[syncStatus](t, a, "syncStatus"); st.Pending != 0 {
			return fmt.Sprintf("A: %d ops pending", st.Pending)
		}
		return ""
	})

	b := f.b.NewProfile(t).NewTab(t, "B")
	ob := f.opts("assets-late-b")
	ob.FetchWaitMs = 30000
	openPage(t, b, ob)
	waitFor(t, 20*time.Second, func() string {
		if _, err := tryCall[any](t, b, "loadWorkflow", ids["workflowId"]); err != nil {
			return "B: " + err.Error()
		}
		return ""
	})
	// B starts reading; the server does not have the bytes yet.
	browsertest.Eval[any](t, b, `(ref) => { globalThis.pending = call("read", ref).then((r) => globalThis.done = r, (e) => globalThis.failed = e.name + ": " + e.message); }`, refJSON(ref))
	waitFor(t, 10*time.Second, func() string {
		if n := f.srv.requests("POST", blobDownload); n < 2 {
			return fmt.Sprintf("B asked for a download URL %d times", n)
		}
		return ""
	})
	// A comes back with its uploader.
	oa.NoUploader = false
	openPage(t, a, oa)
	waitUploaded(t, a, ref.Hash, 20*time.Second)
	var got readResult
	waitFor(t, 20*time.Second, func() string {
		if failed := browsertest.Eval[any](t, b, `globalThis.failed ?? null`); failed != nil {
			t.Fatalf("B's read failed: %v", failed)
		}
		got = browsertest.Eval[readResult](t, b, `globalThis.done ?? {}`)
		if got.Hash == "" {
			return "B's read has not finished"
		}
		return ""
	})
	if got.Hash != ref.Hash || got.Size != ref.Bytes {
		t.Fatalf("B read %+v", got)
	}
	t.Logf("B asked for the blob %d times before it was there", f.srv.requests("POST", blobDownload))
	if n := f.srv.requests("GET", blobPUT); n != 1 {
		t.Fatalf("%d blob GETs", n)
	}
}

// TestAssetSyncPresigned syncs an asset through a server whose blobs are
// in an S3 bucket (SeaweedFS's gateway) and that hands out presigned URLs
// of it: A's page sends the bytes straight to the bucket and commits
// them, B's page fetches them from there, and the server sees none of
// them.
func TestAssetSyncPresigned(t *testing.T) {
	f := newAssetFixtureOn(t, startSyncServerWith(t, "sqlite", startS3(t)))

	a := f.b.NewTab(t, "A")
	openPage(t, a, f.opts("assets-a"))
	ref := putImage(t, a, 1)
	ids := call[map[string]string](t, a, "createNode", refJSON(ref))
	waitUploaded(t, a, ref.Hash, 30*time.Second)
	if n := f.srv.requests("PUT", blobPUT); n != 0 {
		t.Fatalf("%d blob PUTs reached the server", n)
	}
	if n := f.srv.requests("POST", blobPUT); n != 1 {
		t.Fatalf("%d commits, want 1", n)
	}
	if got := serverBlob(t, f.srv, ref.Hash); got != ref.Hash {
		t.Fatalf("the bucket holds %q for %s", got, ref.Hash)
	}

	b, g := deviceB(t, f, ids["workflowId"], ref.Hash)
	got := call[readResult](t, b, "read", refJSON(g.Nodes[0].Result.Asset))
	if got.Hash != ref.Hash || got.Size != ref.Bytes {
		t.Fatalf("B read %+v, want %s (%d bytes)", got, ref.Hash, ref.Bytes)
	}
	if n := f.srv.requests("GET", blobPUT); n != 0 {
		t.Fatalf("the server served %d blob downloads itself", n)
	}
}
