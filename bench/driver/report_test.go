package main

import (
	"math"
	"strings"
	"testing"
)

func TestMedianAndPercentile(t *testing.T) {
	for _, c := range []struct {
		xs       []float64
		med, p95 float64
	}{
		{[]float64{3}, 3, 3},
		{[]float64{5, 1, 3}, 3, 5},
		{[]float64{4, 1, 3, 2}, 2.5, 4},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, 10.5, 19},
	} {
		if got := median(c.xs); got != c.med {
			t.Errorf("median(%v) = %v, want %v", c.xs, got, c.med)
		}
		if got := percentile(c.xs, 95); got != c.p95 {
			t.Errorf("p95(%v) = %v, want %v", c.xs, got, c.p95)
		}
	}
	if !math.IsNaN(median(nil)) || !math.IsNaN(percentile(nil, 50)) {
		t.Error("statistics of nothing should be NaN")
	}
	xs := []float64{3, 1, 2}
	median(xs)
	if xs[0] != 3 {
		t.Error("median sorted its argument")
	}
}

func TestTargets(t *testing.T) {
	lib := Figure{Name: "lib", Unit: "ms", Median: 110, Runs: []float64{100, 110, 120}}
	base := Figure{Name: "raw", Unit: "ms", Median: 100, Runs: []float64{100, 100, 100}}
	for _, c := range []struct {
		t    Target
		want string
	}{
		{atMost(1.10), "met"},
		{atMost(1.05), "not met"},
		{atLeast(1.0), "met"},
		{atLeast(1.2), "not met"},
		{below(), "not met"},
		{absAtMost(110, "ms"), "met"},
		{absAtMost(100, "ms"), "not met"},
		{Target{}, "info"},
	} {
		r := newRow("S1", "x", lib, base, c.t, "")
		if got := r.metText(); got != c.want {
			t.Errorf("%s: %s, want %s", c.t, got, c.want)
		}
		if math.Abs(r.Ratio-1.1) > 1e-9 || math.Abs(r.PairedRatio-1.1) > 1e-9 {
			t.Errorf("ratio %v, paired %v; want 1.1 and 1.1", r.Ratio, r.PairedRatio)
		}
	}
	if r := newRow("S1", "x", base, lib, below(), ""); r.metText() != "met" {
		t.Errorf("100 ms against 110 ms: %s, want met", r.metText())
	}
}

func TestRows(t *testing.T) {
	p := &PageResult{
		Bytes: 64 << 20,
		Series: map[string][][]float64{
			"library.write": {{1000}, {500}, {2000}},
			"raw.write":     {{500}, {500}, {500}},
		},
	}
	rows, err := p.rateRows(3, rateRow{id: "S4", scenario: "w", lib: []string{"library.write"}, libName: "PutBlob",
		base: []string{"raw.write"}, baseName: "raw", target: atLeast(0.9)})
	if err != nil {
		t.Fatal(err)
	}
	r := rows[0]
	if r.Library.Median != 64 || r.Baseline.Median != 128 || r.Ratio != 0.5 || r.metText() != "not met" {
		t.Errorf("got %+v", r)
	}
	if _, err := p.rateRows(4, rateRow{lib: []string{"library.write"}, base: []string{"raw.write"}}); err == nil {
		t.Error("a series with fewer runs than asked for was accepted")
	}
	if _, err := p.rateRows(3, rateRow{lib: []string{"library.read"}, base: []string{"raw.write"}}); err == nil {
		t.Error("a missing series was accepted")
	}
	sum, err := p.sum([]string{"library.write", "raw.write"}, 3)
	if err != nil || sum[2][0] != 2500 {
		t.Errorf("sum: %v, %v", sum, err)
	}
	table := Table(rows)
	if !strings.Contains(table, "| S4 w | PutBlob: 64 MiB/s | raw: 128 MiB/s | 0.50x | >= 0.90x | not met |") {
		t.Errorf("table:\n%s", table)
	}
}

// TestTablesOtherBrowsers: rows measured in another browser get a table of
// their own, named by browser, after Chromium's.
func TestTablesOtherBrowsers(t *testing.T) {
	lib, base := figure("lib", "ms", []float64{2}), figure("raw", "ms", []float64{1})
	ff := newRow("S1", "x", lib, base, Target{}, "")
	ff.Browser = "Firefox 153.8.0"
	got := Tables([]Row{newRow("S1", "x", lib, base, Target{}, ""), ff})
	head := strings.Index(got, "### Other browsers")
	if head < 0 || strings.Count(got, "| S1 x") != 2 || !strings.Contains(got[head:], "| S1 x — Firefox 153.8.0 |") ||
		strings.Contains(got[:head], "Firefox") {
		t.Fatalf("tables:\n%s", got)
	}
}
