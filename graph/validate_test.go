package graph

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/errs"
)

const (
	wfID = "0190f5a4-8f3c-7cc1-9a57-3c1f6a6c2a10"
	n1   = "0190f5a4-8f3c-7cc1-9a57-3c1f6a6c2a11"
	n2   = "0190f5a4-8f3c-7cc1-9a57-3c1f6a6c2a12"
	e1   = "0190f5a4-8f3c-7cc1-9a57-3c1f6a6c2a13"
)

func TestNewIDIsCanonicalV7(t *testing.T) {
	seen := map[string]bool{}
	prev := ""
	for i := 0; i < 1000; i++ {
		id := NewID()
		if !ValidID(id) {
			t.Fatalf("NewID() = %q, not canonical", id)
		}
		if id[14] != '7' {
			t.Fatalf("NewID() = %q, not version 7", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		if id <= prev {
			t.Fatalf("ids not increasing: %q after %q", id, prev)
		}
		seen[id], prev = true, id
	}
}

func TestValidID(t *testing.T) {
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{wfID, true},
		{"00000000-0000-0000-0000-000000000000", true},
		{strings.ToUpper(wfID), false},
		{"{" + wfID + "}", false},
		{"urn:uuid:" + wfID, false},
		{wfID[:35], false},
		{strings.ReplaceAll(wfID, "-", "_"), false},
		{"0190f5a48f3c7cc19a573c1f6a6c2a10", false},
		{"", false},
		{"0190f5a4-8f3c-7cc1-9a57-3c1f6a6c2a1g", false},
	} {
		if got := ValidID(tc.id); got != tc.ok {
			t.Errorf("ValidID(%q) = %v, want %v", tc.id, got, tc.ok)
		}
	}
}

func validNode() Node {
	return Node{ID: n1, WorkflowID: wfID, Type: "image", Title: "Render", Position: Position{1, 2}}
}

func TestNodeValidate(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	ok := validNode()
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid node: %v", err)
	}
	for _, tc := range []struct {
		name  string
		mut   func(n *Node)
		field string
	}{
		{"bad id", func(n *Node) { n.ID = "n1" }, "id"},
		{"bad workflow id", func(n *Node) { n.WorkflowID = "W" }, "workflowId"},
		{"empty type", func(n *Node) { n.Type = "" }, "type"},
		{"type with space", func(n *Node) { n.Type = "a b" }, "type"},
		{"long type", func(n *Node) { n.Type = strings.Repeat("t", MaxTypeLen+1) }, "type"},
		{"long title", func(n *Node) { n.Title = strings.Repeat("é", MaxTitleLen+1) }, "title"},
		{"control in title", func(n *Node) { n.Title = "a\x00b" }, "title"},
		{"bad utf8 title", func(n *Node) { n.Title = "\xff" }, "title"},
		{"nan x", func(n *Node) { n.Position.X = nan }, "position.x"},
		{"inf y", func(n *Node) { n.Position.Y = inf }, "position.y"},
		{"negative width", func(n *Node) { n.Size = &Size{Width: -1, Height: 1} }, "size.width"},
		{"nan height", func(n *Node) { n.Size = &Size{Width: 1, Height: nan} }, "size.height"},
		{"bad config", func(n *Node) { n.Config = json.RawMessage(`{"a":`) }, "config"},
		{"huge config", func(n *Node) { n.Config = json.RawMessage(`"` + strings.Repeat("x", MaxJSONBytes) + `"`) }, "config"},
		{"big thumbnail", func(n *Node) {
			n.Result = &Result{Thumbnail: "data:image/png;base64," + strings.Repeat("A", MaxThumbnailBytes)}
		}, "result.thumbnail"},
		{"thumbnail not data url", func(n *Node) { n.Result = &Result{Thumbnail: "https://x/y.png"} }, "result.thumbnail"},
		{"bad asset", func(n *Node) { n.Result = &Result{Asset: &assetref.Ref{Kind: "ftp"}} }, "result.asset"},
		{"bad result data", func(n *Node) { n.Result = &Result{Data: json.RawMessage(`nope`)} }, "result.data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := validNode()
			tc.mut(&n)
			err := n.Validate()
			var ve *errs.ValidationError
			if !errors.Is(err, errs.ErrInvalid) || !errors.As(err, &ve) {
				t.Fatalf("Validate() = %v, want a ValidationError", err)
			}
			if ve.Field != tc.field {
				t.Fatalf("field %q, want %q (%v)", ve.Field, tc.field, err)
			}
		})
	}
}

func TestWorkflowValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		w     Workflow
		field string // "" = valid
	}{
		{"ok", Workflow{ID: wfID, Name: "My flow", Viewport: DefaultViewport}, ""},
		{"no id yet", Workflow{Name: "x", Viewport: DefaultViewport}, ""},
		{"empty name", Workflow{Name: "  ", Viewport: DefaultViewport}, "name"},
		{"long name", Workflow{Name: strings.Repeat("n", MaxNameLen+1), Viewport: DefaultViewport}, "name"},
		{"max name", Workflow{Name: strings.Repeat("ñ", MaxNameLen), Viewport: DefaultViewport}, ""},
		{"newline in name", Workflow{Name: "a\nb", Viewport: DefaultViewport}, "name"},
		{"zero zoom", Workflow{Name: "x"}, "viewport.zoom"},
		{"nan viewport", Workflow{Name: "x", Viewport: Viewport{X: math.NaN(), Zoom: 1}}, "viewport.x"},
		{"bad meta", Workflow{Name: "x", Viewport: DefaultViewport, Meta: json.RawMessage("{")}, "meta"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.w.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			var ve *errs.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field {
				t.Fatalf("Validate() = %v, want field %q", err, tc.field)
			}
		})
	}
}

func TestGraphValidate(t *testing.T) {
	good := func() Graph {
		a, b := validNode(), validNode()
		b.ID = n2
		return Graph{
			Workflow: Workflow{ID: wfID, Name: "g", Viewport: DefaultViewport},
			Nodes:    []Node{a, b},
			Edges:    []Edge{{ID: e1, WorkflowID: wfID, Source: n1, Target: n2}},
		}
	}
	g := good()
	if err := g.Validate(); err != nil {
		t.Fatalf("valid graph: %v", err)
	}
	for _, tc := range []struct {
		name string
		mut  func(g *Graph)
	}{
		{"dangling target", func(g *Graph) { g.Edges[0].Target = "0190f5a4-8f3c-7cc1-9a57-3c1f6a6c2aff" }},
		{"duplicate node", func(g *Graph) { g.Nodes[1].ID = n1 }},
		{"node of another workflow", func(g *Graph) { g.Nodes[0].WorkflowID = e1 }},
		{"edge of another workflow", func(g *Graph) { g.Edges[0].WorkflowID = "" }},
		{"missing node id", func(g *Graph) { g.Nodes[0].ID = "" }},
		{"duplicate edge", func(g *Graph) { g.Edges = append(g.Edges, g.Edges[0]) }},
		{"workflow without id", func(g *Graph) { g.Workflow.ID = "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := good()
			tc.mut(&g)
			if err := g.Validate(); !errors.Is(err, errs.ErrInvalid) {
				t.Fatalf("Validate() = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestNodePatch(t *testing.T) {
	n := validNode()
	n.Size = &Size{10, 10}
	n.Result = &Result{Text: "old"}
	title, pos := "New", Position{5, 6}
	p := NodePatch{Title: &title, Position: &pos, Size: &Size{3, 4}}
	if p.Empty() {
		t.Fatal("patch reported empty")
	}
	p.Apply(&n)
	if n.Title != "New" || n.Position != pos || *n.Size != (Size{3, 4}) || n.Result.Text != "old" || n.Type != "image" {
		t.Fatalf("after patch: %+v", n)
	}
	(&NodePatch{ClearSize: true, ClearResult: true}).Apply(&n)
	if n.Size != nil || n.Result != nil {
		t.Fatalf("clear did not clear: %+v", n)
	}
	if !(&NodePatch{}).Empty() {
		t.Fatal("zero patch not empty")
	}
	// The patch's values must not alias the node's.
	cfg := json.RawMessage(`{"a":1}`)
	(&NodePatch{Config: cfg}).Apply(&n)
	cfg[2] = 'b'
	if string(n.Config) != `{"a":1}` {
		t.Fatalf("config aliases the patch: %s", n.Config)
	}
	// JSON null removes the config, as an empty one does.
	for _, none := range []json.RawMessage{json.RawMessage(`null`), json.RawMessage(` null `), {}} {
		n.Config = json.RawMessage(`{"a":1}`)
		(&NodePatch{Config: none}).Apply(&n)
		if n.Config != nil {
			t.Fatalf("config after a patch of %q: %s", none, n.Config)
		}
	}
}
