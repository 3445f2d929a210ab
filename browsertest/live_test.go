package browsertest_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/atelierstore/atelier/browsertest"
)

// newID returns a random canonical UUID.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// pushNode creates a node in workflow wf straight on the server, as
// another client would, and returns when the server has acknowledged it.
func pushNode(t *testing.T, srv *syncServer, wf, id, title string) {
	t.Helper()
	now := time.Now().UnixMilli()
	data, _ := json.Marshal(map[string]any{"id": id, "workflowId": wf, "type": "text", "title": title,
		"position": map[string]float64{"x": 10, "y": 20}, "updatedAt": now, "version": 1})
	body, _ := json.Marshal(map[string]any{"ops": []map[string]any{{"id": newID(), "entity": "node", "entityId": id,
		"workflowId": wf, "kind": "create", "data": json.RawMessage(data), "baseVersion": 0, "version": 1,
		"updatedAt": now, "tab": "test", "time": now}}})
	req, _ := http.NewRequest("POST", srv.URL()+"/v1/workspaces/"+srv.ws+"/push", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+srv.token)
	req.Header.Set("Atelier-Sync", "2")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Acks []struct{ Status string } `json:"acks"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 || len(out.Acks) != 1 || out.Acks[0].Status != "applied" {
		t.Fatalf("push: %d %v %+v", resp.StatusCode, err, out)
	}
}

// Changes another client or server code makes reach the open tabs of a
// profile within moments, not at their next poll (ten minutes here): the
// leader listens for the server's announcements and pulls each, and the
// other tab gets the change over BroadcastChannel. The lags are logged.
func TestSyncLiveChangesArriveWithoutPolling(t *testing.T) {
	f := newSyncFixture(t, 11)
	p := f.b.NewProfile(t)
	a, b := p.NewTab(t, "A"), p.NewTab(t, "B")
	openSynced(t, a, "atelier", f.opts(600_000))
	openSynced(t, b, "atelier", f.opts(600_000))
	wf := browsertest.Eval[string](t, a, `async () => (await db.createWorkflow("Live")).id`)
	waitConverged(t, f.srv, 30*time.Second, a, b)
	const watch = `async (wf) => {
		globalThis.seen = {};
		db.watchWorkflow(wf, (g) => { for (const n of g.nodes) if (!(n.id in seen)) seen[n.id] = Date.now(); });
		const t0 = Date.now();
		while (!(await db.syncStatus())?.live) {
			if (Date.now() - t0 > 10000) throw new Error("sync status never live: " + JSON.stringify(await db.syncStatus()));
			await new Promise((r) => setTimeout(r, 20));
		}
	}`
	browsertest.Eval[any](t, a, watch, wf)
	browsertest.Eval[any](t, b, watch, wf)
	const seenAt = `async (id) => {
		const t0 = Date.now();
		while (!(id in seen)) {
			if (Date.now() - t0 > 10000) throw new Error("node " + id + " not seen within 10 s");
			await new Promise((r) => setTimeout(r, 2));
		}
		return seen[id];
	}`
	var lagA, lagB []int64
	for i := range 10 {
		id := newID()
		at := time.Now().UnixMilli()
		pushNode(t, f.srv, wf, id, fmt.Sprintf("pushed %d", i))
		lagA = append(lagA, browsertest.Eval[int64](t, a, seenAt, id)-at)
		lagB = append(lagB, browsertest.Eval[int64](t, b, seenAt, id)-at)
		time.Sleep(50 * time.Millisecond)
	}
	slices.Sort(lagA)
	slices.Sort(lagB)
	t.Logf("push → visible, ms: tab A %v, tab B %v", lagA, lagB)

	// Server code's write (the HTTP route of Workspace.UpdateNode) reaches
	// both tabs the same way.
	id := newID()
	pushNode(t, f.srv, wf, id, "queued")
	browsertest.Eval[int64](t, a, seenAt, id)
	const statusAt = `async ([wf, id, want]) => {
		const t0 = Date.now();
		for (;;) {
			const g = await db.loadWorkflow(wf);
			if (g.nodes.find((n) => n.id === id)?.status === want) return Date.now();
			if (Date.now() - t0 > 10000) throw new Error("status " + want + " not seen within 10 s");
			await new Promise((r) => setTimeout(r, 5));
		}
	}`
	at := time.Now().UnixMilli()
	req, _ := http.NewRequest("PATCH", f.srv.URL()+"/v1/workspaces/"+f.srv.ws+"/nodes/"+id,
		bytes.NewReader([]byte(`{"status":"done","result":{"text":"generated on the server"}}`)))
	req.Header.Set("Authorization", "Bearer "+f.srv.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("PATCH node: %v %v", resp, err)
	}
	resp.Body.Close()
	for _, tab := range []*browsertest.Tab{a, b} {
		seen := browsertest.Eval[int64](t, tab, statusAt, []string{wf, id, "done"})
		t.Logf("server write → visible in %s: %d ms", tab.Name(), seen-at)
	}
	if got := browsertest.Eval[string](t, b, `async ([wf, id]) => (await db.loadWorkflow(wf)).nodes.find((n) => n.id === id).result?.text`, []string{wf, id}); got != "generated on the server" {
		t.Fatalf("tab B holds result %q", got)
	}
	// Polling would take ten minutes; allow the noisy machine a lot.
	if lagA[len(lagA)-1] > 5000 || lagB[len(lagB)-1] > 5000 {
		t.Fatalf("a change took %d / %d ms to show; live announcements do not work", lagA[len(lagA)-1], lagB[len(lagB)-1])
	}
}
