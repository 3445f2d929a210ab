package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestLongest(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{
		{[]float64{4.1}, 4.1},
		{[]float64{4.2, 17, 3.9}, 17},
		{[]float64{250, 4, 4}, 250},
	} {
		if got := longest(c.xs); got != c.want {
			t.Errorf("longest(%v) = %v, want %v", c.xs, got, c.want)
		}
	}
	if !math.IsNaN(longest(nil)) {
		t.Error("longest of nothing should be NaN")
	}
	// Per run, then the median over runs: what a block row shows.
	runs := [][]float64{{4, 30, 5}, {4, 4, 9}, {60, 4, 4}}
	if got := median(perRun(runs, longest)); got != 30 {
		t.Errorf("median of the per-run longest blocks = %v, want 30", got)
	}
}

func TestSizes(t *testing.T) {
	for n, want := range map[int]string{1000: "1k", 10000: "10k", 50000: "50k", 500: "500", 1500: "1500"} {
		if got := sizeLabel(n); got != want {
			t.Errorf("sizeLabel(%d) = %q, want %q", n, got, want)
		}
	}
	got, err := parseSizes("1000, 10000,50000")
	if err != nil || len(got) != 3 || got[2] != 50000 {
		t.Errorf("parseSizes: %v, %v", got, err)
	}
	for _, bad := range []string{"", "1k", "10,-1", "0"} {
		if _, err := parseSizes(bad); err == nil {
			t.Errorf("parseSizes(%q) accepted", bad)
		}
	}
	if got := sizeList([]int{1000, 10000, 50000}); got != "1k, 10k and 50k" {
		t.Errorf("sizeList: %q", got)
	}
	c := Config{Runs: 5, JLargeRuns: 2}
	if c.jRuns(10000) != 5 || c.jRuns(50000) != 2 {
		t.Errorf("jRuns: %d, %d", c.jRuns(10000), c.jRuns(50000))
	}
	if c := (Config{Runs: 5, JLargeRuns: 9}); c.jRuns(50000) != 5 {
		t.Errorf("jRuns above Runs: %d", c.jRuns(50000))
	}
}

