package main

import (
	"fmt"
	"strings"
)

// Markdown renders docs/BENCHMARKS.md for a complete run.
func Markdown(rep Report, c Config) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Benchmarks\n\n")
	w("This file is written by `make bench` (bench/driver); rerun it rather than editing by hand.\n")
	w("It compares the library with the same work done by raw browser APIs and by\n")
	w("[Dexie.js](https://dexie.org) 4, all measured in one headless Chromium, in one run:\n")
	w("S1-S8 through the library's Go API, J1-J7 through its JavaScript API, as web apps use it.\n")
	w("S1-S6 also run in Firefox and WebKit where they are installed (`-browsers`), each\n")
	w("against the same baselines in that browser.\n\n")
	w("## This run\n\n")
	w("| | |\n|---|---|\n")
	w("| date | %s |\n", rep.Date)
	w("| machine | %s |\n", rep.Machine.String())
	w("| browser | %s, headless, fresh profile |\n", rep.Browser)
	w("| Dexie.js | %s |\n", rep.Dexie)
	w("| Go | %s |\n", rep.Go)
	w("| runs | %d measured runs of every scenario, after one warm-up run |\n", rep.Runs)
	w("| duration | %s (the driver, wasm builds included) |\n\n", rep.Duration)
	w("## Results\n\n")
	w("%s\n", Tables(rep.Rows))
	w("Ratio = this library / baseline, of the medians above: for times lower is better,\n")
	w("for MiB/s higher is better. \"met\" and \"not met\" follow from these numbers and the\n")
	w("target; \"info\" rows have no target of their own (another path of the library,\n")
	w("or another view of a figure). bench/results.json (not committed) has every\n")
	w("run's figure, and the paired ratio: the median of the per-run ratios.\n\n")
	var notes []string
	seen := map[string]bool{}
	for _, r := range rep.Rows {
		if r.Note != "" && !seen[r.Note] { // the same note on several rows (sizes) once
			seen[r.Note] = true
			notes = append(notes, fmt.Sprintf("- %s %s: %s.", r.ID, r.Scenario, r.Note))
		}
	}
	if len(notes) > 0 {
		w("Notes:\n\n%s\n\n", strings.Join(notes, "\n"))
	}
	w("## How it measures\n\n")
	w(`One Chromium, one profile, one origin (127.0.0.1). The library side runs in
bench/wasm, a Go program compiled to wasm that calls the library's public Go API
(idb, assets) and times each call from the Go side; in the same loop it calls the
JavaScript baselines of bench/baselines.mjs, which time themselves with
performance.now(). The contenders take turns within every run, in a rotating
order, so that a busy machine slows them alike; every scenario starts from a
freshly loaded page. Each contender has its own database or OPFS directory. The
records are the same for every contender: realistic nodes (ids, type, title,
status, position, size and a model configuration, about 450 bytes each as
JSON), made in Go and handed to JavaScript as the same objects.
IndexedDB writes use durability "relaxed" on all sides, as the library does.
The benchmark page and its worker are cross-origin isolated (COOP and COEP
headers), which gives performance.now() microsecond resolution.

- S1: SetNodes of %d new nodes into a new workflow, against a raw put loop in
  one readwrite transaction (until oncomplete) and Dexie's bulkPut. Before
  every run (untimed) each side gets a new empty database, so that all three
  write into the same state (removing 10k records one by one, as deleting a
  workflow does, leaves the database work to do that a clear() does not).
- S2: UpdateNode (a move) of one node of a 100-node workflow, which returns
  after the commit, against a raw put of the node's object in its own
  transaction until oncomplete; %d updates per run and contender, alternating
  one by one; the p50 of each run.
- S3: LoadWorkflow of %d nodes into Go structs, against a raw getAll on the
  workflowId index and Dexie's where("workflowId").equals(id).toArray().
- S4: a %d MiB asset on the page's main thread. The library's page path is
  PutBlob (a Blob whose bytes never pass through Go, hashed with WebCrypto)
  and Blob().arrayBuffer(); its Go path is Put from a []byte (written by its
  helper worker, then read back and hashed with WebCrypto) and Open with io.Copy. The baseline is
  createWritable().write(blob) and getFile().arrayBuffer(). The target rows
  are the page path; the Go path rows inform. Every contender stores content
  no other stored, so deduplication never skips a write.
- S5: the same in a dedicated worker (bench/worker.js), where the library
  runs too. The target rows are its worker mode: Put from a []byte, written
  with a sync access handle, and Open with io.Copy (read through read-only
  sync access handles); PutBlob there
  (createWritable and WebCrypto) informs. The baseline writes and reads with
  a sync access handle.
- S6: tabs A and B with the benchmark page; A moves a node (UpdateNode)
  %d times per run, %.0f ms apart, and B's WatchWorkflow records when each
  position first appears. Times come from performance.timeOrigin +
  performance.now(), which the tabs share. The baseline is a raw
  BroadcastChannel message from A echoed by B (a round trip). A watcher keeps
  only the latest snapshot, so under load some positions are coalesced away;
  the row's note says how many were seen.
- S7: Export of a workflow whose nodes hold %d assets (%d MiB in all) into a
  Blob, as the JavaScript API's exportWorkflow does, then Import of that
  package into a fresh database and OPFS directory (nothing deduplicated). The
  baseline writes the same package bytes to an OPFS file with createWritable
  and reads them back with getFile().arrayBuffer(). Media assets travel as
  Blobs: Export appends the assets' stored files to the package Blob, with
  the SHA-256 and CRC-32 their records kept from when PutBlob stored them (an
  asset stored before records had a CRC-32 is read to compute it); Import
  stores slices of the package File through the store's Blob path (written
  by the browser while WebCrypto hashes them, no CRC-32), two assets at a
  time. The baseline writes the Blob Export returned.
- S8: sizes are gzip -9 and brotli (quality 11, window 24: the .wasm.gz and
  .wasm.br make package ships) of the modules built with -trimpath
  -ldflags="-s -w" (as make build does), in MB of 10^6 bytes. wasm-opt
  (binaryen 108 and 132, -O2 and -Oz) made atelier.wasm 7-9%% smaller raw
  but no smaller compressed (gzip -0.2 to +0.1%%, brotli +1.3%%) in 17-95 s,
  so the build does not run it. Start-up is timed in fresh page
  loads, each in a new tab with no other tab of the origin open: from just
  before the module is fetched and instantiated (wasm_exec.js and atelier.mjs
  already loaded) until atelier.open() and listWorkflows() have answered; the
  module is served with Cache-Control: no-store, so it is compiled every time.
  The warm row serves the same modules cacheable (max-age, immutable) and
  measures after four loads, the first followed by a 3 s pause: the loads
  reuse the HTTP cache and V8's compiled code, as a returning visitor's do.
  The baseline is a Go hello world (fmt.Println), until its first output.

### The JavaScript API (J1-J7)

The J scenarios measure what a web app runs: bench/js.html with
bench/jsbench.mjs imports the public module /wasm/atelier.mjs and calls
load(), open() and the methods of atelier.d.ts, built from the checkout as
make build builds them, in the same page as Dexie.js and raw IndexedDB / OPFS
(the functions of bench/baselines.mjs). Each scenario (and each size of J1
and J2) runs in a freshly loaded page. Every call is timed by the page with
performance.now() around the awaited call and, in a series of its own, by
the longest main-thread block during it: a setTimeout(0) heartbeat runs from
just before the call until it resolves, and the longest gap between two beats
(the start and the end count as beats) is the longest the page could not
handle input or render. Nested timers are clamped to about 4 ms, so an idle
page shows about 4 ms; the target for a call in worker mode is one frame,
%d ms. The contenders take turns within every run in a rotating order, after
a warm-up. atelier runs as two contenders: worker mode (open({name, worker:
true}): the engine in a dedicated worker, the page posting messages) and
in-page mode (open({name, worker: false})). When open() does not know the
worker option (it rejects unknown keys with Invalid), both open the default
way and the worker rows say "mode unavailable: ran in-page". Nodes have the
shape of the Go scenarios' (about 450 bytes as JSON); atelier gets them as
an app passes them to setNodes (without updatedAt and version, which the
store sets), raw and Dexie as the whole record an app would store itself.
The page is cross-origin isolated, as the Go scenarios' is.

- J1: setNodes of N nodes (N = %s) into a new workflow, against Dexie's
  bulkPut and a raw put loop in one transaction. Every run each contender
  writes into a store of its own created afresh (untimed), and the stores of
  a run are deleted before the next (untimed). %s
- J2: loadWorkflow of the N nodes J1 left in each contender's store (made
  afresh, untimed, when J1 did not run), against Dexie's
  where("workflowId").equals(id).toArray() and a raw getAll on the workflowId
  index; the same runs per size as J1.
- J3: updateNode(wf, id, {position}) of one node of a 100-node workflow,
  until the promise resolves (the write is committed), against a raw put of
  the node's object in its own transaction until oncomplete; %d updates per
  run and contender, taking turns call by call, after 20 warm-up calls; the
  p50 of each run, and the longest block of any update in the run.
- J4: putAsset of a %d MiB Blob of pseudo-random bytes (made once; every write
  gets its own first 16 bytes, so that nothing is deduplicated), then
  assetBytes(ref) (an ArrayBuffer; in worker mode the worker reads it and
  transfers it, so the page does no work for it), against a raw OPFS
  createWritable().write(blob) and getFile().arrayBuffer() from the page.
  Assets and files are deleted after each run (untimed). Reading 64 MiB into
  an ArrayBuffer on the main thread blocks it for tens of ms (the raw block
  row shows how long).
- J5: start-up in fresh page loads, each in a new tab with no other tab of
  the origin open: from just before load() (which loads atelier-bridge.js and
  the module, served no-store and compiled each time; Go's wasm_exec.mjs comes
  with atelier.mjs, before the clock, in the page, and after it, in the worker)
  until listWorkflows() of the workspace just opened has answered, in worker
  and in-page mode; the baseline loads wasm_exec.js and a Go hello world,
  until its first output. The block rows are the longest main-thread block
  of the same span.
- J6: SHA-256 of %d MiB in the page with WebCrypto's crypto.subtle.digest (the
  whole buffer at once): the baseline for a streaming SHA-256. The page calls
  globalThis.atelierSHA256Bench(blob, bytes) when it exists (the driver's
  -sha256-hook flag names a module that sets it; it must resolve to the hex
  digest, which is checked against WebCrypto's), and the row then compares
  the two. The default hook, bench/sha256.mjs, feeds the bridge's streaming
  SHA-256 (hash-wasm's) the bytes 4 MiB at a time: the hash alone, as the
  digest worker runs it on the chunks putAsset writes (J4 has the reads).
- J7: a change made by server code, until an open tab shows it. The driver
  runs the reference sync server (server/cmd/atelier-sync, SQLite) and opens a
  database with sync in a fresh page (worker mode), watching a workflow of one
  node. %d times it patches the node's status through the server's node route
  (as server code writes, Workspace.UpdateNode) and times from just before the
  request until the page's watchWorkflow callback sees the new status, on this
  machine's one clock; each write waits 20 ms plus a random part of a poll
  interval after the last one was seen, so that writes fall at random moments
  of the polls. Once with live
  push (the engine listens on the server's watch route and pulls on each
  announcement), once polling only (sync live: false) every %d ms. The rows
  give the p50, p95 and slowest write of each mode.

## Running it

    make bench                  # npm ci in bench/, then cd bench/driver && go run .
    make bench BENCH_RUNS=9     # more runs
    cd bench/driver && go run . -only S1,S3 -docs=false   # a subset; leaves this file alone
    cd bench/driver && go run . -only J1,J2 -jsizes 1000,10000 -docs=false

make bench needs Go, npm and Chromium or Chrome. Dexie is pinned in
bench/package.json and bench/package-lock.json and installed into
bench/node_modules (not committed). Absolute figures drift with the machine's
load; the ratios, measured with the contenders alternating in one run, hold
better. The benchmarks inside the packages (go test -bench) remain, for work on
one package; make bench-packages runs the main ones.
`, c.Nodes, c.Updates, c.Nodes, c.AssetBytes>>20, c.Tabs, c.TabsGapMS, c.PkgParts, c.PkgBytes>>20,
		blockTarget, sizeList(c.JSizes), largeRuns(c), c.Updates, c.AssetBytes>>20, c.HashBytes>>20, liveWrites, livePollMS)
	return b.String()
}

// sizeList is 1000, 10000, 50000 -> "1k, 10k and 50k".
func sizeList(ns []int) string {
	var parts []string
	for _, n := range ns {
		parts = append(parts, sizeLabel(n))
	}
	if len(parts) < 2 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// largeRuns says how many runs the sizes above 10k nodes get.
func largeRuns(c Config) string {
	if c.jRuns(10001) == c.Runs {
		return "Sizes above 10k warm up with 10k nodes."
	}
	return fmt.Sprintf("Sizes above 10k get %d measured runs instead of %d (a 50k write\n  takes seconds per contender), and warm up with 10k nodes.", c.jRuns(10001), c.Runs)
}
