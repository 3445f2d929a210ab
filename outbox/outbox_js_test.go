//go:build js && wasm

package outbox

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/idb"
	"github.com/atelierstore/atelier/internal/idbtest"
	"github.com/atelierstore/atelier/live"
	"github.com/atelierstore/atelier/syncproto"
)

// refServer is the server's rule in memory: syncproto.Merge per entity,
// one sequence of changes. It is what a sync server does, minus HTTP and
// durability.
type refServer struct {
	state map[string]*syncproto.Change
	seq   int64
	log   []syncproto.Change
	acks  map[string]syncproto.Ack
}

func newRefServer() *refServer {
	return &refServer{state: map[string]*syncproto.Change{}, acks: map[string]syncproto.Ack{}}
}

func (s *refServer) push(t *testing.T, ops []syncproto.Op) []syncproto.Ack {
	t.Helper()
	if err := (&syncproto.PushRequest{Ops: ops}).Validate(); err != nil {
		t.Fatalf("the store produced an invalid batch: %v", err)
	}
	var acks []syncproto.Ack
	for i := range ops {
		op := &ops[i]
		if a, done := s.acks[op.ID]; done {
			acks = append(acks, a)
			continue
		}
		stored := s.state[op.EntityID]
		m, err := syncproto.Merge(stored, op)
		if err != nil {
			t.Fatal(err)
		}
		var a syncproto.Ack
		if m.Applied {
			s.seq++
			c := m.State
			c.Seq = s.seq
			s.state[op.EntityID] = c
			s.log = append(s.log, *c)
			a = syncproto.Ack{OpID: op.ID, Status: syncproto.Applied, Version: c.Version}
			if m.Mixed {
				a.Current = c
			}
		} else {
			cur := *stored
			a = syncproto.Ack{OpID: op.ID, Status: syncproto.Superseded, Version: stored.Version, Current: &cur}
		}
		s.acks[op.ID] = a
		acks = append(acks, a)
	}
	return acks
}

func (s *refServer) pull(cursor int64) ([]syncproto.Change, int64) {
	var out []syncproto.Change
	latest := map[string]int{}
	for _, c := range s.log {
		if c.Seq > cursor {
			if i, ok := latest[c.EntityID]; ok {
				out[i] = c
			} else {
				latest[c.EntityID] = len(out)
				out = append(out, c)
			}
		}
	}
	return out, s.seq
}

// store is a workflow store with its outbox.
type store struct {
	*idb.DB
	*Outbox
}

func recording(t *testing.T) store { return withOutbox(idbtest.Open(t, nil)) }

func withOutbox(d *idb.DB) store {
	ob := Open(d)
	return store{d, ob}
}

