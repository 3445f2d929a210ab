package idb

import (
	"github.com/atelierstore/atelier"
	"github.com/atelierstore/atelier/graph"
)

// prepareNodes copies nodes that are about to be written into workflow wf:
// empty ids get new ones (generated[i] reports which), empty workflow ids
// become wf, and every node is validated. A node of another workflow or a
// repeated id is an error. Nothing is written when it fails, and the
// caller's slice is never modified.
func prepareNodes(wf string, in []graph.Node) (nodes []graph.Node, generated []bool, err error) {
	if !graph.ValidID(wf) {
		return nil, nil, badWorkflowID(wf)
	}
	nodes = make([]graph.Node, len(in))
	generated = make([]bool, len(in))
	seen := make(map[string]struct{}, len(in))
	for i := range in {
		n := in[i]
		if n.ID == "" {
			n.ID, generated[i] = graph.NewID(), true
		}
		if n.WorkflowID == "" {
			n.WorkflowID = wf
		} else if n.WorkflowID != wf {
			return nil, nil, &atelier.ValidationError{Entity: "node", ID: n.ID, Field: "workflowId", Reason: "does not match the workflow " + wf}
		}
		if err := n.Validate(); err != nil {
			return nil, nil, err
		}
		if _, dup := seen[n.ID]; dup {
			return nil, nil, &atelier.ValidationError{Entity: "node", ID: n.ID, Field: "id", Reason: "appears twice"}
		}
		seen[n.ID] = struct{}{}
		nodes[i] = n
	}
	return nodes, generated, nil
}

// prepareEdges is prepareNodes for edges.
func prepareEdges(wf string, in []graph.Edge) (edges []graph.Edge, generated []bool, err error) {
	if !graph.ValidID(wf) {
		return nil, nil, badWorkflowID(wf)
	}
	edges = make([]graph.Edge, len(in))
	generated = make([]bool, len(in))
	seen := make(map[string]struct{}, len(in))
	for i := range in {
		e := in[i]
		if e.ID == "" {
			e.ID, generated[i] = graph.NewID(), true
		}
		if e.WorkflowID == "" {
			e.WorkflowID = wf
		} else if e.WorkflowID != wf {
			return nil, nil, &atelier.ValidationError{Entity: "edge", ID: e.ID, Field: "workflowId", Reason: "does not match the workflow " + wf}
		}
		if err := e.Validate(); err != nil {
			return nil, nil, err
		}
		if _, dup := seen[e.ID]; dup {
			return nil, nil, &atelier.ValidationError{Entity: "edge", ID: e.ID, Field: "id", Reason: "appears twice"}
		}
		seen[e.ID] = struct{}{}
		edges[i] = e
	}
	return edges, generated, nil
}

// prepareIDs checks a list of ids to delete and removes repeats.
func prepareIDs(entity string, ids []string) ([]string, error) {
	seen := make(map[string]struct{}, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !graph.ValidID(id) {
			return nil, &atelier.ValidationError{Entity: entity, ID: id, Field: "id", Reason: "must be a canonical UUID"}
		}
		if _, dup := seen[id]; !dup {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	return out, nil
}

func badWorkflowID(id string) error {
	return &atelier.ValidationError{Entity: "workflow", ID: id, Field: "id", Reason: "must be a canonical UUID"}
}

// checkVersion enforces IfVersion.
func checkVersion(entity, id string, wo writeOptions, stored int64) error {
	if wo.ifVersion != 0 && wo.ifVersion != stored {
		return &ConflictError{Entity: entity, ID: id, Expected: wo.ifVersion, Actual: stored}
	}
	return nil
}
