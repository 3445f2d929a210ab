package browsertest_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/atelierstore/atelier/browsertest"
)

// These tests walk a person's journey through the example editor
// (examples/editor) with real input events, checking each step through the
// page's DOM and writing a screenshot of it to screenshots/<step>.png.

const (
	screenshotDir = "screenshots"
	testImage     = "testdata/landscape.png" // 640 x 480
	readyJS       = `globalThis.editorReady && globalThis.editorReady.then(() => true)`
	stepTimeout   = 10 * time.Second
)

// shown is a node as the editor draws it.
type shown struct {
	ID      string  `json:"id"`
	Title   string  `json:"title"`
	X       float64 `json:"x"`
	Y       float64 `json:"y"`
	W       float64 `json:"w"`
	H       float64 `json:"h"`
	Version int64   `json:"version"`
	Image   string  `json:"image"` // "", "thumbnail" or "original"
	Src     string  `json:"src"`   // the image's URL, data: or blob:
	NatW    int     `json:"natW"`
	NatH    int     `json:"natH"`
}

type shownEdge struct {
	ID     string `json:"id"`
	Source string `json:"source"`
	Target string `json:"target"`
}

const readNodes = `() => [...document.querySelectorAll("#canvas .node")].map((el) => {
	const img = el.querySelector("img.thumb");
	const on = !img.hidden && img.complete && img.naturalWidth > 0;
	return { id: el.dataset.id, title: el.querySelector(".title").textContent, x: el.offsetLeft, y: el.offsetTop,
		w: el.offsetWidth, h: el.offsetHeight, version: Number(el.dataset.version),
		image: on ? img.dataset.src : "", src: on ? img.src : "", natW: img.naturalWidth, natH: img.naturalHeight };
})`

const readEdges = `() => [...document.querySelectorAll("#edges g.edge")].map((g) => ({ id: g.dataset.id, source: g.dataset.source, target: g.dataset.target }))`

func nodesOf(t *testing.T, tab *browsertest.Tab) map[string]shown {
	t.Helper()
	out := map[string]shown{}
	for _, n := range browsertest.Eval[[]shown](t, tab, readNodes) {
		out[n.Title] = n
	}
	return out
}

func edgesOf(t *testing.T, tab *browsertest.Tab) []shownEdge {
	t.Helper()
	return browsertest.Eval[[]shownEdge](t, tab, readEdges)
}

func statusOf(t *testing.T, tab *browsertest.Tab) string {
	t.Helper()
	return browsertest.Eval[string](t, tab, `document.getElementById("status").textContent`)
}

// nodeSel selects the node with the given title.
func nodeSel(title string) string { return fmt.Sprintf(`#canvas .node[data-title=%q]`, title) }

func openEditor(t *testing.T, tab *browsertest.Tab) {
	t.Helper()
	tab.Navigate(t, browsertest.EditorPath)
	tab.WaitFor(t, readyJS, 30*time.Second)
}

func shot(t *testing.T, tab *browsertest.Tab, step string) {
	t.Helper()
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(screenshotDir, step+".png")
	tab.Screenshot(t, path)
	png, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(png) < 1000 || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("%s: the screenshot is %d bytes and no PNG", path, len(png))
	}
}

// centerOf returns the viewport coordinates of the center of the element
// that matches selector.
func centerOf(t *testing.T, tab *browsertest.Tab, selector string) (x, y float64) {
	t.Helper()
	p := browsertest.Eval[struct{ X, Y float64 }](t, tab, `(sel) => {
		const r = document.querySelector(sel).getBoundingClientRect();
		return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
	}`, selector)
	return p.X, p.Y
}

// sendMouse sends raw mouse events, for what Click and Drag do not do: a
// double click, a press held while another tab works.
func sendMouse(t *testing.T, tab *browsertest.Tab, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab.Context(), stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: mouse: %v", tab.Name(), err)
	}
}

func doubleClick(t *testing.T, tab *browsertest.Tab, selector string) {
	t.Helper()
	x, y := centerOf(t, tab, selector)
	left := chromedp.ButtonType(input.MouseButtonLeft)
	sendMouse(t, tab,
		chromedp.MouseEvent(chromedp.MouseMoved, x, y),
		chromedp.MouseEvent(chromedp.MousePressed, x, y, left, chromedp.ClickCount(1)),
		chromedp.MouseEvent(chromedp.MouseReleased, x, y, left, chromedp.ClickCount(1)),
		chromedp.MouseEvent(chromedp.MousePressed, x, y, left, chromedp.ClickCount(2)),
		chromedp.MouseEvent(chromedp.MouseReleased, x, y, left, chromedp.ClickCount(2)),
	)
}

