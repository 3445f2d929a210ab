package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// PageResult is what a scenario in the page (bench/wasm) returns: for each
// series ("library", "raw.write", ...), the samples in milliseconds of
// every measured run; Bytes is the size one sample moved.
type PageResult struct {
	Series map[string][][]float64 `json:"series"`
	Bytes  int64                  `json:"bytes"`
	Info   map[string]any         `json:"info"`
}

// Figure is one contender's figure in a row: the median over runs of a
// per-run statistic.
type Figure struct {
	Name   string    `json:"name"`
	Median float64   `json:"median"`
	Unit   string    `json:"unit"`
	Runs   []float64 `json:"runs"` // the per-run statistic, in run order
}

// Row is one line of the table.
type Row struct {
	ID       string  `json:"id"`
	Scenario string  `json:"scenario"`
	Library  Figure  `json:"library"`
	Baseline Figure  `json:"baseline"`
	Ratio    float64 `json:"ratio"` // library / baseline, in the row's unit
	// PairedRatio is the median of the per-run ratios (contenders alternate
	// within every run, so each run's ratio is measured under one load).
	PairedRatio float64 `json:"pairedRatio,omitempty"`
	Target      string  `json:"target"`
	Met         *bool   `json:"met"` // nil: the row informs, it has no target
	Note        string  `json:"note,omitempty"`
	// Browser is set on the rows measured in another browser than the
	// run's Chromium (-browsers): its name and version.
	Browser string `json:"browser,omitempty"`
}

// Target says what a row must reach.
type Target struct {
	kind  targetKind
	value float64
	unit  string
}

type targetKind int

const (
	noTarget targetKind = iota
	ratioAtMost
	ratioAtLeast
	ratioBelowOne
	valueAtMost
	valueAtLeast
)

func atMost(x float64) Target              { return Target{kind: ratioAtMost, value: x} }
func atLeast(x float64) Target             { return Target{kind: ratioAtLeast, value: x} }
func below() Target                        { return Target{kind: ratioBelowOne} }
func absAtMost(x float64, u string) Target { return Target{kind: valueAtMost, value: x, unit: u} }
func absAtLeast(x float64, u string) Target {
	return Target{kind: valueAtLeast, value: x, unit: u}
}

func (t Target) String() string {
	switch t.kind {
	case ratioAtMost:
		return fmt.Sprintf("<= %.2fx", t.value)
	case ratioAtLeast:
		return fmt.Sprintf(">= %.2fx", t.value)
	case ratioBelowOne:
		return "< 1.00x"
	case valueAtMost:
		return fmt.Sprintf("<= %s %s", trim(t.value), t.unit)
	case valueAtLeast:
		return fmt.Sprintf(">= %s %s", trim(t.value), t.unit)
	}
	return "—"
}

// met decides the row from its numbers, or returns nil without a target.
func (t Target) met(r *Row) *bool {
	var ok bool
	switch t.kind {
	case ratioAtMost:
		ok = r.Ratio <= t.value
	case ratioAtLeast:
		ok = r.Ratio >= t.value
	case ratioBelowOne:
		ok = r.Ratio < 1
	case valueAtMost:
		ok = r.Library.Median <= t.value
	case valueAtLeast:
		ok = r.Library.Median >= t.value
	default:
		return nil
	}
	return &ok
}

// median returns the median of xs (the mean of the middle two for an even
// count), NaN for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// percentile returns the p-th percentile (0-100) of xs by the nearest-rank
// method, NaN for none.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	k := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(k, 0), len(s)-1)]
}

// perRun applies stat to each run's samples.
func perRun(runs [][]float64, stat func([]float64) float64) []float64 {
	out := make([]float64, len(runs))
	for i, r := range runs {
		out[i] = stat(r)
	}
	return out
}

// sumRuns adds two series run by run and sample by sample.
func sumRuns(a, b [][]float64) [][]float64 {
	out := make([][]float64, min(len(a), len(b)))
	for i := range out {
		n := min(len(a[i]), len(b[i]))
		out[i] = make([]float64, n)
		for j := 0; j < n; j++ {
			out[i][j] = a[i][j] + b[i][j]
		}
	}
	return out
}

