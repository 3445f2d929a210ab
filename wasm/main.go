//go:build js && wasm

// Command wasm is the library compiled for JavaScript: it installs
// globalThis.atelier (see atelier.mjs, which loads it, and atelier.d.ts,
// which describes it) with a Promise API over the workflow store, the
// asset library, packages and sync.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"syscall/js"
	"time"

	"github.com/atelierstore/atelier"
	"github.com/atelierstore/atelier/assets"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/idb"
	"github.com/atelierstore/atelier/internal/jsbridge"
	"github.com/atelierstore/atelier/internal/jsoncodec"
	"github.com/atelierstore/atelier/internal/jsutil"
	"github.com/atelierstore/atelier/syncproto"
)

var (
	jsJSON   = js.Global().Get("JSON")
	jsObject = js.Global().Get("Object")
	// errorClass constructs rejection errors: atelier.mjs's AtelierError
	// when it provided one, so that apps can test instanceof.
	errorClass = js.Global().Get("Error")
)

func main() {
	if c := js.Global().Get("__atelierErrorClass"); c.Type() == js.TypeFunction {
		errorClass = c
	}
	api := jsObject.New()
	api.Set("open", js.FuncOf(func(_ js.Value, args []js.Value) any {
		return promise(func(ctx context.Context) (any, error) { return open(ctx, args) })
	}))
	js.Global().Set("atelier", api)
	if ready := js.Global().Get("__atelierReady"); ready.Type() == js.TypeFunction {
		ready.Invoke(api)
	}
	select {} // keep the Go side alive for callbacks
}

// openOptions are open's data options; its callbacks are read apart.
type openOptions struct {
	Name             string       `json:"name"`
	StrictDurability bool         `json:"strictDurability"`
	AssetBackend     string       `json:"assetBackend"`
	Sync             *syncOptions `json:"sync"`
}

type syncOptions struct {
	URL            string `json:"url"`
	Workspace      string `json:"workspace"`
	Token          string `json:"token"`
	PullIntervalMs int64  `json:"pullIntervalMs"`
	Live           *bool  `json:"live"`
}

func (s *syncOptions) check() error {
	u, err := url.Parse(s.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return argError("options.sync.url", "must be an absolute http or https URL")
	}
	if s.Workspace == "" {
		return argError("options.sync.workspace", "required")
	}
	if s.PullIntervalMs < 0 {
		return argError("options.sync.pullIntervalMs", "must not be negative")
	}
	return nil
}

// open is atelier.open(options).
func open(ctx context.Context, args []js.Value) (any, error) {
	if !isPlainObject(arg(args, 0)) {
		return nil, argError("options", "must be an object with a name, not "+describe(arg(args, 0)))
	}
	var opts openOptions
	cbs, err := optionsArg(args, 0, "options", &opts,
		"onVersionChange", "onBlocked", "onLeaderChange", "onSyncStatus", "onConflict")
	if err != nil {
		return nil, err
	}
	if opts.Name == "" {
		return nil, argError("options.name", "required")
	}
	o := &atelier.Options{StrictDurability: opts.StrictDurability}
	switch opts.AssetBackend {
	case "", "auto":
	case "opfs":
		o.AssetBackend = assets.BackendOPFS
	case "idb":
		o.AssetBackend = assets.BackendIDB
	default:
		return nil, argError("options.assetBackend", `must be "auto", "opfs" or "idb"`)
	}
	if s := opts.Sync; s != nil {
		if err := s.check(); err != nil {
			return nil, err
		}
		o.Sync = &atelier.SyncOptions{URL: s.URL, Workspace: s.Workspace, Token: s.Token,
			PullInterval: time.Duration(s.PullIntervalMs) * time.Millisecond, PollOnly: s.Live != nil && !*s.Live}
	}
	bindCallbacks(o, cbs)
	bridge, err := jsbridge.Get()
	if err != nil {
		return nil, err
	}
	ws, err := atelier.Open(ctx, opts.Name, o)
	if err != nil {
		return nil, err
	}
	h := &handle{ws: ws, bridge: bridge, fns: map[string]methodFunc{}, textArgs: map[string]int{}}
	db := jsObject.New()
	db.Set("name", ws.Name())
	h.bindGraph(db)
	h.bindLive(db)
	h.bindAssets(db)
	h.bindPackages(db)
	h.bindSync(db)
	h.bindWire(db)
	return db, nil
}

