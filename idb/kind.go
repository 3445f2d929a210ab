package idb

import (
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/recbody"
)

// kind describes how one entity type is stored, so that reading, writing
// and preparing input is written once for workflows, nodes and edges.
type kind[T any] struct {
	name   string // "node", as used in errors
	store  string
	encode func(c *recbody.Codec, dst []byte, v *T) ([]byte, int)
	decode func(c *recbody.Codec, b []byte, v *T) error
	// decodeIn is decode with strings cut from shared (see codec).
	decodeIn func(c *recbody.Codec, b []byte, shared string, v *T) error
	validate func(v *T) error
	// ids points at the entity's id and workflow id (nil for workflows).
	ids func(v *T) (id, wf *string)
	// rev points at the entity's Version and UpdatedAt.
	rev func(v *T) (version, updatedAt *int64)
	// asset returns the hash of the tracked asset the entity uses (nodes
	// only).
	asset func(v *T) (hash string)
}

var (
	workflowKind = kind[graph.Workflow]{
		name:     "workflow",
		store:    storeWorkflows,
		encode:   (*recbody.Codec).AppendWorkflow,
		decode:   (*recbody.Codec).DecodeWorkflow,
		decodeIn: (*recbody.Codec).DecodeWorkflowIn,
		validate: (*graph.Workflow).Validate,
		ids:      func(w *graph.Workflow) (*string, *string) { return &w.ID, nil },
		rev:      func(w *graph.Workflow) (*int64, *int64) { return &w.Version, &w.UpdatedAt },
	}
	nodeKind = kind[graph.Node]{
		name:     "node",
		store:    storeNodes,
		encode:   (*recbody.Codec).AppendNode,
		decode:   (*recbody.Codec).DecodeNode,
		decodeIn: (*recbody.Codec).DecodeNodeIn,
		validate: (*graph.Node).Validate,
		ids:      func(n *graph.Node) (*string, *string) { return &n.ID, &n.WorkflowID },
		rev:      func(n *graph.Node) (*int64, *int64) { return &n.Version, &n.UpdatedAt },
		asset:    nodeAsset,
	}
	edgeKind = kind[graph.Edge]{
		name:     "edge",
		store:    storeEdges,
		encode:   (*recbody.Codec).AppendEdge,
		decode:   (*recbody.Codec).DecodeEdge,
		decodeIn: (*recbody.Codec).DecodeEdgeIn,
		validate: (*graph.Edge).Validate,
		ids:      func(e *graph.Edge) (*string, *string) { return &e.ID, &e.WorkflowID },
		rev:      func(e *graph.Edge) (*int64, *int64) { return &e.Version, &e.UpdatedAt },
	}
)

// prepare copies entities that are about to be written into workflow wf:
// empty ids get new ones (generated[i] reports which), empty workflow ids
// become wf, and every entity is validated. An entity of another workflow
// or a repeated id is an error. Nothing is written when it fails, and the
// caller's slice is never modified.
func prepare[T any](k kind[T], wf string, in []T) (out []T, generated []bool, err error) {
	return prepareSeen(k, wf, in, make(map[string]struct{}, len(in)))
}

// prepareSeen is prepare for one chunk of a longer list: seen holds the
// ids of the chunks before, and gets those of this one.
func prepareSeen[T any](k kind[T], wf string, in []T, seen map[string]struct{}) (out []T, generated []bool, err error) {
	if !graph.ValidID(wf) {
		return nil, nil, badWorkflowID(wf)
	}
	out = make([]T, len(in))
	generated = make([]bool, len(in))
	for i := range in {
		out[i] = in[i]
		id, w := k.ids(&out[i])
		if *id == "" {
			*id, generated[i] = graph.NewID(), true
		}
		if *w == "" {
			*w = wf
		} else if *w != wf {
			return nil, nil, &errs.ValidationError{Entity: k.name, ID: *id, Field: "workflowId", Reason: "does not match the workflow " + wf}
		}
		if err := k.validate(&out[i]); err != nil {
			return nil, nil, err
		}
		if _, dup := seen[*id]; dup {
			return nil, nil, &errs.ValidationError{Entity: k.name, ID: *id, Field: "id", Reason: "appears twice"}
		}
		seen[*id] = struct{}{}
	}
	return out, generated, nil
}
