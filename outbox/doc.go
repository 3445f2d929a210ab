// Package outbox is the device's side of sync, kept in the workflow
// store's database: the outbox of operations, recorded in the same
// transaction as every local write, what the server answered about each
// pushed operation, and the server's changes applied to the local copy.
//
// # Basics
//
// Open installs the outbox on an open store (package idb); from then on
// every write of a workflow, node or edge records its operation:
//
//	ob := outbox.Open(db)
//	defer ob.Close()
//	ops, err := ob.Pending(ctx, 100)      // what to push, oldest first
//	conflicts, err := ob.Ack(ctx, acks)   // the server's answers
//	res, err := ob.Apply(ctx, changes, c) // a page of pulled changes
//
// A sync engine (package syncengine) drives it. The outbox of a store that
// already held data gets a create operation for each entity the server has
// never confirmed: call RecordUnsynced once after Open.
//
// # Records
//
// The oplog store keeps one record per operation, {id, e, op, parked?},
// the op as a plain object (readable in DevTools) and e, its entity id,
// indexed; a parked op is one the server rejected, kept for the app until
// it retries. Beside them, under "~done:<entity id>", the op that made an
// entity's current server state, so that a pulled change that overwrote it
// unseen is reported (syncproto.Change.Overwrote). The kv store keeps the
// sync cursor and the changes that could not apply yet.
package outbox
