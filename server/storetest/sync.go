package storetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/server"
	"github.com/atelierstore/atelier/syncproto"
)

// Run runs the conformance suite on the Store that newDB creates.
func Run(t *testing.T, newDB NewDB) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"PushPullRoundTrip", testRoundTrip},
		{"ReplayIsIdempotent", testReplay},
		{"ReplayAfterRestart", testRestart},
		{"ReorderedBatchesConverge", testReordered},
		{"FollowsMerge", testFollowsMerge},
		{"Conflicts", testConflicts},
		{"Rejected", testRejected},
		{"GraphStaysWhole", testGraphWhole},
		{"Overwrote", testOverwrote},
		{"Pagination", testPagination},
		{"PageBytes", testPageBytes},
		{"Auth", testAuth},
		{"WorkspaceIsolation", testIsolation},
		{"MalformedPush", testMalformedPush},
		{"ProtocolVersion", testProtocolVersion},
		{"MalformedPull", testMalformedPull},
		{"VersionBounds", testVersionBounds},
		{"Blobs", testBlobs},
		{"BlobURLs", testBlobURLs},
		{"BlobUploadLies", testBlobLies},
		{"ConcurrentPushes", testConcurrent},
		{"Tx", testTx},
		{"Closed", testClosed},
		{"Watch", testWatch},
		{"Announcer", testAnnouncer},
		{"Announce", testAnnounce},
		{"Data", testData},
		{"DataConsistent", testDataConsistent},
		{"ServerWrites", testServerWrites},
		{"ServerWriteRace", testServerWriteRace},
		{"ServerAssets", testServerAssets},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newDB(t))
		})
	}
	t.Run("GC", func(t *testing.T) {
		t.Parallel()
		RunGC(t, newDB, newDirBlobs)
	})
}

func wantStatus(t *testing.T, what string, r *response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.status, status, r.body)
	}
	if code != "" {
		if got := r.errorCode(); got != code {
			t.Fatalf("%s: code %s, want %s", what, got, code)
		}
	}
}

func wantAck(t *testing.T, a syncproto.Ack, status syncproto.AckStatus, version int64) {
	t.Helper()
	if a.Status != status || a.Version != version {
		t.Fatalf("ack %+v: want %s at version %d", a, status, version)
	}
	if status == syncproto.Superseded && a.Current == nil || status == syncproto.Rejected && a.Current != nil {
		t.Fatalf("ack %+v: Current must be set when superseded, and only then or when applied", a)
	}
	if (status == syncproto.Rejected) != (a.Error != "") {
		t.Fatalf("ack %+v: Error must be set exactly when rejected", a)
	}
}

func testRoundTrip(t *testing.T, open Opener) {
	e := newEnv(t, open)
	wf, n1, n2, e1 := graph.NewID(), graph.NewID(), graph.NewID(), graph.NewID()
	ops := []syncproto.Op{
		workflowOp(wf, 0, 1, 1000, "Storyboard"),
		nodeOp(wf, n1, 0, 1, 1001, "Idea"),
		nodeOp(wf, n2, 0, 1, 1002, "Hero shot"),
		edgeOp(wf, e1, n1, n2, 0, 1, 1003),
	}
	for _, a := range e.push("alpha", ops...) {
		wantAck(t, a, syncproto.Applied, 1)
	}
	p := e.pull("alpha", "cursor=0")
	if len(p.Changes) != 4 || p.Cursor != 4 || p.More {
		t.Fatalf("pull: %d changes, cursor %d, more %v", len(p.Changes), p.Cursor, p.More)
	}
	for i, c := range p.Changes {
		o := ops[i]
		want := syncproto.Change{Seq: int64(i + 1), Entity: o.Entity, EntityID: o.EntityID, WorkflowID: o.WorkflowID,
			Version: 1, Proposed: o.Version, UpdatedAt: o.UpdatedAt, OpID: o.ID, Data: compact(t, o.Data)}
		if !reflect.DeepEqual(c, want) {
			t.Fatalf("change %d:\n got %+v\nwant %+v", i, c, want)
		}
	}

	up := nodeOp(wf, n1, 1, 2, 2000, "Idea, refined")
	del := deleteOp(syncproto.EntityEdge, wf, e1, 1, 2, 2001)
	for _, a := range e.push("alpha", up, del) {
		wantAck(t, a, syncproto.Applied, 2)
	}
	p = e.pull("alpha", "cursor=4")
	if len(p.Changes) != 2 || p.Cursor != 6 {
		t.Fatalf("pull after 4: %+v", p)
	}
	if c := p.Changes[0]; c.EntityID != n1 || c.Seq != 5 || c.Version != 2 || !bytes.Equal(c.Data, compact(t, up.Data)) {
		t.Fatalf("update pulled as %+v", c)
	}
	if c := p.Changes[1]; c.EntityID != e1 || c.Seq != 6 || !c.Deleted || c.Data != nil || c.OpID != del.ID {
		t.Fatalf("delete pulled as %+v", c)
	}

	// From the start, each entity once, at its latest state.
	var got []string
	for _, c := range e.pull("alpha", "").Changes {
		got = append(got, fmt.Sprintf("%s@%d", c.EntityID, c.Seq))
	}
	want := []string{wf + "@1", n2 + "@3", n1 + "@5", e1 + "@6"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("pull from 0: %v, want %v", got, want)
	}

	// Nothing after the last change: an empty list, and the cursor stays.
	r := e.do("GET", route(syncproto.RoutePull, "alpha")+"?cursor=6", tokenOf("alpha"), nil)
	if r.status != 200 || !bytes.Contains(r.body, []byte(`"changes":[]`)) || !bytes.Contains(r.body, []byte(`"cursor":6`)) {
		t.Fatalf("pull at the end: %d %s", r.status, r.body)
	}
	if p := e.pull("alpha", "cursor=99"); len(p.Changes) != 0 || p.Cursor != 99 || p.More {
		t.Fatalf("pull past the end: %+v", p)
	}
}

