//go:build js && wasm

package syncengine

import "syscall/js"

// FollowOnline pauses the uploader while the browser reports being
// offline and resumes it (with a pass at once) when it comes back. The
// returned function stops following.
func (u *Uploader) FollowOnline() (stop func()) {
	nav := js.Global().Get("navigator")
	if on := nav.Get("onLine"); on.Type() == js.TypeBoolean {
		u.SetOnline(on.Bool())
	}
	online := js.FuncOf(func(js.Value, []js.Value) any { u.SetOnline(true); return nil })
	offline := js.FuncOf(func(js.Value, []js.Value) any { u.SetOnline(false); return nil })
	js.Global().Call("addEventListener", "online", online)
	js.Global().Call("addEventListener", "offline", offline)
	return func() {
		js.Global().Call("removeEventListener", "online", online)
		js.Global().Call("removeEventListener", "offline", offline)
		online.Release()
		offline.Release()
	}
}
