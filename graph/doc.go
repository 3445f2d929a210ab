// Package graph is the workflow graph: workflows, the nodes and edges inside
// them, their ids, and the rules a valid graph follows.
//
// It is pure Go (no browser APIs), so the same types and validation serve
// the IndexedDB store, the package exporter and the sync server.
//
// # Basics
//
// Every entity has an id (a UUID in canonical lower-case form; new ids are
// UUIDv7, so they sort by creation time), a Version that every stored
// mutation increments, and UpdatedAt in milliseconds since the Unix epoch.
// Stores set Version and UpdatedAt; values set by callers are ignored.
//
// Validate reports the first problem it finds as an
// *atelier.ValidationError, which matches atelier.ErrInvalid.
//
// # Caveats
//
// Node.Config, Workflow.Meta and Result.Data are opaque JSON owned by the
// application; they are checked for well-formedness and size only. Binary
// media never goes into them: a node's media result is a Result.Asset
// (an assetref.Ref), with at most a small inline thumbnail.
package graph