// TestJourneyThroughTheEditor: one person's day with the example editor,
// in two tabs of their browser and then on another machine.
func TestJourneyThroughTheEditor(t *testing.T) {
	b := browsertest.Start(t, nil)
	downloads := t.TempDir()
	{
		ctx, cancel := context.WithTimeout(b.Context(), stepTimeout)
		_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads,
		})
		cancel()
		if err != nil {
			t.Fatalf("Browser.setDownloadBehavior: %v", err)
		}
	}
	a := b.NewTab(t, "A")
	openEditor(t, a)
	if got := statusOf(t, a); !strings.HasPrefix(got, "ready") {
		t.Fatalf("status after loading: %q", got)
	}
	if n := browsertest.Eval[int](t, a, `document.querySelectorAll("li.wf").length`); n != 0 {
		t.Fatalf("a fresh profile lists %d workflows", n)
	}

	// Storage: the backend in use, the usage, and the notice with its
	// button when storage is not persistent.
	type storageInfo struct {
		Backend, Usage, Persisted string
		Notice, NoOPFS            bool
	}
	const readStorage = `() => ({ backend: document.getElementById("backend").dataset.backend,
		usage: document.getElementById("usage").textContent, persisted: document.getElementById("persistChip").dataset.persisted,
		notice: !document.getElementById("noticePersist").hidden, noOPFS: !document.getElementById("noticeOPFS").hidden })`
	st := browsertest.Eval[storageInfo](t, a, readStorage)
	if st.Backend != "opfs" || st.NoOPFS || !strings.Contains(st.Usage, "used") {
		t.Errorf("storage shown: %+v; want OPFS in use, no OPFS notice and the usage", st)
	}
	if st.Notice != (st.Persisted == "false") {
		t.Errorf("storage shown: %+v; the persistence notice must show exactly when storage is not persistent", st)
	}
	shot(t, a, "01-ready")
	if st.Notice {
		a.Click(t, "#persist")
		a.WaitFor(t, `document.getElementById("status").textContent.includes("persistent")`, stepTimeout)
		t.Logf("asking for persistent storage: %s", statusOf(t, a))
	}

	// Create a workflow.
	a.Type(t, "#newName", "Moodboard")
	a.Click(t, "#create button")
	a.WaitFor(t, `!document.getElementById("toolbar").hidden && document.getElementById("wfName").value === "Moodboard"`, stepTimeout)
	wfID := browsertest.Eval[string](t, a, `document.body.dataset.workflow`)
	if got := browsertest.Eval[string](t, a, `document.querySelector("li.wf.active .name").textContent`); got != "Moodboard" {
		t.Fatalf("the active workflow in the list is %q", got)
	}
	shot(t, a, "02-created")

	// Add three nodes.
	for i := 1; i <= 3; i++ {
		a.Click(t, "#addNode")
		a.WaitFor(t, `(n) => document.querySelectorAll("#canvas .node").length === n`, stepTimeout, i)
	}
	nodes := nodesOf(t, a)
	for _, title := range []string{"Step 1", "Step 2", "Step 3"} {
		if _, ok := nodes[title]; !ok {
			t.Fatalf("no node %q among %v", title, nodes)
		}
	}
	shot(t, a, "03-nodes")

	// Move Step 3 by dragging it.
	before := nodes["Step 3"]
	a.Drag(t, nodeSel("Step 3"), 200, 230)
	a.WaitFor(t, `document.getElementById("status").textContent.startsWith("moved “Step 3”")`, stepTimeout)
	moved := nodesOf(t, a)["Step 3"]
	if moved.X != before.X+200 || moved.Y != before.Y+230 {
		t.Fatalf("Step 3 moved from (%v, %v) to (%v, %v), want (%v, %v)", before.X, before.Y, moved.X, moved.Y, before.X+200, before.Y+230)
	}
	if moved.Version != before.Version+1 {
		t.Errorf("Step 3 went from version %d to %d in one drag: want one write", before.Version, moved.Version)
	}
	shot(t, a, "04-moved")

	// Resize Step 2 by its corner.
	before = nodes["Step 2"]
	a.Drag(t, nodeSel("Step 2")+" .resize", 170, 200)
	a.WaitFor(t, `document.getElementById("status").textContent.startsWith("resized “Step 2”")`, stepTimeout)
	resized := nodesOf(t, a)["Step 2"]
	if resized.W != before.W+170 || resized.H != before.H+200 || resized.X != before.X || resized.Y != before.Y {
		t.Fatalf("Step 2 went from %vx%v at (%v, %v) to %vx%v at (%v, %v), want %vx%v in place",
			before.W, before.H, before.X, before.Y, resized.W, resized.H, resized.X, resized.Y, before.W+170, before.H+200)
	}
	shot(t, a, "05-resized")

	// Connect Step 1 to Step 2: drag Step 1's output dot onto Step 2.
	px, py := centerOf(t, a, nodeSel("Step 1")+" .port.out")
	tx, ty := centerOf(t, a, nodeSel("Step 2"))
	a.Drag(t, nodeSel("Step 1")+" .port.out", tx-px, ty-py)
	a.WaitFor(t, `document.querySelectorAll("#edges g.edge").length === 1`, stepTimeout)
	nodes = nodesOf(t, a)
	if e := edgesOf(t, a)[0]; e.Source != nodes["Step 1"].ID || e.Target != nodes["Step 2"].ID {
		t.Fatalf("edge %+v, want Step 1 (%s) -> Step 2 (%s)", e, nodes["Step 1"].ID, nodes["Step 2"].ID)
	}
	shot(t, a, "06-connected")

	// Drop an image on Step 3: a thumbnail small enough for the node record
	// is shown. On the large Step 2, the original is shown instead.
	a.DropFiles(t, nodeSel("Step 3"), testImage)
	a.WaitFor(t, `(sel) => document.querySelector(sel + " img.thumb")?.naturalWidth > 0`, stepTimeout, nodeSel("Step 3"))
	n3 := nodesOf(t, a)["Step 3"]
	if n3.Image != "thumbnail" || !strings.HasPrefix(n3.Src, "data:image/") || len(n3.Src) > 16<<10 {
		t.Fatalf("Step 3 shows %q from %.40q (%d bytes), want a data: URL thumbnail within 16 KiB", n3.Image, n3.Src, len(n3.Src))
	}
	if n3.NatW == 0 || max(n3.NatW, n3.NatH) > 256 || abs(float64(n3.NatW)/float64(n3.NatH)-4.0/3) > 0.02 {
		t.Errorf("the thumbnail is %dx%d: want at most 256 pixels wide, 4:3", n3.NatW, n3.NatH)
	}
	if !strings.Contains(statusOf(t, a), "stored landscape.png") {
		t.Errorf("status after the drop: %q", statusOf(t, a))
	}
	a.DropFiles(t, nodeSel("Step 2"), testImage)
	a.WaitFor(t, `(sel) => { const i = document.querySelector(sel + " img.thumb"); return i.dataset.src === "original" && i.naturalWidth === 640; }`, stepTimeout, nodeSel("Step 2"))
	n2 := nodesOf(t, a)["Step 2"]
	if !strings.HasPrefix(n2.Src, "blob:") {
		t.Errorf("Step 2 shows its original from %.40q, want an object URL", n2.Src)
	}
	shot(t, a, "07-images")

	// Double-click an image to see the original; closing lets its object
	// URL go.
	doubleClick(t, a, nodeSel("Step 3")+" .body")
	a.WaitFor(t, `document.getElementById("viewer").open && document.getElementById("viewerImg").naturalWidth === 640`, stepTimeout)
	shot(t, a, "08-original")
	viewed := browsertest.Eval[string](t, a, `document.getElementById("viewerImg").src`)
	a.Click(t, "#viewerClose")
	a.WaitFor(t, `!document.getElementById("viewer").open && !document.getElementById("viewerImg").hasAttribute("src")`, stepTimeout)
	if _, err := browsertest.TryEval[int](t.Context(), a, `async (u) => (await fetch(u)).status`, viewed); err == nil {
		t.Errorf("the viewer's object URL %s still works after closing", viewed)
	}

	// A file that is not an image: the error is shown by name, and the
	// node keeps what it had.
	broken := filepath.Join(t.TempDir(), "broken.png")
	if err := os.WriteFile(broken, []byte("this is not a PNG"), 0o644); err != nil {
		t.Fatal(err)
	}
	a.DropFiles(t, nodeSel("Step 3"), broken)
	a.WaitFor(t, `document.getElementById("status").dataset.kind === "error"`, stepTimeout)
	if got := statusOf(t, a); !strings.Contains(got, "broken.png failed — Invalid:") {
		t.Errorf("status after dropping a broken image: %q", got)
	}
	if got := nodesOf(t, a)["Step 3"]; got.Src != n3.Src || got.Version != n3.Version {
		t.Errorf("after a failed drop Step 3 is at version %d (was %d), its image changed: %v", got.Version, n3.Version, got.Src != n3.Src)
	}
	shot(t, a, "09-error")

	// Reload: everything is back, the workflow open again.
	want := nodesOf(t, a)
	wantEdges := edgesOf(t, a)
	a.Reload(t)
	a.WaitFor(t, readyJS, 30*time.Second)
	// Images load after the page is ready: wait until every node shows
	// what it showed before (or the time is up, and the diff is reported).
	same := func(got map[string]shown) bool {
		for title, w := range want {
			g := got[title]
			w.Src, g.Src = scheme(w.Src), scheme(g.Src)
			if g != w {
				return false
			}
		}
		return len(got) == len(want)
	}
	got := nodesOf(t, a)
	for deadline := time.Now().Add(stepTimeout); !same(got) && time.Now().Before(deadline); got = nodesOf(t, a) {
		time.Sleep(50 * time.Millisecond)
	}
	for title, w := range want {
		g := got[title]
		w.Src, g.Src = scheme(w.Src), scheme(g.Src) // object URLs differ per page
		if g != w {
			t.Errorf("after the reload %s is %+v, want %+v", title, g, w)
		}
	}
	if e := edgesOf(t, a); !slices.Equal(e, wantEdges) {
		t.Errorf("after the reload the edges are %+v, want %+v", e, wantEdges)
	}
	if got["Step 3"].Src != want["Step 3"].Src {
		t.Errorf("after the reload Step 3's thumbnail differs")
	}
	shot(t, a, "10-reloaded")

	// A second tab on the same page: it opens the workflow and follows
	// what the first tab does, and the other way round, without reloading.
	bt := b.NewTab(t, "B")
	openEditor(t, bt)
	bt.Click(t, fmt.Sprintf(`li.wf[data-id=%q]`, wfID))
	bt.WaitFor(t, `document.querySelectorAll("#canvas .node").length === 3 && document.querySelectorAll("#edges g.edge").length === 1`, stepTimeout)
	s1 := nodesOf(t, bt)["Step 1"]
	a.Drag(t, nodeSel("Step 1"), 0, 150)
	bt.WaitFor(t, `(sel, y) => document.querySelector(sel).offsetTop === y`, stepTimeout, nodeSel("Step 1"), s1.Y+150)
	shot(t, bt, "11-second-tab-follows")
	bt.Click(t, "#addNode")
	a.WaitFor(t, `document.querySelector('#canvas .node[data-title="Step 4"]') !== null`, stepTimeout)

	// In the second tab, connect Step 2 to Step 3 by selection: click one,
	// shift-click the other, press the button. The first tab shows it.
	bt.Click(t, nodeSel("Step 2"))
	x3, y3 := centerOf(t, bt, nodeSel("Step 3"))
	sendMouse(t, bt, chromedp.MouseEvent(chromedp.MouseMoved, x3, y3), chromedp.MouseClickXY(x3, y3, chromedp.ButtonModifiers(chromedp.ModifierShift)))
	bt.WaitFor(t, `document.querySelectorAll("#canvas .node.selected").length === 2 && !document.getElementById("connect").disabled`, stepTimeout)
	bt.Click(t, "#connect")
	a.WaitFor(t, `document.querySelectorAll("#edges g.edge").length === 2`, stepTimeout)
	nodes = nodesOf(t, a)
	var added shownEdge
	for _, e := range edgesOf(t, a) {
		if e.Source == nodes["Step 2"].ID && e.Target == nodes["Step 3"].ID {
			added = e
		}
	}
	if added.ID == "" {
		t.Fatalf("no edge Step 2 -> Step 3 in the first tab: %+v", edgesOf(t, a))
	}
	shot(t, a, "12-first-tab-follows")
	// Then click that connection and press Delete: gone in both tabs.
	ex, ey := edgeMiddle(t, bt, added.ID)
	sendMouse(t, bt, chromedp.MouseEvent(chromedp.MouseMoved, ex, ey), chromedp.MouseClickXY(ex, ey))
	bt.WaitFor(t, `(id) => document.querySelector('#edges g.edge[data-id="' + id + '"]')?.classList.contains("selected")`, stepTimeout, added.ID)
	sendMouse(t, bt, chromedp.KeyEvent(kb.Delete))
	a.WaitFor(t, `document.querySelectorAll("#edges g.edge").length === 1`, stepTimeout)
	bt.WaitFor(t, `document.querySelectorAll("#edges g.edge").length === 1`, stepTimeout)

	// Rename the workflow in the second tab; the first tab's list and name
	// field follow.
	bt.Type(t, "#wfName", "Moodboard, final\r")
	bt.WaitFor(t, `document.getElementById("status").textContent === "renamed to “Moodboard, final”"`, stepTimeout)
	a.WaitFor(t, `document.getElementById("wfName").value === "Moodboard, final" && document.querySelector("li.wf.active .name").textContent === "Moodboard, final"`, stepTimeout)

	// Rename a node by double-clicking its title, with HTML in the new
	// title: it is shown as text.
	const htmlTitle = `<b>bold</b> & <i>it</i>`
	doubleClick(t, a, nodeSel("Step 4")+" .title")
	a.WaitFor(t, `document.activeElement?.classList.contains("title-edit")`, stepTimeout)
	a.Type(t, ".title-edit", htmlTitle+"\r")
	bt.WaitFor(t, `(sel, t) => document.querySelector(sel + " .title")?.textContent === t`, stepTimeout, nodeSel(htmlTitle), htmlTitle)
	if n := browsertest.Eval[int](t, bt, `document.querySelectorAll("#canvas .node b, #canvas .node i").length`); n != 0 {
		t.Errorf("the node title became %d elements in the second tab", n)
	}
	shot(t, a, "13-node-renamed")

	// Delete a node: select it, press the button. Both tabs lose it.
	a.Click(t, nodeSel(htmlTitle))
	a.Click(t, "#deleteNode")
	a.WaitFor(t, `document.querySelectorAll("#canvas .node").length === 3`, stepTimeout)
	bt.WaitFor(t, `document.querySelectorAll("#canvas .node").length === 3`, stepTimeout)

	// Export: the download is <name>.genaiw.zip, with progress shown.
	a.Click(t, "#export")
	pkg := filepath.Join(downloads, "Moodboard, final.genaiw.zip")
	waitFile(t, pkg)
	type prog struct{ Op, State, Done, Total string }
	p := browsertest.Eval[prog](t, a, `() => ({ ...document.getElementById("progress").dataset })`)
	if p.Op != "export" || p.State != "done" || p.Total == "0" || p.Done != p.Total {
		t.Errorf("export progress %+v, want done with the asset bytes counted", p)
	}
	if got := statusOf(t, a); !strings.HasPrefix(got, "exported “Moodboard, final” as Moodboard, final.genaiw.zip") {
		t.Errorf("status after the export: %q", got)
	}
	shot(t, a, "14-exported")

	// Import it on another machine (a fresh profile) through the import
	// button: the same workflow, images included.
	c := b.NewProfile(t).NewTab(t, "C")
	openEditor(t, c)
	c.SetFiles(t, "#importFile", pkg)
	c.WaitFor(t, `document.querySelectorAll("#canvas .node").length === 3 && document.querySelectorAll("#canvas .node img.thumb[data-src=original]").length === 1 && document.querySelector("#canvas .node img.thumb[data-src=thumbnail]")?.naturalWidth > 0`, 20*time.Second)
	if got := browsertest.Eval[string](t, c, `document.getElementById("wfName").value + " | " + document.querySelector("li.wf.active .name").textContent`); got != "Moodboard, final | Moodboard, final" {
		t.Errorf("imported workflow shown as %q", got)
	}
	if got := statusOf(t, c); !strings.HasPrefix(got, "imported “Moodboard, final”: 3 nodes, 1 edge") {
		t.Errorf("status after the import: %q", got)
	}
	exported, imported := nodesOf(t, a), nodesOf(t, c)
	for title, w := range exported {
		g := imported[title]
		if g.X != w.X || g.Y != w.Y || g.W != w.W || g.H != w.H || g.Image != w.Image || g.NatW != w.NatW {
			t.Errorf("imported %s is %+v, exported %+v", title, g, w)
		}
	}
	if imported["Step 3"].Src != exported["Step 3"].Src {
		t.Errorf("the imported thumbnail differs from the exported one")
	}
	if e := edgesOf(t, c); len(e) != 1 || e[0].Source != imported["Step 1"].ID || e[0].Target != imported["Step 2"].ID {
		t.Errorf("imported edges %+v", e)
	}
	shot(t, c, "15-imported")

	// A package dropped on the page is imported too: here a second copy,
	// with new ids.
	c.DropFiles(t, "#canvas", pkg)
	// (The status of the first import starts the same way: wait for the
	// second one's.)
	c.WaitFor(t, `document.querySelectorAll("li.wf").length === 2 && document.getElementById("status").textContent.endsWith("(a copy, with new ids)")`, 20*time.Second)

	// Stored text that looks like HTML is shown as text.
	const evil = `<img src=x onerror=alert(1)>`
	browsertest.Eval[any](t, a, `() => { window.alerted = []; window.alert = (m) => window.alerted.push(String(m)); }`)
	a.Type(t, "#newName", evil)
	a.Click(t, "#create button")
	a.WaitFor(t, `(n) => document.getElementById("wfName").value === n`, stepTimeout, evil)
	bt.WaitFor(t, `(n) => [...document.querySelectorAll("li.wf .name")].some((e) => e.textContent === n)`, stepTimeout, evil)
	for _, tab := range []*browsertest.Tab{a, bt} {
		type xss struct {
			Imgs    int      `json:"imgs"`
			Names   []string `json:"names"`
			Alerted []string `json:"alerted"`
		}
		x := browsertest.Eval[xss](t, tab, `() => ({ imgs: document.querySelectorAll("aside img, header img, #toolbar img").length,
			names: [...document.querySelectorAll("li.wf .name")].map((e) => e.textContent), alerted: window.alerted || [] })`)
		if x.Imgs != 0 || !slices.Contains(x.Names, evil) || len(x.Alerted) != 0 {
			t.Errorf("%s: a workflow named %s: %+v", tab.Name(), evil, x)
		}
	}
	if got := browsertest.Eval[string](t, a, `document.title`); !strings.HasPrefix(got, evil) {
		t.Errorf("document title %q", got)
	}
	shot(t, a, "16-html-as-text")

	// Delete the workflow, confirming in the page's dialog. The second tab,
	// which has it open, closes it and says why.
	a.Click(t, fmt.Sprintf(`li.wf[data-id=%q]`, wfID))
	a.WaitFor(t, `(id) => document.body.dataset.workflow === id`, stepTimeout, wfID)
	a.Click(t, "#deleteWorkflow")
	a.WaitFor(t, `document.getElementById("confirmDialog").open`, stepTimeout)
	if got := browsertest.Eval[string](t, a, `document.getElementById("confirmText").textContent`); !strings.Contains(got, "“Moodboard, final” and its 3 nodes") {
		t.Errorf("the confirmation says %q", got)
	}
	shot(t, a, "17-confirm-delete")
	a.Click(t, "#confirmDelete")
	a.WaitFor(t, `(id) => !document.querySelector('li.wf[data-id="' + id + '"]') && document.body.dataset.workflow === ""`, stepTimeout, wfID)
	if got := statusOf(t, a); got != "deleted “Moodboard, final”" {
		t.Errorf("status after deleting: %q", got)
	}
	bt.WaitFor(t, `document.body.dataset.workflow === "" && document.getElementById("toolbar").hidden`, stepTimeout)
	if got := statusOf(t, bt); got != "“Moodboard, final” was deleted in another tab" {
		t.Errorf("second tab's status after the delete: %q", got)
	}
	shot(t, bt, "18-deleted-elsewhere")

	// A newer build of the app upgrades the schema in yet another tab: the
	// open tabs say so in a banner and stop saving.
	d := b.NewTab(t, "newer-build")
	d.Navigate(t, browsertest.AppPath)
	browsertest.Eval[int](t, d, `() => new Promise((ok, fail) => {
		const probe = indexedDB.open("atelier-example");
		probe.onsuccess = () => {
			const v = probe.result.version;
			probe.result.close();
			const r = indexedDB.open("atelier-example", v + 1);
			r.onupgradeneeded = () => r.result.createObjectStore("added-by-a-newer-build");
			r.onsuccess = () => { r.result.close(); ok(v + 1); };
			r.onerror = () => fail(r.error);
		};
		probe.onerror = () => fail(probe.error);
	})`)
	for _, tab := range []*browsertest.Tab{a, bt} {
		tab.WaitFor(t, `!document.getElementById("banner").hidden`, stepTimeout)
		if got := browsertest.Eval[string](t, tab, `document.getElementById("bannerText").textContent`); !strings.Contains(got, "upgraded the stored data in another tab") {
			t.Errorf("%s: banner %q", tab.Name(), got)
		}
	}
	shot(t, a, "19-upgrade-banner")
	a.Reload(t)
	a.WaitFor(t, `document.body.dataset.ready === "failed"`, 30*time.Second)
	if got := statusOf(t, a); !strings.HasPrefix(got, "could not start — SchemaTooNew:") {
		t.Errorf("status when the stored schema is newer than the page: %q", got)
	}
	shot(t, a, "20-schema-too-new")
}

