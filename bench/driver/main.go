// Command driver is `make bench`: it builds the benchmark page's wasm
// program (bench/wasm), a Go hello world (bench/hello) and the atelier
// module (./wasm), starts one headless Chromium with a fresh profile through
// the browsertest harness, runs every scenario there with the library and
// its baselines (raw browser APIs, Dexie.js) alternating in the same run,
// and prints one markdown table of medians and ratios. It writes the same
// figures to bench/results.json and regenerates docs/BENCHMARKS.md.
//
// S1-S8 call the library's Go API from bench/wasm; J1-J6 call its
// JavaScript API from bench/js.html and bench/jsbench.mjs, which import
// /wasm/atelier.mjs as a web app does (worker and in-page mode), and also
// report the longest main-thread block of every call.
//
//	cd bench/driver && go run .                  # everything, 5 runs
//	go run . -runs 9 -only S1,S3 -docs=false     # a subset, without touching docs/
//	go run . -only J1,J2 -jsizes 1000,10000 -docs=false
//
// Dexie must be installed in bench/node_modules first (make bench runs
// npm ci in bench/).
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"

	"github.com/atelierstore/atelier/browsertest"
)

// scenarios: S1-S8 measure the library through its Go API (bench/wasm);
// J1-J7 through its JavaScript API, as web apps use it (bench/jsbench.mjs;
// J7 with the sync server).
var scenarios = []string{"S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "J1", "J2", "J3", "J4", "J5", "J6", "J7"}

func main() {
	runs := flag.Int("runs", 5, "measured runs of every scenario, after one warm-up (at least 5)")
	only := flag.String("only", "", "comma-separated scenarios to run (default: all of "+strings.Join(scenarios, ",")+")")
	jsonOut := flag.String("json", "", "where to write the results as JSON (default: bench/results.json of the checkout)")
	docs := flag.Bool("docs", true, "regenerate docs/BENCHMARKS.md (only when every scenario ran)")
	jsizes := flag.String("jsizes", "1000,10000,50000", "J1, J2: comma-separated workflow sizes in nodes; sizes above 10k get -jlarge-runs runs")
	jlarge := flag.Int("jlarge-runs", 2, "J1, J2: measured runs for sizes above 10k nodes (at most -runs)")
	browsers := flag.String("browsers", strings.Join(browsertest.RemoteKinds, ","), "comma-separated other browsers to run S1-S6 in too, next to the same baselines there (absent ones are skipped; \"\" for none)")
	hook := flag.String("sha256-hook", "/bench/sha256.mjs", "J6: the URL path of a module that sets globalThis.atelierSHA256Bench, the streaming SHA-256 to measure against WebCrypto (default: the bridge's hash-wasm)")
	flag.Parse()
	if *runs < 5 {
		fmt.Fprintln(os.Stderr, "bench: -runs must be at least 5")
		os.Exit(2)
	}
	want := scenarios
	if *only != "" {
		want = nil
		for _, s := range strings.Split(*only, ",") {
			s = strings.ToUpper(strings.TrimSpace(s))
			if !slices.Contains(scenarios, s) {
				fmt.Fprintf(os.Stderr, "bench: unknown scenario %q (have %s)\n", s, strings.Join(scenarios, ","))
				os.Exit(2)
			}
			want = append(want, s)
		}
	}
	sizes, err := parseSizes(*jsizes)
	if err != nil || *jlarge < 1 {
		fmt.Fprintf(os.Stderr, "bench: -jsizes %q, -jlarge-runs %d: want sizes like 1000,10000 and at least 1 run\n", *jsizes, *jlarge)
		os.Exit(2)
	}
	cfg := Config{
		Runs:       *runs,
		Nodes:      10000,
		Updates:    30,
		AssetBytes: 64 << 20,
		Tabs:       60,
		TabsGapMS:  20,
		PkgBytes:   100 << 20,
		PkgParts:   4,
		JSizes:     sizes,
		JLargeRuns: *jlarge,
		HashBytes:  64 << 20,
	}
	r := newRunner("bench", os.Stderr)
	var others []string
	for _, k := range strings.Split(*browsers, ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		if !slices.Contains(browsertest.RemoteKinds, k) {
			fmt.Fprintf(os.Stderr, "bench: unknown browser %q in -browsers (have %s)\n", k, strings.Join(browsertest.RemoteKinds, ","))
			os.Exit(2)
		}
		others = append(others, k)
	}
	ok := r.run(func() { bench(r, cfg, want, others, *jsonOut, *docs && len(want) == len(scenarios), *hook) })
	if !ok {
		fmt.Fprintln(os.Stderr, "bench: FAILED")
		os.Exit(1)
	}
}

// Report is what results.json holds.
type Report struct {
	Date     string   `json:"date"`
	Machine  Machine  `json:"machine"`
	Browser  string   `json:"browser"`
	Dexie    string   `json:"dexie"`
	Go       string   `json:"go"`
	Runs     int      `json:"runs"`
	Duration string   `json:"duration"`
	Rows     []Row    `json:"rows"`
	Ran      []string `json:"scenarios"`
	// Info is what the page reported besides the samples, by scenario:
	// record size, asset backend, whether the page was cross-origin
	// isolated (microsecond timers).
	Info map[string]map[string]any `json:"info,omitempty"`
}

// Machine describes the computer the run was on.
type Machine struct {
	CPU      string `json:"cpu"`
	Cores    int    `json:"cores"`
	MemoryGB int    `json:"memoryGiB,omitempty"`
	OS       string `json:"os"`
}

type harness struct {
	r   *runner
	cfg Config
	b   *browsertest.Browser
	tab *browsertest.Tab
	// remote, when not nil, is another browser (Firefox, WebKit) that
	// S1-S6 run in instead of b; page is its benchmark page.
	remote *browsertest.Remote
	page1  *browsertest.Page
	root   string
	wasm   map[string][]byte // bench, hello, atelier
	info   map[string]map[string]any

	kept       map[int]any // J1's stores by size, for J2 to load
	sha256Hook string      // J6
}

func bench(r *runner, cfg Config, want, others []string, jsonOut string, writeDocs bool, sha256Hook string) {
	start := time.Now()
	root, err := findRoot()
	if err != nil {
		r.Fatal(err)
	}
	dexie, err := dexieVersion(root)
	if err != nil {
		r.Fatalf("Dexie is not installed in bench/node_modules (%v): run `make bench`, or `npm ci` in %s", err, filepath.Join(root, "bench"))
	}
	h := &harness{r: r, cfg: cfg, root: root, wasm: map[string][]byte{}, info: map[string]map[string]any{},
		kept: map[int]any{}, sha256Hook: sha256Hook}
	progress("building bench/wasm, bench/hello and ./wasm for js/wasm")
	for name, pkg := range map[string]string{"bench": "./bench/wasm", "hello": "./bench/hello", "atelier": "./wasm"} {
		if h.wasm[name], err = buildWasm(root, pkg); err != nil {
			r.Fatal(err)
		}
	}
	goVersion := goEnv("GOVERSION")

	h.b = browsertest.Start(r, &browsertest.Options{Root: root, Timeout: 10 * time.Minute})
	for name, body := range h.wasm {
		h.b.AddFile(r, "/bench/build/"+name+".wasm", body)
		// The same module as a deployed app serves it: cacheable, so that
		// the browser keeps it in its HTTP cache and V8 its compiled code.
		h.b.Handle(r, "/bench/build/cached/"+name+".wasm", cacheable(body))
	}
	// The benchmark page and its worker are cross-origin isolated, which
	// gives performance.now() a resolution of microseconds instead of
	// 100 µs; everything they load is same-origin.
	for _, p := range []string{"/bench/index.html", "/bench/worker.js"} {
		h.b.Handle(r, p, isolated(filepath.Join(root, filepath.FromSlash(p))))
	}
	h.jsPages()
	ver, err := chromedp.CallBrowser(h.b.Context(), browser.GetVersion, cdp.Empty{})
	if err != nil {
		r.Fatalf("Browser.getVersion: %v", err)
	}
	progress("%s, fresh profile; Dexie %s; %d measured runs per scenario after a warm-up", browserName(ver.Product), dexie, cfg.Runs)

	var rows []Row
	for _, s := range want {
		t0 := time.Now()
		var got []Row
		switch s {
		case "S6":
			got = h.s6()
		case "S8":
			got = h.s8()
		case "J1":
			got = h.j1()
		case "J2":
			got = h.j2()
		case "J3":
			got = h.j3()
		case "J4":
			got = h.j4()
		case "J5":
			got = h.j5()
		case "J6":
			got = h.j6()
		case "J7":
			got = h.j7()
		default:
			got = h.inPage(s)
		}
		for _, row := range got {
			for _, x := range []float64{row.Library.Median, row.Baseline.Median, row.Ratio, row.PairedRatio} {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					r.Fatalf("%s: a figure is missing or zero: %+v", s, row)
				}
			}
		}
		rows = append(rows, got...)
		progress("%s done in %v", s, time.Since(t0).Round(100*time.Millisecond))
	}
	rows = append(rows, h.others(others, want)...)

	rep := Report{
		Date:     time.Now().UTC().Format("2006-01-02 15:04 MST"),
		Machine:  machine(),
		Browser:  browserName(ver.Product),
		Dexie:    dexie,
		Go:       goVersion,
		Runs:     cfg.Runs,
		Duration: time.Since(start).Round(time.Second).String(),
		Rows:     rows,
		Ran:      want,
		Info:     h.info,
	}
	fmt.Print(Tables(rows))
	fmt.Printf("\n%s; %s; %s; %d runs per scenario; %s\n", rep.Machine.String(), rep.Browser, rep.Go, rep.Runs, rep.Duration)

	if jsonOut == "" {
		jsonOut = filepath.Join(root, "bench", "results.json")
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		r.Fatal(err)
	}
	if err := os.WriteFile(jsonOut, append(js, '\n'), 0o644); err != nil {
		r.Fatal(err)
	}
	progress("wrote %s", jsonOut)
	if writeDocs {
		md := filepath.Join(root, "docs", "BENCHMARKS.md")
		if err := os.MkdirAll(filepath.Dir(md), 0o755); err != nil {
			r.Fatal(err)
		}
		if err := os.WriteFile(md, []byte(Markdown(rep, cfg)), 0o644); err != nil {
			r.Fatal(err)
		}
		progress("wrote %s", md)
	}
}

