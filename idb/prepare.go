package idb

import (
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
)

// prepareIDs checks a list of ids to delete and removes repeats.
func prepareIDs(entity string, ids []string) ([]string, error) {
	seen := make(map[string]struct{}, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !graph.ValidID(id) {
			return nil, &errs.ValidationError{Entity: entity, ID: id, Field: "id", Reason: "must be a canonical UUID"}
		}
		if _, dup := seen[id]; !dup {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	return out, nil
}

func badWorkflowID(id string) error {
	return &errs.ValidationError{Entity: "workflow", ID: id, Field: "id", Reason: "must be a canonical UUID"}
}

// checkVersion enforces IfVersion.
func checkVersion(entity, id string, wo writeOptions, stored int64) error {
	if wo.ifVersion != 0 && wo.ifVersion != stored {
		return &ConflictError{Entity: entity, ID: id, Expected: wo.ifVersion, Actual: stored}
	}
	return nil
}
