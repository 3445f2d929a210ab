//go:build js && wasm

// Package idbcheck checks a workflow store's database from the outside,
// for tests: it reads it with a second IndexedDB client and reports every
// broken invariant.
package idbcheck

import (
	"context"
	"slices"
	"syscall/js"
	"testing"
	"time"

	goidb "github.com/hack-pad/go-indexeddb/idb"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
)

// Decoders decode stored entity bodies (the store's codec).
type Decoders struct {
	Workflow func(body []byte) (*graph.Workflow, error)
	Node     func(body []byte) (*graph.Node, error)
	Edge     func(body []byte) (*graph.Edge, error)
	// Assets checks the asset records too: set it when the store ran
	// with the asset registry (package assets/registry) installed.
	Assets bool
}

func nodeAsset(n *graph.Node) string {
	if n.Result == nil {
		return ""
	}
	h, _ := assetref.Tracked(n.Result.Asset)
	return h
}

// Check reads the whole database called name with go-indexeddb (a second,
// independent IndexedDB client) and reports, as test errors, every broken
// invariant the workflow store promises: every body decodes, the plain
// properties agree with the body, every node and edge belongs to an
// existing workflow, every edge connects two nodes of its workflow, and
// the asset records list exactly the nodes that use each asset.
func Check(t testing.TB, name string, d Decoders) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := goidb.Global().Open(ctx, name, 0, nil)
	if err != nil {
		t.Errorf("consistency check: open: %v", err)
		return
	}
	db, err := req.Await(ctx)
	if err != nil {
		t.Errorf("consistency check: open: %v", err)
		return
	}
	defer db.Close()

	read := func(store string) []js.Value {
		tx, err := db.Transaction(goidb.TransactionReadOnly, store)
		if err != nil {
			t.Fatalf("consistency check: %v", err)
		}
		os, err := tx.ObjectStore(store)
		if err != nil {
			t.Fatalf("consistency check: %v", err)
		}
		cur, err := os.OpenCursor(goidb.CursorNext)
		if err != nil {
			t.Fatalf("consistency check: %v", err)
		}
		var out []js.Value
		err = cur.Iter(ctx, func(c *goidb.CursorWithValue) error {
			v, err := c.Value()
			out = append(out, v)
			return err
		})
		if err != nil {
			t.Fatalf("consistency check: iterate %s: %v", store, err)
		}
		return out
	}
	props := func(v js.Value) (id, wf string, ver, u int64, body []byte) {
		id = v.Get("id").String()
		if w := v.Get("workflowId"); !w.IsUndefined() {
			wf = w.String()
		}
		b := v.Get("b")
		body = make([]byte, b.Length())
		js.CopyBytesToGo(body, b)
		return id, wf, int64(v.Get("v").Float()), int64(v.Get("u").Float()), body
	}
	workflows := map[string]bool{}
	for _, v := range read("workflows") {
		id, _, ver, u, body := props(v)
		w, err := d.Workflow(body)
		if err != nil {
			t.Errorf("consistency: workflow %s: %v", id, err)
			continue
		}
		if w.ID != id || w.Version != ver || w.UpdatedAt != u {
			t.Errorf("consistency: workflow %s: props (%s v%d u%d) disagree with body (%s v%d u%d)", id, id, ver, u, w.ID, w.Version, w.UpdatedAt)
		}
		workflows[id] = true
	}
	nodeWF := map[string]string{}
	nodeAssetProp := map[string]string{} // node id -> property a
	for _, v := range read("nodes") {
		id, wf, ver, u, body := props(v)
		if a := v.Get("a"); !a.IsUndefined() {
			nodeAssetProp[id] = a.String()
		}
		n, err := d.Node(body)
		if err != nil {
			t.Errorf("consistency: node %s: %v", id, err)
			continue
		}
		if n.ID != id || n.WorkflowID != wf || n.Version != ver || n.UpdatedAt != u {
			t.Errorf("consistency: node %s: props disagree with body", id)
		}
		if !workflows[wf] {
			t.Errorf("consistency: node %s belongs to missing workflow %s", id, wf)
		}
		if err := n.Validate(); err != nil {
			t.Errorf("consistency: stored node invalid: %v", err)
		}
		if nodeAsset(n) != nodeAssetProp[id] {
			t.Errorf("consistency: node %s: property a %q, result asset %q", id, nodeAssetProp[id], nodeAsset(n))
		}
		nodeWF[id] = wf
	}
	if names, _ := db.ObjectStoreNames(); d.Assets && slices.Contains(names, "assets") {
		listed := map[string]bool{} // "hash wf/node"
		for _, v := range read("assets") {
			props, b := plainRecord(v)
			a, err := assetref.RecordFromStored(props, b)
			if err != nil {
				t.Errorf("consistency: %v", err)
				continue
			}
			wfs := map[string]bool{}
			for _, u := range a.Users {
				listed[a.Hash+" "+u.String()] = true
				wfs[u.WorkflowID] = true
				if nodeAssetProp[u.NodeID] != a.Hash || nodeWF[u.NodeID] != u.WorkflowID {
					t.Errorf("consistency: asset %s lists user %s, which does not use it", a.Hash, u)
				}
			}
			if got, _ := props["workflows"].([]any); len(got) != len(wfs) {
				t.Errorf("consistency: asset %s: workflows %v, users %v", a.Hash, got, a.Users)
			}
		}
		for node, hash := range nodeAssetProp {
			if !listed[hash+" "+nodeWF[node]+"/"+node] {
				t.Errorf("consistency: node %s uses asset %s, whose record does not list it", node, hash)
			}
		}
	}
	for _, v := range read("edges") {
		id, wf, ver, u, body := props(v)
		e, err := d.Edge(body)
		if err != nil {
			t.Errorf("consistency: edge %s: %v", id, err)
			continue
		}
		if e.ID != id || e.WorkflowID != wf || e.Version != ver || e.UpdatedAt != u {
			t.Errorf("consistency: edge %s: props disagree with body", id)
		}
		if !workflows[wf] {
			t.Errorf("consistency: edge %s belongs to missing workflow %s", id, wf)
		}
		if nodeWF[e.Source] != wf || nodeWF[e.Target] != wf {
			t.Errorf("consistency: edge %s connects nodes outside workflow %s", id, wf)
		}
	}
}

// plainRecord reads a stored record of plain properties (strings, numbers,
// arrays of strings) and body b.
func plainRecord(v js.Value) (map[string]any, []byte) {
	r := struct {
		Props map[string]any
		Body  []byte
	}{Props: map[string]any{}}
	keys := js.Global().Get("Object").Call("keys", v)
	for i := 0; i < keys.Length(); i++ {
		k := keys.Index(i).String()
		p := v.Get(k)
		switch {
		case k == "b":
			r.Body = make([]byte, p.Length())
			js.CopyBytesToGo(r.Body, p)
		case p.Type() == js.TypeString:
			r.Props[k] = p.String()
		case p.Type() == js.TypeNumber:
			r.Props[k] = p.Float()
		case p.Type() == js.TypeBoolean:
			r.Props[k] = p.Bool()
		case js.Global().Get("Array").Call("isArray", p).Bool():
			list := make([]any, p.Length())
			for j := range list {
				list[j] = p.Index(j).String()
			}
			r.Props[k] = list
		}
	}
	return r.Props, r.Body
}
