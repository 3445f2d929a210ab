package browsertest_test

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/atelierstore/atelier/browsertest"
)

// conflictRec is what onConflict reports about one local operation.
type conflictRec struct {
	Lost struct {
		ID       string `json:"id"`
		Entity   string `json:"entity"`
		EntityID string `json:"entityId"`
		Kind     string `json:"kind"`
		Version  int64  `json:"version"`
	} `json:"lost"`
	Winner *change `json:"winner"`
	Reason string  `json:"reason"`
}

type edge struct {
	ID     string `json:"id"`
	Source string `json:"source"`
	Target string `json:"target"`
}

type fullGraph struct {
	Workflow workflow `json:"workflow"`
	Nodes    []node   `json:"nodes"`
	Edges    []edge   `json:"edges"`
}

// syncFixture is a sync server with the fault-injecting proxy in front and
// a browser.
type syncFixture struct {
	srv   *syncServer
	proxy *syncProxy
	b     *browsertest.Browser
}

func newSyncFixture(t *testing.T, seed uint64) *syncFixture {
	return newSyncFixtureOn(t, seed, "sqlite")
}

// newSyncFixtureOn is newSyncFixture with the server's store named (see
// backends).
func newSyncFixtureOn(t *testing.T, seed uint64, backend string) *syncFixture {
	srv := startSyncServerOn(t, backend)
	return &syncFixture{srv: srv, proxy: startProxy(t, srv.URL(), seed), b: browsertest.Start(t, nil)}
}

func (f *syncFixture) opts(pullMs int) syncOpts {
	return syncOpts{URL: f.proxy.URL(), Workspace: f.srv.ws, Token: f.srv.token, PullIntervalMs: pullMs}
}

func conflictsOf(t *testing.T, tab *browsertest.Tab) []conflictRec {
	t.Helper()
	return browsertest.Eval[[]conflictRec](t, tab, `globalThis.conflicts`)
}

func parkedOf(t *testing.T, tab *browsertest.Tab) []conflictRec {
	t.Helper()
	return browsertest.Eval[[]conflictRec](t, tab, `db.parkedOps()`)
}

