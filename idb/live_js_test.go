//go:build js && wasm

package idb

import (
	"context"
	"errors"
	"runtime"
	"syscall/js"
	"testing"
	"time"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
)

// twoTabs opens two stores on one database: to each other they are two
// tabs (separate connections and tab ids, a real BroadcastChannel between
// them).
func twoTabs(t *testing.T) (*DB, *DB) {
	t.Helper()
	name := dbName(t)
	a := openNamed(t, name, nil, migrations)
	b, err := Open(testCtx(t), name, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b
}

// next returns the next snapshot, failing after a deadline.
func nextSnap[T any](t *testing.T, w *Watch[T]) T {
	t.Helper()
	select {
	case s, ok := <-w.C:
		if !ok {
			t.Fatal("watch closed")
		}
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no snapshot within 5s")
	}
	var zero T
	return zero
}

// until reads snapshots until cond holds.
func until[T any](t *testing.T, w *Watch[T], cond func(T) bool) T {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case s, ok := <-w.C:
			if !ok {
				t.Fatal("watch closed")
			}
			if cond(s) {
				return s
			}
		case <-deadline:
			t.Fatal("condition not reached within 5s")
		}
	}
}

func TestChangesReachTheOtherTab(t *testing.T) {
	ctx := testCtx(t)
	a, b := twoTabs(t)
	w := mustWorkflow(t, a, "shared")
	nodes, err := a.SetNodes(ctx, w.ID, someNodes(3))
	if err != nil {
		t.Fatal(err)
	}
	watch, err := b.WatchWorkflow(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Stop()
	first := nextSnap(t, watch)
	if first.Err != nil || len(first.Graph.Nodes) != 3 {
		t.Fatalf("first snapshot: %+v", first)
	}
	local, err := a.WatchWorkflow(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer local.Stop()
	nextSnap(t, local)

	pos := graph.Position{X: 777, Y: 1}
	start := time.Now()
	moved, err := a.UpdateNodeDimensions(ctx, w.ID, nodes[1].ID, &pos, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := func(s WorkflowSnapshot) bool {
		return s.Err == nil && len(s.Graph.Nodes) == 3 && s.Graph.Nodes[1].Position == pos && s.Graph.Nodes[1].Version == moved.Version
	}
	until(t, watch, seen)
	t.Logf("visible in the other tab %v after the call started", time.Since(start))
	until(t, local, seen)

	// Edges, renames and deletions travel too.
	edges, err := a.SetEdges(ctx, w.ID, []graph.Edge{{Source: nodes[0].ID, Target: nodes[2].ID}})
	if err != nil {
		t.Fatal(err)
	}
	until(t, watch, func(s WorkflowSnapshot) bool { return len(s.Graph.Edges) == 1 && s.Graph.Edges[0].ID == edges[0].ID })
	if _, err := a.RenameWorkflow(ctx, w.ID, "renamed"); err != nil {
		t.Fatal(err)
	}
	until(t, watch, func(s WorkflowSnapshot) bool { return s.Graph.Workflow.Name == "renamed" })
	if err := a.DeleteNodes(ctx, w.ID, nodes[0].ID); err != nil {
		t.Fatal(err)
	}
	until(t, watch, func(s WorkflowSnapshot) bool { return len(s.Graph.Nodes) == 2 && len(s.Graph.Edges) == 0 })
	if err := a.DeleteWorkflow(ctx, w.ID); err != nil {
		t.Fatal(err)
	}
	until(t, watch, func(s WorkflowSnapshot) bool { return errors.Is(s.Err, errs.ErrNotFound) })
}

// TestRereadsOnlyWhatIsNewer: one change is read once, by one shared live
// model, however many watchers; echoes and repeated messages read nothing.
func TestRereadsOnlyWhatIsNewer(t *testing.T) {
	ctx := testCtx(t)
	a, b := twoTabs(t)
	w := mustWorkflow(t, a, "reads")
	nodes, err := a.SetNodes(ctx, w.ID, someNodes(50))
	if err != nil {
		t.Fatal(err)
	}
	w1, _ := b.WatchWorkflow(ctx, w.ID)
	w2, _ := b.WatchWorkflow(ctx, w.ID)
	defer w1.Stop()
	defer w2.Stop()
	nextSnap(t, w1)
	nextSnap(t, w2)
	g := b.hub.graphs[w.ID]
	before := g.reads.Load()

	pos := graph.Position{X: 5, Y: 5}
	moved, err := a.UpdateNodeDimensions(ctx, w.ID, nodes[7].ID, &pos, nil)
	if err != nil {
		t.Fatal(err)
	}
	cond := func(s WorkflowSnapshot) bool { return len(s.Graph.Nodes) == 50 && s.Graph.Nodes[7].Position == pos }
	until(t, w1, cond)
	until(t, w2, cond)
	if n := g.reads.Load() - before; n != 1 {
		t.Fatalf("one changed node among 50 caused %d reads", n)
	}
	// The same announcement again, and our own echo: nothing to read.
	msg := encodeMessage("another-tab", []Change{{ChangeNode, moved.ID, w.ID, moved.Version}})
	b.hub.receive(msg)
	b.hub.receive(encodeMessage(b.tab, []Change{{ChangeNode, nodes[8].ID, w.ID, 99}}))
	b.hub.receive("not json")
	time.Sleep(50 * time.Millisecond)
	if n := g.reads.Load() - before; n != 1 {
		t.Fatalf("repeated message or echo caused reads: %d", n)
	}
}

// TestWatchCoalescesBursts: a reader that does not keep up gets the latest
// state, not a queue of stale ones.
func TestWatchCoalescesBursts(t *testing.T) {
	ctx := testCtx(t)
	a, b := twoTabs(t)
	w := mustWorkflow(t, a, "burst")
	nodes, err := a.SetNodes(ctx, w.ID, someNodes(5))
	if err != nil {
		t.Fatal(err)
	}
	watch, _ := b.WatchWorkflow(ctx, w.ID)
	defer watch.Stop()
	nextSnap(t, watch)
	for i := 0; i < 200; i++ {
		pos := graph.Position{X: float64(i), Y: -3}
		if _, err := a.UpdateNodeDimensions(ctx, w.ID, nodes[i%5].ID, &pos, nil); err != nil {
			t.Fatal(err)
		}
	}
	want, err := a.LoadWorkflow(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	delivered := 0
	final := until(t, watch, func(s WorkflowSnapshot) bool {
		delivered++
		for i := range want.Nodes {
			if s.Graph.Nodes[i].Version != want.Nodes[i].Version {
				return false
			}
		}
		return true
	})
	if !equalJSON(t, final.Graph, want) {
		t.Fatalf("final snapshot differs from the database")
	}
	t.Logf("200 remote changes, %d snapshots taken by a slow reader", delivered)
	if delivered > 20 {
		t.Fatalf("a slow reader got %d snapshots for one burst: not coalesced", delivered)
	}
}

func TestWatchWorkflowList(t *testing.T) {
	ctx := testCtx(t)
	a, b := twoTabs(t)
	list, err := b.WatchWorkflows(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer list.Stop()
	if s := nextSnap(t, list); s.Err != nil || len(s.Workflows) != 0 {
		t.Fatalf("empty list: %+v", s)
	}
	w1 := mustWorkflow(t, a, "first")
	w2 := mustWorkflow(t, a, "second")
	until(t, list, func(s ListSnapshot) bool { return len(s.Workflows) == 2 })
	if _, err := a.RenameWorkflow(ctx, w1.ID, "first, renamed"); err != nil {
		t.Fatal(err)
	}
	s := until(t, list, func(s ListSnapshot) bool { return len(s.Workflows) == 2 && s.Workflows[0].Name == "first, renamed" })
	if s.Workflows[1].ID != w2.ID {
		t.Fatalf("order: %+v", s.Workflows)
	}
	if err := a.DeleteWorkflow(ctx, w2.ID); err != nil {
		t.Fatal(err)
	}
	until(t, list, func(s ListSnapshot) bool { return len(s.Workflows) == 1 && s.Workflows[0].ID == w1.ID })
	// A big transaction is announced coarsely and still arrives.
	if _, err := a.SetNodes(ctx, w1.ID, someNodes(maxChanges+10)); err != nil {
		t.Fatal(err)
	}
	ww, _ := b.WatchWorkflow(ctx, w1.ID)
	defer ww.Stop()
	until(t, ww, func(s WorkflowSnapshot) bool { return len(s.Graph.Nodes) == maxChanges+10 })
	if _, err := a.SetNodes(ctx, w1.ID, someNodes(maxChanges+20)); err != nil {
		t.Fatal(err)
	}
	until(t, ww, func(s WorkflowSnapshot) bool { return len(s.Graph.Nodes) == maxChanges+20 })
}

// TestStopWatchingLeaksNothing: stopping (or cancelling the context of)
// every watch ends the goroutines behind them and closes the channels.
func TestStopWatchingLeaksNothing(t *testing.T) {
	ctx := testCtx(t)
	d := newDB(t, nil)
	w := mustWorkflow(t, d, "leaks")
	runtime.GC()
	base := runtime.NumGoroutine()
	var watches []*Watch[WorkflowSnapshot]
	cctx, cancel := context.WithCancel(ctx)
	for i := 0; i < 10; i++ {
		c := ctx
		if i%2 == 0 {
			c = cctx
		}
		ww, err := d.WatchWorkflow(c, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		watches = append(watches, ww)
	}
	lw, _ := d.WatchWorkflows(ctx)
	nextSnap(t, lw)
	for _, ww := range watches {
		nextSnap(t, ww)
	}
	cancel() // ends the even ones
	for i, ww := range watches {
		if i%2 == 1 {
			ww.Stop()
			ww.Stop() // twice is fine
		}
	}
	lw.Stop()
	for _, ww := range append(watches, nil) {
		if ww == nil {
			break
		}
		select {
		case _, ok := <-ww.C:
			if ok {
				// A snapshot may still sit in the channel; then it closes.
				if _, ok := <-ww.C; ok {
					t.Fatal("channel not closed after Stop")
				}
			}
		case <-time.After(5 * time.Second):
			t.Fatal("channel not closed after Stop")
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		t.Fatalf("%d goroutines before watching, %d after stopping", base, n)
	}
	if len(d.hub.graphs) != 0 || d.hub.list != nil {
		t.Fatal("live models left behind")
	}
}

func TestWatchEndsWhenStoreCloses(t *testing.T) {
	ctx := testCtx(t)
	d, err := Open(ctx, dbName(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dropDB(t, d.name)
	w, _ := d.CreateWorkflow(ctx, "x")
	watch, _ := d.WatchWorkflow(ctx, w.ID)
	nextSnap(t, watch)
	d.Close()
	last := nextSnap(t, watch)
	if !errors.Is(last.Err, errs.ErrClosed) {
		t.Fatalf("last snapshot: %+v", last)
	}
	if _, ok := <-watch.C; ok {
		t.Fatal("channel open after the store closed")
	}
	if _, err := d.WatchWorkflow(ctx, w.ID); !errors.Is(err, errs.ErrClosed) {
		t.Fatalf("watch on a closed store: %v", err)
	}
}

// TestStorageEventFallback: without BroadcastChannel, changes travel
// through localStorage's storage event. Storage events reach other
// documents only, so a same-origin iframe relays the message back, the way
// a second tab would see it.
func TestStorageEventFallback(t *testing.T) {
	ctx := testCtx(t)
	saved := js.Global().Get("BroadcastChannel")
	js.Global().Set("BroadcastChannel", js.Undefined())
	name := dbName(t)
	a, errA := Open(ctx, name, nil)
	b, errB := Open(ctx, name, nil)
	js.Global().Set("BroadcastChannel", saved)
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	defer dropDB(t, name)
	defer a.Close()
	defer b.Close()
	if a.hub.bus.Transport() != "storage" {
		t.Fatalf("transport %q", a.hub.bus.Transport())
	}
	relay := js.Global().Get("document").Call("createElement", "iframe")
	relay.Set("srcdoc", `<script>
addEventListener("storage", (ev) => {
  if (ev.key && ev.key.startsWith("atelier-bus:") && ev.newValue && !ev.newValue.startsWith("relayed")) {
    parent.relayed = (parent.relayed || 0) + 1;
    localStorage.setItem(ev.key, "relayed" + ev.newValue);
  }
});
parent.relayReady = true;
</script>`)
	js.Global().Get("document").Get("body").Call("appendChild", relay)
	defer relay.Call("remove")
	for deadline := time.Now().Add(5 * time.Second); !js.Global().Get("relayReady").Truthy(); {
		if time.Now().After(deadline) {
			t.Fatal("relay iframe did not load")
		}
		time.Sleep(10 * time.Millisecond)
	}

	w, err := a.CreateWorkflow(ctx, "over storage")
	if err != nil {
		t.Fatal(err)
	}
	watch, _ := b.WatchWorkflow(ctx, w.ID)
	defer watch.Stop()
	nextSnap(t, watch)
	if _, err := a.RenameWorkflow(ctx, w.ID, "renamed over storage"); err != nil {
		t.Fatal(err)
	}
	until(t, watch, func(s WorkflowSnapshot) bool { return s.Graph.Workflow.Name == "renamed over storage" })
	if js.Global().Get("relayed").Int() < 1 {
		t.Fatal("the change did not go through the storage event")
	}
}

func TestOneLeader(t *testing.T) {
	ctx := testCtx(t)
	name := dbName(t)
	changes := make(chan bool, 4)
	a, err := Open(ctx, name, &Options{OnLeaderChange: func(l bool) { changes <- l }})
	if err != nil {
		t.Fatal(err)
	}
	defer dropDB(t, name)
	select {
	case l := <-changes:
		if !l {
			t.Fatal("first tab told it stopped leading")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("first tab never became leader")
	}
	b, err := Open(ctx, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	started := make(chan string, 4)
	stopped := make(chan string, 4)
	job := func(tab string) func(context.Context) {
		return func(ctx context.Context) {
			started <- tab
			<-ctx.Done()
			stopped <- tab
		}
	}
	a.RunOnLeader("gc", job("a"))
	b.RunOnLeader("gc", job("b"))
	if got := <-started; got != "a" {
		t.Fatalf("job started in %s", got)
	}
	select {
	case got := <-started:
		t.Fatalf("job also started in %s", got)
	case <-time.After(200 * time.Millisecond):
	}
	if !a.Leading() || b.Leading() {
		t.Fatalf("leading: a %v, b %v", a.Leading(), b.Leading())
	}
	// The leader goes away: the other tab takes over.
	a.Close()
	if got := <-stopped; got != "a" {
		t.Fatalf("stopped %s", got)
	}
	select {
	case got := <-started:
		if got != "b" {
			t.Fatalf("started %s", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no tab took over")
	}
	if !b.Leading() {
		t.Fatal("b does not report leading")
	}
	// Unregistering cancels the running job.
	unreg := b.RunOnLeader("sync", job("b2"))
	if got := <-started; got != "b2" {
		t.Fatalf("started %s", got)
	}
	unreg()
	if got := <-stopped; got != "b2" {
		t.Fatalf("stopped %s", got)
	}
}
