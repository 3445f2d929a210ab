//go:build js && wasm

package idb

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/tabs"
)

// Live queries and multi-tab coherence.
//
// Every committed writer transaction yields its changes (kind, id,
// workflow, new version). They go to this tab's live models at once and to
// the other tabs on a Bus; another tab's changes arrive the same way. A
// live model (one per watched workflow, one for the workflow list, shared
// by all their watchers) keeps the versions it holds, re-reads in one
// transaction only the entities announced with a newer version (or
// deleted), and hands every watcher the new snapshot. Changes that arrive
// while it reads are taken together on its next turn: bursts coalesce.

// WorkflowSnapshot is one state of a watched workflow. Err is
// errs.ErrNotFound while the workflow does not exist, or the error that
// ended the watch.
type WorkflowSnapshot struct {
	Graph graph.Graph
	Err   error
}

// ListSnapshot is one state of the workflow list, most recently updated
// first.
type ListSnapshot struct {
	Workflows []graph.Workflow
	Err       error
}

// Watch delivers snapshots on C: the current state first, then one after
// every change, local or from another tab. C holds only the latest
// snapshot: a slow reader skips intermediate states, never the last one. C
// is closed after Stop, when the context given to the Watch call ends, or
// when the store closes (after a last snapshot whose Err says why).
type Watch[T any] struct {
	C         <-chan T
	c         chan T
	done      chan struct{} // closed together with C
	stop      func()
	once      sync.Once
	closeOnce sync.Once
}

func newWatch[T any]() *Watch[T] {
	c := make(chan T, 1)
	return &Watch[T]{C: c, c: c, done: make(chan struct{})}
}

// Stop ends the watch and closes C. It is safe to call more than once.
func (w *Watch[T]) Stop() { w.once.Do(w.stop) }

// closeC closes C. Only the model that owns w calls it, after removing w
// from its watchers, so nothing sends on C afterwards.
func (w *Watch[T]) closeC() {
	w.closeOnce.Do(func() {
		close(w.done)
		close(w.c)
	})
}

// offer puts s in the channel, replacing a snapshot not yet taken.
func offer[T any](c chan T, s T) {
	for {
		select {
		case c <- s:
			return
		default:
		}
		select {
		case <-c:
		default:
		}
	}
}

// hub routes changes to the live models of one store.
type hub struct {
	d      *DB
	mu     sync.Mutex
	graphs map[string]*liveGraph
	list   *liveList
	closed error
	bus    *tabs.Bus
}

// publish hands a committed transaction's changes to this tab's live
// models and to the other tabs.
func (h *hub) publish(changes []Change) {
	if len(changes) == 0 {
		return
	}
	h.deliver(changes, nil)
	if h.bus != nil {
		if err := h.bus.Post(encodeMessage(h.d.tab, changes)); err != nil {
			h.d.log.Warn("announcing changes to other tabs failed", "err", err)
		}
	}
}

// receive handles a message from another tab.
func (h *hub) receive(msg string) {
	tab, changes, workflows, err := decodeMessage(msg)
	if err != nil {
		h.d.log.Warn("ignoring a malformed message from another tab", "err", err)
		return
	}
	if tab == h.d.tab {
		return // an echo of our own change
	}
	h.d.forgetChanges(changes)
	h.deliver(changes, workflows)
	h.d.opsRecorded() // the other tab's writes may have recorded some
}

func (h *hub) deliver(changes []Change, workflows []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range changes {
		if g := h.graphs[c.WorkflowID]; g != nil {
			g.push(c, false)
		}
		if c.Kind == ChangeWorkflow && h.list != nil {
			h.list.push(c, false)
		}
	}
	for _, wf := range workflows {
		if g := h.graphs[wf]; g != nil {
			g.push(Change{}, true)
		}
		if h.list != nil {
			h.list.push(Change{}, true)
		}
	}
}

// close ends every live model with a last snapshot carrying err.
func (h *hub) close(err error) {
	h.mu.Lock()
	h.closed = err
	graphs, list := h.graphs, h.list
	h.graphs, h.list = map[string]*liveGraph{}, nil
	h.mu.Unlock()
	for _, g := range graphs {
		g.end(err)
	}
	if list != nil {
		list.end(err)
	}
	if h.bus != nil {
		h.bus.Close()
	}
}

