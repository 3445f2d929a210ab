//go:build js && wasm

package idb

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"syscall/js"
	"testing"
	"time"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// The benchmarks measure the store next to plain JavaScript doing the same
// work with the same records, in the same browser run, and report the
// ratio (x-rawjs < 1 means the store is faster). Absolute times drift from
// run to run on a shared machine; the ratio holds.

// benchNodes returns n realistic nodes (about 450 bytes as JSON).
func benchNodes(n int) []graph.Node {
	nodes := make([]graph.Node, n)
	for i := range nodes {
		nodes[i] = graph.Node{
			ID:       graph.NewID(),
			Type:     "image-generation",
			Title:    fmt.Sprintf("Render pass %d", i),
			Status:   "idle",
			Position: graph.Position{X: float64(i%100) * 260, Y: float64(i/100) * 180.5},
			Size:     &graph.Size{Width: 240, Height: 160},
			Config:   json.RawMessage(fmt.Sprintf(`{"model":"sdxl-1.0","prompt":"a lighthouse on a cliff at dusk, volumetric light, %d","negative":"blurry, low quality","steps":30,"cfg":7.5,"seed":%d,"sampler":"dpmpp_2m"}`, i, 1000+i)),
		}
	}
	return nodes
}

// rawJS holds baseline functions written in plain JavaScript: they work
// on their own database with the same layout Dexie or a hand-written app
// would use (one object per node, index on workflowId).
var rawJS = js.Global().Get("Function").New(`
const open = (name) => new Promise((ok, fail) => {
  const r = indexedDB.open(name, 1);
  r.onupgradeneeded = () => {
    const s = r.result.createObjectStore("nodes", {keyPath: "id"});
    s.createIndex("workflowId", "workflowId");
  };
  r.onsuccess = () => ok(r.result);
  r.onerror = () => fail(r.error);
});
const done = (tx) => new Promise((ok, fail) => { tx.oncomplete = ok; tx.onabort = () => fail(tx.error); });
return {
  open,
  async putAll(db, nodes) {
    const t0 = performance.now();
    const tx = db.transaction("nodes", "readwrite");
    const s = tx.objectStore("nodes");
    for (const n of nodes) s.put(n);
    await done(tx);
    return performance.now() - t0;
  },
  async getAll(db, wf) {
    const t0 = performance.now();
    const tx = db.transaction("nodes", "readonly");
    const r = tx.objectStore("nodes").index("workflowId").getAll(wf);
    const rows = await new Promise((ok, fail) => { r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
    if (rows.length === 0) throw new Error("nothing loaded");
    return performance.now() - t0;
  },
  async putOne(db, node) {
    const t0 = performance.now();
    const tx = db.transaction("nodes", "readwrite");
    tx.objectStore("nodes").put(node);
    await done(tx);
    return performance.now() - t0;
  },
  async clear(db) {
    const tx = db.transaction("nodes", "readwrite");
    tx.objectStore("nodes").clear();
    await done(tx);
  },
};`).Invoke()

func await(b *testing.B, p js.Value) js.Value {
	b.Helper()
	v, err := jsutil.Await(context.Background(), p)
	if err != nil {
		b.Fatal(err)
	}
	return v
}

// rawDB opens the baseline database for the benchmark.
func rawDB(b *testing.B) js.Value {
	b.Helper()
	name := dbName(b) + "-raw"
	db := await(b, rawJS.Call("open", name))
	b.Cleanup(func() { db.Call("close"); dropDB(b, name) })
	return db
}

// jsNodes converts nodes to plain JavaScript objects, as an app would hold
// them.
func jsNodes(b *testing.B, wf string, nodes []graph.Node) js.Value {
	b.Helper()
	for i := range nodes {
		nodes[i].WorkflowID = wf
		nodes[i].Version = 1
		nodes[i].UpdatedAt = time.Now().UnixMilli()
	}
	raw, err := json.Marshal(nodes)
	if err != nil {
		b.Fatal(err)
	}
	return js.Global().Get("JSON").Call("parse", string(raw))
}

// report adds the baseline's median and the ratio of the store's mean time
// (the timed part of the loop) to it.
func report(b *testing.B, raw []float64) {
	sort.Float64s(raw)
	med := raw[len(raw)/2]
	ours := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / 1e6
	b.ReportMetric(ours, "ms/op")
	b.ReportMetric(med, "rawjs-ms/op")
	b.ReportMetric(ours/med, "x-rawjs")
}

// BenchmarkSetNodes10k writes 10,000 new nodes of one workflow in one call.
func BenchmarkSetNodes10k(b *testing.B) {
	const n = 10000
	ctx := context.Background()
	d := newDB(b, nil)
	raw := rawDB(b)
	rawMS := make([]float64, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		w, err := d.CreateWorkflow(ctx, "bench")
		if err != nil {
			b.Fatal(err)
		}
		nodes := benchNodes(n)
		b.StartTimer()
		if _, err := d.SetNodes(ctx, w.ID, nodes); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		objs := jsNodes(b, w.ID, benchNodes(n))
		rawMS = append(rawMS, await(b, rawJS.Call("putAll", raw, objs)).Float())
		b.StartTimer()
	}
	report(b, rawMS)
}

// BenchmarkLoadWorkflow10k loads a 10,000-node workflow into Go structs.
func BenchmarkLoadWorkflow10k(b *testing.B) {
	const n = 10000
	ctx := context.Background()
	d := newDB(b, nil)
	raw := rawDB(b)
	w, err := d.CreateWorkflow(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := d.SetNodes(ctx, w.ID, benchNodes(n)); err != nil {
		b.Fatal(err)
	}
	await(b, rawJS.Call("putAll", raw, jsNodes(b, w.ID, benchNodes(n))))
	rawMS := make([]float64, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		g, err := d.LoadWorkflow(ctx, w.ID)
		if err != nil || len(g.Nodes) != n {
			b.Fatalf("loaded %d nodes: %v", len(g.Nodes), err)
		}
		b.StopTimer()
		rawMS = append(rawMS, await(b, rawJS.Call("getAll", raw, w.ID)).Float())
		b.StartTimer()
	}
	report(b, rawMS)
}

// BenchmarkUpdatePosition moves one node and waits for the commit, one
// update at a time (the latency a drag sees).
func BenchmarkUpdatePosition(b *testing.B) {
	ctx := context.Background()
	d := newDB(b, nil)
	raw := rawDB(b)
	w, err := d.CreateWorkflow(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	nodes, err := d.SetNodes(ctx, w.ID, benchNodes(100))
	if err != nil {
		b.Fatal(err)
	}
	objs := jsNodes(b, w.ID, benchNodes(100))
	await(b, rawJS.Call("putAll", raw, objs))
	one := objs.Index(42)
	rawMS := make([]float64, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pos := graph.Position{X: float64(i), Y: 7}
		if _, err := d.UpdateNode(ctx, w.ID, nodes[42].ID, graph.NodePatch{Position: &pos, Size: nil}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		one.Get("position").Set("x", i)
		rawMS = append(rawMS, await(b, rawJS.Call("putOne", raw, one)).Float())
		b.StartTimer()
	}
	report(b, rawMS)
}
