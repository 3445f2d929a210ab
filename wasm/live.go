//go:build js && wasm

package main

import (
	"context"
	"sync"
	"sync/atomic"
	"syscall/js"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/jsutil"
	"github.com/atelierstore/atelier/live"
)

func (h *handle) bindLive(o js.Value) {
	ws := h.ws
	// watchWorkflow(id, cb) returns, at once, a function that stops the
	// watch; cb(graph, null) gets the workflow now and after every change
	// in any tab, cb(null, error) while it is missing (NotFound) and once
	// when the store closes (Closed). After the stop function returns, cb
	// is never called again. Bad arguments and a closed workspace throw.
	h.syncMethod(o, "watchWorkflow", func(args []js.Value) (js.Value, error) {
		id, err := stringArg(args, 0, "workflowId")
		if err != nil {
			return js.Undefined(), err
		}
		cb, err := callbackArg(args, 1, "callback")
		if err != nil {
			return js.Undefined(), err
		}
		return subscribe(cb, func() (<-chan live.WorkflowSnapshot, func(), error) {
			// The watch outlives this call: it ends when stopped or closed.
			w, err := ws.WatchWorkflow(context.Background(), id)
			if err != nil {
				return nil, nil, err
			}
			return w.C, w.Stop, nil
		}, func(s live.WorkflowSnapshot) (any, error) { return graphJSON(s.Graph), s.Err }), nil
	})
	// watchWorkflows(cb) is watchWorkflow for the list of workflows, most
	// recently updated first.
	h.syncMethod(o, "watchWorkflows", func(args []js.Value) (js.Value, error) {
		cb, err := callbackArg(args, 0, "callback")
		if err != nil {
			return js.Undefined(), err
		}
		return subscribe(cb, func() (<-chan live.ListSnapshot, func(), error) {
			w, err := ws.WatchWorkflows(context.Background())
			if err != nil {
				return nil, nil, err
			}
			return w.C, w.Stop, nil
		}, func(s live.ListSnapshot) (any, error) {
			if s.Workflows == nil {
				s.Workflows = []graph.Workflow{}
			}
			return s.Workflows, s.Err
		}), nil
	})
}

// syncMethod defines a method on obj that returns its result at once
// instead of a Promise, and throws its error (and Closed once the
// workspace is closed). fn must not block: it runs on the page's thread.
func (h *handle) syncMethod(obj js.Value, name string, fn func(args []js.Value) (js.Value, error)) {
	f := js.FuncOf(func(_ js.Value, args []js.Value) (out any) {
		var (
			v   js.Value
			err error
		)
		func() {
			defer jsutil.Recover(&err)
			if h.ws.Closed() {
				err = errClosed
				return
			}
			v, err = fn(args)
		}()
		if err != nil {
			return object(thrownKey, errorValue(err))
		}
		return v
	})
	obj.Set(name, h.bridge.Call("throwing", f))
}

// thrownKey is how a syncMethod's error reaches the bridge's throwing
// wrapper (internal/jsbridge/bridge.js), which throws it.
const thrownKey = "__atelierThrown"

// watch is one subscription as JavaScript holds it.
type watch struct {
	mu      sync.Mutex
	stop    func() // nil until the store's watch exists
	stopped atomic.Bool
}

// end stops the watch: at once if it exists, else as soon as it does.
func (w *watch) end() {
	// Set before stopping: a snapshot the forwarding goroutine already
	// holds is then dropped, not delivered late.
	w.stopped.Store(true)
	w.mu.Lock()
	stop := w.stop
	w.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// Watches are stopped through one long-lived function bound to each
// watch's id, so subscribing creates no js.Func to release, and calling
// the stop function twice is harmless.
var (
	watchMu   sync.Mutex
	watchNext int
	watches   = map[int]*watch{}
	stopWatch = js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) == 0 || args[0].Type() != js.TypeNumber {
			return nil
		}
		id := args[0].Int()
		watchMu.Lock()
		w := watches[id]
		delete(watches, id)
		watchMu.Unlock()
		if w != nil {
			w.end()
		}
		return nil
	})
)

// subscribe returns, at once, the JavaScript function that stops a watch,
// and starts the watch in the background (opening it waits for the
// store): then it calls cb with every snapshot until the watch ends. An
// error opening it goes to cb(null, error).
func subscribe[T any](cb js.Value, open func() (<-chan T, func(), error), split func(T) (any, error)) js.Value {
	w := &watch{}
	watchMu.Lock()
	watchNext++
	id := watchNext
	watches[id] = w
	watchMu.Unlock()
	go func() {
		defer func() {
			watchMu.Lock()
			delete(watches, id)
			watchMu.Unlock()
		}()
		c, stop, err := open()
		if err != nil {
			if !w.stopped.Load() {
				invoke(cb, js.Null(), errorValue(err))
			}
			return
		}
		w.mu.Lock()
		w.stop = stop
		w.mu.Unlock()
		if w.stopped.Load() { // stopped while opening
			stop()
		}
		forward(c, w, cb, split)
	}()
	return stopWatch.Call("bind", js.Null(), id)
}

// forward calls cb with every snapshot from c until it closes, skipping
// those that arrive once the watch is stopped.
func forward[T any](c <-chan T, w *watch, cb js.Value, split func(T) (any, error)) {
	for s := range c {
		v, err := split(s)
		var out js.Value
		if err == nil {
			out, err = toJS(v)
		}
		// Nothing between this check and the call yields to
		// JavaScript, so a stop cannot slip in between.
		if w.stopped.Load() {
			continue
		}
		if err != nil {
			invoke(cb, js.Null(), errorValue(err))
		} else {
			invoke(cb, out, js.Null())
		}
	}
}

// invoke calls an application callback; an exception in it is reported on
// the console and does not end the watch or fail the operation.
func invoke(cb js.Value, args ...any) {
	if err := tryInvoke(cb, args...); err != nil {
		js.Global().Get("console").Call("error", "atelier: a callback threw:", err.Error())
	}
}
