//go:build js && wasm

package fsx

import (
	"context"
	"fmt"
	"syscall/js"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/jsutil"
)

var (
	// jsNoop is a JavaScript function that does nothing: a handler for
	// promises whose outcome does not matter, without a call into Go
	// (which may have exited by the time the promise settles).
	jsNoop = js.Global().Get("Function").Get("prototype")

	jsObject     = js.Global().Get("Object")
	jsArray      = js.Global().Get("Array")
	jsUint8Array = js.Global().Get("Uint8Array")
)

// unsupported is the error for a JavaScript API the browser lacks.
func unsupported(api string) error {
	return fmt.Errorf("%s: %w", api, errs.ErrUnsupported)
}

// callSync calls v[method](args...) and turns a thrown exception into an
// error, and a missing method into one matching errs.ErrUnsupported.
func callSync(v js.Value, method string, args ...any) (js.Value, error) {
	if v.Get(method).Type() != js.TypeFunction {
		return js.Undefined(), unsupported(method)
	}
	var r js.Value
	if err := jsutil.Try(func() { r = v.Call(method, args...) }); err != nil {
		return js.Undefined(), err
	}
	return r, nil
}

// callAsync calls a promise-returning method and waits for the promise.
func callAsync(ctx context.Context, v js.Value, method string, args ...any) (js.Value, error) {
	if err := ctx.Err(); err != nil {
		return js.Undefined(), err
	}
	p, err := callSync(v, method, args...)
	if err != nil {
		return js.Undefined(), err
	}
	return jsutil.Await(ctx, p)
}

// object builds a plain JavaScript object from key/value pairs, one Set
// per key, without the Go map js.ValueOf would need.
func object(kv ...any) js.Value {
	o := jsObject.New()
	for i := 0; i+1 < len(kv); i += 2 {
		o.Set(kv[i].(string), kv[i+1])
	}
	return o
}

// ignore marks a promise as handled without waiting for it.
func ignore(p js.Value) {
	_ = jsutil.Try(func() { p.Call("then", jsNoop, jsNoop) })
}

// result is one answer of the Helper worker.
type result struct {
	v   js.Value
	err error
}

func arg0(args []js.Value) js.Value {
	if len(args) == 0 {
		return js.Undefined()
	}
	return args[0]
}