// TestJourneyConflictingMove: while one tab drags a node, another tab
// moves the same node. The drag's write is refused (ifVersion), the first
// tab shows the stored position and says what happened.
func TestJourneyConflictingMove(t *testing.T) {
	b := browsertest.Start(t, nil)
	a, bt := b.NewTab(t, "A"), b.NewTab(t, "B")
	openEditor(t, a)
	a.Type(t, "#newName", "Shared")
	a.Click(t, "#create button")
	a.WaitFor(t, `!document.getElementById("toolbar").hidden`, stepTimeout)
	a.Click(t, "#addNode")
	a.WaitFor(t, `document.querySelectorAll("#canvas .node").length === 1`, stepTimeout)
	id := browsertest.Eval[string](t, a, `document.body.dataset.workflow`)
	openEditor(t, bt)
	bt.Click(t, fmt.Sprintf(`li.wf[data-id=%q]`, id))
	bt.WaitFor(t, `document.querySelectorAll("#canvas .node").length === 1`, stepTimeout)
	start := nodesOf(t, a)["Step 1"]

	// A grabs the node and moves it without letting go.
	x, y := centerOf(t, a, nodeSel("Step 1"))
	left := chromedp.ButtonType(input.MouseButtonLeft)
	held := func(typ input.DispatchMouseEventType, x, y float64) chromedp.Action[chromedp.Void] {
		return chromedp.MouseEvent(typ, x, y, left, func(p *input.DispatchMouseEventParams) { p.Buttons = 1; p.ClickCount = 1 })
	}
	sendMouse(t, a, chromedp.MouseEvent(chromedp.MouseMoved, x, y), held(chromedp.MousePressed, x, y))
	for i := 1; i <= 5; i++ {
		sendMouse(t, a, held(chromedp.MouseMoved, x+float64(i*20), y+float64(i*10)))
	}
	// Meanwhile B moves the same node; A hears of it while still dragging.
	bt.Drag(t, nodeSel("Step 1"), 300, 40)
	bt.WaitFor(t, `document.getElementById("status").textContent.startsWith("moved")`, stepTimeout)
	a.WaitFor(t, `(sel, v) => Number(document.querySelector(sel).dataset.version) === v`, stepTimeout, nodeSel("Step 1"), start.Version+1)
	if got := nodesOf(t, a)["Step 1"]; got.X != start.X+100 || got.Y != start.Y+50 {
		t.Errorf("while A drags, its node is at (%v, %v), want under the pointer at (%v, %v)", got.X, got.Y, start.X+100, start.Y+50)
	}
	sendMouse(t, a, chromedp.MouseEvent(chromedp.MouseReleased, x+100, y+50, left, chromedp.ClickCount(1)))

	a.WaitFor(t, `document.getElementById("status").textContent.includes("VersionConflict")`, stepTimeout)
	shot(t, a, "conflict-move-refused")
	if got := statusOf(t, a); !strings.HasPrefix(got, "move not saved — VersionConflict: “Step 1” was changed in another tab") {
		t.Errorf("status after the conflict: %q", got)
	}
	wantX, wantY := start.X+300, start.Y+40
	a.WaitFor(t, `(sel, x, y) => { const n = document.querySelector(sel); return n.offsetLeft === x && n.offsetTop === y; }`, stepTimeout, nodeSel("Step 1"), wantX, wantY)
	a.Reload(t)
	a.WaitFor(t, readyJS, 30*time.Second)
	if got := nodesOf(t, a)["Step 1"]; got.X != wantX || got.Y != wantY || got.Version != start.Version+1 {
		t.Errorf("stored: Step 1 at (%v, %v) version %d, want B's move (%v, %v) at version %d", got.X, got.Y, got.Version, wantX, wantY, start.Version+1)
	}
}

