package browsertest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/atelierstore/atelier/browsertest"
)

// The editor journey in every browser: what TestJourneyThroughTheEditor
// does in Chromium with real mouse events and downloads, done here with
// DOM events (clicks, a drop of a File, a file input's change), which
// every driver can send: create a workflow, add nodes, drop images, reload,
// follow the change in a second window, export, delete, import the
// package back.

// journeyPage is a page of any browser.
type journeyPage interface {
	apiPage
	Reload(tb testing.TB)
}

// dom actions, evaluated in the page.
const (
	clickJS = `(sel) => { document.querySelector(sel).click(); }`
	fillJS  = `(sel, text) => { const el = document.querySelector(sel); el.value = text;
		el.dispatchEvent(new Event("input", { bubbles: true })); }`
	// dropJS drops the file at url, named name, on the element sel.
	dropJS = `async (sel, url, name, type) => {
		const b = await (await fetch(url)).blob();
		const dt = new DataTransfer();
		dt.items.add(new File([b], name, { type }));
		const el = document.querySelector(sel);
		const r = el.getBoundingClientRect();
		el.dispatchEvent(new DragEvent("drop", { bubbles: true, cancelable: true, dataTransfer: dt,
			clientX: r.left + r.width / 2, clientY: r.top + r.height / 2 }));
	}`
	countNodes = `(n) => document.querySelectorAll("#canvas .node").length === n`
)

func TestEditorJourneyInEveryBrowser(t *testing.T) {
	t.Run("chromium", func(t *testing.T) {
		b := browsertest.Start(t, nil)
		editorJourney(t, "Chromium", func(name string) journeyPage { return b.NewTab(t, name) })
	})
	for _, kind := range browsertest.RemoteKinds {
		t.Run(kind, func(t *testing.T) {
			r := browsertest.StartRemote(t, kind, nil)
			editorJourney(t, r.Name(), func(name string) journeyPage { return r.NewPage(t, name) })
		})
	}
}

