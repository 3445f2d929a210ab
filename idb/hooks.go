//go:build js && wasm

package idb

import "github.com/atelierstore/atelier/graph"

// Hooks keep data that must change in the same transaction as the
// workflows, nodes and edges: the sync outbox (package outbox) records an
// operation for every write, and the asset registry (package
// assets/registry) the nodes that use each asset. Options.Hooks installs
// them; the writer calls them inside its transactions, so what they write
// commits or rolls back with the entities.

// A Hook is told of every entity write of the writer's transactions.
type Hook interface {
	// Begin is called inside a writer transaction, before its first
	// entity write, and returns what follows that transaction's writes.
	Begin(tx *Tx) TxHook
}

// TxHook follows the entity writes of one transaction. Its methods run
// inside the transaction: they may use the transaction's stores (through
// Tx.Side) and nothing else that waits.
type TxHook interface {
	// Wrote is called after each entity write or delete, in order. An
	// error fails the mutation that wrote.
	Wrote(w *Write) error
	// Flush is called once, before the transaction commits. An error
	// rolls the transaction back.
	Flush() error
}

// Write describes one entity write or delete, as hooks see it.
type Write struct {
	Kind       ChangeKind
	ID         string
	WorkflowID string // for a workflow, its own id
	// Entity is the entity as stored (*graph.Workflow, *graph.Node or
	// *graph.Edge, with its new Version and UpdatedAt); nil for a delete.
	// Hooks must not modify it.
	Entity any
	// Prev is the stored revision before the write; Found is false for a
	// new entity.
	Prev  Revision
	Found bool
	// Version and UpdatedAt are the entity's new ones (for a delete, what
	// a delete operation carries: the stored version + 1 and the time).
	Version, UpdatedAt int64
	// Remote is set for states that came from the sync server
	// (Tx.ApplyServerState, Tx.ConfirmServerVersion), not local edits.
	Remote bool
	// Asset is the content hash of the stored asset a node's result uses
	// ("" for none, and for other entities); Prev.Asset the one it used.
	Asset string

	before func() (any, error)
}

// Before returns the entity as stored before a local write replaced it
// (*graph.Workflow, *graph.Node or *graph.Edge), or nil for a new entity,
// a delete and a state from the server. It decodes the stored record on
// each call, and only works during Hook.Wrote.
func (w *Write) Before() (any, error) {
	if w.before == nil {
		return nil, nil
	}
	return w.before()
}

// Deleted reports whether w is a delete.
func (w *Write) Deleted() bool { return w.Entity == nil }

// Revision is what the store keeps beside an entity's body.
type Revision struct {
	Version   int64
	UpdatedAt int64
	// ServerVersion is the version the sync server last confirmed (0:
	// never).
	ServerVersion int64
	WorkflowID    string // for a workflow, "" (its own id)
	// Asset is the content hash of the stored asset a node's result uses.
	Asset string
}

func revisionOf(r storedRev) Revision {
	return Revision{Version: r.V, UpdatedAt: r.U, ServerVersion: r.SV, WorkflowID: r.WF, Asset: r.Asset}
}

// NodeAsset is the content hash of the stored asset a node's result uses
// (kinds opfs, fs-handle and idb, whose bytes this library keeps), or "".
func NodeAsset(n *graph.Node) string { return nodeAsset(n) }
