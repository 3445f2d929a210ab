package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The rows of the JavaScript scenarios (J1-J6, bench/jsbench.mjs). Their
// pages return, per contender ("worker", "inpage", "dexie", "raw") and
// operation, a series of times ("worker.write") and one of the longest
// main-thread block during each call ("worker.writeBlock"), both in ms.

// blockTarget is the longest main-thread block a call of the worker mode
// may cause: one frame at 60 Hz.
const blockTarget = 16

// workerModeUnavailable is what the page reports (info.workerMode) when
// open() does not know the worker option yet: both atelier contenders then
// run in the page, and the rows say so.
const workerModeUnavailable = "unavailable"

// contenderName is how a row names an atelier contender ("worker" or
// "inpage"), given the page's info.workerMode.
func contenderName(who, mode string) string {
	switch {
	case who == "worker" && mode == workerModeUnavailable:
		return "atelier worker (mode unavailable: ran in-page)"
	case who == "worker":
		return "atelier worker"
	case who == "inpage":
		return "atelier in-page"
	}
	return who
}

// longest is the largest sample: per run, the longest block of any call.
func longest(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	m := xs[0]
	for _, x := range xs[1:] {
		m = max(m, x)
	}
	return m
}

// workerMode reads the page's info.workerMode ("" when absent).
func (p *PageResult) workerMode() string {
	s, _ := p.Info["workerMode"].(string)
	return s
}

