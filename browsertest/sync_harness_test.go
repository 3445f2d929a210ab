package browsertest_test

// The sync tests' harness: the reference sync server (server/cmd/atelier-sync)
// as a real process on a loopback port with its SQLite file in a temporary
// directory, so that a kill is a real SIGKILL and a restart reopens the same
// file; a fault-injecting reverse proxy in front of it, which every page
// talks to; and helpers to open a page with sync, take it offline, read its
// outbox and compare what pages hold with what the server holds.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/atelierstore/atelier/browsertest"
)

// syncServerBinary is atelier-sync, built once per test process from the
// server module of the checkout and kept in memory; each test writes it to
// its own temporary directory.
var syncServerBinary = sync.OnceValues(func() ([]byte, error) {
	root, err := checkoutRoot()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "browsertest-sync")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "atelier-sync")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/atelier-sync")
	cmd.Dir = filepath.Join(root, "server")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build ./cmd/atelier-sync in %s: %v\n%s", cmd.Dir, err, msg)
	}
	return os.ReadFile(out)
})

// s3Bucket is a bucket of SeaweedFS's S3 gateway, as the server module's
// internal/cmd/s3dev prints it.
type s3Bucket struct {
	Endpoint, Bucket, Region, AccessKey, SecretKey string
}

// startS3 runs s3dev (SeaweedFS's S3 gateway with one bucket) until t
// ends, and returns its bucket. It skips t when weed is not on PATH,
// unless ATELIER_REQUIRE_S3=1 (make test): then t fails. SeaweedFS's
// gateway allows every origin (CORS) by default, as the pages need.
func startS3(t *testing.T) *s3Bucket {
	t.Helper()
	root, err := checkoutRoot()
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(t.TempDir(), "s3dev")
	build := exec.Command("go", "build", "-o", exe, "./internal/cmd/s3dev")
	build.Dir = filepath.Join(root, "server")
	if msg, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./internal/cmd/s3dev: %v\n%s", err, msg)
	}
	cmd := exec.Command(exe)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close() // s3dev stops weed and exits
		cmd.Wait()
	})
	var b s3Bucket
	if err := json.NewDecoder(stdout).Decode(&b); err != nil {
		cmd.Wait()
		if cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == 3 && os.Getenv("ATELIER_REQUIRE_S3") != "1" {
			t.Skipf("no S3 server for the test: %s", strings.TrimSpace(stderr.String()))
		}
		t.Fatalf("s3dev: %v\n%s", err, stderr.String())
	}
	return &b
}

// checkoutRoot is the directory above this module's.
func checkoutRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "server", "cmd", "atelier-sync")); err == nil {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("no server/cmd/atelier-sync above %s", wd)
		}
	}
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// syncServer is one atelier-sync process over one data directory.
type syncServer struct {
	exe, data, addr string
	ws, token       string
	postgres        string    // the DSN of its PostgreSQL database; "": SQLite in data
	s3              *s3Bucket // its blobs' bucket; nil: data/blobs
	out             *lockedBuffer

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	runs int
}

// startSyncServer starts atelier-sync on a free loopback port, for
// workspace "ws" and token "tok". It is killed in t's cleanup; if t failed,
// its log is shown.
func startSyncServer(t *testing.T) *syncServer { return startSyncServerOn(t, "sqlite") }

// backends are the stores the browser sync tests that name them run the
// server on: SQLite, and PostgreSQL when ATELIER_TEST_POSTGRES names a
// server (make test starts a throwaway one, see
// server/testdata/with-postgres.sh).
func backends() []string {
	if os.Getenv("ATELIER_TEST_POSTGRES") != "" {
		return []string{"sqlite", "postgres"}
	}
	return []string{"sqlite"}
}

// startSyncServerOn is startSyncServer with the store named: "sqlite", or
// "postgres" (the database ATELIER_TEST_POSTGRES names, shared by the
// tests, each in a workspace of its own).
func startSyncServerOn(t *testing.T, backend string) *syncServer {
	t.Helper()
	return startSyncServerWith(t, backend, nil)
}

