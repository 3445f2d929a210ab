package browsertest_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/atelierstore/atelier/browsertest"
)

// TestJSAPI runs wasm/test/api.test.html, the JavaScript API exercised by
// plain JavaScript as an app would use it, and fails with every case that
// failed there. The cases and their assertions are in api.test.mjs. It
// runs in both modes: the engine in a worker (the default) and in the page
// (open({ worker: false })).
func TestJSAPI(t *testing.T) {
	for _, mode := range []string{"worker", "page"} {
		t.Run(mode, func(t *testing.T) {
			b := browsertest.Start(t, nil)
			runAPIPage(t, "Chromium", b.NewTab(t, "api"), "/wasm/test/api.test.html?mode="+mode)
		})
	}
}

// TestJSAPIInOtherBrowsers runs the same page in Firefox and WebKitGTK
// (each skipped when it is not installed), in both modes.
func TestJSAPIInOtherBrowsers(t *testing.T) {
	for _, kind := range browsertest.RemoteKinds {
		t.Run(kind, func(t *testing.T) {
			r := browsertest.StartRemote(t, kind, nil)
			for _, mode := range []string{"worker", "page"} {
				t.Run(mode, func(t *testing.T) {
					runAPIPage(t, r.Name(), r.NewPage(t, "api-"+mode), "/wasm/test/api.test.html?mode="+mode)
				})
			}
		})
	}
}

// apiPage is a page of any browser: a Chromium *browsertest.Tab or a
// *browsertest.Page of Firefox or WebKit.
type apiPage interface {
	browsertest.Evaluator
	Navigate(tb testing.TB, path string)
	WaitFor(tb testing.TB, cond string, timeout time.Duration, args ...any)
}

// strictCSP is the policy a hardened app serves: scripts and workers only
// from its own origin, WebAssembly allowed, no eval and no inline scripts.
const strictCSP = "script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; object-src 'none'; base-uri 'none'"

// TestJSAPIUnderStrictCSP runs the same page served with strictCSP: the
// module must load its JavaScript helpers from atelier-bridge.js, as
// neither eval nor the inline copy it embeds is allowed there.
func TestJSAPIUnderStrictCSP(t *testing.T) {
	page, err := os.ReadFile(filepath.Join("..", "wasm", "test", "api.test.html"))
	if err != nil {
		t.Fatal(err)
	}
	b := browsertest.Start(t, nil)
	b.Handle(t, "/wasm/test/api.csp.html", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Security-Policy", strictCSP)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	}))
	for _, mode := range []string{"worker", "page"} {
		t.Run(mode, func(t *testing.T) {
			runAPIPage(t, "Chromium", b.NewTab(t, "api"), "/wasm/test/api.csp.html?mode="+mode)
		})
	}
}

// runAPIPage opens path, a copy of api.test.html, and reports its cases.
func runAPIPage(t *testing.T, browser string, tab apiPage, path string) {
	t.Helper()
	tab.Navigate(t, path)
	tab.WaitFor(t, `globalThis.apiTest?.done === true`, 3*time.Minute)

	type result struct {
		Name    string `json:"name"`
		OK      bool   `json:"ok"`
		Skipped bool   `json:"skipped"`
		Message string `json:"message"`
		MS      int    `json:"ms"`
	}
	results := browsertest.Eval[[]result](t, tab, `globalThis.apiTest.results`)
	if len(results) == 0 {
		t.Fatal("the page ran no test case")
	}
	failed, skipped := 0, 0
	for _, r := range results {
		if r.Skipped {
			skipped++
			t.Logf("skip  %s: %s", r.Name, r.Message)
			continue
		}
		if r.OK {
			t.Logf("ok    %s (%d ms)", r.Name, r.MS)
			continue
		}
		failed++
		t.Errorf("FAIL  %s (%d ms)\n%s", r.Name, r.MS, r.Message)
	}
	t.Logf("%s, %s: %d passed, %d failed, %d skipped", browser, path, len(results)-failed-skipped, failed, skipped)
	// What the library chose in this browser, for the README's table.
	caps := browsertest.Eval[map[string]any](t, tab, `async () => {
		const atelier = await (await import("/wasm/atelier.mjs")).load();
		const db = await atelier.open({ name: "caps-" + crypto.randomUUID(), worker: new URLSearchParams(location.search).get("mode") !== "page" });
		try { return await db.capabilities(); } finally { await db.close(); }
	}`)
	t.Logf("%s: backend %v (%v); IndexedDB keeps asset bytes as %v %v; opfs %v, syncAccess %v, folderAccess %v",
		browser, caps["backend"], caps["reason"], caps["idbValues"], caps["idbValuesReason"], caps["opfs"], caps["syncAccess"], caps["folderAccess"])
}
