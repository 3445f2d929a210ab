//go:build js && wasm

// Command quickstart is the Go example from the README: build it with
// GOOS=js GOARCH=wasm and load it with wasm_exec.js; it prints to the
// browser console.
package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/atelierstore/atelier"
	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
)

func main() {
	ctx := context.Background()
	// Nil options: local only, assets in OPFS (IndexedDB where OPFS is
	// missing). Pass &atelier.Options{Sync: ...} to sync with a server.
	ws, err := atelier.Open(ctx, "quickstart", nil)
	if err != nil {
		panic(err)
	}
	defer ws.Close()
	db := ws.Store()

	w, err := db.CreateWorkflow(ctx, "Storyboard")
	if err != nil {
		panic(err)
	}
	// Asset bytes live apart from the graph; nodes hold their AssetRef.
	img, err := ws.Assets().Put(ctx, strings.NewReader("<svg/>"), assetref.Hint{MIME: "image/svg+xml"})
	if err != nil {
		panic(err)
	}
	nodes, err := db.PutNodes(ctx, w.ID, []graph.Node{
		{Type: "prompt", Title: "Idea", Position: graph.Position{X: 0, Y: 0}},
		{Type: "image-gen", Title: "Hero shot", Position: graph.Position{X: 300, Y: 0},
			Result: &graph.Result{Asset: &img}},
	})
	if err != nil {
		panic(err)
	}
	if _, err := db.PutEdges(ctx, w.ID, []graph.Edge{{Source: nodes[0].ID, Target: nodes[1].ID}}); err != nil {
		panic(err)
	}
	// Move and resize in one atomic write; the call returns once it is stored.
	moved, err := db.UpdateNode(ctx, w.ID, nodes[1].ID, graph.NodePatch{
		Position: &graph.Position{X: 320, Y: 40}, Size: &graph.Size{Width: 256, Height: 256}})
	if err != nil {
		panic(err)
	}
	g, err := db.LoadWorkflow(ctx, w.ID)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s: %d nodes, %d edges; %q is at version %d\n",
		g.Workflow.Name, len(g.Nodes), len(g.Edges), moved.Title, moved.Version)
}
