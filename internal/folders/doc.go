//go:build js && wasm

// Package folders persists the folders the user picked (File System
// Access directory handles), so that the assets a store keeps in them
// stay reachable after a reload: the browser stores a handle in IndexedDB
// as it is (structured clone), and gives it back in a later session,
// though it may ask the user again for permission to use it.
//
// The folders are kept in an object store of the workflow store's
// database, which package idb creates (schema version 2), on a connection
// of the package's own: Open it after idb.Open, with the same name.
//
// # Caveats
//
// The store closes its connection when another tab upgrades or deletes
// the database; its methods then fail with an error matching
// errs.ErrClosed, and the page must be reloaded.
package folders