// edgeMiddle returns the viewport coordinates of the middle of an edge's
// line.
func edgeMiddle(t *testing.T, tab *browsertest.Tab, id string) (x, y float64) {
	t.Helper()
	p := browsertest.Eval[struct{ X, Y float64 }](t, tab, `(id) => {
		const path = document.querySelector('#edges g.edge[data-id="' + id + '"] path.line');
		const p = path.getPointAtLength(path.getTotalLength() / 2);
		const m = path.getScreenCTM();
		return { x: m.a * p.x + m.c * p.y + m.e, y: m.b * p.x + m.d * p.y + m.f };
	}`, id)
	return p.X, p.Y
}

func scheme(url string) string {
	s, _, _ := strings.Cut(url, ":")
	return s
}

// waitFile waits until the browser has finished writing a download.
func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		fi, err := os.Stat(path)
		if err == nil && fi.Size() > 0 {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(data, []byte("PK\x03\x04")) {
				t.Fatalf("%s is no zip file", path)
			}
			return
		}
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(filepath.Dir(path))
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Fatalf("no download %s after %v; the folder holds %v", filepath.Base(path), stepTimeout, names)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestJourneyPanAndZoom: dragging the background pans, the zoom buttons
// zoom, and the workflow opens where it was left after a reload.
func TestJourneyPanAndZoom(t *testing.T) {
	b := browsertest.Start(t, nil)
	a := b.NewTab(t, "A")
	openEditor(t, a)
	a.Type(t, "#newName", "Wide")
	a.Click(t, "#create button")
	a.WaitFor(t, `!document.getElementById("toolbar").hidden`, stepTimeout)
	a.Click(t, "#addNode")
	a.WaitFor(t, `document.querySelectorAll("#canvas .node").length === 1`, stepTimeout)
	before := nodesOf(t, a)["Step 1"]
	x0, y0 := centerOf(t, a, nodeSel("Step 1"))

	a.Drag(t, "#canvas", 100, 50)
	x1, y1 := centerOf(t, a, nodeSel("Step 1"))
	if x1-x0 != 100 || y1-y0 != 50 {
		t.Errorf("panning by (100, 50) moved the node on screen by (%v, %v)", x1-x0, y1-y0)
	}
	a.Click(t, "#zoomIn")
	a.WaitFor(t, `document.getElementById("zoomReset").textContent === "125%"`, stepTimeout)
	shot(t, a, "pan-zoom")
	a.WaitFor(t, `JSON.parse(document.getElementById("zoom").dataset.saved || "{}").zoom === 1.25`, stepTimeout)
	rect := browsertest.Eval[[]float64](t, a, `(sel) => { const r = document.querySelector(sel).getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; }`, nodeSel("Step 1"))

	a.Reload(t)
	a.WaitFor(t, readyJS, 30*time.Second)
	if got := browsertest.Eval[string](t, a, `document.getElementById("zoomReset").textContent`); got != "125%" {
		t.Errorf("after the reload the zoom is %s", got)
	}
	got := browsertest.Eval[[]float64](t, a, `(sel) => { const r = document.querySelector(sel).getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; }`, nodeSel("Step 1"))
	if len(got) != 4 || max(abs(got[0]-rect[0]), abs(got[1]-rect[1]), abs(got[2]-rect[2]), abs(got[3]-rect[3])) > 0.5 {
		t.Errorf("after the reload the node is drawn at %v, before at %v", got, rect)
	}
	if n := nodesOf(t, a)["Step 1"]; n.X != before.X || n.Y != before.Y || n.Version != before.Version {
		t.Errorf("panning and zooming changed the node: %+v, was %+v", n, before)
	}
}

