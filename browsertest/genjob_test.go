package browsertest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os/exec"
	"testing"
	"time"

	"github.com/atelierstore/atelier/browsertest"
)

// The story the server is the source of truth for: in the editor a person
// queues a node for generation; server code (examples/generation-job)
// reads its prompt, stores a picture as an asset and sets the node's
// result; both open editor tabs show it without a reload, and the
// original, fetched by hash, has the bytes the server holds.
func TestGenerationJobResultReachesOpenEditors(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) { testGenerationJob(t, backend) })
	}
}

func testGenerationJob(t *testing.T, backend string) {
	f := newSyncFixtureOn(t, 12, backend)
	p := f.b.NewProfile(t)
	a, b := p.NewTab(t, "A"), p.NewTab(t, "B")
	o := f.opts(600_000)
	editor := browsertest.EditorPath + "?" + url.Values{"sync": {o.URL}, "workspace": {o.Workspace}, "token": {o.Token}}.Encode()
	for _, tab := range []*browsertest.Tab{a, b} {
		tab.Navigate(t, editor)
		tab.WaitFor(t, readyJS, 30*time.Second)
	}
	a.Type(t, "#newName", "Generated")
	a.Click(t, "#create button")
	a.WaitFor(t, `!document.getElementById("toolbar").hidden`, stepTimeout)
	a.Click(t, "#addNode")
	a.WaitFor(t, `document.querySelectorAll("#canvas .node.selected").length === 1`, stepTimeout)
	a.Click(t, "#queue")
	a.WaitFor(t, `document.querySelector("#canvas .node").dataset.status === "queued" && document.querySelector("#syncChip").dataset.sync === "synced"`, 20*time.Second)
	nodeID := browsertest.Eval[string](t, a, `document.querySelector("#canvas .node").dataset.id`)
	// Tab B opens the workflow too.
	b.WaitFor(t, `document.querySelectorAll("li.wf").length === 1`, 20*time.Second)
	b.Click(t, "li.wf")
	b.WaitFor(t, `document.querySelector("#canvas .node")?.dataset.status === "queued"`, 20*time.Second)

	root, err := checkoutRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "run", "./examples/generation-job", "-once",
		"-server", f.srv.URL(), "-workspace", f.srv.ws, "-token", f.srv.token)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generation-job: %v\n%s", err, out)
	}
	ran := time.Now()

	// What the server holds, read as server code would.
	req, _ := http.NewRequest("GET", f.srv.URL()+"/v1/workspaces/"+f.srv.ws+"/nodes/"+nodeID, nil)
	req.Header.Set("Authorization", "Bearer "+f.srv.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var held struct {
		Status string `json:"status"`
		Result struct {
			Asset struct {
				Hash string `json:"hash"`
			} `json:"asset"`
		} `json:"result"`
	}
	json.NewDecoder(resp.Body).Decode(&held)
	resp.Body.Close()
	if held.Status != "done" || held.Result.Asset.Hash == "" {
		t.Fatalf("the server holds %+v after the job", held)
	}
	const digest = `async (hash) => {
		const d = new Uint8Array(await crypto.subtle.digest("SHA-256", await (await fetch(document.getElementById("viewerImg").src)).arrayBuffer()));
		return "sha256-" + btoa(String.fromCharCode(...d)) === hash;
	}`
	for _, tab := range []*browsertest.Tab{a, b} {
		tab.WaitFor(t, `(() => { const n = document.querySelector("#canvas .node");
			return n.dataset.status === "done" && n.querySelector("img.thumb").naturalWidth > 0; })()`, 20*time.Second)
		t.Logf("%s shows the result %v after the job ended", tab.Name(), time.Since(ran).Round(time.Millisecond))
		doubleClick(t, tab, "#canvas .node .body")
		tab.WaitFor(t, `document.getElementById("viewer").open && document.getElementById("viewerImg").naturalWidth === 512`, 20*time.Second)
		if !browsertest.Eval[bool](t, tab, digest, held.Result.Asset.Hash) {
			t.Fatalf("%s: the original's bytes do not match %s", tab.Name(), held.Result.Asset.Hash)
		}
		tab.Click(t, "#viewerClose")
	}
	shot(t, b, "22-generated")
}
