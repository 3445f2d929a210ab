//go:build js && wasm

package idb

import (
	"context"
	"errors"
	"syscall/js"
	"testing"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/idbx"
	"github.com/atelierstore/atelier/internal/jsutil"
	"github.com/atelierstore/atelier/internal/recbody"
)

// writeBehindBack changes a stored node the way another tab would before
// its announcement arrives: through a connection of its own, with no
// message to this store. It returns the node as written.
func writeBehindBack(t *testing.T, d *DB, id string, change func(n *graph.Node)) graph.Node {
	t.Helper()
	ctx := testCtx(t)
	var n graph.Node
	var sv int64
	if err := d.View(ctx, func(tx *Tx) error {
		r, ok, err := tx.get(storeNodes, id)
		if err != nil || !ok {
			return errors.Join(err, errors.New("node not found"))
		}
		sv = r.SV
		return tx.c.DecodeNode(r.Body, &n)
	}); err != nil {
		t.Fatal(err)
	}
	change(&n)
	n.Version++
	n.UpdatedAt++
	body, _ := recbody.New().AppendNode(nil, &n)
	other, err := idbx.Open(ctx, d.Name(), len(migrations), idbx.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.Begin(idbx.ReadWrite, storeNodes)
	if err != nil {
		t.Fatal(err)
	}
	rec := js.Global().Get("Object").New()
	rec.Set("id", n.ID)
	rec.Set("workflowId", n.WorkflowID)
	rec.Set("v", n.Version)
	rec.Set("u", n.UpdatedAt)
	if sv > 0 {
		rec.Set("sv", sv)
	}
	rec.Set("b", jsutil.Uint8Array(body))
	if err := tx.Put(storeNodes, rec); err != nil {
		t.Fatal(err)
	}
	tx.Commit()
	if err := tx.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	return n
}

// A write on a remembered revision that another connection changed
// meanwhile runs again on a fresh read: the other change is kept, the
// version follows it, and nothing stale is reported.
func TestRememberedRevisionGuard(t *testing.T) {
	ctx := context.Background()
	d := newDB(t, nil)
	w, err := d.CreateWorkflow(ctx, "W")
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := d.SetNodes(ctx, w.ID, []graph.Node{{Type: "t", Title: "before"}})
	if err != nil {
		t.Fatal(err)
	}
	id := nodes[0].ID

	// Two moves: the second runs on the revision the first wrote.
	for x := 1.0; x <= 2; x++ {
		if _, err := d.UpdateNode(ctx, w.ID, id, graph.NodePatch{Position: &graph.Position{X: x}, Size: nil}); err != nil {
			t.Fatal(err)
		}
	}
	if got := d.Stats().StaleGuesses; got != 0 {
		t.Fatalf("StaleGuesses = %d before any other writer", got)
	}

	// Another connection renames the node; this store is not told.
	other := writeBehindBack(t, d, id, func(n *graph.Node) { n.Title = "renamed elsewhere" })
	moved, err := d.UpdateNode(ctx, w.ID, id, graph.NodePatch{Position: &graph.Position{X: 3}, Size: nil})
	if err != nil {
		t.Fatal(err)
	}
	if moved.Title != "renamed elsewhere" || moved.Version != other.Version+1 || moved.Position.X != 3 {
		t.Fatalf("moved on a stale revision: %+v (the other write left version %d)", moved, other.Version)
	}
	if got := d.Stats().StaleGuesses; got != 1 {
		t.Fatalf("StaleGuesses = %d, want 1", got)
	}
	g, err := d.LoadWorkflow(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if g.Nodes[0].Title != "renamed elsewhere" || g.Nodes[0].Version != moved.Version {
		t.Fatalf("stored %+v", g.Nodes[0])
	}

	// IfVersion is checked against the fresh revision, not the remembered
	// one: the caller who saw the other write's version succeeds...
	other = writeBehindBack(t, d, id, func(n *graph.Node) { n.Status = "running" })
	if _, err := d.UpdateNode(ctx, w.ID, id, graph.NodePatch{Position: &graph.Position{X: 4}, Size: nil}, IfVersion(other.Version)); err != nil {
		t.Fatalf("IfVersion(%d) after the other write: %v", other.Version, err)
	}
	// ...and one who did not gets a conflict naming the true version.
	other = writeBehindBack(t, d, id, func(n *graph.Node) { n.Status = "done" })
	_, err = d.UpdateNode(ctx, w.ID, id, graph.NodePatch{Position: &graph.Position{X: 5}, Size: nil}, IfVersion(other.Version-1))
	var ce *ConflictError
	if !errors.Is(err, errs.ErrVersionConflict) || !errors.As(err, &ce) || ce.Actual != other.Version {
		t.Fatalf("stale IfVersion: %v (want a conflict with version %d)", err, other.Version)
	}

	// A record deleted behind our back is not found, not resurrected.
	ctx2 := testCtx(t)
	if _, err := d.UpdateNode(ctx, w.ID, id, graph.NodePatch{Position: &graph.Position{X: 6}, Size: nil}); err != nil {
		t.Fatal(err)
	}
	otherConn, err := idbx.Open(ctx2, d.Name(), len(migrations), idbx.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	tx, _ := otherConn.Begin(idbx.ReadWrite, storeNodes)
	_ = tx.Delete(storeNodes, id)
	tx.Commit()
	if err := tx.Wait(ctx2); err != nil {
		t.Fatal(err)
	}
	otherConn.Close()
	if _, err := d.UpdateNode(ctx, w.ID, id, graph.NodePatch{Position: &graph.Position{X: 7}, Size: nil}); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("moving a node deleted elsewhere: %v", err)
	}
	g, err = d.LoadWorkflow(ctx, w.ID)
	if err != nil || len(g.Nodes) != 0 {
		t.Fatalf("after the delete elsewhere: %d nodes, %v", len(g.Nodes), err)
	}
}

// Many moves of one node in a row run on remembered revisions: each
// commits in one transaction and no guard fails.
func TestRememberedRevisionsForADrag(t *testing.T) {
	ctx := context.Background()
	d := newDB(t, nil)
	w, _ := d.CreateWorkflow(ctx, "W")
	nodes, err := d.SetNodes(ctx, w.ID, []graph.Node{{Type: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	before, remembered := d.Stats(), d.rememberedReads.Load()
	var last graph.Node
	for i := range 50 {
		if last, err = d.UpdateNode(ctx, w.ID, nodes[0].ID, graph.NodePatch{Position: &graph.Position{X: float64(i), Y: 1}, Size: nil}); err != nil {
			t.Fatal(err)
		}
	}
	after := d.Stats()
	if last.Version != 51 || after.Transactions-before.Transactions != 50 || after.StaleGuesses != 0 {
		t.Fatalf("version %d, %d transactions, %d stale guesses", last.Version, after.Transactions-before.Transactions, after.StaleGuesses)
	}
	// The first move runs on what SetNodes wrote, every later one on what
	// the one before wrote.
	if got := d.rememberedReads.Load() - remembered; got != 50 {
		t.Fatalf("%d of 50 moves ran on a remembered revision, want 50", got)
	}
}
