//go:build js && wasm

package tabs

import (
	"context"
	"sync"
	"syscall/js"
	"time"

	"github.com/atelierstore/atelier/internal/jsutil"
)

// Leader campaigns for an exclusive Web Lock; the tab holding it is the
// leader until it releases the lock, closes or crashes, and the browser
// then grants it to the next tab waiting.
type Leader struct {
	mu       sync.Mutex
	leading  bool
	ctx      context.Context // ends when leadership ends
	cancel   context.CancelFunc
	release  js.Value // resolves the promise that holds the lock
	onChange func(leading bool)
	funcs    jsutil.Funcs
	closed   bool
	abort    js.Value      // AbortController for a pending request
	settled  chan struct{} // closed once the request's promise settled
}

// Campaign requests the lock named name. onChange is called (from a browser
// event; it must not block) when this tab gains or loses leadership. If the
// browser has no Web Locks, ok is false and the caller decides what to do.
func Campaign(name string, onChange func(leading bool)) (l *Leader, ok bool) {
	locks := js.Global().Get("navigator").Get("locks")
	if !locks.Truthy() {
		return nil, false
	}
	l = &Leader{onChange: onChange, settled: make(chan struct{})}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.cancel() // not leading yet: a done context
	granted := l.funcs.Add(func(js.Value, []js.Value) any {
		var resolve js.Value
		holder := js.Global().Get("Promise").New(l.funcs.Add(func(_ js.Value, args []js.Value) any {
			resolve = args[0]
			return nil
		}))
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return nil // give the lock straight back
		}
		l.leading, l.release = true, resolve
		l.ctx, l.cancel = context.WithCancel(context.Background())
		f := l.onChange
		l.mu.Unlock()
		if f != nil {
			f(true)
		}
		return holder
	})
	l.abort = js.Global().Get("AbortController").New()
	opts := map[string]any{"mode": "exclusive", "signal": l.abort.Get("signal")}
	p := locks.Call("request", name, opts, granted)
	// The request settles once the lock is released or the request is
	// aborted (it then rejects: nothing to report). From then on nothing
	// can call back, so that is when the callbacks go.
	var settled js.Func
	settled = js.FuncOf(func(js.Value, []js.Value) any {
		l.funcs.Release()
		settled.Release()
		close(l.settled)
		return nil
	})
	p.Call("then", settled, settled)
	return l, true
}

// Leading reports whether this tab holds the lock, and a context that ends
// when it stops holding it.
func (l *Leader) Leading() (bool, context.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.leading, l.ctx
}

// Close gives up leadership (or the place in the queue). onChange is
// called with false if this tab was leading. Close returns once the
// browser has settled the lock request, so that no callback into Go
// outlives it (a program may exit right after), or after settleWait if the
// browser never settles it. It must not be called from a browser callback.
func (l *Leader) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	was, release := l.leading, l.release
	l.leading = false
	l.cancel()
	f := l.onChange
	l.mu.Unlock()
	_ = jsutil.Try(func() {
		if was {
			release.Invoke()
		} else {
			l.abort.Call("abort")
		}
	})
	if was && f != nil {
		f(false)
	}
	t := time.NewTimer(settleWait)
	defer t.Stop()
	select {
	case <-l.settled:
	case <-t.C:
	}
}

// settleWait bounds how long Close waits for the browser to settle the
// lock request; it settles within a task of the release or abort.
const settleWait = time.Second