// replayBatch sets up alpha so that a batch gets every kind of ack, and
// returns that batch.
func replayBatch(e *env) []syncproto.Op {
	wf, x, y := graph.NewID(), graph.NewID(), graph.NewID()
	e.push("alpha", workflowOp(wf, 0, 1, 100, "W"), nodeOp(wf, x, 0, 1, 100, "x1"))
	return []syncproto.Op{
		nodeOp(wf, x, 1, 2, 200, "x2"),                   // applied
		nodeOp(wf, y, 0, 1, 200, "y1"),                   // applied
		nodeOp(wf, x, 0, 1, 50, "x offline"),             // superseded by x2
		nodeOp(graph.NewID(), wf, 0, 1, 1, "not a node"), // rejected: wf is a workflow
	}
}

func testReplay(t *testing.T, open Opener) {
	e := newEnv(t, open)
	batch := replayBatch(e)
	first := e.pushRaw("alpha", batch...)
	acks := rawAcks(t, first)
	var statuses []syncproto.AckStatus
	for _, a := range acks {
		var ack syncproto.Ack
		json.Unmarshal(a, &ack)
		statuses = append(statuses, ack.Status)
	}
	if want := []syncproto.AckStatus{syncproto.Applied, syncproto.Applied, syncproto.Superseded, syncproto.Rejected}; !reflect.DeepEqual(statuses, want) {
		t.Fatalf("statuses %v, want %v", statuses, want)
	}
	state, seq := e.pullAll("alpha", 0), head(t, e.store, "alpha")

	if again := e.pushRaw("alpha", batch...); !bytes.Equal(again, first) {
		t.Fatalf("replay answered\n%s\nfirst time\n%s", again, first)
	}
	if got := e.pullAll("alpha", 0); !reflect.DeepEqual(got, state) {
		t.Fatalf("replay changed the state:\n%+v\n%+v", got, state)
	}
	if got := head(t, e.store, "alpha"); got != seq {
		t.Fatalf("replay moved the seq from %d to %d", seq, got)
	}

	// The state moves on; the replay still gets the acks of its time.
	x := batch[0]
	e.push("alpha", nodeOp(x.WorkflowID, x.EntityID, 2, 3, 300, "x3"))
	if again := e.pushRaw("alpha", batch...); !bytes.Equal(again, first) {
		t.Fatalf("late replay answered\n%s\nfirst time\n%s", again, first)
	}

	// Part of the batch replayed with new ops, in another order.
	z := nodeOp(x.WorkflowID, graph.NewID(), 0, 1, 400, "z")
	mixed := rawAcks(t, e.pushRaw("alpha", batch[2], z, batch[1]))
	if !bytes.Equal(mixed[0], acks[2]) || !bytes.Equal(mixed[2], acks[1]) {
		t.Fatalf("replayed acks differ: %s %s vs %s %s", mixed[0], mixed[2], acks[2], acks[1])
	}

	// An op id is the key: other content under a known id changes nothing.
	forged := batch[1]
	forged.Data = nodeData(forged.WorkflowID, forged.EntityID, "forged", 9, 900)
	forged.Version, forged.UpdatedAt = 9, 900
	if got := rawAcks(t, e.pushRaw("alpha", forged)); !bytes.Equal(got[0], acks[1]) {
		t.Fatalf("forged replay got %s, want %s", got[0], acks[1])
	}
	if c := e.latest("alpha")[forged.EntityID]; c.Version != 1 || c.OpID != forged.ID || strings.Contains(string(c.Data), "forged") {
		t.Fatalf("forged replay changed the entity: %+v", c)
	}
}

func testRestart(t *testing.T, open Opener) {
	e := newEnv(t, open)
	batch := replayBatch(e)
	first := e.pushRaw("alpha", batch...)
	state, seq := e.pullAll("alpha", 0), head(t, e.store, "alpha")

	e.restart()
	if again := e.pushRaw("alpha", batch...); !bytes.Equal(again, first) {
		t.Fatalf("replay after restart answered\n%s\nfirst time\n%s", again, first)
	}
	if got := e.pullAll("alpha", 0); !reflect.DeepEqual(got, state) {
		t.Fatal("restart or replay changed the state")
	}
	x := batch[0]
	e.push("alpha", nodeOp(x.WorkflowID, x.EntityID, 2, 3, 300, "x3"))
	if got := head(t, e.store, "alpha"); got != seq+1 {
		t.Fatalf("seq after restart: %d, want %d", got, seq+1)
	}
}

// concurrentOps returns n ops on the entities in ids, made without
// seeing each other: a create of each entity first (in time), then edits
// and deletions based on its first version, with distinct stamps. In any
// arrival order, an entity with a deletion ends deleted, any other ends
// as the edit with the latest stamp wrote it (every op writes all
// fields). It also returns that op, per entity.
func concurrentOps(rng *rand.Rand, wf string, ids []string, n int) ([]syncproto.Op, map[string]syncproto.Op) {
	var ops []syncproto.Op
	winners := map[string]syncproto.Op{}
	deleted := map[string]bool{}
	stamps := rng.Perm(n)
	for i := 0; i < n; i++ {
		id := ids[i%len(ids)]
		at := 1000 + int64(stamps[i])
		var op syncproto.Op
		switch {
		case i < len(ids):
			op = nodeOp(wf, id, 0, 1, 999, "create")
		case rng.Intn(5) == 0:
			op = deleteOp(syncproto.EntityNode, wf, id, 1, 2+rng.Int63n(5), at)
			deleted[id] = true
		default:
			v := 2 + rng.Int63n(5)
			op = nodeOp(wf, id, 1, v, at, fmt.Sprintf("v%d at %d", v, at))
		}
		ops = append(ops, op)
		if w, ok := winners[id]; !ok || (op.Kind != syncproto.OpDelete && later(op, w)) {
			winners[id] = op
		}
	}
	for id := range deleted {
		winners[id] = deleteOp(syncproto.EntityNode, wf, id, 0, 1, 0)
	}
	return ops, winners
}

