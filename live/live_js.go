//go:build js && wasm

package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/idb"
	"github.com/atelierstore/atelier/internal/errs"
)

// How live queries work.
//
// A Live subscribes once to the store's change sets: this tab's committed
// transactions and the other tabs' (see idb.DB.Subscribe). A live model
// (one per watched workflow, one for the workflow list, shared by all
// their watchers) keeps the versions it holds, re-reads in one transaction
// only the entities announced with a newer version (or deleted), and hands
// every watcher the new snapshot. Changes that arrive while it reads are
// taken together on its next turn: bursts coalesce.
//
// Read your writes: this tab's change sets reach the models before the
// writing call returns (idb.DB.Subscribe). Each one counts as a new
// generation of the model; it takes back a snapshot offered but not yet
// taken from C, and a read that began before it is not sent, the model
// reads again. So a snapshot taken from C after a write of this tab
// returned includes that write. Other tabs' change sets need none of this:
// nothing orders them against this tab's calls.

// WorkflowSnapshot is one state of a watched workflow, its nodes and edges
// in id (creation) order. Err is errs.ErrNotFound while the workflow does
// not exist, or the error that ended the watch.
type WorkflowSnapshot struct {
	Graph graph.Graph
	Err   error
}

// ListSnapshot is one state of the workflow list, most recently updated
// first. Err is the error that ended the watch.
type ListSnapshot struct {
	Workflows []graph.Workflow
	Err       error
}

// Watch delivers snapshots on C: the current state first, then one after
// every change, local or from another tab. C holds only the latest
// snapshot: a slow reader skips intermediate states, never the last one. C
// is closed after Stop, when the context given to the Watch call ends, or
// when the store or the Live closes (after a last snapshot whose Err says
// why).
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

// Live keeps the live queries of one store. Its methods are safe for
// concurrent use.
type Live struct {
	db    *idb.DB
	log   *slog.Logger
	unsub func()

	mu     sync.Mutex
	graphs map[string]*model[WorkflowSnapshot]
	list   *model[ListSnapshot]
	closed error
}

// errLiveClosed ends the watches of a closed Live.
var errLiveClosed = fmt.Errorf("%w: live queries closed", errs.ErrClosed)

// New starts live queries on db: it subscribes to db's changes once, for
// all the watches made through it. log receives warnings (failed reads);
// nil discards them. Close ends it; so does closing db.
func New(db *idb.DB, log *slog.Logger) *Live {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Live{db: db, log: log.With("db", db.Name()), graphs: map[string]*model[WorkflowSnapshot]{}}
	l.unsub = db.Subscribe(l.deliver, l.end)
	return l
}

// Close ends every watch, with a last snapshot whose Err matches
// errs.ErrClosed, and stops listening to the store. Later Watch calls fail
// with errs.ErrClosed. The store stays open. Close is safe to call more
// than once.
func (l *Live) Close() {
	l.unsub()
	l.end(errLiveClosed)
}

// deliver hands a change set to the models it concerns. It runs in the
// writer (or in a browser event, for other tabs' changes): it must not
// block.
func (l *Live) deliver(cs idb.ChangeSet) {
	l.mu.Lock()
	defer l.mu.Unlock()
	local := !cs.Remote
	for _, c := range cs.Changes {
		if g := l.graphs[c.WorkflowID]; g != nil {
			g.push(c, false, local)
		}
		if c.Kind == idb.ChangeWorkflow && l.list != nil {
			l.list.push(c, false, local)
		}
	}
	for _, wf := range cs.Workflows {
		if g := l.graphs[wf]; g != nil {
			g.push(idb.Change{}, true, local)
		}
		if l.list != nil {
			l.list.push(idb.Change{}, true, local)
		}
	}
}

// end ends every model with a last snapshot carrying err; later Watch
// calls fail with it. The first reason stays.
func (l *Live) end(err error) {
	l.mu.Lock()
	if l.closed == nil {
		l.closed = err
	}
	graphs, list := l.graphs, l.list
	l.graphs, l.list = map[string]*model[WorkflowSnapshot]{}, nil
	l.mu.Unlock()
	for _, g := range graphs {
		g.end(err)
	}
	if list != nil {
		list.end(err)
	}
}

