package graph

import (
	"encoding/json"

	"github.com/atelierstore/atelier/assetref"
)

// Workflow is the root of a graph: a named canvas holding nodes and edges.
type Workflow struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Viewport Viewport `json:"viewport"`
	// Meta is application-defined JSON (at most MaxJSONBytes).
	Meta      json.RawMessage `json:"meta,omitempty"`
	CreatedAt int64           `json:"createdAt"` // ms since the Unix epoch
	UpdatedAt int64           `json:"updatedAt"` // ms since the Unix epoch
	Version   int64           `json:"version"`
}

// Viewport is the visible part of the canvas.
type Viewport struct {
	X    float64 `json:"x"`
	Y    float64 `json:"y"`
	Zoom float64 `json:"zoom"`
}

// DefaultViewport is the viewport of a new workflow.
var DefaultViewport = Viewport{Zoom: 1}

// Position is a point on the canvas.
type Position struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Size is a node's width and height on the canvas.
type Size struct {
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
}

// Node is one step of a workflow.
type Node struct {
	ID         string   `json:"id"`
	WorkflowID string   `json:"workflowId"`
	Type       string   `json:"type"`
	Title      string   `json:"title,omitempty"`
	Status     string   `json:"status,omitempty"`
	Position   Position `json:"position"`
	Size       *Size    `json:"size,omitempty"`
	// Config is the node's application-defined settings as JSON.
	Config    json.RawMessage `json:"config,omitempty"`
	Result    *Result         `json:"result,omitempty"`
	UpdatedAt int64           `json:"updatedAt"`
	Version   int64           `json:"version"`
}

// Result is what a node produced. Any combination of the fields may be set.
type Result struct {
	// Text is a textual result.
	Text string `json:"text,omitempty"`
	// Asset points at a media result stored elsewhere (OPFS, a user folder,
	// IndexedDB, a URL). Media bytes are never stored in the graph.
	Asset *assetref.Ref `json:"asset,omitempty"`
	// Thumbnail is an optional small preview as a data: URL of at most
	// MaxThumbnailBytes.
	Thumbnail string `json:"thumbnail,omitempty"`
	// Data is application-defined structured output as JSON.
	Data json.RawMessage `json:"data,omitempty"`
}

// Edge connects an output of one node to an input of another node of the
// same workflow.
type Edge struct {
	ID           string `json:"id"`
	WorkflowID   string `json:"workflowId"`
	Source       string `json:"source"`
	Target       string `json:"target"`
	SourceHandle string `json:"sourceHandle,omitempty"`
	TargetHandle string `json:"targetHandle,omitempty"`
	UpdatedAt    int64  `json:"updatedAt"`
	Version      int64  `json:"version"`
}

// Graph is a workflow with all of its nodes and edges.
type Graph struct {
	Workflow Workflow `json:"workflow"`
	Nodes    []Node   `json:"nodes"`
	Edges    []Edge   `json:"edges"`
}
