//go:build js && wasm

package idbx

import (
	"context"
	"fmt"
	"syscall/js"

	"github.com/atelierstore/atelier/internal/jsutil"
)

// Go values in and out of object stores, for the stores that hold plain
// JavaScript values rather than entity records (see records.go).

// Wait waits for the request to complete, like Await without the result.
func (r Request) Wait(ctx context.Context) error {
	_, err := r.Await(ctx)
	return err
}

// Keys returns the result of a completed GetAllKeys of string keys.
func (r Request) Keys() (keys []string, err error) {
	arr, err := r.Result()
	if err != nil {
		return nil, err
	}
	err = jsutil.Try(func() {
		keys = make([]string, arr.Length())
		for i := range keys {
			keys[i] = arr.Index(i).String()
		}
	})
	return keys, err
}

// Number returns the result of a completed request whose result is a
// number (a count, a number kept under a key); ok is false when there is
// no record or it is not a number.
func (r Request) Number() (n float64, ok bool, err error) {
	v, err := r.Result()
	if err != nil || v.Type() != js.TypeNumber {
		return 0, false, err
	}
	return v.Float(), true, nil
}

// String returns the result of a completed request whose result is a
// string; ok is false when there is no record or it is not a string.
func (r Request) String() (s string, ok bool, err error) {
	v, err := r.Result()
	if err != nil || v.Type() != js.TypeString {
		return "", false, err
	}
	return v.String(), true, nil
}

// JSON returns the result of a completed request as JSON (an array for a
// GetAll); ok is false when there is no record.
func (r Request) JSON() (b []byte, ok bool, err error) {
	v, err := r.Result()
	if err != nil || v.IsUndefined() {
		return nil, false, err
	}
	err = jsutil.Try(func() { b = []byte(jsJSON.Call("stringify", v).String()) })
	return b, err == nil, err
}

var jsJSON = js.Global().Get("JSON")

// PutJSON stores the value that the JSON text b describes (its key comes
// from the store's key path).
func (t *Tx) PutJSON(store string, b []byte) error {
	var v js.Value
	if err := jsutil.Try(func() { v = jsJSON.Call("parse", string(b)) }); err != nil {
		return err
	}
	return t.Put(store, v)
}

// PutJSONs stores each element of the JSON array b: one parse for all.
func (t *Tx) PutJSONs(store string, b []byte) error {
	var arr js.Value
	if err := jsutil.Try(func() { arr = jsJSON.Call("parse", string(b)) }); err != nil {
		return err
	}
	n := 0
	if err := jsutil.Try(func() { n = arr.Length() }); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		if err := t.Put(store, arr.Index(i)); err != nil {
			return err
		}
	}
	return nil
}

// PutValue stores v, converted as js.ValueOf converts it (strings,
// numbers, booleans, nil, []any and map[string]any of those).
func (t *Tx) PutValue(store string, v any) error {
	var jv js.Value
	if err := jsutil.Try(func() { jv = js.ValueOf(v) }); err != nil {
		return err
	}
	return t.Put(store, jv)
}

// PutKeyValue stores v (converted as for PutValue) under key, for stores
// with out-of-line keys.
func (t *Tx) PutKeyValue(store string, key any, v any) error {
	var jv js.Value
	if err := jsutil.Try(func() { jv = js.ValueOf(v) }); err != nil {
		return err
	}
	return t.PutKey(store, key, jv)
}

// Record is a stored record seen generically, as data migrations and the
// stores of plain records use it: its properties (strings, numbers,
// booleans, nil, or []any of those) and its body, property b.
type Record struct {
	Props map[string]any
	Body  []byte
}

// Records returns the records of a completed GetAll.
func (r Request) Records() ([]Record, error) {
	arr, err := r.Result()
	if err != nil {
		return nil, err
	}
	var out []Record
	err = jsutil.Try(func() {
		out = make([]Record, arr.Length())
		for i := range out {
			rec, err := recordFromJS(arr.Index(i))
			if err != nil {
				panic(fmt.Errorf("record %d: %w", i, err))
			}
			out[i] = rec
		}
	})
	return out, err
}

// Record returns the record of a completed Get; ok is false when there is
// none.
func (r Request) Record() (rec Record, ok bool, err error) {
	v, err := r.Result()
	if err != nil || v.IsUndefined() || v.IsNull() {
		return rec, false, err
	}
	rec, err = recordFromJS(v)
	return rec, err == nil, err
}

// PutRecord stores rec (its key comes from the store's key path).
func (t *Tx) PutRecord(store string, rec Record) error {
	var v js.Value
	err := jsutil.Try(func() {
		v = js.ValueOf(rec.Props)
		if rec.Body != nil {
			v.Set("b", jsutil.Uint8Array(rec.Body))
		}
	})
	if err != nil {
		return err
	}
	return t.Put(store, v)
}

var (
	jsObject = js.Global().Get("Object")
	jsArray  = js.Global().Get("Array")
)

func recordFromJS(v js.Value) (Record, error) {
	r := Record{Props: map[string]any{}}
	err := jsutil.Try(func() {
		keys := jsObject.Call("keys", v)
		for i := 0; i < keys.Length(); i++ {
			k := keys.Index(i).String()
			p := v.Get(k)
			if k == "b" {
				var err error
				if r.Body, err = jsutil.Bytes(p); err != nil {
					panic(err)
				}
				continue
			}
			if p.Type() == js.TypeObject && jsArray.Call("isArray", p).Bool() {
				list := make([]any, p.Length())
				for j := range list {
					list[j] = primitive(k, p.Index(j))
				}
				r.Props[k] = list
				continue
			}
			r.Props[k] = primitive(k, p)
		}
	})
	return r, err
}

// primitive converts a plain property value; it panics (caught by the
// caller's Try) on anything else.
func primitive(k string, p js.Value) any {
	switch p.Type() {
	case js.TypeString:
		return p.String()
	case js.TypeNumber:
		return p.Float()
	case js.TypeBoolean:
		return p.Bool()
	case js.TypeNull:
		return nil
	}
	panic(fmt.Errorf("property %q has unsupported type %s", k, p.Type()))
}

// Below is the key range of the keys before upper (exclusive).
func Below(upper string) KeyQuery { return KeyQuery{upper: upper, below: true} }

// KeyQuery selects keys for GetAll, GetAllKeys, Count and Delete: a key
// range made when the request is issued.
type KeyQuery struct {
	upper string
	below bool
}

func (q KeyQuery) value() (v js.Value, err error) {
	err = jsutil.Try(func() { v = js.Global().Get("IDBKeyRange").Call("upperBound", q.upper, true) })
	return v, err
}
