//go:build js && wasm

package idbx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"syscall/js"

	"github.com/atelierstore/atelier/internal/jsbridge"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// Entity records of the workflow store are {id, workflowId?, v, u, sv?,
// a?, b}: the properties that indexes and version checks use stay plain
// JavaScript values, b is the entity's body. This file moves them across
// the Go/JavaScript boundary in bulk: crossing it costs per call, not per
// byte (PLATFORM.md), so a write of 10,000 records is one call that builds
// and writes them all, and a read is one call that packs every body and
// property into one buffer for one copy. The JavaScript half is records
// in internal/jsbridge/bridge.js.

// Rev is a stored entity record: its plain properties and its body.
type Rev struct {
	ID    string
	WF    string // workflowId; empty for workflows
	V, U  int64  // version and updatedAt
	Asset string // property a: the tracked asset a node uses
	SV    int64  // property sv: the version the server last confirmed
	Body  []byte
}

// RevPut is an entity record about to be written: its plain properties
// and where its body sits in a buffer shared by a batch.
type RevPut struct {
	ID, WF     string // WF is empty for workflows
	V, U       int64
	Start, End int // body = buf[Start:End]
	// Add writes with add instead of put: the record must not exist yet,
	// or the transaction fails with a ConstraintError.
	Add   bool
	Asset string
	SV    int64 // 0: not confirmed
}

// ErrTruncated reports packed records that end early.
var ErrTruncated = errors.New("idbx: packed records end early")

var recordsJS = sync.OnceValues(func() (js.Value, error) {
	b, err := jsbridge.Get()
	if err != nil {
		return js.Value{}, err
	}
	return b.Get("records"), nil
})

