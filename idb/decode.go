package idb

import (
	"github.com/atelierstore/atelier/graph"

	"github.com/atelierstore/atelier/internal/recbody"
)

// DecodeWorkflow decodes the stored body of a workflow (property b of a
// record of the workflows store), for tools that read the database
// directly.
func DecodeWorkflow(body []byte) (*graph.Workflow, error) {
	var w graph.Workflow
	return &w, recbody.New().DecodeWorkflow(body, &w)
}

// DecodeNode decodes the stored body of a node (property b of a record of
// the nodes store).
func DecodeNode(body []byte) (*graph.Node, error) {
	var n graph.Node
	return &n, recbody.New().DecodeNode(body, &n)
}

// DecodeEdge decodes the stored body of an edge (property b of a record of
// the edges store).
func DecodeEdge(body []byte) (*graph.Edge, error) {
	var e graph.Edge
	return &e, recbody.New().DecodeEdge(body, &e)
}