// page decodes a page result as jsbench.mjs returns it.
func page(t *testing.T, js string) *PageResult {
	t.Helper()
	var p PageResult
	if err := json.Unmarshal([]byte(js), &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

func TestJGraphRows(t *testing.T) {
	p := page(t, `{"series": {
		"worker.write": [[200], [300], [250]], "worker.writeBlock": [[5], [40], [6]],
		"inpage.write": [[150], [160], [170]], "inpage.writeBlock": [[90], [80], [85]],
		"dexie.write":  [[100], [100], [100]], "dexie.writeBlock":  [[70], [60], [65]],
		"raw.write":    [[125], [125], [125]], "raw.writeBlock":    [[75], [75], [75]]
	}, "info": {"workerMode": "available"}}`)
	rows, err := j1Rows(p, 3, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 {
		t.Fatalf("%d rows, want 5", len(rows))
	}
	want := []struct {
		lib, base float64
		met       string
	}{
		{250, 100, "not met"}, // worker / Dexie, target <= 1.0x
		{160, 100, "info"},    // in-page / Dexie
		{250, 125, "info"},    // worker / raw
		{6, 65, "met"},        // worker's block, target <= 16 ms
		{85, 75, "info"},      // in-page's block against raw's
	}
	for i, w := range want {
		r := rows[i]
		if r.Library.Median != w.lib || r.Baseline.Median != w.base || r.metText() != w.met {
			t.Errorf("row %d: %s %v / %s %v, %s; want %v / %v, %s", i, r.Library.Name, r.Library.Median,
				r.Baseline.Name, r.Baseline.Median, r.metText(), w.lib, w.base, w.met)
		}
		if r.ID != "J1" || !strings.Contains(r.Scenario, "10k nodes") {
			t.Errorf("row %d: %s %s", i, r.ID, r.Scenario)
		}
	}
	if rows[0].Library.Name != "atelier worker" || rows[1].Library.Name != "atelier in-page" {
		t.Errorf("names: %q, %q", rows[0].Library.Name, rows[1].Library.Name)
	}

	// Before open() knows the worker option, the rows say so.
	p.Info["workerMode"] = workerModeUnavailable
	rows, err = j1Rows(p, 3, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rows[0].Library.Name, "unavailable") || !strings.Contains(rows[3].Note, "worker option") {
		t.Errorf("unavailable worker mode not shown: %q, %q", rows[0].Library.Name, rows[3].Note)
	}

	delete(p.Series, "raw.loadBlock")
	if _, err := j2Rows(p, 3, 10000); err == nil {
		t.Error("J2 rows from J1's series: no error")
	}
}

func TestJ6AndTables(t *testing.T) {
	p := page(t, `{"series": {"webcrypto.hash": [[100], [128], [200]]}, "bytes": 67108864, "info": {"hook": null}}`)
	rows, err := j6Rows(p, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Library.Median != 500 || rows[0].Baseline.Name != "" || rows[0].Met != nil {
		t.Fatalf("J6 without the hook: %+v", rows)
	}
	// A row without a baseline must survive results.json (no NaN or Inf).
	if _, err := json.Marshal(rows); err != nil {
		t.Errorf("marshalling a solo row: %v", err)
	}

	p.Series["hook.hash"] = [][]float64{{200}, {256}, {400}}
	p.Info["hook"] = "hash-wasm"
	hooked, err := j6Rows(p, 3)
	if err != nil {
		t.Fatal(err)
	}
	if r := hooked[0]; r.Library.Name != "hash-wasm" || r.Ratio != 0.5 {
		t.Errorf("J6 with the hook: %+v", r)
	}

	s := Row{ID: "S1", Scenario: "x", Library: figure("lib", "ms", []float64{1}), Baseline: figure("raw", "ms", []float64{1}), Target: "—"}
	out := Tables(append([]Row{s}, rows...))
	goPart, jsPart, ok := strings.Cut(out, "### JavaScript API")
	if !ok || !strings.Contains(goPart, "| S1 x |") || strings.Contains(goPart, "J6") || !strings.Contains(jsPart, "J6") {
		t.Fatalf("tables:\n%s", out)
	}
	if !strings.Contains(jsPart, "| J6 SHA-256 of 64 MiB in the page | WebCrypto digest (whole buffer): 500 MiB/s | — | — | — | info |") {
		t.Errorf("solo row:\n%s", jsPart)
	}
	if got := Tables([]Row{s}); strings.Contains(got, "JavaScript") {
		t.Errorf("a heading without J rows:\n%s", got)
	}
}

func TestJ5Rows(t *testing.T) {
	rows := j5Rows(startup{Ready: []float64{300, 280, 290}, Block: []float64{10, 12, 11}},
		startup{Ready: []float64{470, 460, 480}, Block: []float64{80, 90, 85}},
		startup{Ready: []float64{140, 150, 145}, Block: []float64{50, 55, 52}}, "available")
	if len(rows) != 4 || rows[0].Library.Median != 290 || rows[1].Library.Median != 470 ||
		rows[0].Baseline.Median != 145 || rows[2].Library.Median != 11 || rows[3].Baseline.Median != 52 {
		t.Errorf("J5 rows: %+v", rows)
	}
}

func TestMarkdownWithJRows(t *testing.T) {
	p := page(t, `{"series": {
		"worker.load": [[2]], "worker.loadBlock": [[5]], "inpage.load": [[2]], "inpage.loadBlock": [[5]],
		"dexie.load": [[1]], "dexie.loadBlock": [[5]], "raw.load": [[1]], "raw.loadBlock": [[5]]
	}, "info": {"workerMode": "available"}}`)
	var rows []Row
	for _, n := range []int{1000, 10000} {
		r, err := j2Rows(p, 1, n)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r...)
	}
	c := Config{Runs: 5, JSizes: []int{1000, 10000, 50000}, JLargeRuns: 2, Updates: 30, AssetBytes: 64 << 20, HashBytes: 64 << 20}
	md := Markdown(Report{Rows: rows}, c)
	for _, want := range []string{"### JavaScript API", "- J1: setNodes of N nodes (N = 1k, 10k and 50k)",
		"Sizes above 10k get 2 measured runs instead of 5", "- J6: SHA-256 of 64 MiB"} {
		if !strings.Contains(md, want) {
			t.Errorf("BENCHMARKS.md lacks %q", want)
		}
	}
	if n := strings.Count(md, "longest gap of a setTimeout(0) heartbeat"); n != 1 {
		t.Errorf("the block note is listed %d times, want once", n)
	}
	if strings.Contains(md, "%!") {
		t.Errorf("a formatting verb went wrong:\n%s", md)
	}
}
