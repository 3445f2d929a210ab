//go:build js && wasm

package tabs

import (
	"context"
	"sync"
	"time"

	"github.com/atelierstore/atelier/internal/fsx"
)

// Leader campaigns for an exclusive Web Lock; the tab holding it is the
// leader until it releases the lock, closes or crashes, and the browser
// then grants it to the next tab waiting.
type Leader struct {
	mu       sync.Mutex
	leading  bool
	ctx      context.Context // ends when leadership ends
	cancel   context.CancelFunc
	onChange func(leading bool)
	stop     context.CancelFunc // withdraws the request, or gives the lock up
	done     chan struct{}      // closed once the lock is released or the request withdrawn
}

// Campaign requests the lock named name. onChange is called, from a
// goroutine (it must not block), when this tab gains or loses leadership.
// If the browser has no Web Locks, ok is false and the caller decides what
// to do.
func Campaign(name string, onChange func(leading bool)) (l *Leader, ok bool) {
	if !fsx.LocksSupported() {
		return nil, false
	}
	l = &Leader{onChange: onChange, done: make(chan struct{})}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.cancel() // not leading yet: a done context
	var ctx context.Context
	ctx, l.stop = context.WithCancel(context.Background())
	go l.campaign(ctx, name)
	return l, true
}

// campaign waits for the lock, leads until ctx ends, then releases it.
func (l *Leader) campaign(ctx context.Context, name string) {
	defer close(l.done)
	release, err := fsx.Lock(ctx, name, fsx.Exclusive)
	if err != nil {
		return // withdrawn by Close
	}
	defer release()
	l.mu.Lock()
	l.leading = true
	l.ctx, l.cancel = context.WithCancel(context.Background())
	f := l.onChange
	l.mu.Unlock()
	if f != nil {
		f(true)
	}
	<-ctx.Done()
}

// Leading reports whether this tab holds the lock, and a context that ends
// when it stops holding it.
func (l *Leader) Leading() (bool, context.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.leading, l.ctx
}

// Close gives up leadership (or the place in the queue). onChange is
// called with false if this tab was leading. Close returns once the lock
// is released or the request withdrawn, so that no callback into Go
// outlives it (a program may exit right after), or after settleWait if the
// browser never settles it. It must not be called from a browser callback.
func (l *Leader) Close() {
	l.stop()
	t := time.NewTimer(settleWait)
	defer t.Stop()
	select {
	case <-l.done:
	case <-t.C:
	}
	l.mu.Lock()
	was := l.leading
	l.leading = false
	l.cancel()
	f := l.onChange
	l.mu.Unlock()
	if was && f != nil {
		f(false)
	}
}

// settleWait bounds how long Close waits for the browser.
const settleWait = time.Second
