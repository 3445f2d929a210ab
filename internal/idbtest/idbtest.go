//go:build js && wasm

// Package idbtest opens workflow stores for the tests of the packages
// built on package idb: each test gets a database of its own, checked for
// consistency (package idbcheck), closed and deleted when it ends.
package idbtest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/idb"
	"github.com/atelierstore/atelier/internal/idbcheck"
	"github.com/atelierstore/atelier/internal/idbx"
)

// Ctx is a context for one test, cancelled when it ends.
func Ctx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Name returns a database name unique to the test.
func Name(t testing.TB) string {
	return fmt.Sprintf("atelier-test-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
}

// Decoders are the store's codec, for idbcheck.
var Decoders = idbcheck.Decoders{Workflow: idb.DecodeWorkflow, Node: idb.DecodeNode, Edge: idb.DecodeEdge}

// Open opens a fresh store for the test. In cleanup it checks the
// database's consistency through an independent reader, closes the store
// and deletes the database.
func Open(t testing.TB, opts *idb.Options) *idb.DB {
	t.Helper()
	return OpenNamed(t, Name(t), opts)
}

// OpenNamed is Open with a given database name: a second store on the
// same database acts as another tab.
func OpenNamed(t testing.TB, name string, opts *idb.Options) *idb.DB {
	t.Helper()
	return OpenChecked(t, name, opts, Decoders)
}

// OpenChecked is OpenNamed with the checks to run at the end.
func OpenChecked(t testing.TB, name string, opts *idb.Options, check idbcheck.Decoders) *idb.DB {
	t.Helper()
	d, err := idb.Open(Ctx(t), name, opts)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	t.Cleanup(func() {
		open := d.View(context.Background(), func(*idb.Tx) error { return nil }) == nil
		_ = d.Close()
		if open {
			idbcheck.Check(t, name, check)
		}
		Drop(t, name)
	})
	return d
}

// Drop deletes the database called name.
func Drop(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := idbx.Delete(ctx, name, nil); err != nil {
		t.Errorf("delete database %s: %v", name, err)
	}
}

// Workflow creates a workflow called name.
func Workflow(t testing.TB, d *idb.DB, name string) graph.Workflow {
	t.Helper()
	w, err := d.CreateWorkflow(Ctx(t), name)
	if err != nil {
		t.Fatalf("create workflow: %v", err)
	}
	return w
}

// Nodes returns n new nodes (without ids) with a typical config.
func Nodes(n int) []graph.Node {
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

// JSON is v in JSON.
func JSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// SameJSON reports whether a and b have the same JSON.
func SameJSON(t testing.TB, a, b any) bool { return JSON(t, a) == JSON(t, b) }

// Next returns the next value on c, failing the test if none comes within
// 5 s or c is closed.
func Next[T any](t testing.TB, c <-chan T) T {
	t.Helper()
	select {
	case s, ok := <-c:
		if !ok {
			t.Fatal("channel closed")
		}
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("nothing within 5s")
	}
	var zero T
	return zero
}

// Until reads values from c until cond holds, for up to 5 s.
func Until[T any](t testing.TB, c <-chan T, cond func(T) bool) T {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case s, ok := <-c:
			if !ok {
				t.Fatal("channel closed")
			}
			if cond(s) {
				return s
			}
		case <-deadline:
			t.Fatal("condition not reached within 5s")
		}
	}
}
