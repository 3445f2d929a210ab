//go:build js && wasm

package idb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
)

func mustWorkflow(t *testing.T, d *DB, name string) graph.Workflow {
	t.Helper()
	w, err := d.CreateWorkflow(testCtx(t), name)
	if err != nil {
		t.Fatalf("CreateWorkflow(%q): %v", name, err)
	}
	return w
}

func someNodes(n int) []graph.Node {
	nodes := make([]graph.Node, n)
	for i := range nodes {
		nodes[i] = graph.Node{
			Type:     "image-gen",
			Title:    "Node",
			Status:   "idle",
			Position: graph.Position{X: float64(i * 10), Y: float64(i) * 2.5},
			Size:     &graph.Size{Width: 240, Height: 160},
			Config:   json.RawMessage(`{"prompt":"a lighthouse at dusk","steps":30,"seed":42}`),
		}
	}
	return nodes
}

func TestOpenCreatesSchema(t *testing.T) {
	d := newDB(t, nil)
	got := append([]string(nil), d.conn.StoreNames()...)
	want := []string{"assets", "blobmeta", "blobs", "edges", "handles", "kv", "nodes", "oplog", "workflows"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("stores %v, want %v", got, want)
	}
	v, err := d.schemaVersion(testCtx(t))
	if err != nil || v != len(migrations) {
		t.Fatalf("schemaVersion = %d, %v; want %d", v, err, len(migrations))
	}
	// The index on workflowId is there and used by Nodes.
	err = d.View(testCtx(t), func(tx *Tx) error {
		_, err := tx.tx.GetAll(storeNodes, indexWorkflowID, graph.NewID())
		return err
	})
	if err != nil {
		t.Fatalf("index workflowId: %v", err)
	}
}

func TestOpenRejectsEmptyName(t *testing.T) {
	_, err := Open(testCtx(t), "", nil)
	if !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("Open(\"\") = %v, want ErrInvalid", err)
	}
}

