package browsertest_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atelierstore/atelier/browsertest"
)

// The shapes of the JavaScript API's results that these tests read.
type (
	workflow struct {
		ID      string `json:"id"`
		Name    string `json:"name"`
		Version int64  `json:"version"`
	}
	position struct{ X, Y float64 }
	node     struct {
		ID       string   `json:"id"`
		Title    string   `json:"title"`
		Position position `json:"position"`
		Version  int64    `json:"version"`
	}
	graph struct {
		Workflow workflow `json:"workflow"`
		Nodes    []node   `json:"nodes"`
	}
)

func findNode(t *testing.T, g graph, id string) node {
	t.Helper()
	for _, n := range g.Nodes {
		if n.ID == id {
			return n
		}
	}
	t.Fatalf("node %s is not in workflow %s (%d nodes)", id, g.Workflow.ID, len(g.Nodes))
	return node{}
}

// Two tabs of one profile share IndexedDB: what one writes the other reads
// after a reload, in both directions, and a write based on a stale version
// is refused.
func TestTwoTabsShareTheirProfile(t *testing.T) {
	b := browsertest.Start(t, nil)
	a, c := b.NewTab(t, "A"), b.NewTab(t, "B")
	a.Open(t, "shared")
	c.Open(t, "shared") // open before A writes anything

	created := browsertest.Eval[graph](t, a, `async () => {
		const workflow = await db.createWorkflow("Storyboard");
		const nodes = await db.setNodes(workflow.id, [
			{ type: "prompt", title: "Idea", position: { x: 0, y: 0 } },
			{ type: "image-gen", title: "Hero shot", position: { x: 300, y: 0 } },
		]);
		return { workflow, nodes };
	}`)
	wf, hero := created.Workflow, created.Nodes[1]

	c.Reload(t)
	list := browsertest.Eval[[]workflow](t, c, `db.listWorkflows()`)
	if len(list) != 1 || list[0].ID != wf.ID || list[0].Name != "Storyboard" {
		t.Fatalf("B lists %+v, want only %+v", list, wf)
	}
	if g := browsertest.Eval[graph](t, c, `(id) => db.loadWorkflow(id)`, wf.ID); len(g.Nodes) != 2 {
		t.Fatalf("B loads %d nodes, want 2", len(g.Nodes))
	}
	moved := browsertest.Eval[node](t, c, `(wf, id, v) => db.updateNode(wf, id,
		{ title: "Hero shot, wide", position: { x: 320, y: 40 } }, { ifVersion: v })`,
		wf.ID, hero.ID, hero.Version)

	a.Reload(t)
	got := findNode(t, browsertest.Eval[graph](t, a, `(id) => db.loadWorkflow(id)`, wf.ID), hero.ID)
	if got.Title != "Hero shot, wide" || got.Position != (position{320, 40}) || got.Version != moved.Version {
		t.Fatalf("A sees %+v, want B's update %+v", got, moved)
	}
	// A still holds the version it wrote; B has moved past it.
	_, err := browsertest.TryEval[node](t.Context(), a, `(wf, id, v) => db.updateNode(wf, id,
		{ title: "stale" }, { ifVersion: v })`, wf.ID, hero.ID, hero.Version)
	if browsertest.ErrorName(err) != "VersionConflict" {
		t.Fatalf("update with a stale version: got %v, want a VersionConflict", err)
	}
}

// A second profile, like another machine, sees nothing of the first one's
// data, and the first one sees nothing of what it writes.
func TestProfilesAreIsolated(t *testing.T) {
	b := browsertest.Start(t, nil)
	a := b.NewTab(t, "A")
	a.Open(t, "shared")
	browsertest.Eval[workflow](t, a, `db.createWorkflow("only on the first machine")`)

	other := b.NewProfile(t).NewTab(t, "other")
	other.Open(t, "shared")
	if list := browsertest.Eval[[]workflow](t, other, `db.listWorkflows()`); len(list) != 0 {
		t.Fatalf("a fresh profile lists %+v, want nothing", list)
	}
	browsertest.Eval[workflow](t, other, `db.createWorkflow("only on the second machine")`)

	a.Reload(t)
	list := browsertest.Eval[[]workflow](t, a, `db.listWorkflows()`)
	if len(list) != 1 || list[0].Name != "only on the first machine" {
		t.Fatalf("the first profile lists %+v, want only its own workflow", list)
	}
}

