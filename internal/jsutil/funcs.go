//go:build js && wasm

package jsutil

import "syscall/js"

// Funcs collects js.Funcs that must live until some event (a transaction
// finishing, a connection closing) and then be released together.
// It is not safe for concurrent use; Go on wasm runs one goroutine at a
// time, but a Funcs must still only be used from code that does not yield
// between Add and Release.
type Funcs struct{ fs []js.Func }

// Add wraps fn with js.FuncOf, remembers it, and returns it.
func (f *Funcs) Add(fn func(this js.Value, args []js.Value) any) js.Func {
	jf := js.FuncOf(fn)
	f.fs = append(f.fs, jf)
	return jf
}

// Release releases every collected function. Call it only once JavaScript
// can no longer call them.
func (f *Funcs) Release() {
	for _, jf := range f.fs {
		jf.Release()
	}
	f.fs = nil
}
