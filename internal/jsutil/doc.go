// Package jsutil is the one place where the library talks to syscall/js
// directly: awaiting promises with a context, copying bytes between Go and
// typed arrays, turning JavaScript exceptions into Go errors, releasing
// callbacks, and turning panics into errors.
//
// Everything else in the module speaks Go; only this package, internal/idbx
// and the wasm/ entry point hand js.Value around.
package jsutil
