//go:build js && wasm

package fsx

import (
	"context"
	"fmt"
	"sync"
	"syscall/js"
	"time"

	"github.com/atelierstore/atelier/internal/jsutil"
)

// LockMode is the mode of a Web Lock.
type LockMode int

// Lock modes: one exclusive holder, or any number of shared holders.
const (
	Exclusive LockMode = iota
	Shared
)

// String returns the mode as the Web Locks API spells it.
func (m LockMode) String() string {
	if m == Shared {
		return "shared"
	}
	return "exclusive"
}

// LocksSupported reports whether the Web Locks API (navigator.locks) is
// available; it is in every browser with OPFS, but only in secure contexts.
func LocksSupported() bool {
	var ok bool
	_ = jsutil.Try(func() {
		n := js.Global().Get("navigator")
		ok = n.Truthy() && n.Get("locks").Truthy()
	})
	return ok
}

// Lock acquires the Web Lock name, which every tab and worker of the
// origin shares, and returns the function that releases it (safe to call
// more than once). Requests for one name are granted in order. If ctx ends
// before the lock is granted, the request is withdrawn and Lock returns
// ctx.Err(). It fails with an error matching atelier.ErrUnsupported where
// navigator.locks is missing.
//
// The lock is held until release is called or the page goes away, whatever
// the Go code does meanwhile: always release it. Lock must not be called
// from a browser callback.
func Lock(ctx context.Context, name string, mode LockMode) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !LocksSupported() {
		return nil, fmt.Errorf("fsx: lock %q: %w", name, unsupported("navigator.locks"))
	}
	locks := js.Global().Get("navigator").Get("locks")
	granted := make(chan js.Value, 1) // the resolve function of the held promise
	var (
		req            js.Value
		grant          js.Func
		called, gaveUp bool
	)
	grant = js.FuncOf(func(js.Value, []js.Value) any {
		called = true
		grant.Release()
		if gaveUp {
			return nil // granted after the caller gave up: release at once
		}
		held, resolve := holder()
		granted <- resolve
		return held
	})
	abort := js.Global().Get("AbortController").New()
	err = jsutil.Try(func() {
		req = locks.Call("request", name, object("mode", mode.String(), "signal", abort.Get("signal")), grant)
	})
	if err != nil {
		grant.Release()
		return nil, fmt.Errorf("fsx: lock %q: %w", name, err)
	}
	// The request's promise settles when the lock is released, or rejects
	// with an AbortError if the request is withdrawn: mark it handled.
	ignore(req)

	select {
	case resolve := <-granted:
		return releaser(resolve), nil
	case <-ctx.Done():
		// JavaScript cannot run between here and the end of this case:
		// either grant already ran (its value waits in the channel), or it
		// has not and will see gaveUp, or the abort withdraws the request.
		gaveUp = true
		abort.Call("abort")
		select {
		case resolve := <-granted:
			resolve.Invoke()
		default:
			// grant has not run. If the request was still queued it never
			// will: release grant once the request has settled, and wait
			// for that (it settles within a task of the abort), so that no
			// callback into Go outlives the call: a program may exit
			// right after.
			done := make(chan struct{})
			var settled js.Func
			settled = js.FuncOf(func(js.Value, []js.Value) any {
				settled.Release()
				if !called {
					grant.Release()
				}
				close(done)
				return nil
			})
			req.Call("then", settled, settled)
			t := time.NewTimer(settleWait)
			defer t.Stop()
			select {
			case <-done:
			case <-t.C:
			}
		}
		return nil, ctx.Err()
	}
}

// TryLock acquires the Web Lock name if it can be granted at once
// (ifAvailable): ok is false, and nothing waits in the queue, when another
// holder keeps it from being granted now. Otherwise it is Lock: release it.
// It fails with an error matching atelier.ErrUnsupported where
// navigator.locks is missing.
//
// It waits for the browser's answer even if ctx ends meanwhile (the answer
// comes within a task): a lock granted to a caller that stopped listening
// would stay held. The Web Locks API cannot withdraw such a request
// anyway: it refuses a signal together with ifAvailable.
func TryLock(ctx context.Context, name string, mode LockMode) (release func(), ok bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	if !LocksSupported() {
		return nil, false, fmt.Errorf("fsx: lock %q: %w", name, unsupported("navigator.locks"))
	}
	type grant struct {
		resolve js.Value
		ok      bool
	}
	ch := make(chan grant, 1)
	var cb js.Func
	cb = js.FuncOf(func(_ js.Value, args []js.Value) any {
		cb.Release()
		if lock := arg0(args); lock.IsNull() || lock.IsUndefined() {
			ch <- grant{} // not available: the request is already over
			return nil
		}
		held, resolve := holder()
		ch <- grant{resolve: resolve, ok: true}
		return held
	})
	var req js.Value
	err = jsutil.Try(func() {
		req = js.Global().Get("navigator").Get("locks").Call("request", name,
			object("mode", mode.String(), "ifAvailable", true), cb)
	})
	if err != nil {
		cb.Release()
		return nil, false, fmt.Errorf("fsx: lock %q: %w", name, err)
	}
	ignore(req)
	g := <-ch
	if !g.ok {
		return nil, false, nil
	}
	return releaser(g.resolve), true, nil
}

// settleWait bounds how long a withdrawn request is waited for; the
// browser settles it within a task of the abort.
const settleWait = time.Second

// holder returns the promise a lock callback returns to keep the lock
// held, and the function that resolves it, releasing the lock.
func holder() (held, resolve js.Value) {
	executor := js.FuncOf(func(_ js.Value, args []js.Value) any {
		resolve = args[0]
		return nil
	})
	held = js.Global().Get("Promise").New(executor) // runs executor at once
	executor.Release()
	return held, resolve
}

// releaser returns a release function of a held lock that is safe to call
// more than once.
func releaser(resolve js.Value) func() {
	var once sync.Once
	return func() { once.Do(func() { resolve.Invoke() }) }
}
