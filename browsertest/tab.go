package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/inspector"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Tab is one browser tab (a page target in its own window, so it is never
// hidden or throttled while other tabs work). Its methods that take a
// testing.TB fail the test on error and must be called from the test's
// goroutine; TryEval and Close may be called from any goroutine.
type Tab struct {
	b    *Browser
	name string
	ctx  context.Context
	stop context.CancelFunc
	done chan struct{} // closed when the console reader has stopped

	crashed   atomic.Bool // since the last crash, until the next navigation
	closeOnce sync.Once
}

// ErrCrashed is returned by TryEval on a tab whose renderer has crashed
// (Tab.Crash, or a real crash) and not been navigated or reloaded since.
var ErrCrashed = errors.New("the tab's renderer has crashed")

// NewTab opens a blank tab in the profile. name prefixes the tab's lines in
// the log and its errors ("A", "B", "leader"); an empty name gives "tab1",
// "tab2", ... The tab is closed in tb's cleanup unless the test closed it.
func (p *Profile) NewTab(tb testing.TB, name string) *Tab {
	tb.Helper()
	b := p.b
	n := b.tabs.Add(1)
	if name == "" {
		name = fmt.Sprintf("tab%d", n)
	}
	if p.name != "" {
		name = p.name + "/" + name
	}
	var opts []chromedp.ContextOption
	if p.id != "" {
		opts = append(opts, chromedp.WithExistingBrowserContext(p.id))
	}
	ctx, cancel := chromedp.NewContext(b.root, opts...)
	t := &Tab{b: b, name: name, ctx: ctx, stop: cancel, done: make(chan struct{})}
	// The first Do creates the tab and binds it to ctx: it must not get a
	// shorter-lived context.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		tb.Fatalf("browsertest: opening tab %s: %v", name, err)
	}
	console := chromedp.Console(ctx)
	crashes := chromedp.Events(ctx, inspector.TargetCrashed)
	var wg sync.WaitGroup
	wg.Go(func() {
		for m, err := range console {
			if err != nil {
				return
			}
			where := ""
			if m.URL != "" {
				where = fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
			}
			b.logf(name, "console.%s: %s%s", m.Type, m.Text, where)
		}
	})
	wg.Go(func() {
		for _, err := range crashes {
			if err != nil {
				return
			}
			t.crashed.Store(true)
			b.logf(name, "the renderer crashed")
		}
	})
	go func() { wg.Wait(); close(t.done) }()
	b.logf(name, "opened")
	tb.Cleanup(t.Close)
	return t
}

// Name returns the tab's name as the log shows it.
func (t *Tab) Name() string { return t.name }

// Context returns the tab's chromedp context, for chromedp actions and
// DevTools commands the harness does not wrap:
// chromedp.Run(tab.Context(), chromedp.Title()).
func (t *Tab) Context() context.Context { return t.ctx }

// Navigate loads path (relative to the test server, e.g. EditorPath, or
// an absolute URL) and waits for its load event and, when the page defines
// globalThis.browsertestReady (as AppPath does), for that promise.
func (t *Tab) Navigate(tb testing.TB, path string) {
	tb.Helper()
	u := path
	if pu, err := url.Parse(path); err == nil && !pu.IsAbs() {
		u = t.b.URL(path)
	}
	t.b.logf(t.name, "> navigate %s", path)
	t.crashed.Store(false)
	if err := t.do(tb.Context(), chromedp.Navigate(u)); err != nil {
		tb.Fatalf("%s: navigate %s: %v", t.name, path, err)
	}
	t.waitReady(tb)
}

// Open loads AppPath with the database dbName opened, so that js given to
// Eval can use the globals atelier (the API) and db (the open database). A
// Reload opens the database again. Tabs of one profile that open the same
// name share the data.
func (t *Tab) Open(tb testing.TB, dbName string) {
	tb.Helper()
	t.Navigate(tb, AppPath+"?db="+url.QueryEscape(dbName))
}

// Reload reloads the page as the user would (F5) and waits as Navigate does.
func (t *Tab) Reload(tb testing.TB) {
	tb.Helper()
	t.b.logf(t.name, "> reload")
	t.crashed.Store(false)
	if err := t.do(tb.Context(), chromedp.Reload()); err != nil {
		tb.Fatalf("%s: reload: %v", t.name, err)
	}
	t.waitReady(tb)
}

func (t *Tab) waitReady(tb testing.TB) {
	tb.Helper()
	if _, err := TryEval[any](tb.Context(), t, `globalThis.browsertestReady`); err != nil {
		tb.Fatalf("%s: the page did not get ready: %v", t.name, err)
	}
}

