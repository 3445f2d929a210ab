package jsoncodec

import (
	"encoding/json"
	"testing"

	"github.com/atelierstore/atelier/graph"
)

// FuzzDecode checks that on any input, for every type, the fast path
// either gives up or gives exactly encoding/json's value.
func FuzzDecode(f *testing.F) {
	for _, c := range decodeCases {
		f.Add([]byte(c.in))
	}
	f.Add(realisticJSON(f, 3))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, data)
	})
}

// FuzzEncode checks that the fast path either gives up or writes exactly
// json.Marshal's bytes: for nodes with any title, coordinates and config
// bytes, and for whatever encoding/json decodes from data.
func FuzzEncode(f *testing.F) {
	f.Add("t", 1.5, -2.0, []byte(`{"a":[1, "<&>"]}`), []byte(`[{"type":"t"}]`))
	f.Add("\u2028<b>\xff", 1e21, 1e-7, []byte(" null "), []byte(graphJSON))
	f.Add("", 0.0, 0.0, []byte(`{`), realisticJSON(f, 2))
	f.Fuzz(func(t *testing.T, title string, x, y float64, config, data []byte) {
		n := graph.Node{Title: title, Position: graph.Position{X: x, Y: y}, Config: config,
			Result: &graph.Result{Text: title, Data: config}}
		checkEncode(t, []graph.Node{n})
		checkEncode(t, graph.Workflow{Name: title, Viewport: graph.Viewport{X: x, Y: y, Zoom: 1}, Meta: config})
		var nodes []graph.Node
		if json.Unmarshal(data, &nodes) == nil {
			checkEncode(t, nodes)
		}
		var g graph.Graph
		if json.Unmarshal(data, &g) == nil {
			checkEncode(t, g)
		}
	})
}