// cspWatch records, in every document the tab loads, the requests and
// scripts the page's Content-Security-Policy refused. It runs before the
// page's own scripts (Page.addScriptToEvaluateOnNewDocument), so it sees
// what the loader refuses as well.
const cspWatch = `globalThis.cspRefused = [];
document.addEventListener("securitypolicyviolation", (e) => globalThis.cspRefused.push(
	e.effectiveDirective + " refused " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" + e.lineNumber));`

// TestExampleEditorUnderStrictCSP: the editor is served with
// browsertest.EditorCSP, as make run serves it. The policy is in force
// (eval is refused), and the editor starts, stores an image, exports and
// imports without the policy refusing anything.
func TestExampleEditorUnderStrictCSP(t *testing.T) {
	b := browsertest.Start(t, nil)
	downloads := t.TempDir()
	a := b.NewTab(t, "A")
	ctx, cancel := context.WithTimeout(a.Context(), stepTimeout)
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		_, err := cdp.Call(ctx, tgt, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspWatch})
		return err
	}))
	cancel()
	if err != nil {
		t.Fatalf("Page.addScriptToEvaluateOnNewDocument: %v", err)
	}
	ctx, cancel = context.WithTimeout(b.Context(), stepTimeout)
	_, err = chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads,
	})
	cancel()
	if err != nil {
		t.Fatalf("Browser.setDownloadBehavior: %v", err)
	}
	openEditor(t, a)

	refused := func() []string { return browsertest.Eval[[]string](t, a, `globalThis.cspRefused.splice(0)`) }
	if r := refused(); len(r) != 0 {
		t.Errorf("loading the editor, the policy refused %d things:\n%s", len(r), strings.Join(r, "\n"))
	}
	type policy struct {
		Header, Eval string
		Inline       int
	}
	got := browsertest.Eval[policy](t, a, `async () => {
		const header = (await fetch(location.href)).headers.get("content-security-policy");
		let ev = "ran";
		try { eval("1"); } catch (e) { ev = e.name; }
		return { header, eval: ev, inline: document.querySelectorAll("script:not([src])").length };
	}`)
	if got.Header != browsertest.EditorCSP || got.Eval != "EvalError" || got.Inline != 0 {
		t.Fatalf("the editor's page: %+v; want the header %q, eval refused with an EvalError and no inline script", got, browsertest.EditorCSP)
	}
	if r := refused(); len(r) != 1 || !strings.Contains(r[0], "refused eval") {
		t.Errorf("after an eval, the page saw these refusals: %q; want the eval's", r)
	}

	a.Type(t, "#newName", "Strict")
	a.Click(t, "#create button")
	a.WaitFor(t, `!document.getElementById("toolbar").hidden`, stepTimeout)
	a.Click(t, "#addNode")
	a.WaitFor(t, `document.querySelectorAll("#canvas .node").length === 1`, stepTimeout)
	a.DropFiles(t, nodeSel("Step 1"), testImage)
	a.WaitFor(t, `document.getElementById("status").textContent.startsWith("stored landscape.png")`, stepTimeout)
	a.Click(t, "#export")
	pkg := filepath.Join(downloads, "Strict.genaiw.zip")
	waitFile(t, pkg)
	a.SetFiles(t, "#importFile", pkg)
	a.WaitFor(t, `document.getElementById("status").textContent.startsWith("imported “Strict”")`, stepTimeout)

	if r := refused(); len(r) != 0 {
		t.Errorf("using the editor, the policy refused %d things:\n%s", len(r), strings.Join(r, "\n"))
	}
}
