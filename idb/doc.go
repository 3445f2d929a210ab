// Package idb is the workflow store: workflows, nodes and edges kept in the
// browser's IndexedDB, with schema migrations, one writer queue and managed
// transactions.
//
// # Basics
//
// Open a store once per page and share it:
//
//	db, err := idb.Open(ctx, "my-app", &idb.Options{Logger: slog.Default()})
//	w, err := db.CreateWorkflow(ctx, "Storyboard")
//	nodes, err := db.SetNodes(ctx, w.ID, []graph.Node{{Type: "image-gen", Title: "Hero shot"}})
//	_, err = db.UpdateNode(ctx, w.ID, nodes[0].ID, graph.NodePatch{Position: &graph.Position{X: 40, Y: 80}})
//	g, err := db.LoadWorkflow(ctx, w.ID) // the workflow, its nodes and its edges
//
// Every mutation validates its input first: bad input is an error matching
// atelier.ErrInvalid (or ErrNotFound for unknown ids) and writes nothing.
// Every stored change increments the entity's Version and sets UpdatedAt
// (milliseconds, never going backwards for one entity); writing an entity
// whose content did not change writes nothing and keeps its version.
// IfVersion turns a single-entity write into compare-and-set, failing with
// atelier.ErrVersionConflict.
//
// Mutations go through one writer queue. The writer takes everything queued
// while its previous transaction was committing and applies it, in call
// order, in one readwrite transaction (group commit: no timers). A call
// returns after the transaction holding its change has committed, so a nil
// error means the change is stored. A mutation that fails does not affect
// the others in its transaction: it either fails before writing anything,
// or the transaction is rolled back and the others are replayed one by one.
// Records the batched mutations need are read with a single wait for the
// whole batch.
//
// Update and View run a function in a managed transaction (bbolt style):
// Update commits when the function returns nil and rolls back when it
// returns an error or panics; View is read-only. The Tx offers IndexedDB
// operations only.
//
// # Several tabs
//
// Tabs of one origin share the database. Every committed transaction
// announces its changes (kind, id, workflow, new version) to the other tabs
// on a BroadcastChannel named "atelier:<database name>", or through the
// storage event where BroadcastChannel is missing. Subscribe hears this
// tab's changes and the other tabs' (the live queries of package live are
// built on it). Writers in different tabs never tie: IndexedDB runs
// readwrite transactions one at a time, and every write reads the stored
// version before incrementing it, so the write that commits last wins with
// the highest version. IfVersion lets an app notice that it lost instead.
//
// # What other packages keep beside the entities
//
// A Hook (DB.AddHook) is told of every entity write inside the writer's
// transaction, and writes what must change with it through Tx.Side, which
// opens the database's other object stores but never the entity stores:
// the sync outbox (package outbox) records each write's operation, the
// asset registry (package assets/registry) the nodes that use each asset.
// States that come from the sync server are written by
// Tx.ApplyServerState, AdoptServerVersion and ConfirmServerVersion, which
// hooks see as Remote writes.
//
// # Schema and migrations
//
// Version 1 has the object stores workflows, nodes and edges (both indexed
// by workflowId), assets and kv; kv["schemaVersion"] records the last
// version whose migration finished. Migrations are an append-only list of
// versions, each with structural steps, run inside the browser's upgrade
// transaction, and data steps, run right after the database opens in one
// readwrite transaction that also records the new schemaVersion. A tab that
// dies between the two phases leaves the data step pending, and the next
// Open in any tab runs it.
//
// When another tab opens the database with a newer schema, this store closes
// its connection at once (so the upgrade is not blocked), fails later calls
// with atelier.ErrClosed and calls Options.OnVersionChange. An Open blocked
// by older connections that do not close calls Options.OnBlocked and keeps
// waiting until they close or its context ends.
//
// # Record layout
//
// An entity record is {id, workflowId, v, u, sv?, a?, b}: the properties
// that indexes and version checks use stay plain JavaScript values
// (inspectable in DevTools), sv is the version the sync server last
// confirmed, a the content hash of the stored asset a node's result uses,
// and b holds the entity as a msgpack map with short keys (the format of
// package internal/recbody, whose doc comments give the measurements that
// keep its hand-written msgpack). A body crosses into JavaScript as bytes:
// every record of a write shares one copy, and the record objects are
// made by a single JSON.parse of their plain properties
// (internal/idbx). Bulk reads use getAll (one request per store) instead
// of a cursor step per record. DecodeWorkflow, DecodeNode and DecodeEdge
// read a body, for tools that read the database directly.
//
// New records are written with add rather than put, so IndexedDB itself
// rejects an id that already exists in another workflow, at no extra cost.
//
// # Caveats
//
// The browser commits a transaction as soon as control returns to it with
// no request pending. Code inside Update must not wait for anything but the
// Tx: not OPFS, fetch, timers, or channels fed by them. Inside Update, do
// not call methods of the same DB: they wait for the writer, which is
// running your function.
//
// Durability is the browser's default ("relaxed"): a committed change
// survives a tab or browser crash, not necessarily an operating system
// crash. Options.StrictDurability asks for a flush to disk per transaction.
//
// Workflow.Version counts changes to the workflow record itself (name,
// viewport, meta), not to its nodes and edges.
//
// A write the browser refuses fails with an error matching
// errs.ErrWriteFailed (the browser's DOMException wrapped), and none of it
// is acknowledged. When the browser closes the connection under the store
// (Safari's "Connection to Indexed Database server lost", a close event),
// the next call opens a new one, and a write whose transaction the lost
// connection interrupted runs once more on it: writes are puts of whole
// records, so one that had committed after all is written again, not
// twice. Only another tab's upgrade or deletion closes the store for good.
package idb