// Close closes the tab as a user closing it would, at once, whatever the
// page is doing: pending promises never settle and open transactions abort.
// It is a no-op on a closed tab.
func (t *Tab) Close() {
	t.closeOnce.Do(func() {
		t.b.logf(t.name, "> close")
		t.stop() // detaches, sends Target.closeTarget and waits for it
		<-t.done
	})
}

// Crash crashes the tab's renderer process (Page.crash), as an out-of-memory
// kill would, and waits until the browser reports it. The tab stays open
// showing the crash page; Navigate or Reload brings it back.
func (t *Tab) Crash(tb testing.TB) {
	tb.Helper()
	t.b.logf(t.name, "> crash")
	ctx, cancel := t.b.bound(t.ctx, tb.Context())
	defer cancel()
	// Page.crash gets no reply: the renderer is gone before it can send one.
	go chromedp.Call(ctx, page.Crash, cdp.Empty{})
	// Wait for the tab's own event reader to see the crash, so that a
	// Reload right after this cannot be overtaken by it.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !t.crashed.Load() {
		select {
		case <-ctx.Done():
			tb.Fatalf("%s: crash: no crash reported: %v", t.name, ctx.Err())
		case <-tick.C:
		}
	}
}

// WaitFor polls the JavaScript expression cond until its result is truthy,
// and fails the test after timeout with the last result or error. cond is
// evaluated as Eval does: a function is called with args, a promise is
// awaited. Errors while polling (the page navigating, a global not yet
// defined) count as "not yet", so WaitFor also waits across reloads.
//
//	tab.WaitFor(t, `document.querySelectorAll(".node").length === 2`, 5*time.Second)
//	tab.WaitFor(t, `(n) => acked.length >= n`, 5*time.Second, 50)
func (t *Tab) WaitFor(tb testing.TB, cond string, timeout time.Duration, args ...any) {
	tb.Helper()
	waitFor(tb, t, cond, timeout, args...)
}

// waitFor is WaitFor in any page.
func waitFor(tb testing.TB, t Evaluator, cond string, timeout time.Duration, args ...any) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), timeout)
	defer cancel()
	js := `async (...args) => {
		let v = (
` + cond + `
		);
		if (typeof v === "function") v = v(...args);
		return Boolean(await v);
	}`
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	last := "not evaluated"
	for {
		v, err := TryEval[bool](ctx, t, js, args...)
		switch {
		case err == nil && v:
			return
		case ctx.Err() != nil:
			// The evaluation was cut short; keep the previous outcome.
		case err != nil:
			last = err.Error()
		default:
			last = "false"
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("%s: waited %v for %s; last result: %s", t.Name(), timeout, abbrev(cond), last)
		case <-tick.C:
		}
	}
}

// Click clicks the center of the first element that matches the CSS
// selector with real mouse events (move, press, release), after waiting for
// it to exist and scrolling it into view.
func (t *Tab) Click(tb testing.TB, selector string) {
	tb.Helper()
	x, y := t.locate(tb, selector)
	t.b.logf(t.name, "> click %s at (%.0f, %.0f)", selector, x, y)
	err := t.do(tb.Context(),
		chromedp.MouseEvent(chromedp.MouseMoved, x, y),
		chromedp.MouseClickXY(x, y),
	)
	if err != nil {
		tb.Fatalf("%s: click %s: %v", t.name, selector, err)
	}
}

// Drag presses the left button on the center of the first element that
// matches selector, moves the mouse by (dx, dy) in several steps and
// releases it: pointer and mouse events for a page that drags by hand, and
// dragstart/dragover/drop for an HTML5 draggable element.
func (t *Tab) Drag(tb testing.TB, selector string, dx, dy float64) {
	tb.Helper()
	x, y := t.locate(tb, selector)
	t.b.logf(t.name, "> drag %s from (%.0f, %.0f) by (%.0f, %.0f)", selector, x, y, dx, dy)
	if err := t.do(tb.Context(), chromedp.DragAndDropXY(x, y, x+dx, y+dy, 10)); err != nil {
		tb.Fatalf("%s: drag %s: %v", t.name, selector, err)
	}
}

// Type focuses the first element that matches selector and types text into
// it with key events, as a user would.
func (t *Tab) Type(tb testing.TB, selector, text string) {
	tb.Helper()
	t.locate(tb, selector)
	t.b.logf(t.name, "> type %q into %s", text, selector)
	_, err := TryEval[any](tb.Context(), t, `(sel) => document.querySelector(sel).focus()`, selector)
	if err == nil {
		err = t.do(tb.Context(), chromedp.KeyEvent(text))
	}
	if err != nil {
		tb.Fatalf("%s: type into %s: %v", t.name, selector, err)
	}
}

