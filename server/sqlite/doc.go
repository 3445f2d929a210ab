// Package sqlite is the embedded Store of the sync server: one SQLite file
// through modernc.org/sqlite (pure Go, no cgo), in WAL mode.
//
// # Basics
//
// Open creates or opens the file and brings its schema up to date:
//
//	workspaces (ws PK, seq, horizon)                the last seq assigned, the ack horizon
//	entities   (ws, id PK, entity, workflow_id,     the latest state of each
//	            seq UNIQUE per ws, version,         entity, deletions kept
//	            updated_at, op_id, deleted, data)   as tombstones
//	ops        (ws, id PK, ack, stored)             the ack of every op seen since the horizon
//	blobs      (ws, hash PK, size, mime, created,   the blobs each workspace has,
//	            unreferenced)                       and since when GC finds them unreferenced
//	blob_holds (hash PK, hold_until)                bytes GC must keep, or look at (server.GC)
//
// Writes are serialized: within the process by a mutex, across processes
// by BEGIN IMMEDIATE with a busy timeout. Reads run beside them.
//
// # Caveats
//
// SQLite serves one writer at a time; under many concurrent pushes the
// server is bound by how fast one connection commits (synchronous=FULL, so
// an acknowledged push survives a power cut). Use the postgres package
// when that is not enough, or to run several server processes on
// separate machines: SQLite files must not be shared over a network file
// system.
package sqlite