// later reports whether op a's stamp beats op b's.
func later(a, b syncproto.Op) bool {
	return syncproto.Stamp{At: a.UpdatedAt, Op: a.ID}.After(syncproto.Stamp{At: b.UpdatedAt, Op: b.ID})
}

// checkWinners checks that the state of ws is the winners': deleted, or
// the data of the winning op.
func checkWinners(t *testing.T, e *env, ws string, winners map[string]syncproto.Op) {
	t.Helper()
	state := e.latest(ws)
	if len(state) != len(winners) {
		t.Fatalf("%s has %d entities, want %d", ws, len(state), len(winners))
	}
	for id, w := range winners {
		c := state[id]
		if c.Deleted != (w.Kind == syncproto.OpDelete) {
			t.Fatalf("%s: entity %s is %+v, want deleted %v", ws, id, c, w.Kind == syncproto.OpDelete)
		}
		if !c.Deleted && (c.OpID != w.ID || c.UpdatedAt != w.UpdatedAt || !bytes.Equal(c.Data, compact(t, w.Data))) {
			t.Fatalf("%s: entity %s is %+v with %s, want the write of op %s: %s", ws, id, c, c.Data, w.ID, w.Data)
		}
	}
}

func testReordered(t *testing.T, open Opener) {
	e := newEnv(t, open)
	rng := rand.New(rand.NewSource(7))
	wf := graph.NewID()
	ids := []string{graph.NewID(), graph.NewID(), graph.NewID(), graph.NewID()}
	ops, winners := concurrentOps(rng, wf, ids, 40)
	// w0..w3 get the ops in one batch, w4..w7 in batches of random size,
	// each in another order.
	for i, ws := range workspaces[2:] {
		order := append([]syncproto.Op(nil), ops...)
		rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		if i < 4 {
			e.push(ws, order...)
		} else {
			for len(order) > 0 {
				n := min(len(order), 1+rng.Intn(8))
				e.push(ws, order[:n]...)
				order = order[n:]
			}
		}
		checkWinners(t, e, ws, winners)
	}
}

// model is the server's rule run in memory: the state after each op, and
// each op's status and version.
func model(t *testing.T, ops []syncproto.Op) (map[string]*syncproto.Change, []syncproto.Ack) {
	state := map[string]*syncproto.Change{}
	var acks []syncproto.Ack
	for i := range ops {
		op := &ops[i]
		cur := state[op.EntityID]
		m, err := syncproto.Merge(cur, op)
		if err != nil {
			t.Fatal(err)
		}
		if !m.Applied {
			acks = append(acks, syncproto.Ack{OpID: op.ID, Status: syncproto.Superseded, Version: cur.Version, Current: cur})
			continue
		}
		state[op.EntityID] = m.State
		a := syncproto.Ack{OpID: op.ID, Status: syncproto.Applied, Version: m.State.Version}
		if m.Mixed {
			a.Current = m.State
		}
		acks = append(acks, a)
	}
	return state, acks
}

// testFollowsMerge pushes random ops, some naming the fields they change,
// with tied timestamps, and checks every ack and the final state against
// syncproto.Merge run in memory in the same order: the store keeps each
// entity's clocks.
func testFollowsMerge(t *testing.T, open Opener) {
	e := newEnv(t, open)
	rng := rand.New(rand.NewSource(11))
	wf := graph.NewID()
	ids := []string{graph.NewID(), graph.NewID(), graph.NewID()}
	var ops []syncproto.Op
	for i := 0; i < 80; i++ {
		v := 1 + rng.Int63n(4)
		op := nodeOp(wf, ids[rng.Intn(len(ids))], rng.Int63n(v), v, 1000+rng.Int63n(3), fmt.Sprintf("n%d", i))
		switch {
		case rng.Intn(8) == 0:
			op = deleteOp(syncproto.EntityNode, wf, op.EntityID, op.BaseVersion, v, op.UpdatedAt)
		case op.Kind == syncproto.OpUpdate && rng.Intn(2) == 0:
			op.Fields = [][]string{{"title"}, {"position"}, {"title", "position"}}[rng.Intn(3)]
		}
		ops = append(ops, op)
	}
	wantState, wantAcks := model(t, ops)
	var got []syncproto.Ack
	for rest := ops; len(rest) > 0; {
		n := min(len(rest), 1+rng.Intn(10))
		got = append(got, e.push("alpha", rest[:n]...)...)
		rest = rest[n:]
	}
	for i, a := range got {
		w := wantAcks[i]
		if a.Status != w.Status || a.Version != w.Version || (a.Current == nil) != (w.Current == nil) {
			t.Fatalf("op %d: ack %+v, Merge says %+v", i, a, w)
		}
		if w.Current != nil && (a.Current.OpID != w.Current.OpID || a.Current.Version != w.Current.Version || !bytes.Equal(a.Current.Data, w.Current.Data)) {
			t.Fatalf("op %d: current %+v, Merge says %+v", i, a.Current, w.Current)
		}
	}
	for id, c := range e.latest("alpha") {
		w := wantState[id]
		if c.OpID != w.OpID || c.Version != w.Version || c.Deleted != w.Deleted || c.UpdatedAt != w.UpdatedAt || !bytes.Equal(c.Data, w.Data) {
			t.Fatalf("entity %s: %+v, Merge says %+v", id, c, w)
		}
	}
}

