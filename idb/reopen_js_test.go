//go:build js && wasm

package idb

import (
	"fmt"
	"syscall/js"
	"testing"

	"github.com/atelierstore/atelier/graph"
)

// closeUnder closes the store's connection behind its back, as the
// browser does when it loses the connection; with event, the connection
// also gets the close event browsers fire then.
func closeUnder(d *DB, event bool) {
	v := d.connection().Value()
	v.Call("close")
	if event {
		v.Call("dispatchEvent", js.Global().Get("Event").New("close"))
	}
}

// countNodes loads the workflow and checks each node is there once.
func countNodes(t *testing.T, d *DB, wf string) int {
	t.Helper()
	g, err := d.LoadWorkflow(testCtx(t), wf)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, n := range g.Nodes {
		if seen[n.ID] {
			t.Fatalf("node %s stored twice", n.ID)
		}
		seen[n.ID] = true
	}
	return len(g.Nodes)
}

// TestReopenAfterTheConnectionCloses: when the connection is closed
// under the store (with or without the browser's close event), the next
// write and the next read open a new one and succeed; nothing written
// before is lost and nothing is doubled.
func TestReopenAfterTheConnectionCloses(t *testing.T) {
	for _, event := range []bool{false, true} {
		t.Run(fmt.Sprintf("close event %v", event), func(t *testing.T) {
			ctx := testCtx(t)
			d := newDB(t, nil)
			w, err := d.CreateWorkflow(ctx, "reopen")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.PutNodes(ctx, w.ID, []graph.Node{{Type: "a"}, {Type: "b"}}); err != nil {
				t.Fatal(err)
			}
			closeUnder(d, event)
			if _, err := d.PutNodes(ctx, w.ID, []graph.Node{{Type: "c"}}); err != nil {
				t.Fatalf("the first write after the connection closed: %v", err)
			}
			if n := countNodes(t, d, w.ID); n != 3 {
				t.Fatalf("%d nodes after the reopen, want 3", n)
			}
			closeUnder(d, event)
			if n := countNodes(t, d, w.ID); n != 3 { // a read reopens too
				t.Fatalf("%d nodes after the second reopen, want 3", n)
			}
			if got := d.reopens.Load(); got != 2 {
				t.Fatalf("%d reopens, want 2", got)
			}
		})
	}
}

// TestRetryWhenTheConnectionGoesUnderATransaction: the connection is lost
// while the writer's transaction runs (it aborts, and the close event
// fires, as when Safari loses its storage process); the writer runs the
// mutation again on a new connection, once, and the write succeeds.
func TestRetryWhenTheConnectionGoesUnderATransaction(t *testing.T) {
	ctx := testCtx(t)
	d := newDB(t, nil)
	w, err := d.CreateWorkflow(ctx, "lost")
	if err != nil {
		t.Fatal(err)
	}
	runs := 0
	n := graph.Node{ID: graph.NewID(), WorkflowID: w.ID, Type: "x"}
	err = d.Update(ctx, func(tx *Tx) error {
		runs++
		if err := tx.PutNode(&n); err != nil {
			return err
		}
		if runs == 1 {
			v := tx.tx.Value()
			v.Call("abort")
			v.Get("db").Call("dispatchEvent", js.Global().Get("Event").New("close"))
		}
		return nil
	})
	if err != nil || runs != 2 {
		t.Fatalf("Update = %v after %d runs, want nil after 2", err, runs)
	}
	if c := countNodes(t, d, w.ID); c != 1 {
		t.Fatalf("%d nodes, want 1", c)
	}

	// A connection that is lost again on the retry fails the write: one
	// retry, not a loop.
	runs = 0
	m := graph.Node{ID: graph.NewID(), WorkflowID: w.ID, Type: "y"}
	err = d.Update(ctx, func(tx *Tx) error {
		runs++
		if err := tx.PutNode(&m); err != nil {
			return err
		}
		v := tx.tx.Value()
		v.Call("abort")
		v.Get("db").Call("dispatchEvent", js.Global().Get("Event").New("close"))
		return nil
	})
	if err == nil || runs != 2 {
		t.Fatalf("Update = %v after %d runs, want an error after 2", err, runs)
	}
	if c := countNodes(t, d, w.ID); c != 1 {
		t.Fatalf("%d nodes after the failed write, want 1", c)
	}
}
