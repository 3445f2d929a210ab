//go:build js && wasm

package jsutil

import (
	"fmt"
	"syscall/js"
)

var (
	uint8Array  = js.Global().Get("Uint8Array")
	arrayBuffer = js.Global().Get("ArrayBuffer")
)

// Uint8Array returns a new JavaScript Uint8Array holding a copy of b. It is
// a fresh buffer, not a view into a larger one, so storing it (IndexedDB,
// postMessage) never clones more than len(b) bytes.
func Uint8Array(b []byte) js.Value {
	a := uint8Array.New(len(b))
	if len(b) > 0 {
		js.CopyBytesToJS(a, b)
	}
	return a
}

// Bytes copies a Uint8Array or ArrayBuffer into a new Go slice.
func Bytes(v js.Value) ([]byte, error) {
	if v.InstanceOf(arrayBuffer) {
		v = uint8Array.New(v)
	} else if !v.InstanceOf(uint8Array) {
		return nil, fmt.Errorf("expected a Uint8Array or ArrayBuffer, got %s", v.Type())
	}
	b := make([]byte, v.Length())
	if len(b) > 0 {
		js.CopyBytesToGo(b, v)
	}
	return b, nil
}

// CopyInto copies the Uint8Array v into dst, which must be exactly
// v.Length() bytes long, and returns dst. It lets callers copy many small
// arrays into one Go allocation.
func CopyInto(dst []byte, v js.Value) []byte {
	if len(dst) > 0 {
		js.CopyBytesToGo(dst, v)
	}
	return dst
}