// watch watches a workflow of d.
func watch(t *testing.T, d store, id string) *live.Watch[live.WorkflowSnapshot] {
	t.Helper()
	l := live.New(d.DB, nil)
	t.Cleanup(l.Close)
	w, err := l.WatchWorkflow(idbtest.Ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// watchList watches the workflow list of d.
func watchList(t *testing.T, d store) *live.Watch[live.ListSnapshot] {
	t.Helper()
	l := live.New(d.DB, nil)
	t.Cleanup(l.Close)
	w, err := l.WatchWorkflows(idbtest.Ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// applyRemote is ApplyChanges reporting counts.
func (s store) applyRemote(ctx context.Context, changes []syncproto.Change, cursor int64) (applied, skipped int, err error) {
	r, err := s.ApplyChanges(ctx, changes, cursor)
	return r.Applied, r.Skipped, err
}

func TestOpsAreRecordedWithTheirMutation(t *testing.T) {
	ctx := idbtest.Ctx(t)
	d := recording(t)
	w := idbtest.Workflow(t, d.DB, "ops")
	nodes, err := d.SetNodes(ctx, w.ID, idbtest.Nodes(2))
	if err != nil {
		t.Fatal(err)
	}
	edges, err := d.SetEdges(ctx, w.ID, []graph.Edge{{Source: nodes[0].ID, Target: nodes[1].ID}})
	if err != nil {
		t.Fatal(err)
	}
	pos := graph.Position{X: 9, Y: 9}
	if _, err := d.UpdateNode(ctx, w.ID, nodes[1].ID, graph.NodePatch{Position: &pos, Size: nil}); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteNodes(ctx, w.ID, nodes[0].ID); err != nil { // cascades to the edge
		t.Fatal(err)
	}
	ops, err := d.PendingOps(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		entity  syncproto.Entity
		id      string
		kind    syncproto.OpKind
		version int64
	}
	wants := []want{
		{syncproto.EntityWorkflow, w.ID, syncproto.OpCreate, 1},
		{syncproto.EntityNode, nodes[0].ID, syncproto.OpCreate, 1},
		{syncproto.EntityNode, nodes[1].ID, syncproto.OpCreate, 1},
		{syncproto.EntityEdge, edges[0].ID, syncproto.OpCreate, 1},
		{syncproto.EntityNode, nodes[1].ID, syncproto.OpUpdate, 2},
		{syncproto.EntityEdge, edges[0].ID, syncproto.OpDelete, 2},
		{syncproto.EntityNode, nodes[0].ID, syncproto.OpDelete, 2},
	}
	if len(ops) != len(wants) {
		t.Fatalf("%d ops, want %d: %+v", len(ops), len(wants), ops)
	}
	for i, wnt := range wants {
		op := ops[i]
		if op.Entity != wnt.entity || op.EntityID != wnt.id || op.Kind != wnt.kind || op.Version != wnt.version || op.BaseVersion != 0 {
			t.Errorf("op %d: %s %s %s v%d base %d, want %+v", i, op.Entity, op.EntityID, op.Kind, op.Version, op.BaseVersion, wnt)
		}
		if err := op.Validate(); err != nil {
			t.Errorf("op %d does not validate: %v", i, err)
		}
		if op.Tab != d.TabID() || op.WorkflowID != w.ID {
			t.Errorf("op %d: tab %q workflow %q", i, op.Tab, op.WorkflowID)
		}
	}
	var moved graph.Node
	if err := json.Unmarshal(ops[4].Data, &moved); err != nil || moved.Position != pos || moved.Version != 2 {
		t.Fatalf("update op data: %+v %v", moved, err)
	}
	// Without an outbox nothing is kept; one opened later finds nothing.
	plainDB := idbtest.Open(t, nil)
	idbtest.Workflow(t, plainDB, "no ops")
	plain := withOutbox(plainDB)
	if ops, _ := plain.PendingOps(ctx, 0); len(ops) != 0 {
		t.Fatalf("%d ops recorded without an outbox", len(ops))
	}
}

func TestAckAppliedConfirmsVersions(t *testing.T) {
	ctx := idbtest.Ctx(t)
	d := recording(t)
	srv := newRefServer()
	w := idbtest.Workflow(t, d.DB, "ack")
	nodes, err := d.SetNodes(ctx, w.ID, idbtest.Nodes(3))
	if err != nil {
		t.Fatal(err)
	}
	ops, _ := d.PendingOps(ctx, 0)
	if n, err := d.CountOps(ctx); err != nil || n != len(ops) || n == 0 {
		t.Fatalf("CountOps = %d, %v; want %d", n, err, len(ops))
	}
	conflicts, err := d.AckOps(ctx, srv.push(t, ops))
	if err != nil || len(conflicts) != 0 {
		t.Fatalf("AckOps: %v %v", conflicts, err)
	}
	if left, _ := d.PendingOps(ctx, 0); len(left) != 0 {
		t.Fatalf("%d ops left after acks", len(left))
	}
	// The records of applied writes the outbox keeps are not operations.
	if n, err := d.CountOps(ctx); err != nil || n != 0 {
		t.Fatalf("CountOps after acks = %d, %v; want 0", n, err)
	}
	// Replaying the acks changes nothing.
	if _, err := d.AckOps(ctx, srv.push(t, ops)); err != nil {
		t.Fatal(err)
	}
	err = d.View(ctx, func(tx *idb.Tx) error {
		for _, n := range nodes {
			r, _, err := tx.Revisions(idb.ChangeNode, []string{n.ID})
			if err != nil {
				return err
			}
			if r[0].ServerVersion != 1 || r[0].Version != 1 {
				t.Errorf("node %s: v %d sv %d, want both 1", n.ID, r[0].Version, r[0].ServerVersion)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The next local edit is based on the confirmed version.
	pos := graph.Position{X: 1, Y: 1}
	if _, err := d.UpdateNode(ctx, w.ID, nodes[0].ID, graph.NodePatch{Position: &pos, Size: nil}); err != nil {
		t.Fatal(err)
	}
	ops, _ = d.PendingOps(ctx, 0)
	if len(ops) != 1 || ops[0].BaseVersion != 1 || ops[0].Version != 2 {
		t.Fatalf("edit after sync: %+v", ops)
	}
}

func TestAckSupersededAdoptsTheWinner(t *testing.T) {
	ctx := idbtest.Ctx(t)
	srv := newRefServer()
	// Device A and device B both start from the same synced workflow.
	a, b := recording(t), recording(t)
	w := idbtest.Workflow(t, a.DB, "contested")
	nodes, _ := a.SetNodes(ctx, w.ID, idbtest.Nodes(1))
	ops, _ := a.PendingOps(ctx, 0)
	if _, err := a.AckOps(ctx, srv.push(t, ops)); err != nil {
		t.Fatal(err)
	}
	changes, cursor := srv.pull(0)
	if n, skipped, err := b.applyRemote(ctx, changes, cursor); err != nil || n != 2 || skipped != 0 {
		t.Fatalf("B's first pull: applied %d skipped %d: %v", n, skipped, err)
	}
	// Offline, B moves the node twice, then A moves it twice, later; A
	// syncs first. Both of B's ops lose, in one push: the first answer
	// confirms the server's version, the second must still replace B's
	// copy.
	id := nodes[0].ID
	for _, x := range []float64{98, 99} {
		bpos := graph.Position{X: x, Y: 99}
		if _, err := b.UpdateNode(ctx, w.ID, id, graph.NodePatch{Position: &bpos}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(5 * time.Millisecond) // A's clock is past B's
	for i, x := range []float64{10, 20} {
		pos := graph.Position{X: x, Y: float64(i)}
		if _, err := a.UpdateNode(ctx, w.ID, id, graph.NodePatch{Position: &pos, Size: nil}); err != nil {
			t.Fatal(err)
		}
	}
	ops, _ = a.PendingOps(ctx, 0)
	if c, err := a.AckOps(ctx, srv.push(t, ops)); err != nil || len(c) != 0 {
		t.Fatalf("A: %v %v", c, err)
	}
	wb := watch(t, b, w.ID)
	idbtest.Next(t, wb.C)
	ops, _ = b.PendingOps(ctx, 0)
	conflicts, err := b.AckOps(ctx, srv.push(t, ops))
	if err != nil {
		t.Fatal(err)
	}
	if len(conflicts) != 2 || conflicts[1].Winner == nil || conflicts[1].Lost.EntityID != id {
		t.Fatalf("B's conflicts: %+v", conflicts)
	}
	// B adopted A's state, at the server's version; the app saw it.
	s := idbtest.Until(t, wb.C, func(s live.WorkflowSnapshot) bool {
		return len(s.Graph.Nodes) == 1 && s.Graph.Nodes[0].Position.X == 20
	})
	ga, _ := a.LoadWorkflow(ctx, w.ID)
	if !idbtest.SameJSON(t, s.Graph.Nodes[0], ga.Nodes[0]) {
		t.Fatalf("B holds %s, A holds %s", idbtest.JSON(t, s.Graph.Nodes[0]), idbtest.JSON(t, ga.Nodes[0]))
	}
	if left, _ := b.PendingOps(ctx, 0); len(left) != 0 {
		t.Fatalf("B has %d ops left", len(left))
	}
}

// Edits of different fields of one node made on two devices without
// seeing each other both survive: each op names its fields, the server
// merges them, the device that pushes second adopts the merged state from
// its ack and the first gets it by pulling.
func TestEditsOfDifferentFieldsMerge(t *testing.T) {
	ctx := idbtest.Ctx(t)
	srv := newRefServer()
	a, b := recording(t), recording(t)
	w := idbtest.Workflow(t, a.DB, "merge")
	nodes, _ := a.SetNodes(ctx, w.ID, []graph.Node{{Type: "prompt", Config: json.RawMessage(`{"prompt":"a cat","seed":1}`)}})
	id := nodes[0].ID
	ops, _ := a.PendingOps(ctx, 0)
	a.AckOps(ctx, srv.push(t, ops))
	changes, cursor := srv.pull(0)
	if _, _, err := b.applyRemote(ctx, changes, cursor); err != nil {
		t.Fatal(err)
	}
	pos := graph.Position{X: 42, Y: 7}
	if _, err := a.UpdateNode(ctx, w.ID, id, graph.NodePatch{Position: &pos}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.UpdateNode(ctx, w.ID, id, graph.NodePatch{Config: json.RawMessage(`{"prompt":"a dog","seed":1}`)}); err != nil {
		t.Fatal(err)
	}
	aOps, _ := a.PendingOps(ctx, 0)
	bOps, _ := b.PendingOps(ctx, 0)
	if len(aOps) != 1 || !slices.Equal(aOps[0].Fields, []string{"position"}) {
		t.Fatalf("A's move names fields %v", aOps[0].Fields)
	}
	if len(bOps) != 1 || !slices.Equal(bOps[0].Fields, []string{"config.prompt"}) {
		t.Fatalf("B's prompt edit names fields %v", bOps[0].Fields)
	}
	for _, d := range []store{a, b} {
		ops, _ := d.PendingOps(ctx, 0)
		if c, err := d.AckOps(ctx, srv.push(t, ops)); err != nil || len(c) != 0 {
			t.Fatalf("conflicts %+v, %v", c, err)
		}
	}
	for _, d := range []store{a, b} {
		cur, _ := d.SyncCursor(ctx)
		changes, cursor := srv.pull(cur)
		if _, err := d.ApplyChanges(ctx, changes, cursor); err != nil {
			t.Fatal(err)
		}
	}
	ga, _ := a.LoadWorkflow(ctx, w.ID)
	gb, _ := b.LoadWorkflow(ctx, w.ID)
	if !idbtest.SameJSON(t, ga, gb) {
		t.Fatalf("not converged:\n%s\n%s", idbtest.JSON(t, ga), idbtest.JSON(t, gb))
	}
	n := ga.Nodes[0]
	if n.Position != pos || !idbtest.SameJSON(t, n.Config, json.RawMessage(`{"prompt":"a dog","seed":1}`)) {
		t.Fatalf("merged node %s: want A's position and B's prompt", idbtest.JSON(t, n))
	}
	if left, _ := b.PendingOps(ctx, 0); len(left) != 0 {
		t.Fatalf("B has %d ops left", len(left))
	}
}

func TestRejectedOpsAreParked(t *testing.T) {
	ctx := idbtest.Ctx(t)
	d := recording(t)
	idbtest.Workflow(t, d.DB, "parked")
	ops, _ := d.PendingOps(ctx, 0)
	conflicts, err := d.AckOps(ctx, []syncproto.Ack{{OpID: ops[0].ID, Status: syncproto.Rejected, Error: "workspace is read-only"}})
	if err != nil || len(conflicts) != 1 || conflicts[0].Reason != "workspace is read-only" {
		t.Fatalf("%+v %v", conflicts, err)
	}
	if p, _ := d.PendingOps(ctx, 0); len(p) != 0 {
		t.Fatalf("a parked op is still pending: %+v", p)
	}
	parked, _ := d.ParkedOps(ctx)
	if len(parked) != 1 || parked[0].Lost.ID != ops[0].ID {
		t.Fatalf("parked: %+v", parked)
	}
	if err := d.RetryParked(ctx); err != nil {
		t.Fatal(err)
	}
	if p, _ := d.PendingOps(ctx, 0); len(p) != 1 {
		t.Fatalf("after retry: %+v", p)
	}
}

// TestResyncParkedOpsRetryUnderNewIDs: an op parked because the server
// had forgotten it (Resync) goes back to the queue, when retried, under a
// new id and otherwise as it was; one parked for another reason keeps its
// id.
func TestResyncParkedOpsRetryUnderNewIDs(t *testing.T) {
	ctx := idbtest.Ctx(t)
	d := recording(t)
	idbtest.Workflow(t, d.DB, "forgotten")
	idbtest.Workflow(t, d.DB, "refused")
	ops, _ := d.PendingOps(ctx, 0)
	if len(ops) != 2 {
		t.Fatalf("%d ops", len(ops))
	}
	_, err := d.AckOps(ctx, []syncproto.Ack{
		{OpID: ops[0].ID, Status: syncproto.Rejected, Error: syncproto.ResyncReason("older than the ack horizon")},
		{OpID: ops[1].ID, Status: syncproto.Rejected, Error: "workspace is read-only"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.RetryParked(ctx); err != nil {
		t.Fatal(err)
	}
	p, _ := d.PendingOps(ctx, 0)
	if len(p) != 2 {
		t.Fatalf("after retry: %+v", p)
	}
	byEntity := map[string]syncproto.Op{}
	for _, op := range p {
		byEntity[op.EntityID] = op
	}
	re, same := byEntity[ops[0].EntityID], byEntity[ops[1].EntityID]
	if re.ID == ops[0].ID || !graph.ValidID(re.ID) || same.ID != ops[1].ID {
		t.Fatalf("ids after retry: %s (was %s), %s (was %s)", re.ID, ops[0].ID, same.ID, ops[1].ID)
	}
	re.ID = ops[0].ID
	if !idbtest.SameJSON(t, re, ops[0]) {
		t.Fatalf("retried op %s, was %s", idbtest.JSON(t, re), idbtest.JSON(t, ops[0]))
	}
	if parked, _ := d.ParkedOps(ctx); len(parked) != 0 {
		t.Fatalf("still parked: %+v", parked)
	}
}

func TestApplyRemote(t *testing.T) {
	ctx := idbtest.Ctx(t)
	srv := newRefServer()
	src, dst := recording(t), recording(t)
	w := idbtest.Workflow(t, src.DB, "remote")
	nodes, _ := src.SetNodes(ctx, w.ID, idbtest.Nodes(3))
	src.SetEdges(ctx, w.ID, []graph.Edge{{Source: nodes[0].ID, Target: nodes[1].ID}, {Source: nodes[1].ID, Target: nodes[2].ID}})
	ops, _ := src.PendingOps(ctx, 0)
	src.AckOps(ctx, srv.push(t, ops))

	wl := watchList(t, dst)
	idbtest.Next(t, wl.C)
	changes, cursor := srv.pull(0)
	applied, skipped, err := dst.applyRemote(ctx, changes, cursor)
	if err != nil || applied != 6 || skipped != 0 {
		t.Fatalf("applied %d skipped %d: %v", applied, skipped, err)
	}
	idbtest.Until(t, wl.C, func(s live.ListSnapshot) bool { return len(s.Workflows) == 1 })
	if c, _ := dst.SyncCursor(ctx); c != cursor {
		t.Fatalf("cursor %d, want %d", c, cursor)
	}
	gs, _ := src.LoadWorkflow(ctx, w.ID)
	gd, _ := dst.LoadWorkflow(ctx, w.ID)
	if !idbtest.SameJSON(t, gs, gd) {
		t.Fatalf("not converged:\n%s\n%s", idbtest.JSON(t, gs), idbtest.JSON(t, gd))
	}
	if ops, _ := dst.PendingOps(ctx, 0); len(ops) != 0 {
		t.Fatalf("applying remote changes recorded %d ops", len(ops))
	}
	// The same changes again: nothing to do.
	if applied, _, _ := dst.applyRemote(ctx, changes, cursor); applied != 0 {
		t.Fatalf("re-applied %d", applied)
	}
	// A remote delete of a node takes its edges; a change to an entity
	// with a pending local op waits for the push to settle it.
	if err := src.DeleteNodes(ctx, w.ID, nodes[1].ID); err != nil {
		t.Fatal(err)
	}
	title := "src title"
	src.UpdateNode(ctx, w.ID, nodes[2].ID, graph.NodePatch{Title: &title})
	ops, _ = src.PendingOps(ctx, 0)
	src.AckOps(ctx, srv.push(t, ops))
	local := "dst title"
	if _, err := dst.UpdateNode(ctx, w.ID, nodes[2].ID, graph.NodePatch{Title: &local}); err != nil {
		t.Fatal(err)
	}
	changes, cursor = srv.pull(cursor)
	applied, skipped, err = dst.applyRemote(ctx, changes, cursor)
	if err != nil || skipped != 1 {
		t.Fatalf("second pull: applied %d skipped %d: %v", applied, skipped, err)
	}
	gd, _ = dst.LoadWorkflow(ctx, w.ID)
	if len(gd.Nodes) != 2 || len(gd.Edges) != 0 || gd.Nodes[1].Title != "dst title" {
		t.Fatalf("after the second pull: %s", idbtest.JSON(t, gd))
	}
}

func TestRecordUnsynced(t *testing.T) {
	ctx := idbtest.Ctx(t)
	plainDB := idbtest.Open(t, nil)
	w := idbtest.Workflow(t, plainDB, "before sync")
	nodes, _ := plainDB.SetNodes(ctx, w.ID, idbtest.Nodes(2))
	plainDB.SetEdges(ctx, w.ID, []graph.Edge{{Source: nodes[0].ID, Target: nodes[1].ID}})
	plain := withOutbox(plainDB)
	n, err := plain.RecordUnsynced(ctx)
	if err != nil || n != 4 {
		t.Fatalf("RecordUnsynced = %d, %v; want 4", n, err)
	}
	ops, _ := plain.PendingOps(ctx, 0)
	if len(ops) != 4 || ops[0].Entity != syncproto.EntityWorkflow || ops[3].Entity != syncproto.EntityEdge {
		t.Fatalf("ops %+v", ops)
	}
	for _, op := range ops {
		if err := op.Validate(); err != nil || op.Kind != syncproto.OpCreate {
			t.Fatalf("op %+v: %v", op, err)
		}
	}
	// Nothing twice, and nothing once confirmed.
	if n, _ := plain.RecordUnsynced(ctx); n != 0 {
		t.Fatalf("second call recorded %d", n)
	}
	srv := newRefServer()
	plain.AckOps(ctx, srv.push(t, ops))
	if n, _ := plain.RecordUnsynced(ctx); n != 0 {
		t.Fatalf("after sync recorded %d", n)
	}
}

// A large outbox is acknowledged in one transaction in reasonable time:
// a batch of the size an engine pushes (500), on top of many more ops
// pending.
func TestAckOfAFullBatch(t *testing.T) {
	ctx := idbtest.Ctx(t)
	d := recording(t)
	srv := newRefServer()
	w := idbtest.Workflow(t, d.DB, "big")
	nodes, err := d.SetNodes(ctx, w.ID, idbtest.Nodes(1500))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes[:300] {
		pos := graph.Position{X: 3, Y: 4}
		if _, err := d.UpdateNode(ctx, w.ID, n.ID, graph.NodePatch{Position: &pos, Size: nil}); err != nil {
			t.Fatal(err)
		}
	}
	ops, err := d.PendingOps(ctx, syncproto.MaxOpsPerPush)
	if err != nil || len(ops) != syncproto.MaxOpsPerPush {
		t.Fatalf("PendingOps: %d, %v", len(ops), err)
	}
	start := time.Now()
	if _, err := d.AckOps(ctx, srv.push(t, ops)); err != nil {
		t.Fatal(err)
	}
	t.Logf("AckOps of %d ops with %d pending: %v", len(ops), 1801, time.Since(start))
	left, _ := d.PendingOps(ctx, 0)
	if len(left) != 1801-len(ops) {
		t.Fatalf("%d ops left, want %d", len(left), 1801-len(ops))
	}
}

// Changes that come before what they need (a node before its workflow, an
// edge before its nodes, as pages in the order of last change bring them)
// wait in the store and apply once it has arrived.
func TestApplyRemoteDefersOrphans(t *testing.T) {
	ctx := idbtest.Ctx(t)
	srv := newRefServer()
	src, dst := recording(t), recording(t)
	w := idbtest.Workflow(t, src.DB, "pages")
	nodes, _ := src.SetNodes(ctx, w.ID, idbtest.Nodes(2))
	src.SetEdges(ctx, w.ID, []graph.Edge{{Source: nodes[0].ID, Target: nodes[1].ID}})
	name := "pages, renamed"
	if _, err := src.UpdateWorkflow(ctx, w.ID, graph.WorkflowPatch{Name: &name}); err != nil {
		t.Fatal(err)
	}
	if _, err := src.UpdateNode(ctx, w.ID, nodes[0].ID, graph.NodePatch{Title: &name}); err != nil {
		t.Fatal(err)
	}
	ops, _ := src.PendingOps(ctx, 0)
	src.AckOps(ctx, srv.push(t, ops))
	changes, cursor := srv.pull(0)
	// As a server sends them: in the order of each entity's last change
	// (n1, edge, workflow, n0).
	sort.Slice(changes, func(i, j int) bool { return changes[i].Seq < changes[j].Seq })
	for i, c := range changes {
		if c.Entity == syncproto.EntityWorkflow && i == 0 {
			t.Fatal("the workflow comes first: the test needs it later")
		}
	}
	// One change per page.
	for i, c := range changes {
		if _, _, err := dst.applyRemote(ctx, []syncproto.Change{c}, c.Seq); err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
	}
	if c, _ := dst.SyncCursor(ctx); c != cursor {
		t.Fatalf("cursor %d, want %d", c, cursor)
	}
	gs, _ := src.LoadWorkflow(ctx, w.ID)
	gd, err := dst.LoadWorkflow(ctx, w.ID)
	if err != nil || !idbtest.SameJSON(t, gs, gd) {
		t.Fatalf("not converged (%v):\n%s\n%s", err, idbtest.JSON(t, gs), idbtest.JSON(t, gd))
	}
	// Nothing left waiting.
	dst.View(ctx, func(tx *idb.Tx) error {
		a, err := newApplier(tx)
		if err != nil {
			return err
		}
		if d, err := a.readDeferred(); err != nil || len(d) != 0 {
			t.Errorf("deferred: %v, %v", d, err)
		}
		return nil
	})
}

// A write the server applied and a concurrent write then overwrote is
// reported to its device when the pull brings the winner; the winner's
// device, pulling its own write back, is told nothing.
func TestOverwrittenWriteIsReportedOnPull(t *testing.T) {
	ctx := idbtest.Ctx(t)
	srv := newRefServer()
	a, b := recording(t), recording(t)
	w := idbtest.Workflow(t, a.DB, "lww")
	nodes, _ := a.SetNodes(ctx, w.ID, idbtest.Nodes(1))
	n := nodes[0].ID
	sync := func(d store) syncproto.ApplyResult {
		t.Helper()
		ops, _ := d.PendingOps(ctx, 0)
		if len(ops) > 0 {
			if _, err := d.AckOps(ctx, srv.push(t, ops)); err != nil {
				t.Fatal(err)
			}
		}
		cur, _ := d.SyncCursor(ctx)
		changes, cursor := srv.pull(cur)
		res, err := d.ApplyChanges(ctx, changes, cursor)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	sync(a)
	sync(b)
	// Offline, A moves the node once, then B twice, later (B's edit wins).
	pos := graph.Position{X: 1, Y: 1}
	if _, err := a.UpdateNode(ctx, w.ID, n, graph.NodePatch{Position: &pos, Size: nil}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	for i := range 2 {
		bpos := graph.Position{X: float64(10 + i), Y: 1}
		if _, err := b.UpdateNode(ctx, w.ID, n, graph.NodePatch{Position: &bpos}); err != nil {
			t.Fatal(err)
		}
	}
	aOp, _ := a.PendingOps(ctx, 0)
	// A syncs first: applied, nothing to report yet.
	if res := sync(a); len(res.Overwritten) != 0 {
		t.Fatalf("A: %+v before B synced", res.Overwritten)
	}
	// B syncs: its write wins and overwrites A's, unseen.
	if res := sync(b); len(res.Overwritten) != 0 {
		t.Fatalf("B, the winner, told of %+v", res.Overwritten)
	}
	res := sync(a)
	if len(res.Overwritten) != 1 || res.Overwritten[0].Lost.ID != aOp[0].ID || res.Overwritten[0].Winner == nil ||
		res.Overwritten[0].Winner.EntityID != n {
		t.Fatalf("A was told %+v, want its op %s overwritten on node %s", res.Overwritten, aOp[0].ID, n)
	}
	ga, _ := a.LoadWorkflow(ctx, w.ID)
	gb, _ := b.LoadWorkflow(ctx, w.ID)
	if !idbtest.SameJSON(t, ga, gb) {
		t.Fatalf("not converged:\n%s\n%s", idbtest.JSON(t, ga), idbtest.JSON(t, gb))
	}
	// Told once: the same changes again report nothing.
	changes, cursor := srv.pull(0)
	if res, _ := a.ApplyChanges(ctx, changes, cursor); len(res.Overwritten) != 0 {
		t.Fatalf("told again: %+v", res.Overwritten)
	}
}

// OnOps hears of every committed write that recorded operations, not of
// changes applied from the server, and nothing after stop.
func TestOnOpsHearsRecordedWrites(t *testing.T) {
	ctx := idbtest.Ctx(t)
	d := recording(t)
	calls := make(chan struct{}, 16)
	stop := d.OnOps(func() { calls <- struct{}{} })
	heard := func(within time.Duration) bool {
		select {
		case <-calls:
			return true
		case <-time.After(within):
			return false
		}
	}
	w := idbtest.Workflow(t, d.DB, "nudge")
	if !heard(2 * time.Second) {
		t.Fatal("creating a workflow recorded an op, and OnOps was not called")
	}
	// A change from the server records nothing.
	n := idbtest.Nodes(1)[0]
	n.ID, n.WorkflowID = graph.NewID(), w.ID
	data, _ := json.Marshal(n)
	cur, _ := d.SyncCursor(ctx)
	if _, _, err := d.applyRemote(ctx, []syncproto.Change{{Seq: cur + 1, Entity: syncproto.EntityNode, EntityID: n.ID,
		WorkflowID: w.ID, Version: 1, OpID: graph.NewID(), Data: data}}, cur+1); err != nil {
		t.Fatal(err)
	}
	if heard(200 * time.Millisecond) {
		t.Fatal("OnOps was called for a change applied from the server")
	}
	stop()
	if _, err := d.UpdateWorkflow(ctx, w.ID, graph.WorkflowPatch{Name: new("renamed")}); err != nil {
		t.Fatal(err)
	}
	if heard(200 * time.Millisecond) {
		t.Fatal("OnOps was called after stop")
	}
}