// bindCallbacks passes open's callbacks, those that are functions, to o.
func bindCallbacks(o *atelier.Options, cbs map[string]js.Value) {
	fn := func(name string) (js.Value, bool) {
		cb := cbs[name]
		return cb, cb.Type() == js.TypeFunction
	}
	if cb, ok := fn("onVersionChange"); ok {
		o.OnVersionChange = func(v idb.VersionChange) {
			invoke(cb, object("oldVersion", v.OldVersion, "newVersion", v.NewVersion))
		}
	}
	if cb, ok := fn("onBlocked"); ok {
		o.OnBlocked = func(b idb.Blocked) {
			invoke(cb, object("oldVersion", b.OldVersion, "newVersion", b.NewVersion))
		}
	}
	if cb, ok := fn("onLeaderChange"); ok {
		o.OnLeaderChange = func(leading bool) { invoke(cb, leading) }
	}
	if cb, ok := fn("onSyncStatus"); ok {
		o.OnSyncStatus = func(s atelier.SyncStatus) { invokeJSON(cb, syncStatusJSON(s)) }
	}
	if cb, ok := fn("onConflict"); ok {
		o.OnConflict = func(cs []syncproto.Conflict) { invokeJSON(cb, conflictsJSON(cs)) }
	}
}

// handle is one open workspace as JavaScript holds it.
type handle struct {
	ws     *atelier.Workspace
	bridge js.Value              // the library's JavaScript helpers (internal/jsbridge)
	fns    map[string]methodFunc // the methods of method (failing once closed), for $call (wire.go)
	// textArgs are the methods that take an array argument as JSON text
	// in wire form, with its index (see arrayParts).
	textArgs map[string]int
}

var errClosed = fmt.Errorf("database %w", atelier.ErrClosed)

// method defines a Promise-returning method on obj. Once the workspace is
// closed every method rejects with Closed, including those that would
// not touch the database (assets in OPFS, storage estimates).
func (h *handle) method(obj js.Value, name string, fn func(ctx context.Context, args []js.Value) (any, error)) {
	guarded := func(ctx context.Context, args []js.Value) (any, error) {
		if h.ws.Closed() {
			return nil, errClosed
		}
		return fn(ctx, args)
	}
	h.fns[name] = guarded
	obj.Set(name, js.FuncOf(func(_ js.Value, args []js.Value) any {
		return promise(func(ctx context.Context) (any, error) { return guarded(ctx, args) })
	}))
}