// Two profiles (two machines) edit one workspace offline, including the
// same node and the same workflow name, then come online: both end up with
// exactly what the server holds, concurrent edits of different fields of
// one node both survive, those of one field are settled by the later edit
// (not by how often a side edited), the losing side is told through
// onConflict, and nothing is parked.
func TestSyncTwoProfilesConvergeAfterOfflineEdits(t *testing.T) {
	f := newSyncFixture(t, 1)
	a := f.b.NewProfile(t).NewTab(t, "A")
	c := f.b.NewProfile(t).NewTab(t, "B")
	openSynced(t, a, "atelier", f.opts(250))
	openSynced(t, c, "atelier", f.opts(250))

	base := browsertest.Eval[fullGraph](t, a, `async () => {
		const w = await db.createWorkflow("Shared");
		await db.setNodes(w.id, [
			{ type: "prompt", title: "n1", position: { x: 0, y: 0 } },
			{ type: "image", title: "n2", position: { x: 200, y: 0 } },
			{ type: "image", title: "n3", position: { x: 400, y: 0 } },
		]);
		const g = await db.loadWorkflow(w.id);
		const byTitle = Object.fromEntries(g.nodes.map((n) => [n.title, n.id]));
		await db.setEdges(w.id, [{ source: byTitle.n1, target: byTitle.n2 }]);
		return db.loadWorkflow(w.id);
	}`)
	wf := base.Workflow.ID
	ids := map[string]string{}
	for _, n := range base.Nodes {
		ids[n.Title] = n.ID
	}
	waitConverged(t, f.srv, 20*time.Second, a, c)

	// Offline: DevTools network emulation fails the page's requests and
	// fires "offline"; the engine pauses (status offline, no failures).
	setOffline(t, a, true)
	setOffline(t, c, true)
	for _, tab := range []*browsertest.Tab{a, c} {
		tab.WaitFor(t, `async () => !navigator.onLine && (await db.syncStatus()).state === "offline"`, 5*time.Second)
		if err := browsertest.Eval[string](t, tab, `(u) => fetch(u + "/healthz").then(() => "", (e) => e.name)`, f.proxy.URL()); err != "TypeError" {
			t.Fatalf("%s: a fetch while offline gave %q, want a TypeError", tab.Name(), err)
		}
	}
	before := len(f.proxy.Log())

	// A: renames the workflow, moves n1, retitles n2 three times, moves
	// n3, adds n4 and a workflow of its own.
	browsertest.Eval[any](t, a, `async (wf, n1, n2, n3) => {
		await db.updateWorkflow(wf, { name: "Shared by A" });
		await db.updateNode(wf, n1, { position: { x: 10, y: 20 } });
		for (const i of [1, 2, 3]) await db.updateNode(wf, n2, { title: "n2 by A, " + i });
		await db.updateNode(wf, n3, { position: { x: 444, y: 4 } });
		await db.putNodes(wf, [{ type: "note", title: "n4 by A", position: { x: 0, y: 300 } }]);
		const w = await db.createWorkflow("A's own");
		const [x, y] = await db.setNodes(w.id, [
			{ type: "t", title: "ax", position: { x: 0, y: 0 } },
			{ type: "t", title: "ay", position: { x: 1, y: 1 } },
		]);
		await db.setEdges(w.id, [{ source: x.id, target: y.id }]);
	}`, wf, ids["n1"], ids["n2"], ids["n3"])
	time.Sleep(5 * time.Millisecond) // B's edits are later than A's
	// B: renames the workflow too and retitles n2 once, later (B wins
	// there, however often A edited), moves n2, renames n3 (A moved it:
	// both edits survive), adds n5 with an edge to n1, and a workflow of
	// its own.
	browsertest.Eval[any](t, c, `async (wf, n1, n2, n3) => {
		await db.updateWorkflow(wf, { name: "Shared by B" });
		await db.updateNode(wf, n2, { title: "n2 by B" });
		await db.updateNode(wf, n2, { position: { x: 222, y: 2 } });
		await db.updateNode(wf, n3, { title: "n3 by B" });
		const [n5] = await db.putNodes(wf, [{ type: "note", title: "n5 by B", position: { x: 0, y: 400 } }]);
		await db.putEdges(wf, [{ source: n5.id, target: n1 }]);
		await db.createWorkflow("B's own");
	}`, wf, ids["n1"], ids["n2"], ids["n3"])

	time.Sleep(600 * time.Millisecond) // two pull intervals
	if n := len(f.proxy.Log()); n != before {
		t.Fatalf("the proxy saw %d requests while both pages were offline", n-before)
	}
	for _, tab := range []*browsertest.Tab{a, c} {
		st := browsertest.Eval[syncStatus](t, tab, `db.syncStatus()`)
		if st.State != "offline" || st.Failures != 0 || st.Pending == 0 {
			t.Fatalf("%s: status while offline %+v, want offline with no failures (paused, not failing) and the edits pending", tab.Name(), st)
		}
	}

	// B comes back first and its writes reach the server; then A, whose
	// writes on n2 and on the workflow's name lose.
	setOffline(t, c, false)
	c.WaitFor(t, `async () => { const s = await db.syncStatus(); return s.state === "synced" && s.pending === 0; }`, 10*time.Second)
	setOffline(t, a, false)
	_, final := waitConverged(t, f.srv, 20*time.Second, a, c)

	// What the rule says the result is.
	var shared map[string]any
	for _, g := range final {
		if g["workflow"].(map[string]any)["id"] == wf {
			shared = g
		}
	}
	if shared == nil {
		t.Fatal("the shared workflow is gone")
	}
	if name := shared["workflow"].(map[string]any)["name"]; name != "Shared by B" {
		t.Errorf("workflow name %q, want the later rename, B's", name)
	}
	titles := map[string]map[string]any{}
	for _, n := range shared["nodes"].([]any) {
		m := n.(map[string]any)
		titles[m["id"].(string)] = m
	}
	if n2 := titles[ids["n2"]]; n2["title"] != "n2 by B" || n2["position"].(map[string]any)["x"] != 222.0 {
		t.Errorf("n2 is %v, want B's title (the later edit beats three earlier ones) and move", n2)
	}
	if n1 := titles[ids["n1"]]; n1["position"].(map[string]any)["x"] != 10.0 {
		t.Errorf("n1 is %v, want A's move", n1)
	}
	if n3 := titles[ids["n3"]]; n3["title"] != "n3 by B" || n3["position"].(map[string]any)["x"] != 444.0 {
		t.Errorf("n3 is %v, want B's title and A's move", n3)
	}
	if len(final) != 3 || len(shared["nodes"].([]any)) != 5 || len(shared["edges"].([]any)) != 2 {
		t.Errorf("%d workflows, shared has %d nodes and %d edges; want 3, 5, 2",
			len(final), len(shared["nodes"].([]any)), len(shared["edges"].([]any)))
	}

	// A was told about both of its losing writes, with the winners; B, whose
	// writes won, about nothing.
	lost := conflictsOf(t, a)
	var got []string
	for _, cf := range lost {
		if cf.Winner == nil {
			t.Errorf("A: conflict without a winner: %+v", cf)
			continue
		}
		got = append(got, cf.Lost.EntityID)
	}
	sort.Strings(got)
	want := []string{wf, ids["n2"], ids["n2"], ids["n2"]} // each of A's three retitles lost
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("A was told of conflicts on %v, want the workflow and n2 (three times) %v", got, want)
	}
	if cs := conflictsOf(t, c); len(cs) != 0 {
		t.Errorf("B was told of %d conflicts, want none: %+v", len(cs), cs)
	}
	for _, tab := range []*browsertest.Tab{a, c} {
		if p := parkedOf(t, tab); len(p) != 0 {
			t.Errorf("%s: parked ops %+v", tab.Name(), p)
		}
	}

	// Now the losing side syncs first: offline, A moves n1, then B
	// retitles and moves it, later; A's move is applied, then B's
	// overwrites it. A is told when it pulls B's write, B (the winner) is
	// not.
	setOffline(t, a, true)
	setOffline(t, c, true)
	browsertest.Eval[any](t, a, `(wf, n1) => db.updateNode(wf, n1, { position: { x: 11, y: 11 } })`, wf, ids["n1"])
	time.Sleep(5 * time.Millisecond)
	browsertest.Eval[any](t, c, `async (wf, n1) => {
		await db.updateNode(wf, n1, { title: "n1 by B" });
		await db.updateNode(wf, n1, { position: { x: 33, y: 33 } });
	}`, wf, ids["n1"])
	setOffline(t, a, false)
	a.WaitFor(t, `async () => { const s = await db.syncStatus(); return s.state === "synced" && s.pending === 0; }`, 10*time.Second)
	if n := len(conflictsOf(t, a)); n != len(lost) {
		t.Fatalf("A was told of %d conflicts before B synced", n-len(lost))
	}
	setOffline(t, c, false)
	_, final = waitConverged(t, f.srv, 20*time.Second, a, c)
	told := conflictsOf(t, a)[len(lost):]
	if len(told) != 1 || told[0].Lost.EntityID != ids["n1"] || told[0].Winner == nil || told[0].Winner.EntityID != ids["n1"] {
		t.Fatalf("A was told %+v, want its move of n1 overwritten by B's write", told)
	}
	if cs := conflictsOf(t, c); len(cs) != 0 {
		t.Errorf("B, the winner, was told of %d conflicts: %+v", len(cs), cs)
	}
	for _, g := range final {
		for _, n := range g["nodes"].([]any) {
			if m := n.(map[string]any); m["id"] == ids["n1"] && (m["title"] != "n1 by B" || m["position"].(map[string]any)["x"] != 33.0) {
				t.Errorf("n1 is %v, want B's", m)
			}
		}
	}
}

