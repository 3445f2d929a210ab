// Package assets is where a workflow's binary assets live in the browser:
// it chooses the store (the origin private file system, or IndexedDB where
// OPFS is missing or refuses, or a folder the user picked), records each
// asset with the workflow store so that usage is tracked, and removes what
// nothing uses any more.
//
// # Basics
//
//	lib := ws.Assets() // atelier.Open assembles it (assets.Open)
//	ref, err := lib.Put(ctx, file, assetref.Hint{MIME: "image/png"})
//	_, err = db.UpdateNode(ctx, wf, node, graph.NodePatch{Result: &graph.Result{Asset: &ref}})
//
// Put streams the bytes into the store in use (never holding them whole in
// Go memory) and registers the asset with the workflow store; identical
// bytes are stored once, whichever store first received them. PutBlob
// stores an assetref.Blob: a Blob or File the page holds (the JavaScript
// binding hands them over) goes into the store without its bytes passing
// through Go, any other Blob through ReadAt; Blob returns an asset as one
// the browser holds, for display. A node's
// result refers to the asset; deleting the node or its workflow releases
// it, and Collect (run periodically in the leading tab) deletes assets no
// node has used for a while.
//
// Bytes are written before the record that makes them known, and
// forgotten (record first) before they are deleted: a crash can leave
// bytes without a record, never a record naming missing bytes that it did
// not report. Reconcile, run when the leading tab starts, removes the
// former and reports the latter.
//
// # Outside the browser
//
// The library's logic is written over small interfaces (Registry, the
// byte stores as assetref.Store, Locker, Leader, Notifier, a quota
// estimate; see Env) and builds without the browser: New assembles it from
// any implementations, Open from the browser's (the registry of the
// store's database, package assets/registry, the OPFS and IndexedDB
// stores, the folders the user picked, Web Locks, a cross-tab bus). The
// tests of Put, Collect, Reconcile, Evict and fetching run on the host
// over memstore and memregistry:
//
//	lib, err := assets.New(assets.Env{
//		Registry: memregistry.New(),
//		Fallback: memstore.NewKind(assetref.KindIDB),
//	}, nil)
//
// Capabilities tells the app which store is in use, whether storage is
// persistent, and how much of the quota is used; Persist asks the browser
// to make storage persistent.
//
// # Sync
//
// With a sync server the library is the local side of asset sync. Wire it
// next to the op engine:
//
//	tr := syncengine.NewHTTP(url, workspace, token)
//	lib.SetRemote(tr)                              // fetch on demand
//	up := syncengine.NewUploader(lib, tr, nil)     // lib is its AssetSource
//	up.FollowOnline()
//	ws.RunOnLeader("assets-upload", func(ctx context.Context) { up.Run(ctx) })
//
// The asset registry records, per asset, whether the server has the
// bytes (Uploaded), whether this device does (Remote) and when they were
// last read here (UsedAt). The uploader in the leading tab asks the
// server which hashes it lacks and uploads those, content-addressed,
// assets that nodes use first, retrying with backoff; new assets stored in
// any tab start it at once (OnStored).
//
// A node pulled from another device brings only its ref: the registry
// knows the asset as Remote. Open, Blob and Stat resolve a ref through
// the registry (by hash), so the bytes are served from wherever this
// device keeps them; when it keeps none, Open and Blob fetch them from the
// server, store them in OPFS (or IndexedDB) under the ref's id, record the
// new location and serve them. Stat answers from the record without
// fetching. While the server does not have the asset yet (the other
// device has not uploaded it), fetching retries for up to
// Options.FetchWait and then fails with a *FetchError, which matches
// atelier.ErrNotFound and is Temporary; a later read tries again.
//
// Evict deletes local copies of assets the server has, least recently
// read first: never one the server lacks, one read within
// Options.EvictIdle, one an open reader holds (in any tab: readers share a
// Web Lock per asset that Evict takes only if it is free), or one in a
// folder the user picked. The leading tab calls EvictIfNeeded every
// Options.EvictEvery, which evicts when usage passes Options.EvictAbove of
// the quota; a write that fails for want of quota evicts and tries again.
// An evicted asset comes back on its next read.
//
// # Caveats
//
// A folder the user picked must be picked again (or its permission
// granted again) in a later session if the browser does not keep the
// permission; until then its assets fail to open with
// atelier.ErrPermission.
//
// Collect and Reconcile leave alone assets younger than Options.Grace, so
// that an upload another tab has not registered yet is never deleted.
//
// A Blob that Blob returned reads the stored file when the page reads it:
// if the copy is evicted meanwhile, reading it fails. Eviction keeps
// assets read within Options.EvictIdle, so show or copy the Blob well
// within that.
package assets
