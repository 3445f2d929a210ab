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
//	_, err = db.UpdateNodeDimensions(ctx, w.ID, nodes[0].ID, &graph.Position{X: 40, Y: 80}, nil)
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
// storage event where BroadcastChannel is missing. WatchWorkflow and
// WatchWorkflows are live queries: a snapshot now and after every change,
// local or remote. A tab re-reads only what is announced newer than it
// holds, and a watcher that reads slowly gets the latest snapshot, never a
// backlog.
//
// Writers in different tabs never tie: IndexedDB runs readwrite
// transactions one at a time, and every write reads the stored version
// before incrementing it, so the write that commits last wins with the
// highest version. IfVersion lets an app notice that it lost instead.
//
// One tab leads, chosen with a Web Lock; RunOnLeader registers background
// jobs (sync, asset collection) that run there only, and another tab takes
// over when the leader closes or crashes.
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
// An entity record is {id, workflowId, v, u, b}: the properties that indexes
// and version checks use stay plain JavaScript values (inspectable in
// DevTools), and b holds the entity as a msgpack map with short keys. The
// bodies are written and read field by field by a small msgpack writer and
// reader of this package (msgp.go), on byte slices, with strings of a bulk
// read cut from one shared copy; asset references inside them are read
// with github.com/vmihailenco/msgpack/v5 through assetref. The bytes are
// those vmihailenco/msgpack writes for the same fields, and the tests check
// that. Measured in headless Chromium (go test -bench Codec in the
// browser): the same fields through vmihailenco/msgpack are 2 to 4 times
// slower (a typical node encodes in 0.44 µs against 1.46 µs and decodes in
// 1.46 µs against 3.36 µs; the bodies of 10,000 nodes decode in 10 ms
// against 31 ms and encode in 3.7 ms against 15 ms), which is why the
// hand-written path is kept. JSON is slower still: a node with a result
// encodes in 1.0 µs and decodes in 5.9 µs as msgpack, 9.8 µs and 40 µs
// with encoding/json. A body crosses into JavaScript as bytes: every
// record of a write shares one copy, where building objects field by field
// costs a call per field. The record objects themselves are
// made by a single JSON.parse of their plain properties. Bulk reads use
// getAll (one request per store) instead of a cursor step per record.
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
package idb
