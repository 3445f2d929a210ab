package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/syncproto"
)

// Apply applies ops from server code exactly as a client's push: the same
// validation (a batch with an invalid op fails whole, with an error
// matching errs.ErrInvalid, and changes nothing), the same decision and
// sequence numbers, so every client pulls the changes like any other, and
// the same idempotency: an op id seen before gets its first ack again.
// Clients listening for changes hear of them at once.
func (w *Workspace) Apply(ctx context.Context, ops []syncproto.Op) ([]syncproto.Ack, error) {
	req := syncproto.PushRequest{Ops: ops}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	raw, err := w.s.apply(ctx, w.ws, ops) // with the pushes waiting, as one of them; announced there
	if err != nil {
		return nil, err
	}
	acks := make([]syncproto.Ack, len(raw))
	for i, b := range raw {
		if err := json.Unmarshal(b, &acks[i]); err != nil {
			return nil, fmt.Errorf("ack of op %s: %w", ops[i].ID, err)
		}
	}
	return acks, nil
}

// UpdateNode applies patch to node id, on the server's current state of
// it, as one write that clients pull like their own (and hear of at once
// when they listen): the write a generation job makes to set a node's
// result and status, say. It returns the node as stored, with its new
// authoritative version.
//
// opID, a canonical UUID, makes the write idempotent: calling again with
// the same opID writes nothing and returns the node as it is. Empty means
// a fresh one. It fails with a *NotFoundError when the node is missing or
// deleted, and with an error matching errs.ErrInvalid when the patched
// node is invalid (nothing is written).
//
// The write names the fields the patch changes (syncproto.Op.Fields) and
// is stamped later than every write the server has of the node, so a
// client's edit of other fields made concurrently survives beside it, and
// one of the same field wins only if it is stamped later (see
// syncproto.Merge). A patch that changes nothing writes nothing.
func (w *Workspace) UpdateNode(ctx context.Context, id string, patch graph.NodePatch, opID string) (graph.Node, error) {
	if opID == "" {
		opID = graph.NewID()
	} else if !graph.ValidID(opID) {
		return graph.Node{}, &errs.ValidationError{Entity: "op", Field: "id", Reason: "must be a canonical UUID"}
	}
	if !graph.ValidID(id) {
		return graph.Node{}, &NotFoundError{Workspace: w.ws, Kind: "node", ID: id}
	}
	var out graph.Node
	err := w.s.store.Update(ctx, w.ws, func(tx Tx) error {
		if seen, err := tx.Acks([]string{opID}); err != nil {
			return err
		} else if seen[opID] != nil {
			// A replay: the write is there (or lost to a later one).
			return w.entity(tx, syncproto.EntityNode, id, &out, func(c *syncproto.Change) {
				out.Version, out.UpdatedAt = c.Version, c.UpdatedAt
			})
		}
		var cur *syncproto.Change
		if err := w.entity(tx, syncproto.EntityNode, id, &out, func(c *syncproto.Change) { cur = c }); err != nil {
			return err
		}
		patch.Apply(&out)
		at := max(w.s.now().UnixMilli(), cur.UpdatedAt+1)
		out.Version, out.UpdatedAt = cur.Version+1, at
		if err := out.Validate(); err != nil {
			return err
		}
		data, err := json.Marshal(&out)
		if err != nil {
			return err
		}
		fields, err := syncproto.ChangedFields(syncproto.EntityNode, cur.Data, data)
		if err != nil {
			return err
		}
		if len(fields) == 0 {
			return nil // nothing to change
		}
		op := syncproto.Op{ID: opID, Entity: syncproto.EntityNode, EntityID: id, WorkflowID: cur.WorkflowID,
			Kind: syncproto.OpUpdate, Data: data, BaseVersion: cur.Version, Version: cur.Version + 1,
			UpdatedAt: at, Fields: fields, Tab: "server", Time: at}
		if err := op.Validate(); err != nil {
			return err
		}
		raw, err := applyOps(tx, []syncproto.Op{op}, w.s.now().UnixMilli())
		if err != nil {
			return err
		}
		var ack syncproto.Ack
		if err := json.Unmarshal(raw[0], &ack); err != nil {
			return err
		}
		if ack.Status != syncproto.Applied {
			// Made on the latest state under the workspace's lock, the
			// write cannot lose; say so if it ever does.
			return fmt.Errorf("server write of node %s: %s: %s", id, ack.Status, ack.Error)
		}
		out.Version = ack.Version
		if ack.Current != nil {
			// Merged with fields of the stored state: the same as read.
			out.UpdatedAt = ack.Current.UpdatedAt
		}
		return nil
	})
	if err != nil {
		var nf *NotFoundError
		if errors.As(err, &nf) || errors.Is(err, errs.ErrInvalid) {
			return graph.Node{}, err
		}
		return graph.Node{}, fmt.Errorf("update node %s of %s: %w", id, w.ws, err)
	}
	w.s.hub.publish(w.ws)
	return out, nil
}
