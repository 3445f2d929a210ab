package recbody

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/msgp"
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
	c := New()
	for i, n := range sampleNodes() {
		body, trailer := c.AppendNode(nil, &n)
		var got graph.Node
		if err := c.DecodeNode(body, &got); err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, n) {
			t.Fatalf("node %d:\n got %+v\nwant %+v", i, got, n)
		}
		if math.Signbit(n.Position.X) != math.Signbit(got.Position.X) {
			t.Fatalf("node %d: sign of zero lost", i)
		}
		// The trailer holds exactly updatedAt and version.
		again := c.AppendTrailer(append([]byte(nil), body[:trailer]...), n.UpdatedAt, n.Version)
		if !bytes.Equal(again, body) {
			t.Fatalf("node %d: re-trailered body differs", i)
		}
	}
}

func TestCodecWorkflowAndEdgeRoundTrip(t *testing.T) {
	c := New()
	for _, w := range []graph.Workflow{
		{ID: graph.NewID(), Name: "W", Viewport: graph.DefaultViewport, CreatedAt: 5, UpdatedAt: 6, Version: 2},
		{ID: graph.NewID(), Name: "M", Viewport: graph.Viewport{X: -1.5, Y: 2e9, Zoom: 0.3}, Meta: json.RawMessage(`{"tags":["a"]}`)},
	} {
		body, _ := c.AppendWorkflow(nil, &w)
		var got graph.Workflow
		if err := c.DecodeWorkflow(body, &got); err != nil || !reflect.DeepEqual(got, w) {
			t.Fatalf("workflow: got %+v (%v), want %+v", got, err, w)
		}
	}
	for _, e := range []graph.Edge{
		{ID: graph.NewID(), WorkflowID: graph.NewID(), Source: graph.NewID(), Target: graph.NewID(), Version: 3, UpdatedAt: 4},
		{ID: graph.NewID(), Source: graph.NewID(), Target: graph.NewID(), SourceHandle: "out-1", TargetHandle: "in"},
	} {
		body, _ := c.AppendEdge(nil, &e)
		var got graph.Edge
		if err := c.DecodeEdge(body, &got); err != nil || got != e {
			t.Fatalf("edge: got %+v (%v), want %+v", got, err, e)
		}
	}
}

// Unknown keys are skipped, so a field added by a later migration does not
// break decoding; truncated or trailing bytes are errors.
func TestCodecTolerance(t *testing.T) {
	c := New()
	n := sampleNodes()[1]
	body, _ := c.AppendNode(nil, &n)
	var got graph.Node
	for cut := 0; cut < len(body); cut++ {
		if err := c.DecodeNode(body[:cut], &got); err == nil {
			t.Fatalf("truncated body (%d of %d bytes) decoded", cut, len(body))
		}
	}
	if err := c.DecodeNode(append(append([]byte(nil), body...), 0xc0), &got); err == nil {
		t.Fatal("trailing byte accepted")
	}
	// {"id": "x", "future": [1, 2], "type": "t"}
	extra := []byte{0x83, 0xa2, 'i', 'd', 0xa1, 'x', 0xa6, 'f', 'u', 't', 'u', 'r', 'e', 0x92, 1, 2, 0xa4, 't', 'y', 'p', 'e', 0xa1, 't'}
	if err := c.DecodeNode(extra, &got); err != nil || got.ID != "x" || got.Type != "t" {
		t.Fatalf("unknown key: %+v, %v", got, err)
	}
}

