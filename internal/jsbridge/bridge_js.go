//go:build js && wasm

package jsbridge

import (
	_ "embed"
	"fmt"
	"sync"
	"syscall/js"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// Source is bridge.js, the file that `make build` ships as
// build/atelier-bridge.js.
//
//go:embed bridge.js
var Source string

// global is the property bridge.js assigns.
const global = "__atelierBridge"

// FileName is the name the bridge file is served under.
const FileName = "atelier-bridge.js"

// Error is why the bridge is not available: a Content-Security-Policy
// blocked the embedded copy and the page did not load the file, or the
// page loaded a file of another version. It matches errs.ErrUnsupported.
type Error struct {
	Reason string
}

func (e *Error) Error() string {
	return "atelier: the JavaScript bridge is not available (" + e.Reason + "): load " + FileName +
		" (served with the wasm module; atelier.mjs loads it from its bridgeURL) before starting the module"
}

// Unwrap makes errors.Is(err, errs.ErrUnsupported) hold.
func (e *Error) Unwrap() error { return errs.ErrUnsupported }

// Get returns the bridge object, globalThis.__atelierBridge, loading the
// embedded copy the first time if the page has not loaded the file. The
// result, object or *Error, is the same for the life of the module.
var Get = sync.OnceValues(load)

func load() (js.Value, error) {
	want, ok := sourceVersion(Source)
	if !ok {
		return js.Value{}, &Error{Reason: "the embedded bridge declares no version"}
	}
	b := js.Global().Get(global)
	if b.Truthy() {
		if v := version(b); v == want {
			return b, nil
		}
	}
	how, err := runEmbedded()
	got := js.Global().Get(global)
	if got.Truthy() && version(got) == want {
		return got, nil
	}
	switch {
	case b.Truthy():
		return js.Value{}, &Error{Reason: fmt.Sprintf("the page loaded version %d, this module needs version %d", version(b), want)}
	case err != nil:
		return js.Value{}, &Error{Reason: fmt.Sprintf("%s: %v", how, err)}
	case how == "":
		return js.Value{}, &Error{Reason: "no document and no importScripts to run it with (a module worker?)"}
	default:
		return js.Value{}, &Error{Reason: how + " did not run it (blocked by a Content-Security-Policy?)"}
	}
}

// version is the version of a bridge object, 0 if it has none.
func version(b js.Value) int {
	v := 0
	_ = jsutil.Try(func() {
		if n := b.Get("version"); n.Type() == js.TypeNumber {
			v = n.Int()
		}
	})
	return v
}

// runEmbedded runs Source the two ways that need no eval, as far as the
// global scope offers them, and says which it tried. A policy that forbids
// them fails silently in a window (the script does not run; the browser
// reports a securitypolicyviolation) and with an exception in a worker.
func runEmbedded() (how string, err error) {
	g := js.Global()
	if doc := g.Get("document"); doc.Truthy() {
		how = "an inline <script>"
		err = jsutil.Try(func() {
			s := doc.Call("createElement", "script")
			s.Set("textContent", Source)
			parent := doc.Get("head")
			if !parent.Truthy() {
				parent = doc.Get("documentElement")
			}
			parent.Call("append", s) // a classic inline script runs now
			s.Call("remove")
		})
		return how, err
	}
	if g.Get("importScripts").Type() == js.TypeFunction && g.Get("Blob").Type() == js.TypeFunction {
		how = "importScripts of a blob: URL"
		err = jsutil.Try(func() {
			u := g.Get("URL")
			url := u.Call("createObjectURL", g.Get("Blob").New([]any{Source}, map[string]any{"type": "text/javascript"}))
			defer u.Call("revokeObjectURL", url)
			g.Call("importScripts", url)
		})
		return how, err
	}
	return "", nil
}

// URL returns the absolute URL the page loaded the bridge file from, or ""
// when it is unknown (the embedded copy runs, or the file was imported as a
// module without telling).
func URL() string {
	b, err := Get()
	if err != nil {
		return ""
	}
	url := ""
	_ = jsutil.Try(func() {
		if u := b.Get("url"); u.Type() == js.TypeString {
			url = u.String()
		}
	})
	return url
}
