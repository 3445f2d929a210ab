package syncproto

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"

	"github.com/atelierstore/atelier/graph"
)

// nodeOp is an op on node id of workflow wf with the given JSON fields
// (besides id, workflowId and type), stamp at and fields named.
func nodeOp(t *testing.T, n int, wf, id string, kind OpKind, base int64, at int64, data string, fields ...string) Op {
	t.Helper()
	op := Op{ID: fmt.Sprintf("0190f5a4-8f3c-7cc1-9a57-3c1f6a6c2a%02d", n), Entity: EntityNode, EntityID: id, WorkflowID: wf,
		Kind: kind, BaseVersion: base, Version: base + 1, UpdatedAt: at, Fields: fields, Tab: "t", Time: at}
	if kind != OpDelete {
		op.Data = json.RawMessage(fmt.Sprintf(`{"id":%q,"workflowId":%q,"type":"image",%s}`, id, wf, data))
	}
	if err := op.Validate(); err != nil {
		t.Fatalf("op %d: %v", n, err)
	}
	return op
}

// apply runs ops through Merge in order and returns the final state.
func apply(t *testing.T, ops []Op) *Change {
	t.Helper()
	var cur *Change
	for i := range ops {
		m, err := Merge(cur, &ops[i])
		if err != nil {
			t.Fatalf("op %s: %v", ops[i].ID, err)
		}
		if m.Applied {
			cur = m.State
		}
	}
	return cur
}

// fieldsOf decodes a state's data into its top-level properties, without
// the bookkeeping ones, and its config.
func fieldsOf(t *testing.T, c *Change) map[string]any {
	t.Helper()
	if c.Deleted {
		return map[string]any{"deleted": true}
	}
	var m map[string]any
	if err := json.Unmarshal(c.Data, &m); err != nil {
		t.Fatal(err)
	}
	for k := range notFields {
		delete(m, k)
	}
	return m
}

func TestMergeKeepsConcurrentEditsOfDifferentFields(t *testing.T) {
	wf, id := graph.NewID(), graph.NewID()
	create := nodeOp(t, 1, wf, id, OpCreate, 0, 100, `"position":{"x":0,"y":0},"config":{"prompt":"a cat","seed":1}`)
	// Both made on version 1, without seeing each other.
	move := nodeOp(t, 2, wf, id, OpUpdate, 1, 200, `"position":{"x":5,"y":6},"config":{"prompt":"a cat","seed":1}`, "position")
	prompt := nodeOp(t, 3, wf, id, OpUpdate, 1, 150, `"position":{"x":0,"y":0},"config":{"prompt":"a dog","seed":1}`, "config.prompt")
	title := nodeOp(t, 4, wf, id, OpUpdate, 1, 120, `"title":"T","position":{"x":0,"y":0},"config":{"prompt":"a cat","seed":1}`, "title")
	want := map[string]any{"type": "image", "title": "T", "position": map[string]any{"x": 5.0, "y": 6.0},
		"config": map[string]any{"prompt": "a dog", "seed": 1.0}}
	permute([]Op{move, prompt, title}, func(order []Op) {
		got := apply(t, append([]Op{create}, order...))
		if f := fieldsOf(t, got); !reflect.DeepEqual(f, want) {
			t.Fatalf("order %s %s %s: %v, want %v", order[0].ID[34:], order[1].ID[34:], order[2].ID[34:], f, want)
		}
		if got.UpdatedAt != 200 {
			t.Fatalf("updatedAt %d, want the latest stamp 200", got.UpdatedAt)
		}
	})
}

func TestMergeSameFieldLaterStampWins(t *testing.T) {
	wf, id := graph.NewID(), graph.NewID()
	create := nodeOp(t, 1, wf, id, OpCreate, 0, 100, `"position":{"x":0,"y":0}`)
	// The device that edited more often (a higher version) made its last
	// edit earlier: the later edit wins.
	many := nodeOp(t, 2, wf, id, OpUpdate, 1, 300, `"position":{"x":1,"y":1}`, "position")
	many.Version = 9
	late := nodeOp(t, 3, wf, id, OpUpdate, 1, 400, `"position":{"x":2,"y":2}`, "position")
	tieA := nodeOp(t, 4, wf, id, OpUpdate, 1, 500, `"title":"a","position":{"x":0,"y":0}`, "title")
	tieB := nodeOp(t, 5, wf, id, OpUpdate, 1, 500, `"title":"b","position":{"x":0,"y":0}`, "title")
	permute([]Op{many, late, tieA, tieB}, func(order []Op) {
		got := fieldsOf(t, apply(t, append([]Op{create}, order...)))
		if pos := got["position"].(map[string]any); pos["x"] != 2.0 || got["title"] != "b" {
			t.Fatalf("%v: want position x 2 (the later edit) and title b (the larger op id at a tie)", got)
		}
	})
}

