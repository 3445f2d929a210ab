package main

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atelierstore/atelier/browsertest"
)

// otherScenarios run in the other browsers too (-browsers): the Go API's
// scenarios that have their baselines (raw IndexedDB, OPFS, Dexie) in the
// same page. S7 (a 100 MiB package) and S8 (start-up, over DevTools) stay
// Chromium's, and so do the J rows.
var otherScenarios = []string{"S1", "S2", "S3", "S4", "S5", "S6"}

// benchPage is a page of either harness: a Chromium *browsertest.Tab or a
// *browsertest.Page of another browser.
type benchPage interface {
	browsertest.Evaluator
	Navigate(tb testing.TB, path string)
	WaitFor(tb testing.TB, cond string, timeout time.Duration, args ...any)
}

// benchTab returns the page the single-page scenarios load, opening it the
// first time.
func (h *harness) benchTab() benchPage {
	if h.remote != nil {
		if h.page1 == nil {
			h.page1 = h.remote.NewPage(h.r, "bench")
		}
		return h.page1
	}
	if h.tab == nil {
		h.tab = h.b.NewTab(h.r, "bench")
	}
	return h.tab
}

// newPage opens another page of the same browser and profile, and the
// function that closes it (another browser's windows close at the run's
// end).
func (h *harness) newPage(name string) (benchPage, func()) {
	if h.remote != nil {
		return h.remote.NewPage(h.r, name), func() {}
	}
	t := h.b.NewTab(h.r, name)
	return t, t.Close
}

// skipErr ends a run of another browser that is not installed.
type skipErr struct{ reason string }

func (e skipErr) Error() string { return e.reason }

// skippingRunner is a runner whose Skip ends the run as skipped instead of
// failing it: another browser that is absent is not a failed benchmark.
type skippingRunner struct {
	*runner
	skipped string
}

func (s *skippingRunner) Skipf(format string, args ...any) {
	s.skipped = fmt.Sprintf(format, args...)
	panic(errFatal)
}
func (s *skippingRunner) Skip(args ...any) { s.Skipf("%s", fmt.Sprint(args...)) }
func (s *skippingRunner) SkipNow()         { s.Skipf("skipped") }

// others runs the scenarios of want that otherScenarios lists in each
// browser of kinds (browsertest.RemoteKinds: "firefox", "webkit"), each
// with a fresh profile, and returns their rows with Browser set. An absent
// browser is skipped with a message; a scenario that fails in one (WebKit's
// automation session has no OPFS, so S4 and S5 cannot run there) is
// reported and left out, and the others go on.
func (h *harness) others(kinds []string, want []string) []Row {
	var run []string
	for _, s := range want {
		if slices.Contains(otherScenarios, s) {
			run = append(run, s)
		}
	}
	if len(run) == 0 {
		return nil
	}
	var rows []Row
	for _, kind := range kinds {
		rows = append(rows, h.inBrowser(kind, run)...)
	}
	return rows
}

// inBrowser starts the browser of kind and runs the scenarios there.
func (h *harness) inBrowser(kind string, run []string) []Row {
	sr := &skippingRunner{runner: newRunner(kind, h.r.out)}
	var (
		rows []Row
		name string
	)
	ok := sr.run(func() {
		rem := browsertest.StartRemote(sr, kind, &browsertest.Options{Root: h.root, Timeout: 10 * time.Minute})
		name = rem.Name()
		h.serveRemote(rem)
		progress("%s, fresh profile: %s", name, strings.Join(run, ", "))
		for _, s := range run {
			t0 := time.Now()
			got, err := h.oneInRemote(rem, s)
			if err != nil {
				progress("%s in %s: not measured: %v", s, name, err)
				h.info[s+" "+name] = map[string]any{"error": err.Error()}
				continue
			}
			for i := range got {
				got[i].Browser = name
				for _, x := range []float64{got[i].Library.Median, got[i].Baseline.Median, got[i].Ratio} {
					if math.IsNaN(x) || math.IsInf(x, 0) {
						err = fmt.Errorf("a figure is missing or zero: %+v", got[i])
					}
				}
			}
			if err != nil {
				progress("%s in %s: not measured: %v", s, name, err)
				continue
			}
			rows = append(rows, got...)
			progress("%s in %s done in %v", s, name, time.Since(t0).Round(100*time.Millisecond))
		}
	})
	switch {
	case sr.skipped != "":
		progress("%s", sr.skipped)
	case !ok:
		h.r.Errorf("%s: the run failed", kind)
	}
	return rows
}

// oneInRemote runs scenario s in rem with a runner of its own, so that a
// scenario this browser cannot run fails alone.
func (h *harness) oneInRemote(rem *browsertest.Remote, s string) (rows []Row, err error) {
	sub := newRunner(s, &strings.Builder{})
	hs := *h
	hs.r, hs.remote, hs.page1, hs.tab = sub, rem, nil, nil
	ok := sub.run(func() {
		if s == "S6" {
			rows = hs.s6()
		} else {
			rows = hs.inPage(s)
		}
	})
	if !ok {
		msg := strings.TrimSpace(sub.out.(*strings.Builder).String())
		if i := strings.IndexByte(msg, '\n'); i > 0 {
			msg = msg[:i]
		}
		return nil, errors.New(msg)
	}
	return rows, nil
}

// serveRemote serves what the benchmark page needs on rem's test server,
// as bench does on Chromium's.
func (h *harness) serveRemote(rem *browsertest.Remote) {
	for name, body := range h.wasm {
		rem.Handle(h.r, "/bench/build/"+name+".wasm", wasmHandler(body))
		rem.Handle(h.r, "/bench/build/cached/"+name+".wasm", cacheable(body))
	}
	for _, p := range []string{"/bench/index.html", "/bench/worker.js"} {
		rem.Handle(h.r, p, isolated(filepath.Join(h.root, filepath.FromSlash(p))))
	}
}

func wasmHandler(body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "application/wasm")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(body)
	})
}