// workload makes, in a page, workflows with nodes and edges, updates random
// nodes and deletes some unconnected ones, and returns how many operations
// it made on each entity: as each op proposes the entity's next version,
// that count is the version the entity must end at on the server if every
// op was applied once.
const workload = `async (tag, nWorkflows, nNodes, nEdges, nUpdates, nDeletes, seed) => {
	const count = {};
	const bump = (id) => { count[id] = (count[id] || 0) + 1; };
	let s = seed;
	const rand = (n) => { s = (s * 1103515245 + 12345) % 2147483648; return s % n; };
	const live = [];
	const loose = [];
	for (let w = 0; w < nWorkflows; w++) {
		const wf = await db.createWorkflow(tag + " W" + w);
		bump(wf.id);
		const nodes = await db.putNodes(wf.id, Array.from({ length: nNodes }, (_, i) =>
			({ type: "t", title: tag + " n" + i, position: { x: i, y: w } })));
		nodes.forEach((n) => bump(n.id));
		const edges = await db.putEdges(wf.id, nodes.slice(1, nEdges + 1).map((n, i) => ({ source: nodes[i].id, target: n.id })));
		edges.forEach((e) => bump(e.id));
		nodes.forEach((n, i) => { live.push([wf.id, n.id]); if (i > nEdges) loose.push([wf.id, n.id]); });
		await db.updateWorkflow(wf.id, { name: tag + " W" + w + " renamed" });
		bump(wf.id);
	}
	const gone = new Set();
	for (let i = 0; i < nDeletes && loose.length > 0; i++) {
		const [wf, id] = loose.splice(rand(loose.length), 1)[0];
		await db.deleteNodes(wf, [id]);
		bump(id);
		gone.add(id);
	}
	const alive = live.filter(([, id]) => !gone.has(id));
	for (let i = 0; i < nUpdates; i++) {
		const [wf, id] = alive[rand(alive.length)];
		await db.updateNode(wf, id, { position: { x: rand(1000), y: rand(1000) }, title: tag + " u" + i });
		bump(id);
	}
	return count;
}`

// checkExactlyOnce checks the server's database against the operations a
// page made: one ack per op, each applied; the workspace's sequence, which
// grows by one per applied op, equal to the number of ops (so no op was
// applied twice, under its id or another); every entity at the version
// its op count gives (so no op was lost or doubled); and every op the
// pages pushed is known to the server.
func checkExactlyOnce(t *testing.T, d *serverDump, counts map[string]int64, pushed map[string]bool) {
	t.Helper()
	total := int64(0)
	for _, n := range counts {
		total += n
	}
	if int64(len(d.Acks)) != total {
		t.Errorf("the server has %d acks, the pages made %d ops", len(d.Acks), total)
	}
	for _, a := range d.Acks {
		if a.Ack.Status != "applied" {
			t.Errorf("op %s: %s (%s), want applied", a.OpID, a.Ack.Status, a.Ack.Error)
		}
	}
	if d.Seq != total {
		t.Errorf("the workspace's sequence is at %d after %d ops: ops were applied more or less than once", d.Seq, total)
	}
	seen := map[string]bool{}
	for _, c := range d.Entities {
		seen[c.EntityID] = true
		if want, ok := counts[c.EntityID]; !ok {
			t.Errorf("the server has %s %s, which no page made", c.Entity, c.EntityID)
		} else if c.Version != want {
			t.Errorf("%s %s is at version %d on the server after %d ops", c.Entity, c.EntityID, c.Version, want)
		}
	}
	for id := range counts {
		if !seen[id] {
			t.Errorf("entity %s never reached the server", id)
		}
	}
	acked := map[string]bool{}
	for _, a := range d.Acks {
		acked[a.OpID] = true
	}
	for id := range pushed {
		if !acked[id] {
			t.Errorf("op %s was pushed but the server does not know it", id)
		}
	}
}

