// Package memstore is an in-memory assetref.Store, for tests on the host and
// in the browser, and for staging the assets of a package being imported or
// exported.
//
// # Basics
//
// New returns an empty store that hands out refs of kind embedded whose ID
// is the asset id: a set of assets keyed by id is what an exported package
// holds, and the kind needs no storage layout to be invented. NewKind makes
// a store that hands out refs of another storable kind, so that code which
// routes or rewrites refs by kind can be tested on the host with one
// memstore standing in for each browser store:
//
//	kind        locator of asset id X
//	embedded    ID       X
//	idb         BlobKey  X
//	fs-handle   HandleID X
//	opfs        Path     memstore/X
//
// The store implements assetref.Lister as well, and passes the storetest
// conformance suite.
//
// # Caveats
//
// Everything is held in memory, twice at worst while a Put is reading.
// Readers returned by Open stay readable after Delete, which the browser
// stores do not promise; do not rely on it.
package memstore