func FuzzDecodeNode(f *testing.F) {
	c := New()
	for _, n := range sampleNodes() {
		b, _ := c.AppendNode(nil, &n)
		f.Add(b)
	}
	f.Add([]byte{0x80})
	f.Add([]byte{0x81, 0xa1, 'w', 0xcb})
	f.Fuzz(func(t *testing.T, b []byte) {
		c := New()
		var n graph.Node
		if err := c.DecodeNode(b, &n); err != nil {
			return
		}
		again, _ := c.AppendNode(nil, &n)
		var m graph.Node
		if err := c.DecodeNode(again, &m); err != nil {
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
	c := New()
	w := graph.Workflow{ID: graph.NewID(), Name: "W", Viewport: graph.DefaultViewport, Meta: json.RawMessage(`{}`)}
	b, _ := c.AppendWorkflow(nil, &w)
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		c := New()
		var w graph.Workflow
		if err := c.DecodeWorkflow(b, &w); err != nil {
			return
		}
		again, _ := c.AppendWorkflow(nil, &w)
		var w2 graph.Workflow
		if err := c.DecodeWorkflow(again, &w2); err != nil {
			t.Fatalf("re-encoded workflow does not decode: %v", err)
		}
	})
}

func FuzzDecodeEdge(f *testing.F) {
	c := New()
	e := graph.Edge{ID: graph.NewID(), Source: "a", Target: "b", SourceHandle: "h"}
	b, _ := c.AppendEdge(nil, &e)
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		c := New()
		var e graph.Edge
		if err := c.DecodeEdge(b, &e); err != nil {
			return
		}
		again, _ := c.AppendEdge(nil, &e)
		var e2 graph.Edge
		if err := c.DecodeEdge(again, &e2); err != nil || e2 != e {
			t.Fatalf("edge round trip: %+v -> %+v (%v)", e, e2, err)
		}
	})
}

