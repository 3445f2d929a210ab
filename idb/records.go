//go:build js && wasm

package idb

import (
	"fmt"
	"strconv"
	"syscall/js"

	"github.com/atelierstore/atelier/internal/idbx"
	"github.com/atelierstore/atelier/internal/jsutil"
)

var (
	jsJSON   = js.Global().Get("JSON")
	jsObject = js.Global().Get("Object")
)

// rec is a record about to be written: its plain properties and where its
// body sits in a shared buffer.
type rec struct {
	id, wf     string // wf is empty for workflows
	v, u       int64  // version and updatedAt
	start, end int    // body = buf[start:end]
	// add writes with add instead of put: the record must not exist yet,
	// or the transaction fails with a ConstraintError.
	add bool
	// asset is the hash of the tracked asset a node uses (property a).
	asset string
	// sv is the version the server last confirmed (property sv; 0: none).
	sv int64
}

// putRecords writes recs, whose bodies are in buf. Crossing from Go to
// JavaScript is paid per call, not per byte, so the record objects are
// built by one JSON.parse and the bodies cross in one copy; each record
// then costs a slice (its own ArrayBuffer: storing a view would clone the
// whole shared buffer) and a put.
func putRecords(tx *idbx.Tx, store string, recs []rec, buf []byte) error {
	if len(recs) == 0 {
		return nil
	}
	hdr := make([]byte, 0, len(recs)*112)
	hdr = append(hdr, '[')
	for i := range recs {
		r := &recs[i]
		if i > 0 {
			hdr = append(hdr, ',')
		}
		// Ids are validated canonical UUIDs: nothing to escape.
		hdr = append(hdr, `{"id":"`...)
		hdr = append(hdr, r.id...)
		if r.wf != "" {
			hdr = append(hdr, `","workflowId":"`...)
			hdr = append(hdr, r.wf...)
		}
		hdr = append(hdr, `","v":`...)
		hdr = strconv.AppendInt(hdr, r.v, 10)
		hdr = append(hdr, `,"u":`...)
		hdr = strconv.AppendInt(hdr, r.u, 10)
		if r.sv > 0 {
			hdr = append(hdr, `,"sv":`...)
			hdr = strconv.AppendInt(hdr, r.sv, 10)
		}
		if r.asset != "" {
			// A validated SRI hash: base64 needs no escaping in JSON.
			hdr = append(hdr, `,"a":"`...)
			hdr = append(hdr, r.asset...)
			hdr = append(hdr, '"')
		}
		hdr = append(hdr, '}')
	}
	hdr = append(hdr, ']')

	var objs, all js.Value
	err := jsutil.Try(func() {
		objs = jsJSON.Call("parse", string(hdr))
		all = jsutil.Uint8Array(buf)
	})
	if err != nil {
		return err
	}
	for i := range recs {
		o := objs.Index(i)
		if err := jsutil.Try(func() { o.Set("b", all.Call("slice", recs[i].start, recs[i].end)) }); err != nil {
			return err
		}
		write := tx.Put
		if recs[i].add {
			write = tx.Add
		}
		if err := write(store, o); err != nil {
			return fmt.Errorf("write %s %s: %w", store, recs[i].id, err)
		}
	}
	return nil
}

// bodies copies the body of every record in the JS array arr into one Go
// allocation and returns one slice per record.
func bodies(arr js.Value) ([][]byte, error) {
	var out [][]byte
	err := jsutil.Try(func() {
		n := arr.Length()
		vals := make([]js.Value, n)
		lens := make([]int, n)
		total := 0
		for i := 0; i < n; i++ {
			b := arr.Index(i).Get("b")
			vals[i] = b
			lens[i] = b.Length()
			total += lens[i]
		}
		slab := make([]byte, total)
		out = make([][]byte, n)
		off := 0
		for i, v := range vals {
			out[i] = jsutil.CopyInto(slab[off:off+lens[i]:off+lens[i]], v)
			off += lens[i]
		}
	})
	return out, err
}

// body returns the body of one record object; ok is false when v is
// undefined (no such record).
func body(v js.Value) (b []byte, ok bool, err error) {
	if v.IsUndefined() || v.IsNull() {
		return nil, false, nil
	}
	var convErr error
	if err = jsutil.Try(func() { b, convErr = jsutil.Bytes(v.Get("b")) }); err == nil {
		err = convErr
	}
	return b, err == nil, err
}

// keysOf converts a JS array of string keys.
func keysOf(arr js.Value) (keys []string, err error) {
	err = jsutil.Try(func() {
		keys = make([]string, arr.Length())
		for i := range keys {
			keys[i] = arr.Index(i).String()
		}
	})
	return keys, err
}

// recordFromJS converts a stored record for data migrations. Properties
// may be strings, numbers, booleans, null, or arrays of those.
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

var jsArray = js.Global().Get("Array")

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

// recordToJS builds a record object for data migrations.
func recordToJS(r Record) (v js.Value, err error) {
	err = jsutil.Try(func() {
		v = js.ValueOf(r.Props)
		if r.Body != nil {
			v.Set("b", jsutil.Uint8Array(r.Body))
		}
	})
	return v, err
}