func testConflicts(t *testing.T, open Opener) {
	e := newEnv(t, open)
	wf, x := graph.NewID(), graph.NewID()
	a1 := nodeOp(wf, x, 0, 1, 100, "from A")
	wantAck(t, e.push("alpha", a1)[0], syncproto.Applied, 1)

	// B made x offline, earlier: A's write wins and B is told what it is.
	b1 := nodeOp(wf, x, 0, 1, 50, "from B")
	ack := e.push("alpha", b1)[0]
	wantAck(t, ack, syncproto.Superseded, 1)
	want := syncproto.Change{Seq: 1, Entity: syncproto.EntityNode, EntityID: x, WorkflowID: wf, Version: 1, Proposed: 1, UpdatedAt: 100,
		OpID: a1.ID, Data: compact(t, a1.Data)}
	if !reflect.DeepEqual(*ack.Current, want) {
		t.Fatalf("superseded by %+v, want %+v", *ack.Current, want)
	}

	// B made x later: B wins, with the version after the stored one.
	b2 := nodeOp(wf, x, 0, 1, 200, "from B, later")
	wantAck(t, e.push("alpha", b2)[0], syncproto.Applied, 2)

	// A edited x more often offline (version 9), but earlier than B: the
	// later edit wins, not the device that edited more.
	a9 := nodeOp(wf, x, 1, 9, 150, "A, much edited")
	ack = e.push("alpha", a9)[0]
	wantAck(t, ack, syncproto.Superseded, 2)
	if ack.Current.OpID != b2.ID || ack.Current.Version != 2 || ack.Current.Seq != 2 {
		t.Fatalf("superseded by %+v, want b2 at version 2", ack.Current)
	}

	// Edits of different fields made on version 2 without seeing each
	// other both survive, in either order; the second one's device gets
	// the merged state in its ack.
	title := nodeOp(wf, x, 2, 3, 300, "a new title")
	title.Fields = []string{"title"}
	move := nodeOp(wf, x, 2, 3, 250, "from B, later")
	move.Fields = []string{"position"}
	wantAck(t, e.push("alpha", title)[0], syncproto.Applied, 3)
	ack = e.push("alpha", move)[0]
	wantAck(t, ack, syncproto.Applied, 4)
	var got graph.Node
	if ack.Current == nil || json.Unmarshal(ack.Current.Data, &got) != nil {
		t.Fatalf("the ack of a merged edit carries no state: %+v", ack)
	}
	var moved graph.Node
	json.Unmarshal(move.Data, &moved)
	if got.Title != "a new title" || got.Position != moved.Position {
		t.Fatalf("merged node %+v: want the title of one edit and the position of the other", got)
	}
	if c := e.latest("alpha")[x]; !bytes.Equal(c.Data, ack.Current.Data) || c.UpdatedAt != 300 {
		t.Fatalf("pulled %+v, acked %+v", c, ack.Current)
	}

	// A deletion wins over an edit of the deleted node, even a later one.
	d := deleteOp(syncproto.EntityNode, wf, x, 4, 5, 400)
	stale := nodeOp(wf, x, 4, 5, 500, "edit of a deleted node")
	stale.Fields = []string{"title"}
	acks := e.push("alpha", d, stale)
	wantAck(t, acks[0], syncproto.Applied, 5)
	wantAck(t, acks[1], syncproto.Superseded, 5)
	if c := acks[1].Current; !c.Deleted || c.Data != nil || c.OpID != d.ID {
		t.Fatalf("superseded by %+v, want the deletion", c)
	}
	raw := rawAcks(t, e.pushRaw("alpha", stale))[0]
	if !bytes.Contains(raw, []byte(`"deleted":true`)) || bytes.Contains(raw, []byte(`"data"`)) {
		t.Fatalf("tombstone ack %s", raw)
	}

	// A create of the id later than the deletion (an undo) brings it back.
	undo := nodeOp(wf, x, 0, 6, 600, "undone")
	wantAck(t, e.push("alpha", undo)[0], syncproto.Applied, 6)
	if c := e.latest("alpha")[x]; c.Deleted || c.OpID != undo.ID || c.Version != 6 {
		t.Fatalf("final state %+v", c)
	}
}

func testRejected(t *testing.T, open Opener) {
	e := newEnv(t, open)
	wf, wf2, n := graph.NewID(), graph.NewID(), graph.NewID()
	e.push("alpha", workflowOp(wf, 0, 1, 1, "W"), nodeOp(wf, n, 0, 1, 1, "n"))
	state := e.latest("alpha")

	ops := []syncproto.Op{
		nodeOp(wf2, wf, 0, 5, 5, "a node under a workflow's id"),
		nodeOp(wf2, n, 1, 2, 5, "moved to another workflow"),
		edgeOp(wf, n, graph.NewID(), graph.NewID(), 1, 2, 5),
	}
	first := e.pushRaw("alpha", ops...)
	var resp syncproto.PushResponse
	json.Unmarshal(first, &resp)
	for _, a := range resp.Acks {
		wantAck(t, a, syncproto.Rejected, 0)
	}
	if !strings.Contains(resp.Acks[0].Error, "workflow") || !strings.Contains(resp.Acks[1].Error, wf) {
		t.Fatalf("errors do not say why: %q, %q", resp.Acks[0].Error, resp.Acks[1].Error)
	}
	if !reflect.DeepEqual(e.latest("alpha"), state) {
		t.Fatal("rejected ops changed the state")
	}
	if again := e.pushRaw("alpha", ops...); !bytes.Equal(again, first) {
		t.Fatalf("replayed rejection: %s, first %s", again, first)
	}
	// A tombstone keeps its kind.
	e.push("alpha", deleteOp(syncproto.EntityNode, wf, n, 1, 2, 6))
	wantAck(t, e.push("alpha", edgeOp(wf, n, graph.NewID(), graph.NewID(), 0, 7, 7))[0], syncproto.Rejected, 0)
}

