package recbody

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
)

// The codec benchmarks compare the codec (hand-written, msgp.go) with the
// same body format written and read through
// github.com/vmihailenco/msgpack/v5 (refCodec) on typical entities. They run on the host and, the figure that
// matters, in the browser:
//
//	GOOS=js GOARCH=wasm go test -exec wasmbrowsertest -run XXX -bench Codec ./internal/recbody

// typicalNode is a node as an editor stores it (about 300 bytes of body).
func typicalNode(i int, wf string) graph.Node {
	return graph.Node{
		ID: graph.NewID(), WorkflowID: wf, Type: "image-generation",
		Title: fmt.Sprintf("Render pass %d", i), Status: "idle",
		Position: graph.Position{X: float64(i%100) * 260, Y: float64(i/100) * 180.5},
		Size:     &graph.Size{Width: 240, Height: 160},
		Config: json.RawMessage(fmt.Sprintf(`{"model":"sdxl-1.0","prompt":"a lighthouse on a cliff at dusk, volumetric light, %d","negative":"blurry, low quality","steps":30,"cfg":7.5,"seed":%d,"sampler":"dpmpp_2m"}`,
			i, 1000+i)),
		UpdatedAt: 1735689600000 + int64(i), Version: 3,
	}
}

func resultNode(wf string) graph.Node {
	n := typicalNode(7, wf)
	n.Status = "done"
	n.Result = &graph.Result{
		Asset:     &assetref.Ref{Kind: assetref.KindIDB, BlobKey: graph.NewID(), MIME: "image/webp", Bytes: 183422, Hash: assetref.HashBytes([]byte("x"))},
		Thumbnail: "data:image/webp;base64,UklGRiQAAABXRUJQVlA4IBgAAAAwAQCdASoBAAEAAwA0JaQAA3AA/vuUAAA=",
	}
	return n
}

func typicalEdge(wf string) graph.Edge {
	return graph.Edge{ID: graph.NewID(), WorkflowID: wf, Source: graph.NewID(), Target: graph.NewID(),
		SourceHandle: "image", TargetHandle: "input-1", UpdatedAt: 1735689600000, Version: 1}
}

func typicalWorkflow() graph.Workflow {
	return graph.Workflow{ID: graph.NewID(), Name: "Storyboard — spring campaign",
		Viewport: graph.Viewport{X: -120.5, Y: 40, Zoom: 0.75}, Meta: json.RawMessage(`{"tags":["campaign","2025"]}`),
		CreatedAt: 1735689000000, UpdatedAt: 1735689600000, Version: 12}
}

// bodyCodec is what the benchmarks need of a codec.
type bodyCodec struct {
	appendNode     func(dst []byte, n *graph.Node) ([]byte, int)
	appendEdge     func(dst []byte, e *graph.Edge) ([]byte, int)
	appendWorkflow func(dst []byte, w *graph.Workflow) ([]byte, int)
	decodeNode     func(b []byte, shared string, n *graph.Node) error
	decodeEdge     func(b []byte, shared string, e *graph.Edge) error
	decodeWorkflow func(b []byte, shared string, w *graph.Workflow) error
}

func benchCodecs() []struct {
	name string
	c    bodyCodec
} {
	h, r := New(), newRefCodec()
	return []struct {
		name string
		c    bodyCodec
	}{
		{"hand", bodyCodec{h.AppendNode, h.AppendEdge, h.AppendWorkflow, h.DecodeNodeIn, h.DecodeEdgeIn, h.DecodeWorkflowIn}},
		{"lib", bodyCodec{r.appendNode, r.appendEdge, r.appendWorkflow,
			func(b []byte, _ string, n *graph.Node) error { return r.decodeNode(b, n) },
			func(b []byte, _ string, e *graph.Edge) error { return r.decodeEdge(b, e) },
			func(b []byte, _ string, w *graph.Workflow) error { return r.decodeWorkflow(b, w) }}},
	}
}

func BenchmarkCodec(b *testing.B) {
	wf := graph.NewID()
	node, rnode, edge, w := typicalNode(1, wf), resultNode(wf), typicalEdge(wf), typicalWorkflow()
	h := New()
	bodies := map[string][]byte{}
	bodies["node"], _ = h.AppendNode(nil, &node)
	bodies["resultNode"], _ = h.AppendNode(nil, &rnode)
	bodies["edge"], _ = h.AppendEdge(nil, &edge)
	bodies["workflow"], _ = h.AppendWorkflow(nil, &w)
	for _, bc := range benchCodecs() {
		c := bc.c
		enc := map[string]func(dst []byte) []byte{
			"node":       func(dst []byte) []byte { dst, _ = c.appendNode(dst, &node); return dst },
			"resultNode": func(dst []byte) []byte { dst, _ = c.appendNode(dst, &rnode); return dst },
			"edge":       func(dst []byte) []byte { dst, _ = c.appendEdge(dst, &edge); return dst },
			"workflow":   func(dst []byte) []byte { dst, _ = c.appendWorkflow(dst, &w); return dst },
		}
		var n graph.Node
		var e graph.Edge
		var wo graph.Workflow
		dec := map[string]func(b []byte, s string) error{
			"node":       func(b []byte, s string) error { return c.decodeNode(b, s, &n) },
			"resultNode": func(b []byte, s string) error { return c.decodeNode(b, s, &n) },
			"edge":       func(b []byte, s string) error { return c.decodeEdge(b, s, &e) },
			"workflow":   func(b []byte, s string) error { return c.decodeWorkflow(b, s, &wo) },
		}
		for _, what := range []string{"node", "resultNode", "edge", "workflow"} {
			b.Run("encode/"+what+"/"+bc.name, func(b *testing.B) {
				buf := make([]byte, 0, 1024)
				b.ReportAllocs()
				for range b.N {
					buf = enc[what](buf[:0])
				}
				b.SetBytes(int64(len(buf)))
			})
			b.Run("decode/"+what+"/"+bc.name, func(b *testing.B) {
				body := bodies[what]
				shared := string(body)
				b.ReportAllocs()
				b.SetBytes(int64(len(body)))
				for range b.N {
					if err := dec[what](body, shared); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkCodec10k is the codec's share of writing and of loading a
// workflow of 10,000 typical nodes: one buffer of bodies, as write and
// decodeAll use it.
func BenchmarkCodec10k(b *testing.B) {
	const count = 10000
	wf := graph.NewID()
	nodes := make([]graph.Node, count)
	for i := range nodes {
		nodes[i] = typicalNode(i, wf)
	}
	h := New()
	var all []byte
	ends := make([]int, count)
	for i := range nodes {
		all, _ = h.AppendNode(all, &nodes[i])
		ends[i] = len(all)
	}
	shared := string(all)
	for _, bc := range benchCodecs() {
		c := bc.c
		b.Run("encode/"+bc.name, func(b *testing.B) {
			buf := make([]byte, 0, len(all))
			b.ReportAllocs()
			for range b.N {
				buf = buf[:0]
				for i := range nodes {
					buf, _ = c.appendNode(buf, &nodes[i])
				}
			}
		})
		b.Run("decode/"+bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				out := make([]graph.Node, count)
				start := 0
				for i := range out {
					if err := c.decodeNode(all[start:ends[i]], shared[start:ends[i]], &out[i]); err != nil {
						b.Fatal(err)
					}
					start = ends[i]
				}
			}
		})
	}
}
