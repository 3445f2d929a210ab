package browsertest_test

import (
	"testing"
	"time"

	"github.com/atelierstore/atelier/browsertest"
)

// TestJSAPI runs wasm/test/api.test.html, the JavaScript API exercised by
// plain JavaScript as an app would use it, and fails with every case that
// failed there. The cases and their assertions are in api.test.mjs.
func TestJSAPI(t *testing.T) {
	b := browsertest.Start(t, nil)
	tab := b.NewTab(t, "api")
	tab.Navigate(t, "/wasm/test/api.test.html")
	tab.WaitFor(t, `globalThis.apiTest?.done === true`, 3*time.Minute)

	type result struct {
		Name    string `json:"name"`
		OK      bool   `json:"ok"`
		Message string `json:"message"`
		MS      int    `json:"ms"`
	}
	results := browsertest.Eval[[]result](t, tab, `globalThis.apiTest.results`)
	if len(results) == 0 {
		t.Fatal("the page ran no test case")
	}
	failed := 0
	for _, r := range results {
		if r.OK {
			t.Logf("ok    %s (%d ms)", r.Name, r.MS)
			continue
		}
		failed++
		t.Errorf("FAIL  %s (%d ms)\n%s", r.Name, r.MS, r.Message)
	}
	t.Logf("%d passed, %d failed", len(results)-failed, failed)
}