// Exceptions and rejections in the page come back as *JSError with the
// JavaScript name, code and message.
func TestErrorsKeepTheirName(t *testing.T) {
	b := browsertest.Start(t, nil)
	tab := b.NewTab(t, "A")
	tab.Open(t, "errors")

	const missing = "0190f5a4-8f3c-7cc1-9a57-3c1f6a6c2aff"
	_, err := browsertest.TryEval[graph](t.Context(), tab, `(id) => db.loadWorkflow(id)`, missing)
	var je *browsertest.JSError
	if !errors.As(err, &je) || je.Name != "NotFound" || je.Code != "NotFound" || je.Message == "" || je.Tab != "A" {
		t.Fatalf("loadWorkflow(missing): got %#v, want a JSError named NotFound", err)
	}
	if !strings.Contains(err.Error(), "NotFound") || !strings.HasPrefix(err.Error(), "A: ") {
		t.Errorf("error text %q should name the tab and the error", err)
	}

	for _, c := range []struct{ js, name string }{
		{`() => { throw new TypeError("bad") }`, "TypeError"},
		{`Promise.reject(new RangeError("far"))`, "RangeError"},
		{`undefinedGlobal.x`, "ReferenceError"},
		{`(`, "SyntaxError"},
		{`(() => { throw "a string" })()`, ""},
	} {
		_, err := browsertest.TryEval[any](t.Context(), tab, c.js)
		if err == nil || browsertest.ErrorName(err) != c.name || !errors.As(err, &je) {
			t.Errorf("%s: got %v (name %q), want a JSError named %q", c.js, err, browsertest.ErrorName(err), c.name)
		}
	}
	if _, err := browsertest.TryEval[any](t.Context(), tab, `1 + 1`, "an argument"); browsertest.ErrorName(err) != "TypeError" {
		t.Errorf("arguments for an expression that is not a function: got %v, want a TypeError", err)
	}
	if v := browsertest.Eval[any](t, tab, `undefined`); v != nil {
		t.Errorf("undefined decodes as %v, want nil", v)
	}
}

// bigNode writes one node whose config holds n bytes.
const bigNode = `async (wf, n) => {
	const [node] = await db.putNodes(wf, [{ type: "blob", title: "big", position: { x: 0, y: 0 },
		config: { data: "x".repeat(n) } }]);
	return node;
}`

// opfsWrite writes a file of n bytes to the origin private file system.
const opfsWrite = `async (n) => {
	const root = await navigator.storage.getDirectory();
	const file = await root.getFileHandle("blob-" + crypto.randomUUID(), { create: true });
	const w = await file.createWritable();
	await w.write(new Uint8Array(n));
	await w.close();
	return n;
}`

// A shrunken quota makes writes fail with QuotaExceeded, and writes work
// again once it is cleared.
func TestQuotaExceeded(t *testing.T) {
	b := browsertest.Start(t, nil)

	t.Run("IndexedDB", func(t *testing.T) {
		// A fresh profile: Chromium's IndexedDB caches the space it may
		// still use for up to 30 s, so the override must come before the
		// origin's first IndexedDB write (see Profile.OverrideQuota).
		p := b.NewProfile(t)
		p.OverrideQuota(t, b.Origin(), 1)
		tab := p.NewTab(t, "A")
		tab.Navigate(t, browsertest.AppPath)
		_, err := browsertest.TryEval[any](t.Context(), tab, `atelier.open({ name: "quota" })`)
		if browsertest.ErrorName(err) != "QuotaExceeded" {
			t.Fatalf("open under a 1-byte quota: got %v, want QuotaExceeded", err)
		}

		// Room for the schema (about 72 KiB on disk), not for a big node.
		p.OverrideQuota(t, b.Origin(), 256<<10)
		tab.Open(t, "quota")
		wf := browsertest.Eval[workflow](t, tab, `db.createWorkflow("quota")`)
		browsertest.Eval[node](t, tab, bigNode, wf.ID, 1000)
		_, err = browsertest.TryEval[node](t.Context(), tab, bigNode, wf.ID, 512<<10)
		var je *browsertest.JSError
		if !errors.As(err, &je) || je.Name != "QuotaExceeded" || je.Code != "QuotaExceeded" {
			t.Fatalf("a 512 KiB node under a 256 KiB quota: got %v, want QuotaExceeded", err)
		}

		p.ClearQuota(t, b.Origin())
		n := browsertest.Eval[node](t, tab, bigNode, wf.ID, 512<<10)
		if g := browsertest.Eval[graph](t, tab, `(id) => db.loadWorkflow(id)`, wf.ID); len(g.Nodes) != 2 || findNode(t, g, n.ID).ID == "" {
			t.Fatalf("after clearing the quota: %d nodes, want the small one and the big one", len(g.Nodes))
		}
	})

	t.Run("OPFS", func(t *testing.T) {
		// OPFS asks the quota manager on every write: the override bites at
		// once, also on an origin that wrote a moment ago.
		tab := b.NewTab(t, "opfs")
		tab.Navigate(t, browsertest.AppPath)
		browsertest.Eval[int](t, tab, opfsWrite, 1<<20)

		b.OverrideQuota(t, b.Origin(), 1)
		_, err := browsertest.TryEval[int](t.Context(), tab, opfsWrite, 1<<20)
		if browsertest.ErrorName(err) != "QuotaExceededError" {
			t.Fatalf("OPFS write under a 1-byte quota: got %v, want a QuotaExceededError", err)
		}
		b.ClearQuota(t, b.Origin())
		browsertest.Eval[int](t, tab, opfsWrite, 1<<20)
	})
}

