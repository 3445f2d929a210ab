package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/syncproto"
)

// Workspace is the data of one workspace as server code sees it: the same
// workflows, nodes, edges and assets that clients sync, read from the
// Store, the source of truth. Every entity read carries the server's
// authoritative Version (the one clients pull) and the UpdatedAt of its
// last write. Get one with Server.Workspace; its methods are safe for
// concurrent use.
type Workspace struct {
	s  *Server
	ws string
}

// NotFoundError says which entity or blob a Workspace read did not find
// (or found deleted). It matches errs.ErrNotFound (atelier.ErrNotFound)
// with errors.Is.
type NotFoundError struct {
	Workspace string
	Kind      string // "workflow", "node", "edge" or "asset"
	ID        string // the entity id, or the asset's hash
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("workspace %s has no %s %s", e.Workspace, e.Kind, e.ID)
}

// Is reports whether target is errs.ErrNotFound.
func (e *NotFoundError) Is(target error) bool { return target == errs.ErrNotFound }

// Workspace returns the data of workspace ws. It fails with an error
// matching errs.ErrInvalid when ws is not a valid workspace name (see
// ValidWorkspace). A workspace nobody wrote to is empty, not missing.
func (s *Server) Workspace(ws string) (*Workspace, error) {
	if !ValidWorkspace(ws) {
		return nil, invalid("workspace", "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	return &Workspace{s: s, ws: ws}, nil
}

// Name returns the workspace's name.
func (w *Workspace) Name() string { return w.ws }

// Seq returns the workspace's last sequence number: clients that pulled up
// to it have seen every change.
func (w *Workspace) Seq(ctx context.Context) (int64, error) {
	var seq int64
	err := w.s.store.View(ctx, w.ws, func(v View) error { seq = v.Seq(); return nil })
	return seq, err
}

// Workflows returns the workspace's workflows, most recently updated
// first.
func (w *Workspace) Workflows(ctx context.Context) ([]graph.Workflow, error) {
	var out []graph.Workflow
	err := w.s.store.View(ctx, w.ws, func(v View) error {
		list, err := v.Workflows()
		if err != nil {
			return err
		}
		out = make([]graph.Workflow, 0, len(list))
		for _, c := range list {
			var wf graph.Workflow
			if err := decodeEntity(c, &wf); err != nil {
				return err
			}
			stampWorkflow(&wf, c)
			out = append(out, wf)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b graph.Workflow) int {
		return cmp.Or(cmp.Compare(b.UpdatedAt, a.UpdatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, err
}

// Workflow returns one workflow; a *NotFoundError when the workspace has
// none with that id or it is deleted.
func (w *Workspace) Workflow(ctx context.Context, id string) (graph.Workflow, error) {
	return one(ctx, w, syncproto.EntityWorkflow, id, stampWorkflow)
}

// Node returns one node; a *NotFoundError when the workspace has none
// with that id or it is deleted.
func (w *Workspace) Node(ctx context.Context, id string) (graph.Node, error) {
	return one(ctx, w, syncproto.EntityNode, id, stampNode)
}

// Edge returns one edge; a *NotFoundError when the workspace has none
// with that id or it is deleted.
func (w *Workspace) Edge(ctx context.Context, id string) (graph.Edge, error) {
	return one(ctx, w, syncproto.EntityEdge, id, stampEdge)
}

// The stamps give an entity read from the store the server's version and
// time of its last write (its data holds what the writing client had).
func stampWorkflow(x *graph.Workflow, c *syncproto.Change) {
	x.Version, x.UpdatedAt = c.Version, c.UpdatedAt
}
func stampNode(x *graph.Node, c *syncproto.Change) { x.Version, x.UpdatedAt = c.Version, c.UpdatedAt }
func stampEdge(x *graph.Edge, c *syncproto.Change) { x.Version, x.UpdatedAt = c.Version, c.UpdatedAt }

// one reads entity id of kind in a View of its own.
func one[T any](ctx context.Context, w *Workspace, kind syncproto.Entity, id string, stamp func(*T, *syncproto.Change)) (T, error) {
	var out T
	err := w.s.store.View(ctx, w.ws, func(v View) error {
		return w.entity(v, kind, id, &out, func(c *syncproto.Change) { stamp(&out, c) })
	})
	return out, err
}

// Graph returns a workflow with its nodes and edges, ordered by id, as
// one consistent state; a *NotFoundError when the workflow is missing or
// deleted.
func (w *Workspace) Graph(ctx context.Context, workflowID string) (graph.Graph, error) {
	var g graph.Graph
	err := w.s.store.View(ctx, w.ws, func(v View) error {
		g = graph.Graph{Nodes: []graph.Node{}, Edges: []graph.Edge{}}
		err := w.entity(v, syncproto.EntityWorkflow, workflowID, &g.Workflow, func(c *syncproto.Change) {
			stampWorkflow(&g.Workflow, c)
		})
		if err != nil {
			return err
		}
		contents, err := v.Contents(workflowID)
		if err != nil {
			return err
		}
		for _, c := range contents {
			switch c.Entity {
			case syncproto.EntityNode:
				var n graph.Node
				if err := decodeEntity(c, &n); err != nil {
					return err
				}
				stampNode(&n, c)
				g.Nodes = append(g.Nodes, n)
			case syncproto.EntityEdge:
				var e graph.Edge
				if err := decodeEntity(c, &e); err != nil {
					return err
				}
				stampEdge(&e, c)
				g.Edges = append(g.Edges, e)
			}
		}
		return nil
	})
	slices.SortFunc(g.Nodes, func(a, b graph.Node) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(g.Edges, func(a, b graph.Edge) int { return cmp.Compare(a.ID, b.ID) })
	return g, err
}

// Asset returns the bytes of the blob with the given hash ("sha256-…",
// as AssetRefs carry it) and what the workspace knows of it. The caller
// closes the reader. It fails with a *NotFoundError when the workspace
// has no such blob (a blob is the workspace's once a client of it, or
// server code, uploaded it), and with an error matching errs.ErrInvalid
// for a malformed hash.
func (w *Workspace) Asset(ctx context.Context, hash string) (io.ReadSeekCloser, BlobInfo, error) {
	sum, err := assetref.ParseHash(hash)
	if err != nil {
		return nil, BlobInfo{}, &errs.ValidationError{Entity: "asset", Field: "hash", Reason: err.Error()}
	}
	hash = assetref.FormatHash(sum)
	info, err := w.s.store.Blob(ctx, w.ws, hash)
	if errors.Is(err, errs.ErrNotFound) {
		return nil, BlobInfo{}, &NotFoundError{Workspace: w.ws, Kind: "asset", ID: hash}
	}
	if err != nil {
		return nil, BlobInfo{}, err
	}
	f, err := w.s.blobs.Open(ctx, sum)
	if err != nil {
		return nil, BlobInfo{}, fmt.Errorf("asset %s of %s: %w", hash, w.ws, err)
	}
	return f, info, nil
}

// entity reads entity id of kind into out (and calls meta with its
// change), or fails with a *NotFoundError.
func (w *Workspace) entity(v View, kind syncproto.Entity, id string, out any, meta func(*syncproto.Change)) error {
	m, err := v.Entities([]string{id})
	if err != nil {
		return err
	}
	c := m[id]
	if c == nil || c.Deleted || c.Entity != kind {
		return &NotFoundError{Workspace: w.ws, Kind: string(kind), ID: id}
	}
	if err := decodeEntity(c, out); err != nil {
		return err
	}
	meta(c)
	return nil
}

// decodeEntity decodes a stored change's data; the server validated it
// when it was pushed, so a failure means the database was altered.
func decodeEntity(c *syncproto.Change, out any) error {
	if err := json.Unmarshal(c.Data, out); err != nil {
		return fmt.Errorf("%s %s: stored data: %w: %w", c.Entity, c.EntityID, errs.ErrCorrupt, err)
	}
	return nil
}
