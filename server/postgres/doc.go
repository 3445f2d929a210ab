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
//	workspaces (ws PK, seq, horizon)                the last seq assigned, the ack horizon
//	entities   (ws, id PK, entity, workflow_id,     the latest state of each
//	            seq UNIQUE per ws, version,         entity, deletions kept
//	            updated_at, op_id, deleted, data)   as tombstones
//	ops        (ws, id PK, ack, stored)             the ack of every op seen since the horizon
//	blobs      (ws, hash PK, size, mime, created,   the blobs each workspace has,
//	            unreferenced)                       and since when GC finds them unreferenced
//	blob_holds (hash PK, hold_until)                bytes GC must keep, or look at (server.GC)
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
// # Several processes
//
// Every write transaction that assigns sequence numbers also sends
// pg_notify on the schema's channel (Store.Channel: "atelier_" and 16 hex
// digits of the schema name's SHA-256), with the payload
// "ORIGIN:WORKSPACE", ORIGIN being a random tag of the Store that wrote
// it. PostgreSQL delivers it to the listeners when the transaction
// commits, and only if it does, so a listener that hears of a change
// finds it committed. Store.Listen, the server.Announcer the Server uses,
// LISTENs on a connection of its own, outside the pool (application_name
// "atelier-sync listener"), and reports the workspaces other Stores
// wrote; the Server wakes their watches. Each process thus holds one
// connection more than its pool.
//
// The listener pings its connection when it has been quiet for 30 s, so
// a dead one is noticed within a minute, not when TCP gives up. Having
// lost it, it reconnects after 0.1 s, doubling up to 10 s, each wait
// jittered so that servers do not come back in step; once connected again
// it tells the Server, which wakes every watch, as the notifications sent
// meanwhile are lost.
//
// # Caveats
//
// A connection pooler in transaction mode (PgBouncer's pool_mode =
// transaction) does not deliver notifications to a session: the DSN must
// reach PostgreSQL directly, or through a pooler in session mode, for
// changes to be announced. Without them, watches still see other
// processes' changes at their poll (server.Options.WatchPoll).
//
// PostgreSQL serializes the commits of notifying transactions across the
// cluster: a lock taken when the notification is queued and held to the
// end of the commit keeps notifications in commit order. Pushes to
// different workspaces therefore wait for each other's commit flushes;
// where flushing to disk is slow and pushes to many workspaces come at
// once, that can bound their rate (the benchmark of
// server/internal/benchserver measures it).
//
// Lookups of many ids join with unnest($ids) rather than "= ANY($ids)":
// with a prepared (generic) plan the latter may scan the table and test
// every row against the whole list.
//
// Data and acks are stored as bytea, not jsonb: jsonb would reorder keys,
// and replayed acks must be the same bytes. A deadlock or serialization
// failure (which the row lock should prevent) is retried a few times.
package postgres
