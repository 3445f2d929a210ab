//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"syscall/js"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// errAborted is what a call rejects with when its AbortSignal fires: code
// Aborted. Nothing the call was writing is kept.
var errAborted = fmt.Errorf("aborted by its signal: %w", context.Canceled)

var abortSignalAborted = nativeGetter("AbortSignal", "aborted")

// signalArg reads options.signal of argument i: an AbortSignal, or absent.
func signalArg(args []js.Value, i int, name string) (js.Value, error) {
	o := arg(args, i)
	if !isPlainObject(o) {
		return js.Undefined(), nil // optionsArg reports what is wrong with o
	}
	s, err := getProp(o, "signal")
	switch {
	case err != nil:
		return js.Undefined(), argError(name+".signal", "reading it threw "+err.Error())
	case absent(s):
		return js.Undefined(), nil
	}
	if _, ok := branded(abortSignalAborted, s); !ok {
		return js.Undefined(), argError(name+".signal", "must be an AbortSignal, not "+describe(s))
	}
	return s, nil
}

// yieldsKey marks the context of an abortable call: its progress steps
// yield to the event loop (see abortable).
type yieldsKey struct{}

// abortable runs fn with a context that ends when signal (an AbortSignal,
// or undefined) fires. A call aborted before it starts does not start; one
// aborted while it runs rejects with errAborted whatever error its
// interruption caused.
func abortable(ctx context.Context, signal js.Value, fn func(ctx context.Context) (any, error)) (any, error) {
	if signal.IsUndefined() {
		return fn(ctx)
	}
	if aborted, _ := branded(abortSignalAborted, signal); aborted.Truthy() {
		return nil, errAborted
	}
	ctx, cancel := context.WithCancelCause(ctx)
	// At every step it reports, the call lets the event loop run, so that
	// an abort reaches it while it works: in a worker, the page's abort is
	// a message, which waits for that.
	ctx = assetref.ThenOnProgress(ctx, func(int64, int64) { jsutil.Yield() })
	ctx = context.WithValue(ctx, yieldsKey{}, true)
	onAbort := js.FuncOf(func(js.Value, []js.Value) any {
		cancel(errAborted)
		return nil
	})
	signal.Call("addEventListener", "abort", onAbort)
	defer func() {
		signal.Call("removeEventListener", "abort", onAbort)
		onAbort.Release()
		cancel(nil)
	}()
	v, err := fn(ctx)
	if err != nil && errors.Is(context.Cause(ctx), errAborted) {
		return nil, errAborted
	}
	return v, err
}
