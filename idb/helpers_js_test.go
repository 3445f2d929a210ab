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

	"github.com/atelierstore/atelier/internal/idbcheck"
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
			idbcheck.Check(t, name, decoders)
		}
		_ = d.Close()
		dropDB(t, name)
	})
	return d
}

// decoders are the store's codec, for idbcheck.
var decoders = idbcheck.Decoders{Workflow: DecodeWorkflow, Node: DecodeNode, Edge: DecodeEdge}

func dropDB(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := idbx.Delete(ctx, name, nil); err != nil {
		t.Errorf("delete database %s: %v", name, err)
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
