// Package server is the sync server of atelier: the HTTP side of the
// syncproto contract, written once on top of a small Store interface (the
// database) and a BlobStore interface (the bytes of assets).
//
// # Basics
//
// New returns an http.Handler serving the syncproto routes:
//
//   - Push applies a batch of ops in one Store transaction. Each op is
//     answered by the ack stored the first time its id was seen, or merged
//     with syncproto.Merge into the entity's stored state, field by field
//     (the store keeps each field's stamp beside the state). A replayed
//     batch changes nothing and gets the same acks, byte for byte.
//   - Pull returns, after a cursor, the latest state of every entity that
//     changed since, ordered by the sequence number of its last change.
//     The store keeps one row per entity, so a page holds each changed
//     entity once and the sequence numbers it shows may have gaps (the
//     changes in between were overwritten); the numbers assigned by
//     pushes have none. A page with no changes answers the cursor it was
//     asked for.
//   - Watch is a long poll that announces changes: it answers at once when
//     the workspace has a change after the client's cursor, else as soon as
//     a change is committed (see Several processes), else with the cursor
//     itself after the wait (syncproto.DefaultWatchWait, at most
//     syncproto.MaxWatchWait). The client then pulls. A sync engine
//     listening this way sees another device's change in tens of
//     milliseconds instead of at its next poll.
//   - Blob check, upload and download hand out URLs signed with HMAC-SHA256
//     that work without the bearer token, as S3 presigned URLs do. Uploads
//     are streamed to the BlobStore while their size and hash are checked,
//     and committed only when both match what was declared.
//   - With Options.PresignBlobs and a BlobStore that is a Presigner (an S3
//     bucket, s3blob), upload and download hand out the store's presigned
//     URLs instead, so that the bytes do not pass through the server. The
//     PUT must carry the blob's SHA-256, signed into its URL, and the
//     store refuses other bytes; the client then POSTs to the commit URL
//     of the answer, and only when the store has the blob, of the
//     declared size and hash, does the workspace get it.
//   - A blob larger than Options.PartThreshold (64 MiB) goes up in parts
//     of Options.PartSize (16 MiB) when the BlobStore is a PartStore
//     (dirblob and s3blob are), so that an upload that broke off resumes
//     instead of starting again (syncproto.BlobParts). The upload URL
//     answer lists the parts stored; each other part's URL is asked for
//     with the part's SHA-256, which it is signed for (the server's own
//     URL, or with PresignBlobs a presigned S3 UploadPart URL), and a
//     commit joins the parts and checks the whole blob's size and SHA-256
//     before the workspace gets it. The server keeps no record of the
//     upload: the store finds it again by the workspace and the blob's
//     digest (another workspace never gets its parts), and removes
//     the parts of uploads never committed after a while (see dirblob and
//     s3blob).
//
// # Server code
//
// The server is the source of truth for server code too. Server.Workspace
// returns a Workspace whose methods read what clients synced: Workflows,
// Workflow, Graph (one consistent snapshot), Node, Edge, and Asset (the
// bytes of a blob by its hash). Each entity carries the server's
// authoritative Version and the UpdatedAt of its last write; a missing or
// deleted one is a *NotFoundError (errs.ErrNotFound). The same is served
// over HTTP, with the bearer tokens and workspace isolation of the sync
// routes: RouteWorkflows, RouteGraph, RouteNode, RouteEdge and RouteAsset.
//
// Server code writes through the same merge as clients' pushes:
// Workspace.Apply takes ops as a push does, Workspace.UpdateNode (PATCH
// RouteNode over HTTP, with an Idempotency-Key) patches a node on its
// latest state, naming the fields the patch changes, and
// Workspace.PutAsset stores content as a client's upload does and returns
// the AssetRef a node's result then points at. Each write gets the next
// sequence numbers, so clients pull it like any change and hear of it at
// once; an op id seen before writes nothing again. A client's concurrent
// edit of other fields of the same node survives beside the server's (see
// syncproto.Merge).
//
// # Requests
//
// Every request but those to signed URLs carries "Authorization: Bearer
// <token>"; Tokens maps tokens to workspaces. Errors are answered as
// syncproto.ErrorResponse with one of the codes syncproto lists, plus
// "Exists" (409) when an upload URL is asked for a blob the workspace
// already has. A PUT to a valid upload URL of a blob the workspace has
// meanwhile got succeeds (204) without reading the body. The router's
// own errors have that shape too: 404 "NotFound", 405 "Invalid" (with
// Allow), and 400 "Invalid" for a path with "." or ".." segments or
// repeated slashes, which ServeMux would redirect.
//
// # Slow clients
//
// A request is authenticated from its header, before any of its body is
// read. The body must then keep arriving: within Options.StallTimeout of
// the start and of every read, and at Options.MinRate on average from
// its start (the first StallTimeout being a head start), or it is
// answered 408 "Timeout"; responses must be taken at that rate too. A
// response to a request whose body was not read to its end closes the
// connection. These bounds are read and write deadlines on the
// connection, set through http.ResponseController, so a Server must be
// served by net/http's HTTP/1 server for them to hold. Server.Drain, for
// http.Server.RegisterOnShutdown, cuts off the bodies still arriving
// (503 "Unavailable"), and LimitListener bounds the connections open at
// once, in all and per client address; the http.Server should have a
// ReadHeaderTimeout. Command atelier-sync puts it all together.
//
// A request whose client goes away while the store works is logged at
// debug level, with status 499, and not as an error.
//
// Decisions the contract leaves open:
//
//   - An op whose entity id is stored as another kind of entity, or under
//     another workflow, is Rejected (with Version 0, as the op's entity
//     does not exist): an id names one entity for good, tombstones too.
//   - Op ids are idempotency keys per workspace. A second op with a known
//     id gets the first one's ack, whatever it carries.
//   - Blobs are visible per workspace. The bytes are stored once per hash,
//     but a workspace only has a blob after it uploaded it itself: knowing
//     a hash is not proof of having the content.
//   - The graph stays whole across devices. Deleting a workflow deletes
//     its nodes and edges, and deleting a node its edges, including those
//     the deleting device never saw; a write of a node or edge whose
//     workflow is deleted, or of an edge whose source or target node is,
//     loses to that deletion: it is answered Superseded with the entity's
//     tombstone, which the server stores. A node or edge whose workflow or
//     end node the server has never seen is accepted: the parent's write
//     may come in a later batch.
//   - Versions, sequence numbers, cursors and times stay within
//     syncproto.MaxSafeInt (2^53-1), the largest integer a JavaScript
//     client represents exactly. A push with an op beyond it is refused
//     (400), and so is a batch in which a write, or the deletion of what
//     a deletion leaves hanging, would take a version past it: an entity
//     at that version can no longer change.
//   - Op Data is stored as it was sent (compacted), and served so. A push
//     that is not valid UTF-8, or whose Data escapes a lone surrogate
//     (like "\ud800"), is refused (400) rather than stored in a form
//     other than the one validated: Go's decoder reads such text with
//     U+FFFD in place of the bad bytes (syncproto.CheckText).
//   - A Pull page is cut short when it grows past Options.MaxPullBytes
//     (More is then true), so large entities cannot make a page unbounded.
//
// # Several processes
//
// Several Servers, in as many processes, may serve one database behind a
// load balancer, each request going to any of them, when the Store is
// made for it (the postgres one is; the sqlite one is for one process).
// They must share the Tokens, the Secret (a URL signed by one is used at
// another) and the blobs (an upload through one is downloaded through
// another): one BlobStore that all of them reach.
//
// A change wakes the watches of every process. The Server it was written
// through wakes its own at once. When the Store is an Announcer, as the
// postgres one is, the others hear of it from their store as it commits
// (in milliseconds) and wake theirs; when a store's listener has lost its
// connection, it wakes every watch once it is back, as announcements may
// have been missed meanwhile. Otherwise, and while the listener is away,
// a watch sees another process's change when it reads the store again,
// every Options.WatchPoll (5 s).
//
// Pushes to one workspace are serialized by the store whichever process
// takes them; each process commits the pushes it takes as groups (see
// below).
//
// # Group commit
//
// Pushes to one workspace are serialized by the store. A Server therefore
// keeps one transaction per workspace in flight and commits the pushes
// that queued meanwhile together, as one batch of their ops (at most 64
// pushes and 5,000 ops): one lock, one read, one write and one flush to
// disk serve them all, and each push gets its own acks as if it had come
// alone. A push whose ops cannot apply (a version past 2^53-1) fails
// alone, and a group the store refuses is retried push by push.
//
// # Garbage collection
//
// GC (atelier-sync gc, or -gc-every) deletes what nothing needs any more,
// in one pass over every workspace of the Store:
//
//   - Blob records. A record is garbage once no live (not deleted) entity
//     of its workspace mentions its hash, anywhere in its data (not only in
//     a node's result.asset: any "sha256-…" string counts), for
//     GCOptions.Grace (24 h). GC marks a record unreferenced the first
//     time it finds it so (BlobInfo.Unreferenced), clears the mark when an
//     entity mentions it again, and deletes a record marked for the
//     grace, and created at least the grace ago, when it still finds it
//     unreferenced. It reads the entities in a snapshot, then decides
//     again inside the workspace's write transaction, with the entities
//     written since and the marks as they are then: pushes wait for that
//     transaction, and a push that mentions a hash clears its mark as it
//     commits (Tx.TouchBlobs), so a blob referred to in between, however
//     briefly, starts its grace again. A push committed after the
//     deletion finds no record, and the device uploads the blob again
//     when it checks (see Caveats).
//   - Blob bytes. The bytes of a hash go from the BlobStore only once no
//     workspace has a record of it and no hold keeps them: a hold is
//     written before an upload URL is handed out (and by PutAsset), for
//     as long as the URL and its commit URL work, and GC keeps the bytes
//     until the grace after that. Store.DropBytes checks and deletes in
//     one transaction that holds off new holds of that hash, so an upload
//     granted meanwhile waits for it and then puts the bytes again.
//     Deleting a record leaves an expired hold behind, so the bytes are
//     looked at even when a collection stops half way; the bytes of an
//     upload never committed (a presigned PUT) go the same way. Bytes
//     shared by workspaces stay while any of them has a record.
//   - Acks. Acks stored before GCOptions.AckRetention (30 days) are
//     deleted, and the workspace's ack horizon (View.Horizon) moves to
//     just after the last one deleted.
//
// A push of an op that the workspace has no ack for, and whose UUIDv7 id
// says it was made before the horizon plus ClockSkew (24 h), is answered
// 409 with code "Resync" (syncproto.CodeResync), and nothing of the push
// is applied: it may be the replay of an op whose ack was deleted, and
// the server can no longer say how it went. A device whose clock ran more
// than ClockSkew ahead, replaying such an op, gets it decided again as a
// new op; that is safe for the workspace's state, as the field merge goes
// by the stamps the server keeps for every entity, tombstones included:
// an op that applied carries the stamps its fields still hold, or older
// ones, and changes nothing again (it is acknowledged superseded, with
// the current state, which the device adopts); a delete or create loses
// to the later life stamp. Only its ack can differ from the first one.
// Op ids that are not UUIDv7 (server code's, say) tell no age and are
// always decided. The sync engine, answered Resync, pulls the whole
// workspace from cursor 0 and parks the ops refused so, reporting them
// as rejected conflicts (syncproto.ResyncReason); retried by the app,
// they go again under new ids and are decided afresh, which the same
// stamps make safe.
//
// GC may run while servers serve the store, and in several processes on
// one PostgreSQL database at once: each workspace's decision is made in
// its write transaction and deleting twice is harmless; DropBytes locks
// the hold of the hash it drops. GCOptions.DryRun (the command's default)
// reports what would go and writes nothing, not even marks.
//
// # Caveats
//
// Sync routes (push, pull, watch) answer only requests of this protocol
// version (syncproto.ProtocolHeader); clients of the first version get 426
// and must be updated together with the server.
//
// Acks are kept for the retention GC is run with (see Garbage
// collection), 30 days by default; a device offline with unacknowledged
// ops for longer is told to resynchronise. A superseded ack carries the
// winning state, so a push answer can be far larger than the push.
//
// A device that had uploaded a blob, and mentions it again in a write
// after GC deleted the workspace's record (an undo, a grace after the
// deletion of the node that showed it), does not know to upload it again:
// its asset registry says it was uploaded. Other devices then fail to
// fetch those bytes until it, or another device that has them, uploads
// them again. The grace is what makes this rare. Scanning a workspace's
// live entities for hashes takes time in proportion to their size; it
// holds up no push, but GC of a very large workspace is slow. An upload
// through the server's own URL that streams for longer than twice the
// URL TTL plus the grace (26 h by default) is no longer held: its bytes
// could go between its end and its record.
//
// Field merges converge whatever order ops arrive in, with one exception:
// an update that reaches a deleted entity is dropped, so when the entity is
// later created again (an undo) by an op stamped earlier than that update,
// the update's fields are not in the result, while they would have been
// had the update arrived after the re-creation. The authoritative version
// of an entity counts the writes it took, so it depends on arrival order;
// it decides nothing.
package server
