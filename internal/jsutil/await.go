//go:build js && wasm

package jsutil

import (
	"context"
	"syscall/js"
)

// Await waits until the promise p settles and returns its value, or the
// rejection as an error (see ToError). If ctx is done first it returns
// ctx.Err(); the callbacks stay registered until the promise settles and
// release themselves then, so nothing leaks and nothing calls a released
// function.
func Await(ctx context.Context, p js.Value) (js.Value, error) {
	if err := ctx.Err(); err != nil {
		return js.Undefined(), err
	}
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	var ok, fail js.Func
	ok = js.FuncOf(func(_ js.Value, args []js.Value) any {
		ok.Release()
		fail.Release()
		ch <- result{v: arg0(args)}
		return nil
	})
	fail = js.FuncOf(func(_ js.Value, args []js.Value) any {
		ok.Release()
		fail.Release()
		err := ToError(arg0(args))
		if err == nil {
			err = &Error{Name: "Error", Message: "promise rejected without a reason"}
		}
		ch <- result{err: err}
		return nil
	})
	if err := Try(func() { p.Call("then", ok, fail) }); err != nil {
		ok.Release()
		fail.Release()
		return js.Undefined(), err
	}
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		return js.Undefined(), ctx.Err()
	}
}

func arg0(args []js.Value) js.Value {
	if len(args) == 0 {
		return js.Undefined()
	}
	return args[0]
}
