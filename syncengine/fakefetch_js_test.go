//go:build js && wasm

package syncengine

import (
	"syscall/js"
	"testing"

	"github.com/atelierstore/atelier/internal/jsutil"
	"github.com/atelierstore/atelier/syncproto"
)

// answer is what a fake fetch gives for one request.
type answer struct {
	status  int
	body    any            // a string, a JS value (a ReadableStream), or nil for none
	headers map[string]any // besides Content-Type: application/json and this protocol's version
	version *string        // the Atelier-Sync header to send instead of this protocol's; "" for none
	pending bool           // never answer
}

// serveFetch replaces globalThis.fetch for the rest of the test with one
// that answers each request (its URL and init object) with serve, and
// removes XMLHttpRequest so that uploads go through fetch too.
func serveFetch(t *testing.T, serve func(url string, init js.Value) answer) {
	t.Helper()
	var fs jsutil.Funcs
	never := fs.Add(func(js.Value, []js.Value) any { return nil })
	f := fs.Add(func(_ js.Value, args []js.Value) any {
		a := serve(args[0].String(), args[1])
		if a.pending {
			return js.Global().Get("Promise").New(never)
		}
		h := map[string]any{"Content-Type": "application/json", syncproto.ProtocolHeader: syncproto.Protocol}
		if a.version != nil {
			delete(h, syncproto.ProtocolHeader)
			if *a.version != "" {
				h[syncproto.ProtocolHeader] = *a.version
			}
		}
		for k, v := range a.headers {
			h[k] = v
		}
		body := a.body
		if body == "" {
			body = nil
		}
		resp := js.Global().Get("Response").New(body, map[string]any{"status": a.status, "headers": h})
		return js.Global().Get("Promise").Call("resolve", resp)
	})
	oldFetch, oldXHR := js.Global().Get("fetch"), js.Global().Get("XMLHttpRequest")
	js.Global().Set("fetch", f)
	js.Global().Set("XMLHttpRequest", js.Undefined())
	t.Cleanup(func() {
		js.Global().Set("fetch", oldFetch)
		js.Global().Set("XMLHttpRequest", oldXHR)
		// A pending request keeps its listeners: the functions stay.
	})
}

// method is the method of a fetch's init object.
func method(init js.Value) string {
	if m := init.Get("method"); m.Truthy() {
		return m.String()
	}
	return "GET"
}

// reqHeader is the value of a request header of a fetch's init object
// (null when it has none), as text.
func reqHeader(init js.Value, name string) js.Value {
	return js.Global().Get("Headers").New(init.Get("headers")).Call("get", name)
}
