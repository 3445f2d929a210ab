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
// Concurrent writes to one entity are settled by Wins on their claims: the
// higher proposed version wins, then the later UpdatedAt, then the larger
// op id. The server keeps the winning claim apart from the authoritative
// version (which grows with every write), so the final state is the op
// with the greatest claim whatever order the ops arrive in. The losing
// write is acknowledged as superseded, with the winning state, so the
// client adopts it and tells the app.
//
// # Caveats
//
// Versions are counters per entity, not clocks: an offline device that
// edited an entity more often than the others wins a conflict on it. That
// is the documented last-writer rule; apps that need more detect conflicts
// with compare-and-set locally.
package syncproto