// Deleting a workflow deletes its nodes and edges, deleting a node its
// edges, whether they arrived before the deletion or after it: nothing is
// left hanging, and a write that would hang loses to the deletion, as a
// tombstone the client adopts.
func testGraphWhole(t *testing.T, open Opener) {
	e := newEnv(t, open)
	wf, n1, n2, n3, e1, e2, e3 := graph.NewID(), graph.NewID(), graph.NewID(), graph.NewID(), graph.NewID(), graph.NewID(), graph.NewID()
	e.push("alpha", workflowOp(wf, 0, 1, 1, "W"), nodeOp(wf, n1, 0, 1, 1, "n1"), nodeOp(wf, n2, 0, 1, 1, "n2"),
		nodeOp(wf, n3, 0, 1, 1, "n3"), edgeOp(wf, e1, n1, n2, 0, 1, 1), edgeOp(wf, e2, n2, n3, 0, 1, 1))

	// Deleting n1 deletes e1, which the deleting device did not know.
	wantAck(t, e.push("alpha", deleteOp(syncproto.EntityNode, wf, n1, 1, 2, 5))[0], syncproto.Applied, 2)
	state := e.latest("alpha")
	if c := state[e1]; !c.Deleted || c.Version != 2 || c.Data != nil || len(c.Overwrote) != 1 {
		t.Fatalf("edge of the deleted node: %+v, want deleted at version 2", c)
	}
	if state[e2].Deleted || state[n2].Deleted {
		t.Fatal("deleting n1 deleted more than its edges")
	}
	// An edge to n1 arriving later loses to its deletion, as a tombstone;
	// a replay gets the same ack.
	late := edgeOp(wf, e3, n3, n1, 0, 3, 6)
	first := e.pushRaw("alpha", late)
	var resp syncproto.PushResponse
	json.Unmarshal(first, &resp)
	a := resp.Acks[0]
	wantAck(t, a, syncproto.Superseded, 3)
	if a.Current == nil || !a.Current.Deleted || a.Current.EntityID != e3 {
		t.Fatalf("a hanging edge's ack: %+v, want its tombstone", a)
	}
	if c := e.latest("alpha")[e3]; !c.Deleted || c.Version != 3 {
		t.Fatalf("the hanging edge on the server: %+v, want a tombstone", c)
	}
	if again := e.pushRaw("alpha", late); !bytes.Equal(again, first) {
		t.Fatalf("replayed: %s, first %s", again, first)
	}

	// Deleting the workflow deletes what is left of it, in the same batch
	// as a node created just before; a node written afterwards loses.
	n4, n5 := graph.NewID(), graph.NewID()
	acks := e.push("alpha", nodeOp(wf, n4, 0, 1, 7, "n4"), deleteOp(syncproto.EntityWorkflow, wf, wf, 1, 2, 8))
	wantAck(t, acks[1], syncproto.Applied, 2)
	for id, c := range e.latest("alpha") {
		if !c.Deleted {
			t.Errorf("%s %s is live after its workflow's deletion", c.Entity, id)
		}
	}
	wantAck(t, e.push("alpha", nodeOp(wf, n5, 0, 1, 9, "n5"))[0], syncproto.Superseded, 1)
	wantAck(t, e.push("alpha", nodeOp(wf, n2, 1, 5, 9, "n2 edited offline"))[0], syncproto.Superseded, 2)
	if c := e.latest("alpha")[n2]; !c.Deleted {
		t.Fatalf("a node edited after its workflow's deletion is live: %+v", c)
	}
}

// A write made without having seen the state it replaces names the op it
// overwrote, so that op's device can tell its user; a write made on the
// current state names none.
func testOverwrote(t *testing.T, open Opener) {
	e := newEnv(t, open)
	wf, n := graph.NewID(), graph.NewID()
	e.push("alpha", workflowOp(wf, 0, 1, 1, "W"), nodeOp(wf, n, 0, 1, 1, "n"))
	a := nodeOp(wf, n, 1, 2, 2, "A, offline")
	b := nodeOp(wf, n, 1, 3, 3, "B, offline, twice")
	wantAck(t, e.push("alpha", a)[0], syncproto.Applied, 2)
	if c := e.latest("alpha")[n]; len(c.Overwrote) != 0 {
		t.Fatalf("a write on the current state overwrote %q", c.Overwrote)
	}
	wantAck(t, e.push("alpha", b)[0], syncproto.Applied, 3)
	if c := e.latest("alpha")[n]; !slices.Equal(c.Overwrote, []string{a.ID}) {
		t.Fatalf("B's write overwrote %q, want A's op %s", c.Overwrote, a.ID)
	}
	// Another write made on the version before both names both.
	d := nodeOp(wf, n, 1, 5, 5, "D, offline too")
	wantAck(t, e.push("alpha", d)[0], syncproto.Applied, 5)
	if c := e.latest("alpha")[n]; !slices.Equal(c.Overwrote, []string{a.ID, b.ID}) {
		t.Fatalf("D's write overwrote %q, want A's and B's ops %s %s", c.Overwrote, a.ID, b.ID)
	}
	wantAck(t, e.push("alpha", nodeOp(wf, n, 5, 6, 6, "C, after pulling"))[0], syncproto.Applied, 6)
	if c := e.latest("alpha")[n]; len(c.Overwrote) != 0 {
		t.Fatalf("a write on the current state overwrote %q", c.Overwrote)
	}
}

