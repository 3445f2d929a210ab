//go:build js && wasm

// Package idbblob is the IndexedDB fallback for asset bytes: an
// assetref.Store whose refs are of kind idb, for browsers without the
// origin private file system, or when it refuses.
//
// It keeps assets in object stores of the workflow store's database,
// which package idb creates (schema version 2), on a connection of its
// own: Open it after idb.Open, with the same name. Each asset is a list of
// chunks, each a JavaScript Blob, plus one record that makes it visible
// and whose unique index on the content hash stores identical bytes once,
// across tabs too. Content the page already holds as a Blob goes in
// (PutBlob) and comes out (Blob) without passing through Go.
//
// # Caveats
//
// The store closes its connection when another tab upgrades or deletes
// the database; its methods then fail with an error matching
// errs.ErrClosed, and the page must be reloaded. Chunks of a Put cut
// short by a crash stay until Sweep removes them.
package idbblob
