package graph

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/atelierstore/atelier/internal/errs"
)

func TestCoordinatesFromJSON(t *testing.T) {
	var n Node
	if err := json.Unmarshal([]byte(`{"type":"t","position":{"x":1.5,"y":-2},"size":{"width":3,"height":4}}`), &n); err != nil {
		t.Fatal(err)
	}
	if n.Position != (Position{1.5, -2}) || *n.Size != (Size{3, 4}) {
		t.Fatalf("%+v", n)
	}
	// A node without a position starts at the origin.
	n = Node{}
	if err := json.Unmarshal([]byte(`{"type":"t"}`), &n); err != nil || n.Position != (Position{}) {
		t.Fatalf("%+v %v", n, err)
	}
	for _, in := range []string{
		`{"position":{"x":null,"y":0}}`, // JSON.stringify(NaN)
		`{"position":{"x":1}}`,
		`{"position":null}`,
		`{"size":{"width":1,"height":null}}`,
		`{"position":{"x":"1","y":2}}`,
	} {
		var n Node
		if err := json.Unmarshal([]byte(in), &n); err == nil {
			t.Errorf("%s decoded to %+v", in, n)
		}
	}
	var w Workflow
	err := json.Unmarshal([]byte(`{"name":"w","viewport":{"x":0,"y":0,"zoom":null}}`), &w)
	if !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("null zoom: %v", err)
	}
	// Round trip through JSON keeps values.
	in := Workflow{ID: NewID(), Name: "w", Viewport: Viewport{X: 1, Y: 2, Zoom: 0.5}}
	b, _ := json.Marshal(in)
	var out Workflow
	if err := json.Unmarshal(b, &out); err != nil || out.Viewport != in.Viewport || out.Name != in.Name {
		t.Fatalf("%+v %v", out, err)
	}
}