func testPagination(t *testing.T, open Opener) {
	e := newEnv(t, open)
	wf := graph.NewID()
	var ops []syncproto.Op
	for i := 0; i < 250; i++ {
		ops = append(ops, nodeOp(wf, graph.NewID(), 0, 1, int64(i), "n"))
	}
	e.push("alpha", ops...)
	cursor := int64(0)
	for page, want := range []struct {
		n    int
		more bool
	}{{100, true}, {100, true}, {50, false}} {
		p := e.pull("alpha", "limit=100&cursor="+itoa(cursor))
		if len(p.Changes) != want.n || p.More != want.more {
			t.Fatalf("page %d: %d changes, more %v; want %d, %v", page, len(p.Changes), p.More, want.n, want.more)
		}
		for i, c := range p.Changes {
			if c.Seq != cursor+int64(i)+1 || c.EntityID != ops[cursor+int64(i)].EntityID {
				t.Fatalf("page %d change %d: seq %d, entity %s", page, i, c.Seq, c.EntityID)
			}
		}
		cursor = p.Cursor
	}
	if p := e.pull("alpha", ""); len(p.Changes) != syncproto.DefaultPullMax || !p.More {
		t.Fatalf("default limit: %d changes, more %v", len(p.Changes), p.More)
	}
	if p := e.pull("alpha", "limit=1000"); len(p.Changes) != 250 || p.More || p.Cursor != 250 {
		t.Fatalf("limit 1000: %d changes, more %v, cursor %d", len(p.Changes), p.More, p.Cursor)
	}
	// An entity changed again moves behind the others, once.
	e.push("alpha", nodeOp(wf, ops[0].EntityID, 1, 2, 999, "n again"))
	all := e.pullAll("alpha", 100)
	if len(all) != 151 || all[150].EntityID != ops[0].EntityID || all[150].Seq != 251 {
		t.Fatalf("after an update: %d changes, last %+v", len(all), all[len(all)-1])
	}
}

func testPageBytes(t *testing.T, open Opener) {
	const pageBytes = 2000
	e := newEnv(t, open, func(o *server.Options) { o.MaxPullBytes = pageBytes })
	wf := graph.NewID()
	var ops []syncproto.Op
	for i := 0; i < 60; i++ {
		ops = append(ops, nodeOp(wf, graph.NewID(), 0, 1, int64(i), strings.Repeat("t", 100)))
	}
	big := nodeOp(wf, graph.NewID(), 0, 1, 99, strings.Repeat("b", 400))
	big.Data = nodeData(wf, big.EntityID, strings.Repeat("b", graph.MaxTitleLen), 1, 99)
	for len(big.Data) <= pageBytes {
		var n graph.Node
		json.Unmarshal(big.Data, &n)
		n.Config = json.RawMessage(`"` + strings.Repeat("c", 2*pageBytes) + `"`)
		big.Data, _ = json.Marshal(n)
	}
	ops = append(ops[:30], append([]syncproto.Op{big}, ops[30:]...)...)
	e.push("alpha", ops...)
	cursor, pages, seen := int64(0), 0, 0
	for {
		p := e.pull("alpha", "limit=1000&cursor="+itoa(cursor))
		pages++
		size := 0
		for _, c := range p.Changes {
			size += len(c.Data)
		}
		if len(p.Changes) > 1 && size > pageBytes {
			t.Fatalf("page of %d changes has %d bytes of data", len(p.Changes), size)
		}
		seen += len(p.Changes)
		cursor = p.Cursor
		if !p.More {
			break
		}
	}
	if seen != len(ops) || pages < 4 {
		t.Fatalf("%d changes in %d pages, want %d in several", seen, pages, len(ops))
	}
}

func testAuth(t *testing.T, open Opener) {
	e := newEnv(t, open)
	hash := "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
	for _, r := range []struct {
		method, route string
		body          any
	}{
		{"POST", syncproto.RoutePush, syncproto.PushRequest{Ops: []syncproto.Op{nodeOp(graph.NewID(), graph.NewID(), 0, 1, 1, "n")}}},
		{"GET", syncproto.RoutePull, nil},
		{"POST", syncproto.RouteBlobCheck, syncproto.BlobCheckRequest{Hashes: []string{hash}}},
		{"POST", syncproto.RouteBlobUpload, syncproto.BlobURLRequest{Hash: hash}},
		{"POST", syncproto.RouteBlobDownload, syncproto.BlobURLRequest{Hash: hash}},
	} {
		path := route(r.route, "alpha")
		res := e.do(r.method, path, "", r.body)
		wantStatus(t, "no token: "+path, res, http.StatusUnauthorized, "Unauthorized")
		if !strings.HasPrefix(res.header.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("401 without WWW-Authenticate: %v", res.header)
		}
		wantStatus(t, "unknown token: "+path, e.do(r.method, path, "nope", r.body), http.StatusUnauthorized, "Unauthorized")
		wantStatus(t, "another workspace's token: "+path, e.do(r.method, path, tokenOf("beta"), r.body), http.StatusForbidden, "Forbidden")
		wantStatus(t, "a valid token for a workspace not in the path: "+path,
			e.do(r.method, route(r.route, "nobody"), tokenOf("alpha"), r.body), http.StatusForbidden, "Forbidden")
	}
	req, _ := http.NewRequest("GET", e.srv.URL+route(syncproto.RoutePull, "alpha"), nil)
	req.Header.Set("Authorization", "Basic "+tokenOf("alpha"))
	req.Header.Set(syncproto.ProtocolHeader, syncproto.Protocol)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("Basic auth: %d", resp.StatusCode)
	}
	if head(t, e.store, "alpha") != 0 {
		t.Fatal("an unauthorized push was applied")
	}
	wantStatus(t, "unknown route", e.do("GET", "/v1/nothing", tokenOf("alpha"), nil), http.StatusNotFound, "NotFound")
}

