//go:build js && wasm

package main

import (
	"context"
	"sync"
	"sync/atomic"
	"syscall/js"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/idb"
)

func (h *handle) bindLive(o js.Value) {
	d := h.ws.Store()
	// watchWorkflow(id, cb) resolves to a function that stops the watch;
	// cb(graph, null) gets the workflow now and after every change in any
	// tab, cb(null, error) while it is missing (NotFound) and once when the
	// store closes (Closed). After the stop function returns, cb is never
	// called again.
	h.method(o, "watchWorkflow", func(ctx context.Context, args []js.Value) (any, error) {
		id, err := stringArg(args, 0, "workflowId")
		if err != nil {
			return nil, err
		}
		cb, err := callbackArg(args, 1, "callback")
		if err != nil {
			return nil, err
		}
		// The watch outlives this call: it ends when stopped or closed.
		w, err := d.WatchWorkflow(context.Background(), id)
		if err != nil {
			return nil, err
		}
		return forward(w.C, w.Stop, cb, func(s idb.WorkflowSnapshot) (any, error) { return graphJSON(s.Graph), s.Err }), nil
	})
	// watchWorkflows(cb) is watchWorkflow for the list of workflows, most
	// recently updated first.
	h.method(o, "watchWorkflows", func(ctx context.Context, args []js.Value) (any, error) {
		cb, err := callbackArg(args, 0, "callback")
		if err != nil {
			return nil, err
		}
		w, err := d.WatchWorkflows(context.Background())
		if err != nil {
			return nil, err
		}
		return forward(w.C, w.Stop, cb, func(s idb.ListSnapshot) (any, error) {
			if s.Workflows == nil {
				s.Workflows = []graph.Workflow{}
			}
			return s.Workflows, s.Err
		}), nil
	})
}

// watch is one subscription as JavaScript holds it.
type watch struct {
	stop    func()
	stopped atomic.Bool
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
			// Set before stopping: a snapshot the forwarding goroutine
			// already holds is then dropped, not delivered late.
			w.stopped.Store(true)
			w.stop()
		}
		return nil
	})
)

// forward calls cb with every snapshot from c until it closes or the watch
// is stopped, and returns the JavaScript function that stops it.
func forward[T any](c <-chan T, stop func(), cb js.Value, split func(T) (any, error)) js.Value {
	w := &watch{stop: stop}
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
	}()
	return stopWatch.Call("bind", js.Null(), id)
}

// invoke calls an application callback; an exception in it is reported on
// the console and does not end the watch or fail the operation.
func invoke(cb js.Value, args ...any) {
	if err := tryInvoke(cb, args...); err != nil {
		js.Global().Get("console").Call("error", "atelier: a callback threw:", err.Error())
	}
}
