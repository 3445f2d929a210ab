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
	return Watch(p).Wait(ctx)
}

// Future is a promise being watched from Go. Watch attaches its callbacks
// at once, so the browser works on the promise while Go does something
// else (reads ahead, writes in flight), and they release themselves when
// it settles, whether or not anyone still waits. A Future is not safe for
// concurrent use.
type Future struct {
	ch   chan result
	done bool
	res  result
}

type result struct {
	v   js.Value
	err error
}

// Watch starts watching the promise p: then(ok, fail), whichever fires
// releasing both. If p has no working then, the Future fails with the
// exception.
func Watch(p js.Value) *Future {
	f := &Future{ch: make(chan result, 1)}
	var ok, fail js.Func
	ok = js.FuncOf(func(_ js.Value, args []js.Value) any {
		ok.Release()
		fail.Release()
		f.ch <- result{v: arg0(args)}
		return nil
	})
	fail = js.FuncOf(func(_ js.Value, args []js.Value) any {
		ok.Release()
		fail.Release()
		err := ToError(arg0(args))
		if err == nil {
			err = &Error{Name: "Error", Message: "promise rejected without a reason"}
		}
		f.ch <- result{err: err}
		return nil
	})
	if err := Try(func() { p.Call("then", ok, fail) }); err != nil {
		ok.Release()
		fail.Release()
		f.ch <- result{err: err}
	}
	return f
}

// Failed returns a Future that has already failed with err, for a call
// that threw before it could return a promise.
func Failed(err error) *Future {
	return &Future{done: true, res: result{err: err}}
}

// Wait returns the promise's value or rejection, or ctx.Err() if ctx ends
// first; it can be called again after that, and after the promise settled
// it returns the same outcome every time.
func (f *Future) Wait(ctx context.Context) (js.Value, error) {
	if f.done {
		return f.res.v, f.res.err
	}
	select {
	case r := <-f.ch:
		f.done, f.res = true, r
		return r.v, r.err
	case <-ctx.Done():
		return js.Undefined(), ctx.Err()
	}
}

// Settled reports whether Wait has seen the promise settle: false after a
// Wait that returned ctx.Err() with the promise still pending.
func (f *Future) Settled() bool { return f.done }

func arg0(args []js.Value) js.Value {
	if len(args) == 0 {
		return js.Undefined()
	}
	return args[0]
}