func testIsolation(t *testing.T, open Opener) {
	e := newEnv(t, open)
	wf, x := graph.NewID(), graph.NewID()
	op := nodeOp(wf, x, 0, 5, 100, "alpha's")
	wantAck(t, e.push("alpha", op)[0], syncproto.Applied, 5)
	if p := e.pull("beta", ""); len(p.Changes) != 0 {
		t.Fatalf("beta sees alpha's changes: %+v", p.Changes)
	}
	// The same op id and entity id in beta are beta's own: the op applies
	// afresh, and an older write applies too, as nothing is stored there.
	wantAck(t, e.push("beta", op)[0], syncproto.Applied, 5)
	older := nodeOp(wf, x, 0, 1, 1, "beta's")
	wantAck(t, e.push("beta", older)[0], syncproto.Superseded, 5)
	other := graph.NewID()
	wantAck(t, e.push("beta", nodeOp(wf, other, 0, 1, 1, "b"))[0], syncproto.Applied, 1)
	if _, ok := e.latest("alpha")[other]; ok {
		t.Fatal("alpha sees beta's entity")
	}
	if head(t, e.store, "alpha") != 1 || head(t, e.store, "beta") != 2 {
		t.Fatalf("seqs: alpha %d, beta %d; want 1, 2", head(t, e.store, "alpha"), head(t, e.store, "beta"))
	}
}

