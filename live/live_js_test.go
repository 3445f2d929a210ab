//go:build js && wasm

package live

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/idb"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/idbtest"
)

// twoTabs opens two stores on one database: to each other they are two
// tabs (separate connections and tab ids, a real BroadcastChannel between
// them).
func twoTabs(t *testing.T) (*idb.DB, *idb.DB) {
	t.Helper()
	name := idbtest.Name(t)
	return idbtest.OpenNamed(t, name, nil), idbtest.OpenNamed(t, name, nil)
}

// newLive starts live queries on d, closed when the test ends.
func newLive(t *testing.T, d *idb.DB) *Live {
	t.Helper()
	l := New(d, nil)
	t.Cleanup(l.Close)
	return l
}

// graphReads is how many entities the model of workflow id has read.
func graphReads(t *testing.T, l *Live, id string) int64 {
	t.Helper()
	l.mu.Lock()
	g := l.graphs[id]
	l.mu.Unlock()
	if g == nil {
		t.Fatalf("no live model for workflow %s", id)
	}
	return g.reads.Load()
}

// nextSnap returns the next snapshot, failing after a deadline.
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

// closes waits for C to close, taking at most one snapshot still in it.
func closes[T any](t *testing.T, w *Watch[T]) {
	t.Helper()
	select {
	case _, ok := <-w.C:
		if ok {
			if _, ok := <-w.C; ok {
				t.Fatal("channel not closed")
			}
		}
	case <-time.After(5 * time.Second):
		t.Fatal("channel not closed within 5s")
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}

func TestChangesReachTheOtherTab(t *testing.T) {
	ctx := idbtest.Ctx(t)
	a, b := twoTabs(t)
	w := idbtest.Workflow(t, a, "shared")
	nodes, err := a.SetNodes(ctx, w.ID, idbtest.Nodes(3))
	if err != nil {
		t.Fatal(err)
	}
	watch, err := newLive(t, b).WatchWorkflow(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Stop()
	first := nextSnap(t, watch)
	if first.Err != nil || len(first.Graph.Nodes) != 3 {
		t.Fatalf("first snapshot: %+v", first)
	}
	local, err := newLive(t, a).WatchWorkflow(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer local.Stop()
	nextSnap(t, local)

	pos := graph.Position{X: 777, Y: 1}
	start := time.Now()
	moved, err := a.UpdateNode(ctx, w.ID, nodes[1].ID, graph.NodePatch{Position: &pos, Size: nil})
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
	if _, err := a.UpdateWorkflow(ctx, w.ID, graph.WorkflowPatch{Name: new("renamed")}); err != nil {
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
// model, however many watchers; an announcement of a version the model
// holds already (a repeated message, an older one) reads nothing. That the
// feed drops echoes and malformed messages is idb's TestFeedMessages.
func TestRereadsOnlyWhatIsNewer(t *testing.T) {
	ctx := idbtest.Ctx(t)
	a, b := twoTabs(t)
	lb := newLive(t, b)
	w := idbtest.Workflow(t, a, "reads")
	nodes, err := a.SetNodes(ctx, w.ID, idbtest.Nodes(50))
	if err != nil {
		t.Fatal(err)
	}
	w1, _ := lb.WatchWorkflow(ctx, w.ID)
	w2, _ := lb.WatchWorkflow(ctx, w.ID)
	defer w1.Stop()
	defer w2.Stop()
	nextSnap(t, w1)
	nextSnap(t, w2)
	before := graphReads(t, lb, w.ID)

	pos := graph.Position{X: 5, Y: 5}
	moved, err := a.UpdateNode(ctx, w.ID, nodes[7].ID, graph.NodePatch{Position: &pos, Size: nil})
	if err != nil {
		t.Fatal(err)
	}
	cond := func(s WorkflowSnapshot) bool { return len(s.Graph.Nodes) == 50 && s.Graph.Nodes[7].Position == pos }
	until(t, w1, cond)
	until(t, w2, cond)
	if n := graphReads(t, lb, w.ID) - before; n != 1 {
		t.Fatalf("one changed node among 50 caused %d reads", n)
	}
	// The same announcement again, and an older one: nothing to read.
	lb.deliver(idb.ChangeSet{Remote: true, Changes: []idb.Change{
		{Kind: idb.ChangeNode, ID: moved.ID, WorkflowID: w.ID, Version: moved.Version},
		{Kind: idb.ChangeNode, ID: moved.ID, WorkflowID: w.ID, Version: moved.Version - 1},
		{Kind: idb.ChangeNode, ID: nodes[8].ID, WorkflowID: w.ID, Version: nodes[8].Version},
		{Kind: idb.ChangeWorkflow, ID: w.ID, WorkflowID: w.ID, Version: w.Version},
	}})
	time.Sleep(50 * time.Millisecond)
	if n := graphReads(t, lb, w.ID) - before; n != 1 {
		t.Fatalf("a repeated or older announcement caused reads: %d", n)
	}
	select {
	case s := <-w1.C:
		t.Fatalf("a snapshot without a change: %+v %+v reads %d", s.Graph.Workflow, s.Graph.Nodes[7], graphReads(t, lb, w.ID)-before)
	default:
	}
}

// TestWatchCoalescesBursts: a reader that does not keep up gets the latest
// state, not a queue of stale ones.
func TestWatchCoalescesBursts(t *testing.T) {
	ctx := idbtest.Ctx(t)
	a, b := twoTabs(t)
	w := idbtest.Workflow(t, a, "burst")
	nodes, err := a.SetNodes(ctx, w.ID, idbtest.Nodes(5))
	if err != nil {
		t.Fatal(err)
	}
	watch, _ := newLive(t, b).WatchWorkflow(ctx, w.ID)
	defer watch.Stop()
	nextSnap(t, watch)
	for i := 0; i < 200; i++ {
		pos := graph.Position{X: float64(i), Y: -3}
		if _, err := a.UpdateNode(ctx, w.ID, nodes[i%5].ID, graph.NodePatch{Position: &pos, Size: nil}); err != nil {
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

// bigTx is more nodes than one transaction's message to other tabs lists
// one by one (64 in idb): such a transaction is announced as "workflow
// changed", which the test checks.
const bigTx = 100

func TestWatchWorkflowList(t *testing.T) {
	ctx := idbtest.Ctx(t)
	a, b := twoTabs(t)
	lb := newLive(t, b)
	list, err := lb.WatchWorkflows(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer list.Stop()
	if s := nextSnap(t, list); s.Err != nil || len(s.Workflows) != 0 {
		t.Fatalf("empty list: %+v", s)
	}
	w1 := idbtest.Workflow(t, a, "first")
	w2 := idbtest.Workflow(t, a, "second")
	until(t, list, func(s ListSnapshot) bool { return len(s.Workflows) == 2 })
	if _, err := a.UpdateWorkflow(ctx, w1.ID, graph.WorkflowPatch{Name: new("first, renamed")}); err != nil {
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
	var mu sync.Mutex
	coarse := 0
	unsub := b.Subscribe(func(cs idb.ChangeSet) {
		if cs.Remote && slices.Contains(cs.Workflows, w1.ID) {
			mu.Lock()
			coarse++
			mu.Unlock()
		}
	}, nil)
	defer unsub()
	if _, err := a.SetNodes(ctx, w1.ID, idbtest.Nodes(bigTx)); err != nil {
		t.Fatal(err)
	}
	ww, _ := lb.WatchWorkflow(ctx, w1.ID)
	defer ww.Stop()
	until(t, ww, func(s WorkflowSnapshot) bool { return len(s.Graph.Nodes) == bigTx })
	if _, err := a.SetNodes(ctx, w1.ID, idbtest.Nodes(bigTx+10)); err != nil {
		t.Fatal(err)
	}
	until(t, ww, func(s WorkflowSnapshot) bool { return len(s.Graph.Nodes) == bigTx+10 })
	mu.Lock()
	defer mu.Unlock()
	if coarse == 0 {
		t.Fatal("no big transaction was announced as a changed workflow: the whole-workflow path went untested")
	}
}

// TestStopWatchingLeaksNothing: stopping (or cancelling the context of)
// every watch ends the goroutines behind them and closes the channels.
func TestStopWatchingLeaksNothing(t *testing.T) {
	ctx := idbtest.Ctx(t)
	d := idbtest.Open(t, nil)
	l := newLive(t, d)
	w := idbtest.Workflow(t, d, "leaks")
	runtime.GC()
	base := runtime.NumGoroutine()
	var watches []*Watch[WorkflowSnapshot]
	cctx, cancel := context.WithCancel(ctx)
	for i := 0; i < 10; i++ {
		c := ctx
		if i%2 == 0 {
			c = cctx
		}
		ww, err := l.WatchWorkflow(c, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		watches = append(watches, ww)
	}
	lw, _ := l.WatchWorkflows(ctx)
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
	for _, ww := range watches {
		closes(t, ww)
	}
	closes(t, lw)
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		t.Fatalf("%d goroutines before watching, %d after stopping", base, n)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.graphs) != 0 || l.list != nil {
		t.Fatal("live models left behind")
	}
}

func TestWatchEndsWhenStoreCloses(t *testing.T) {
	ctx := idbtest.Ctx(t)
	d := idbtest.Open(t, nil)
	l := newLive(t, d)
	w := idbtest.Workflow(t, d, "x")
	watch, _ := l.WatchWorkflow(ctx, w.ID)
	nextSnap(t, watch)
	list, _ := l.WatchWorkflows(ctx)
	nextSnap(t, list)
	d.Close()
	if last := nextSnap(t, watch); !errors.Is(last.Err, errs.ErrClosed) {
		t.Fatalf("last snapshot: %+v", last)
	}
	if _, ok := <-watch.C; ok {
		t.Fatal("channel open after the store closed")
	}
	if last := nextSnap(t, list); !errors.Is(last.Err, errs.ErrClosed) {
		t.Fatalf("last list snapshot: %+v", last)
	}
	if _, ok := <-list.C; ok {
		t.Fatal("list channel open after the store closed")
	}
	if _, err := l.WatchWorkflow(ctx, w.ID); !errors.Is(err, errs.ErrClosed) {
		t.Fatalf("watch on a closed store: %v", err)
	}
	if _, err := l.WatchWorkflows(ctx); !errors.Is(err, errs.ErrClosed) {
		t.Fatalf("list watch on a closed store: %v", err)
	}
	// A Live made on a closed store ends its watches the same way.
	late := New(d, nil)
	defer late.Close()
	if lw, err := late.WatchWorkflow(ctx, w.ID); err == nil {
		until(t, lw, func(s WorkflowSnapshot) bool { return errors.Is(s.Err, errs.ErrClosed) })
		closes(t, lw)
	} else if !errors.Is(err, errs.ErrClosed) {
		t.Fatalf("watch through a Live made on a closed store: %v", err)
	}
}

// TestCloseEndsWatches: closing the Live ends its watches and stops it
// listening; the store goes on.
func TestCloseEndsWatches(t *testing.T) {
	ctx := idbtest.Ctx(t)
	d := idbtest.Open(t, nil)
	l := New(d, nil)
	w := idbtest.Workflow(t, d, "closing")
	watch, _ := l.WatchWorkflow(ctx, w.ID)
	nextSnap(t, watch)
	list, _ := l.WatchWorkflows(ctx)
	nextSnap(t, list)
	l.Close()
	l.Close() // twice is fine
	if last := nextSnap(t, watch); !errors.Is(last.Err, errs.ErrClosed) {
		t.Fatalf("last snapshot: %+v", last)
	}
	closes(t, watch)
	if last := nextSnap(t, list); !errors.Is(last.Err, errs.ErrClosed) {
		t.Fatalf("last list snapshot: %+v", last)
	}
	closes(t, list)
	if _, err := l.WatchWorkflow(ctx, w.ID); !errors.Is(err, errs.ErrClosed) {
		t.Fatalf("watch on a closed Live: %v", err)
	}
	// The store goes on, and serves another Live.
	if _, err := d.UpdateWorkflow(ctx, w.ID, graph.WorkflowPatch{Name: new("after")}); err != nil {
		t.Fatal(err)
	}
	other, err := newLive(t, d).WatchWorkflow(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Stop()
	if s := nextSnap(t, other); s.Graph.Workflow.Name != "after" {
		t.Fatalf("a new Live on the same store: %+v", s)
	}
}

// TestWatchMissingWorkflow: a workflow that does not exist yet is a
// snapshot with errs.ErrNotFound, then follows once created; a malformed
// id is refused.
func TestWatchMissingWorkflow(t *testing.T) {
	ctx := idbtest.Ctx(t)
	d := idbtest.Open(t, nil)
	l := newLive(t, d)
	if _, err := l.WatchWorkflow(ctx, "not an id"); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("malformed id: %v", err)
	}
	g := graph.Graph{Workflow: graph.Workflow{ID: graph.NewID(), Name: "later", Viewport: graph.DefaultViewport}}
	watch, err := l.WatchWorkflow(ctx, g.Workflow.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Stop()
	if s := nextSnap(t, watch); !errors.Is(s.Err, errs.ErrNotFound) {
		t.Fatalf("missing workflow: %+v", s)
	}
	if _, err := d.PutGraph(ctx, &g); err != nil {
		t.Fatal(err)
	}
	until(t, watch, func(s WorkflowSnapshot) bool { return s.Err == nil && s.Graph.Workflow.Name == "later" })
}

// TestSnapshotAfterAWriteHasIt: a snapshot taken after a write of this tab
// returned includes the write, even when the model was reading, or had a
// snapshot waiting in C, as the write committed. Each turn writes two
// nodes and takes one snapshot: the first write's snapshot, read or
// waiting while the second commits, must never be the one taken.
func TestSnapshotAfterAWriteHasIt(t *testing.T) {
	ctx := idbtest.Ctx(t)
	d := idbtest.Open(t, nil)
	l := newLive(t, d)
	w := idbtest.Workflow(t, d, "ryw")
	nodes, err := d.SetNodes(ctx, w.ID, idbtest.Nodes(40))
	if err != nil {
		t.Fatal(err)
	}
	watch, err := l.WatchWorkflow(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Stop()
	nextSnap(t, watch)
	for i := 1; i <= 60; i++ {
		pos := graph.Position{X: float64(i), Y: 1}
		for _, n := range []int{i % 40, (i + 20) % 40} {
			if _, err := d.UpdateNode(ctx, w.ID, nodes[n].ID, graph.NodePatch{Position: &pos}); err != nil {
				t.Fatal(err)
			}
		}
		s := nextSnap(t, watch)
		if s.Err != nil {
			t.Fatal(s.Err)
		}
		for _, n := range []int{i % 40, (i + 20) % 40} {
			if got := s.Graph.Nodes[n].Position; got != pos {
				t.Fatalf("turn %d: the snapshot taken after the writes returned has node %d at %v, want %v", i, n, got, pos)
			}
		}
	}
}
