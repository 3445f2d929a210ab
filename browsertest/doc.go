// Package browsertest drives real tabs of one headless Chromium, from host-side
// Go tests, against the library's JavaScript module (wasm/atelier.mjs), for
// what a test inside one page cannot do: several tabs of one profile, a tab
// closed or crashed mid-work, reloads, an isolated second profile, quota
// pressure, and the example editor driven by mouse and keyboard.
//
// It is a module of its own, so the library's go.mod never depends on
// chromedp. Run its tests with `cd browsertest && go test ./...`, or
// `make test`.
//
// # Basics
//
// Start builds ./wasm for js/wasm (once per test process), serves the
// checkout on 127.0.0.1 with the fresh module at /build/, launches the
// browser, and stops everything in the test's cleanup:
//
//	func TestTwoTabs(t *testing.T) {
//		b := browsertest.Start(t, nil)
//		a, c := b.NewTab(t, "A"), b.NewTab(t, "C")
//		a.Open(t, "shared") // AppPath: globals atelier, and db = await atelier.open({name: "shared"})
//		c.Open(t, "shared")
//		id := browsertest.Eval[string](t, a, `async () => (await db.createWorkflow("W")).id`)
//		browsertest.Eval[any](t, c, `(id) => db.deleteWorkflow(id)`, id)
//		_, err := browsertest.TryEval[any](t.Context(), a, `(id) => db.loadWorkflow(id)`, id)
//		if browsertest.ErrorName(err) != "NotFound" {
//			t.Fatalf("A loads the workflow that C deleted: %v", err)
//		}
//	}
//
// Eval awaits promises and decodes the result from JSON; an exception or a
// rejection comes back from TryEval as a *JSError that keeps the
// JavaScript name ("NotFound", "QuotaExceeded", "TypeError") and message,
// and ErrorName reads it. Browser.NewProfile gives an isolated profile (a
// DevTools browser context) for "another machine". Tab.Close, Tab.Crash and
// Tab.Reload act as the user or the system would; Click, Drag, Type,
// SetFiles, DropFiles and Screenshot drive pages with real input events.
// Browser.OverrideQuota shrinks an origin's storage quota.
//
// When a test fails, its log shows, in order and prefixed with each tab's
// name, what the harness did and what every tab printed to its console or
// threw.
//
// # Caveats
//
//   - Tests are never skipped: with no Chromium or Chrome on PATH (or in
//     $BROWSERTEST_CHROME) Start fails with the way to install one.
//   - Each Start launches its own browser with an empty profile (about half
//     a second); nothing persists between tests.
//   - A page is ready when its load event has fired and, if it defines
//     globalThis.browsertestReady, that promise has settled. Pages that get
//     ready later, like the example editor (EditorPath), need WaitFor.
//   - Methods that take a testing.TB call its Fatal, so they belong to the
//     test's goroutine; to drive tabs from several goroutines use TryEval.
//   - Chromium withdraws a quota override when the DevTools session that
//     made it ends, so the harness sends overrides through a tab that lives
//     as long as the profile. IndexedDB notices an override only after up to
//     30 s on an origin that wrote just before it: see Profile.OverrideQuota.
//   - A crashed tab (Tab.Crash) fails every evaluation with ErrCrashed until
//     it is navigated or reloaded.
package browsertest
