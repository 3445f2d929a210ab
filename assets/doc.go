// Package assets is where a workflow's binary assets live in the browser:
// it chooses the store (the origin private file system, or IndexedDB where
// OPFS is missing or refuses, or a folder the user picked), records each
// asset with the workflow store so that usage is tracked, and removes what
// nothing uses any more.
//
// # Basics
//
//	lib, err := assets.Open(ctx, db, nil) // db is an *idb.DB
//	ref, err := lib.Put(ctx, file, assetref.Hint{MIME: "image/png"})
//	_, err = db.UpdateNodeResult(ctx, wf, node, &graph.Result{Asset: &ref})
//
// Put streams the bytes into the store in use (never holding them whole in
// Go memory) and registers the asset with the workflow store; identical
// bytes are stored once, whichever store first received them. From
// JavaScript, PutBlob stores a Blob or File the page holds without its
// bytes passing through Go, and Blob returns one for display. A node's
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
// Capabilities tells the app which store is in use, whether storage is
// persistent, and how much of the quota is used; Persist asks the browser
// to make storage persistent.
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
package assets
