// Package registry is the asset registry kept in the workflow store's
// database: for every asset whose bytes this library stores (OPFS, a
// user's folder, the IndexedDB fallback) a record, keyed by its content
// hash, that says where the bytes are, which nodes use them and, with
// sync, whether the server has them.
//
// # Basics
//
// Open installs the registry on an open store (package idb): from then on
// node writes and deletions keep the users of each asset up to date in the
// same transaction, so deleting a workflow releases its assets atomically,
// and the asset library (package assets, through its Registry interface)
// can collect the bytes nobody uses:
//
//	reg := registry.Open(db)
//	defer reg.Close()
//	rec, existed, err := reg.RegisterAsset(ctx, ref)
//
// Records are laid out by assetref.StoredRecord in the store's assets
// object store, indexed by the workflows that use them.
package registry
