package browsertest_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/atelierstore/atelier/browsertest"
)

// watchIn makes the tab watch workflow id, keeping the latest snapshot in
// globalThis.latest (and any error name in globalThis.latestError).
func watchIn(t *testing.T, tab *browsertest.Tab, id string) {
	t.Helper()
	browsertest.Eval[any](t, tab, `async (id) => {
		globalThis.snapshots = 0;
		globalThis.stopWatch = await db.watchWorkflow(id, (g, err) => {
			globalThis.snapshots++;
			if (err) { globalThis.latestError = err.name; return; }
			globalThis.latest = g;
		});
	}`, id)
	tab.WaitFor(t, `() => globalThis.latest !== undefined || globalThis.latestError !== undefined`, 10*time.Second)
}

func TestEditAppearsInTheOtherTab(t *testing.T) {
	b := browsertest.Start(t, nil)
	a, c := b.NewTab(t, "A"), b.NewTab(t, "B")
	a.Open(t, "live")
	c.Open(t, "live")
	g := browsertest.Eval[graph](t, a, `async () => {
		const workflow = await db.createWorkflow("Live");
		const nodes = await db.setNodes(workflow.id, [{ type: "t", title: "one", position: { x: 0, y: 0 } }]);
		return { workflow, nodes };
	}`)
	watchIn(t, c, g.Workflow.ID)
	browsertest.Eval[any](t, a, `(wf, id) => db.updateNode(wf, id, { title: "moved", position: { x: 90, y: 9 } })`,
		g.Workflow.ID, g.Nodes[0].ID)
	c.WaitFor(t, `() => globalThis.latest.nodes[0].title === "moved" && globalThis.latest.nodes[0].position.x === 90`, 5*time.Second)
	browsertest.Eval[any](t, a, `(id) => db.updateWorkflow(id, { name: "Live, renamed" })`, g.Workflow.ID)
	c.WaitFor(t, `() => globalThis.latest.workflow.name === "Live, renamed"`, 5*time.Second)
}

