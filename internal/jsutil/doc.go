// Package jsutil is the one place where the library talks to syscall/js
// directly: awaiting promises with a context, copying bytes between Go and
// typed arrays, turning JavaScript exceptions into Go errors, releasing
// callbacks, and turning panics into errors.
//
// Everything else in the module speaks Go; only this package, the other
// browser layers under internal/ (idbx for IndexedDB, fsx for the file
// system, tabs for cross-tab messages) and the wasm/ entry point hand
// js.Value around.
package jsutil
