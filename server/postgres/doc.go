// Package postgres is the Store of the sync server for larger
// deployments: PostgreSQL through pgx, safe for several server processes
// sharing one database.
//
// # Basics
//
// Open connects, and creates or migrates the schema in the first schema
// of the connection's search_path:
//
//	atelier_schema (version)                        the schema version
//	workspaces (ws PK, seq)                         the last seq assigned
//	entities   (ws, id PK, entity, workflow_id,     the latest state of each
//	            seq UNIQUE per ws, version,         entity, deletions kept
//	            updated_at, op_id, deleted, data)   as tombstones
//	ops        (ws, id PK, ack)                     the ack of every op seen
//	blobs      (ws, hash PK, size, mime, created)   the blobs each workspace has
//
// A push transaction begins by locking its workspace's row (in the round
// trip of its BEGIN), reads what it needs, and sends its writes with its
// COMMIT: four round trips for a push, or a group of them (see the server
// package), while the workspace is locked. Pushes to one workspace
// therefore run one after the other, whichever process serves them, and
// every read in the transaction sees the pushes before it; pushes to
// different workspaces run in parallel. Because the lock is held until
// commit, sequence numbers are also committed in order: a pull never sees
// seq n+1 before seq n is visible, so a cursor never skips a change.
//
// Without pool_max_conns in the DSN, the pool opens up to 16 connections
// (4 per CPU on larger machines), more than pgxpool's default: a push
// holds one while it waits for its workspace's lock and its commit's
// flush, and pulls should not queue behind those. Pulls and blob lookups
// leave a quarter of the connections (at least two) to pushes, which
// hold the workspace locks.
//
// # Caveats
//
// Lookups of many ids join with unnest($ids) rather than "= ANY($ids)":
// with a prepared (generic) plan the latter may scan the table and test
// every row against the whole list.
//
// Data and acks are stored as bytea, not jsonb: jsonb would reorder keys,
// and replayed acks must be the same bytes. A deadlock or serialization
// failure (which the row lock should prevent) is retried a few times.
package postgres
