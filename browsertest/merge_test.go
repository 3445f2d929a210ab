package browsertest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/atelierstore/atelier/browsertest"
)

// patchNode patches a node on the server as server code does, through the
// HTTP route of Workspace.UpdateNode.
func patchNode(t *testing.T, srv *syncServer, id string, patch map[string]any) {
	body, _ := json.Marshal(patch)
	req, _ := http.NewRequest("PATCH", srv.URL()+"/v1/workspaces/"+srv.ws+"/nodes/"+id, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+srv.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("PATCH node %s: %s", id, resp.Status)
	}
}

// A tab moves nodes while server code sets their prompt (config.prompt),
// the tab first, the server first, both at once, and with the tab offline:
// every time both edits are kept, on the server, in the tab and in a
// second profile, and nobody is told of a conflict.
func TestSyncMergesTabAndServerEdits(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) { testMergesTabAndServerEdits(t, backend) })
	}
}

func testMergesTabAndServerEdits(t *testing.T, backend string) {
	f := newSyncFixtureOn(t, 12, backend)
	a := f.b.NewProfile(t).NewTab(t, "A")
	c := f.b.NewProfile(t).NewTab(t, "B")
	openSynced(t, a, "atelier", f.opts(600_000)) // changes arrive by live push only
	openSynced(t, c, "atelier", f.opts(600_000))
	g := browsertest.Eval[fullGraph](t, a, `async () => {
		const w = await db.createWorkflow("Merge");
		await db.setNodes(w.id, [1, 2, 3, 4].map((i) => ({
			type: "prompt", title: "n" + i, position: { x: 0, y: 0 }, config: { prompt: "draft " + i, seed: i },
		})));
		return db.loadWorkflow(w.id);
	}`)
	wf := g.Workflow.ID
	ids := map[string]string{}
	for _, n := range g.Nodes {
		ids[n.Title] = n.ID
	}
	waitConverged(t, f.srv, 20*time.Second, a, c)
	move := func(title string, x float64) {
		browsertest.Eval[any](t, a, `(wf, id, x) => db.updateNode(wf, id, { position: { x, y: 7 } })`, wf, ids[title], x)
	}
	prompt := func(title string, p string, seed int) {
		patchNode(t, f.srv, ids[title], map[string]any{"config": map[string]any{"prompt": p, "seed": seed}})
	}

	move("n1", 101) // the tab first
	prompt("n1", "server 1", 1)
	prompt("n2", "server 2", 2) // the server first
	move("n2", 102)
	var wg sync.WaitGroup // at once
	wg.Add(1)
	go func() { defer wg.Done(); prompt("n3", "server 3", 3) }()
	move("n3", 103)
	wg.Wait()
	// The tab offline: its move waits in the outbox while the server's
	// prompt lands.
	setOffline(t, a, true)
	a.WaitFor(t, `async () => (await db.syncStatus()).state === "offline"`, 5*time.Second)
	move("n4", 104)
	prompt("n4", "server 4", 4)
	setOffline(t, a, false)

	_, final := waitConverged(t, f.srv, 20*time.Second, a, c)
	var nodes []any
	for _, g := range final {
		if g["workflow"].(map[string]any)["id"] == wf {
			nodes = g["nodes"].([]any)
		}
	}
	if len(nodes) != 4 {
		t.Fatalf("%d nodes", len(nodes))
	}
	want := map[string]float64{"n1": 101, "n2": 102, "n3": 103, "n4": 104}
	for _, n := range nodes {
		m := n.(map[string]any)
		title := m["title"].(string)
		x := m["position"].(map[string]any)["x"]
		cfg, _ := m["config"].(map[string]any)
		if x != want[title] || cfg["prompt"] != "server "+title[1:] {
			t.Errorf("%s: position x %v, config %v; want the tab's move (x %v) and the server's prompt", title, x, cfg, want[title])
		}
	}
	for _, tab := range []*browsertest.Tab{a, c} {
		if cs := conflictsOf(t, tab); len(cs) != 0 {
			t.Errorf("%s was told of conflicts: %+v", tab.Name(), cs)
		}
	}
}
