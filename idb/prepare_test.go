package idb

import (
	"errors"
	"testing"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
)

func TestPrepareNodes(t *testing.T) {
	wf := graph.NewID()
	given := graph.NewID()
	in := []graph.Node{{Type: "a"}, {ID: given, WorkflowID: wf, Type: "b"}}
	out, gen, err := prepare(nodeKind, wf, in)
	if err != nil {
		t.Fatal(err)
	}
	if !gen[0] || gen[1] || !graph.ValidID(out[0].ID) || out[1].ID != given || out[0].WorkflowID != wf {
		t.Fatalf("prepared %+v, generated %v", out, gen)
	}
	if in[0].ID != "" || in[0].WorkflowID != "" {
		t.Fatal("the caller's slice was modified")
	}
	for _, tc := range []struct {
		name string
		wf   string
		in   []graph.Node
	}{
		{"bad workflow id", "x", []graph.Node{{Type: "a"}}},
		{"other workflow", wf, []graph.Node{{WorkflowID: graph.NewID(), Type: "a"}}},
		{"duplicate", wf, []graph.Node{{ID: given, Type: "a"}, {ID: given, Type: "b"}}},
		{"invalid", wf, []graph.Node{{Type: ""}}},
	} {
		if _, _, err := prepare(nodeKind, tc.wf, tc.in); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestPrepareEdgesAndIDs(t *testing.T) {
	wf, a, b := graph.NewID(), graph.NewID(), graph.NewID()
	out, gen, err := prepare(edgeKind, wf, []graph.Edge{{Source: a, Target: b}})
	if err != nil || !gen[0] || out[0].WorkflowID != wf {
		t.Fatalf("%+v %v %v", out, gen, err)
	}
	if _, _, err := prepare(edgeKind, wf, []graph.Edge{{Source: a, Target: "nope"}}); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("bad target: %v", err)
	}
	ids, err := prepareIDs("node", []string{a, b, a})
	if err != nil || len(ids) != 2 {
		t.Fatalf("%v %v", ids, err)
	}
	if _, err := prepareIDs("node", []string{a, "A"}); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("bad id: %v", err)
	}
	if err := checkVersion("node", a, writeOptions{ifVersion: 2}, 3); !errors.Is(err, errs.ErrVersionConflict) {
		t.Fatalf("checkVersion: %v", err)
	}
	if err := checkVersion("node", a, writeOptions{}, 3); err != nil {
		t.Fatalf("unconditional: %v", err)
	}
}
