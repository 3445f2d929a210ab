package jsoncodec

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
)

const graphJSON = `{"workflow":{"id":"w","name":"n","viewport":{"x":0,"y":-1.5,"zoom":1},"meta":{"k":[1,"<&>"]},"createdAt":1,"updatedAt":2,"version":3},` +
	`"nodes":[{"id":"a","type":"t","position":{"x":1,"y":2}},{"id":"b","type":"t","position":{"x":3,"y":4},"result":{"text":"ok"}}],` +
	`"edges":[{"id":"e","source":"a","target":"b","sourceHandle":"out","targetHandle":"in","version":1}]}`

const refJSON = `{"kind":"url","url":"https://example.com/a.png?x=1&y=2","mime":"image/png","bytes":12}`

// decodeCases are inputs for both ways of decoding; fast names the
// targets that must take the fast path (the others may or may not, but
// must agree if they do). The same cases seed the fuzz tests.
var decodeCases = []struct {
	in   string
	fast []string
}{
	// What JSON.stringify gives for what apps pass: the fast path.
	{`[]`, []string{"[]Node", "[]Edge"}},
	{`null`, []string{"[]Node", "[]Edge", "Graph"}},
	{`[{"type":"t"}]`, []string{"[]Node"}},
	{`[{"id":"a","position":{"x":1.5,"y":-2},"size":{"width":3,"height":4},"config":{"a":[1,2,{"b":null}]},` +
		`"result":{"text":"t","thumbnail":"data:,","data":[1]},"updatedAt":5,"version":6}]`, []string{"[]Node"}},
	{`[{"config":null}]`, []string{"[]Node"}}, // json.RawMessage("null")
	{`[{"config":"s"},{"config":1.50},{"config":true},{"config":  { "a" : 1 } }]`, []string{"[]Node"}},
	{`[{"size":null,"result":null,"title":null,"version":null}]`, []string{"[]Node"}},
	{`[null,{}]`, []string{"[]Node", "[]Edge"}},
	{`[{"extra":1,"data":{"deep":[{}]},"selected":true,"measured":{"width":1}}]`, []string{"[]Node", "[]Edge"}},
	{`[{"\u0069d":"x"}]`, []string{"[]Node", "[]Edge"}},
	{`[{"title":"caf\u00e9 \ud83d\ude00 \ud800 \udc00\ud800 x\"y\\z\/ \b\f\n\r\t\u0000"}]`, []string{"[]Node"}},
	{"[{\"title\":\"caf\u00e9 \u2028 \U0001F600\"}]", []string{"[]Node"}},
	{`[{"position":{"x":1,"y":2,"z":3}}]`, []string{"[]Node"}},
	{`[{"position":{"x":-0,"y":1E+2}},{"position":{"x":0.1,"y":5e-324}},{"position":{"x":1.7976931348623157e308,"y":-1e-400}}]`, []string{"[]Node"}},
	{`[{"version":-0,"updatedAt":-9223372036854775808}]`, []string{"[]Node"}},
	{graphJSON, []string{"Graph"}},
	{`{"workflow":null,"nodes":null,"edges":[]}`, []string{"Graph"}},
	{`{"workflow":{"id":"w","name":"n","viewport":{"x":0,"y":0,"zoom":1},"meta":null},"extra":[{}]}`, []string{"Graph"}},
	{`[{"result":{"asset":` + refJSON + `}}]`, []string{"[]Node"}},
	{`[{"result":{"asset":null}}]`, []string{"[]Node"}},
	{`[{"config":{"a":"\u2028<&>","b":"` + "\u2028" + `"}}]`, []string{"[]Node"}},
	{" \n[ {\"id\" : \"a\" , \"type\":\"t\"} ]\t", []string{"[]Node"}},
	{`[{"id":"a","type":"t"}]`, []string{"[]Node", "[]Edge"}},

	// Where the fast path could differ: it must give up (or agree).
	{`[{"ID":"x"}]`, nil},                 // encoding/json matches keys case-insensitively
	{`[{"ſtatus":"x"}]`, nil},             // U+017F folds to s
	{`[{"Position":{"x":1,"y":2}}]`, nil}, // and decodes into the field
	{`[{"work_flow_id":"x"}]`, nil},       // jsonv2-style loose matching
	{`[{"id":"a","id":"b"}]`, nil},        // repeated key
	{`[{"result":{"text":"a"},"result":{"thumbnail":"b"}}]`, nil},
	{`{"nodes":[{"id":"a","title":"t"}],"nodes":[{"id":"b"}]}`, nil}, // merged by encoding/json
	{`[{"position":null}]`, nil},
	{`[{"position":{"x":1}}]`, nil},
	{`[{"position":{"x":null,"y":0}}]`, nil},
	{`[{"position":{"X":1,"y":2}}]`, nil},
	{`[{"position":{"x":1,"y":2,"x":3}}]`, nil},
	{`[{"position":{"x":"1","y":2}}]`, nil},
	{`[{"position":[1,2]}]`, nil},
	{`[{"size":{"width":1}}]`, nil},
	{`[{"position":{"x":1e400,"y":0}}]`, nil},
	{`{"workflow":{"viewport":null}}`, nil},
	{`{"workflow":{"viewport":{"x":0,"y":0}}}`, nil},
	{`[{"version":1.5}]`, nil},
	{`[{"version":1e2}]`, nil},
	{`[{"version":"1"}]`, nil},
	{`[{"version":9223372036854775808}]`, nil},
	{`[{"id":5}]`, nil},
	{`[{"id":{}}]`, nil},
	{`[{"result":5}]`, nil},
	{`[{"result":{"asset":{"kind":"bogus"}}}]`, nil},
	{`[{"result":{"asset":"x"}}]`, nil},
	{`{"a":1}`, nil},
	{`[1]`, nil},
	{`["a"]`, nil},
	{`{"nodes":{}}`, nil},
	{`[{"id":"a",}]`, nil},
	{`[{"id":"a"}] x`, nil},
	{`[{"id":"a"}] []`, nil},
	{`[01]`, nil},
	{"[\"\x01\"]", nil},
	{`[{"title":"\x"}]`, nil},
	{"[{\"title\":\"\xff\"}]", nil},
	{"[{\"config\":\"\xff\"}]", nil},
	{"[{\"x\xff\":1}]", nil},
	{``, nil},
	{` `, nil},
	{`[{"config":` + repeat("[", 9999) + repeat("]", 9999) + `}]`, nil},
	{`[{"config":` + repeat("[", 10000) + repeat("]", 10000) + `}]`, nil},
	{`[{"config":{"a":1},"config":{"b":2}}]`, nil},
}

func TestDecodeAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, c := range decodeCases {
		took := checkDecode(t, []byte(c.in))
		for _, name := range c.fast {
			if !took[name] {
				t.Errorf("%s %.100q: gave up, want the fast path", name, c.in)
			}
		}
	}
}

// TestRealisticTakesFastPath guards against a fast path that always gives
// up, which the agreement tests would not notice.
func TestRealisticTakesFastPath(t *testing.T) {
	t.Parallel()
	data := realisticJSON(t, 1000)
	if took := checkDecode(t, data); !took["[]Node"] {
		t.Error("1000 realistic nodes: decoding gave up")
	}
	nodes := realisticNodes(1000, true)
	if !checkEncode(t, nodes) {
		t.Error("1000 realistic nodes: encoding gave up")
	}
	g := graph.Graph{Workflow: graph.Workflow{ID: "w", Name: "n", Viewport: graph.DefaultViewport}, Nodes: nodes,
		Edges: []graph.Edge{{ID: "e", Source: nodes[0].ID, Target: nodes[1].ID}}}
	if !checkEncode(t, g) {
		t.Error("a realistic graph: encoding gave up")
	}
}

// TestDecodeLeavesNonZeroTarget: decoding into a value that is not zero
// merges in encoding/json; the fast path leaves that to it.
func TestDecodeLeavesNonZeroTarget(t *testing.T) {
	nodes := []graph.Node{{ID: "x"}}
	if Unmarshal([]byte(`[]`), &nodes) || len(nodes) != 1 {
		t.Errorf("decoded into a non-nil slice: %+v", nodes)
	}
	g := graph.Graph{Workflow: graph.Workflow{Name: "x"}}
	if Unmarshal([]byte(`{}`), &g) {
		t.Error("decoded into a non-zero graph")
	}
	var s []string
	if Unmarshal([]byte(`[]`), &s) {
		t.Error("decoded a type it does not know")
	}
}