// startSyncServerWith is startSyncServerOn with the blobs in bucket, and
// presigned URLs of it handed out, when bucket is not nil.
func startSyncServerWith(t *testing.T, backend string, bucket *s3Bucket) *syncServer {
	t.Helper()
	bin, err := syncServerBinary()
	if err != nil {
		t.Fatalf("building the sync server: %v", err)
	}
	dir := t.TempDir()
	s := &syncServer{
		exe: filepath.Join(dir, "atelier-sync"), data: filepath.Join(dir, "data"),
		ws: "ws", token: "tok", s3: bucket, out: &lockedBuffer{},
	}
	if backend == "postgres" {
		s.postgres = os.Getenv("ATELIER_TEST_POSTGRES")
		if s.postgres == "" {
			t.Skip("ATELIER_TEST_POSTGRES is not set: no PostgreSQL to run the sync server on")
		}
		s.ws = "ws-" + newID()
	}
	if err := os.WriteFile(s.exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	ln.Close()
	t.Cleanup(func() {
		s.Kill(t)
		if t.Failed() {
			t.Logf("sync server log:\n%s", s.out.String())
		}
	})
	s.Start(t)
	return s
}

// URL is the server's base URL.
func (s *syncServer) URL() string { return "http://" + s.addr }

// Start starts the process (again) on the same port and data directory and
// waits until it answers.
func (s *syncServer) Start(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		t.Fatal("sync server: already running")
	}
	s.runs++
	fmt.Fprintf(s.out, "--- start #%d\n", s.runs)
	args := []string{"-addr", s.addr, "-data", s.data, "-token", s.token + "=" + s.ws, "-origins", "*"}
	if s.postgres != "" {
		args = append(args, "-postgres", s.postgres)
	}
	if s.s3 != nil {
		args = append(args, "-s3-endpoint", s.s3.Endpoint, "-s3-bucket", s.s3.Bucket, "-s3-region", s.s3.Region,
			"-s3-path-style", "-s3-access-key", s.s3.AccessKey, "-s3-presign")
	}
	cmd := exec.Command(s.exe, args...)
	if s.s3 != nil {
		cmd.Env = append(os.Environ(), "AWS_SECRET_ACCESS_KEY="+s.s3.SecretKey)
	}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	dieWithTest(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("sync server: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(s.URL() + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-done:
			t.Fatalf("sync server exited at start:\n%s", s.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sync server not answering on %s after 15s: %v", s.addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill kills the process with SIGKILL, as a crash or an OOM kill would, and
// waits for it to be gone. It is a no-op when the server is not running.
func (s *syncServer) Kill(t testing.TB) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("sync server: kill: %v", err)
	}
	<-s.done
	fmt.Fprintf(s.out, "--- killed (SIGKILL)\n")
	s.cmd, s.done = nil, nil
}

// change is a syncproto.Change as the server stores it.
type change struct {
	Seq        int64           `json:"seq"`
	Entity     string          `json:"entity"`
	EntityID   string          `json:"entityId"`
	WorkflowID string          `json:"workflowId"`
	Version    int64           `json:"version"`
	Proposed   int64           `json:"proposed"`
	UpdatedAt  int64           `json:"updatedAt"`
	OpID       string          `json:"opId"`
	Deleted    bool            `json:"deleted"`
	Data       json.RawMessage `json:"data"`
}

// ackRec is a syncproto.Ack.
type ackRec struct {
	OpID    string  `json:"opId"`
	Status  string  `json:"status"`
	Version int64   `json:"version"`
	Current *change `json:"current"`
	Error   string  `json:"error"`
}

// serverDump is what the server's database holds for the workspace, read
// from its SQLite file (atelier-sync -dump).
type serverDump struct {
	Seq      int64    `json:"seq"`
	Entities []change `json:"entities"`
	Acks     []struct {
		OpID string `json:"opId"`
		Ack  ackRec `json:"ack"`
	} `json:"acks"`
}

// Dump reads the server's database; the server may be running or not. A
// server on PostgreSQL must be running: its state is read through the pull
// route, without the acks.
func (s *syncServer) Dump(t testing.TB) *serverDump {
	t.Helper()
	if s.postgres != "" {
		return s.pullDump(t)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(s.exe, "-data", s.data, "-dump", s.ws)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("atelier-sync -dump: %v\n%s", err, stderr.String())
	}
	var d serverDump
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatalf("atelier-sync -dump: %v", err)
	}
	return &d
}

// pullDump reads every entity's state, tombstones included, through the
// pull route.
func (s *syncServer) pullDump(t testing.TB) *serverDump {
	d := &serverDump{}
	for more := true; more; {
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/v1/workspaces/%s/pull?cursor=%d&limit=1000", s.URL(), s.ws, d.Seq), nil)
		req.Header.Set("Authorization", "Bearer "+s.token)
		req.Header.Set("Atelier-Sync", "2")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("dump through pull: %v", err)
		}
		var page struct {
			Changes []change `json:"changes"`
			Cursor  int64    `json:"cursor"`
			More    bool     `json:"more"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("dump through pull: %s %v", resp.Status, err)
		}
		d.Entities = append(d.Entities, page.Changes...)
		d.Seq, more = page.Cursor, page.More
	}
	return d
}

// exchange is one request the proxy passed on (or not), as it saw it.
type exchange struct {
	Kind    string   // "push", "pull", "other"
	Status  int      // the server's answer; 0 when it could not be reached
	Fault   string   // "" when the answer reached the page, else what the proxy did instead
	OpIDs   []string // a push's ops
	Acks    []ackRec // a push's answer
	Changes int      // a pull's changes
}

// syncProxy stands between the pages and the server. It forwards every
// request; when told to, it throws away the server's answer after the
// server has sent it (so whatever the server committed stays committed)
// and gives the page a reset connection or a 502 instead.
type syncProxy struct {
	srv      *httptest.Server
	upstream string
	client   *http.Client

	mu       sync.Mutex
	rng      *rand.Rand
	dropRate float64 // of push and pull answers
	log      []exchange
	onPush   func(n int) // called when the n-th push (from 1) arrives, before it is forwarded
	// called when the server has answered the n-th push, before the page
	// gets the answer; true throws the answer away (the page gets a 502)
	onPushAnswered func(n int) bool
	pushes         int
}

func startProxy(t *testing.T, upstream string, seed uint64) *syncProxy {
	t.Helper()
	p := &syncProxy{
		upstream: upstream,
		// No proxy from the environment, no connection reuse across a
		// server restart surprises: a fresh connection per request.
		client: &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}},
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
	p.srv = httptest.NewServer(p)
	t.Cleanup(func() {
		p.srv.Close()
		if t.Failed() {
			var b strings.Builder
			for i, ex := range p.Log() {
				fmt.Fprintf(&b, "\t%3d %-5s %3d ops %3d acks %3d changes status %d %s\n", i+1, ex.Kind, len(ex.OpIDs), len(ex.Acks), ex.Changes, ex.Status, ex.Fault)
			}
			t.Logf("proxy log:\n%s", b.String())
		}
	})
	return p
}

// URL is the base URL pages use as their sync server.
func (p *syncProxy) URL() string { return p.srv.URL }

// SetDropRate makes the proxy drop that fraction of push and pull answers.
func (p *syncProxy) SetDropRate(r float64) {
	p.mu.Lock()
	p.dropRate = r
	p.mu.Unlock()
}

// OnPush sets a function called with the push's number as each push
// arrives, before it is forwarded.
func (p *syncProxy) OnPush(f func(n int)) {
	p.mu.Lock()
	p.onPush = f
	p.mu.Unlock()
}

// OnPushAnswered sets a function called with the push's number once the
// server has answered it, before the answer is passed on; when it returns
// true the answer is thrown away and the page gets a 502.
func (p *syncProxy) OnPushAnswered(f func(n int) bool) {
	p.mu.Lock()
	p.onPushAnswered = f
	p.mu.Unlock()
}

// Log returns what passed through so far.
func (p *syncProxy) Log() []exchange {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]exchange(nil), p.log...)
}

func (p *syncProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	ex := exchange{Kind: "other"}
	pushN := 0
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/push"):
		ex.Kind = "push"
		var req struct {
			Ops []struct {
				ID string `json:"id"`
			} `json:"ops"`
		}
		if json.Unmarshal(body, &req) == nil {
			for _, op := range req.Ops {
				ex.OpIDs = append(ex.OpIDs, op.ID)
			}
		}
		p.mu.Lock()
		p.pushes++
		pushN = p.pushes
		hook := p.onPush
		p.mu.Unlock()
		if hook != nil {
			hook(pushN)
		}
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/pull"):
		ex.Kind = "pull"
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.upstream+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		panic(err)
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	resp, err := p.client.Do(req)
	if err != nil {
		// The server is gone (killed): answer as a reverse proxy does.
		ex.Fault = "502 unreachable"
		p.record(ex)
		badGateway(w, r)
		return
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	ex.Status = resp.StatusCode
	if err != nil {
		ex.Fault = "502 broken answer"
		p.record(ex)
		badGateway(w, r)
		return
	}
	switch ex.Kind {
	case "push":
		var pr struct {
			Acks []ackRec `json:"acks"`
		}
		if json.Unmarshal(answer, &pr) == nil {
			ex.Acks = pr.Acks
		}
	case "pull":
		var pr struct {
			Changes []json.RawMessage `json:"changes"`
		}
		if json.Unmarshal(answer, &pr) == nil {
			ex.Changes = len(pr.Changes)
		}
	}
	p.mu.Lock()
	drop := ex.Kind != "other" && p.dropRate > 0 && p.rng.Float64() < p.dropRate
	asReset := p.rng.IntN(2) == 0
	answered := p.onPushAnswered
	p.mu.Unlock()
	if ex.Kind == "push" && answered != nil && answered(pushN) {
		ex.Fault = "answer dropped by the test"
		p.record(ex)
		badGateway(w, r)
		return
	}
	if drop {
		// The server has committed and answered; the page never learns.
		if asReset {
			ex.Fault = "answer dropped: connection reset"
			p.record(ex)
			reset(w)
		} else {
			ex.Fault = "answer dropped: 502"
			p.record(ex)
			badGateway(w, r)
		}
		return
	}
	p.record(ex)
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(answer)
}

func (p *syncProxy) record(ex exchange) {
	p.mu.Lock()
	p.log = append(p.log, ex)
	p.mu.Unlock()
}

// reset closes the connection without an answer: fetch rejects with a
// TypeError, as it does when a connection breaks.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0) // RST, not FIN
	}
	conn.Close()
}

// badGateway answers 502 with CORS headers, so the page sees the status.
func badGateway(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Origin") != "" {
		w.Header().Set("Access-Control-Allow-Origin", "*")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadGateway)
	w.Write([]byte(`{"error":"bad gateway","code":"Internal"}`))
}

// syncOpts are what a page passes to atelier.open's sync option.
type syncOpts struct {
	URL, Workspace, Token string
	PullIntervalMs        int
}

// openSynced loads the test page in tab and opens database name with sync,
// keeping every status in globalThis.statuses and every conflict in
// globalThis.conflicts.
func openSynced(t *testing.T, tab *browsertest.Tab, name string, o syncOpts) {
	t.Helper()
	tab.Navigate(t, browsertest.AppPath)
	browsertest.Eval[any](t, tab, `async (name, url, workspace, token, pullIntervalMs) => {
		globalThis.statuses = [];
		globalThis.conflicts = [];
		globalThis.leaderChanges = [];
		globalThis.db = await atelier.open({
			name,
			// In the page: these tests take the network away and count
			// requests with DevTools on the page's target, which does not
			// reach a worker's (the journeys and the multi-tab tests run
			// the engine in its worker, the default).
			worker: false,
			sync: { url, workspace, token, pullIntervalMs },
			onSyncStatus: (s) => { globalThis.statuses.push(s); },
			onConflict: (cs) => { globalThis.conflicts.push(...cs); },
			onLeaderChange: (leading) => { globalThis.leaderChanges.push(leading); },
		});
	}`, name, o.URL, o.Workspace, o.Token, o.PullIntervalMs)
}

// setOffline takes a tab's network away (or gives it back) with DevTools
// network emulation: requests of the page fail as with no network, and
// navigator.onLine and the online/offline events follow.
func setOffline(t *testing.T, tab *browsertest.Tab, offline bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab.Context(), 10*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("%s: Network.enable: %v", tab.Name(), err)
	}
	conds := []*network.Conditions{}
	if offline {
		conds = append(conds, &network.Conditions{Offline: true, DownloadThroughput: -1, UploadThroughput: -1})
	}
	if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule,
		network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: conds}); err != nil {
		t.Fatalf("%s: Network.emulateNetworkConditionsByRule: %v", tab.Name(), err)
	}
	if _, err := chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{
		Offline: offline, DownloadThroughput: -1, UploadThroughput: -1,
	}); err != nil {
		t.Fatalf("%s: Network.overrideNetworkState: %v", tab.Name(), err)
	}
}

// pushCounter counts the push requests a tab sends to base (seen by
// DevTools in that tab, whichever answer they get).
func pushCounter(t *testing.T, tab *browsertest.Tab, base string) *atomic.Int64 {
	t.Helper()
	return countRequests(t, tab, func(method, url string) bool {
		return method == "POST" && strings.HasPrefix(url, base) && strings.HasSuffix(url, "/push")
	})
}

// requestCounter counts every request a tab sends to base.
func requestCounter(t *testing.T, tab *browsertest.Tab, base string) *atomic.Int64 {
	t.Helper()
	return countRequests(t, tab, func(_, url string) bool { return strings.HasPrefix(url, base) })
}

func countRequests(t *testing.T, tab *browsertest.Tab, match func(method, url string) bool) *atomic.Int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab.Context(), 10*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("%s: Network.enable: %v", tab.Name(), err)
	}
	n := &atomic.Int64{}
	go func() {
		for ev, err := range chromedp.Events(tab.Context(), network.RequestWillBeSent) {
			if err != nil {
				return
			}
			if ev.Request != nil && match(ev.Request.Method, ev.Request.URL) {
				n.Add(1)
			}
		}
	}()
	return n
}

// outboxOp is an operation as the page's outbox holds it.
type outboxOp struct {
	ID       string `json:"id"`
	Entity   string `json:"entity"`
	EntityID string `json:"entityId"`
	Kind     string `json:"kind"`
	Version  int64  `json:"version"`
	Tab      string `json:"tab"`
}

// readOutbox reads the outbox (the oplog store) of database name straight
// from IndexedDB, parked operations included. The store also keeps a done
// record per entity under "~done:<id>" (the device's last applied write,
// without its data); those are not operations and sort after every op id,
// so the read stops before "~".
func readOutbox(t *testing.T, tab *browsertest.Tab, name string) []outboxOp {
	t.Helper()
	return browsertest.Eval[[]outboxOp](t, tab, `(name) => new Promise((resolve, reject) => {
		const req = indexedDB.open(name);
		req.onerror = () => reject(req.error);
		req.onsuccess = () => {
			const idb = req.result;
			const get = idb.transaction("oplog").objectStore("oplog").getAll(IDBKeyRange.upperBound("~", true));
			get.onerror = () => { idb.close(); reject(get.error); };
			get.onsuccess = () => { idb.close(); resolve(get.result.map((r) => r.op)); };
		};
	})`, name)
}

// snapshot is every workflow a page (or the server) holds, with its nodes
// and edges, as generic JSON, sorted by id.
type snapshot []map[string]any

// pageSnapshot lists and loads every workflow in tab's db.
func pageSnapshot(t *testing.T, tab *browsertest.Tab) snapshot {
	t.Helper()
	s, err := tryPageSnapshot(t.Context(), tab)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func tryPageSnapshot(ctx context.Context, tab *browsertest.Tab) (snapshot, error) {
	s, err := browsertest.TryEval[snapshot](ctx, tab, `async () => {
		const out = [];
		for (const w of await db.listWorkflows()) out.push(await db.loadWorkflow(w.id));
		return out;
	}`)
	return normalize(s), err
}

// serverSnapshot is what the server holds, in the shape of a page's
// snapshot: the live entities' data with the server's version and time.
// It also returns integrity violations: live nodes of a missing or deleted
// workflow, live edges whose workflow or end nodes are missing or deleted.
func serverSnapshot(t *testing.T, d *serverDump) (snapshot, []string) {
	t.Helper()
	live := map[string]change{}
	for _, c := range d.Entities {
		if !c.Deleted {
			live[c.EntityID] = c
		}
	}
	entity := func(c change) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(c.Data, &m); err != nil {
			t.Fatalf("server data of %s %s: %v", c.Entity, c.EntityID, err)
		}
		m["version"], m["updatedAt"] = float64(c.Version), float64(c.UpdatedAt)
		return m
	}
	graphs := map[string]map[string]any{}
	for _, c := range live {
		if c.Entity == "workflow" {
			graphs[c.EntityID] = map[string]any{"workflow": entity(c), "nodes": []any{}, "edges": []any{}}
		}
	}
	var bad []string
	for _, c := range live {
		if c.Entity == "workflow" {
			continue
		}
		g := graphs[c.WorkflowID]
		if g == nil {
			bad = append(bad, fmt.Sprintf("live %s %s in workflow %s, which is deleted or missing", c.Entity, c.EntityID, c.WorkflowID))
			continue
		}
		m := entity(c)
		if c.Entity == "node" {
			g["nodes"] = append(g["nodes"].([]any), m)
			continue
		}
		for _, end := range []string{"source", "target"} {
			id, _ := m[end].(string)
			if n, ok := live[id]; !ok || n.Entity != "node" {
				bad = append(bad, fmt.Sprintf("live edge %s whose %s %s is deleted or missing", c.EntityID, end, id))
			}
		}
		g["edges"] = append(g["edges"].([]any), m)
	}
	var s snapshot
	for _, g := range graphs {
		s = append(s, g)
	}
	sort.Strings(bad)
	return normalize(s), bad
}

// normalize sorts workflows, nodes and edges by id and makes missing
// lists empty.
func normalize(s snapshot) snapshot {
	id := func(v any) string {
		m, _ := v.(map[string]any)
		if w, ok := m["workflow"].(map[string]any); ok {
			m = w
		}
		s, _ := m["id"].(string)
		return s
	}
	for _, g := range s {
		for _, k := range []string{"nodes", "edges"} {
			l, _ := g[k].([]any)
			if l == nil {
				l = []any{}
			}
			sort.Slice(l, func(i, j int) bool { return id(l[i]) < id(l[j]) })
			g[k] = l
		}
	}
	sort.Slice(s, func(i, j int) bool { return id(s[i]) < id(s[j]) })
	if s == nil {
		s = snapshot{}
	}
	return s
}

// diff describes how a differs from b, or "" when they are equal.
func diff(a, b snapshot) string {
	if reflect.DeepEqual(a, b) {
		return ""
	}
	ja, _ := json.MarshalIndent(a, "", " ")
	jb, _ := json.MarshalIndent(b, "", " ")
	la, lb := strings.Split(string(ja), "\n"), strings.Split(string(jb), "\n")
	for i := 0; i < len(la) || i < len(lb); i++ {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			lo := max(0, i-6)
			return fmt.Sprintf("first difference at line %d:\n--- got\n%s\n--- want\n%s",
				i+1, strings.Join(la[lo:min(len(la), i+4)], "\n"), strings.Join(lb[lo:min(len(lb), i+4)], "\n"))
		}
	}
	return "differ"
}

// syncStatus is the JS API's syncStatus().
type syncStatus struct {
	State     string `json:"state"`
	Pending   int    `json:"pending"`
	Parked    int    `json:"parked"`
	Failures  int    `json:"failures"`
	LastError string `json:"lastError"`
}

// waitConverged waits until every tab's snapshot equals the server's, and
// every tab reports synced with nothing pending or parked. It returns the
// server's dump and snapshot.
func waitConverged(t *testing.T, srv *syncServer, timeout time.Duration, tabs ...*browsertest.Tab) (*serverDump, snapshot) {
	t.Helper()
	return converge(t, srv, timeout, false, tabs)
}

// waitConvergedNudging is waitConverged calling syncNow() in a tab whose
// engine waits out a backoff delay, as an app's "retry now" would: with
// many failures in a row the delay grows to tens of seconds, which the
// JavaScript API does not let a page shorten.
func waitConvergedNudging(t *testing.T, srv *syncServer, timeout time.Duration, tabs ...*browsertest.Tab) (*serverDump, snapshot) {
	t.Helper()
	return converge(t, srv, timeout, true, tabs)
}

func converge(t *testing.T, srv *syncServer, timeout time.Duration, nudge bool, tabs []*browsertest.Tab) (*serverDump, snapshot) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		d := srv.Dump(t)
		want, _ := serverSnapshot(t, d)
		why := ""
		for _, tab := range tabs {
			st, err := browsertest.TryEval[syncStatus](t.Context(), tab, `db.syncStatus()`)
			if err != nil {
				t.Fatal(err)
			}
			if st.State != "synced" || st.Pending != 0 || st.Parked != 0 {
				why = fmt.Sprintf("%s: status %+v", tab.Name(), st)
				if nudge && st.State == "error" {
					// It waits for the round; one that fails again rejects
					// with Unavailable, and the loop looks again.
					if _, err := browsertest.TryEval[any](t.Context(), tab, `db.syncNow().catch((e) => { if (e.code !== "Unavailable") throw e; })`); err != nil {
						t.Fatal(err)
					}
				}
				break
			}
			got, err := tryPageSnapshot(t.Context(), tab)
			if err != nil {
				t.Fatal(err)
			}
			if dd := diff(got, want); dd != "" {
				why = fmt.Sprintf("%s differs from the server: %s", tab.Name(), dd)
				break
			}
		}
		if why == "" {
			return d, want
		}
		if time.Now().After(deadline) {
			t.Fatalf("not converged after %v: %s", timeout, why)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