func editorJourney(t *testing.T, browser string, open func(name string) journeyPage) {
	ready := func(p journeyPage) {
		p.Navigate(t, browsertest.EditorPath)
		p.WaitFor(t, readyJS, 30*time.Second)
	}
	a := open("A")
	ready(a)
	storage := browsertest.Eval[struct {
		Backend string
		NoOPFS  bool
	}](t, a, `() => ({ backend: document.getElementById("backend").dataset.backend,
		noOPFS: !document.getElementById("noticeOPFS").hidden })`)
	if storage.Backend != "opfs" && storage.Backend != "idb" {
		t.Fatalf("the editor shows the backend %q", storage.Backend)
	}
	if storage.NoOPFS != (storage.Backend == "idb") {
		t.Errorf("backend %s, notice that OPFS is missing shown: %v", storage.Backend, storage.NoOPFS)
	}
	t.Logf("%s: assets go to %s", browser, storage.Backend)

	// Create a workflow with three nodes.
	browsertest.Eval[any](t, a, fillJS, "#newName", "Moodboard")
	browsertest.Eval[any](t, a, clickJS, "#create button")
	a.WaitFor(t, `!document.getElementById("toolbar").hidden && document.getElementById("wfName").value === "Moodboard"`, stepTimeout)
	wfID := browsertest.Eval[string](t, a, `document.body.dataset.workflow`)
	for i := 1; i <= 3; i++ {
		browsertest.Eval[any](t, a, clickJS, "#addNode")
		a.WaitFor(t, countNodes, stepTimeout, i)
	}

	// Images on Step 3 and Step 2, and the original (read back from
	// storage) in the viewer.
	png := "/browsertest/" + testImage
	browsertest.Eval[any](t, a, dropJS, nodeSel("Step 3"), png, "landscape.png", "image/png")
	a.WaitFor(t, `(sel) => document.querySelector(sel + " img.thumb")?.naturalWidth > 0`, stepTimeout, nodeSel("Step 3"))
	browsertest.Eval[any](t, a, dropJS, nodeSel("Step 2"), png, "landscape.png", "image/png")
	a.WaitFor(t, `(sel) => document.querySelector(sel + " img.thumb")?.naturalWidth > 0`, stepTimeout, nodeSel("Step 2"))
	if s := browsertest.Eval[string](t, a, `document.getElementById("status").textContent`); !strings.Contains(s, "landscape.png") {
		t.Errorf("status after the drops: %q", s)
	}
	viewOriginal(t, a)

	// Reload: the nodes and their images are back.
	a.Reload(t)
	a.WaitFor(t, readyJS, 30*time.Second)
	a.WaitFor(t, `(n) => document.querySelectorAll("#canvas .node").length === n &&
		[...document.querySelectorAll("#canvas .node img.thumb")].filter((i) => !i.hidden && i.naturalWidth > 0).length === 2`,
		stepTimeout, 3)
	viewOriginal(t, a)

	// A second window follows the first.
	b := open("B")
	ready(b)
	browsertest.Eval[any](t, b, clickJS, `li.wf[data-id="`+wfID+`"]`)
	b.WaitFor(t, countNodes, stepTimeout, 3)
	start := time.Now()
	browsertest.Eval[any](t, a, clickJS, "#addNode")
	b.WaitFor(t, countNodes, stepTimeout, 4)
	t.Logf("%s: a node added in one window showed in the other %v later (polled every 20 ms)", browser, time.Since(start).Round(time.Millisecond))

	// Export, keeping the package the download would save.
	browsertest.Eval[any](t, a, `() => {
		const create = URL.createObjectURL;
		URL.createObjectURL = (b) => { globalThis.exported = b; return create.call(URL, b); };
	}`)
	browsertest.Eval[any](t, a, clickJS, "#export")
	a.WaitFor(t, `document.getElementById("status").textContent.startsWith("exported “Moodboard”") && globalThis.exported?.size > 0`, 20*time.Second)

	// Delete the workflow (both windows lose it), then import the package.
	browsertest.Eval[any](t, a, clickJS, "#deleteWorkflow")
	browsertest.Eval[any](t, a, clickJS, "#confirmDelete")
	a.WaitFor(t, `document.querySelectorAll("li.wf").length === 0`, stepTimeout)
	b.WaitFor(t, `document.querySelectorAll("li.wf").length === 0`, stepTimeout)
	browsertest.Eval[any](t, a, `() => {
		const dt = new DataTransfer();
		dt.items.add(new File([globalThis.exported], "Moodboard.genaiw.zip", { type: "application/zip" }));
		const input = document.getElementById("importFile");
		input.files = dt.files;
		input.dispatchEvent(new Event("change", { bubbles: true }));
	}`)
	a.WaitFor(t, `(n) => document.querySelectorAll("#canvas .node").length === n &&
		[...document.querySelectorAll("#canvas .node img.thumb")].filter((i) => !i.hidden && i.naturalWidth > 0).length === 2 &&
		document.getElementById("wfName").value === "Moodboard"`, 20*time.Second, 4)
	viewOriginal(t, a)
	b.WaitFor(t, `document.querySelectorAll("li.wf").length === 1`, stepTimeout)
}

// viewOriginal opens Step 3's image in the viewer, which shows the stored
// original (640x480), and closes it.
func viewOriginal(t *testing.T, p journeyPage) {
	t.Helper()
	// The editor finds the element under the event's coordinates.
	browsertest.Eval[any](t, p, `(sel) => {
		const el = document.querySelector(sel + " .body");
		el.scrollIntoView({ block: "center", inline: "center" });
		const r = el.getBoundingClientRect();
		el.dispatchEvent(new MouseEvent("dblclick", { bubbles: true, clientX: r.left + r.width / 2, clientY: r.top + r.height / 2 }));
	}`, nodeSel("Step 3"))
	p.WaitFor(t, `document.getElementById("viewer").open && document.getElementById("viewerImg").naturalWidth === 640`, stepTimeout)
	browsertest.Eval[any](t, p, clickJS, "#viewerClose")
	p.WaitFor(t, `!document.getElementById("viewer").open`, stepTimeout)
}
