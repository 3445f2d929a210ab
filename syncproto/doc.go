// Package syncproto is the contract between the browser's sync engine and
// a sync server: the operations the client pushes, the acknowledgements
// and changes the server returns, the HTTP routes, and the one rule both
// sides use to settle concurrent writes. It is pure Go, shared by the
// client (compiled to wasm) and the server.
//
// # Basics
//
// Every local mutation produces an Op: the entity's full state after the
// change (or a deletion), the server version it was based on, the version
// it proposes, and a UUIDv7 op id that makes pushing it idempotent. The
// server applies a batch of ops atomically and answers each with an Ack
// carrying the authoritative version; a replayed batch changes nothing and
// gets the same acks. Every applied change gets the next sequence number
// of its workspace; Pull returns changes after a cursor, in sequence order,
// a page at a time. Watch, a long poll, returns once the workspace has a
// change after a cursor, so that clients pull as soon as there is
// something to pull instead of polling.
//
// Concurrent writes to one entity are merged field by field (Merge): an
// update names the fields it changed (Op.Fields), and the server writes
// each of them unless a later write of that field is already there,
// keeping the others as they are. A node's config and a workflow's meta
// are merged per top-level key. So a tab that moves a node while server
// code sets its prompt keeps both edits; two devices that set one field
// end with the later edit, whichever arrived first. A deletion wins over
// concurrent edits; a create with the deleted id that is later than the
// deletion (an undo) brings the entity back.
//
// An op whose every field lost is acknowledged as superseded, with the
// server's state, so the client adopts it and tells the app; an op that
// applied beside fields of other writes is acknowledged with the merged
// state, which the client adopts too. Versions still grow with every
// write, and tell a client that it is behind; they no longer decide
// anything.
//
// "Later" is by each op's UpdatedAt, then its id. Clients make UpdatedAt a
// hybrid clock per entity: a write gets the later of the device's clock
// and the entity's last UpdatedAt + 1, so an edit made after seeing a
// change always beats it, whatever the clocks of the devices say.
//
// Asset bytes move outside these JSON routes: RouteBlobUpload and
// RouteBlobDownload answer signed URLs (BlobURLResponse) that the bytes go
// to or come from. A large blob goes up in parts (BlobParts), so that an
// upload cut off at 90% resumes at 90%: asking for the same blob again
// answers the parts stored, and the client sends the others.
//
// # What a user sees
//
//   - Two people edit different things of one node (one moves it, the
//     other changes its prompt; or a generation job sets its result):
//     both edits are there, on every device, after the next sync.
//   - Two people change the same thing (both move the node): the edit made
//     later wins, on every device; the other device's app is told through
//     its conflict callback. Among concurrent edits, "later" is by the
//     devices' clocks: a device whose clock runs ahead wins such ties
//     more often, as in every last-writer rule.
//   - One person deletes a node while another edits it: it stays deleted.
//   - An edit made offline for a week does not beat the edits others made
//     meanwhile to the same field just because it came with more
//     versions: the later edit wins.
//
// # Versions of the protocol
//
// Clients and servers name the protocol's version in ProtocolHeader. A
// server refuses requests of another version with 426 and code
// "Protocol"; a client stops syncing, keeping every operation, when a
// server's answer does not name this version, and checks that before its
// first push. Servers of the first version settled writes by whole
// entities and a version counter; they would have taken the updates of
// this version as replacements of whole entities.
package syncproto