func encodeCases() []any {
	negZero := math.Copysign(0, -1)
	ref := assetref.Ref{Kind: assetref.KindURL, URL: "https://example.com/a.png?x=1&y=<2>", MIME: "image/png", Bytes: 12}
	node := func(title string, x, y float64) graph.Node {
		return graph.Node{ID: "a", Type: "t", Title: title, Position: graph.Position{X: x, Y: y}}
	}
	withConfig := func(c string) graph.Node { n := node("", 0, 0); n.Config = json.RawMessage(c); return n }
	return []any{
		realisticNodes(3, true),
		[]graph.Node(nil),
		[]graph.Node{},
		[]graph.Node{{}},
		graph.Graph{},
		graph.Graph{Nodes: []graph.Node{}, Edges: []graph.Edge{}},
		graph.Workflow{ID: "w", Name: "<n>", Viewport: graph.Viewport{X: 1e21, Y: 1e-7, Zoom: 0.1 + 0.2},
			Meta: json.RawMessage(` { "k" : [ 1 , "a b" ] } `), CreatedAt: -1, UpdatedAt: math.MaxInt64, Version: math.MinInt64},
		[]graph.Workflow{{}, {Name: "x"}},
		[]graph.Edge{{ID: "e", Source: "a", Target: "b", SourceHandle: "out&", TargetHandle: "in"}},
		graph.Edge{},
		node("<b>&amp;</b>", 1, 2),
		node("\b\f\n\r\t\x00\x1f\x7f\"\\/", 0, 0),
		node("\u2028\u2029 café 😀", 0, 0),
		node("caf\xe9 \xed\xa0\x80 \xff", 0, 0), // invalid UTF-8
		node("", negZero, 1e20),
		node("", 1e21, 1e-6),
		node("", 1e-7, -1e-7),
		node("", 123456789.123, 5e-324),
		node("", math.MaxFloat64, -math.MaxFloat64),
		node("", 1.5e-300, 1.5e300),
		node("", math.NaN(), 0),   // encoding/json fails: give up
		node("", math.Inf(1), 0),  // ditto
		node("", 0, math.Inf(-1)), // ditto
		graph.Node{Size: &graph.Size{Width: 1e-9, Height: 0.5}},
		withConfig(`{ "a" : [1, 2] }`),
		withConfig(`{"s":"<&> ` + "\u2028\u2029" + ` x","t":"a\"<\\u2028"}`),
		withConfig("\t\"x\"\n"),
		withConfig(`null`),
		withConfig(`{`),        // invalid: encoding/json fails, give up
		withConfig(`{"a":1}x`), // ditto
		graph.Node{Result: &graph.Result{Text: "t", Asset: &ref, Thumbnail: "data:image/png;base64,AA==", Data: json.RawMessage(`[ 1 ]`)}},
		graph.Node{Result: &graph.Result{}},
		graph.Node{Result: &graph.Result{Asset: &assetref.Ref{Kind: "bogus"}}}, // MarshalJSON fails
	}
}

func TestEncodeAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	gaveUp := 0
	for _, v := range encodeCases() {
		if !checkEncode(t, v) {
			gaveUp++
		}
	}
	// NaN, two infinities, two invalid configs, an invalid ref.
	if gaveUp != 6 {
		t.Errorf("gave up on %d values, want 6", gaveUp)
	}
	if _, ok := Marshal([]string{}); ok {
		t.Error("encoded a type it does not know")
	}
}