func TestMergeSupersedesAnOpThatLostEveryField(t *testing.T) {
	wf, id := graph.NewID(), graph.NewID()
	create := nodeOp(t, 1, wf, id, OpCreate, 0, 100, `"position":{"x":0,"y":0}`)
	late := nodeOp(t, 2, wf, id, OpUpdate, 1, 400, `"position":{"x":2,"y":2}`, "position")
	early := nodeOp(t, 3, wf, id, OpUpdate, 1, 300, `"position":{"x":1,"y":1}`, "position")
	cur := apply(t, []Op{create, late})
	m, err := Merge(cur, &early)
	if err != nil || m.Applied || m.State != cur {
		t.Fatalf("an op that lost its only field: %+v, %v", m, err)
	}
	m, err = Merge(cur, &late) // the same op again, applied by itself: its stamp does not beat itself
	if err != nil || m.Applied {
		t.Fatalf("an op against its own write: %+v, %v", m, err)
	}
}

func TestMergeMixedAndOverwrote(t *testing.T) {
	wf, id := graph.NewID(), graph.NewID()
	create := nodeOp(t, 1, wf, id, OpCreate, 0, 100, `"position":{"x":0,"y":0},"config":{"prompt":"a"}`)
	v1 := apply(t, []Op{create})
	// Made on version 1: the server's prompt is at version 2.
	prompt := nodeOp(t, 2, wf, id, OpUpdate, 1, 150, `"position":{"x":0,"y":0},"config":{"prompt":"b"}`, "config.prompt")
	m, err := Merge(v1, &prompt)
	if err != nil || !m.Applied || m.Mixed || len(m.State.Overwrote) != 0 {
		t.Fatalf("an edit on the latest state: %+v, %v", m, err)
	}
	v2 := m.State
	move := nodeOp(t, 3, wf, id, OpUpdate, 1, 200, `"position":{"x":5,"y":5},"config":{"prompt":"a"}`, "position")
	m, err = Merge(v2, &move)
	if err != nil || !m.Applied || !m.Mixed {
		t.Fatalf("a move beside an unseen prompt: %+v, %v", m, err)
	}
	if len(m.State.Overwrote) != 0 {
		t.Fatalf("the move replaced no write, yet Overwrote = %v", m.State.Overwrote)
	}
	if f := fieldsOf(t, m.State); f["config"].(map[string]any)["prompt"] != "b" {
		t.Fatalf("the prompt was lost: %v", f)
	}
	// A prompt edit made on version 1, later than the server's: it
	// replaces the server's prompt without having seen it.
	prompt2 := nodeOp(t, 4, wf, id, OpUpdate, 1, 250, `"position":{"x":0,"y":0},"config":{"prompt":"c"}`, "config.prompt")
	m, err = Merge(m.State, &prompt2)
	if err != nil || !m.Applied {
		t.Fatalf("%+v, %v", m, err)
	}
	if want := []string{prompt.ID}; !reflect.DeepEqual(m.State.Overwrote, want) {
		t.Fatalf("Overwrote = %v, want %v", m.State.Overwrote, want)
	}
}

func TestMergeDeletionWinsOverEdits(t *testing.T) {
	wf, id := graph.NewID(), graph.NewID()
	create := nodeOp(t, 1, wf, id, OpCreate, 0, 100, `"position":{"x":0,"y":0}`)
	del := nodeOp(t, 2, wf, id, OpDelete, 1, 200, "")
	move := nodeOp(t, 3, wf, id, OpUpdate, 1, 300, `"position":{"x":1,"y":1}`, "position")
	permute([]Op{del, move}, func(order []Op) {
		if got := apply(t, append([]Op{create}, order...)); !got.Deleted {
			t.Fatalf("a later edit brought back a deleted node: %+v", got)
		}
	})
	// A create (an undo of the deletion) later than it brings it back; an
	// earlier one does not.
	undo := nodeOp(t, 4, wf, id, OpCreate, 2, 400, `"position":{"x":7,"y":7}`)
	if got := apply(t, []Op{create, del, undo}); got.Deleted || fieldsOf(t, got)["position"].(map[string]any)["x"] != 7.0 {
		t.Fatalf("a later create did not bring the node back: %+v", got)
	}
	old := nodeOp(t, 5, wf, id, OpCreate, 0, 150, `"position":{"x":7,"y":7}`)
	if got := apply(t, []Op{create, del, old}); !got.Deleted {
		t.Fatalf("a create older than the deletion brought the node back: %+v", got)
	}
	// An older delete loses to the later re-creation, in either order.
	permute([]Op{del, undo}, func(order []Op) {
		if got := apply(t, append([]Op{create}, order...)); got.Deleted {
			t.Fatalf("order %s first: the re-creation, later than the deletion, lost", order[0].ID[34:])
		}
	})
}