// The example editor, driven with real input events: create a workflow, add
// two nodes, drag one, reload, and find everything where it was left.
func TestExampleEditorJourney(t *testing.T) {
	b := browsertest.Start(t, nil)
	tab := b.NewTab(t, "editor")
	tab.Navigate(t, browsertest.EditorPath)
	ready := `document.getElementById("status").textContent.startsWith("ready")`
	tab.WaitFor(t, ready, 20*time.Second)

	tab.Type(t, "#newName", "Journey")
	tab.Click(t, "#create button")
	tab.WaitFor(t, `!document.getElementById("toolbar").hidden`, 10*time.Second)
	for i := 1; i <= 2; i++ {
		tab.Click(t, "#addNode")
		tab.WaitFor(t, `(n) => document.querySelectorAll("#canvas .node").length === n`, 10*time.Second, i)
	}

	if first := browsertest.Eval[string](t, tab, `document.querySelector("#canvas .node .title").textContent`); first != "Step 1" {
		t.Fatalf("the first node is %q, want Step 1", first)
	}
	const step1 = `[...document.querySelectorAll("#canvas .node")].find((n) => n.textContent.includes("Step 1"))`
	start := browsertest.Eval[position](t, tab, `() => { const n = `+step1+`; return { x: n.offsetLeft, y: n.offsetTop }; }`)
	tab.Drag(t, "#canvas .node", 200, 150)
	tab.WaitFor(t, `document.getElementById("status").textContent.startsWith("moved")`, 10*time.Second)

	tab.Reload(t)
	tab.WaitFor(t, ready, 20*time.Second)
	if name := browsertest.Eval[string](t, tab, `document.querySelector("li.wf span").textContent`); name != "Journey" {
		t.Fatalf("the list shows %q, want Journey", name)
	}
	tab.Click(t, "li.wf")
	tab.WaitFor(t, `document.querySelectorAll("#canvas .node").length === 2`, 10*time.Second)
	got := browsertest.Eval[position](t, tab, `() => { const n = `+step1+`; return { x: n.offsetLeft, y: n.offsetTop }; }`)
	want := position{start.X + 200, start.Y + 150}
	if d := max(abs(got.X-want.X), abs(got.Y-want.Y)); d > 1 {
		t.Fatalf("after the reload Step 1 is at %+v, want %+v (it started at %+v)", got, want, start)
	}

	shot := filepath.Join(t.TempDir(), "editor.png")
	tab.Screenshot(t, shot)
	png, err := os.ReadFile(shot)
	if err != nil {
		t.Fatal(err)
	}
	if len(png) < 1000 || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("the screenshot is %d bytes and no PNG", len(png))
	}
}

func abs(f float64) float64 { return max(f, -f) }