// PutRevs writes recs, whose bodies are in buf, in one call. Ids, workflow
// ids and asset hashes must need no JSON escaping (canonical UUIDs and SRI
// hashes do not).
func (t *Tx) PutRevs(store string, recs []RevPut, buf []byte) error {
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
		hdr = append(hdr, `{"id":"`...)
		hdr = append(hdr, r.ID...)
		if r.WF != "" {
			hdr = append(hdr, `","workflowId":"`...)
			hdr = append(hdr, r.WF...)
		}
		hdr = append(hdr, `","v":`...)
		hdr = strconv.AppendInt(hdr, r.V, 10)
		hdr = append(hdr, `,"u":`...)
		hdr = strconv.AppendInt(hdr, r.U, 10)
		if r.SV > 0 {
			hdr = append(hdr, `,"sv":`...)
			hdr = strconv.AppendInt(hdr, r.SV, 10)
		}
		if r.Asset != "" {
			hdr = append(hdr, `,"a":"`...)
			hdr = append(hdr, r.Asset...)
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
		hdr = strconv.AppendInt(hdr, int64(r.Start), 10)
		hdr = append(hdr, ',')
		hdr = strconv.AppendInt(hdr, int64(r.End), 10)
		if r.Add {
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
	return t.Issue(store, func(s js.Value) error {
		res := rj.Call("write", s, string(hdr), jsutil.Uint8Array(buf))
		if res.IsNull() {
			return nil
		}
		i := res.Index(0).Int()
		return fmt.Errorf("write %s %s: %w", store, recs[i].ID, jsutil.ToError(res.Index(1)))
	})
}

// Packed is the result of a GetAll of entity records, copied into Go with
// one copy.
type Packed struct {
	n      int
	buf    []byte
	shared string // buf as a string, for the strings cut from it
	off    int
	props  bool
}

// Packed returns the records of a completed GetAll, packed; with props
// their plain properties come too, else only their bodies.
func (r Request) Packed(props bool) (*Packed, error) {
	arr, err := r.Result()
	if err != nil {
		return nil, err
	}
	rj, err := recordsJS()
	if err != nil {
		return nil, err
	}
	p := &Packed{props: props}
	err = jsutil.Try(func() {
		p.n = arr.Length()
		packed := rj.Call("gather", arr, props)
		p.buf = make([]byte, packed.Length())
		jsutil.CopyInto(p.buf, packed)
	})
	if err != nil {
		return nil, err
	}
	p.shared = string(p.buf)
	return p, nil
}

// Len is the number of records.
func (p *Packed) Len() int { return p.n }

// Next returns the next record's body (also as a string, sharing one
// string with the other bodies), and fills r's properties when packed with
// them. The body must not be modified.
func (p *Packed) Next(r *Rev) (body []byte, shared string, err error) {
	b := p.buf[p.off:]
	need := 4
	if p.props {
		need += 30
	}
	if len(b) < need {
		return nil, "", ErrTruncated
	}
	n := int(binary.LittleEndian.Uint32(b))
	at := p.off + need
	if p.props {
		r.V = int64(math.Float64frombits(binary.LittleEndian.Uint64(b[4:])))
		r.U = int64(math.Float64frombits(binary.LittleEndian.Uint64(b[12:])))
		r.SV = int64(math.Float64frombits(binary.LittleEndian.Uint64(b[20:])))
		lens := [3]int{int(binary.LittleEndian.Uint16(b[28:])), int(binary.LittleEndian.Uint16(b[30:])), int(binary.LittleEndian.Uint16(b[32:]))}
		for i, dst := range [3]*string{&r.ID, &r.WF, &r.Asset} {
			if at+lens[i] > len(p.buf) {
				return nil, "", ErrTruncated
			}
			*dst = p.shared[at : at+lens[i]]
			at += lens[i]
		}
	}
	if at+n > len(p.buf) {
		return nil, "", ErrTruncated
	}
	p.off = at + n
	return p.buf[at:p.off:p.off], p.shared[at:p.off], nil
}

// Revs returns the records of a completed GetAll with their properties.
func (r Request) Revs() ([]Rev, error) {
	p, err := r.Packed(true)
	if err != nil {
		return nil, err
	}
	out := make([]Rev, p.Len())
	for i := range out {
		if out[i].Body, _, err = p.Next(&out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Rev returns the record of a completed Get; ok is false when there is
// none.
func (r Request) Rev() (rev Rev, ok bool, err error) {
	v, err := r.Result()
	if err != nil || v.IsUndefined() || v.IsNull() {
		return rev, false, err
	}
	var convErr error
	err = jsutil.Try(func() {
		rev.ID, rev.V, rev.U = v.Get("id").String(), int64(v.Get("v").Float()), int64(v.Get("u").Float())
		if wf := v.Get("workflowId"); wf.Type() == js.TypeString {
			rev.WF = wf.String()
		}
		if a := v.Get("a"); a.Type() == js.TypeString {
			rev.Asset = a.String()
		}
		if sv := v.Get("sv"); sv.Type() == js.TypeNumber {
			rev.SV = int64(sv.Float())
		}
		rev.Body, convErr = jsutil.Bytes(v.Get("b"))
	})
	if err == nil {
		err = convErr
	}
	return rev, err == nil, err
}

// Guards check, inside a transaction, that records are as remembered from
// an earlier one: each guard is a get whose success handler (plain
// JavaScript, run before the transaction can commit) compares the stored
// record with the remembered one property by property and byte by byte,
// and aborts the transaction when they differ. The JavaScript half is
// guards in internal/jsbridge/bridge.js.
type Guards struct {
	t  *Tx
	gj js.Value
	st js.Value // {pending, commit, stale}
}

var guardsJS = sync.OnceValues(func() (js.Value, error) {
	b, err := jsbridge.Get()
	if err != nil {
		return js.Value{}, err
	}
	return b.Get("guards"), nil
})

// Guards starts the guards of t.
func (t *Tx) Guards() (*Guards, error) {
	gj, err := guardsJS()
	if err != nil {
		return nil, err
	}
	g := &Guards{t: t, gj: gj}
	err = jsutil.Try(func() {
		g.st = js.Global().Get("Object").New()
		g.st.Set("pending", 0)
	})
	return g, err
}

// Add guards the record of store keyed by key, remembered as rev (found
// false: remembered as missing).
func (g *Guards) Add(store, key string, found bool, rev *Rev) error {
	return jsutil.Try(func() {
		g.gj.Call("guard", g.t.v, store, key, found, rev.WF, rev.V, rev.U, rev.SV, rev.Asset,
			jsutil.Uint8Array(rev.Body), g.st)
	})
}

// Stale reports whether a guard found a record changed (and aborted).
func (g *Guards) Stale() bool {
	stale := false
	_ = jsutil.Try(func() { stale = g.st.Get("stale").Truthy() })
	return stale
}

// Commit asks for the commit once every guard has passed: a guarded
// transaction must not call Tx.Commit, which could commit before them.
func (g *Guards) Commit() {
	_ = jsutil.Try(func() { g.gj.Call("commit", g.t.v, g.st) })
}