func BenchmarkEncodeNode(b *testing.B) {
	c := New()
	n := sampleNodes()[1]
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf, _ = c.AppendNode(buf[:0], &n)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodeNode(b *testing.B) {
	c := New()
	n := sampleNodes()[1]
	body, _ := c.AppendNode(nil, &n)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	var out graph.Node
	for i := 0; i < b.N; i++ {
		if err := c.DecodeNode(body, &out); err != nil {
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

// boundaryStrings have the lengths where msgpack changes string and
// binary headers.
func boundaryStrings() []string {
	var out []string
	for _, n := range []int{0, 1, 31, 32, 255, 256, 65535, 65536} {
		out = append(out, strings.Repeat("é", n/2)+strings.Repeat("x", n%2))
	}
	return out
}

// boundaryNumbers are where msgpack changes integer and float encodings.
var boundaryNumbers = []float64{0, math.Copysign(0, -1), 1, -1, 127, 128, 255, 256, -32, -33, -128, -129,
	-32768, -32769, 65535, 65536, 1<<31 - 1, -1 << 31, -1<<31 - 1, 1<<32 - 1, 1 << 32, 1<<53 - 1, 1 << 53,
	-(1<<53 - 1), 0.5, 0.1, 1e300, -1e-300, math.MaxFloat64, math.SmallestNonzeroFloat64,
	math.Inf(1), math.Inf(-1), float64(float32(0.1))}

// TestCodecMatchesReference checks that bodies are written byte for byte as
// the first codec wrote them, trailer offsets included.
func TestCodecMatchesReference(t *testing.T) {
	c, ref := New(), newRefCodec()
	check := func(what string, got []byte, gotAt int, want []byte, wantAt int) {
		t.Helper()
		if !bytes.Equal(got, want) || gotAt != wantAt {
			t.Fatalf("%s: body differs from the reference codec\n got %x (trailer at %d)\nwant %x (trailer at %d)", what, got, gotAt, want, wantAt)
		}
	}
	nodes := sampleNodes()
	for i, s := range boundaryStrings() {
		f := boundaryNumbers[i%len(boundaryNumbers)]
		nodes = append(nodes, graph.Node{ID: s, WorkflowID: s, Type: s, Title: s, Status: s,
			Position: graph.Position{X: f, Y: -f}, Size: &graph.Size{Width: f, Height: f / 3},
			Config: json.RawMessage(s), Result: &graph.Result{Text: s, Thumbnail: s, Data: json.RawMessage(s)},
			UpdatedAt: int64(f), Version: int64(-f)})
	}
	for _, f := range boundaryNumbers {
		nodes = append(nodes, graph.Node{Position: graph.Position{X: f, Y: f * 2}, UpdatedAt: int64(f), Version: math.MinInt64})
	}
	for i := range nodes {
		got, gotAt := c.AppendNode([]byte("prefix"), &nodes[i])
		want, wantAt := ref.appendNode([]byte("prefix"), &nodes[i])
		check(fmt.Sprint("node ", i), got, gotAt, want, wantAt)
	}
	for i, s := range boundaryStrings() {
		f := boundaryNumbers[i]
		w := graph.Workflow{ID: s, Name: s, Viewport: graph.Viewport{X: f, Y: -f, Zoom: f / 7}, Meta: json.RawMessage(s),
			CreatedAt: int64(f), UpdatedAt: math.MaxInt64, Version: int64(i)}
		got, gotAt := c.AppendWorkflow(nil, &w)
		want, wantAt := ref.appendWorkflow(nil, &w)
		check(fmt.Sprint("workflow ", i), got, gotAt, want, wantAt)
		e := graph.Edge{ID: s, WorkflowID: s, Source: s, Target: s, SourceHandle: s, TargetHandle: s, UpdatedAt: -int64(f)}
		got, gotAt = c.AppendEdge(nil, &e)
		want, wantAt = ref.appendEdge(nil, &e)
		check(fmt.Sprint("edge ", i), got, gotAt, want, wantAt)
	}
}

func FuzzEncodeMatchesReference(f *testing.F) {
	f.Add("title", 1.5, -3.0, int64(7), []byte(`{"a":1}`), "text")
	f.Add("", 1e300, 0.0, int64(-1), []byte(nil), "")
	f.Fuzz(func(t *testing.T, s string, x, y float64, v int64, cfg []byte, text string) {
		n := graph.Node{ID: s, WorkflowID: "w", Type: s, Title: s, Position: graph.Position{X: x, Y: y},
			Size: &graph.Size{Width: y, Height: x}, Config: cfg, UpdatedAt: v, Version: -v}
		if text != "" {
			n.Result = &graph.Result{Text: text, Data: cfg}
		}
		got, gotAt := New().AppendNode(nil, &n)
		want, wantAt := newRefCodec().appendNode(nil, &n)
		if !bytes.Equal(got, want) || gotAt != wantAt {
			t.Fatalf("body differs from the reference codec\n got %x\nwant %x", got, want)
		}
	})
}

// FuzzDecodeMatchesReference checks that whatever body the first codec
// decoded, the codec decodes to the same node.
func FuzzDecodeMatchesReference(f *testing.F) {
	c := New()
	for _, n := range sampleNodes() {
		b, _ := c.AppendNode(nil, &n)
		f.Add(b)
	}
	f.Add([]byte{0x82, 0xa1, 'x', 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xa2, 'i', 'd', 0xc4, 1, 'z'})
	f.Fuzz(func(t *testing.T, b []byte) {
		// Deliberate differences: the reference unwraps extension
		// types in places (a map inside an ext header reads as the map);
		// the codec never writes them and reads them only to skip them.
		for _, c := range b {
			if c >= msgp.Ext8 && c <= msgp.Ext32 || c >= msgp.FixExt1 && c <= msgp.FixExt16 {
				return
			}
		}
		var want, got graph.Node
		if err := newRefCodec().decodeNode(b, &want); err != nil {
			return
		}
		if err := New().DecodeNode(b, &got); errors.Is(err, errTooDeep) {
			return // the reference has no limit
		} else if err != nil {
			t.Fatalf("the reference codec decodes %x, the codec fails: %v", b, err)
		}
		// And a uint64 above MaxInt64 (never written, see num) read as a
		// coordinate wraps to a negative number in the reference and
		// keeps its value in the codec.
		if bytes.IndexByte(b, msgp.Uint64) >= 0 {
			return
		}
		if !reflect.DeepEqual(normNaN(got), normNaN(want)) {
			t.Fatalf("decoded differently:\n got %+v\nwant %+v", got, want)
		}
	})
}

// storedBodies are bodies as the store has written them since its first
// release (msgpack maps with short keys, see codec.go), with the entities
// they hold. Databases in the field hold such bytes: the codec must read
// them and, for the same entity, write them again byte for byte (unchanged
// writes are skipped by comparing bodies).
var storedBodies = []struct {
	hex     string
	trailer int
	entity  any
}{
	{"8da26964d92430313930663061312d376232632d376433652d386634302d356136623763386439653066a27766d92430313930663061312d376232632d376433652d386634302d303030303030303030303031a474797065a9696d6167652d67656ea57469746c65a94865726f2073686f74a6737461747573a4646f6e65a17828a179cac2a10000a177ccf0a168cb3fb999999999999aa6636f6e666967c40c7b227374657073223a33307da6726573756c7484a474657874a26f6ba5617373657485a46b696e64a3696462a7626c6f624b6579a26b31a46d696d65aa696d6167652f77656270a56279746573ce0002cc7ea468617368d9337368613235362d4c5845575172636d73455142596e79702b3677793963685444374751504d546241695748463549615349453da57468756d62a6646174613a2ca464617461c4035b315da9757064617465644174cf000001941f297c00a776657273696f6e07",
		323, graph.Node{ID: "0190f0a1-7b2c-7d3e-8f40-5a6b7c8d9e0f", WorkflowID: "0190f0a1-7b2c-7d3e-8f40-000000000001", Type: "image-gen",
			Title: "Hero shot", Status: "done", Position: graph.Position{X: 40, Y: -80.5}, Size: &graph.Size{Width: 240, Height: 0.1},
			Config: json.RawMessage(`{"steps":30}`),
			Result: &graph.Result{Text: "ok", Thumbnail: "data:,", Data: json.RawMessage(`[1]`),
				Asset: &assetref.Ref{Kind: assetref.KindIDB, BlobKey: "k1", MIME: "image/webp", Bytes: 183422, Hash: "sha256-LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE="}},
			UpdatedAt: 1735689600000, Version: 7}},
	{"87a26964d92430313930663061312d376232632d376433652d386634302d303030303030303030303032a27766d92430313930663061312d376232632d376433652d386634302d303030303030303030303031a3737263d92430313930663061312d376232632d376433652d386634302d356136623763386439653066a3647374d92430313930663061312d376232632d376433652d386634302d303030303030303030303033a973726348616e646c65a5696d616765a9757064617465644174cf000001941f297c01a776657273696f6e01",
		183, graph.Edge{ID: "0190f0a1-7b2c-7d3e-8f40-000000000002", WorkflowID: "0190f0a1-7b2c-7d3e-8f40-000000000001",
			Source: "0190f0a1-7b2c-7d3e-8f40-5a6b7c8d9e0f", Target: "0190f0a1-7b2c-7d3e-8f40-000000000003", SourceHandle: "image",
			UpdatedAt: 1735689600001, Version: 1}},
	{"89a26964d92430313930663061312d376232632d376433652d386634302d303030303030303030303031a46e616d65aa53746f7279626f617264a27678cac2f10000a2767928a47a6f6f6dca3f400000a46d657461c40e7b2274616773223a5b2261225d7da9637265617465644174cf000001941f205440a9757064617465644174cf000001941f297c00a776657273696f6e0c",
		120, graph.Workflow{ID: "0190f0a1-7b2c-7d3e-8f40-000000000001", Name: "Storyboard", Viewport: graph.Viewport{X: -120.5, Y: 40, Zoom: 0.75},
			Meta: json.RawMessage(`{"tags":["a"]}`), CreatedAt: 1735689000000, UpdatedAt: 1735689600000, Version: 12}},
}

func TestCodecStoredBodies(t *testing.T) {
	c := New()
	for i, sb := range storedBodies {
		body, err := hex.DecodeString(sb.hex)
		if err != nil {
			t.Fatal(err)
		}
		var got, gotRef any
		var out []byte
		var at int
		switch want := sb.entity.(type) {
		case graph.Node:
			var n, m graph.Node
			err = errors.Join(c.DecodeNode(body, &n), newRefCodec().decodeNode(body, &m))
			got, gotRef = n, m
			out, at = c.AppendNode(nil, &want)
		case graph.Edge:
			var e, f graph.Edge
			err = errors.Join(c.DecodeEdge(body, &e), newRefCodec().decodeEdge(body, &f))
			got, gotRef = e, f
			out, at = c.AppendEdge(nil, &want)
		case graph.Workflow:
			var w, x graph.Workflow
			err = errors.Join(c.DecodeWorkflow(body, &w), newRefCodec().decodeWorkflow(body, &x))
			got, gotRef = w, x
			out, at = c.AppendWorkflow(nil, &want)
		}
		if err != nil {
			t.Fatalf("body %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, sb.entity) || !reflect.DeepEqual(gotRef, sb.entity) {
			t.Fatalf("body %d decodes to\n %+v (reference: %+v)\nwant %+v", i, got, gotRef, sb.entity)
		}
		if !bytes.Equal(out, body) || at != sb.trailer {
			t.Fatalf("body %d encodes to\n %x (trailer at %d)\nwant %x (trailer at %d)", i, out, at, body, sb.trailer)
		}
	}
}
