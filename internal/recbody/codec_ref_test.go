package recbody

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
)

// refCodec is the body codec as first written, on
// github.com/vmihailenco/msgpack/v5's Encoder and Decoder. The codec must
// keep writing the same bytes (stored bodies are compared byte for byte to
// skip unchanged writes) and read whatever this one reads: codec_test.go
// checks both against it. It is also the library side of the codec
// benchmarks (codec_bench_test.go), so it uses the package as cheaply as
// the package allows: a reused Encoder and Decoder, no closure per body,
// keys read into a scratch buffer instead of allocated.
type refCodec struct {
	buf bytes.Buffer
	enc *msgpack.Encoder
	rd  bytes.Reader
	dec *msgpack.Decoder
	key [32]byte
}

func newRefCodec() *refCodec {
	c := &refCodec{}
	c.enc = msgpack.NewEncoder(&c.buf)
	c.dec = msgpack.NewDecoder(&c.rd)
	return c
}

// appendWorkflow appends the encoded body of w to dst.
func (c *refCodec) appendWorkflow(dst []byte, w *graph.Workflow) ([]byte, int) {
	c.buf.Reset()
	e := c.enc
	n := 8 // id, name, vx, vy, zoom, createdAt, updatedAt, version
	if len(w.Meta) > 0 {
		n++
	}
	_ = e.EncodeMapLen(n)
	refStr(e, "id", w.ID)
	refStr(e, "name", w.Name)
	refNum(e, "vx", w.Viewport.X)
	refNum(e, "vy", w.Viewport.Y)
	refNum(e, "zoom", w.Viewport.Zoom)
	if len(w.Meta) > 0 {
		refRaw(e, "meta", w.Meta)
	}
	refInteger(e, "createdAt", w.CreatedAt)
	return c.finish(dst, w.UpdatedAt, w.Version)
}

// finish appends the buffered fields and the trailer to dst.
func (c *refCodec) finish(dst []byte, updatedAt, version int64) ([]byte, int) {
	dst = append(dst, c.buf.Bytes()...)
	at := len(dst)
	return c.appendTrailer(dst, updatedAt, version), at
}

// appendTrailer appends the updatedAt and version fields.
func (c *refCodec) appendTrailer(dst []byte, updatedAt, version int64) []byte {
	c.buf.Reset()
	refInteger(c.enc, "updatedAt", updatedAt)
	refInteger(c.enc, "version", version)
	return append(dst, c.buf.Bytes()...)
}

// appendNode appends the encoded body of n to dst.
func (c *refCodec) appendNode(dst []byte, n *graph.Node) ([]byte, int) {
	c.buf.Reset()
	e := c.enc
	fields := 7 // id, workflowId, type, x, y, updatedAt, version
	if n.Title != "" {
		fields++
	}
	if n.Status != "" {
		fields++
	}
	if n.Size != nil {
		fields += 2
	}
	if len(n.Config) > 0 {
		fields++
	}
	if n.Result != nil {
		fields++
	}
	_ = e.EncodeMapLen(fields)
	refStr(e, "id", n.ID)
	refStr(e, "wf", n.WorkflowID)
	refStr(e, "type", n.Type)
	if n.Title != "" {
		refStr(e, "title", n.Title)
	}
	if n.Status != "" {
		refStr(e, "status", n.Status)
	}
	refNum(e, "x", n.Position.X)
	refNum(e, "y", n.Position.Y)
	if n.Size != nil {
		refNum(e, "w", n.Size.Width)
		refNum(e, "h", n.Size.Height)
	}
	if len(n.Config) > 0 {
		refRaw(e, "config", n.Config)
	}
	if r := n.Result; r != nil {
		_ = e.EncodeString("result")
		rf := 0
		for _, set := range []bool{r.Text != "", r.Asset != nil, r.Thumbnail != "", len(r.Data) > 0} {
			if set {
				rf++
			}
		}
		_ = e.EncodeMapLen(rf)
		if r.Text != "" {
			refStr(e, "text", r.Text)
		}
		if r.Asset != nil {
			_ = e.EncodeString("asset")
			_ = e.Encode(r.Asset) // its MarshalMsgpack
		}
		if r.Thumbnail != "" {
			refStr(e, "thumb", r.Thumbnail)
		}
		if len(r.Data) > 0 {
			refRaw(e, "data", r.Data)
		}
	}
	return c.finish(dst, n.UpdatedAt, n.Version)
}