func testMalformedPush(t *testing.T, open Opener) {
	e := newEnv(t, open)
	path, tok := route(syncproto.RoutePush, "alpha"), tokenOf("alpha")
	wf := graph.NewID()
	good := []syncproto.Op{nodeOp(wf, graph.NewID(), 0, 1, 1, "a"), nodeOp(wf, graph.NewID(), 0, 1, 1, "b")}
	bad := nodeOp(wf, graph.NewID(), 3, 3, 1, "version not above base")
	dup := []syncproto.Op{good[0], good[0]}
	var tooMany []syncproto.Op
	for i := 0; i <= syncproto.MaxOpsPerPush; i++ {
		tooMany = append(tooMany, nodeOp(wf, graph.NewID(), 0, 1, 1, "n"))
	}
	for _, tc := range []struct {
		name string
		body any
	}{
		{"not JSON", []byte(`{"ops":[`)},
		{"null", []byte(`null`)},
		{"wrong type", []byte(`{"ops":"many"}`)},
		{"trailing data", append(mustJSON(t, syncproto.PushRequest{Ops: good}), []byte(`{}`)...)},
		{"empty batch", syncproto.PushRequest{}},
		{"an invalid op among valid ones", syncproto.PushRequest{Ops: []syncproto.Op{good[0], bad, good[1]}}},
		{"a repeated op id", syncproto.PushRequest{Ops: dup}},
		{"too many ops", syncproto.PushRequest{Ops: tooMany}},
		// Data is stored as sent: text Go's decoder would read with
		// U+FFFD in place of some bytes is refused, not stored.
		{"invalid UTF-8 in data", bytes.Replace(mustJSON(t, syncproto.PushRequest{Ops: good}), []byte(`"title":"a"`), []byte("\"title\":\"a\xff\xfe\""), 1)},
		{"invalid UTF-8 elsewhere", bytes.Replace(mustJSON(t, syncproto.PushRequest{Ops: good}), []byte(`"tab":"t1"`), []byte("\"tab\":\"\xff\""), 1)},
		{"a lone surrogate in data", bytes.Replace(mustJSON(t, syncproto.PushRequest{Ops: good}), []byte(`"title":"a"`), []byte(`"title":"a\ud800"`), 1)},
	} {
		wantStatus(t, tc.name, e.do("POST", path, tok, tc.body), http.StatusBadRequest, "Invalid")
	}
	huge := bytes.Repeat([]byte(" "), syncproto.MaxPushBytes+1)
	wantStatus(t, "too large", e.do("POST", path, tok, huge), http.StatusRequestEntityTooLarge, "TooLarge")
	wantStatus(t, "too large, chunked", e.do("POST", path, tok, bytes.NewBuffer(huge)), http.StatusRequestEntityTooLarge, "TooLarge")
	// Ops of about 1 MiB each: valid alone, too large together.
	var heavy []syncproto.Op
	for i := 0; i < 5; i++ {
		op := nodeOp(wf, graph.NewID(), 0, 1, 1, "heavy")
		var n graph.Node
		json.Unmarshal(op.Data, &n)
		n.Config = json.RawMessage(`"` + strings.Repeat("x", graph.MaxJSONBytes-10) + `"`)
		op.Data, _ = json.Marshal(n)
		heavy = append(heavy, op)
	}
	wantStatus(t, "too large in total", e.do("POST", path, tok, syncproto.PushRequest{Ops: heavy}), http.StatusRequestEntityTooLarge, "TooLarge")

	if head(t, e.store, "alpha") != 0 || len(e.pull("alpha", "").Changes) != 0 {
		t.Fatal("a refused push was applied")
	}
	// Nothing of the refused batches was recorded: the same ops apply now.
	for _, a := range e.push("alpha", good...) {
		wantAck(t, a, syncproto.Applied, 1)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testMalformedPull(t *testing.T, open Opener) {
	e := newEnv(t, open)
	for _, q := range []string{"cursor=-1", "cursor=x", "cursor=", "cursor=1.5", "limit=0", "limit=-3",
		"limit=1001", "limit=x", "limit=", "cursor=99999999999999999999"} {
		r := e.do("GET", route(syncproto.RoutePull, "alpha")+"?"+q, tokenOf("alpha"), nil)
		wantStatus(t, "pull?"+q, r, http.StatusBadRequest, "Invalid")
	}
}

// testVersionBounds pushes versions at and past syncproto.MaxSafeInt, the
// largest a JavaScript client represents: past it they are refused on
// input, and a write or a cascading deletion that would take a version
// past it is refused (400) with nothing of its batch stored.
func testVersionBounds(t *testing.T, open Opener) {
	e := newEnv(t, open)
	const top = syncproto.MaxSafeInt
	path, tok := route(syncproto.RoutePush, "alpha"), tokenOf("alpha")
	wf, a, b, edge := graph.NewID(), graph.NewID(), graph.NewID(), graph.NewID()

	for name, op := range map[string]syncproto.Op{
		"version 2^53":    nodeOp(wf, a, 0, top+1, 1, "a"),
		"version MaxInt":  nodeOp(wf, a, top-1, math.MaxInt64, 1, "a"),
		"updatedAt 2^53":  nodeOp(wf, a, 0, 1, top+1, "a"),
		"updatedAt -2^53": nodeOp(wf, a, 0, 1, -top-1, "a"),
	} {
		wantStatus(t, name, e.do("POST", path, tok, syncproto.PushRequest{Ops: []syncproto.Op{op}}), http.StatusBadRequest, "Invalid")
	}
	acks := e.push("alpha", workflowOp(wf, 0, 1, 1, "w"), nodeOp(wf, a, 0, top, 1, "a"), nodeOp(wf, b, 0, 1, 1, "b"),
		edgeOp(wf, edge, a, b, 0, top, 1))
	wantAck(t, acks[1], syncproto.Applied, top)
	wantAck(t, acks[3], syncproto.Applied, top)
	before := head(t, e.store, "alpha")

	// A concurrent write that wins over the node at the top version would
	// need the next one.
	tie := nodeOp(wf, a, 0, top, 2, "later")
	fresh := nodeOp(wf, b, 1, 2, 2, "b moved")
	r := e.do("POST", path, tok, syncproto.PushRequest{Ops: []syncproto.Op{fresh, tie}})
	wantStatus(t, "a write past the top version", r, http.StatusBadRequest, "Invalid")
	// Deleting node b would bury the edge at the next version.
	del := deleteOp(syncproto.EntityNode, wf, b, 1, 2, 3)
	r = e.do("POST", path, tok, syncproto.PushRequest{Ops: []syncproto.Op{del}})
	wantStatus(t, "a cascade past the top version", r, http.StatusBadRequest, "Invalid")
	if !strings.Contains(string(r.body), edge) {
		t.Fatalf("the refusal does not name the edge: %s", r.body)
	}
	if got := head(t, e.store, "alpha"); got != before {
		t.Fatalf("refused batches moved the seq from %d to %d", before, got)
	}
	for _, c := range e.latest("alpha") {
		if c.Version > top || c.Version < 0 || c.Deleted {
			t.Fatalf("stored %+v", c)
		}
	}
	// The batch's other op applies once alone, and so does a write that
	// loses to the top version.
	wantAck(t, e.push("alpha", fresh)[0], syncproto.Applied, 2)
	wantAck(t, e.push("alpha", nodeOp(wf, a, 0, top, 0, "earlier"))[0], syncproto.Superseded, top)

	r = e.do("GET", route(syncproto.RoutePull, "alpha")+"?cursor=9007199254740992", tok, nil)
	wantStatus(t, "pull past 2^53-1", r, http.StatusBadRequest, "Invalid")
}

// A client of another protocol version (the first sent no version) is
// refused with 426 before anything is read or stored; every answer of a
// sync route names the server's version.
func testProtocolVersion(t *testing.T, open Opener) {
	e := newEnv(t, open)
	wf := graph.NewID()
	ok := e.do("POST", route(syncproto.RoutePush, "alpha"), tokenOf("alpha"), syncproto.PushRequest{Ops: []syncproto.Op{workflowOp(wf, 0, 1, 1, "W")}})
	wantStatus(t, "push", ok, http.StatusOK, "")
	if v := ok.header.Get(syncproto.ProtocolHeader); v != syncproto.Protocol {
		t.Fatalf("push answered with %s %q", syncproto.ProtocolHeader, v)
	}
	seq := head(t, e.store, "alpha")
	e.protocol = "-"
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{"POST", route(syncproto.RoutePush, "alpha"), syncproto.PushRequest{Ops: []syncproto.Op{nodeOp(wf, graph.NewID(), 0, 1, 2, "n")}}},
		{"GET", route(syncproto.RoutePull, "alpha") + "?cursor=0", nil},
		{"GET", route(syncproto.RouteWatch, "alpha") + "?after=0&wait=1", nil},
	} {
		resp := e.do(r.method, r.path, tokenOf("alpha"), r.body)
		wantStatus(t, r.method+" "+r.path+" of protocol 1", resp, http.StatusUpgradeRequired, "Protocol")
		if v := resp.header.Get(syncproto.ProtocolHeader); v != syncproto.Protocol {
			t.Fatalf("the refusal names version %q", v)
		}
		// Without a token, still 401 first.
		wantStatus(t, "no token", e.do(r.method, r.path, "", r.body), http.StatusUnauthorized, "Unauthorized")
	}
	if got := head(t, e.store, "alpha"); got != seq {
		t.Fatalf("a refused push moved the seq from %d to %d", seq, got)
	}
}
