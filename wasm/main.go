//go:build js && wasm

// Command wasm is the library compiled for JavaScript: it installs
// globalThis.atelier (see atelier.mjs, which loads it) with a Promise API
// over the workflow store.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"syscall/js"
	"time"

	"github.com/atelierstore/atelier"
	"github.com/atelierstore/atelier/assets"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/idb"
	"github.com/atelierstore/atelier/internal/jsutil"
	"github.com/atelierstore/atelier/pack"
	"github.com/atelierstore/atelier/syncengine"
)

var jsJSON = js.Global().Get("JSON")

func main() {
	api := js.Global().Get("Object").New()
	api.Set("open", js.FuncOf(func(_ js.Value, args []js.Value) any {
		return promise(func(ctx context.Context) (any, error) {
			var opts struct {
				Name string `json:"name"`
				Sync *struct {
					URL            string `json:"url"`
					Workspace      string `json:"workspace"`
					Token          string `json:"token"`
					PullIntervalMs int    `json:"pullIntervalMs"`
				} `json:"sync"`
			}
			if err := decodeArg(args, 0, &opts); err != nil {
				return nil, err
			}
			var onVersionChange, onLeaderChange, onSyncStatus, onConflict js.Value
			if len(args) > 0 && args[0].Type() == js.TypeObject {
				onVersionChange = args[0].Get("onVersionChange")
				onLeaderChange = args[0].Get("onLeaderChange")
				onSyncStatus = args[0].Get("onSyncStatus")
				onConflict = args[0].Get("onConflict")
			}
			o := &idb.Options{RecordOps: opts.Sync != nil}
			if onVersionChange.Type() == js.TypeFunction {
				o.OnVersionChange = func(v idb.VersionChange) {
					invoke(onVersionChange, map[string]any{"oldVersion": v.OldVersion, "newVersion": v.NewVersion})
				}
			}
			if onLeaderChange.Type() == js.TypeFunction {
				o.OnLeaderChange = func(leading bool) { invoke(onLeaderChange, leading) }
			}
			d, err := idb.Open(ctx, opts.Name, o)
			if err != nil {
				return nil, err
			}
			lib, err := assets.Open(ctx, d, nil)
			if err != nil {
				d.Close()
				return nil, err
			}
			var engine *syncengine.Engine
			if s := opts.Sync; s != nil {
				if _, err := d.RecordUnsynced(ctx); err != nil {
					d.Close()
					return nil, err
				}
				eo := &syncengine.Options{PullInterval: time.Duration(s.PullIntervalMs) * time.Millisecond}
				if onSyncStatus.Type() == js.TypeFunction {
					eo.OnStatus = func(st syncengine.Status) {
						if v, err := toJS(statusJSON(st)); err == nil {
							invoke(onSyncStatus, v)
						}
					}
				}
				if onConflict.Type() == js.TypeFunction {
					eo.OnConflict = func(cs []idb.Conflict) {
						if v, err := toJS(cs); err == nil {
							invoke(onConflict, v)
						}
					}
				}
				engine = syncengine.New(d, syncengine.NewHTTP(s.URL, s.Workspace, s.Token), eo)
				stopOnline := syncengine.FollowOnline(engine)
				d.RunOnLeader("sync", func(ctx context.Context) {
					defer stopOnline()
					_ = engine.Run(ctx)
				})
			}
			o2 := bindDB(d, engine)
			bindAssets(o2, lib)
			return o2, nil
		})
	}))
	js.Global().Set("atelier", api)
	if ready := js.Global().Get("__atelierReady"); ready.Type() == js.TypeFunction {
		ready.Invoke(api)
	}
	select {} // keep the Go side alive for callbacks
}

// method defines a Promise-returning method on obj.
func method(obj js.Value, name string, fn func(ctx context.Context, args []js.Value) (any, error)) {
	obj.Set(name, js.FuncOf(func(_ js.Value, args []js.Value) any {
		return promise(func(ctx context.Context) (any, error) { return fn(ctx, args) })
	}))
}

