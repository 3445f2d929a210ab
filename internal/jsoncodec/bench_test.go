package jsoncodec

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/atelierstore/atelier/graph"
)

// The benchmarks decode and encode 10k realistic nodes both ways, as the
// JavaScript API does: setNodes decodes JSON.stringify's text, results are
// encoded for JSON.parse. Run them in Chromium (see doc.go) for the figures
// that matter; on the host the ratio is smaller.

func BenchmarkDecodeNodes10k(b *testing.B) {
	text := string(realisticJSON(b, 10000))
	b.Run("encoding_json", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			var nodes []graph.Node
			if err := json.NewDecoder(strings.NewReader(text)).Decode(&nodes); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("jsoncodec", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			var nodes []graph.Node
			if !Unmarshal([]byte(text), &nodes) {
				b.Fatal("gave up")
			}
		}
	})
}

func BenchmarkEncodeNodes10k(b *testing.B) {
	nodes := realisticNodes(10000, true)
	b.Run("encoding_json", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(nodes); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("jsoncodec", func(b *testing.B) {
		for b.Loop() {
			if _, ok := Marshal(nodes); !ok {
				b.Fatal("gave up")
			}
		}
	})
}