func (h *handle) bindGraph(o js.Value) {
	d := h.ws.Store()
	// Workflows.
	h.method(o, "listWorkflows", func(ctx context.Context, _ []js.Value) (any, error) {
		ws, err := d.ListWorkflows(ctx)
		if ws == nil {
			ws = []graph.Workflow{}
		}
		return ws, err
	})
	h.method(o, "createWorkflow", func(ctx context.Context, args []js.Value) (any, error) {
		name, err := stringArg(args, 0, "name")
		if err != nil {
			return nil, err
		}
		return d.CreateWorkflow(ctx, name)
	})
	h.method(o, "loadWorkflow", func(ctx context.Context, args []js.Value) (any, error) {
		id, err := stringArg(args, 0, "workflowId")
		if err != nil {
			return nil, err
		}
		g, err := d.LoadWorkflow(ctx, id)
		return graphJSON(g), err
	})
	h.method(o, "renameWorkflow", func(ctx context.Context, args []js.Value) (any, error) {
		id, err := stringArg(args, 0, "workflowId")
		if err != nil {
			return nil, err
		}
		name, err := stringArg(args, 1, "name")
		if err != nil {
			return nil, err
		}
		wo, err := writeOptions(args, 2)
		if err != nil {
			return nil, err
		}
		return d.UpdateWorkflow(ctx, id, graph.WorkflowPatch{Name: &name}, wo...)
	})
	h.method(o, "setViewport", func(ctx context.Context, args []js.Value) (any, error) {
		id, err := stringArg(args, 0, "workflowId")
		if err != nil {
			return nil, err
		}
		var vp graph.Viewport
		if err := objectArg(args, 1, "viewport", &vp, false); err != nil {
			return nil, err
		}
		wo, err := writeOptions(args, 2)
		if err != nil {
			return nil, err
		}
		return d.UpdateWorkflow(ctx, id, graph.WorkflowPatch{Viewport: &vp}, wo...)
	})
	h.method(o, "updateWorkflow", func(ctx context.Context, args []js.Value) (any, error) {
		id, err := stringArg(args, 0, "workflowId")
		if err != nil {
			return nil, err
		}
		var p graph.WorkflowPatch
		if err := objectArg(args, 1, "patch", &p, true); err != nil {
			return nil, err
		}
		wo, err := writeOptions(args, 2)
		if err != nil {
			return nil, err
		}
		return d.UpdateWorkflow(ctx, id, p, wo...)
	})
	h.method(o, "deleteWorkflow", func(ctx context.Context, args []js.Value) (any, error) {
		id, err := stringArg(args, 0, "workflowId")
		if err != nil {
			return nil, err
		}
		wo, err := writeOptions(args, 1)
		if err != nil {
			return nil, err
		}
		return nil, d.DeleteWorkflow(ctx, id, wo...)
	})
	// putGraph(graph) stores a whole workflow in one transaction.
	h.method(o, "putGraph", func(ctx context.Context, args []js.Value) (any, error) {
		var g graph.Graph
		if err := objectArg(args, 0, "graph", &g, false); err != nil {
			return nil, err
		}
		out, err := d.PutGraph(ctx, &g)
		return graphJSON(out), err
	})

	// Nodes.
	nodesMethod := func(name string, fn func(ctx context.Context, wf string, nodes []graph.Node) ([]graph.Node, error)) {
		h.textArgs[name] = 1
		h.method(o, name, func(ctx context.Context, args []js.Value) (any, error) {
			wf, err := stringArg(args, 0, "workflowId")
			if err != nil {
				return nil, err
			}
			var nodes []graph.Node
			if err := arrayArgCtx(ctx, args, 1, "nodes", &nodes); err != nil {
				return nil, err
			}
			out, err := fn(ctx, wf, nodes)
			if out == nil {
				out = []graph.Node{}
			}
			return out, err
		})
	}
	// setNodes(workflowId, nodes): the nodes are decoded a chunk at a time
	// inside the write, so that the database stores the first while the
	// rest are decoded.
	h.textArgs["setNodes"] = 1
	h.method(o, "setNodes", func(ctx context.Context, args []js.Value) (any, error) {
		wf, err := stringArg(args, 0, "workflowId")
		if err != nil {
			return nil, err
		}
		parts, err := arrayParts(ctx, args, 1, "nodes")
		if err != nil {
			return nil, err
		}
		return d.SetNodesFrom(ctx, wf, chunksOf[graph.Node](parts, "nodes"))
	})
	nodesMethod("putNodes", func(ctx context.Context, wf string, nodes []graph.Node) ([]graph.Node, error) {
		return d.PutNodes(ctx, wf, nodes)
	})
	// nodeMethod defines a method (workflowId, nodeId, x, options) that
	// updates one node.
	nodeMethod := func(name string, fn func(ctx context.Context, wf, id string, args []js.Value, wo []idb.WriteOption) (graph.Node, error)) {
		h.method(o, name, func(ctx context.Context, args []js.Value) (any, error) {
			wf, err := stringArg(args, 0, "workflowId")
			if err != nil {
				return nil, err
			}
			id, err := stringArg(args, 1, "nodeId")
			if err != nil {
				return nil, err
			}
			wo, err := writeOptions(args, 3)
			if err != nil {
				return nil, err
			}
			return fn(ctx, wf, id, args, wo)
		})
	}
	nodeMethod("updateNode", func(ctx context.Context, wf, id string, args []js.Value, wo []idb.WriteOption) (graph.Node, error) {
		var p graph.NodePatch
		if err := objectArg(args, 2, "patch", &p, true); err != nil {
			return graph.Node{}, err
		}
		return d.UpdateNode(ctx, wf, id, p, wo...)
	})
	// updateNodeConfig(wf, id, config): any JSON value; null removes it.
	nodeMethod("updateNodeConfig", func(ctx context.Context, wf, id string, args []js.Value, wo []idb.WriteOption) (graph.Node, error) {
		var config json.RawMessage
		if err := jsonArg(args, 2, "config", &config); err != nil {
			return graph.Node{}, err
		}
		if isNull(config) || config == nil {
			config = json.RawMessage{} // removes it
		}
		return d.UpdateNode(ctx, wf, id, graph.NodePatch{Config: config}, wo...)
	})
	// updateNodeResult(wf, id, result): null removes it.
	nodeMethod("updateNodeResult", func(ctx context.Context, wf, id string, args []js.Value, wo []idb.WriteOption) (graph.Node, error) {
		if arg(args, 2).IsNull() {
			return d.UpdateNode(ctx, wf, id, graph.NodePatch{ClearResult: true}, wo...)
		}
		var r graph.Result
		if err := objectArg(args, 2, "result", &r, true); err != nil {
			return graph.Node{}, err
		}
		return d.UpdateNode(ctx, wf, id, graph.NodePatch{Result: &r}, wo...)
	})
	// updateNodeDimensions(wf, id, {position, size}): both in one write.
	nodeMethod("updateNodeDimensions", func(ctx context.Context, wf, id string, args []js.Value, wo []idb.WriteOption) (graph.Node, error) {
		var dims struct {
			Position *graph.Position `json:"position"`
			Size     *graph.Size     `json:"size"`
		}
		if err := objectArg(args, 2, "dimensions", &dims, true); err != nil {
			return graph.Node{}, err
		}
		if dims.Position == nil && dims.Size == nil {
			return graph.Node{}, argError("dimensions", "needs a position, a size or both")
		}
		return d.UpdateNode(ctx, wf, id, graph.NodePatch{Position: dims.Position, Size: dims.Size}, wo...)
	})
	h.method(o, "deleteNodes", func(ctx context.Context, args []js.Value) (any, error) {
		wf, err := stringArg(args, 0, "workflowId")
		if err != nil {
			return nil, err
		}
		var ids []string
		if err := arrayArg(args, 1, "nodeIds", &ids); err != nil {
			return nil, err
		}
		return nil, d.DeleteNodes(ctx, wf, ids...)
	})

	// Edges.
	edgesMethod := func(name string, fn func(ctx context.Context, wf string, edges []graph.Edge) ([]graph.Edge, error)) {
		h.textArgs[name] = 1
		h.method(o, name, func(ctx context.Context, args []js.Value) (any, error) {
			wf, err := stringArg(args, 0, "workflowId")
			if err != nil {
				return nil, err
			}
			var edges []graph.Edge
			if err := arrayArgCtx(ctx, args, 1, "edges", &edges); err != nil {
				return nil, err
			}
			out, err := fn(ctx, wf, edges)
			if out == nil {
				out = []graph.Edge{}
			}
			return out, err
		})
	}
	edgesMethod("setEdges", d.SetEdges)
	edgesMethod("putEdges", func(ctx context.Context, wf string, edges []graph.Edge) ([]graph.Edge, error) {
		return d.PutEdges(ctx, wf, edges)
	})
	h.method(o, "deleteEdges", func(ctx context.Context, args []js.Value) (any, error) {
		wf, err := stringArg(args, 0, "workflowId")
		if err != nil {
			return nil, err
		}
		var ids []string
		if err := arrayArg(args, 1, "edgeIds", &ids); err != nil {
			return nil, err
		}
		return nil, d.DeleteEdges(ctx, wf, ids...)
	})

	// The store.
	h.method(o, "stats", func(context.Context, []js.Value) (any, error) {
		s := d.Stats()
		return map[string]any{"transactions": s.Transactions, "mutations": s.Mutations, "retries": s.Retries}, nil
	})
	h.method(o, "isLeader", func(context.Context, []js.Value) (any, error) {
		return h.ws.Leading(), nil
	})
	// close() is the one method a closed handle still takes: it resolves
	// once everything is closed, however often it is called.
	o.Set("close", js.FuncOf(func(js.Value, []js.Value) any {
		return promise(func(context.Context) (any, error) { return nil, h.ws.Close() })
	}))
}