func TestMergeStateStoredWithoutClocks(t *testing.T) {
	wf, id := graph.NewID(), graph.NewID()
	create := nodeOp(t, 1, wf, id, OpCreate, 0, 100, `"position":{"x":0,"y":0},"title":"x"`)
	cur := apply(t, []Op{create})
	cur.Clocks = nil // as a server of the first protocol version stored it
	early := nodeOp(t, 2, wf, id, OpUpdate, 1, 50, `"title":"y","position":{"x":0,"y":0}`, "title")
	if m, _ := Merge(cur, &early); m.Applied {
		t.Fatal("an edit older than the stored write won")
	}
	late := nodeOp(t, 3, wf, id, OpUpdate, 1, 150, `"title":"y","position":{"x":0,"y":0}`, "title")
	if m, _ := Merge(cur, &late); !m.Applied || fieldsOf(t, m.State)["title"] != "y" {
		t.Fatal("a later edit lost")
	}
}

func TestMergeInvalidCombinationSupersedes(t *testing.T) {
	wf, id := graph.NewID(), graph.NewID()
	big := strings.Repeat("x", graph.MaxJSONBytes*2/3)
	create := nodeOp(t, 1, wf, id, OpCreate, 0, 100, `"position":{"x":0,"y":0},"config":{}`)
	a := nodeOp(t, 2, wf, id, OpUpdate, 1, 200, `"position":{"x":0,"y":0},"config":{"a":"`+big+`"}`, "config.a")
	cur := apply(t, []Op{create, a})
	// Concurrently another key got as large: together the config is
	// larger than a node may keep.
	b := nodeOp(t, 3, wf, id, OpUpdate, 1, 300, `"position":{"x":0,"y":0},"config":{"b":"`+big+`"}`, "config.b")
	m, err := Merge(cur, &b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Applied || m.State != cur {
		t.Fatalf("an edit that makes the node invalid with the stored one applied")
	}
}

func ptr[T any](v T) *T { return &v }

// TestMergeIgnoresArrivalOrder: updates naming random fields, with random
// stamps and bases, end in the same state in every arrival order.
func TestMergeIgnoresArrivalOrder(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	wf, id := graph.NewID(), graph.NewID()
	names := []string{"title", "status", "position", "config.a", "config.b"}
	for round := 0; round < 600; round++ {
		create := nodeOp(t, 0, wf, id, OpCreate, 0, 10, `"position":{"x":0,"y":0},"config":{"a":0,"b":0}`)
		n := 2 + r.Intn(3)
		ops := make([]Op, n)
		for i := range ops {
			var fs []string
			for _, f := range names {
				if r.Intn(2) == 0 {
					fs = append(fs, f)
				}
			}
			data := fmt.Sprintf(`"title":"t%d","status":"s%d","position":{"x":%d,"y":0},"config":{"a":%d,"b":%d}`, i, i, i, i, i)
			if r.Intn(4) == 0 {
				data = fmt.Sprintf(`"position":{"x":%d,"y":0},"config":{"b":%d}`, i, i) // removes title, status and config.a
			}
			ops[i] = nodeOp(t, i+1, wf, id, OpUpdate, 1, int64(11+r.Intn(3)), data, fs...)
		}
		var want map[string]any
		permute(ops, func(order []Op) {
			got := fieldsOf(t, apply(t, append([]Op{create}, order...)))
			if want == nil {
				want = got
			} else if !reflect.DeepEqual(got, want) {
				t.Fatalf("round %d: one order ends with %v, another with %v", round, want, got)
			}
		})
	}
}

func TestChangedFields(t *testing.T) {
	for _, tc := range []struct {
		before, after string
		want          []string
	}{
		{`{"id":"x","position":{"x":1},"version":1}`, `{"id":"x","position":{"x":2},"version":2}`, []string{"position"}},
		{`{"config":{"a":1,"b":2}}`, `{"config":{"a":1,"b":3,"c":4}}`, []string{"config.b", "config.c"}},
		{`{"config":{"a":1}}`, `{}`, []string{"config.a"}},
		{`{"config":[1]}`, `{"config":{"a":1}}`, []string{"config"}},
		{`{"title":"a","size":{"width":1}}`, `{"title":"a"}`, []string{"size"}},
		{`{"title":"a"}`, `{"title": "a"}`, nil},
	} {
		got, err := ChangedFields(EntityNode, json.RawMessage(tc.before), json.RawMessage(tc.after))
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ChangedFields(%s, %s) = %v, %v; want %v", tc.before, tc.after, got, err, tc.want)
		}
	}
	if _, err := ChangedFields(EntityNode, json.RawMessage(`[`), json.RawMessage(`{}`)); err == nil {
		t.Error("ChangedFields of bad JSON: no error")
	}
}

