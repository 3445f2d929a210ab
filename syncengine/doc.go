// Package syncengine keeps a local store and a sync server converging:
// it pushes the store's outbox of operations in batches, applies the
// server's acknowledgements, and pulls the server's changes after the
// store's cursor, again and again, retrying with exponential backoff when
// the network or the server fails.
//
// # Basics
//
// An Engine works between a Store (the local side: an *outbox.Outbox) and a
// Transport (the server: NewHTTP in the browser). Run it, typically only
// in the leading tab (atelier.Open does); Flush asks for a round now,
// SetOnline pauses and resumes it, Status says where it stands:
//
//	e := syncengine.New(ob, syncengine.NewHTTP(baseURL, workspace, token), nil)
//	ws.RunOnLeader("sync", e.Run)
//
// Nothing acknowledged locally is lost: an operation leaves the outbox
// only once the server has answered it. Nothing is applied twice: an
// operation keeps its id when it is pushed again after a lost response,
// and the server answers a replay with the acknowledgement it gave the
// first time. A batch the server refuses as a whole (one malformed
// operation) is split until the operation that fails alone is found; that
// one is parked and reported, the others go through.
//
// # Assets
//
// Assets travel apart from operations, content-addressed: an operation
// carries a node whose result is an AssetRef with a hash, never the
// bytes. An Uploader (NewUploader, run on the leader too) asks the server
// which hashes it lacks, uploads those through a retrying queue with the
// same backoff, and marks them uploaded in the local registry; a hash the
// server already has is never sent. The asset library (assets.Library,
// with SetRemote) fetches on demand the bytes a synced node refers to and
// may evict local copies of uploaded assets, least recently read first,
// when storage nears its quota. A download of 8 MiB or more that breaks
// off goes on from the byte where it stopped, with a Range request, as
// long as each try brings bytes:
//
//	tr := syncengine.NewHTTP(baseURL, workspace, token)
//	lib.SetRemote(tr)
//	up := syncengine.NewUploader(lib, tr, nil)
//	ws.RunOnLeader("assets-upload", func(ctx context.Context) { _ = up.Run(ctx) })
//
// # Live updates
//
// When the Transport is also a Watcher (NewHTTP is), Run listens for the
// server's announcements of new changes (a long poll, syncproto.RouteWatch)
// and runs a round after each, so a change made on another device or by
// server code shows within moments; PullInterval polling goes on beside
// it as the fallback. Status.Live says whether it is listening. A server
// that lacks the route (404) is only polled; one that fails is asked again
// after the same backoff as rounds. Options.NoWatch turns it off.
//
// # Resynchronising
//
// A server keeps the acknowledgement of each operation for a while only
// (atelier-sync -ack-retention, 30 days by default). A device offline for
// longer, with operations it never had acknowledged (pushed without an
// answer, or never pushed), pushes one the server may have forgotten: it
// is answered "Resync" (syncproto.CodeResync) and nothing of that push is
// applied. The engine then pulls the whole workspace again from cursor 0
// (once a round; Status.Resyncs counts it), so that it has every change,
// those operations' effects included where they had applied; it pushes
// the batch again split as for a refused batch, and the operations
// refused so are parked and reported through OnConflict as rejected, with
// syncproto.ResyncReason as the reason. While parked, they keep their
// entities as this device has them (pulled changes of those entities wait,
// as for any operation not acknowledged). They are kept, not dropped, and
// not pushed again until the app retries them (the outbox's RetryParked):
// they then go under new ids, and the server decides them afresh by the
// field merge, which is safe (see syncproto.CodeResync): nothing written
// after such an operation is undone; one that had applied writes the
// same values again.
//
// # Caveats
//
// Backoff applies to the whole engine: while the server is unreachable no
// round runs before the delay has passed (2 s doubling to 32 s by default,
// with jitter), unless Flush or coming back online asks for one.
package syncengine