// pushedOps returns the ids of every op the proxy saw pushed, and checks
// that every op pushed more than once got the same ack each time the
// server answered: the server recognised the replay.
func pushedOps(t *testing.T, log []exchange) (ids map[string]bool, replays int) {
	t.Helper()
	ids = map[string]bool{}
	first := map[string]ackRec{}
	for _, ex := range log {
		if ex.Kind != "push" {
			continue
		}
		for i, id := range ex.OpIDs {
			if ids[id] {
				replays++
			}
			ids[id] = true
			if ex.Status != 200 || i >= len(ex.Acks) {
				continue
			}
			a := ex.Acks[i]
			if f, ok := first[id]; ok && (f.Status != a.Status || f.Version != a.Version) {
				t.Errorf("op %s: acked %s v%d, then %s v%d on a replay", id, f.Status, f.Version, a.Status, a.Version)
			} else if !ok {
				first[id] = a
			}
		}
	}
	return ids, replays
}

func faults(log []exchange, kind string) (n int) {
	for _, ex := range log {
		if ex.Kind == kind && ex.Fault != "" {
			n++
		}
	}
	return n
}

// The server is killed with SIGKILL twice while a page flushes a large
// outbox (2,000+ ops, pushed 500 at a time) and restarted on the same
// database: afterwards the outbox is empty and every op is on the server
// exactly once.
func TestSyncServerKilledMidFlush(t *testing.T) {
	f := newSyncFixture(t, 2)
	a := f.b.NewProfile(t).NewTab(t, "A")
	openSynced(t, a, "atelier", f.opts(250))
	setOffline(t, a, true)
	a.WaitFor(t, `async () => (await db.syncStatus()).state === "offline"`, 5*time.Second)
	counts := browsertest.Eval[map[string]int64](t, a, workload, "K", 4, 400, 50, 300, 20, 7)
	outbox := readOutbox(t, a, "atelier")
	t.Logf("%d ops in the outbox", len(outbox))

	// Kill the server a few milliseconds after the 2nd push arrives (the
	// count includes retries), in the middle of its work or not; and once
	// it has committed and answered the 5th push, before the page gets
	// the answer.
	kills := make(chan string, 2)
	f.proxy.OnPush(func(n int) {
		if n == 2 {
			kills <- "2nd push, 15ms after it arrived"
		}
	})
	f.proxy.OnPushAnswered(func(n int) bool {
		if n != 5 {
			return false
		}
		f.srv.Kill(t)
		kills <- "5th push, committed and answered"
		return true
	})
	setOffline(t, a, false)
	for range 2 {
		select {
		case what := <-kills:
			if strings.HasPrefix(what, "2nd") {
				time.Sleep(15 * time.Millisecond)
				f.srv.Kill(t)
			}
			t.Logf("killed at the %s: the server holds %d acks", what, len(f.srv.Dump(t).Acks))
			time.Sleep(700 * time.Millisecond)
			f.srv.Start(t)
		case <-time.After(60 * time.Second):
			t.Fatalf("the page pushed only %d times", len(f.proxy.Log()))
		}
	}
	d, _ := waitConverged(t, f.srv, 90*time.Second, a)

	log := f.proxy.Log()
	pushed, replays := pushedOps(t, log)
	t.Logf("%d requests, %d failed pushes, %d ops pushed again", len(log), faults(log, "push"), replays)
	if faults(log, "push") == 0 {
		t.Fatal("no push failed: the kills missed")
	}
	mine := map[string]bool{}
	for _, op := range outbox {
		mine[op.ID] = true
	}
	for id := range pushed {
		if !mine[id] {
			t.Errorf("op %s was pushed but was not in the outbox", id)
		}
	}
	checkExactlyOnce(t, d, counts, mine)
	if left := readOutbox(t, a, "atelier"); len(left) != 0 {
		t.Errorf("%d ops left in the outbox", len(left))
	}
}

