//go:build js && wasm

package idb

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"sync"
	"syscall/js"

	"github.com/atelierstore/atelier/internal/idbx"
	"github.com/atelierstore/atelier/internal/jsbridge"
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

// recordsJS moves records across the Go/JavaScript boundary in bulk:
// crossing it costs per call, not per byte (PLATFORM.md), so a write of
// 10,000 records is one call that builds and writes them all, and a read
// is one call that packs every body and property into one buffer for one
// copy. Its code is records in internal/jsbridge/bridge.js.
var recordsJS = sync.OnceValues(func() (js.Value, error) {
	b, err := jsbridge.Get()
	if err != nil {
		return js.Value{}, err
	}
	return b.Get("records"), nil
})

// putRecords writes recs, whose bodies are in buf, in one call: see
// recordsJS.write.
func putRecords(tx *idbx.Tx, store string, recs []rec, buf []byte) error {
	if len(recs) == 0 {
		return nil
	}
	hdr := make([]byte, 0, len(recs)*128+16)
	hdr = append(hdr, `{"r":[`...)
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
	hdr = append(hdr, `],"x":[`...)
	for i := range recs {
		r := &recs[i]
		if i > 0 {
			hdr = append(hdr, ',')
		}
		hdr = strconv.AppendInt(hdr, int64(r.start), 10)
		hdr = append(hdr, ',')
		hdr = strconv.AppendInt(hdr, int64(r.end), 10)
		if r.add {
			hdr = append(hdr, ",1"...)
		} else {
			hdr = append(hdr, ",0"...)
		}
	}
	hdr = append(hdr, "]}"...)
	rj, err := recordsJS()
	if err != nil {
		return err
	}
	return tx.Issue(store, func(s js.Value) error {
		res := rj.Call("write", s, string(hdr), jsutil.Uint8Array(buf))
		if res.IsNull() {
			return nil
		}
		i := res.Index(0).Int()
		return fmt.Errorf("write %s %s: %w", store, recs[i].id, jsutil.ToError(res.Index(1)))
	})
}

// gathered is what recordsJS.gather packed, copied into Go.
type gathered struct {
	buf    []byte
	shared string // buf as a string, for the strings cut from it
	off    int
	props  bool
}

// gather copies every record of the JS array arr into Go with one copy.
func gather(arr js.Value, props bool) (*gathered, error) {
	rj, err := recordsJS()
	if err != nil {
		return nil, err
	}
	g := &gathered{props: props}
	err = jsutil.Try(func() {
		packed := rj.Call("gather", arr, props)
		g.buf = make([]byte, packed.Length())
		jsutil.CopyInto(g.buf, packed)
	})
	if err != nil {
		return nil, err
	}
	g.shared = string(g.buf)
	return g, nil
}

// next returns the next record: its properties when packed with them, and
// its body (also as a string, sharing g.shared).
func (g *gathered) next(r *storedRev) (body []byte, shared string, err error) {
	b := g.buf[g.off:]
	need := 4
	if g.props {
		need += 30
	}
	if len(b) < need {
		return nil, "", errTruncated
	}
	n := int(binary.LittleEndian.Uint32(b))
	at := g.off + need
	if g.props {
		r.v = int64(math.Float64frombits(binary.LittleEndian.Uint64(b[4:])))
		r.u = int64(math.Float64frombits(binary.LittleEndian.Uint64(b[12:])))
		r.sv = int64(math.Float64frombits(binary.LittleEndian.Uint64(b[20:])))
		lens := [3]int{int(binary.LittleEndian.Uint16(b[28:])), int(binary.LittleEndian.Uint16(b[30:])), int(binary.LittleEndian.Uint16(b[32:]))}
		for i, dst := range [3]*string{&r.id, &r.wf, &r.asset} {
			if at+lens[i] > len(g.buf) {
				return nil, "", errTruncated
			}
			*dst = g.shared[at : at+lens[i]]
			at += lens[i]
		}
	}
	if at+n > len(g.buf) {
		return nil, "", errTruncated
	}
	g.off = at + n
	return g.buf[at:g.off:g.off], g.shared[at:g.off], nil
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