// sizeLabel is 1000 -> "1k", 50000 -> "50k", 500 -> "500".
func sizeLabel(n int) string {
	if n >= 1000 && n%1000 == 0 {
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

// jGraphRows makes the rows of J1 (what = "write") and J2 ("load") for
// one size: the worker and in-page times against Dexie's (the worker's
// with target), the worker's against raw (info), and the longest blocks.
func jGraphRows(p *PageResult, runs int, id, scenario, what, dexieName, rawName string) ([]Row, error) {
	mode := p.workerMode()
	w, ip := contenderName("worker", mode), contenderName("inpage", mode)
	blockNote := "longest gap of a setTimeout(0) heartbeat during the call; about 4 ms when the page is idle"
	if mode == workerModeUnavailable {
		blockNote += "; open() does not take the worker option yet, so both atelier contenders ran in the page"
	}
	return p.timeRows(runs,
		timeRow{id: id, scenario: scenario, lib: "worker." + what, libName: w, base: "dexie." + what, baseName: dexieName,
			stat: single, target: atMost(1.0)},
		timeRow{id: id, scenario: scenario, lib: "inpage." + what, libName: ip, base: "dexie." + what, baseName: dexieName,
			stat: single},
		timeRow{id: id, scenario: scenario, lib: "worker." + what, libName: w, base: "raw." + what, baseName: rawName,
			stat: single},
		timeRow{id: id, scenario: scenario + ": longest main-thread block", lib: "worker." + what + "Block", libName: w,
			base: "dexie." + what + "Block", baseName: "Dexie", stat: single, target: absAtMost(blockTarget, "ms"), note: blockNote},
		timeRow{id: id, scenario: scenario + ": longest main-thread block", lib: "inpage." + what + "Block", libName: ip,
			base: "raw." + what + "Block", baseName: "raw", stat: single},
	)
}

func j1Rows(p *PageResult, runs, n int) ([]Row, error) {
	return jGraphRows(p, runs, "J1", fmt.Sprintf("setNodes, %s nodes into a new workflow", sizeLabel(n)),
		"write", "Dexie bulkPut", "raw put loop, one tx")
}

func j2Rows(p *PageResult, runs, n int) ([]Row, error) {
	return jGraphRows(p, runs, "J2", fmt.Sprintf("loadWorkflow of %s nodes", sizeLabel(n)),
		"load", "Dexie where().equals().toArray()", "raw index getAll")
}

func j3Rows(p *PageResult, runs, samples int) ([]Row, error) {
	mode := p.workerMode()
	w, ip := contenderName("worker", mode), contenderName("inpage", mode)
	const scen = "updateNode (a move) in a 100-node workflow, until resolved"
	return p.timeRows(runs,
		timeRow{id: "J3", scenario: scen + " (p50)", lib: "worker.update", libName: w + " p50",
			base: "raw.update", baseName: "raw put + commit p50", stat: p50, target: atMost(1.5),
			note: fmt.Sprintf("%d updates per run and contender, taking turns call by call", samples)},
		timeRow{id: "J3", scenario: scen + " (p50)", lib: "inpage.update", libName: ip + " p50",
			base: "raw.update", baseName: "raw put + commit p50", stat: p50},
		timeRow{id: "J3", scenario: "longest main-thread block of a run's updates", lib: "worker.updateBlock", libName: w,
			base: "raw.updateBlock", baseName: "raw", stat: longest,
			note: "for calls this short the gap is at most the call's own time"},
		timeRow{id: "J3", scenario: "longest main-thread block of a run's updates", lib: "inpage.updateBlock", libName: ip,
			base: "raw.updateBlock", baseName: "raw", stat: longest},
	)
}

func j4Rows(p *PageResult, runs int) ([]Row, error) {
	mode := p.workerMode()
	w, ip := contenderName("worker", mode), contenderName("inpage", mode)
	mib := p.Bytes >> 20
	write := fmt.Sprintf("putAsset of a %d MiB Blob", mib)
	read := fmt.Sprintf("%d MiB asset read: assetBytes(ref)", mib)
	rates, err := p.rateRows(runs,
		rateRow{id: "J4", scenario: write, lib: []string{"worker.write"}, libName: w,
			base: []string{"raw.write"}, baseName: "raw OPFS createWritable", target: atLeast(0.8)},
		rateRow{id: "J4", scenario: write, lib: []string{"inpage.write"}, libName: ip,
			base: []string{"raw.write"}, baseName: "raw OPFS createWritable"},
		rateRow{id: "J4", scenario: read, lib: []string{"worker.read"}, libName: w,
			base: []string{"raw.read"}, baseName: "raw getFile().arrayBuffer()", target: atLeast(0.8)},
		rateRow{id: "J4", scenario: read, lib: []string{"inpage.read"}, libName: ip,
			base: []string{"raw.read"}, baseName: "raw getFile().arrayBuffer()"},
	)
	if err != nil {
		return nil, err
	}
	blocks, err := p.timeRows(runs,
		timeRow{id: "J4", scenario: write + ": longest main-thread block", lib: "worker.writeBlock", libName: w,
			base: "raw.writeBlock", baseName: "raw", stat: single, target: absAtMost(blockTarget, "ms")},
		timeRow{id: "J4", scenario: write + ": longest main-thread block", lib: "inpage.writeBlock", libName: ip,
			base: "raw.writeBlock", baseName: "raw", stat: single},
		timeRow{id: "J4", scenario: "asset read: longest main-thread block", lib: "worker.readBlock", libName: w,
			base: "raw.readBlock", baseName: "raw", stat: single, target: absAtMost(blockTarget, "ms"),
			note: fmt.Sprintf("arrayBuffer() of %d MiB on the main thread blocks it whoever stored the bytes: the raw figure is the floor", mib)},
		timeRow{id: "J4", scenario: "asset read: longest main-thread block", lib: "inpage.readBlock", libName: ip,
			base: "raw.readBlock", baseName: "raw", stat: single},
	)
	return append(rates, blocks...), err
}

// startup is J5's samples of one contender over fresh page loads.
type startup struct {
	Ready, Block []float64
}

// j5Rows: worker and in-page start-up against a Go hello world's, one
// sample per fresh page load.
func j5Rows(worker, inpage, hello startup, mode string) []Row {
	w, ip := contenderName("worker", mode), contenderName("inpage", mode)
	const scen = "start-up: load() to listWorkflows() answered"
	note := "fresh page loads; the clock starts before load(), which fetches atelier-bridge.js and the module (compiled each time; the worker also its modules)"
	return []Row{
		newRow("J5", scen, figure(w, "ms", worker.Ready), figure("hello world's first output", "ms", hello.Ready), Target{}, note),
		newRow("J5", scen, figure(ip, "ms", inpage.Ready), figure("hello world's first output", "ms", hello.Ready), Target{}, ""),
		newRow("J5", "start-up: longest main-thread block", figure(w, "ms", worker.Block),
			figure("hello world", "ms", hello.Block), Target{}, ""),
		newRow("J5", "start-up: longest main-thread block", figure(ip, "ms", inpage.Block),
			figure("hello world", "ms", hello.Block), Target{}, ""),
	}
}

// j6Rows: WebCrypto's SHA-256 rate, alone (a row without a baseline) or,
// when the page has the streaming hook, as the baseline of the hook's.
func j6Rows(p *PageResult, runs int) ([]Row, error) {
	mib := p.Bytes >> 20
	scen := fmt.Sprintf("SHA-256 of %d MiB in the page", mib)
	label, _ := p.Info["hook"].(string)
	if label == "" {
		s, err := p.series("webcrypto.hash", runs)
		if err != nil {
			return nil, err
		}
		if p.Bytes <= 0 {
			return nil, fmt.Errorf("J6: the page reported no size")
		}
		return []Row{soloRow("J6", scen, figure("WebCrypto digest (whole buffer)", "MiB/s",
			throughput(perRun(s, single), p.Bytes)),
			"no streaming SHA-256 yet: the baseline for one (the page calls globalThis.atelierSHA256Bench(blob, bytes) when it exists)")}, nil
	}
	// The target is 400 MB/s, in the MiB/s the rows print.
	return p.rateRows(runs, rateRow{id: "J6", scenario: scen, lib: []string{"hook.hash"}, libName: label,
		base: []string{"webcrypto.hash"}, baseName: "WebCrypto digest (whole buffer)", target: absAtLeast(381, "MiB/s"),
		note: "the streaming hash from globalThis.atelierSHA256Bench against WebCrypto's whole-buffer digest; the target is 400 MB/s (381 MiB/s)"})
}

// soloRow is a row with one figure and no baseline (its ratio is 0 and
// shows as —).
func soloRow(id, scenario string, f Figure, note string) Row {
	return Row{ID: id, Scenario: scenario, Library: f, Target: Target{}.String(), Note: note}
}

// isJS tells the rows of the JavaScript scenarios from those of the Go API.
func isJS(r Row) bool { return strings.HasPrefix(r.ID, "J") }

// splitRows returns the rows of the Go API (S*) and those of the
// JavaScript API (J*), each in their order.
func splitRows(rows []Row) (goRows, jsRows []Row) {
	for _, r := range rows {
		if isJS(r) {
			jsRows = append(jsRows, r)
		} else {
			goRows = append(goRows, r)
		}
	}
	return goRows, jsRows
}

// parseSizes reads a comma-separated list of positive sizes ("1000,10000").
func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad size %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}
