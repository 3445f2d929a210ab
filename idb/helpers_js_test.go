//go:build js && wasm

package idb

import (
	"context"
	"encoding/hex"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"syscall/js"
	"testing"
	"time"

	goidb "github.com/hack-pad/go-indexeddb/idb"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/idbx"
)

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dbName returns a database name unique to the test.
func dbName(t testing.TB) string {
	return fmt.Sprintf("atelier-test-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
}

// newDB opens a fresh store for the test. In cleanup it checks the
// database's consistency through an independent reader, closes it and
// deletes it.
func newDB(t testing.TB, opts *Options) *DB {
	t.Helper()
	return openNamed(t, dbName(t), opts, migrations)
}

func openNamed(t testing.TB, name string, opts *Options, ms []Migration) *DB {
	t.Helper()
	ctx := testCtx(t)
	d, err := open(ctx, name, opts, ms)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	t.Cleanup(func() {
		if d.closed() == nil {
			checkConsistency(t, name)
		}
		_ = d.Close()
		dropDB(t, name)
	})
	return d
}

func dropDB(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := idbx.Delete(ctx, name, nil); err != nil {
		t.Errorf("delete database %s: %v", name, err)
	}
}

// checkConsistency reads the whole database with go-indexeddb (a second,
// independent IndexedDB client) and checks the invariants the store
// promises: every body decodes, the plain properties agree with the body,
// every node and edge belongs to an existing workflow, and every edge
// connects two nodes of its workflow.
func checkConsistency(t testing.TB, name string) {
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
	c := newCodec()
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
	for _, v := range read(storeWorkflows) {
		id, _, ver, u, body := props(v)
		var w graph.Workflow
		if err := c.decodeWorkflow(body, &w); err != nil {
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
	for _, v := range read(storeNodes) {
		id, wf, ver, u, body := props(v)
		if a := v.Get("a"); !a.IsUndefined() {
			nodeAssetProp[id] = a.String()
		}
		var n graph.Node
		if err := c.decodeNode(body, &n); err != nil {
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
		if nodeAsset(&n) != nodeAssetProp[id] {
			t.Errorf("consistency: node %s: property a %q, result asset %q", id, nodeAssetProp[id], nodeAsset(&n))
		}
		nodeWF[id] = wf
	}
	if names, _ := db.ObjectStoreNames(); contains(names, storeAssets) {
		listed := map[string]bool{} // "hash wf/node"
		for _, v := range read(storeAssets) {
			r := plainRecord(v)
			a, err := assetRecordFromRecord(r)
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
			if got, _ := r.Props["workflows"].([]any); len(got) != len(wfs) {
				t.Errorf("consistency: asset %s: workflows %v, users %v", a.Hash, got, a.Users)
			}
		}
		for node, hash := range nodeAssetProp {
			if !listed[hash+" "+nodeWF[node]+"/"+node] {
				t.Errorf("consistency: node %s uses asset %s, whose record does not list it", node, hash)
			}
		}
	}
	for _, v := range read(storeEdges) {
		id, wf, ver, u, body := props(v)
		var e graph.Edge
		if err := c.decodeEdge(body, &e); err != nil {
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

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// snapshot returns every record of every store in a comparable form, to
// prove that a failed call wrote nothing.
func snapshot(t testing.TB, d *DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := d.View(testCtx(t), func(tx *Tx) error {
		for _, store := range d.stores {
			kreq, err := tx.tx.GetAllKeys(store, "", nil)
			if err != nil {
				return err
			}
			vreq, err := tx.tx.GetAll(store, "", nil)
			if err != nil {
				return err
			}
			vals, err := vreq.Await(tx.ctx)
			if err != nil {
				return err
			}
			keys, _ := kreq.Result()
			var rows []string
			for i := 0; i < vals.Length(); i++ {
				rows = append(rows, keys.Index(i).String()+"="+describe(vals.Index(i)))
			}
			sort.Strings(rows)
			out[store] = rows
		}
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	return out
}

func describe(v js.Value) string {
	if v.Type() != js.TypeObject {
		return v.String()
	}
	if v.InstanceOf(js.Global().Get("Uint8Array")) {
		b := make([]byte, v.Length())
		js.CopyBytesToGo(b, v)
		return hex.EncodeToString(b)
	}
	keys := js.Global().Get("Object").Call("keys", v)
	var parts []string
	for i := 0; i < keys.Length(); i++ {
		k := keys.Index(i).String()
		parts = append(parts, k+":"+describe(v.Get(k)))
	}
	sort.Strings(parts)
	return "{" + strings.Join(parts, ",") + "}"
}

func sameSnapshot(t testing.TB, before, after map[string][]string) {
	t.Helper()
	if !reflect.DeepEqual(before, after) {
		for store := range before {
			if !reflect.DeepEqual(before[store], after[store]) {
				t.Errorf("store %s changed:\nbefore %v\nafter  %v", store, before[store], after[store])
			}
		}
	}
}

// plainRecord reads a stored record of plain properties (strings, numbers,
// arrays of strings) and body b.
func plainRecord(v js.Value) Record {
	r := Record{Props: map[string]any{}}
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
	return r
}