// isolated serves a file with the headers that make a document or worker
// cross-origin isolated.
func isolated(file string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := os.ReadFile(file)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		typ := "text/html; charset=utf-8"
		if strings.HasSuffix(file, ".js") || strings.HasSuffix(file, ".mjs") {
			typ = "text/javascript; charset=utf-8"
		} else if !strings.HasSuffix(file, ".html") {
			typ = contentTypeOf(file)
		}
		w.Header().Set("Content-Type", typ)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Cross-Origin-Opener-Policy", "same-origin")
		w.Header().Set("Cross-Origin-Embedder-Policy", "require-corp")
		_, _ = w.Write(body)
	})
}

// cacheable serves a module with the headers of a deployed, versioned
// asset.
func cacheable(body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "application/wasm")
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Header().Set("ETag", `"bench"`)
		_, _ = w.Write(body)
	})
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// page runs one scenario of bench/wasm in a freshly loaded benchmark page
// (so that no scenario inherits another's Go heap) and decodes its result.
func (h *harness) page(name string, opts map[string]any, inWorker bool) *PageResult {
	tab := h.benchTab()
	tab.Navigate(h.r, "/bench/index.html")
	opts["runs"] = h.cfg.Runs
	o, err := json.Marshal(opts)
	if err != nil {
		h.r.Fatal(err)
	}
	fn := `(n, o) => benchLib.run(n, o)`
	if inWorker {
		fn = `(n, o) => baselines.runInWorker(n, o)`
	}
	out := browsertest.Eval[string](h.r, tab, fn, name, string(o))
	var p PageResult
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		h.r.Fatalf("%s: decoding the result: %v", name, err)
	}
	if len(p.Info) > 0 {
		h.info[name] = p.Info
	}
	return &p
}

