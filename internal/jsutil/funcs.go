//go:build js && wasm

package jsutil

import (
	"sync"
	"syscall/js"
)

// Funcs collects js.Funcs that must live until some event (a transaction
// finishing, a connection closing) and then be released together.
// It is not safe for concurrent use; Go on wasm runs one goroutine at a
// time, but a Funcs must still only be used from code that does not yield
// between Add and Release.
type Funcs struct{ fs []js.Func }

// Add wraps fn with js.FuncOf, remembers it, and returns it.
func (f *Funcs) Add(fn func(this js.Value, args []js.Value) any) js.Func {
	jf := js.FuncOf(fn)
	f.fs = append(f.fs, jf)
	return jf
}

// Release releases every collected function. Call it only once JavaScript
// can no longer call them.
func (f *Funcs) Release() {
	for _, jf := range f.fs {
		jf.Release()
	}
	f.fs = nil
}

// yieldPort is a MessageChannel whose messages wake Yield: a message is a
// task, so the event loop runs whatever else is queued (messages from the
// page, timers) before it comes back, without a timer's delay.
var yieldPort = sync.OnceValues(func() (js.Value, error) {
	var port js.Value
	err := Try(func() {
		ch := js.Global().Get("MessageChannel").New()
		ch.Get("port1").Set("onmessage", js.FuncOf(func(js.Value, []js.Value) any {
			yieldMu.Lock()
			w := yieldWaiters
			yieldWaiters = nil
			yieldMu.Unlock()
			for _, c := range w {
				close(c)
			}
			return nil
		}))
		port = ch.Get("port2")
	})
	return port, err
})

var (
	yieldMu      sync.Mutex
	yieldWaiters []chan struct{}
)

// Yield lets the browser's event loop run once before it returns, so that
// a long computation in a worker still hears its messages (an abort).
// Call it from a goroutine, never from a browser callback (which would
// wait for itself). Where there is no MessageChannel it returns at once.
func Yield() {
	port, err := yieldPort()
	if err != nil {
		return
	}
	c := make(chan struct{})
	yieldMu.Lock()
	yieldWaiters = append(yieldWaiters, c)
	yieldMu.Unlock()
	if Try(func() { port.Call("postMessage", nil) }) != nil {
		return
	}
	<-c
}
