package idb

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
)

func sampleNodes() []graph.Node {
	wf := graph.NewID()
	return []graph.Node{
		{ID: graph.NewID(), WorkflowID: wf, Type: "t", UpdatedAt: 1, Version: 1},
		{
			ID: graph.NewID(), WorkflowID: wf, Type: "image-gen", Title: "Ünïcødé ✓", Status: "running",
			Position: graph.Position{X: 0.1, Y: -1e-300}, Size: &graph.Size{Width: 1 << 53, Height: 0},
			Config: json.RawMessage(`{"a":[1,2,{"b":null}]}`),
			Result: &graph.Result{
				Text:      "done",
				Asset:     &assetref.Ref{Kind: assetref.KindIDB, BlobKey: "k1", MIME: "image/webp", Bytes: 99, Hash: assetref.HashBytes([]byte("x"))},
				Thumbnail: "data:image/png;base64,AAAA",
				Data:      json.RawMessage(`[true]`),
			},
			UpdatedAt: 1735689600000, Version: 1 << 40,
		},
		{ID: graph.NewID(), WorkflowID: wf, Type: "t", Position: graph.Position{X: math.Copysign(0, -1), Y: math.MaxFloat64}, Result: &graph.Result{}},
		{ID: graph.NewID(), WorkflowID: wf, Type: "t", Position: graph.Position{X: 3.5, Y: float64(float32(0.1))}, Size: &graph.Size{Width: 1.25, Height: 1e20}},
	}
}

func TestCodecNodeRoundTrip(t *testing.T) {
	c := newCodec()
	for i, n := range sampleNodes() {
		body, trailer := c.appendNode(nil, &n)
		var got graph.Node
		if err := c.decodeNode(body, &got); err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, n) {
			t.Fatalf("node %d:\n got %+v\nwant %+v", i, got, n)
		}
		if math.Signbit(n.Position.X) != math.Signbit(got.Position.X) {
			t.Fatalf("node %d: sign of zero lost", i)
		}
		// The trailer holds exactly updatedAt and version.
		again := c.appendTrailer(append([]byte(nil), body[:trailer]...), n.UpdatedAt, n.Version)
		if !bytes.Equal(again, body) {
			t.Fatalf("node %d: re-trailered body differs", i)
		}
	}
}

func TestCodecWorkflowAndEdgeRoundTrip(t *testing.T) {
	c := newCodec()
	for _, w := range []graph.Workflow{
		{ID: graph.NewID(), Name: "W", Viewport: graph.DefaultViewport, CreatedAt: 5, UpdatedAt: 6, Version: 2},
		{ID: graph.NewID(), Name: "M", Viewport: graph.Viewport{X: -1.5, Y: 2e9, Zoom: 0.3}, Meta: json.RawMessage(`{"tags":["a"]}`)},
	} {
		body, _ := c.appendWorkflow(nil, &w)
		var got graph.Workflow
		if err := c.decodeWorkflow(body, &got); err != nil || !reflect.DeepEqual(got, w) {
			t.Fatalf("workflow: got %+v (%v), want %+v", got, err, w)
		}
	}
	for _, e := range []graph.Edge{
		{ID: graph.NewID(), WorkflowID: graph.NewID(), Source: graph.NewID(), Target: graph.NewID(), Version: 3, UpdatedAt: 4},
		{ID: graph.NewID(), Source: graph.NewID(), Target: graph.NewID(), SourceHandle: "out-1", TargetHandle: "in"},
	} {
		body, _ := c.appendEdge(nil, &e)
		var got graph.Edge
		if err := c.decodeEdge(body, &got); err != nil || got != e {
			t.Fatalf("edge: got %+v (%v), want %+v", got, err, e)
		}
	}
}

// Unknown keys are skipped, so a field added by a later migration does not
// break decoding; truncated or trailing bytes are errors.
func TestCodecTolerance(t *testing.T) {
	c := newCodec()
	n := sampleNodes()[1]
	body, _ := c.appendNode(nil, &n)
	var got graph.Node
	for cut := 0; cut < len(body); cut++ {
		if err := c.decodeNode(body[:cut], &got); err == nil {
			t.Fatalf("truncated body (%d of %d bytes) decoded", cut, len(body))
		}
	}
	if err := c.decodeNode(append(append([]byte(nil), body...), 0xc0), &got); err == nil {
		t.Fatal("trailing byte accepted")
	}
	// {"id": "x", "future": [1, 2], "type": "t"}
	extra := []byte{0x83, 0xa2, 'i', 'd', 0xa1, 'x', 0xa6, 'f', 'u', 't', 'u', 'r', 'e', 0x92, 1, 2, 0xa4, 't', 'y', 'p', 'e', 0xa1, 't'}
	if err := c.decodeNode(extra, &got); err != nil || got.ID != "x" || got.Type != "t" {
		t.Fatalf("unknown key: %+v, %v", got, err)
	}
}