func (h *harness) inPage(s string) []Row {
	c := h.cfg
	var rows []Row
	var err error
	switch s {
	case "S1":
		rows, err = s1Rows(h.page("S1", map[string]any{"n": c.Nodes}, false), c)
	case "S2":
		rows, err = s2Rows(h.page("S2", map[string]any{"samples": c.Updates}, false), c)
	case "S3":
		rows, err = s3Rows(h.page("S3", map[string]any{"n": c.Nodes}, false), c)
	case "S4":
		rows, err = s4Rows(h.page("S4", map[string]any{"bytes": c.AssetBytes}, false), c)
	case "S5":
		rows, err = s5Rows(h.page("S5", map[string]any{"bytes": c.AssetBytes}, true), c)
	case "S7":
		rows, err = s7Rows(h.page("S7", map[string]any{"bytes": c.PkgBytes, "parts": c.PkgParts}, false), c)
	}
	if err != nil {
		h.r.Fatalf("%s: %v", s, err)
	}
	return rows
}

// s6 measures a change in tab A reaching a watcher in tab B, and a raw
// BroadcastChannel round trip between the same tabs, alternating run by run.
func (h *harness) s6() []Row {
	c := h.cfg
	a, closeA := h.newPage("A")
	b, closeB := h.newPage("B")
	defer closeA()
	defer closeB()
	a.Navigate(h.r, "/bench/index.html")
	b.Navigate(h.r, "/bench/index.html")
	run := func(tab benchPage, name string, o map[string]any) string {
		j, _ := json.Marshal(o)
		return browsertest.Eval[string](h.r, tab, `(n, o) => benchLib.run(n, o)`, name, string(j))
	}
	const db = "bench-s6"
	var ids struct{ WF, Node string }
	if err := json.Unmarshal([]byte(run(a, "S6.setup", map[string]any{"name": db})), &ids); err != nil {
		h.r.Fatal(err)
	}
	run(b, "S6.watch", map[string]any{"name": db, "wf": ids.WF, "node": ids.Node})
	browsertest.Eval[any](h.r, b, `() => baselines.bcEcho("bench-echo")`)

	var visible, afterAck, rt [][]float64
	seenTotal, sentTotal := 0, 0
	for i := -1; i < c.Runs; i++ {
		for _, who := range order(i+1, "library", "raw") {
			if who == "raw" {
				s := browsertest.Eval[[]float64](h.r, a, `(n, g) => baselines.bcRoundTrips("bench-echo", n, g)`, c.Tabs, c.TabsGapMS)
				if i >= 0 {
					rt = append(rt, s)
				}
				continue
			}
			key := float64(i+2) * 1e6
			var sent struct{ Sent, Acked map[string]float64 }
			out := run(a, "S6.update", map[string]any{"name": db, "wf": ids.WF, "node": ids.Node,
				"samples": c.Tabs, "gapMs": c.TabsGapMS, "key": key})
			if err := json.Unmarshal([]byte(out), &sent); err != nil {
				h.r.Fatal(err)
			}
			// A watcher holds only the latest snapshot: wait for the last
			// change, then take what was seen.
			last := strconv.FormatFloat(key+float64(c.Tabs), 'f', -1, 64)
			b.WaitFor(h.r, `(k) => benchLib.run("S6.seen", "{}").then((s) => JSON.parse(s)[k] !== undefined)`, 30*time.Second, last)
			var seen map[string]float64
			if err := json.Unmarshal([]byte(run(b, "S6.seen", map[string]any{})), &seen); err != nil {
				h.r.Fatal(err)
			}
			var v, va []float64
			for k, t0 := range sent.Sent {
				if at, ok := seen[k]; ok {
					v = append(v, at-t0)
					va = append(va, at-sent.Acked[k])
				}
			}
			if i >= 0 {
				visible, afterAck = append(visible, v), append(afterAck, va)
				seenTotal += len(v)
				sentTotal += len(sent.Sent)
			}
		}
	}
	rows := s6Rows(visible, afterAck, rt, c)
	rows[0].Note += fmt.Sprintf("; the watcher saw %d of %d changes (it keeps only the latest snapshot)", seenTotal, sentTotal)
	return rows
}

