//go:build js && wasm

package main

import (
	"context"
	"fmt"
	"syscall/js"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/idb"
	"github.com/atelierstore/atelier/internal/jsoncodec"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// The wire form is how worker mode (worker.mjs) calls the engine: the
// same methods, with large arrays crossing as JSON text instead of
// objects. The page stringifies an argument such as setNodes' nodes a
// chunk at a time and the engine decodes the text, where otherwise the
// page would clone the objects, the worker rebuild them and stringify them
// again for the decoder; and a large result leaves as JSON text in chunks
// the page parses one task at a time, where otherwise the worker would
// parse the whole text and clone the objects again. The values are those
// of the in-place methods: the text is what JSON.stringify would give and
// what JSON.parse reads.

// wireChunk is the number of array items per chunk of a wire result; the
// page parses a chunk in a task of its own: 250 nodes take 0.5-3 ms, and
// with 500 the page's longest block during loadWorkflow of 10k nodes (J2)
// went over a frame.
const wireChunk = 250

type methodFunc func(ctx context.Context, args []js.Value) (any, error)

// wireTextKey is the context key of the argument given as JSON text.
type wireTextKey struct{}

// wireText is an argument that came as JSON text: its index, and the
// text of its items in chunks, each the text of an array.
type wireText struct {
	index int
	parts []js.Value
}

// bindWire defines db.$call(method, args, json), not enumerable (it is no
// part of the API): it calls method with args, the argument at json.index
// being the array whose items' JSON text is in json.parts, a chunk of items
// in each (json may be undefined), and resolves to the result in wire form
// (toWire). Methods defined otherwise than with method are called as they
// are. It also defines db.$textArgs: the methods that take an argument as
// text, with its index (h.textArgs); $call refuses text for any other.
func (h *handle) bindWire(db js.Value) {
	call := js.FuncOf(func(_ js.Value, a []js.Value) any {
		name := arg(a, 0).String()
		args := jsArgs(arg(a, 1))
		fn, ok := h.fns[name]
		if !ok {
			if f := db.Get(name); f.Type() == js.TypeFunction {
				return f.Call("apply", db, arg(a, 1))
			}
			return promise(func(context.Context) (any, error) {
				return nil, fmt.Errorf("atelier: no method %q", name)
			})
		}
		var wt *wireText
		if j := arg(a, 2); !absent(j) {
			wt = &wireText{index: j.Get("index").Int(), parts: jsArgs(j.Get("parts"))}
			if i, ok := h.textArgs[name]; !ok || i != wt.index {
				// The method would read the empty array in its place.
				return promise(func(context.Context) (any, error) {
					return nil, fmt.Errorf("atelier: %s takes no argument %d as JSON text", name, wt.index)
				})
			}
		}
		return promiseAs(toWire, func(ctx context.Context) (any, error) {
			if wt != nil {
				ctx = context.WithValue(ctx, wireTextKey{}, wt)
			}
			return fn(ctx, args)
		})
	})
	jsObject.Call("defineProperty", db, "$call", object("value", call))
	texts := jsObject.New()
	for name, i := range h.textArgs {
		texts.Set(name, i)
	}
	jsObject.Call("defineProperty", db, "$textArgs", object("value", texts))
}

// jsArgs returns the items of the array a.
func jsArgs(a js.Value) []js.Value {
	n := a.Length()
	out := make([]js.Value, n)
	for i := range n {
		out[i] = a.Index(i)
	}
	return out
}

// arrayParts returns argument i, which must be an array, as the JSON text
// of its items, a chunk of at most wireChunk items in each part (a
// JavaScript string). The text is taken now, so that the caller may change
// its objects once the call has returned, as it could if they had been
// decoded at once; an argument that came as JSON text (wire form) is its
// parts.
func arrayParts(ctx context.Context, args []js.Value, i int, name string) ([]js.Value, error) {
	if wt, ok := ctx.Value(wireTextKey{}).(*wireText); ok && wt.index == i {
		return wt.parts, nil
	}
	a := arg(args, i)
	if a.Type() != js.TypeObject || !isArray(a) {
		return nil, argError(name, "must be an array, not "+describe(a))
	}
	var parts []js.Value
	err := jsutil.Try(func() {
		n := a.Length()
		if n <= wireChunk {
			parts = []js.Value{jsJSON.Call("stringify", a)}
			return
		}
		for j := 0; j < n; j += wireChunk {
			parts = append(parts, jsJSON.Call("stringify", a.Call("slice", j, min(j+wireChunk, n))))
		}
	})
	if err != nil {
		// A cycle, a BigInt, or a getter or toJSON that throws.
		return nil, argError(name, "cannot be converted to JSON: "+err.Error())
	}
	return parts, nil
}

// chunksOf decodes parts (see arrayParts) a part at a time.
func chunksOf[T any](parts []js.Value, name string) idb.Chunks[T] {
	return func(each func([]T) error) error {
		for _, p := range parts {
			var items []T
			if err := decodeText(p.String(), name, &items, false); err != nil {
				return err
			}
			if err := each(items); err != nil {
				return err
			}
		}
		return nil
	}
}

// arrayArgCtx is arrayArg for an argument that may have come as JSON text
// (wire form).
func arrayArgCtx[T any](ctx context.Context, args []js.Value, i int, name string, v *[]T) error {
	wt, ok := ctx.Value(wireTextKey{}).(*wireText)
	if !ok || wt.index != i {
		return arrayArg(args, i, name, v)
	}
	return chunksOf[T](wt.parts, name)(func(items []T) error {
		*v = append(*v, items...)
		return nil
	})
}

// toWire converts a result for the wire: lists of more than wireChunk
// nodes or edges, alone or in a graph, become {$json, $parts}: $json the
// JSON text of the result with those lists empty, $parts the UTF-8 JSON
// text of each list in chunks (by key; "" for a list that is the result),
// each a Uint8Array of its own, which the worker transfers to the page.
// Anything else is what toJS gives.
func toWire(v any) (js.Value, error) {
	parts := map[string][][]byte{}
	rest, ok := v, true
	switch x := v.(type) {
	case []graph.Node:
		rest, ok = wireList(parts, "", x)
	case []graph.Edge:
		rest, ok = wireList(parts, "", x)
	case graph.Graph:
		var nodesOK, edgesOK bool
		x.Nodes, nodesOK = wireList(parts, "nodes", x.Nodes)
		x.Edges, edgesOK = wireList(parts, "edges", x.Edges)
		rest, ok = x, nodesOK && edgesOK
	}
	if len(parts) == 0 || !ok {
		return toJS(v)
	}
	b, ok := jsoncodec.Marshal(rest)
	if !ok {
		return toJS(v)
	}
	var out js.Value
	err := jsutil.Try(func() {
		ps := jsObject.New()
		for k, texts := range parts {
			arr := jsArray.New(len(texts))
			for i, t := range texts {
				arr.SetIndex(i, jsutil.Uint8Array(t))
			}
			ps.Set(k, arr)
		}
		out = object("$json", string(b), "$parts", ps)
	})
	return out, err
}

// wireList puts the JSON text of list into parts under key, in chunks,
// when it has more than wireChunk items, and returns what stays in the
// result in its place: an empty list, or list itself. ok is false where
// the fast encoder gives up.
func wireList[T any](parts map[string][][]byte, key string, list []T) (rest []T, ok bool) {
	if len(list) <= wireChunk {
		return list, true
	}
	texts, ok := chunksJSON(list)
	parts[key] = texts
	return []T{}, ok
}

// chunksJSON returns the JSON text of items, wireChunk at a time; ok is
// false where the fast encoder gives up.
func chunksJSON[T any](items []T) (out [][]byte, ok bool) {
	for i := 0; i < len(items); i += wireChunk {
		b, ok := jsoncodec.Marshal(items[i:min(i+wireChunk, len(items))])
		if !ok {
			return nil, false
		}
		out = append(out, b)
	}
	return out, true
}