// statusJSON is a sync status as the page sees it.
func statusJSON(s syncengine.Status) map[string]any {
	out := map[string]any{"state": string(s.State), "pending": s.Pending, "parked": s.Parked,
		"failures": s.Failures, "lastError": s.LastError}
	if !s.RetryAt.IsZero() {
		out["retryAt"] = s.RetryAt.UnixMilli()
	}
	return out
}

func bindDB(d *idb.DB, engine *syncengine.Engine) js.Value {
	o := js.Global().Get("Object").New()
	// syncNow() asks for a sync round at once (in the leading tab);
	// syncStatus() resolves to {state, pending, parked, failures, lastError}.
	method(o, "syncNow", func(context.Context, []js.Value) (any, error) {
		if engine == nil {
			return nil, &atelier.ValidationError{Entity: "sync", Reason: "not configured: pass sync to open"}
		}
		engine.Flush()
		return nil, nil
	})
	method(o, "syncStatus", func(context.Context, []js.Value) (any, error) {
		if engine == nil {
			return nil, nil
		}
		return statusJSON(engine.Status()), nil
	})
	method(o, "parkedOps", func(ctx context.Context, _ []js.Value) (any, error) {
		return d.ParkedOps(ctx)
	})
	method(o, "retryParked", func(ctx context.Context, _ []js.Value) (any, error) {
		err := d.RetryParked(ctx)
		if err == nil && engine != nil {
			engine.Flush()
		}
		return nil, err
	})
	method(o, "listWorkflows", func(ctx context.Context, _ []js.Value) (any, error) {
		return d.ListWorkflows(ctx)
	})
	method(o, "createWorkflow", func(ctx context.Context, args []js.Value) (any, error) {
		return d.CreateWorkflow(ctx, stringArg(args, 0))
	})
	method(o, "loadWorkflow", func(ctx context.Context, args []js.Value) (any, error) {
		return d.LoadWorkflow(ctx, stringArg(args, 0))
	})
	method(o, "updateWorkflow", func(ctx context.Context, args []js.Value) (any, error) {
		var p graph.WorkflowPatch
		if err := decodeArg(args, 1, &p); err != nil {
			return nil, err
		}
		return d.UpdateWorkflow(ctx, stringArg(args, 0), p, writeOpts(args, 2)...)
	})
	method(o, "deleteWorkflow", func(ctx context.Context, args []js.Value) (any, error) {
		return nil, d.DeleteWorkflow(ctx, stringArg(args, 0), writeOpts(args, 1)...)
	})
	method(o, "setNodes", func(ctx context.Context, args []js.Value) (any, error) {
		var nodes []graph.Node
		if err := decodeArg(args, 1, &nodes); err != nil {
			return nil, err
		}
		return d.SetNodes(ctx, stringArg(args, 0), nodes)
	})
	method(o, "putNodes", func(ctx context.Context, args []js.Value) (any, error) {
		var nodes []graph.Node
		if err := decodeArg(args, 1, &nodes); err != nil {
			return nil, err
		}
		return d.PutNodes(ctx, stringArg(args, 0), nodes...)
	})
	method(o, "deleteNodes", func(ctx context.Context, args []js.Value) (any, error) {
		var ids []string
		if err := decodeArg(args, 1, &ids); err != nil {
			return nil, err
		}
		return nil, d.DeleteNodes(ctx, stringArg(args, 0), ids...)
	})
	method(o, "updateNode", func(ctx context.Context, args []js.Value) (any, error) {
		var p graph.NodePatch
		if err := decodeArg(args, 2, &p); err != nil {
			return nil, err
		}
		return d.UpdateNode(ctx, stringArg(args, 0), stringArg(args, 1), p, writeOpts(args, 3)...)
	})
	method(o, "setEdges", func(ctx context.Context, args []js.Value) (any, error) {
		var edges []graph.Edge
		if err := decodeArg(args, 1, &edges); err != nil {
			return nil, err
		}
		return d.SetEdges(ctx, stringArg(args, 0), edges)
	})
	method(o, "putEdges", func(ctx context.Context, args []js.Value) (any, error) {
		var edges []graph.Edge
		if err := decodeArg(args, 1, &edges); err != nil {
			return nil, err
		}
		return d.PutEdges(ctx, stringArg(args, 0), edges...)
	})
	method(o, "deleteEdges", func(ctx context.Context, args []js.Value) (any, error) {
		var ids []string
		if err := decodeArg(args, 1, &ids); err != nil {
			return nil, err
		}
		return nil, d.DeleteEdges(ctx, stringArg(args, 0), ids...)
	})
	method(o, "stats", func(context.Context, []js.Value) (any, error) {
		return d.Stats(), nil
	})
	// watchWorkflow(id, cb) resolves to a function that stops the watch;
	// cb(snapshot, null) gets {workflow, nodes, edges} now and after every
	// change in any tab, cb(null, error) when the workflow is missing or the
	// store closed.
	method(o, "watchWorkflow", func(ctx context.Context, args []js.Value) (any, error) {
		cb, err := callbackArg(args, 1)
		if err != nil {
			return nil, err
		}
		w, err := d.WatchWorkflow(context.Background(), stringArg(args, 0))
		if err != nil {
			return nil, err
		}
		return forward(w.C, w.Stop, cb, func(s idb.WorkflowSnapshot) (any, error) { return s.Graph, s.Err }), nil
	})
	// watchWorkflows(cb) is watchWorkflow for the list of workflows.
	method(o, "watchWorkflows", func(ctx context.Context, args []js.Value) (any, error) {
		cb, err := callbackArg(args, 0)
		if err != nil {
			return nil, err
		}
		w, err := d.WatchWorkflows(context.Background())
		if err != nil {
			return nil, err
		}
		return forward(w.C, w.Stop, cb, func(s idb.ListSnapshot) (any, error) { return s.Workflows, s.Err }), nil
	})
	method(o, "isLeader", func(context.Context, []js.Value) (any, error) {
		return d.Leading(), nil
	})
	method(o, "close", func(context.Context, []js.Value) (any, error) {
		return nil, d.Close()
	})
	return o
}