// s8 reports the gzipped sizes of the atelier module and of a Go hello
// world, and their start-up times over fresh page loads: each load in a new
// tab, with no other tab of the origin open, so that no compiled module
// survives from an earlier load.
func (h *harness) s8() []Row {
	if h.tab != nil {
		h.tab.Close()
		h.tab = nil
	}
	var libReady, libLoad, helloReady []float64
	for i := -1; i < h.cfg.Runs; i++ {
		for _, m := range order(i+1, "atelier", "hello") {
			t := h.b.NewTab(h.r, "start-up-"+m)
			t.Navigate(h.r, "/bench/ready.html?m="+m)
			res := browsertest.Eval[struct{ Load, Ready float64 }](h.r, t, `() => globalThis.readyResult`)
			t.Close()
			if i < 0 {
				continue
			}
			if m == "atelier" {
				libReady, libLoad = append(libReady, res.Ready), append(libLoad, res.Load)
			} else {
				helloReady = append(helloReady, res.Ready)
			}
		}
	}
	// Warm: the module served cacheable; the first loads fill the HTTP
	// cache and V8's code cache (which Chromium fills for modules compiled
	// by instantiateStreaming from a cacheable response, once their code is
	// optimised), the measured loads reuse them.
	var warmReady, warmHello []float64
	const warmUps = 4
	for i := -warmUps; i < h.cfg.Runs; i++ {
		for _, m := range order(i+warmUps, "atelier", "hello") {
			t := h.b.NewTab(h.r, "warm-start-up-"+m)
			t.Navigate(h.r, "/bench/ready.html?cached&m="+m)
			res := browsertest.Eval[struct{ Load, Ready float64 }](h.r, t, `() => globalThis.readyResult`)
			if i == -warmUps {
				// Let V8 finish optimising and write its code cache.
				time.Sleep(3 * time.Second)
			}
			t.Close()
			if i < 0 {
				continue
			}
			if m == "atelier" {
				warmReady = append(warmReady, res.Ready)
			} else {
				warmHello = append(warmHello, res.Ready)
			}
		}
	}
	rows := s8Rows(gzipSize(h.wasm["atelier"]), gzipSize(h.wasm["hello"]),
		brotliSize(h.root, h.wasm["atelier"]), brotliSize(h.root, h.wasm["hello"]),
		int64(len(h.wasm["atelier"])), int64(len(h.wasm["hello"])), libReady, libLoad, helloReady)
	return append(rows, newRow("S8", "start-up, warm: cached module, first API call answered",
		figure("load + open + listWorkflows", "ms", warmReady),
		figure("hello world's first output", "ms", warmHello),
		Target{}, "the module served cacheable and loaded before, as a returning visitor gets it"))
}