// 30% of push and pull answers are thrown away after the server committed
// (a reset connection or a 502) while two profiles write in bursts: every
// op ends on the server exactly once, every replay got the first ack, and
// both profiles hold what the server holds.
func TestSyncLostAnswersApplyNothingTwice(t *testing.T) {
	f := newSyncFixture(t, 3)
	a := f.b.NewProfile(t).NewTab(t, "A")
	c := f.b.NewProfile(t).NewTab(t, "B")
	openSynced(t, a, "atelier", f.opts(150))
	openSynced(t, c, "atelier", f.opts(150))
	f.proxy.SetDropRate(0.3)
	counts := map[string]int64{}
	for round := range 6 {
		for i, tab := range []*browsertest.Tab{a, c} {
			got := browsertest.Eval[map[string]int64](t, tab, workload, fmt.Sprint(tab.Name(), round), 1, 12, 4, 15, 2, 2*round+i+1)
			for id, n := range got {
				counts[id] += n
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	// Converge with the faults still on: every answer lost is retried.
	d, _ := waitConvergedNudging(t, f.srv, 90*time.Second, a, c)
	log := f.proxy.Log()
	pushed, replays := pushedOps(t, log)
	t.Logf("%d requests, %d push and %d pull answers dropped, %d ops pushed again",
		len(log), faults(log, "push"), faults(log, "pull"), replays)
	if faults(log, "push") == 0 || faults(log, "pull") == 0 || replays == 0 {
		t.Fatal("the faults did not hit both pushes and pulls, or nothing was pushed again")
	}
	checkExactlyOnce(t, d, counts, pushed)
	for _, tab := range []*browsertest.Tab{a, c} {
		if left := readOutbox(t, tab, "atelier"); len(left) != 0 {
			t.Errorf("%s: %d ops left in the outbox", tab.Name(), len(left))
		}
		if cs := conflictsOf(t, tab); len(cs) != 0 {
			t.Errorf("%s: %d conflicts reported, want none (no entity was written by both): %+v", tab.Name(), len(cs), cs[0])
		}
	}
}

// Only the leading tab of a profile talks to the server: two tabs write,
// the leader pushes the ops of both, the other sends nothing; when the
// leader's tab closes, the other takes over and pushes.
func TestSyncOnlyTheLeaderPushes(t *testing.T) {
	f := newSyncFixture(t, 4)
	p := f.b.NewProfile(t)
	a, c := p.NewTab(t, "A"), p.NewTab(t, "B")
	openSynced(t, a, "atelier", f.opts(200))
	a.WaitFor(t, `db.isLeader()`, 5*time.Second)
	openSynced(t, c, "atelier", f.opts(200))
	if browsertest.Eval[bool](t, c, `db.isLeader()`) {
		t.Fatal("both tabs lead")
	}
	pushesA, pushesB := pushCounter(t, a, f.proxy.URL()), pushCounter(t, c, f.proxy.URL())
	requestsB := requestCounter(t, c, f.proxy.URL())

	counts := map[string]int64{}
	for round := range 3 {
		for i, tab := range []*browsertest.Tab{a, c} {
			got := browsertest.Eval[map[string]int64](t, tab, workload, fmt.Sprint(tab.Name(), round), 1, 5, 2, 5, 1, 2*round+i+1)
			for id, n := range got {
				counts[id] += n
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	d, _ := waitConverged(t, f.srv, 30*time.Second, a)
	waitConverged(t, f.srv, 10*time.Second, c) // same storage: B sees it too
	pushed, _ := pushedOps(t, f.proxy.Log())
	checkExactlyOnce(t, d, counts, pushed)
	if pushesA.Load() == 0 || pushesB.Load() != 0 || requestsB.Load() != 0 {
		t.Fatalf("A pushed %d times, B %d times and made %d requests; want only A", pushesA.Load(), pushesB.Load(), requestsB.Load())
	}
	t.Logf("leader A pushed %d times, B never", pushesA.Load())
	// B shows the leader's status, received from A: onSyncStatus fired
	// in B although its own engine never ran. A starts a round (state
	// "syncing") every pull interval, so wait for one to end.
	c.WaitFor(t, `async () => (await db.syncStatus()).state === "synced"`, 10*time.Second)
	type shared struct {
		Calls  int
		Leader []bool
		State  string
	}
	sh := browsertest.Eval[shared](t, c, `async () => {
		const s = await db.syncStatus();
		return { Calls: statuses.length, Leader: [...new Set(statuses.map((x) => x.leader)), s.leader], State: s.state };
	}`)
	if sh.Calls == 0 || slices.Contains(sh.Leader, true) {
		t.Errorf("B's sync status: %d onSyncStatus calls, leader flags %v, state %q; want calls relayed from A (leader false)", sh.Calls, sh.Leader, sh.State)
	}

	a.Close()
	c.WaitFor(t, `db.isLeader()`, 10*time.Second)
	if lc := browsertest.Eval[[]bool](t, c, `globalThis.leaderChanges`); !slices.Contains(lc, true) {
		t.Errorf("B's onLeaderChange calls: %v, want a true", lc)
	}
	got := browsertest.Eval[map[string]int64](t, c, workload, "B after", 1, 5, 2, 5, 1, 99)
	for id, n := range got {
		counts[id] += n
	}
	d, _ = waitConverged(t, f.srv, 30*time.Second, c)
	pushed, _ = pushedOps(t, f.proxy.Log())
	checkExactlyOnce(t, d, counts, pushed)
	if pushesB.Load() == 0 {
		t.Fatal("B leads but never pushed")
	}
}

// integrity fails the test when the server holds live nodes of deleted
// workflows or live edges whose ends are deleted.
func integrity(t *testing.T, d *serverDump) {
	t.Helper()
	if _, bad := serverSnapshot(t, d); len(bad) > 0 {
		t.Errorf("the server's graph is broken:\n\t%s", strings.Join(bad, "\n\t"))
	}
}

// Deletions and concurrent additions meet across devices: an edge added
// offline to a node deleted elsewhere, a node added offline to a workflow
// deleted elsewhere (either arriving first), must not leave dangling edges
// or orphan nodes on the server, and both devices must end equal to it,
// the device whose additions were undone being told.
func TestSyncDeletionsKeepTheGraphWhole(t *testing.T) {
	f := newSyncFixture(t, 5)
	a := f.b.NewProfile(t).NewTab(t, "A")
	c := f.b.NewProfile(t).NewTab(t, "B")
	openSynced(t, a, "atelier", f.opts(200))
	openSynced(t, c, "atelier", f.opts(200))
	type ids map[string]string
	g := browsertest.Eval[ids](t, a, `async () => {
		const w1 = await db.createWorkflow("W1");
		const [n1, n2, n3, n4] = await db.setNodes(w1.id, ["n1", "n2", "n3", "n4"].map((title, i) =>
			({ type: "t", title, position: { x: 100 * i, y: 0 } })));
		await db.setEdges(w1.id, [{ source: n1.id, target: n2.id }]);
		const w2 = await db.createWorkflow("W2");
		const [m1] = await db.setNodes(w2.id, [{ type: "t", title: "m1", position: { x: 0, y: 0 } }]);
		const w3 = await db.createWorkflow("W3");
		return { w1: w1.id, n1: n1.id, n2: n2.id, n3: n3.id, n4: n4.id, w2: w2.id, m1: m1.id, w3: w3.id };
	}`)
	waitConverged(t, f.srv, 20*time.Second, a, c)

	// The deletions arrive first: A deletes n2 and W2 and syncs; B, offline,
	// meanwhile adds an edge to n2, a node to W2 and edits m1 in W2.
	setOffline(t, c, true)
	c.WaitFor(t, `async () => (await db.syncStatus()).state === "offline"`, 5*time.Second)
	browsertest.Eval[any](t, a, `async (g) => {
		await db.deleteNodes(g.w1, [g.n2]);
		await db.deleteWorkflow(g.w2);
	}`, g)
	waitConverged(t, f.srv, 20*time.Second, a)
	lateAdds := browsertest.Eval[ids](t, c, `async (g) => {
		const [e] = await db.putEdges(g.w1, [{ source: g.n3, target: g.n2 }]);
		const [m2] = await db.putNodes(g.w2, [{ type: "t", title: "m2", position: { x: 1, y: 1 } }]);
		await db.updateNode(g.w2, g.m1, { title: "m1 by B" });
		return { edge: e.id, m2: m2.id };
	}`, g)

	// The additions arrive first: B, back online, adds an edge to n4 and a
	// node to W3 and syncs; A, offline since before, deletes n4 and W3.
	setOffline(t, a, true)
	a.WaitFor(t, `async () => (await db.syncStatus()).state === "offline"`, 5*time.Second)
	setOffline(t, c, false)
	early := browsertest.Eval[ids](t, c, `async (g) => {
		const [e] = await db.putEdges(g.w1, [{ source: g.n1, target: g.n4 }]);
		const [x] = await db.putNodes(g.w3, [{ type: "t", title: "x", position: { x: 0, y: 0 } }]);
		return { edge: e.id, x: x.id };
	}`, g)
	c.WaitFor(t, `async () => { const s = await db.syncStatus(); return s.state === "synced" && s.pending === 0; }`, 10*time.Second)
	browsertest.Eval[any](t, a, `async (g) => {
		await db.deleteNodes(g.w1, [g.n4]);
		await db.deleteWorkflow(g.w3);
	}`, g)
	setOffline(t, a, false)

	d, final := waitConverged(t, f.srv, 30*time.Second, a, c)
	integrity(t, d)
	if len(final) != 1 {
		t.Fatalf("%d workflows, want only W1", len(final))
	}
	live := map[string]bool{}
	for _, k := range []string{"nodes", "edges"} {
		for _, e := range final[0][k].([]any) {
			live[e.(map[string]any)["id"].(string)] = true
		}
	}
	for _, id := range []string{lateAdds["edge"], early["edge"], g["n2"], g["n4"]} {
		if live[id] {
			t.Errorf("%s is live", id)
		}
	}
	if !live[g["n1"]] || !live[g["n3"]] || len(live) != 2 {
		t.Errorf("W1 holds %v, want n1 and n3 alone", live)
	}
	// B was told that its additions were undone: the late ones when it
	// pushed them, the early ones (applied, then deleted along with their
	// node and workflow) when it pulled the deletions.
	told := map[string]bool{}
	for _, cf := range conflictsOf(t, c) {
		if cf.Winner == nil || !cf.Winner.Deleted {
			t.Errorf("B: conflict %+v, want one lost to a deletion", cf)
		}
		told[cf.Lost.EntityID] = true
	}
	for _, id := range []string{lateAdds["edge"], lateAdds["m2"], g["m1"], early["edge"], early["x"]} {
		if !told[id] {
			t.Errorf("B was not told that its write to %s was undone (told of %v)", id, told)
		}
	}
	for _, tab := range []*browsertest.Tab{a, c} {
		if p := parkedOf(t, tab); len(p) != 0 {
			t.Errorf("%s: parked ops %+v", tab.Name(), p)
		}
	}
}

// A profile that joins a workspace pulls it a page at a time (200 changes),
// in the order of each entity's last change: a workflow renamed after its
// nodes were made comes after them, on a later page. The new profile must
// still end with every node and edge.
func TestSyncNewDeviceGetsEverythingAcrossPages(t *testing.T) {
	f := newSyncFixture(t, 6)
	a := f.b.NewProfile(t).NewTab(t, "A")
	openSynced(t, a, "atelier", f.opts(200))
	browsertest.Eval[any](t, a, `async () => {
		const w = await db.createWorkflow("Big");
		const nodes = await db.putNodes(w.id, Array.from({ length: 450 }, (_, i) =>
			({ type: "t", title: "n" + i, position: { x: i, y: 0 } })));
		await db.putEdges(w.id, nodes.slice(1, 100).map((n, i) => ({ source: nodes[i].id, target: n.id })));
		await db.updateNode(w.id, nodes[0].id, { title: "n0, edited last" });
		await db.updateWorkflow(w.id, { name: "Big, renamed last" });
	}`)
	waitConverged(t, f.srv, 30*time.Second, a)
	c := f.b.NewProfile(t).NewTab(t, "B")
	openSynced(t, c, "atelier", f.opts(200))
	_, final := waitConverged(t, f.srv, 30*time.Second, a, c)
	if len(final) != 1 || len(final[0]["nodes"].([]any)) != 450 || len(final[0]["edges"].([]any)) != 99 {
		t.Fatalf("the server holds %d workflows, want 1 with 450 nodes and 99 edges", len(final))
	}
	pulls := 0
	for _, ex := range f.proxy.Log() {
		if ex.Kind == "pull" && ex.Changes > 0 {
			pulls++
		}
	}
	if pulls < 3 {
		t.Fatalf("%d pulls brought changes, want the workspace to take several pages", pulls)
	}
}

// The outbox is written in the same transaction as each mutation: a tab
// crashed in the middle of a burst of offline edits leaves, for every
// node, exactly the ops of the edits that were stored (versions sv+1 to
// v, nothing beyond), and after a reload they all reach the server.
func TestSyncOutboxSurvivesACrashWithItsMutations(t *testing.T) {
	f := newSyncFixture(t, 7)
	a := f.b.NewProfile(t).NewTab(t, "A")
	openSynced(t, a, "atelier", f.opts(200))
	wf := browsertest.Eval[string](t, a, `async () => {
		const w = await db.createWorkflow("Crash");
		await db.putNodes(w.id, Array.from({ length: 20 }, (_, i) => ({ type: "t", title: "n" + i, position: { x: i, y: 0 } })));
		return w.id;
	}`)
	waitConverged(t, f.srv, 20*time.Second, a)
	// The server goes away (the page stays online, so it can reload after
	// the crash): the edits pile up in the outbox.
	f.srv.Kill(t)
	browsertest.Eval[any](t, a, `async (wf) => {
		const ids = (await db.loadWorkflow(wf)).nodes.map((n) => n.id);
		globalThis.edits = 0;
		(async () => {
			for (let i = 0; ; i++) {
				await db.updateNode(wf, ids[i % ids.length], { position: { x: i, y: i } });
				globalThis.edits++;
			}
		})();
	}`, wf)
	a.WaitFor(t, `globalThis.edits >= 150`, 20*time.Second)
	a.Crash(t)

	// Straight from IndexedDB, without opening the store.
	a.Navigate(t, browsertest.AppPath)
	type rec struct {
		ID string `json:"id"`
		V  int64  `json:"v"`
		SV int64  `json:"sv"`
	}
	nodes := browsertest.Eval[[]rec](t, a, `() => new Promise((resolve, reject) => {
		const req = indexedDB.open("atelier");
		req.onerror = () => reject(req.error);
		req.onsuccess = () => {
			const idb = req.result;
			const get = idb.transaction("nodes").objectStore("nodes").getAll();
			get.onsuccess = () => { idb.close(); resolve(get.result.map((r) => ({ id: r.id, v: r.v, sv: r.sv || 0 }))); };
			get.onerror = () => { idb.close(); reject(get.error); };
		};
	})`)
	ops := readOutbox(t, a, "atelier")
	versions := map[string][]int64{}
	for _, op := range ops {
		versions[op.EntityID] = append(versions[op.EntityID], op.Version)
	}
	edited := 0
	for _, n := range nodes {
		got := versions[n.ID]
		sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
		var want []int64
		for v := n.SV + 1; v <= n.V; v++ {
			want = append(want, v)
		}
		if !slices.Equal(got, want) {
			t.Errorf("node %s at v%d (server v%d) has ops for versions %v, want %v", n.ID, n.V, n.SV, got, want)
		}
		delete(versions, n.ID)
		if n.V > n.SV {
			edited++
		}
	}
	if len(versions) != 0 {
		t.Errorf("ops of entities that are not stored: %v", versions)
	}
	if len(ops) < 100 || edited != 20 {
		t.Fatalf("%d ops for %d edited nodes survived the crash, want at least 100 for all 20", len(ops), edited)
	}
	t.Logf("%d ops in the outbox after the crash", len(ops))

	// The server is back and the store opens again: all of them reach it.
	f.srv.Start(t)
	openSynced(t, a, "atelier", f.opts(200))
	d, _ := waitConverged(t, f.srv, 30*time.Second, a)
	for _, c := range d.Entities {
		for _, n := range nodes {
			if n.ID == c.EntityID && c.Version != n.V {
				t.Errorf("node %s at v%d on the server, v%d in the page", n.ID, c.Version, n.V)
			}
		}
	}
}

// Through the JavaScript API (atelier.open with sync): an image stored in
// one profile as a node's result is uploaded by that profile's leader; a
// fresh profile gets the node from the pull and the image's bytes from
// the server when it reads them, reporting the bytes received, and keeps
// a local copy.
func TestSyncAssetsReachANewDeviceThroughTheAPI(t *testing.T) {
	f := newSyncFixture(t, 8)
	a := f.b.NewProfile(t).NewTab(t, "A")
	openSynced(t, a, "atelier", f.opts(200))
	type put struct {
		WF, Node, Hash string
		Bytes          int
	}
	p := browsertest.Eval[put](t, a, `async () => {
		const bytes = new Uint8Array(10 << 20);
		for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
		const ref = await db.putAsset(new Blob([bytes], { type: "image/png" }));
		const w = await db.createWorkflow("With media");
		const [n] = await db.putNodes(w.id, [{ type: "image", title: "picture", position: { x: 0, y: 0 } }]);
		await db.updateNodeResult(w.id, n.id, { asset: ref });
		return { WF: w.id, Node: n.id, Hash: ref.hash, Bytes: bytes.length };
	}`)
	a.WaitFor(t, `async () => { const s = await db.syncStatus(); return s.assets.pending === 0 && s.assets.uploaded === 1; }`, 30*time.Second)
	waitConverged(t, f.srv, 20*time.Second, a)

	c := f.b.NewProfile(t).NewTab(t, "B")
	openSynced(t, c, "atelier", f.opts(200))
	waitConverged(t, f.srv, 20*time.Second, a, c)
	type got struct {
		Hash, Kind                      string
		Same, RemoteBefore, RemoteAfter bool
		Progress                        []struct{ Done, Total int64 }
	}
	g := browsertest.Eval[got](t, c, `async (wf, node) => {
		const g = await db.loadWorkflow(wf);
		const ref = g.nodes.find((n) => n.id === node).result.asset;
		const before = (await db.listAssets()).find((r) => r.hash === ref.hash);
		const progress = [];
		const b = await db.assetBlob(ref, { onProgress: (p) => progress.push({ Done: p.done, Total: p.total }) });
		const mine = new Uint8Array(await b.arrayBuffer());
		let same = mine.length === 10 << 20;
		for (let i = 0; same && i < mine.length; i++) same = mine[i] === ((i * 2654435761) >>> 24);
		const after = (await db.listAssets()).find((r) => r.hash === ref.hash);
		return { Hash: ref.hash, Kind: ref.kind, Same: same, RemoteBefore: !before || !!before.remote, RemoteAfter: !after || !!after.remote, Progress: progress };
	}`, p.WF, p.Node)
	if g.Hash != p.Hash {
		t.Fatalf("the node's asset on the new device has hash %s, want %s", g.Hash, p.Hash)
	}
	if !g.Same {
		t.Fatal("the bytes read on the new device differ from those stored on the first")
	}
	if !g.RemoteBefore {
		t.Error("the new device held the bytes before anything read them: want them fetched on demand")
	}
	if g.RemoteAfter {
		t.Error("after a read, the new device still has no local copy of the bytes")
	}
	// Past 4 MiB, past 8 MiB, then all of it, once each.
	pr := g.Progress
	if len(pr) != 3 || pr[0].Done < 4<<20 || pr[1].Done < 8<<20 || pr[1].Done >= int64(p.Bytes) ||
		pr[0].Done >= pr[1].Done || pr[2].Done != int64(p.Bytes) ||
		pr[0].Total != int64(p.Bytes) || pr[1].Total != int64(p.Bytes) || pr[2].Total != int64(p.Bytes) {
		t.Errorf("onProgress heard %v: want past 4 MiB, past 8 MiB, then all %d bytes", pr, p.Bytes)
	}
	t.Logf("%d bytes, %s ref, fetched from the server on first read", p.Bytes, g.Kind)
}

// The example editor syncs when its address says where to: a workflow
// created in it reaches the server, and its sync chip says so.
func TestSyncExampleEditor(t *testing.T) {
	f := newSyncFixture(t, 9)
	a := f.b.NewProfile(t).NewTab(t, "A")
	o := f.opts(200)
	a.Navigate(t, browsertest.EditorPath+"?"+url.Values{"sync": {o.URL}, "workspace": {o.Workspace}, "token": {o.Token}}.Encode())
	a.WaitFor(t, readyJS, 30*time.Second)
	a.Type(t, "#newName", "Synced from the editor")
	a.Click(t, "#create button")
	a.WaitFor(t, `document.querySelector("#syncChip").dataset.sync === "synced" && !document.querySelector("#syncChip").hidden`, 20*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		d := f.srv.Dump(t)
		found := false
		for _, c := range d.Entities {
			if c.Entity == "workflow" && strings.Contains(string(c.Data), "Synced from the editor") {
				found = true
			}
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the workflow created in the editor never reached the server (%d entities there)", len(d.Entities))
		}
		time.Sleep(100 * time.Millisecond)
	}
	shot(t, a, "21-synced")
}
