// Package jsutil is the common ground of the browser plumbing: awaiting
// promises with a context (Await, or Watch to start watching one and Wait
// for it later), copying bytes between Go and typed arrays, turning
// JavaScript exceptions into Go errors, releasing callbacks, and turning
// panics into errors.
//
// Everything else in the module speaks Go; only this package, the other
// browser layers under internal/ (idbx for IndexedDB, fsx for the file
// system, Blobs and Web Locks, jsnet for fetch and the network, tabs for
// cross-tab messages) and the wasm/ entry point hand js.Value around.
package jsutil