func order(i int, cs ...string) []string {
	out := make([]string, len(cs))
	for j := range cs {
		out[j] = cs[(i+j)%len(cs)]
	}
	return out
}

// dexieVersion reads the version of the installed Dexie.
func dexieVersion(root string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "bench", "node_modules", "dexie", "package.json"))
	if err != nil {
		return "", err
	}
	var pkg struct{ Version string }
	if err := json.Unmarshal(b, &pkg); err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(root, "bench", "node_modules", "dexie", "dist", "dexie.mjs")); err != nil {
		return "", err
	}
	return pkg.Version, nil
}

// browserName is the browser's product and version, with the binary the
// harness runs (as browsertest finds it).
func browserName(product string) string {
	exe := os.Getenv("BROWSERTEST_CHROME")
	if exe == "" {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
			if p, err := exec.LookPath(name); err == nil {
				exe = p
				break
			}
		}
	}
	if exe == "" {
		return product
	}
	return product + " (" + exe + ")"
}

func gzipSize(b []byte) int64 {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = w.Write(b)
	_ = w.Close()
	return int64(buf.Len())
}

// brotliSize is the size of b compressed as make package compresses the
// module (scripts/brotli.mjs, with Node.js); 0 when that cannot run.
func brotliSize(root string, b []byte) int64 {
	dir, err := os.MkdirTemp("", "atelier-bench-br")
	if err != nil {
		return 0
	}
	defer os.RemoveAll(dir)
	in, out := filepath.Join(dir, "m.wasm"), filepath.Join(dir, "m.wasm.br")
	if os.WriteFile(in, b, 0o644) != nil {
		return 0
	}
	if msg, err := exec.Command("node", filepath.Join(root, "scripts", "brotli.mjs"), in, out).CombinedOutput(); err != nil {
		progress("brotli size: %v %s", err, msg)
		return 0
	}
	st, err := os.Stat(out)
	if err != nil {
		return 0
	}
	return st.Size()
}

// buildWasm builds a package of the checkout for js/wasm with the flags of
// `make build`.
func buildWasm(root, pkg string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "atelier-bench")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "out.wasm")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("GOOS=js GOARCH=wasm go build %s: %v\n%s", pkg, err, msg)
	}
	return os.ReadFile(out)
}

func goEnv(key string) string {
	out, err := exec.Command("go", "env", key).Output()
	if err != nil {
		return runtime.Version()
	}
	return strings.TrimSpace(string(out))
}

// findRoot returns the checkout: the first directory, from the working
// directory up, whose go.mod declares the library's module.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			s := bufio.NewScanner(bytes.NewReader(b))
			for s.Scan() {
				if m, ok := strings.CutPrefix(strings.TrimSpace(s.Text()), "module "); ok &&
					strings.Trim(strings.TrimSpace(m), `"`) == "github.com/atelierstore/atelier" {
					return dir, nil
				}
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of github.com/atelierstore/atelier in the working directory or above it")
		}
		dir = parent
	}
}

func machine() Machine {
	m := Machine{Cores: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, CPU: "unknown"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	} else if out, err := exec.Command("sysctl", "-n", "machdep.cpu.brand_string").Output(); err == nil {
		m.CPU = strings.TrimSpace(string(out))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			m.MemoryGB = int(math.Round(float64(kb) / (1 << 20)))
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.OS += ", kernel " + strings.TrimSpace(string(b))
	}
	return m
}

func (m Machine) String() string {
	s := fmt.Sprintf("%s, %d cores", m.CPU, m.Cores)
	if m.MemoryGB > 0 {
		s += fmt.Sprintf(", %d GiB", m.MemoryGB)
	}
	return s + ", " + m.OS
}