// A tab closed in the middle of a burst of writes loses only writes it had
// not been told were stored: every acknowledged node is there afterwards.
func TestTabClosedMidBurst(t *testing.T) {
	b := browsertest.Start(t, nil)
	a := b.NewTab(t, "A")
	a.Open(t, "burst")
	wf := browsertest.Eval[workflow](t, a, `db.createWorkflow("burst")`)

	// One call per macrotask: calls made in one synchronous loop would land
	// in a single batch, acknowledged all at once, leaving no middle to
	// close the tab in. No call is awaited before the next one starts.
	browsertest.Eval[any](t, a, `(wf) => {
		window.acked = [];
		window.failed = 0;
		let i = 0;
		const next = () => {
			if (i === 200) return;
			db.putNodes(wf, [{ type: "step", title: "n" + i, position: { x: i, y: 0 } }])
				.then(([n]) => acked.push(n.id), () => failed++);
			i++;
			setTimeout(next, 0);
		};
		next();
	}`, wf.ID)
	a.WaitFor(t, `acked.length >= 50`, 20*time.Second)
	acked := browsertest.Eval[[]string](t, a, `acked`)
	a.Close()
	if len(acked) >= 200 {
		t.Fatalf("all %d writes were acknowledged before the close: the burst was too fast to close it midway", len(acked))
	}

	c := b.NewTab(t, "C")
	c.Open(t, "burst")
	g := browsertest.Eval[graph](t, c, `(id) => db.loadWorkflow(id)`, wf.ID)
	var ids []string
	for _, n := range g.Nodes {
		ids = append(ids, n.ID)
	}
	for _, id := range acked {
		if !slices.Contains(ids, id) {
			t.Errorf("acknowledged node %s is missing", id)
		}
	}
	t.Logf("closed after %d acknowledgements; %d nodes stored", len(acked), len(ids))
}

// The input helpers and the crash on a test page of the test's own.
func TestHarnessInputAndCrash(t *testing.T) {
	b := browsertest.Start(t, nil)
	b.AddFile(t, "/input.html", []byte(`<!doctype html>
<input id="name"> <input id="file" type="file" multiple>
<div id="drop" style="width:200px;height:100px;background:#eee">drop here</div>
<div id="knob" style="position:absolute;left:50px;top:300px;width:40px;height:40px;background:#36c"></div>
<script>
  window.events = [];
  file.onchange = () => events.push("change:" + [...file.files].map((f) => f.name + "/" + f.size).join(","));
  drop.ondragover = (e) => e.preventDefault();
  drop.ondrop = (e) => { e.preventDefault(); events.push("drop:" + [...e.dataTransfer.files].map((f) => f.name + "/" + f.size).join(",")); };
  knob.onpointerdown = (e) => { knob.setPointerCapture(e.pointerId); knob.start = [e.clientX, e.clientY, knob.offsetLeft, knob.offsetTop]; };
  knob.onpointermove = (e) => { if (!knob.start) return; const [x, y, l, t] = knob.start;
    knob.style.left = l + e.clientX - x + "px"; knob.style.top = t + e.clientY - y + "px"; };
  knob.onpointerup = () => { knob.start = null; events.push("dropped:" + knob.offsetLeft + "," + knob.offsetTop); };
  console.log("input page ready");
</script>`))
	dir := t.TempDir()
	f1, f2 := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.png")
	if err := os.WriteFile(f1, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f2, make([]byte, 1234), 0o644); err != nil {
		t.Fatal(err)
	}

	tab := b.NewTab(t, "input")
	tab.Navigate(t, "/input.html")
	tab.Type(t, "#name", "Ada Lovelace")
	if v := browsertest.Eval[string](t, tab, `document.getElementById("name").value`); v != "Ada Lovelace" {
		t.Errorf("typed %q", v)
	}
	tab.SetFiles(t, "#file", f1, f2)
	tab.DropFiles(t, "#drop", f2)
	tab.Drag(t, "#knob", 100, -50)
	want := []string{"change:a.txt/5,b.png/1234", "drop:b.png/1234", "dropped:150,250"}
	tab.WaitFor(t, `(n) => events.length >= n`, 5*time.Second, len(want))
	if got := browsertest.Eval[[]string](t, tab, `events`); !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}

	tab.Crash(t)
	if _, err := browsertest.TryEval[int](t.Context(), tab, `1`); !errors.Is(err, browsertest.ErrCrashed) {
		t.Errorf("evaluating in a crashed tab: got %v, want ErrCrashed", err)
	}
	tab.Reload(t)
	if v := browsertest.Eval[int](t, tab, `1 + 1`); v != 2 {
		t.Errorf("after the crash and a reload, 1 + 1 = %d", v)
	}
}