func p50(xs []float64) float64 { return percentile(xs, 50) }
func p95(xs []float64) float64 { return percentile(xs, 95) }

// throughput converts per-run times (ms) of moving bytes into MiB/s.
func throughput(ms []float64, bytes int64) []float64 {
	out := make([]float64, len(ms))
	for i, t := range ms {
		out[i] = float64(bytes) / (1 << 20) / (t / 1000)
	}
	return out
}

func figure(name, unit string, runs []float64) Figure {
	return Figure{Name: name, Unit: unit, Runs: runs, Median: median(runs)}
}

// newRow computes the ratio of the medians, the paired ratio, and whether
// the target is met.
func newRow(id, scenario string, lib, base Figure, t Target, note string) Row {
	r := Row{ID: id, Scenario: scenario, Library: lib, Baseline: base, Target: t.String(), Note: note}
	r.Ratio = lib.Median / base.Median
	if n := min(len(lib.Runs), len(base.Runs)); n > 0 {
		ratios := make([]float64, n)
		for i := range ratios {
			ratios[i] = lib.Runs[i] / base.Runs[i]
		}
		r.PairedRatio = median(ratios)
	}
	r.Met = t.met(&r)
	return r
}

// trim formats a number with at most three significant decimals, no
// trailing zeros.
func trim(x float64) string {
	s := fmt.Sprintf("%.3f", x)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// value formats a figure for the table.
func (f Figure) value() string {
	if math.IsNaN(f.Median) {
		return "n/a"
	}
	var v string
	switch {
	case f.Unit == "ms" && f.Median < 10:
		v = fmt.Sprintf("%.2f", f.Median)
	case f.Unit == "ms":
		v = fmt.Sprintf("%.0f", f.Median)
	case f.Unit == "MB":
		v = fmt.Sprintf("%.2f", f.Median)
	default:
		v = fmt.Sprintf("%.0f", f.Median)
	}
	return v + " " + f.Unit
}

func (r Row) metText() string {
	switch {
	case r.Met == nil:
		return "info"
	case *r.Met:
		return "met"
	}
	return "not met"
}

// Table renders rows as a markdown table.
func Table(rows []Row) string {
	var b strings.Builder
	b.WriteString("| scenario | this library (median) | baseline (median) | ratio | target | met |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, r := range rows {
		ratio := "n/a"
		if !math.IsNaN(r.Ratio) && !math.IsInf(r.Ratio, 0) {
			ratio = fmt.Sprintf("%.2fx", r.Ratio)
		}
		baseline := r.Baseline.Name + ": " + r.Baseline.value()
		if r.Baseline.Name == "" { // a row with one figure (soloRow)
			baseline, ratio = "—", "—"
		}
		fmt.Fprintf(&b, "| %s %s | %s: %s | %s | %s | %s | %s |\n",
			r.ID, r.Scenario, r.Library.Name, r.Library.value(), baseline,
			ratio, r.Target, r.metText())
	}
	return b.String()
}

// Tables renders the rows of the Go API (S*) as one markdown table and
// those of the JavaScript API (J*) as another under a heading of their own.
func Tables(rows []Row) string {
	var chromium, other []Row
	for _, r := range rows {
		if r.Browser != "" {
			r.Scenario += " — " + r.Browser
			other = append(other, r)
		} else {
			chromium = append(chromium, r)
		}
	}
	goRows, jsRows := splitRows(chromium)
	var b strings.Builder
	if len(goRows) > 0 {
		b.WriteString(Table(goRows))
	}
	if len(jsRows) > 0 {
		if len(goRows) > 0 {
			b.WriteString("\n")
		}
		b.WriteString("### JavaScript API (J1-J7: what web apps run, through wasm/atelier.mjs)\n\n")
		b.WriteString(Table(jsRows))
	}
	if len(other) > 0 {
		b.WriteString("\n### Other browsers (S1-S6 against the same baselines, in the same browser)\n\n")
		b.WriteString(Table(other))
	}
	return b.String()
}