// TestFourTabsConverge: four tabs apply 250 random mutations each to one
// workflow at the same time. Afterwards every tab's live view equals what
// IndexedDB holds, and every acknowledged mutation is there or superseded
// by a newer version.
func TestFourTabsConverge(t *testing.T) {
	b := browsertest.Start(t, nil)
	names := []string{"A", "B", "C", "D"}
	tabs := make([]*browsertest.Tab, len(names))
	for i, n := range names {
		tabs[i] = b.NewTab(t, n)
		tabs[i].Open(t, "converge")
	}
	g := browsertest.Eval[graph](t, tabs[0], `async () => {
		const workflow = await db.createWorkflow("Contended");
		const nodes = await db.setNodes(workflow.id, Array.from({ length: 20 }, (_, i) =>
			({ type: "t", title: "n" + i, position: { x: i, y: 0 }, size: { width: 100, height: 100 } })));
		return { workflow, nodes };
	}`)
	wf := g.Workflow.ID
	for _, tab := range tabs {
		watchIn(t, tab, wf)
	}

	// Each tab records what was acknowledged: node id, version, title,
	// position; and the ids it deleted.
	type ack struct {
		ID      string   `json:"id"`
		Version int64    `json:"version"`
		Title   string   `json:"title"`
		Pos     position `json:"position"`
	}
	type outcome struct {
		Acks    []ack    `json:"acks"`
		Deleted []string `json:"deleted"`
		Errors  []string `json:"errors"`
	}
	const burst = `async (wf, tab, seed) => {
		let s = seed;
		const rand = (n) => { s = (s * 1103515245 + 12345) % 2147483648; return s % n; };
		const out = { acks: [], deleted: [], errors: [] };
		const mine = [];
		const record = (n) => out.acks.push({ id: n.id, version: n.version, title: n.title, position: n.position });
		for (let i = 0; i < 250; i++) {
			const g = globalThis.latest;
			const pick = g.nodes[rand(g.nodes.length)];
			const r = rand(10);
			try {
				if (r < 6 && pick) {
					record(await db.updateNode(wf, pick.id, { position: { x: rand(1000), y: rand(1000) }, title: tab + i }));
				} else if (r < 8 || !pick) {
					const [n] = await db.putNodes(wf, [{ type: "t", title: tab + i, position: { x: i, y: rand(500) } }]);
					mine.push(n.id);
					record(n);
				} else if (r < 9 && mine.length > 0) {
					const id = mine.splice(rand(mine.length), 1)[0];
					await db.deleteNodes(wf, [id]);
					out.deleted.push(id);
				} else if (pick) {
					record(await db.updateNode(wf, pick.id, { title: tab + i + "!" }));
				}
			} catch (e) {
				// Another tab may have deleted the node: that is the only
				// error a correct store gives here.
				if (e.name !== "NotFound") throw e;
				out.errors.push(e.name);
			}
		}
		return out;
	}`
	outcomes := make([]outcome, len(tabs))
	errs := make([]error, len(tabs))
	var wg sync.WaitGroup
	start := time.Now()
	for i, tab := range tabs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outcomes[i], errs[i] = browsertest.TryEval[outcome](t.Context(), tab, burst, wf, names[i], 17+i*31)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("tab %s: %v", names[i], err)
		}
	}
	total := 0
	for _, o := range outcomes {
		total += len(o.Acks) + len(o.Deleted)
	}
	t.Logf("%d acknowledged mutations from 4 tabs in %v", total, time.Since(start))

	truth := browsertest.Eval[json.RawMessage](t, tabs[0], `(id) => db.loadWorkflow(id)`, wf)
	var final graph
	if err := json.Unmarshal(truth, &final); err != nil {
		t.Fatal(err)
	}
	// Every tab's live view converges to exactly what the database holds.
	for _, tab := range tabs {
		tab.WaitFor(t, `(truth) => JSON.stringify(globalThis.latest) === JSON.stringify(truth)`, 10*time.Second, truth)
	}
	byID := map[string]node{}
	for _, n := range final.Nodes {
		byID[n.ID] = n
	}
	deleted := map[string]bool{}
	for _, o := range outcomes {
		for _, id := range o.Deleted {
			deleted[id] = true
		}
	}
	for i, o := range outcomes {
		for _, a := range o.Acks {
			n, ok := byID[a.ID]
			switch {
			case !ok:
				if !deleted[a.ID] {
					t.Errorf("tab %s: acknowledged node %s v%d is gone, and nobody deleted it", names[i], a.ID, a.Version)
				}
			case n.Version < a.Version:
				t.Errorf("tab %s: node %s at v%d, but v%d was acknowledged", names[i], a.ID, n.Version, a.Version)
			case n.Version == a.Version && (n.Title != a.Title || n.Position != a.Pos):
				t.Errorf("tab %s: node %s v%d holds %q %v, acknowledged %q %v", names[i], a.ID, n.Version, n.Title, n.Position, a.Title, a.Pos)
			}
		}
		for _, id := range o.Deleted {
			if _, ok := byID[id]; ok {
				t.Errorf("tab %s: deleted node %s is still there", names[i], id)
			}
		}
	}
	// Versions acknowledged for one node are never handed out twice.
	seen := map[string]string{}
	for i, o := range outcomes {
		for _, a := range o.Acks {
			key := fmt.Sprintf("%s@%d", a.ID, a.Version)
			if prev, dup := seen[key]; dup {
				t.Errorf("version %s acknowledged to both %s and %s", key, prev, names[i])
			}
			seen[key] = names[i]
		}
	}
}

// TestNoHalfUpdatedNodeAfterCrash: a tab moving and resizing nodes (size
// always derived from position) is closed in the middle; after reopening
// every node is whole and every acknowledged update is there.
func TestNoHalfUpdatedNodeAfterCrash(t *testing.T) {
	b := browsertest.Start(t, nil)
	a := b.NewTab(t, "A")
	a.Open(t, "atomic")
	wf := browsertest.Eval[graph](t, a, `async () => {
		const workflow = await db.createWorkflow("Atomic");
		const nodes = await db.setNodes(workflow.id, Array.from({ length: 10 }, (_, i) =>
			({ type: "t", position: { x: i, y: 0 }, size: { width: i + 1000, height: 0 } })));
		globalThis.wf = workflow.id;
		globalThis.ids = nodes.map((n) => n.id);
		globalThis.acks = {};
		return { workflow, nodes };
	}`).Workflow.ID
	// One update per macrotask, none awaited: the tab dies with many in
	// flight.
	browsertest.Eval[any](t, a, `() => {
		let i = 0;
		const step = () => {
			if (i >= 400) return;
			const id = globalThis.ids[i % 10], x = i + 10;
			db.updateNode(globalThis.wf, id, { position: { x, y: x }, size: { width: x + 1000, height: x } })
				.then((n) => { const p = globalThis.acks[id]; if (!p || p.version < n.version) globalThis.acks[id] = { version: n.version, x }; });
			i++;
			setTimeout(step, 0);
		};
		step();
	}`)
	a.WaitFor(t, `() => Object.values(globalThis.acks).reduce((s, a) => s + a.version, 0) > 60`, 10*time.Second)
	type acked struct {
		Version int64   `json:"version"`
		X       float64 `json:"x"`
	}
	acks := browsertest.Eval[map[string]acked](t, a, `() => globalThis.acks`)
	a.Close()

	c := b.NewTab(t, "after")
	c.Open(t, "atomic")
	type sized struct {
		ID       string   `json:"id"`
		Version  int64    `json:"version"`
		Position position `json:"position"`
		Size     struct {
			Width  float64 `json:"width"`
			Height float64 `json:"height"`
		} `json:"size"`
	}
	final := browsertest.Eval[struct {
		Nodes []sized `json:"nodes"`
	}](t, c, `(id) => db.loadWorkflow(id)`, wf)
	for _, n := range final.Nodes {
		if n.Size.Width != n.Position.X+1000 || (n.Version > 1 && (n.Size.Height != n.Position.X || n.Position.Y != n.Position.X)) {
			t.Errorf("node %s half-updated: position %v, size %+v", n.ID, n.Position, n.Size)
		}
		if a, ok := acks[n.ID]; ok && n.Version < a.Version {
			t.Errorf("node %s at v%d, but v%d was acknowledged", n.ID, n.Version, a.Version)
		}
	}
	if len(final.Nodes) != 10 {
		t.Fatalf("%d nodes", len(final.Nodes))
	}
}