func FuzzDecodeNode(f *testing.F) {
	c := newCodec()
	for _, n := range sampleNodes() {
		b, _ := c.appendNode(nil, &n)
		f.Add(b)
	}
	f.Add([]byte{0x80})
	f.Add([]byte{0x81, 0xa1, 'w', 0xcb})
	f.Fuzz(func(t *testing.T, b []byte) {
		c := newCodec()
		var n graph.Node
		if err := c.decodeNode(b, &n); err != nil {
			return
		}
		again, _ := c.appendNode(nil, &n)
		var m graph.Node
		if err := c.decodeNode(again, &m); err != nil {
			t.Fatalf("re-encoded node does not decode: %v", err)
		}
		if !reflect.DeepEqual(normNaN(n), normNaN(m)) {
			t.Fatalf("round trip changed the node:\n%+v\n%+v", n, m)
		}
	})
}

// normNaN replaces NaNs (which never compare equal) so DeepEqual works.
func normNaN(n graph.Node) graph.Node {
	fix := func(f *float64) {
		if math.IsNaN(*f) {
			*f = -42
		}
	}
	fix(&n.Position.X)
	fix(&n.Position.Y)
	if n.Size != nil {
		s := *n.Size
		fix(&s.Width)
		fix(&s.Height)
		n.Size = &s
	}
	return n
}

func FuzzDecodeWorkflow(f *testing.F) {
	c := newCodec()
	w := graph.Workflow{ID: graph.NewID(), Name: "W", Viewport: graph.DefaultViewport, Meta: json.RawMessage(`{}`)}
	b, _ := c.appendWorkflow(nil, &w)
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		c := newCodec()
		var w graph.Workflow
		if err := c.decodeWorkflow(b, &w); err != nil {
			return
		}
		again, _ := c.appendWorkflow(nil, &w)
		var w2 graph.Workflow
		if err := c.decodeWorkflow(again, &w2); err != nil {
			t.Fatalf("re-encoded workflow does not decode: %v", err)
		}
	})
}

func FuzzDecodeEdge(f *testing.F) {
	c := newCodec()
	e := graph.Edge{ID: graph.NewID(), Source: "a", Target: "b", SourceHandle: "h"}
	b, _ := c.appendEdge(nil, &e)
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		c := newCodec()
		var e graph.Edge
		if err := c.decodeEdge(b, &e); err != nil {
			return
		}
		again, _ := c.appendEdge(nil, &e)
		var e2 graph.Edge
		if err := c.decodeEdge(again, &e2); err != nil || e2 != e {
			t.Fatalf("edge round trip: %+v -> %+v (%v)", e, e2, err)
		}
	})
}

func BenchmarkEncodeNode(b *testing.B) {
	c := newCodec()
	n := sampleNodes()[1]
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf, _ = c.appendNode(buf[:0], &n)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodeNode(b *testing.B) {
	c := newCodec()
	n := sampleNodes()[1]
	body, _ := c.appendNode(nil, &n)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	var out graph.Node
	for i := 0; i < b.N; i++ {
		if err := c.decodeNode(body, &out); err != nil {
			b.Fatal(err)
		}
	}
}

// The JSON benchmarks measure the alternative body format on the same node,
// so the choice of msgpack stays backed by a number (run them in the
// browser: make bench).
func BenchmarkEncodeNodeJSON(b *testing.B) {
	n := sampleNodes()[1]
	b.ReportAllocs()
	var out []byte
	for i := 0; i < b.N; i++ {
		out, _ = json.Marshal(&n)
	}
	b.SetBytes(int64(len(out)))
}

func BenchmarkDecodeNodeJSON(b *testing.B) {
	n := sampleNodes()[1]
	body, _ := json.Marshal(&n)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for i := 0; i < b.N; i++ {
		var out graph.Node
		if err := json.Unmarshal(body, &out); err != nil {
			b.Fatal(err)
		}
	}
}