// Watches are stopped through one long-lived function bound to each
// watch's id, so subscribing creates no js.Func to release, and calling
// the stop function twice is harmless.
var (
	watchMu   sync.Mutex
	watchNext int
	watchStop = map[int]func(){}
	stopWatch = js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) == 0 || args[0].Type() != js.TypeNumber {
			return nil
		}
		watchMu.Lock()
		stop := watchStop[args[0].Int()]
		delete(watchStop, args[0].Int())
		watchMu.Unlock()
		if stop != nil {
			stop()
		}
		return nil
	})
)

// forward calls cb with every snapshot from c until it closes, and returns
// the JavaScript function that stops the watch.
func forward[T any](c <-chan T, stop func(), cb js.Value, split func(T) (any, error)) js.Value {
	watchMu.Lock()
	watchNext++
	id := watchNext
	watchStop[id] = stop
	watchMu.Unlock()
	go func() {
		defer func() {
			watchMu.Lock()
			delete(watchStop, id)
			watchMu.Unlock()
		}()
		for s := range c {
			v, err := split(s)
			if err != nil {
				invoke(cb, js.Null(), errorValue(err))
				continue
			}
			out, err := toJS(v)
			if err != nil {
				invoke(cb, js.Null(), errorValue(err))
				continue
			}
			invoke(cb, out, js.Null())
		}
	}()
	return stopWatch.Call("bind", js.Null(), id)
}

// invoke calls an application callback; an exception in it is reported on
// the console and does not end the watch.
func invoke(cb js.Value, args ...any) {
	if err := jsutil.Try(func() { cb.Invoke(args...) }); err != nil {
		js.Global().Get("console").Call("error", "atelier: a watch callback threw:", err.Error())
	}
}