// SetFiles sets the files of the <input type=file> that matches selector to
// the host files at paths (DOM.setFileInputFiles), which fires its input and
// change events as a user's choice would.
func (t *Tab) SetFiles(tb testing.TB, selector string, paths ...string) {
	tb.Helper()
	t.locate(tb, selector)
	abs := absPaths(tb, paths)
	t.b.logf(t.name, "> set files of %s to %v", selector, paths)
	sel, _ := json.Marshal(selector)
	err := t.do(tb.Context(), chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		obj, err := cdp.Call(ctx, tgt, runtime.Evaluate, runtime.EvaluateParams{
			Expression: "document.querySelector(" + string(sel) + ")",
		})
		if err != nil {
			return err
		}
		if obj.Result == nil || obj.Result.ObjectID == "" {
			return errors.New("no such element")
		}
		defer cdp.Call(ctx, tgt, runtime.ReleaseObject, runtime.ReleaseObjectParams{ObjectID: obj.Result.ObjectID})
		_, err = cdp.Call(ctx, tgt, dom.SetFileInputFiles, dom.SetFileInputFilesParams{Files: abs, ObjectID: obj.Result.ObjectID})
		return err
	}))
	if err != nil {
		tb.Fatalf("%s: set files of %s: %v", t.name, selector, err)
	}
}

// DropFiles drops the host files at paths on the center of the first element
// that matches selector, as a drag from the file manager would: dragenter,
// dragover and drop events whose dataTransfer holds the files.
func (t *Tab) DropFiles(tb testing.TB, selector string, paths ...string) {
	tb.Helper()
	x, y := t.locate(tb, selector)
	data := &input.DragData{Items: []*input.DragDataItem{}, Files: absPaths(tb, paths), DragOperationsMask: 1 | 2 | 16}
	t.b.logf(t.name, "> drop files %v on %s at (%.0f, %.0f)", paths, selector, x, y)
	err := t.do(tb.Context(), chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		for _, typ := range []input.DispatchDragEventType{
			input.DispatchDragEventTypeDragEnter, input.DispatchDragEventTypeDragOver, input.DispatchDragEventTypeDrop,
		} {
			if _, err := cdp.Call(ctx, tgt, input.DispatchDragEvent, input.DispatchDragEventParams{Type: typ, X: x, Y: y, Data: data}); err != nil {
				return fmt.Errorf("%s: %w", typ, err)
			}
		}
		return nil
	}))
	if err != nil {
		tb.Fatalf("%s: drop files on %s: %v", t.name, selector, err)
	}
}

// Screenshot writes a PNG of the tab's viewport to path.
func (t *Tab) Screenshot(tb testing.TB, path string) {
	tb.Helper()
	ctx, cancel := t.b.bound(t.ctx, tb.Context())
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err == nil {
		err = os.WriteFile(path, png, 0o644)
	}
	if err != nil {
		tb.Fatalf("%s: screenshot: %v", t.name, err)
	}
	t.b.logf(t.name, "> screenshot %s (%d bytes)", path, len(png))
}

// locate waits for the first element that matches selector to exist and
// have a size, scrolls it into view and returns its center in viewport
// coordinates.
func (t *Tab) locate(tb testing.TB, selector string) (x, y float64) {
	tb.Helper()
	const find = `(sel) => {
		const el = document.querySelector(sel);
		if (!el) return null;
		el.scrollIntoView({ block: "center", inline: "center" });
		const r = el.getBoundingClientRect();
		if (r.width === 0 || r.height === 0) return null;
		return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
	}`
	type point struct{ X, Y float64 }
	deadline := time.Now().Add(t.b.timeout)
	for {
		p, err := TryEval[*point](tb.Context(), t, find, selector)
		if err == nil && p != nil {
			return p.X, p.Y
		}
		if err != nil && ErrorName(err) != "" {
			tb.Fatalf("%s: %s: %v", t.name, selector, err) // e.g. a bad selector
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: no visible element matches %s after %v (last error: %v)", t.name, selector, t.b.timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// do runs actions on the tab within the browser's timeout and ctx.
func (t *Tab) do(ctx context.Context, actions ...chromedp.Action[chromedp.Void]) error {
	cctx, cancel := t.b.bound(t.ctx, ctx)
	defer cancel()
	return chromedp.Do(cctx, actions...)
}

func absPaths(tb testing.TB, paths []string) []string {
	tb.Helper()
	abs := make([]string, len(paths))
	for i, p := range paths {
		a, err := filepath.Abs(p)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := os.Stat(a); err != nil {
			tb.Fatalf("browsertest: %v", err)
		}
		abs[i] = a
	}
	return abs
}
