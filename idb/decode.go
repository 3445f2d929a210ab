package idb

import "github.com/atelierstore/atelier/graph"

// DecodeWorkflow decodes the stored body of a workflow (property b of a
// record of the workflows store), for tools that read the database
// directly.
func DecodeWorkflow(body []byte) (*graph.Workflow, error) {
	var w graph.Workflow
	return &w, NewCodec().DecodeWorkflow(body, &w)
}

// DecodeNode decodes the stored body of a node (property b of a record of
// the nodes store).
func DecodeNode(body []byte) (*graph.Node, error) {
	var n graph.Node
	return &n, NewCodec().DecodeNode(body, &n)
}

// DecodeEdge decodes the stored body of an edge (property b of a record of
// the edges store).
func DecodeEdge(body []byte) (*graph.Edge, error) {
	var e graph.Edge
	return &e, NewCodec().DecodeEdge(body, &e)
}