// live is what a live model has in common: pending changes, a wake-up
// signal and an end.
type live struct {
	mu      sync.Mutex
	pending []Change
	reload  bool
	wake    chan struct{}
	done    chan struct{}
	endErr  error
	reads   atomic.Int64 // entities read (tests check that nothing is read twice)
}

func newLive() live {
	return live{wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (l *live) push(c Change, reload bool) {
	l.mu.Lock()
	if reload {
		l.reload = true
	} else {
		l.pending = append(l.pending, c)
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *live) take() ([]Change, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, r := l.pending, l.reload
	l.pending, l.reload = nil, false
	return p, r
}

func (l *live) end(err error) {
	l.mu.Lock()
	if l.endErr == nil {
		l.endErr = err
		close(l.done)
	}
	l.mu.Unlock()
}

// ---- workflows

type liveGraph struct {
	live
	h        *hub
	id       string
	watchers map[*Watch[WorkflowSnapshot]]struct{}

	// the state, owned by run
	wf     graph.Workflow
	exists bool
	nodes  map[string]graph.Node
	edges  map[string]graph.Edge
}

// WatchWorkflow watches one workflow with its nodes and edges. The first
// snapshot is the current state; a missing workflow is a snapshot with Err
// errs.ErrNotFound (and later ones follow if it is created).
func (d *DB) WatchWorkflow(ctx context.Context, id string) (*Watch[WorkflowSnapshot], error) {
	if !graph.ValidID(id) {
		return nil, badWorkflowID(id)
	}
	h := d.hub
	h.mu.Lock()
	if h.closed != nil {
		h.mu.Unlock()
		return nil, h.closed
	}
	g := h.graphs[id]
	fresh := g == nil
	if fresh {
		g = &liveGraph{live: newLive(), h: h, id: id, watchers: map[*Watch[WorkflowSnapshot]]struct{}{}}
		h.graphs[id] = g
	}
	w := newWatch[WorkflowSnapshot]()
	w.stop = func() { g.unwatch(w) }
	g.mu.Lock()
	g.watchers[w] = struct{}{}
	g.mu.Unlock()
	h.mu.Unlock()
	if fresh {
		go g.run()
	} else {
		g.push(Change{}, false) // an empty change: send the newcomer the current state
	}
	stopWith(ctx, w)
	return w, nil
}

// stopWith stops w when ctx ends.
func stopWith[T any](ctx context.Context, w *Watch[T]) {
	if ctx.Done() == nil {
		return
	}
	go func() {
		select {
		case <-ctx.Done():
			w.Stop()
		case <-w.done:
		}
	}()
}

func (g *liveGraph) unwatch(w *Watch[WorkflowSnapshot]) {
	g.h.mu.Lock()
	g.mu.Lock()
	_, ok := g.watchers[w]
	delete(g.watchers, w)
	last := len(g.watchers) == 0
	g.mu.Unlock()
	if last && g.h.graphs[g.id] == g {
		delete(g.h.graphs, g.id)
	}
	g.h.mu.Unlock()
	if ok {
		w.closeC()
	}
	if last {
		g.end(errWatchEnded)
	}
}

var errWatchEnded = errors.New("watch ended")

func (g *liveGraph) run() {
	g.loadAll()
	g.send()
	for {
		select {
		case <-g.wake:
		case <-g.done:
			g.finish()
			return
		}
		changes, reload := g.take()
		if reload {
			g.loadAll()
		} else if len(changes) > 0 && !g.refresh(changes) {
			continue // nothing newer than what we hold
		}
		g.send()
	}
}

func (g *liveGraph) loadAll() {
	gr, err := g.h.d.LoadWorkflow(context.Background(), g.id)
	g.nodes, g.edges = map[string]graph.Node{}, map[string]graph.Edge{}
	g.exists = err == nil
	g.wf = gr.Workflow
	for _, n := range gr.Nodes {
		g.nodes[n.ID] = n
	}
	for _, e := range gr.Edges {
		g.edges[e.ID] = e
	}
	g.reads.Add(int64(1 + len(gr.Nodes) + len(gr.Edges)))
}

// held is the version this model holds of an entity (0: none).
func (g *liveGraph) held(c Change) int64 {
	switch c.Kind {
	case ChangeWorkflow:
		if g.exists {
			return g.wf.Version
		}
	case ChangeNode:
		return g.nodes[c.ID].Version
	case ChangeEdge:
		return g.edges[c.ID].Version
	}
	return 0
}

// refresh re-reads, in one transaction, the entities the changes announce
// newer than held (or deleted), and reports whether anything was read.
func (g *liveGraph) refresh(changes []Change) bool {
	want := map[ChangeKind]map[string]bool{}
	for _, c := range changes {
		if c.ID == "" {
			continue // a newcomer's request for the current state
		}
		h := g.held(c)
		if c.Version != 0 && c.Version <= h || c.Version == 0 && h == 0 && c.Kind != ChangeWorkflow {
			continue // we already hold this version (or already lack it)
		}
		if want[c.Kind] == nil {
			want[c.Kind] = map[string]bool{}
		}
		want[c.Kind][c.ID] = true
	}
	if len(want) == 0 {
		return changes[0].ID == "" // a newcomer still needs a snapshot
	}
	err := g.h.d.View(context.Background(), func(t *Tx) error {
		if want[ChangeWorkflow] != nil {
			w, err := t.Workflow(g.id)
			g.exists = err == nil
			if err != nil && !errors.Is(err, errs.ErrNotFound) {
				return err
			}
			g.wf = w
			if !g.exists {
				g.nodes, g.edges = map[string]graph.Node{}, map[string]graph.Edge{}
			}
		}
		if err := refreshKind(t, nodeKind, want[ChangeNode], g.nodes, &g.reads); err != nil {
			return err
		}
		return refreshKind(t, edgeKind, want[ChangeEdge], g.edges, &g.reads)
	})
	if err != nil {
		g.h.d.log.Warn("live query refresh failed; reloading", "workflow", g.id, "err", err)
		g.loadAll()
	}
	g.reads.Add(int64(len(want[ChangeWorkflow])))
	return true
}

// refreshKind reads the given entities and replaces (or removes) them in
// held.
func refreshKind[T any](t *Tx, k kind[T], ids map[string]bool, held map[string]T, reads *atomic.Int64) error {
	if len(ids) == 0 {
		return nil
	}
	keys := make([]string, 0, len(ids))
	for id := range ids {
		keys = append(keys, id)
	}
	revs, found, err := t.gets(k.store, keys)
	if err != nil {
		return err
	}
	reads.Add(int64(len(keys)))
	for i, id := range keys {
		if !found[i] {
			delete(held, id)
			continue
		}
		var v T
		if err := k.decode(t.c, revs[i].Body, &v); err != nil {
			return corrupt(k.store, id, err)
		}
		held[id] = v
	}
	return nil
}

func (g *liveGraph) snapshot() WorkflowSnapshot {
	if !g.exists {
		return WorkflowSnapshot{Err: fmt.Errorf("workflow %s: %w", g.id, errs.ErrNotFound)}
	}
	s := WorkflowSnapshot{Graph: graph.Graph{Workflow: g.wf,
		Nodes: make([]graph.Node, 0, len(g.nodes)), Edges: make([]graph.Edge, 0, len(g.edges))}}
	for _, n := range g.nodes {
		s.Graph.Nodes = append(s.Graph.Nodes, n)
	}
	for _, e := range g.edges {
		s.Graph.Edges = append(s.Graph.Edges, e)
	}
	sort.Slice(s.Graph.Nodes, func(i, j int) bool { return s.Graph.Nodes[i].ID < s.Graph.Nodes[j].ID })
	sort.Slice(s.Graph.Edges, func(i, j int) bool { return s.Graph.Edges[i].ID < s.Graph.Edges[j].ID })
	return s
}

func (g *liveGraph) send() {
	s := g.snapshot()
	g.mu.Lock()
	defer g.mu.Unlock()
	for w := range g.watchers {
		offer(w.c, s)
	}
}

// finish tells the remaining watchers why the model ended and closes them.
func (g *liveGraph) finish() {
	g.mu.Lock()
	err := g.endErr
	ws := g.watchers
	g.watchers = nil
	g.mu.Unlock()
	for w := range ws {
		if err != errWatchEnded {
			offer(w.c, WorkflowSnapshot{Err: err})
		}
		w.closeC()
	}
}

// ---- the workflow list

type liveList struct {
	live
	h        *hub
	watchers map[*Watch[ListSnapshot]]struct{}
	wfs      map[string]graph.Workflow
}

// WatchWorkflows watches the list of workflows (their metadata, not their
// nodes).
func (d *DB) WatchWorkflows(ctx context.Context) (*Watch[ListSnapshot], error) {
	h := d.hub
	h.mu.Lock()
	if h.closed != nil {
		h.mu.Unlock()
		return nil, h.closed
	}
	l := h.list
	fresh := l == nil
	if fresh {
		l = &liveList{live: newLive(), h: h, watchers: map[*Watch[ListSnapshot]]struct{}{}}
		h.list = l
	}
	w := newWatch[ListSnapshot]()
	w.stop = func() { l.unwatch(w) }
	l.mu.Lock()
	l.watchers[w] = struct{}{}
	l.mu.Unlock()
	h.mu.Unlock()
	if fresh {
		go l.run()
	} else {
		l.push(Change{}, false)
	}
	stopWith(ctx, w)
	return w, nil
}

func (l *liveList) unwatch(w *Watch[ListSnapshot]) {
	l.h.mu.Lock()
	l.mu.Lock()
	_, ok := l.watchers[w]
	delete(l.watchers, w)
	last := len(l.watchers) == 0
	l.mu.Unlock()
	if last && l.h.list == l {
		l.h.list = nil
	}
	l.h.mu.Unlock()
	if ok {
		w.closeC()
	}
	if last {
		l.end(errWatchEnded)
	}
}

func (l *liveList) run() {
	l.loadAll()
	l.send()
	for {
		select {
		case <-l.wake:
		case <-l.done:
			l.finish()
			return
		}
		changes, reload := l.take()
		if reload {
			l.loadAll()
		} else if len(changes) > 0 && !l.refresh(changes) {
			continue
		}
		l.send()
	}
}

func (l *liveList) loadAll() {
	l.wfs = map[string]graph.Workflow{}
	ws, err := l.h.d.ListWorkflows(context.Background())
	if err != nil {
		l.h.d.log.Warn("live workflow list: load failed", "err", err)
	}
	for _, w := range ws {
		l.wfs[w.ID] = w
	}
	l.reads.Add(int64(len(ws)))
}

func (l *liveList) refresh(changes []Change) bool {
	want := map[string]bool{}
	for _, c := range changes {
		if c.ID == "" {
			continue
		}
		held := l.wfs[c.ID].Version
		if c.Version != 0 && c.Version <= held || c.Version == 0 && held == 0 {
			continue
		}
		want[c.ID] = true
	}
	if len(want) == 0 {
		return changes[0].ID == ""
	}
	err := l.h.d.View(context.Background(), func(t *Tx) error {
		return refreshKind(t, workflowKind, want, l.wfs, &l.reads)
	})
	if err != nil {
		l.h.d.log.Warn("live workflow list: refresh failed; reloading", "err", err)
		l.loadAll()
	}
	return true
}

func (l *liveList) send() {
	s := ListSnapshot{Workflows: make([]graph.Workflow, 0, len(l.wfs))}
	for _, w := range l.wfs {
		s.Workflows = append(s.Workflows, w)
	}
	sortWorkflows(s.Workflows)
	l.mu.Lock()
	defer l.mu.Unlock()
	for w := range l.watchers {
		offer(w.c, s)
	}
}

func (l *liveList) finish() {
	l.mu.Lock()
	err := l.endErr
	ws := l.watchers
	l.watchers = nil
	l.mu.Unlock()
	for w := range ws {
		if err != errWatchEnded {
			offer(w.c, ListSnapshot{Err: err})
		}
		w.closeC()
	}
}
