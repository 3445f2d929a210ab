package main

import (
	"encoding/json"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/atelierstore/atelier/browsertest"
)

// The JavaScript scenarios (J1-J6): bench/js.html with bench/jsbench.mjs,
// which imports the public module /wasm/atelier.mjs as an app does. The
// harness serves /build/atelier.wasm, /build/wasm_exec.js and
// /build/atelier-bridge.js from its own build of ./wasm (what make build
// produces), so the page loads the checkout's library.

// jsPages registers the page and serves wasm/ (atelier.mjs and the worker
// mode's scripts) with the cross-origin isolation headers: a dedicated
// worker started by an isolated page must itself be served with them.
func (h *harness) jsPages() {
	h.b.Handle(h.r, "/bench/js.html", isolated(filepath.Join(h.root, "bench", "js.html")))
	h.b.Handle(h.r, "/wasm/", isolatedDir(filepath.Join(h.root, "wasm"), "/wasm/"))
}

// isolatedDir serves the files of dir under prefix as isolated does.
func isolatedDir(dir, prefix string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rel := strings.TrimPrefix(path.Clean(req.URL.Path), prefix)
		if strings.Contains(rel, "..") || strings.HasPrefix(rel, ".") || rel == "" {
			http.NotFound(w, req)
			return
		}
		file := filepath.Join(dir, filepath.FromSlash(rel))
		if st, err := os.Stat(file); err != nil || st.IsDir() {
			http.NotFound(w, req)
			return
		}
		isolated(file).ServeHTTP(w, req)
	})
}

// jsPage runs scenario name of bench/jsbench.mjs in a freshly loaded
// js.html and decodes its result; key files its info in results.json.
func (h *harness) jsPage(name, key string, opts map[string]any) *PageResult {
	if h.tab == nil {
		h.tab = h.b.NewTab(h.r, "bench")
	}
	h.tab.Navigate(h.r, "/bench/js.html")
	o, err := json.Marshal(opts)
	if err != nil {
		h.r.Fatal(err)
	}
	out := browsertest.Eval[string](h.r, h.tab, `(n, o) => jsBench.run(n, o)`, name, string(o))
	var p PageResult
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		h.r.Fatalf("%s: decoding the result: %v", key, err)
	}
	if len(p.Info) > 0 {
		h.info[key] = p.Info
	}
	return &p
}

// jRuns is the number of measured runs for a graph of n nodes.
func (c Config) jRuns(n int) int {
	if n > 10000 && c.JLargeRuns > 0 {
		return min(c.Runs, c.JLargeRuns)
	}
	return c.Runs
}

func (h *harness) jFatal(s string, err error) {
	if err != nil {
		h.r.Fatalf("%s: %v", s, err)
	}
}

// j1 writes each size in a page of its own; the stores of its last run are
// kept for J2 to load (they hold exactly n nodes each).
func (h *harness) j1() []Row {
	var rows []Row
	for _, n := range h.cfg.JSizes {
		runs := h.cfg.jRuns(n)
		opts := map[string]any{"n": n, "runs": runs}
		if n > 10000 {
			opts["warmN"] = 10000 // warms the code; a 50k write takes seconds
		}
		p := h.jsPage("J1", "J1 "+sizeLabel(n), opts)
		if kept, ok := p.Info["kept"]; ok {
			h.kept[n] = kept
		}
		got, err := j1Rows(p, runs, n)
		h.jFatal("J1", err)
		rows = append(rows, got...)
	}
	return rows
}

func (h *harness) j2() []Row {
	var rows []Row
	for _, n := range h.cfg.JSizes {
		runs := h.cfg.jRuns(n)
		opts := map[string]any{"n": n, "runs": runs}
		if kept, ok := h.kept[n]; ok {
			opts["kept"] = kept
			delete(h.kept, n) // J2 deletes them when done
		}
		got, err := j2Rows(h.jsPage("J2", "J2 "+sizeLabel(n), opts), runs, n)
		h.jFatal("J2", err)
		rows = append(rows, got...)
	}
	return rows
}

func (h *harness) j3() []Row {
	c := h.cfg
	rows, err := j3Rows(h.jsPage("J3", "J3", map[string]any{"runs": c.Runs, "samples": c.Updates}), c.Runs, c.Updates)
	h.jFatal("J3", err)
	return rows
}

func (h *harness) j4() []Row {
	c := h.cfg
	rows, err := j4Rows(h.jsPage("J4", "J4", map[string]any{"runs": c.Runs, "bytes": c.AssetBytes}), c.Runs)
	h.jFatal("J4", err)
	return rows
}

// j5 times start-up over fresh page loads, each in a new tab with no other
// tab of the origin open (as S8 does), rotating worker mode, in-page mode
// and the Go hello world.
func (h *harness) j5() []Row {
	if h.tab != nil {
		h.tab.Close()
		h.tab = nil
	}
	got := map[string]*startup{"worker": {}, "inpage": {}, "hello": {}}
	mode := ""
	for i := -1; i < h.cfg.Runs; i++ {
		for _, m := range order(i+1, "worker", "inpage", "hello") {
			t := h.b.NewTab(h.r, "j5-"+m)
			t.Navigate(h.r, "/bench/js.html")
			out := browsertest.Eval[string](h.r, t, `(o) => jsBench.run("J5", o)`, `{"mode":"`+m+`"}`)
			t.Close()
			var p PageResult
			if err := json.Unmarshal([]byte(out), &p); err != nil {
				h.r.Fatalf("J5: decoding the result: %v", err)
			}
			if m != "hello" {
				mode = p.workerMode()
				h.info["J5"] = p.Info
			}
			if i < 0 {
				continue
			}
			ready, err := p.series("ready", 1)
			h.jFatal("J5", err)
			block, err := p.series("block", 1)
			h.jFatal("J5", err)
			got[m].Ready = append(got[m].Ready, ready[0][0])
			got[m].Block = append(got[m].Block, block[0][0])
		}
	}
	return j5Rows(*got["worker"], *got["inpage"], *got["hello"], mode)
}

func (h *harness) j6() []Row {
	c := h.cfg
	opts := map[string]any{"runs": c.Runs, "bytes": c.HashBytes}
	if h.sha256Hook != "" {
		opts["hook"] = h.sha256Hook
	}
	rows, err := j6Rows(h.jsPage("J6", "J6", opts), c.Runs)
	h.jFatal("J6", err)
	return rows
}

// contentTypeOf is the media type of a file served by isolatedDir.
func contentTypeOf(file string) string {
	switch filepath.Ext(file) {
	case ".wasm":
		return "application/wasm"
	case ".json":
		return "application/json"
	}
	if t := mime.TypeByExtension(filepath.Ext(file)); t != "" {
		return t
	}
	return "application/octet-stream"
}
