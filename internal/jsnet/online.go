//go:build js && wasm

package jsnet

import (
	"sync"
	"syscall/js"

	"github.com/atelierstore/atelier/internal/jsutil"
)

// FollowOnline calls set with whether the browser is online: at once, if
// the browser reports it (navigator.onLine), and on every online and
// offline event after that, until stop is called. set runs from a browser
// event and must not block.
func FollowOnline(set func(online bool)) (stop func()) {
	var on js.Value
	_ = jsutil.Try(func() { on = js.Global().Get("navigator").Get("onLine") })
	if on.Type() == js.TypeBoolean {
		set(on.Bool())
	}
	online := js.FuncOf(func(js.Value, []js.Value) any { set(true); return nil })
	offline := js.FuncOf(func(js.Value, []js.Value) any { set(false); return nil })
	js.Global().Call("addEventListener", "online", online)
	js.Global().Call("addEventListener", "offline", offline)
	var once sync.Once
	return func() {
		once.Do(func() {
			js.Global().Call("removeEventListener", "online", online)
			js.Global().Call("removeEventListener", "offline", offline)
			online.Release()
			offline.Release()
		})
	}
}