func callbackArg(args []js.Value, i int) (js.Value, error) {
	if i >= len(args) || args[i].Type() != js.TypeFunction {
		return js.Value{}, &atelier.ValidationError{Entity: "argument", Field: "#" + strconv.Itoa(i), Reason: "must be a function"}
	}
	return args[i], nil
}

// promise runs fn in a goroutine (never blocking the page) and settles a
// Promise with its result, converted through JSON, or its error. A panic in
// fn rejects the promise instead of stopping the module.
func promise(fn func(ctx context.Context) (any, error)) js.Value {
	var executor js.Func
	executor = js.FuncOf(func(_ js.Value, args []js.Value) any {
		executor.Release()
		resolve, reject := args[0], args[1]
		go func() {
			var (
				v   any
				err error
			)
			func() {
				defer jsutil.Recover(&err)
				v, err = fn(context.Background())
			}()
			if err != nil {
				reject.Invoke(errorValue(err))
				return
			}
			out, err := toJS(v)
			if err != nil {
				reject.Invoke(errorValue(err))
				return
			}
			resolve.Invoke(out)
		}()
		return nil
	})
	return js.Global().Get("Promise").New(executor)
}

func toJS(v any) (js.Value, error) {
	switch v := v.(type) {
	case nil:
		return js.Undefined(), nil
	case js.Value:
		return v, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return js.Undefined(), err
	}
	return jsJSON.Call("parse", string(b)), nil
}

// errorCodes maps sentinels to the name and code of the JavaScript Error.
var errorCodes = []struct {
	err  error
	code string
}{
	{pack.ErrInvalidPackage, "InvalidPackage"}, // before Invalid: it matches that too
	{atelier.ErrNotFound, "NotFound"},
	{atelier.ErrInvalidRef, "InvalidRef"},
	{atelier.ErrInvalid, "Invalid"},
	{atelier.ErrVersionConflict, "VersionConflict"},
	{atelier.ErrClosed, "Closed"},
	{atelier.ErrQuotaExceeded, "QuotaExceeded"},
	{atelier.ErrSchemaTooNew, "SchemaTooNew"},
	{atelier.ErrUnsupported, "Unsupported"},
	{idb.ErrReadOnly, "ReadOnly"},
	{idb.ErrInUse, "InUse"},
	{atelier.ErrPermission, "Permission"},
}

func errorValue(err error) js.Value {
	code := "Internal"
	for _, c := range errorCodes {
		if errors.Is(err, c.err) {
			code = c.code
			break
		}
	}
	e := js.Global().Get("Error").New(err.Error())
	e.Set("name", code)
	e.Set("code", code)
	return e
}

// decodeArg decodes argument i (a plain JavaScript value) into v by way of
// JSON.stringify. A missing argument leaves v as it is.
func decodeArg(args []js.Value, i int, v any) error {
	if i >= len(args) || args[i].IsUndefined() || args[i].IsNull() {
		return nil
	}
	var s string
	if err := jsutil.Try(func() { s = jsJSON.Call("stringify", args[i]).String() }); err != nil {
		return &atelier.ValidationError{Entity: "argument", Field: "#" + strconv.Itoa(i), Reason: err.Error()}
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		var ve *atelier.ValidationError
		if errors.As(err, &ve) {
			return ve
		}
		return &atelier.ValidationError{Entity: "argument", Field: "#" + strconv.Itoa(i), Reason: err.Error()}
	}
	return nil
}

func stringArg(args []js.Value, i int) string {
	if i >= len(args) || args[i].Type() != js.TypeString {
		return ""
	}
	return args[i].String()
}

// writeOpts reads {ifVersion} from argument i.
func writeOpts(args []js.Value, i int) []idb.WriteOption {
	var o struct {
		IfVersion int64 `json:"ifVersion"`
	}
	if decodeArg(args, i, &o) != nil || o.IfVersion == 0 {
		return nil
	}
	return []idb.WriteOption{idb.IfVersion(o.IfVersion)}
}