func TestLeaderMovesWhenItsTabGoes(t *testing.T) {
	b := browsertest.Start(t, nil)
	var tabs []*browsertest.Tab
	for _, n := range []string{"A", "B", "C"} {
		tab := b.NewTab(t, n)
		tab.Open(t, "leader")
		tabs = append(tabs, tab)
	}
	leaders := func(tabs []*browsertest.Tab) []int {
		var out []int
		for i, tab := range tabs {
			if browsertest.Eval[bool](t, tab, `() => db.isLeader()`) {
				out = append(out, i)
			}
		}
		return out
	}
	waitOneLeader := func(tabs []*browsertest.Tab) int {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			l := leaders(tabs)
			if len(l) == 1 {
				return l[0]
			}
			if len(l) > 1 {
				t.Fatalf("%d leaders at once", len(l))
			}
			if time.Now().After(deadline) {
				t.Fatal("no leader")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	first := waitOneLeader(tabs)
	tabs[first].Close()
	rest := append(append([]*browsertest.Tab(nil), tabs[:first]...), tabs[first+1:]...)
	second := waitOneLeader(rest)
	// A crash releases the lock too.
	rest[second].Crash(t)
	rest = append(append([]*browsertest.Tab(nil), rest[:second]...), rest[second+1:]...)
	waitOneLeader(rest)
}

// TestUpgradeWithThreeTabsOpen: three tabs on the current schema, a fourth
// opens a newer one. The three are told and close their connections; the
// fourth's open completes; no tab hangs.
func TestUpgradeWithThreeTabsOpen(t *testing.T) {
	b := browsertest.Start(t, nil)
	var old []*browsertest.Tab
	for _, n := range []string{"A", "B", "C"} {
		tab := b.NewTab(t, n)
		tab.Navigate(t, browsertest.AppPath)
		browsertest.Eval[any](t, tab, `async () => {
			globalThis.db = await atelier.open({ name: "upgrade", onVersionChange: (v) => { globalThis.upgraded = v; } });
			await db.createWorkflow("before");
		}`)
		old = append(old, tab)
	}
	d := b.NewTab(t, "D")
	d.Navigate(t, browsertest.AppPath)
	start := time.Now()
	// A newer build of the app: the same database one version up.
	v := browsertest.Eval[int](t, d, `() => new Promise((ok, fail) => {
		const probe = indexedDB.open("upgrade");
		probe.onsuccess = () => {
			const version = probe.result.version;
			probe.result.close();
			const r = indexedDB.open("upgrade", version + 1);
			r.onupgradeneeded = () => r.result.createObjectStore("added-by-the-new-build");
			r.onblocked = () => console.warn("blocked");
			r.onsuccess = () => { r.result.close(); ok(version + 1); };
			r.onerror = () => fail(r.error);
		};
		probe.onerror = () => fail(probe.error);
	})`)
	t.Logf("newer schema v%d opened in %v with three older tabs open", v, time.Since(start))
	for _, tab := range old {
		tab.WaitFor(t, `(v) => globalThis.upgraded && globalThis.upgraded.newVersion === v`, 5*time.Second, v)
		_, err := browsertest.TryEval[any](t.Context(), tab, `() => db.createWorkflow("after")`)
		if browsertest.ErrorName(err) != "Closed" {
			t.Errorf("%s: write after the upgrade: %v", tab.Name(), err)
		}
		// After a reload the tab runs the old build against a newer
		// database: it says so instead of hanging.
		tab.Navigate(t, browsertest.AppPath)
		_, err = browsertest.TryEval[any](t.Context(), tab, `() => atelier.open({ name: "upgrade" })`)
		if browsertest.ErrorName(err) != "SchemaTooNew" {
			t.Errorf("%s: reopening with the old build: %v", tab.Name(), err)
		}
	}
}

// BenchmarkChangeVisibleInOtherTab measures how long a node update in one
// tab takes to reach a watcher in another, next to a raw BroadcastChannel
// round trip between the same two tabs, and reports percentiles (ms) of
// 200 updates.
func BenchmarkChangeVisibleInOtherTab(b *testing.B) {
	const samples = 200
	br := browsertest.Start(b, nil)
	a, c := br.NewTab(b, "A"), br.NewTab(b, "B")
	a.Open(b, "latency")
	c.Open(b, "latency")
	g := browsertest.Eval[graph](b, a, `async () => {
		const workflow = await db.createWorkflow("latency");
		const nodes = await db.setNodes(workflow.id, [{ type: "t", position: { x: 0, y: 0 } }]);
		return { workflow, nodes };
	}`)
	browsertest.Eval[any](b, c, `async (id) => {
		globalThis.seen = {};
		await db.watchWorkflow(id, (g) => { if (g) globalThis.seen[g.nodes[0].position.x] = performance.timeOrigin + performance.now(); });
		const ch = new BroadcastChannel("raw-echo");
		ch.onmessage = (e) => ch.postMessage(e.data);
	}`, g.Workflow.ID)
	for i := 0; i < b.N; i++ {
		browsertest.Eval[any](b, a, `async (wf, id, n) => {
			globalThis.sent = {};
			for (let i = 1; i <= n; i++) {
				const t0 = performance.timeOrigin + performance.now();
				const node = await db.updateNode(wf, id, { position: { x: i + 1e6 * Math.random(), y: 0 } });
				globalThis.sent[node.position.x] = t0;
				globalThis.acked = globalThis.acked || {};
				globalThis.acked[node.position.x] = performance.timeOrigin + performance.now();
				await new Promise((r) => setTimeout(r, 5));
			}
		}`, g.Workflow.ID, g.Nodes[0].ID, samples)
		sent := browsertest.Eval[map[string]float64](b, a, `() => globalThis.sent`)
		last := browsertest.Eval[string](b, a, `() => String(Object.entries(globalThis.sent).sort((x, y) => x[1] - y[1]).at(-1)[0])`)
		// Watches keep only the latest snapshot: under load some
		// intermediate positions are coalesced away. Wait for the last one
		// and measure what was seen.
		c.WaitFor(b, `(k) => globalThis.seen[k] !== undefined`, 10*time.Second, last)
		seen := browsertest.Eval[map[string]float64](b, c, `() => globalThis.seen`)
		acked := browsertest.Eval[map[string]float64](b, a, `() => globalThis.acked`)
		var visible, afterAck []float64
		for k, t0 := range sent {
			if at, ok := seen[k]; ok {
				visible = append(visible, at-t0)
				afterAck = append(afterAck, at-acked[k])
			}
		}
		b.ReportMetric(float64(len(visible)), "seen-of-200")
		rt := browsertest.Eval[[]float64](b, a, `(n) => new Promise((ok) => {
			const ch = new BroadcastChannel("raw-echo");
			const out = [];
			let t0;
			ch.onmessage = () => {
				out.push(performance.now() - t0);
				if (out.length === n) { ch.close(); ok(out); return; }
				setTimeout(() => { t0 = performance.now(); ch.postMessage(out.length); }, 5);
			};
			t0 = performance.now();
			ch.postMessage(0);
		})`, samples)
		// From the write call to the other tab's watcher (the commit
		// included), and from the write's acknowledgement (which follows
		// its commit) to the watcher: negative when the other tab sees the
		// change before the writing tab's promise resolves.
		b.ReportMetric(pct(visible, 50), "call-to-visible-p50-ms")
		b.ReportMetric(pct(visible, 95), "call-to-visible-p95-ms")
		b.ReportMetric(pct(afterAck, 50), "ack-to-visible-p50-ms")
		b.ReportMetric(pct(afterAck, 95), "ack-to-visible-p95-ms")
		b.ReportMetric(pct(rt, 50), "raw-bc-rt-p50-ms")
		b.ReportMetric(pct(rt, 95), "raw-bc-rt-p95-ms")
	}
}

func pct(xs []float64, p int) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[(len(s)-1)*p/100]
}