// appendEdge appends the encoded body of ed to dst.
func (c *refCodec) appendEdge(dst []byte, ed *graph.Edge) ([]byte, int) {
	c.buf.Reset()
	e := c.enc
	fields := 6
	if ed.SourceHandle != "" {
		fields++
	}
	if ed.TargetHandle != "" {
		fields++
	}
	_ = e.EncodeMapLen(fields)
	refStr(e, "id", ed.ID)
	refStr(e, "wf", ed.WorkflowID)
	refStr(e, "src", ed.Source)
	refStr(e, "dst", ed.Target)
	if ed.SourceHandle != "" {
		refStr(e, "srcHandle", ed.SourceHandle)
	}
	if ed.TargetHandle != "" {
		refStr(e, "dstHandle", ed.TargetHandle)
	}
	return c.finish(dst, ed.UpdatedAt, ed.Version)
}

func refStr(e *msgpack.Encoder, k, v string) {
	_ = e.EncodeString(k)
	_ = e.EncodeString(v)
}

func refRaw(e *msgpack.Encoder, k string, v []byte) {
	_ = e.EncodeString(k)
	_ = e.EncodeBytes(v)
}

func refInteger(e *msgpack.Encoder, k string, v int64) {
	_ = e.EncodeString(k)
	_ = e.EncodeInt(v)
}

func refNum(e *msgpack.Encoder, k string, f float64) {
	_ = e.EncodeString(k)
	switch {
	case f == math.Trunc(f) && math.Abs(f) < 1<<53 && !(f == 0 && math.Signbit(f)):
		_ = e.EncodeInt(int64(f))
	case float64(float32(f)) == f:
		_ = e.EncodeFloat32(float32(f))
	default:
		_ = e.EncodeFloat64(f)
	}
}

func (c *refCodec) begin(b []byte) (int, error) {
	c.rd.Reset(b)
	c.dec.ResetReader(&c.rd)
	return c.dec.DecodeMapLen()
}

// nextKey reads a map key into the scratch buffer. A key longer than that
// is none of ours: it is consumed a buffer at a time (its length prefix is
// not trusted with an allocation) and returned empty.
func (c *refCodec) nextKey() ([]byte, error) {
	n, err := c.dec.DecodeBytesLen()
	if err != nil || n <= 0 {
		return nil, err
	}
	if n <= len(c.key) {
		k := c.key[:n]
		return k, c.dec.ReadFull(k)
	}
	for n > 0 {
		m := min(n, len(c.key))
		if err := c.dec.ReadFull(c.key[:m]); err != nil {
			return nil, err
		}
		n -= m
	}
	return c.key[:0], nil
}

func (c *refCodec) end() error {
	if c.rd.Len() != 0 {
		return fmt.Errorf("%d trailing bytes", c.rd.Len())
	}
	return nil
}

func (c *refCodec) decodeNode(b []byte, nd *graph.Node) error {
	*nd = graph.Node{}
	n, err := c.begin(b)
	if err != nil {
		return err
	}
	d := c.dec
	var size graph.Size
	var hasW, hasH bool
	for range n {
		k, err := c.nextKey()
		if err != nil {
			return err
		}
		switch string(k) {
		case "id":
			nd.ID, err = d.DecodeString()
		case "wf":
			nd.WorkflowID, err = d.DecodeString()
		case "type":
			nd.Type, err = d.DecodeString()
		case "title":
			nd.Title, err = d.DecodeString()
		case "status":
			nd.Status, err = d.DecodeString()
		case "x":
			nd.Position.X, err = d.DecodeFloat64()
		case "y":
			nd.Position.Y, err = d.DecodeFloat64()
		case "w":
			size.Width, err = d.DecodeFloat64()
			hasW = true
		case "h":
			size.Height, err = d.DecodeFloat64()
			hasH = true
		case "config":
			nd.Config, err = refDecodeRaw(d)
		case "result":
			nd.Result, err = refDecodeResult(c)
		case "updatedAt":
			nd.UpdatedAt, err = d.DecodeInt64()
		case "version":
			nd.Version, err = d.DecodeInt64()
		default:
			err = d.Skip()
		}
		if err != nil {
			return fmt.Errorf("field %q: %w", k, err)
		}
	}
	if err := c.end(); err != nil {
		return err
	}
	if hasW != hasH {
		return fmt.Errorf("size has only one of width and height")
	}
	if hasW {
		nd.Size = &size
	}
	return nil
}

