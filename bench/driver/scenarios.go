package main

import (
	"fmt"
)

// Config sizes the scenarios.
type Config struct {
	Runs       int     // measured runs of every scenario (after a warm-up)
	Nodes      int     // S1, S3
	Updates    int     // S2: updates per run and contender
	AssetBytes int     // S4, S5
	Tabs       int     // S6: changes per run
	TabsGapMS  float64 // S6: pause between changes
	PkgBytes   int     // S7: assets in the package, in total
	PkgParts   int     // S7: how many assets
	JSizes     []int   // J1, J2: nodes per workflow, one page per size
	JLargeRuns int     // J1, J2: measured runs for sizes above 10k (0: Runs)
	HashBytes  int     // J6
}

// series returns the runs of series name, or an error naming what the page
// returned instead.
func (p *PageResult) series(name string, runs int) ([][]float64, error) {
	s, ok := p.Series[name]
	if !ok {
		return nil, fmt.Errorf("the page returned no series %q (it has %v)", name, keys(p.Series))
	}
	if len(s) != runs {
		return nil, fmt.Errorf("series %q has %d runs, want %d", name, len(s), runs)
	}
	for i, r := range s {
		if len(r) == 0 {
			return nil, fmt.Errorf("series %q: run %d has no samples", name, i)
		}
	}
	return s, nil
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// single is the statistic of runs with one sample each.
func single(xs []float64) float64 { return median(xs) }

// timeRows makes rows comparing the times of a library series with
// baselines, one row per baseline.
type timeRow struct {
	id, scenario   string
	lib, libName   string
	base, baseName string
	stat           func([]float64) float64
	target         Target
	note           string
}

func (p *PageResult) timeRows(runs int, specs ...timeRow) ([]Row, error) {
	var rows []Row
	for _, s := range specs {
		l, err := p.series(s.lib, runs)
		if err != nil {
			return nil, err
		}
		b, err := p.series(s.base, runs)
		if err != nil {
			return nil, err
		}
		rows = append(rows, newRow(s.id, s.scenario,
			figure(s.libName, "ms", perRun(l, s.stat)),
			figure(s.baseName, "ms", perRun(b, s.stat)),
			s.target, s.note))
	}
	return rows, nil
}

// rateRow compares throughputs: the library's series (summed when several)
// against the baseline's, over bytes per sample.
type rateRow struct {
	id, scenario string
	lib          []string
	libName      string
	base         []string
	baseName     string
	target       Target
	note         string
}

func (p *PageResult) sum(names []string, runs int) ([][]float64, error) {
	var total [][]float64
	for _, n := range names {
		s, err := p.series(n, runs)
		if err != nil {
			return nil, err
		}
		if total == nil {
			total = s
		} else {
			total = sumRuns(total, s)
		}
	}
	return total, nil
}

func (p *PageResult) rateRows(runs int, specs ...rateRow) ([]Row, error) {
	var rows []Row
	for _, s := range specs {
		l, err := p.sum(s.lib, runs)
		if err != nil {
			return nil, err
		}
		b, err := p.sum(s.base, runs)
		if err != nil {
			return nil, err
		}
		if p.Bytes <= 0 {
			return nil, fmt.Errorf("%s: the page reported no size", s.id)
		}
		rows = append(rows, newRow(s.id, s.scenario,
			figure(s.libName, "MiB/s", throughput(perRun(l, single), p.Bytes)),
			figure(s.baseName, "MiB/s", throughput(perRun(b, single), p.Bytes)),
			s.target, s.note))
	}
	return rows, nil
}

func s1Rows(p *PageResult, c Config) ([]Row, error) {
	scen := fmt.Sprintf("write %dk nodes of one workflow", c.Nodes/1000)
	return p.timeRows(c.Runs,
		timeRow{id: "S1", scenario: scen, lib: "library", libName: "SetNodes", base: "raw", baseName: "raw JS put loop, one tx",
			stat: single, target: atMost(1.10)},
		timeRow{id: "S1", scenario: scen, lib: "library", libName: "SetNodes", base: "dexie", baseName: "Dexie bulkPut",
			stat: single, target: below()},
	)
}

func s2Rows(p *PageResult, c Config) ([]Row, error) {
	return p.timeRows(c.Runs,
		timeRow{id: "S2", scenario: "one node position update, until committed (p50)", lib: "library",
			libName: "UpdateNode (a move) p50", base: "raw", baseName: "raw JS put + commit p50",
			stat: p50, target: atMost(1.2),
			note: fmt.Sprintf("%d updates per run and contender, alternating one by one", c.Updates)},
	)
}

func s3Rows(p *PageResult, c Config) ([]Row, error) {
	scen := fmt.Sprintf("load a %dk-node workflow", c.Nodes/1000)
	return p.timeRows(c.Runs,
		timeRow{id: "S3", scenario: scen, lib: "library", libName: "LoadWorkflow into Go structs", base: "raw",
			baseName: "raw JS index getAll", stat: single, target: atMost(1.5)},
		timeRow{id: "S3", scenario: scen, lib: "library", libName: "LoadWorkflow into Go structs", base: "dexie",
			baseName: "Dexie where().equals().toArray()", stat: single, target: below()},
	)
}

func s4Rows(p *PageResult, c Config) ([]Row, error) {
	mib := c.AssetBytes >> 20
	return p.rateRows(c.Runs,
		rateRow{id: "S4", scenario: fmt.Sprintf("%d MiB asset write, main thread", mib),
			lib: []string{"library.write"}, libName: "PutBlob", base: []string{"raw.write"}, baseName: "raw createWritable",
			target: atLeast(0.9)},
		rateRow{id: "S4", scenario: fmt.Sprintf("%d MiB asset read, main thread", mib),
			lib: []string{"library.read"}, libName: "Blob().arrayBuffer()", base: []string{"raw.read"}, baseName: "raw getFile().arrayBuffer()",
			target: atLeast(0.9)},
		rateRow{id: "S4", scenario: fmt.Sprintf("%d MiB asset write from Go bytes, main thread", mib),
			lib: []string{"libraryGo.write"}, libName: "Put(io.Reader)", base: []string{"raw.write"}, baseName: "raw createWritable",
			note: "the library's other main-thread path, for Go code holding the bytes: written by the helper worker, then read back and hashed with WebCrypto"},
		rateRow{id: "S4", scenario: fmt.Sprintf("%d MiB asset read into Go, main thread", mib),
			lib: []string{"libraryGo.read"}, libName: "Open + io.Copy", base: []string{"raw.read"}, baseName: "raw getFile().arrayBuffer()"},
	)
}

func s5Rows(p *PageResult, c Config) ([]Row, error) {
	mib := c.AssetBytes >> 20
	return p.rateRows(c.Runs,
		rateRow{id: "S5", scenario: fmt.Sprintf("%d MiB asset write, worker", mib),
			lib: []string{"library.write"}, libName: "Put(io.Reader), sync handle", base: []string{"raw.write"}, baseName: "raw sync access handle",
			target: atLeast(0.9), note: "the library runs in the dedicated worker (WriteSyncHandle)"},
		rateRow{id: "S5", scenario: fmt.Sprintf("%d MiB asset read, worker", mib),
			lib: []string{"library.read"}, libName: "Open + io.Copy", base: []string{"raw.read"}, baseName: "raw sync access handle",
			target: atLeast(0.9)},
		rateRow{id: "S5", scenario: fmt.Sprintf("%d MiB asset write of a Blob, worker", mib),
			lib: []string{"libraryBlob.write"}, libName: "PutBlob", base: []string{"raw.write"}, baseName: "raw sync access handle",
			note: "the library's Blob path in the worker (createWritable and WebCrypto, no sync handle)"},
		rateRow{id: "S5", scenario: fmt.Sprintf("%d MiB asset read as a Blob, worker", mib),
			lib: []string{"libraryBlob.read"}, libName: "Blob().arrayBuffer()", base: []string{"raw.read"}, baseName: "raw sync access handle"},
	)
}

func s7Rows(p *PageResult, c Config) ([]Row, error) {
	mib := float64(p.Bytes) / (1 << 20)
	return p.rateRows(c.Runs,
		rateRow{id: "S7", scenario: fmt.Sprintf("export + import a %.0f MiB package", mib),
			lib: []string{"library.export", "library.import"}, libName: "Export + Import",
			base: []string{"raw.read", "raw.write"}, baseName: "raw OPFS read + write",
			target: atLeast(0.8), note: fmt.Sprintf("%d assets; MiB/s of package over both steps", c.PkgParts)},
		rateRow{id: "S7", scenario: "export alone",
			lib: []string{"library.export"}, libName: "Export to a Blob",
			base: []string{"raw.read"}, baseName: "raw getFile().arrayBuffer()"},
		rateRow{id: "S7", scenario: "import alone",
			lib: []string{"library.import"}, libName: "Import from the Blob",
			base: []string{"raw.write"}, baseName: "raw createWritable"},
	)
}

// s6Rows: visible[r] and rt[r] are the samples of run r.
func s6Rows(visible, afterAck, rt [][]float64, c Config) []Row {
	note := fmt.Sprintf("%d changes per run, %.0f ms apart; from the write call in tab A to the watcher in tab B", c.Tabs, c.TabsGapMS)
	return []Row{
		newRow("S6", "change in tab A visible in tab B (p95)",
			figure("WatchWorkflow p95", "ms", perRun(visible, p95)),
			figure("raw BroadcastChannel round trip p95", "ms", perRun(rt, p95)),
			absAtMost(10, "ms"), note),
		newRow("S6", "change in tab A visible in tab B (p50)",
			figure("WatchWorkflow p50", "ms", perRun(visible, p50)),
			figure("raw BroadcastChannel round trip p50", "ms", perRun(rt, p50)),
			Target{}, ""),
		newRow("S6", "visible in tab B after A's write resolved (p95)",
			figure("WatchWorkflow p95", "ms", perRun(afterAck, p95)),
			figure("raw BroadcastChannel round trip p95", "ms", perRun(rt, p95)),
			Target{}, "negative when B sees the change before A's promise resolves"),
	}
}

// s8Rows: sizes in bytes (gzipped), ready times of every load.
func s8Rows(libGz, helloGz, libBr, helloBr int64, libRaw, helloRaw int64, libReady, libLoad, helloReady []float64) []Row {
	mb := func(n int64) float64 { return float64(n) / 1e6 }
	rows := []Row{
		newRow("S8", "wasm module size, gzipped",
			Figure{Name: "atelier.wasm", Median: mb(libGz), Unit: "MB", Runs: []float64{mb(libGz)}},
			Figure{Name: "Go hello world", Median: mb(helloGz), Unit: "MB", Runs: []float64{mb(helloGz)}},
			Target{},
			fmt.Sprintf("gzip -9; uncompressed %.2f MB and %.2f MB", mb(libRaw), mb(helloRaw))),
	}
	if libBr > 0 && helloBr > 0 {
		rows = append(rows, newRow("S8", "wasm module size, brotli",
			Figure{Name: "atelier.wasm", Median: mb(libBr), Unit: "MB", Runs: []float64{mb(libBr)}},
			Figure{Name: "Go hello world", Median: mb(helloBr), Unit: "MB", Runs: []float64{mb(helloBr)}},
			absAtMost(1.5, "MB"), "quality 11, window 24 (scripts/brotli.mjs): the .wasm.br make package ships"))
	}
	return append(rows,
		newRow("S8", "start-up: instantiate to first API call answered",
			figure("load + open + listWorkflows", "ms", libReady),
			figure("hello world's first output", "ms", helloReady),
			absAtMost(50, "ms"), "fresh page loads; the module is fetched and compiled each time"),
		newRow("S8", "start-up: instantiate to API installed",
			figure("load()", "ms", libLoad),
			figure("hello world's first output", "ms", helloReady),
			Target{}, ""),
	)
}