// FuzzMerge: whatever two updates say, Merge either supersedes one or
// stores a valid entity, and never fails on valid ops.
func FuzzMerge(f *testing.F) {
	f.Add(`{"title":"a","config":{"x":1}}`, `{"config":{"x":2},"position":{"x":1,"y":2}}`, "config.x", int64(5))
	f.Add(`{"config":[1,2]}`, `{"config":{"y":"z"}}`, "config", int64(-5))
	f.Fuzz(func(t *testing.T, a, b, field string, dt int64) {
		wf, id := graph.NewID(), graph.NewID()
		mk := func(n int, kind OpKind, body string, at int64, fields ...string) (Op, bool) {
			var m map[string]json.RawMessage
			if json.Unmarshal([]byte(body), &m) != nil {
				return Op{}, false
			}
			m["id"], _ = json.Marshal(id)
			m["workflowId"], _ = json.Marshal(wf)
			m["type"] = json.RawMessage(`"image"`)
			data, _ := json.Marshal(m)
			op := Op{ID: fmt.Sprintf("0190f5a4-8f3c-7cc1-9a57-3c1f6a6c2a%02d", n), Entity: EntityNode, EntityID: id, WorkflowID: wf,
				Kind: kind, BaseVersion: 1, Version: 2, UpdatedAt: at, Fields: fields, Data: data}
			if kind == OpCreate {
				op.BaseVersion, op.Version = 0, 1
			}
			return op, op.Validate() == nil
		}
		c, ok1 := mk(1, OpCreate, a, 1000)
		u, ok2 := mk(2, OpUpdate, b, 1000+dt%1000, field)
		if !ok1 || !ok2 {
			return
		}
		m1, err := Merge(nil, &c)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := Merge(m1.State, &u)
		if err != nil {
			t.Fatalf("Merge of valid ops: %v", err)
		}
		if err := checkEntity(EntityNode, id, wf, m2.State.Data); err != nil {
			t.Fatalf("Merge stored an invalid node %s: %v", m2.State.Data, err)
		}
	})
}

// TestFieldsMatchesChangedFields: the struct comparison clients use names
// the fields the JSON comparison names.
func TestFieldsMatchesChangedFields(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	pick := func(vs ...string) string { return vs[r.Intn(len(vs))] }
	node := func() *graph.Node {
		n := &graph.Node{ID: "n", WorkflowID: "w", Type: pick("a", "b"), Title: pick("", "t"), Status: pick("", "queued"),
			Position: graph.Position{X: float64(r.Intn(2))}}
		if r.Intn(2) == 0 {
			n.Size = &graph.Size{Width: float64(r.Intn(2))}
		}
		n.Config = json.RawMessage(pick("", `{"a":1}`, `{"a":2,"b":3}`, `{"a": 1}`, `[1]`, `"x"`))
		if len(n.Config) == 0 {
			n.Config = nil
		}
		if r.Intn(2) == 0 {
			n.Result = &graph.Result{Text: pick("", "r")}
		}
		return n
	}
	for i := 0; i < 2000; i++ {
		a, b := node(), node()
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		want, err := ChangedFields(EntityNode, ja, jb)
		if err != nil {
			t.Fatal(err)
		}
		if got := Fields(a, b); !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("Fields(%s, %s) = %v, ChangedFields = %v", ja, jb, got, want)
		}
	}
	w1 := &graph.Workflow{ID: "w", Name: "a", Meta: json.RawMessage(`{"k":1}`)}
	w2 := &graph.Workflow{ID: "w", Name: "b", Meta: json.RawMessage(`{"k":1,"j":2}`)}
	if got := Fields(w1, w2); !reflect.DeepEqual(got, []string{"meta.j", "name"}) {
		t.Fatalf("workflow fields %v", got)
	}
	e1 := &graph.Edge{ID: "e", Source: "a", Target: "b"}
	e2 := &graph.Edge{ID: "e", Source: "a", Target: "c", TargetHandle: "in"}
	if got := Fields(e1, e2); !reflect.DeepEqual(got, []string{"target", "targetHandle"}) {
		t.Fatalf("edge fields %v", got)
	}
}
