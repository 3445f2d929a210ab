package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/atelierstore/atelier/browsertest"
)

// J7: how long a change made by server code takes to show in an open tab.
// The driver runs the reference sync server (server/cmd/atelier-sync, on
// SQLite) and opens bench/js.html, which opens a database with sync through
// the JavaScript API (worker mode, the default) and watches a workflow of
// one node. Then, Writes times, the driver patches the node's status as
// server code does (PATCH of the node route, Workspace.UpdateNode) and the
// page notes when its watch callback first sees the new status: the time
// from just before the PATCH is sent until then, on the one clock of this
// machine. Once with live push (the tab's engine listens on the watch
// route), once with polling only (live: false) every PollMS.

// liveWrites is how many server writes J7 times per mode; livePollMS the
// pull interval of its polling mode.
const (
	liveWrites = 50
	livePollMS = 1000
)

// syncServerProc is a running atelier-sync.
type syncServerProc struct {
	url, ws, token string
	cmd            *exec.Cmd
	dir            string
}

// startSyncServer builds and starts atelier-sync on a free loopback port
// with a fresh SQLite database, for workspace "bench".
func (h *harness) startSyncServer() *syncServerProc {
	dir, err := os.MkdirTemp("", "atelier-bench-sync")
	h.jFatal("J7", err)
	exe := filepath.Join(dir, "atelier-sync")
	build := exec.Command("go", "build", "-o", exe, "./cmd/atelier-sync")
	build.Dir = filepath.Join(h.root, "server")
	if out, err := build.CombinedOutput(); err != nil {
		h.r.Fatalf("J7: building the sync server: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	h.jFatal("J7", err)
	addr := ln.Addr().String()
	ln.Close()
	s := &syncServerProc{url: "http://" + addr, ws: "bench", token: "bench-token", dir: dir}
	s.cmd = exec.Command(exe, "-addr", addr, "-data", filepath.Join(dir, "data"), "-token", s.token+"="+s.ws, "-origins", "*")
	h.jFatal("J7: starting the sync server", s.cmd.Start())
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(s.url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			h.r.Fatalf("J7: the sync server does not answer on %s", addr)
		}
	}
}

func (s *syncServerProc) stop() {
	if s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
	os.RemoveAll(s.dir)
}

// patchStatus sets a node's status on the server as server code does.
func (s *syncServerProc) patchStatus(id, status string) error {
	req, _ := http.NewRequest("PATCH", s.url+"/v1/workspaces/"+s.ws+"/nodes/"+id, bytes.NewReader([]byte(`{"status":"`+status+`"}`)))
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PATCH node: %s", resp.Status)
	}
	return nil
}

// j7Open opens a database with sync in a fresh js.html and a workflow of
// one node watched into globalThis.j7seen (status: first seen, ms since
// the epoch); it returns the node's id once the page is synced (and, with
// live, listening).
const j7Open = `async (name, url, workspace, token, live, pullIntervalMs) => {
	const { load } = await import("/wasm/atelier.mjs");
	const atelier = await load();
	const db = await atelier.open({ name, sync: { url, workspace, token, live, pullIntervalMs } });
	globalThis.j7db = db;
	const w = await db.createWorkflow("J7");
	const [n] = await db.setNodes(w.id, [{ type: "job", title: "watched", position: { x: 0, y: 0 } }]);
	globalThis.j7seen = {};
	db.watchWorkflow(w.id, (g) => {
		const s = g.nodes[0] && g.nodes[0].status;
		if (s && !(s in j7seen)) j7seen[s] = Date.now();
	});
	const t0 = Date.now();
	for (;;) {
		const st = await db.syncStatus();
		if (st.state === "synced" && st.pending === 0 && (!live || st.live)) break;
		if (Date.now() - t0 > 20000) throw new Error("not synced within 20 s: " + JSON.stringify(st));
		await new Promise((r) => setTimeout(r, 20));
	}
	return n.id;
}`

// j7Seen waits until the page has seen status and returns when it did.
const j7Seen = `async (status) => {
	const t0 = Date.now();
	while (!(status in j7seen)) {
		if (Date.now() - t0 > 10000) throw new Error("status " + status + " not seen within 10 s");
		await new Promise((r) => setTimeout(r, 2));
	}
	return j7seen[status];
}`

// j7Lags times liveWrites server writes in a fresh page; live chooses the
// mode. The lags are in ms.
func (h *harness) j7Lags(srv *syncServerProc, live bool) []float64 {
	tab := h.b.NewTab(h.r, "J7")
	defer tab.Close()
	tab.Navigate(h.r, "/bench/js.html")
	name := fmt.Sprintf("j7-%v-%d", live, time.Now().UnixNano())
	pull := 600_000
	if !live {
		pull = livePollMS
	}
	id := browsertest.Eval[string](h.r, tab, j7Open, name, srv.url, srv.ws, srv.token, live, pull)
	lags := make([]float64, 0, liveWrites)
	for i := range liveWrites {
		status := fmt.Sprintf("s%d", i)
		at := time.Now().UnixMilli()
		h.jFatal("J7", srv.patchStatus(id, status))
		seen := browsertest.Eval[int64](h.r, tab, j7Seen, status)
		lags = append(lags, float64(seen-at))
		// The next write at a random moment of a poll interval: a write
		// right after the page saw the last one would come just after a
		// poll, always.
		time.Sleep(time.Duration(20+rand.IntN(livePollMS)) * time.Millisecond)
	}
	return lags
}

func (h *harness) j7() []Row {
	if h.tab != nil {
		h.tab.Close()
		h.tab = nil
	}
	srv := h.startSyncServer()
	defer srv.stop()
	live := h.j7Lags(srv, true)
	poll := h.j7Lags(srv, false)
	return j7Rows(live, poll)
}

func j7Rows(live, poll []float64) []Row {
	const scen = "server write → visible in an open tab"
	pollName := fmt.Sprintf("polling every %d s", livePollMS/1000)
	note := fmt.Sprintf("%d writes per mode (PATCH of the node route, as server code writes), one page each; from just before the PATCH until the page's watch callback sees it", len(live))
	fig := func(name string, xs []float64, stat func([]float64) float64) Figure {
		v := stat(xs)
		return Figure{Name: name, Median: v, Unit: "ms", Runs: []float64{v}}
	}
	return []Row{
		newRow("J7", scen+" (p50)", fig("live push p50", live, p50), fig(pollName+" p50", poll, p50), Target{}, note),
		newRow("J7", scen+" (p95)", fig("live push p95", live, p95), fig(pollName+" p95", poll, p95), absAtMost(200, "ms"), note),
		newRow("J7", scen+" (slowest)", fig("live push", live, longest), fig(pollName, poll, longest), absAtMost(1000, "ms"), note),
	}
}