// graphJSON gives a graph empty arrays instead of null for JavaScript.
func graphJSON(g graph.Graph) graph.Graph {
	if g.Nodes == nil {
		g.Nodes = []graph.Node{}
	}
	if g.Edges == nil {
		g.Edges = []graph.Edge{}
	}
	return g
}

// promise runs fn in a goroutine (never blocking the page) and settles a
// Promise with its result, converted through JSON, or its error. A panic in
// fn rejects the promise instead of stopping the module.
func promise(fn func(ctx context.Context) (any, error)) js.Value {
	return promiseAs(toJS, fn)
}

// promiseAs is promise with the result converted by conv.
func promiseAs(conv func(any) (js.Value, error), fn func(ctx context.Context) (any, error)) js.Value {
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
			var out js.Value
			if err == nil {
				out, err = conv(v)
			}
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

// toJS converts a Go value for JavaScript: a js.Value as it is, nil as
// undefined, anything else through JSON.
func toJS(v any) (out js.Value, err error) {
	switch v := v.(type) {
	case nil:
		return js.Undefined(), nil
	case js.Value:
		return v, nil
	}
	// Graph results (lists of nodes, edges and workflows, whole graphs)
	// go through the fast encoder, which writes json.Marshal's exact bytes
	// or gives up.
	b, ok := jsoncodec.Marshal(v)
	if !ok {
		if b, err = json.Marshal(v); err != nil {
			return js.Undefined(), err
		}
	}
	err = jsutil.Try(func() { out = jsJSON.Call("parse", string(b)) })
	return out, err
}