func refDecodeResult(c *refCodec) (*graph.Result, error) {
	d := c.dec
	n, err := d.DecodeMapLen()
	if err != nil || n < 0 {
		return nil, err
	}
	r := &graph.Result{}
	for range n {
		k, err := c.nextKey()
		if err != nil {
			return nil, err
		}
		switch string(k) {
		case "text":
			r.Text, err = d.DecodeString()
		case "asset":
			r.Asset = &assetref.Ref{}
			err = d.Decode(r.Asset) // its UnmarshalMsgpack
		case "thumb":
			r.Thumbnail, err = d.DecodeString()
		case "data":
			r.Data, err = refDecodeRaw(d)
		default:
			err = d.Skip()
		}
		if err != nil {
			return nil, fmt.Errorf("result field %q: %w", k, err)
		}
	}
	return r, nil
}

func (c *refCodec) decodeEdge(b []byte, ed *graph.Edge) error {
	*ed = graph.Edge{}
	n, err := c.begin(b)
	if err != nil {
		return err
	}
	d := c.dec
	for range n {
		k, err := c.nextKey()
		if err != nil {
			return err
		}
		switch string(k) {
		case "id":
			ed.ID, err = d.DecodeString()
		case "wf":
			ed.WorkflowID, err = d.DecodeString()
		case "src":
			ed.Source, err = d.DecodeString()
		case "dst":
			ed.Target, err = d.DecodeString()
		case "srcHandle":
			ed.SourceHandle, err = d.DecodeString()
		case "dstHandle":
			ed.TargetHandle, err = d.DecodeString()
		case "updatedAt":
			ed.UpdatedAt, err = d.DecodeInt64()
		case "version":
			ed.Version, err = d.DecodeInt64()
		default:
			err = d.Skip()
		}
		if err != nil {
			return fmt.Errorf("field %q: %w", k, err)
		}
	}
	return c.end()
}

func (c *refCodec) decodeWorkflow(b []byte, w *graph.Workflow) error {
	*w = graph.Workflow{}
	n, err := c.begin(b)
	if err != nil {
		return err
	}
	d := c.dec
	for range n {
		k, err := c.nextKey()
		if err != nil {
			return err
		}
		switch string(k) {
		case "id":
			w.ID, err = d.DecodeString()
		case "name":
			w.Name, err = d.DecodeString()
		case "vx":
			w.Viewport.X, err = d.DecodeFloat64()
		case "vy":
			w.Viewport.Y, err = d.DecodeFloat64()
		case "zoom":
			w.Viewport.Zoom, err = d.DecodeFloat64()
		case "meta":
			w.Meta, err = refDecodeRaw(d)
		case "createdAt":
			w.CreatedAt, err = d.DecodeInt64()
		case "updatedAt":
			w.UpdatedAt, err = d.DecodeInt64()
		case "version":
			w.Version, err = d.DecodeInt64()
		default:
			err = d.Skip()
		}
		if err != nil {
			return fmt.Errorf("field %q: %w", k, err)
		}
	}
	return c.end()
}

func refDecodeRaw(d *msgpack.Decoder) (json.RawMessage, error) {
	b, err := d.DecodeBytes()
	if err != nil || len(b) == 0 {
		return nil, err
	}
	return json.RawMessage(b), nil
}