func TestWorkflowLifecycle(t *testing.T) {
	ctx := testCtx(t)
	d := newDB(t, nil)
	a := mustWorkflow(t, d, "Alpha")
	if !graph.ValidID(a.ID) || a.Version != 1 || a.UpdatedAt == 0 || a.CreatedAt != a.UpdatedAt || a.Viewport != graph.DefaultViewport {
		t.Fatalf("created workflow %+v", a)
	}
	b := mustWorkflow(t, d, "Beta")

	renamed, err := d.UpdateWorkflow(ctx, a.ID, graph.WorkflowPatch{Name: new("Alpha 2")})
	if err != nil {
		t.Fatal(err)
	}
	if renamed.Name != "Alpha 2" || renamed.Version != 2 || renamed.UpdatedAt <= a.UpdatedAt || renamed.CreatedAt != a.CreatedAt {
		t.Fatalf("renamed %+v (was %+v)", renamed, a)
	}
	vp := graph.Viewport{X: -120.5, Y: 33, Zoom: 1.75}
	moved, err := d.UpdateWorkflow(ctx, a.ID, graph.WorkflowPatch{Viewport: new(vp)})
	if err != nil || moved.Viewport != vp || moved.Version != 3 {
		t.Fatalf("SetViewport: %+v, %v", moved, err)
	}
	// Setting the same viewport again changes nothing: no new version.
	same, err := d.UpdateWorkflow(ctx, a.ID, graph.WorkflowPatch{Viewport: new(vp)})
	if err != nil || same.Version != 3 {
		t.Fatalf("unchanged SetViewport bumped the version: %+v, %v", same, err)
	}

	list, err := d.ListWorkflows(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != a.ID || list[1].ID != b.ID {
		t.Fatalf("list (most recent first) = %+v", list)
	}

	nodes, err := d.SetNodes(ctx, a.ID, someNodes(3))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetEdges(ctx, a.ID, []graph.Edge{{Source: nodes[0].ID, Target: nodes[1].ID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetNodes(ctx, b.ID, someNodes(2)); err != nil {
		t.Fatal(err)
	}

	if err := d.DeleteWorkflow(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.LoadWorkflow(ctx, a.ID); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("load deleted workflow: %v", err)
	}
	// The cascade removed a's nodes and edges and left b's alone.
	snap := snapshot(t, d)
	if len(snap[storeNodes]) != 2 || len(snap[storeEdges]) != 0 || len(snap[storeWorkflows]) != 1 {
		t.Fatalf("after delete: %d workflows, %d nodes, %d edges", len(snap[storeWorkflows]), len(snap[storeNodes]), len(snap[storeEdges]))
	}
	if err := d.DeleteWorkflow(ctx, a.ID); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestLoadWorkflowRoundTrip(t *testing.T) {
	ctx := testCtx(t)
	d := newDB(t, nil)
	w := mustWorkflow(t, d, "Round trip")
	in := someNodes(4)
	in[0].Result = &graph.Result{
		Text:      "done",
		Asset:     &assetref.Ref{Kind: assetref.KindOPFS, Path: "atelier/assets/image/" + graph.NewID(), MIME: "image/png", Bytes: 12345, Hash: assetref.HashBytes([]byte("png"))},
		Thumbnail: "data:image/png;base64,iVBORw0KGgo=",
		Data:      json.RawMessage(`{"w":512,"h":512}`),
	}
	in[1].Size = nil
	in[1].Position = graph.Position{X: 0.1, Y: -1e-7}
	in[2].Title = "Ünïcødé ✓"
	in[3].Config = nil
	stored, err := d.SetNodes(ctx, w.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	edges, err := d.SetEdges(ctx, w.ID, []graph.Edge{
		{Source: stored[0].ID, Target: stored[1].ID, SourceHandle: "out", TargetHandle: "in"},
		{Source: stored[1].ID, Target: stored[2].ID},
	})
	if err != nil {
		t.Fatal(err)
	}
	g, err := d.LoadWorkflow(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if g.Workflow.ID != w.ID || g.Workflow.Name != "Round trip" {
		t.Fatalf("workflow %+v", g.Workflow)
	}
	if len(g.Nodes) != 4 || len(g.Edges) != 2 {
		t.Fatalf("loaded %d nodes, %d edges", len(g.Nodes), len(g.Edges))
	}
	for i := range stored {
		if !equalJSON(t, g.Nodes[i], stored[i]) {
			t.Errorf("node %d:\nloaded %s\nstored %s", i, mustJSON(t, g.Nodes[i]), mustJSON(t, stored[i]))
		}
	}
	for i := range edges {
		if g.Edges[i] != edges[i] {
			t.Errorf("edge %d: loaded %+v, stored %+v", i, g.Edges[i], edges[i])
		}
	}
}

// TestBulkWriteRoundTrip: a write of several chunks (see writeChunk)
// stores every node's own body, as new records and as replaced ones.
func TestBulkWriteRoundTrip(t *testing.T) {
	ctx := testCtx(t)
	d := newDB(t, nil)
	w := mustWorkflow(t, d, "Bulk")
	in := someNodes(3*writeChunk + 7)
	for i := range in {
		in[i].Title = fmt.Sprintf("Node %d", i)
		in[i].Config = json.RawMessage(fmt.Sprintf(`{"seed":%d,"prompt":%q}`, i, strings.Repeat("x", i%97)))
	}
	check := func(stored []graph.Node) {
		t.Helper()
		g, err := d.LoadWorkflow(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		byID := make(map[string]graph.Node, len(g.Nodes))
		for _, n := range g.Nodes {
			byID[n.ID] = n
		}
		if len(byID) != len(stored) {
			t.Fatalf("loaded %d nodes, stored %d", len(byID), len(stored))
		}
		for i, n := range stored {
			if !equalJSON(t, byID[n.ID], n) {
				t.Fatalf("node %d:\nloaded %s\nstored %s", i, mustJSON(t, byID[n.ID]), mustJSON(t, n))
			}
		}
	}
	stored, err := d.SetNodes(ctx, w.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	check(stored)
	// Change every other node: replaced records among unchanged ones.
	for i := 0; i < len(stored); i += 2 {
		stored[i].Position.X += 1
		stored[i].Title += " (moved)"
	}
	again, err := d.SetNodes(ctx, w.ID, stored)
	if err != nil {
		t.Fatal(err)
	}
	for i := range again {
		if want := stored[i].Version + int64(1-i%2); again[i].Version != want {
			t.Fatalf("node %d: version %d, want %d", i, again[i].Version, want)
		}
	}
	check(again)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func equalJSON(t *testing.T, a, b any) bool { return mustJSON(t, a) == mustJSON(t, b) }

func TestSetNodesWritesOnlyChanges(t *testing.T) {
	ctx := testCtx(t)
	d := newDB(t, nil)
	w := mustWorkflow(t, d, "Diff")
	nodes, err := d.SetNodes(ctx, w.ID, someNodes(5))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n.Version != 1 || n.WorkflowID != w.ID || !graph.ValidID(n.ID) {
			t.Fatalf("new node %+v", n)
		}
	}
	edges, err := d.SetEdges(ctx, w.ID, []graph.Edge{
		{Source: nodes[0].ID, Target: nodes[4].ID},
		{Source: nodes[1].ID, Target: nodes[2].ID},
	})
	if err != nil {
		t.Fatal(err)
	}

	// Same set again: nothing changes.
	before := snapshot(t, d)
	again, err := d.SetNodes(ctx, w.ID, nodes)
	if err != nil {
		t.Fatal(err)
	}
	sameSnapshot(t, before, snapshot(t, d))
	for i := range again {
		if again[i].Version != 1 || again[i].UpdatedAt != nodes[i].UpdatedAt {
			t.Fatalf("unchanged node %d rewritten: %+v", i, again[i])
		}
	}

	// Change one node, drop another: only the changed one gets version 2,
	// the dropped one disappears with its edge.
	next := append([]graph.Node(nil), nodes[:4]...)
	next[2].Title = "Changed"
	out, err := d.SetNodes(ctx, w.ID, next)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range out {
		want := int64(1)
		if i == 2 {
			want = 2
		}
		if n.Version != want {
			t.Errorf("node %d version %d, want %d", i, n.Version, want)
		}
	}
	g, err := d.LoadWorkflow(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Nodes) != 4 || len(g.Edges) != 1 || g.Edges[0].ID != edges[1].ID {
		t.Fatalf("after SetNodes: %d nodes, edges %+v", len(g.Nodes), g.Edges)
	}
	if g.Nodes[2].Title != "Changed" {
		t.Fatalf("title %q", g.Nodes[2].Title)
	}
}

func TestNodeUpdates(t *testing.T) {
	ctx := testCtx(t)
	d := newDB(t, nil)
	w := mustWorkflow(t, d, "Updates")
	nodes, err := d.SetNodes(ctx, w.ID, someNodes(2))
	if err != nil {
		t.Fatal(err)
	}
	n := nodes[0]

	pos, size := graph.Position{X: 500, Y: -20.25}, graph.Size{Width: 10, Height: 0}
	got, err := d.UpdateNode(ctx, w.ID, n.ID, graph.NodePatch{Position: &pos, Size: &size})
	if err != nil {
		t.Fatal(err)
	}
	if got.Position != pos || *got.Size != size || got.Version != 2 {
		t.Fatalf("dimensions: %+v", got)
	}
	// Position only keeps the size.
	pos2 := graph.Position{X: 1, Y: 1}
	if got, err = d.UpdateNode(ctx, w.ID, n.ID, graph.NodePatch{Position: &pos2, Size: nil}); err != nil || *got.Size != size || got.Version != 3 {
		t.Fatalf("position only: %+v, %v", got, err)
	}

	cfg := json.RawMessage(`{"prompt":"new"}`)
	if got, err = d.UpdateNode(ctx, w.ID, n.ID, graph.NodePatch{Config: cfg}); err != nil || string(got.Config) != string(cfg) || got.Version != 4 {
		t.Fatalf("config: %+v, %v", got, err)
	}
	res := &graph.Result{Text: "ok", Asset: &assetref.Ref{Kind: assetref.KindURL, URL: "https://example.com/a.png", MIME: "image/png"}}
	if got, err = d.UpdateNode(ctx, w.ID, n.ID, graph.NodePatch{Result: res}); err != nil || got.Result == nil || got.Result.Asset.URL != res.Asset.URL || got.Version != 5 {
		t.Fatalf("result: %+v, %v", got, err)
	}
	if got, err = d.UpdateNode(ctx, w.ID, n.ID, graph.NodePatch{ClearResult: true}); err != nil || got.Result != nil || got.Version != 6 {
		t.Fatalf("clear result: %+v, %v", got, err)
	}
	status := "running"
	if got, err = d.UpdateNode(ctx, w.ID, n.ID, graph.NodePatch{Status: &status}); err != nil || got.Status != "running" || got.Version != 7 {
		t.Fatalf("status: %+v, %v", got, err)
	}
	// The other node was never touched.
	g, err := d.LoadWorkflow(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if g.Nodes[1].Version != 1 || !equalJSON(t, g.Nodes[0], got) {
		t.Fatalf("loaded %+v", g.Nodes)
	}
}

func TestCompareAndSet(t *testing.T) {
	ctx := testCtx(t)
	d := newDB(t, nil)
	w := mustWorkflow(t, d, "CAS")
	nodes, err := d.SetNodes(ctx, w.ID, someNodes(1))
	if err != nil {
		t.Fatal(err)
	}
	n := nodes[0]
	pos := graph.Position{X: 9, Y: 9}
	if _, err := d.UpdateNode(ctx, w.ID, n.ID, graph.NodePatch{Position: &pos, Size: nil}, IfVersion(1)); err != nil {
		t.Fatalf("CAS at the right version: %v", err)
	}
	before := snapshot(t, d)
	pos.X = 10
	_, err = d.UpdateNode(ctx, w.ID, n.ID, graph.NodePatch{Position: &pos, Size: nil}, IfVersion(1))
	var ce *ConflictError
	if !errors.Is(err, errs.ErrVersionConflict) || !errors.As(err, &ce) || ce.Expected != 1 || ce.Actual != 2 {
		t.Fatalf("stale CAS: %v", err)
	}
	if _, err := d.UpdateWorkflow(ctx, w.ID, graph.WorkflowPatch{Name: new("x")}, IfVersion(7)); !errors.Is(err, errs.ErrVersionConflict) {
		t.Fatalf("stale workflow CAS: %v", err)
	}
	if err := d.DeleteWorkflow(ctx, w.ID, IfVersion(2)); !errors.Is(err, errs.ErrVersionConflict) {
		t.Fatalf("stale delete CAS: %v", err)
	}
	sameSnapshot(t, before, snapshot(t, d))
}

// TestBadInputWritesNothing: every kind of bad input gets a typed error and
// leaves the database exactly as it was.
func TestBadInputWritesNothing(t *testing.T) {
	ctx := testCtx(t)
	d := newDB(t, nil)
	w := mustWorkflow(t, d, "Guarded")
	other := mustWorkflow(t, d, "Other")
	nodes, err := d.SetNodes(ctx, w.ID, someNodes(3))
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := d.SetNodes(ctx, other.ID, someNodes(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetEdges(ctx, w.ID, []graph.Edge{{Source: nodes[0].ID, Target: nodes[1].ID}}); err != nil {
		t.Fatal(err)
	}
	moreForeign, err := d.PutNodes(ctx, other.ID, []graph.Node{{Type: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	foreignEdges, err := d.SetEdges(ctx, other.ID, []graph.Edge{{Source: foreign[0].ID, Target: moreForeign[0].ID}})
	if err != nil {
		t.Fatal(err)
	}
	unknown := graph.NewID()
	nan := math.NaN()
	withNode := func(mut func(n *graph.Node)) []graph.Node {
		ns := append([]graph.Node(nil), nodes...)
		mut(&ns[1])
		return ns
	}

	for _, tc := range []struct {
		name string
		want error
		call func() error
	}{
		{"rename unknown workflow", errs.ErrNotFound, func() error {
			_, err := d.UpdateWorkflow(ctx, unknown, graph.WorkflowPatch{Name: new("x")})
			return err
		}},
		{"rename to empty", errs.ErrInvalid, func() error { _, err := d.UpdateWorkflow(ctx, w.ID, graph.WorkflowPatch{Name: new(" ")}); return err }},
		{"rename too long", errs.ErrInvalid, func() error {
			_, err := d.UpdateWorkflow(ctx, w.ID, graph.WorkflowPatch{Name: new(strings.Repeat("x", graph.MaxNameLen+1))})
			return err
		}},
		{"create with empty name", errs.ErrInvalid, func() error { _, err := d.CreateWorkflow(ctx, ""); return err }},
		{"malformed workflow id", errs.ErrInvalid, func() error { _, err := d.UpdateWorkflow(ctx, "abc", graph.WorkflowPatch{Name: new("x")}); return err }},
		{"viewport zoom 0", errs.ErrInvalid, func() error {
			_, err := d.UpdateWorkflow(ctx, w.ID, graph.WorkflowPatch{Viewport: new(graph.Viewport{})})
			return err
		}},
		{"viewport NaN", errs.ErrInvalid, func() error {
			_, err := d.UpdateWorkflow(ctx, w.ID, graph.WorkflowPatch{Viewport: new(graph.Viewport{X: nan, Zoom: 1})})
			return err
		}},
		{"set nodes of unknown workflow", errs.ErrNotFound, func() error { _, err := d.SetNodes(ctx, unknown, someNodes(1)); return err }},
		{"set nodes with NaN", errs.ErrInvalid, func() error {
			_, err := d.SetNodes(ctx, w.ID, withNode(func(n *graph.Node) { n.Position.X = nan }))
			return err
		}},
		{"set nodes with Inf", errs.ErrInvalid, func() error {
			_, err := d.SetNodes(ctx, w.ID, withNode(func(n *graph.Node) { n.Position.Y = math.Inf(-1) }))
			return err
		}},
		{"set nodes with negative size", errs.ErrInvalid, func() error {
			_, err := d.SetNodes(ctx, w.ID, withNode(func(n *graph.Node) { n.Size = &graph.Size{Width: -1} }))
			return err
		}},
		{"set nodes with mismatched workflow id", errs.ErrInvalid, func() error {
			_, err := d.SetNodes(ctx, w.ID, withNode(func(n *graph.Node) { n.WorkflowID = other.ID }))
			return err
		}},
		{"set nodes with duplicate id", errs.ErrInvalid, func() error {
			_, err := d.SetNodes(ctx, w.ID, withNode(func(n *graph.Node) { n.ID = nodes[0].ID }))
			return err
		}},
		{"set nodes stealing another workflow's node", errs.ErrInvalid, func() error {
			_, err := d.SetNodes(ctx, w.ID, append(append([]graph.Node(nil), nodes...), graph.Node{ID: foreign[0].ID, Type: "x"}))
			return err
		}},
		{"set nodes stealing another workflow's node after chunks were handed over", errs.ErrInvalid, func() error {
			// write hands records to the database writeChunk at a time:
			// the stolen id comes after two chunks have been issued.
			many := append(append([]graph.Node(nil), nodes...), someNodes(3*writeChunk)...)
			many[2*writeChunk+7] = graph.Node{ID: foreign[0].ID, Type: "x"}
			_, err := d.SetNodes(ctx, w.ID, many)
			return err
		}},
		{"put node of another workflow", errs.ErrInvalid, func() error {
			n := foreign[0]
			n.WorkflowID = ""
			_, err := d.PutNodes(ctx, w.ID, []graph.Node{n})
			return err
		}},
		{"set nodes with invalid config", errs.ErrInvalid, func() error {
			_, err := d.SetNodes(ctx, w.ID, withNode(func(n *graph.Node) { n.Config = json.RawMessage("{") }))
			return err
		}},
		{"update unknown node", errs.ErrNotFound, func() error {
			_, err := d.UpdateNode(ctx, w.ID, unknown, graph.NodePatch{Position: &graph.Position{}, Size: nil})
			return err
		}},
		{"update node through the wrong workflow", errs.ErrInvalid, func() error {
			_, err := d.UpdateNode(ctx, other.ID, nodes[0].ID, graph.NodePatch{Position: &graph.Position{X: 1}, Size: nil})
			return err
		}},
		{"update position to NaN", errs.ErrInvalid, func() error {
			_, err := d.UpdateNode(ctx, w.ID, nodes[0].ID, graph.NodePatch{Position: &graph.Position{X: nan}, Size: nil})
			return err
		}},
		{"update size to negative", errs.ErrInvalid, func() error {
			_, err := d.UpdateNode(ctx, w.ID, nodes[0].ID, graph.NodePatch{Position: nil, Size: &graph.Size{Width: 1, Height: -5}})
			return err
		}},
		{"update config to invalid JSON", errs.ErrInvalid, func() error {
			_, err := d.UpdateNode(ctx, w.ID, nodes[0].ID, graph.NodePatch{Config: json.RawMessage("nope")})
			return err
		}},
		{"result with oversized thumbnail", errs.ErrInvalid, func() error {
			_, err := d.UpdateNode(ctx, w.ID, nodes[0].ID, graph.NodePatch{Result: &graph.Result{Thumbnail: "data:image/png;base64," + strings.Repeat("A", 20000)}})
			return err
		}},
		{"result with bad asset ref", errs.ErrInvalid, func() error {
			_, err := d.UpdateNode(ctx, w.ID, nodes[0].ID, graph.NodePatch{Result: &graph.Result{Asset: &assetref.Ref{Kind: assetref.KindOPFS, Path: "../etc"}}})
			return err
		}},
		{"delete unknown node among known ones", errs.ErrNotFound, func() error {
			return d.DeleteNodes(ctx, w.ID, nodes[0].ID, unknown)
		}},
		{"delete node through the wrong workflow", errs.ErrNotFound, func() error {
			return d.DeleteNodes(ctx, other.ID, nodes[0].ID)
		}},
		{"edge to a node of another workflow", errs.ErrInvalid, func() error {
			_, err := d.PutEdges(ctx, w.ID, []graph.Edge{{Source: nodes[0].ID, Target: foreign[0].ID}})
			return err
		}},
		{"set edges stealing another workflow's edge", errs.ErrInvalid, func() error {
			_, err := d.SetEdges(ctx, w.ID, []graph.Edge{{ID: foreignEdges[0].ID, Source: nodes[0].ID, Target: nodes[2].ID}})
			return err
		}},
		{"edge to nowhere", errs.ErrInvalid, func() error {
			_, err := d.SetEdges(ctx, w.ID, []graph.Edge{{Source: nodes[0].ID, Target: unknown}})
			return err
		}},
		{"edge with malformed endpoint", errs.ErrInvalid, func() error {
			_, err := d.PutEdges(ctx, w.ID, []graph.Edge{{Source: "a", Target: nodes[1].ID}})
			return err
		}},
		{"delete unknown edge", errs.ErrNotFound, func() error { return d.DeleteEdges(ctx, w.ID, unknown) }},
		{"delete unknown workflow", errs.ErrNotFound, func() error { return d.DeleteWorkflow(ctx, unknown) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, d)
			err := tc.call()
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			sameSnapshot(t, before, snapshot(t, d))
		})
	}
}

func TestCancelledContext(t *testing.T) {
	d := newDB(t, nil)
	w := mustWorkflow(t, d, "Ctx")
	before := snapshot(t, d)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.CreateWorkflow(ctx, "never"); !errors.Is(err, context.Canceled) {
		t.Fatalf("CreateWorkflow: %v", err)
	}
	if _, err := d.SetNodes(ctx, w.ID, someNodes(2)); !errors.Is(err, context.Canceled) {
		t.Fatalf("SetNodes: %v", err)
	}
	if err := d.Update(ctx, func(tx *Tx) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Update: %v", err)
	}
	if _, err := d.LoadWorkflow(ctx, w.ID); !errors.Is(err, context.Canceled) {
		t.Fatalf("LoadWorkflow: %v", err)
	}
	if _, err := d.ListWorkflows(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("ListWorkflows: %v", err)
	}
	sameSnapshot(t, before, snapshot(t, d))
}

// TestWriterCoalesces: 1,000 concurrent position updates land in far fewer
// transactions, every update gets its own version, and the stored state is
// the last write of each node.
func TestWriterCoalesces(t *testing.T) {
	ctx := testCtx(t)
	d := newDB(t, nil)
	w := mustWorkflow(t, d, "Burst")
	nodes, err := d.SetNodes(ctx, w.ID, someNodes(10))
	if err != nil {
		t.Fatal(err)
	}
	start := d.Stats()

	const updates = 1000
	type outcome struct {
		node    int
		x       float64
		version int64
		err     error
	}
	results := make(chan outcome, updates)
	var wg sync.WaitGroup
	for i := 0; i < updates; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			k := i % len(nodes)
			pos := graph.Position{X: float64(i), Y: -1} // never the initial position
			n, err := d.UpdateNode(ctx, w.ID, nodes[k].ID, graph.NodePatch{Position: &pos, Size: nil})
			results <- outcome{k, float64(i), n.Version, err}
		}(i)
	}
	wg.Wait()
	close(results)

	last := make([]outcome, len(nodes))
	versions := make([]map[int64]bool, len(nodes))
	for i := range versions {
		versions[i] = map[int64]bool{}
	}
	for r := range results {
		if r.err != nil {
			t.Fatalf("update: %v", r.err)
		}
		if versions[r.node][r.version] {
			t.Fatalf("node %d: version %d given to two updates", r.node, r.version)
		}
		versions[r.node][r.version] = true
		if r.version > last[r.node].version {
			last[r.node] = r
		}
	}
	g, err := d.LoadWorkflow(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	for k, n := range g.Nodes {
		perNode := int64(updates / len(nodes))
		if n.Version != 1+perNode || last[k].version != n.Version {
			t.Errorf("node %d: stored version %d, last acknowledged %d, want %d", k, n.Version, last[k].version, 1+perNode)
		}
		if n.Position.X != last[k].x {
			t.Errorf("node %d: stored x %v, last write (version %d) had x %v", k, n.Position.X, last[k].version, last[k].x)
		}
	}
	st := d.Stats()
	txs, muts := st.Transactions-start.Transactions, st.Mutations-start.Mutations
	t.Logf("%d updates committed in %d transactions", muts, txs)
	if muts != updates {
		t.Fatalf("stats count %d mutations, want %d", muts, updates)
	}
	if txs > updates/10 {
		t.Fatalf("%d updates took %d transactions: not coalesced", updates, txs)
	}
}

// TestMutationsApplyInCallOrder: one goroutine issuing dependent mutations
// back to back sees them applied in order, each visible to the next.
func TestMutationsApplyInCallOrder(t *testing.T) {
	ctx := testCtx(t)
	d := newDB(t, nil)
	w := mustWorkflow(t, d, "Order")
	var names []string
	errs := make(chan error, 50)
	var wg sync.WaitGroup
	// Submit from goroutines that start one after another; each waits
	// until the previous one is queued, so the order is the call order.
	for i := 0; i < 50; i++ {
		name := "name " + string(rune('A'+i%26)) + string(rune('a'+i/26))
		names = append(names, name)
		wg.Add(1)
		queued := make(chan struct{})
		go func() {
			defer wg.Done()
			close(queued)
			_, err := d.UpdateWorkflow(ctx, w.ID, graph.WorkflowPatch{Name: new(name)})
			errs <- err
		}()
		<-queued
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	g, err := d.LoadWorkflow(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if g.Workflow.Version != 51 {
		t.Fatalf("version %d after 50 renames, want 51", g.Workflow.Version)
	}
	if g.Workflow.Name != names[len(names)-1] {
		t.Fatalf("final name %q, want the last call's %q", g.Workflow.Name, names[len(names)-1])
	}
}

func TestManagedTransactions(t *testing.T) {
	ctx := testCtx(t)
	d := newDB(t, nil)
	w := mustWorkflow(t, d, "Managed")

	// Commit on nil: several entities in one atomic transaction.
	var created graph.Node
	err := d.Update(ctx, func(tx *Tx) error {
		wf, err := tx.Workflow(w.ID)
		if err != nil {
			return err
		}
		wf.Name = "Managed 2"
		if err := tx.PutWorkflow(&wf); err != nil {
			return err
		}
		created = graph.Node{WorkflowID: w.ID, Type: "text"}
		if err := tx.PutNode(&created); err != nil {
			return err
		}
		second := graph.Node{WorkflowID: w.ID, Type: "text"}
		if err := tx.PutNode(&second); err != nil {
			return err
		}
		e := graph.Edge{WorkflowID: w.ID, Source: created.ID, Target: second.ID}
		return tx.PutEdge(&e)
	})
	if err != nil {
		t.Fatal(err)
	}
	g, err := d.LoadWorkflow(ctx, w.ID)
	if err != nil || g.Workflow.Name != "Managed 2" || len(g.Nodes) != 2 || len(g.Edges) != 1 || g.Nodes[0].ID != created.ID {
		t.Fatalf("after Update: %+v, %v", g, err)
	}

	// Roll back on error and on panic, after writes.
	before := snapshot(t, d)
	boom := errors.New("boom")
	err = d.Update(ctx, func(tx *Tx) error {
		if err := tx.DeleteNode(created.ID); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want boom", err)
	}
	err = d.Update(ctx, func(tx *Tx) error {
		if err := tx.DeleteWorkflow(w.ID); err != nil {
			return err
		}
		var m map[string]int
		m["x"] = 1 // nil map write: panics
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "panic") {
		t.Fatalf("Update with panic returned %v", err)
	}
	sameSnapshot(t, before, snapshot(t, d))

	// View is read-only.
	err = d.View(ctx, func(tx *Tx) error {
		n, err := tx.Node(created.ID)
		if err != nil {
			return err
		}
		return tx.PutNode(&n)
	})
	if !errors.Is(err, ErrReadOnly) {
		t.Fatalf("write in View: %v", err)
	}
	err = d.View(ctx, func(tx *Tx) error {
		_, err := tx.Node(graph.NewID())
		return err
	})
	if !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("View of unknown node: %v", err)
	}
}

// TestFailedTransactionIsolatesCulprit: a mutation that breaks the shared
// transaction after writing is rolled back alone; the others in its batch
// are replayed and commit.
func TestFailedTransactionIsolatesCulprit(t *testing.T) {
	ctx := testCtx(t)
	d := newDB(t, nil)
	w := mustWorkflow(t, d, "Isolation")
	nodes, err := d.SetNodes(ctx, w.ID, someNodes(3))
	if err != nil {
		t.Fatal(err)
	}
	bad := errors.New("failed after writing")
	errs := make([]error, 3)
	var wg sync.WaitGroup
	// Keep the writer busy in a transaction of its own while the three
	// mutations queue up, so that they share the next one.
	started := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		err := d.Update(ctx, func(tx *Tx) error {
			close(started)
			_, err := tx.Workflow(w.ID)
			return err
		})
		if err != nil {
			t.Error(err)
		}
	}()
	<-started
	for i := range errs {
		wg.Add(1)
		queued := make(chan struct{})
		go func() {
			defer wg.Done()
			close(queued)
			errs[i] = d.mutate(ctx, func(tx *Tx) error {
				_, err := tx.updateNode(w.ID, nodes[i].ID, &graph.NodePatch{Title: ptr("touched")}, writeOptions{})
				if err == nil && i == 1 {
					return bad // breaks the contract: wrote, then failed
				}
				return err
			})
		}()
		<-queued
	}
	wg.Wait()
	if errs[0] != nil || errs[2] != nil || !errors.Is(errs[1], bad) {
		t.Fatalf("errors %v", errs)
	}
	g, err := d.LoadWorkflow(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range g.Nodes {
		touched := n.Title == "touched"
		if touched != (i != 1) {
			t.Errorf("node %d title %q", i, n.Title)
		}
	}
	// Both innocent mutations of the batch were replayed alone.
	if r := d.Stats().Retries; r != 2 {
		t.Errorf("%d retries counted, want 2", r)
	}
}

func ptr[T any](v T) *T { return &v }

func TestCloseDrainsQueue(t *testing.T) {
	ctx := testCtx(t)
	name := dbName(t)
	d, err := Open(ctx, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dropDB(t, name)
	w, err := d.CreateWorkflow(ctx, "Drain")
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	results := make(chan error, n)
	for i := 0; i < n; i++ {
		go func(i int) {
			_, err := d.PutNodes(ctx, w.ID, []graph.Node{{Type: "t", Position: graph.Position{X: float64(i)}}})
			results <- err
		}(i)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	committed := 0
	for i := 0; i < n; i++ {
		switch err := <-results; {
		case err == nil:
			committed++
		case !errors.Is(err, errs.ErrClosed):
			t.Fatalf("mutation during Close: %v", err)
		}
	}
	if _, err := d.CreateWorkflow(ctx, "late"); !errors.Is(err, errs.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if _, err := d.ListWorkflows(ctx); !errors.Is(err, errs.ErrClosed) {
		t.Fatalf("read after Close: %v", err)
	}
	// Whatever reported success is there.
	d2, err := Open(ctx, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	g, err := d2.LoadWorkflow(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Nodes) != committed {
		t.Fatalf("%d nodes stored, %d acknowledged", len(g.Nodes), committed)
	}
}

func TestStrictDurability(t *testing.T) {
	d := newDB(t, &Options{StrictDurability: true})
	w := mustWorkflow(t, d, "Strict")
	err := d.View(testCtx(t), func(tx *Tx) error {
		if got := tx.tx.Durability(); got != "strict" {
			return fmt.Errorf("durability %q", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if g, err := d.LoadWorkflow(testCtx(t), w.ID); err != nil || g.Workflow.Name != "Strict" {
		t.Fatalf("%+v %v", g, err)
	}
}

// TestLogging: the app's logger receives opens, upgrades, migrations,
// flushes and errors as structured records.
func TestLogging(t *testing.T) {
	var buf strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	name := dbName(t)
	defer dropDB(t, name)
	seed(t, name)
	d, err := open(testCtx(t), name, &Options{Logger: logger}, reshape(nil))
	if err != nil {
		t.Fatal(err)
	}
	w, err := d.CreateWorkflow(testCtx(t), "logged")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.PutNodes(testCtx(t), w.ID, []graph.Node{{ID: graph.NewID(), Type: "x"}}); err != nil {
		t.Fatal(err)
	}
	// A node id that exists in another workflow fails at commit: logged.
	other, _ := d.CreateWorkflow(testCtx(t), "other")
	g, _ := d.LoadWorkflow(testCtx(t), w.ID)
	if _, err := d.SetNodes(testCtx(t), other.ID, []graph.Node{{ID: g.Nodes[0].ID, Type: "x"}}); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("stolen id: %v", err)
	}
	d.Close()
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	for _, want := range []string{
		fmt.Sprintf(`"msg":"upgrading schema","db":"%s","from":%d,"to":%d`, name, latest, next),
		`"msg":"running data migration"`,
		`"msg":"schema version recorded"`,
		`"msg":"opened"`,
		`"msg":"flushed","db":"` + name + `","mutations":1`,
		`"msg":"write failed"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s\nlog:\n%s", want, out)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestTransactionDiesUnderInnocentMutation: a mutation's add fails inside
// IndexedDB (the id exists in another workflow) and aborts the shared
// transaction while a later mutation is waiting for a read. The later one
// must not take the blame: it is replayed and commits; the first one gets
// the explained error.
func TestTransactionDiesUnderInnocentMutation(t *testing.T) {
	ctx := testCtx(t)
	d := newDB(t, nil)
	a := mustWorkflow(t, d, "A")
	b := mustWorkflow(t, d, "B")
	victim, err := d.PutNodes(ctx, b.ID, []graph.Node{{Type: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = d.Update(ctx, func(tx *Tx) error { close(started); _, err := tx.Workflow(a.ID); return err })
	}()
	<-started
	var stealErr, innocentErr error
	var innocent []graph.Node
	for i := 0; i < 2; i++ {
		wg.Add(1)
		queued := make(chan struct{})
		go func(i int) {
			defer wg.Done()
			close(queued)
			if i == 0 {
				_, stealErr = d.SetNodes(ctx, a.ID, []graph.Node{{ID: victim[0].ID, Type: "x"}})
			} else {
				innocent, innocentErr = d.SetNodes(ctx, b.ID, append(victim, someNodes(2)...))
			}
		}(i)
		<-queued
	}
	wg.Wait()
	if !errors.Is(stealErr, errs.ErrInvalid) {
		t.Fatalf("stealing mutation: %v", stealErr)
	}
	if innocentErr != nil || len(innocent) != 3 {
		t.Fatalf("innocent mutation: %v", innocentErr)
	}
	g, err := d.LoadWorkflow(ctx, b.ID)
	if err != nil || len(g.Nodes) != 3 {
		t.Fatalf("workflow B has %d nodes (%v)", len(g.Nodes), err)
	}
	if g, _ := d.LoadWorkflow(ctx, a.ID); len(g.Nodes) != 0 {
		t.Fatalf("workflow A took %d nodes", len(g.Nodes))
	}
}

func TestPutGraph(t *testing.T) {
	ctx := testCtx(t)
	d := newDB(t, nil)
	wf := graph.NewID()
	n1, n2 := graph.NewID(), graph.NewID()
	g := graph.Graph{
		Workflow: graph.Workflow{ID: wf, Name: "imported", Viewport: graph.DefaultViewport},
		Nodes:    []graph.Node{{ID: n1, WorkflowID: wf, Type: "a"}, {ID: n2, WorkflowID: wf, Type: "b"}},
		Edges:    []graph.Edge{{ID: graph.NewID(), WorkflowID: wf, Source: n1, Target: n2}},
	}
	stored, err := d.PutGraph(ctx, &g)
	if err != nil || stored.Workflow.Version != 1 || len(stored.Nodes) != 2 || len(stored.Edges) != 1 {
		t.Fatalf("%+v %v", stored, err)
	}
	loaded, _ := d.LoadWorkflow(ctx, wf)
	if !equalJSON(t, loaded, stored) {
		t.Fatalf("loaded %s\nstored %s", mustJSON(t, loaded), mustJSON(t, stored))
	}
	// Replacing: one node and no edges left.
	g.Workflow.Name = "replaced"
	g.Nodes, g.Edges = g.Nodes[:1], nil
	if _, err := d.PutGraph(ctx, &g); err != nil {
		t.Fatal(err)
	}
	loaded, _ = d.LoadWorkflow(ctx, wf)
	if loaded.Workflow.Name != "replaced" || len(loaded.Nodes) != 1 || len(loaded.Edges) != 0 {
		t.Fatalf("after replace: %s", mustJSON(t, loaded))
	}
	// An invalid graph writes nothing.
	before := snapshot(t, d)
	bad := g
	bad.Edges = []graph.Edge{{ID: graph.NewID(), WorkflowID: wf, Source: n1, Target: graph.NewID()}}
	if _, err := d.PutGraph(ctx, &bad); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("dangling edge: %v", err)
	}
	sameSnapshot(t, before, snapshot(t, d))
}

// chunksOf yields nodes n at a time; fail, if set, is returned in place
// of the chunk at that index.
func chunksOf(nodes []graph.Node, n int, failAt int, fail error) (Chunks[graph.Node], *int) {
	calls := new(int)
	return func(each func([]graph.Node) error) error {
		*calls++
		for i, c := 0, 0; i < len(nodes); i, c = i+n, c+1 {
			if fail != nil && c == failAt {
				return fail
			}
			if err := each(nodes[i:min(i+n, len(nodes))]); err != nil {
				return err
			}
		}
		return nil
	}, calls
}

func TestSetNodesFromChunks(t *testing.T) {
	ctx := testCtx(t)
	d := newDB(t, nil)
	w := mustWorkflow(t, d, "Chunks")
	first, err := d.SetNodes(ctx, w.ID, someNodes(1000))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetEdges(ctx, w.ID, []graph.Edge{{Source: first[0].ID, Target: first[999].ID}, {Source: first[1].ID, Target: first[2].ID}}); err != nil {
		t.Fatal(err)
	}

	// The same result as SetNodes: keep 600 (one changed), add 700, drop
	// the rest with the edge to node 999.
	next := append([]graph.Node(nil), first[:600]...)
	next[300].Title = "Changed"
	next = append(next, someNodes(700)...)
	src, calls := chunksOf(next, 128, -1, nil)
	out, err := d.SetNodesFrom(ctx, w.ID, src)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1300 || *calls < 1 {
		t.Fatalf("%d nodes after %d calls of the source", len(out), *calls)
	}
	for i, n := range out {
		want := int64(1)
		if i == 300 {
			want = 2
		}
		if n.Version != want || (i < 600 && n.ID != first[i].ID) || n.WorkflowID != w.ID {
			t.Fatalf("node %d: %+v, want version %d", i, n, want)
		}
	}
	g, err := d.LoadWorkflow(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !equalJSON(t, sortedNodes(g.Nodes), sortedNodes(out)) {
		t.Fatal("the stored nodes are not those SetNodesFrom returned")
	}
	if len(g.Edges) != 1 || g.Edges[0].Source != first[1].ID {
		t.Fatalf("edges %+v, want only the one between kept nodes", g.Edges)
	}

	// A bad node in a later chunk, an id repeated across chunks, and the
	// source's own error: each leaves the store exactly as it was.
	before := snapshot(t, d)
	bad := append(someNodes(500), graph.Node{Type: ""})
	src, _ = chunksOf(bad, 128, -1, nil)
	if _, err := d.SetNodesFrom(ctx, w.ID, src); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("a bad node in the last chunk: %v, want Invalid", err)
	}
	dup := append([]graph.Node(nil), out[:200]...)
	dup = append(dup, out[0])
	src, _ = chunksOf(dup, 128, -1, nil)
	if _, err := d.SetNodesFrom(ctx, w.ID, src); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("an id in two chunks: %v, want Invalid", err)
	}
	boom := errors.New("chunk 3 could not be decoded")
	src, _ = chunksOf(someNodes(600), 128, 3, boom)
	if _, err := d.SetNodesFrom(ctx, w.ID, src); !errors.Is(err, boom) {
		t.Fatalf("the source's error: %v, want %v", err, boom)
	}
	src, _ = chunksOf(someNodes(10), 4, -1, nil)
	if _, err := d.SetNodesFrom(ctx, "0190f5a4-8f3c-7cc1-9a57-3c1f6a6c2aff", src); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("an unknown workflow: %v, want NotFound", err)
	}
	sameSnapshot(t, before, snapshot(t, d))
}

func sortedNodes(ns []graph.Node) []graph.Node {
	out := slices.Clone(ns)
	slices.SortFunc(out, func(a, b graph.Node) int { return strings.Compare(a.ID, b.ID) })
	return out
}