// WatchWorkflow watches one workflow with its nodes and edges until ctx
// ends or Stop. The first snapshot is the current state; a missing
// workflow is a snapshot with Err errs.ErrNotFound (and later ones follow
// if it is created). It fails with errs.ErrInvalid for a malformed id and
// errs.ErrClosed once the store or l is closed.
func (l *Live) WatchWorkflow(ctx context.Context, id string) (*Watch[WorkflowSnapshot], error) {
	if !graph.ValidID(id) {
		return nil, &errs.ValidationError{Entity: "workflow", ID: id, Field: "id", Reason: "must be a canonical UUID"}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed != nil {
		return nil, l.closed
	}
	g := l.graphs[id]
	fresh := g == nil
	if fresh {
		g = newModel[WorkflowSnapshot](l, &graphView{db: l.db, id: id})
		g.detach = func() {
			if l.graphs[id] == g {
				delete(l.graphs, id)
			}
		}
		l.graphs[id] = g
	}
	return g.watch(ctx, fresh), nil
}

// WatchWorkflows watches the list of workflows (their metadata, not their
// nodes) until ctx ends or Stop. It fails with errs.ErrClosed once the
// store or l is closed.
func (l *Live) WatchWorkflows(ctx context.Context) (*Watch[ListSnapshot], error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed != nil {
		return nil, l.closed
	}
	m := l.list
	fresh := m == nil
	if fresh {
		m = newModel[ListSnapshot](l, &listView{db: l.db})
		m.detach = func() {
			if l.list == m {
				l.list = nil
			}
		}
		l.list = m
	}
	return m.watch(ctx, fresh), nil
}

// ---- models

// view is the state a model holds and how it reads it.
type view[S any] interface {
	// load reads the whole state.
	load(ctx context.Context) error
	// refresh re-reads, in one transaction, what changes announce newer
	// than held (or deleted), and reports what it read. Changes without
	// an id are not looked at.
	refresh(ctx context.Context, changes []idb.Change) (reads int, err error)
	// snapshot is the state to hand to watchers.
	snapshot() S
	// last is the last snapshot of a watch that ended with err.
	last(err error) S
}

// model is a live query shared by all the watches of one workflow (or of
// the list). Its goroutine, run, owns the view.
type model[S any] struct {
	l      *Live
	v      view[S]
	detach func() // removes the model from l; called with l.mu held
	ctx    context.Context
	cancel context.CancelFunc
	reads  atomic.Int64 // entities read (tests check that nothing is read twice)

	mu       sync.Mutex
	pending  []idb.Change
	reload   bool
	gen      uint64 // this tab's change sets pushed so far
	resend   bool   // send on the next turn even if nothing is read
	watchers map[*Watch[S]]struct{}
	wake     chan struct{}
	done     chan struct{}
	endErr   error
}

func newModel[S any](l *Live, v view[S]) *model[S] {
	m := &model[S]{l: l, v: v, watchers: map[*Watch[S]]struct{}{},
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	// The model's reads last as long as it does.
	m.ctx, m.cancel = context.WithCancel(context.Background())
	go m.run()
	return m
}

// watch adds a watcher. l.mu is held: the model cannot be detached
// meanwhile. A fresh model sends its first snapshot after its first load;
// an older one is asked for one with an empty change.
func (m *model[S]) watch(ctx context.Context, fresh bool) *Watch[S] {
	w := newWatch[S]()
	w.stop = func() { m.unwatch(w) }
	m.mu.Lock()
	m.watchers[w] = struct{}{}
	m.mu.Unlock()
	if !fresh {
		m.push(idb.Change{}, false, false)
	}
	stopWith(ctx, w)
	return w
}

func (m *model[S]) unwatch(w *Watch[S]) {
	m.l.mu.Lock()
	m.mu.Lock()
	_, ok := m.watchers[w]
	delete(m.watchers, w)
	last := len(m.watchers) == 0
	m.mu.Unlock()
	if last {
		m.detach()
	}
	m.l.mu.Unlock()
	if ok {
		w.closeC()
	}
	if last {
		m.end(errWatchEnded)
	}
}

var errWatchEnded = errors.New("watch ended")

// push queues a change for the model's next turn. A local one (of this
// tab) starts a new generation: the snapshot a watcher has not taken yet
// lacks it, so it is taken back, and the next turn sends one that has it.
func (m *model[S]) push(c idb.Change, reload, local bool) {
	m.mu.Lock()
	if reload {
		m.reload = true
	} else {
		m.pending = append(m.pending, c)
	}
	if local {
		m.gen++
		for w := range m.watchers {
			select {
			case <-w.c:
				m.resend = true
			default:
			}
		}
	}
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// take returns the changes queued for this turn, whether to reload,
// whether to send even if nothing is read, and the generation they make.
func (m *model[S]) take() (changes []idb.Change, reload, resend bool, gen uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	changes, reload, resend, gen = m.pending, m.reload, m.resend, m.gen
	m.pending, m.reload, m.resend = nil, false, false
	return changes, reload, resend, gen
}

func (m *model[S]) end(err error) {
	m.mu.Lock()
	if m.endErr == nil {
		m.endErr = err
		close(m.done)
		m.cancel()
	}
	m.mu.Unlock()
}

func (m *model[S]) run() {
	_, _, _, gen := m.take()
	m.load()
	m.send(gen)
	for {
		select {
		case <-m.wake:
		case <-m.done:
			m.finish()
			return
		}
		changes, reload, resend, gen := m.take()
		if reload {
			m.load()
		} else if (len(changes) == 0 || !m.refresh(changes)) && !resend {
			// Nothing newer than what we hold; or a wake-up whose
			// changes an earlier turn took already.
			continue
		}
		m.send(gen)
	}
}

func (m *model[S]) load() {
	if err := m.v.load(m.ctx); err != nil && !m.ended(err) {
		m.l.log.Warn("live query: load failed", "err", err)
	}
}

// refresh re-reads what changes announce newer, and reports whether there
// is a snapshot to send: something was read, or a newcomer waits for one.
func (m *model[S]) refresh(changes []idb.Change) bool {
	n, err := m.v.refresh(m.ctx, changes)
	m.reads.Add(int64(n))
	if err != nil {
		if m.ended(err) {
			return false
		}
		m.l.log.Warn("live query: refresh failed; reloading", "err", err)
		m.load()
		return true
	}
	if n > 0 {
		return true
	}
	for _, c := range changes {
		if c.ID == "" {
			return true
		}
	}
	return false
}

// ended reports whether a read failed because the model ended: it was
// cancelled, or the store closed, which ends it here (the store tells the
// Live as well; the first reason stays).
func (m *model[S]) ended(err error) bool {
	if m.ctx.Err() != nil {
		return true
	}
	if errors.Is(err, errs.ErrClosed) {
		m.end(err)
		return true
	}
	return false
}

// send offers the snapshot of what the model holds to every watcher,
// unless a change set of this tab came since the turn's generation gen:
// what was read may lack it, and the next turn, which that change set
// woke, sends instead.
func (m *model[S]) send(gen uint64) {
	s := m.v.snapshot()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.endErr != nil {
		return // finish has the last word
	}
	if m.gen != gen {
		m.resend = true
		return
	}
	for w := range m.watchers {
		offer(w.c, s)
	}
}

// finish tells the remaining watchers why the model ended and closes them.
func (m *model[S]) finish() {
	m.mu.Lock()
	err := m.endErr
	ws := m.watchers
	m.watchers = nil
	m.mu.Unlock()
	for w := range ws {
		if err != errWatchEnded {
			offer(w.c, m.v.last(err))
		}
		w.closeC()
	}
}

// ---- one workflow

type graphView struct {
	db     *idb.DB
	id     string
	wf     graph.Workflow
	exists bool
	nodes  map[string]graph.Node
	edges  map[string]graph.Edge
}

func (g *graphView) load(ctx context.Context) error {
	gr, err := g.db.LoadWorkflow(ctx, g.id)
	g.nodes, g.edges = map[string]graph.Node{}, map[string]graph.Edge{}
	g.exists = err == nil
	g.wf = gr.Workflow
	for _, n := range gr.Nodes {
		g.nodes[n.ID] = n
	}
	for _, e := range gr.Edges {
		g.edges[e.ID] = e
	}
	if errors.Is(err, errs.ErrNotFound) {
		return nil
	}
	return err
}

// held is the version this view holds of an entity (0: none).
func (g *graphView) held(c idb.Change) int64 {
	switch c.Kind {
	case idb.ChangeWorkflow:
		if g.exists {
			return g.wf.Version
		}
	case idb.ChangeNode:
		return g.nodes[c.ID].Version
	case idb.ChangeEdge:
		return g.edges[c.ID].Version
	}
	return 0
}

func (g *graphView) refresh(ctx context.Context, changes []idb.Change) (int, error) {
	want := map[idb.ChangeKind]map[string]bool{}
	for _, c := range changes {
		if c.ID == "" {
			continue
		}
		h := g.held(c)
		if !c.Replaced && c.Version != 0 && c.Version <= h || c.Version == 0 && h == 0 && c.Kind != idb.ChangeWorkflow {
			continue // we already hold this version (or already lack it)
		}
		if want[c.Kind] == nil {
			want[c.Kind] = map[string]bool{}
		}
		want[c.Kind][c.ID] = true
	}
	if len(want) == 0 {
		return 0, nil
	}
	reads := 0
	err := g.db.View(ctx, func(t *idb.Tx) error {
		if want[idb.ChangeWorkflow] != nil {
			w, err := t.Workflow(g.id)
			reads++
			g.exists = err == nil
			if err != nil && !errors.Is(err, errs.ErrNotFound) {
				return err
			}
			g.wf = w
			if !g.exists {
				g.nodes, g.edges = map[string]graph.Node{}, map[string]graph.Edge{}
			}
		}
		n, err := reread(t.GetNodes, want[idb.ChangeNode], g.nodes)
		reads += n
		if err != nil {
			return err
		}
		n, err = reread(t.GetEdges, want[idb.ChangeEdge], g.edges)
		reads += n
		return err
	})
	return reads, err
}

func (g *graphView) snapshot() WorkflowSnapshot {
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

func (g *graphView) last(err error) WorkflowSnapshot { return WorkflowSnapshot{Err: err} }

// reread reads the given entities with get (one of Tx's batched reads)
// and replaces (or removes) them in held. It returns how many it read.
func reread[T any](get func([]string) ([]T, []bool, error), ids map[string]bool, held map[string]T) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	keys := make([]string, 0, len(ids))
	for id := range ids {
		keys = append(keys, id)
	}
	vs, found, err := get(keys)
	if err != nil {
		return 0, err
	}
	for i, id := range keys {
		if found[i] {
			held[id] = vs[i]
		} else {
			delete(held, id)
		}
	}
	return len(keys), nil
}

// ---- the workflow list

type listView struct {
	db  *idb.DB
	wfs map[string]graph.Workflow
}

func (v *listView) load(ctx context.Context) error {
	ws, err := v.db.ListWorkflows(ctx)
	v.wfs = make(map[string]graph.Workflow, len(ws))
	for _, w := range ws {
		v.wfs[w.ID] = w
	}
	return err
}

func (v *listView) refresh(ctx context.Context, changes []idb.Change) (int, error) {
	want := map[string]bool{}
	for _, c := range changes {
		if c.ID == "" {
			continue
		}
		held := v.wfs[c.ID].Version
		if !c.Replaced && c.Version != 0 && c.Version <= held || c.Version == 0 && held == 0 {
			continue
		}
		want[c.ID] = true
	}
	if len(want) == 0 {
		return 0, nil
	}
	var reads int
	err := v.db.View(ctx, func(t *idb.Tx) (err error) {
		reads, err = reread(t.GetWorkflows, want, v.wfs)
		return err
	})
	return reads, err
}

func (v *listView) snapshot() ListSnapshot {
	s := ListSnapshot{Workflows: make([]graph.Workflow, 0, len(v.wfs))}
	for _, w := range v.wfs {
		s.Workflows = append(s.Workflows, w)
	}
	// The order of idb.DB.ListWorkflows: most recently updated first.
	sort.Slice(s.Workflows, func(i, j int) bool {
		a, b := s.Workflows[i], s.Workflows[j]
		if a.UpdatedAt != b.UpdatedAt {
			return a.UpdatedAt > b.UpdatedAt
		}
		return a.ID > b.ID
	})
	return s
}

func (v *listView) last(err error) ListSnapshot { return ListSnapshot{Err: err} }
