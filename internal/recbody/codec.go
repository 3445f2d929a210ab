package recbody

import (
	"fmt"
	"math"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/msgp"
)

// Record bodies are msgpack maps with short, stable keys, written and read
// field by field (no reflection) with the hand-written msgpack of msgp.go,
// which is two to four times faster in wasm than the same fields through
// github.com/vmihailenco/msgpack/v5 (figures in msgp.go). Asset
// references inside a result are written and read by package assetref,
// the reading on that package's Decoder. Keys a decoder does not know are skipped,
// but a change of the body format must still come with a schema migration:
// a tab running an older build would drop unknown keys when it rewrites a
// record, and the migration's versionchange makes such tabs close first.
//
// Numbers are written in their most compact exact form: integral
// coordinates as integers, others as float32 when that is exact, float64
// otherwise.

// Codec encodes and decodes record bodies. It keeps a reader, so one
// Codec must not be used by two goroutines at once.
type Codec struct {
	r mpReader
}

// New returns a Codec.
func New() *Codec { return &Codec{} }

// ---- encoding

// Every body ends with the trailer updatedAt, version. The append functions
// return the offset of the trailer in dst, so that a caller can compare a
// body with a stored one while ignoring those two fields, or replace them
// with appendTrailer without encoding the entity again.

// AppendWorkflow appends the encoded body of w to dst.
func (c *Codec) AppendWorkflow(dst []byte, w *graph.Workflow) ([]byte, int) {
	n := 8 // id, name, vx, vy, zoom, createdAt, updatedAt, version
	if len(w.Meta) > 0 {
		n++
	}
	dst = msgp.AppendMapLen(dst, n)
	dst = str(dst, "id", w.ID)
	dst = str(dst, "name", w.Name)
	dst = num(dst, "vx", w.Viewport.X)
	dst = num(dst, "vy", w.Viewport.Y)
	dst = num(dst, "zoom", w.Viewport.Zoom)
	if len(w.Meta) > 0 {
		dst = raw(dst, "meta", w.Meta)
	}
	dst = integer(dst, "createdAt", w.CreatedAt)
	return c.finish(dst, w.UpdatedAt, w.Version)
}

// finish appends the trailer and returns where it starts.
func (c *Codec) finish(dst []byte, updatedAt, version int64) ([]byte, int) {
	at := len(dst)
	return c.AppendTrailer(dst, updatedAt, version), at
}

// AppendTrailer appends the updatedAt and version fields.
func (c *Codec) AppendTrailer(dst []byte, updatedAt, version int64) []byte {
	dst = integer(dst, "updatedAt", updatedAt)
	return integer(dst, "version", version)
}

// AppendNode appends the encoded body of n to dst.
func (c *Codec) AppendNode(dst []byte, n *graph.Node) ([]byte, int) {
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
	dst = msgp.AppendMapLen(dst, fields)
	dst = str(dst, "id", n.ID)
	dst = str(dst, "wf", n.WorkflowID)
	dst = str(dst, "type", n.Type)
	if n.Title != "" {
		dst = str(dst, "title", n.Title)
	}
	if n.Status != "" {
		dst = str(dst, "status", n.Status)
	}
	dst = num(dst, "x", n.Position.X)
	dst = num(dst, "y", n.Position.Y)
	if n.Size != nil {
		dst = num(dst, "w", n.Size.Width)
		dst = num(dst, "h", n.Size.Height)
	}
	if len(n.Config) > 0 {
		dst = raw(dst, "config", n.Config)
	}
	if r := n.Result; r != nil {
		dst = msgp.AppendString(dst, "result")
		rf := 0
		for _, set := range [...]bool{r.Text != "", r.Asset != nil, r.Thumbnail != "", len(r.Data) > 0} {
			if set {
				rf++
			}
		}
		dst = msgp.AppendMapLen(dst, rf)
		if r.Text != "" {
			dst = str(dst, "text", r.Text)
		}
		if r.Asset != nil {
			dst = msgp.AppendString(dst, "asset")
			var err error
			if dst, err = r.Asset.AppendMsgpack(dst); err != nil {
				// Unreachable for a validated node; keep the body
				// well-formed all the same.
				dst = append(dst, msgp.Nil)
			}
		}
		if r.Thumbnail != "" {
			dst = str(dst, "thumb", r.Thumbnail)
		}
		if len(r.Data) > 0 {
			dst = raw(dst, "data", r.Data)
		}
	}
	return c.finish(dst, n.UpdatedAt, n.Version)
}

// AppendEdge appends the encoded body of ed to dst.
func (c *Codec) AppendEdge(dst []byte, ed *graph.Edge) ([]byte, int) {
	fields := 6
	if ed.SourceHandle != "" {
		fields++
	}
	if ed.TargetHandle != "" {
		fields++
	}
	dst = msgp.AppendMapLen(dst, fields)
	dst = str(dst, "id", ed.ID)
	dst = str(dst, "wf", ed.WorkflowID)
	dst = str(dst, "src", ed.Source)
	dst = str(dst, "dst", ed.Target)
	if ed.SourceHandle != "" {
		dst = str(dst, "srcHandle", ed.SourceHandle)
	}
	if ed.TargetHandle != "" {
		dst = str(dst, "dstHandle", ed.TargetHandle)
	}
	return c.finish(dst, ed.UpdatedAt, ed.Version)
}

func str(dst []byte, k, v string) []byte {
	return msgp.AppendString(msgp.AppendString(dst, k), v)
}

func raw(dst []byte, k string, v []byte) []byte {
	return msgp.AppendBytes(msgp.AppendString(dst, k), v)
}

func integer(dst []byte, k string, v int64) []byte {
	return msgp.AppendInt(msgp.AppendString(dst, k), v)
}

func num(dst []byte, k string, f float64) []byte {
	dst = msgp.AppendString(dst, k)
	switch {
	case f == math.Trunc(f) && math.Abs(f) < 1<<53 && !(f == 0 && math.Signbit(f)):
		return msgp.AppendInt(dst, int64(f))
	case float64(float32(f)) == f:
		return msgp.AppendFloat32(dst, float32(f))
	default:
		return msgp.AppendFloat64(dst, f)
	}
}

// ---- decoding

// Decoding reads a body (a msgpack map) key by key: keys it does not know
// are skipped, truncated bodies and trailing bytes are errors. Strings are
// cut from shared when it is not empty (it must hold the same bytes as b):
// decodeAll converts all bodies of a read to one string once.

func (c *Codec) DecodeWorkflow(b []byte, w *graph.Workflow) error {
	return c.DecodeWorkflowIn(b, "", w)
}

func (c *Codec) DecodeNode(b []byte, nd *graph.Node) error {
	return c.DecodeNodeIn(b, "", nd)
}

func (c *Codec) DecodeEdge(b []byte, ed *graph.Edge) error {
	return c.DecodeEdgeIn(b, "", ed)
}

// begin starts reading a body and returns its number of fields.
func (c *Codec) begin(b []byte, shared string) (int, error) {
	c.r.reset(b, shared)
	n, err := c.r.mapLen()
	if n < 0 { // nil reads as an empty map, as it always did
		n = 0
	}
	return n, err
}

// end checks that the body has been read to its last byte.
func (c *Codec) end() error {
	if n := c.r.left(); n != 0 {
		return fmt.Errorf("%d trailing bytes", n)
	}
	return nil
}

func fieldErr(k []byte, err error) error {
	return fmt.Errorf("field %q: %w", k, err)
}

func (c *Codec) DecodeWorkflowIn(b []byte, shared string, w *graph.Workflow) error {
	*w = graph.Workflow{}
	n, err := c.begin(b, shared)
	if err != nil {
		return err
	}
	r := &c.r
	for range n {
		k, err := r.key()
		if err != nil {
			return err
		}
		switch string(k) {
		case "id":
			w.ID, err = r.str()
		case "name":
			w.Name, err = r.str()
		case "vx":
			w.Viewport.X, err = r.float64()
		case "vy":
			w.Viewport.Y, err = r.float64()
		case "zoom":
			w.Viewport.Zoom, err = r.float64()
		case "meta":
			w.Meta, err = r.bytes()
		case "createdAt":
			w.CreatedAt, err = r.int64()
		case "updatedAt":
			w.UpdatedAt, err = r.int64()
		case "version":
			w.Version, err = r.int64()
		default:
			err = r.skip(0)
		}
		if err != nil {
			return fieldErr(k, err)
		}
	}
	return c.end()
}

func (c *Codec) DecodeNodeIn(b []byte, shared string, nd *graph.Node) error {
	*nd = graph.Node{}
	n, err := c.begin(b, shared)
	if err != nil {
		return err
	}
	r := &c.r
	var size graph.Size
	var hasW, hasH bool
	for range n {
		k, err := r.key()
		if err != nil {
			return err
		}
		switch string(k) {
		case "id":
			nd.ID, err = r.str()
		case "wf":
			nd.WorkflowID, err = r.str()
		case "type":
			nd.Type, err = r.str()
		case "title":
			nd.Title, err = r.str()
		case "status":
			nd.Status, err = r.str()
		case "x":
			nd.Position.X, err = r.float64()
		case "y":
			nd.Position.Y, err = r.float64()
		case "w":
			size.Width, err = r.float64()
			hasW = true
		case "h":
			size.Height, err = r.float64()
			hasH = true
		case "config":
			nd.Config, err = r.bytes()
		case "result":
			nd.Result, err = c.decodeResult()
		case "updatedAt":
			nd.UpdatedAt, err = r.int64()
		case "version":
			nd.Version, err = r.int64()
		default:
			err = r.skip(0)
		}
		if err != nil {
			return fieldErr(k, err)
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

func (c *Codec) decodeResult() (*graph.Result, error) {
	r := &c.r
	n, err := r.mapLen()
	if err != nil || n < 0 { // nil: no result
		return nil, err
	}
	res := &graph.Result{}
	for range n {
		k, err := r.key()
		if err != nil {
			return nil, err
		}
		switch string(k) {
		case "text":
			res.Text, err = r.str()
		case "asset":
			res.Asset, err = c.decodeRef()
		case "thumb":
			res.Thumbnail, err = r.str()
		case "data":
			res.Data, err = r.bytes()
		default:
			err = r.skip(0)
		}
		if err != nil {
			return nil, fmt.Errorf("result field %q: %w", k, err)
		}
	}
	return res, nil
}

// decodeRef reads an asset reference with assetref's own msgpack decoder,
// which validates it.
func (c *Codec) decodeRef() (*assetref.Ref, error) {
	r := &c.r
	start := r.off
	if err := r.skip(0); err != nil {
		return nil, err
	}
	ref := &assetref.Ref{}
	if err := ref.UnmarshalMsgpack(r.b[start:r.off]); err != nil {
		return nil, err
	}
	return ref, nil
}

func (c *Codec) DecodeEdgeIn(b []byte, shared string, ed *graph.Edge) error {
	*ed = graph.Edge{}
	n, err := c.begin(b, shared)
	if err != nil {
		return err
	}
	r := &c.r
	for range n {
		k, err := r.key()
		if err != nil {
			return err
		}
		switch string(k) {
		case "id":
			ed.ID, err = r.str()
		case "wf":
			ed.WorkflowID, err = r.str()
		case "src":
			ed.Source, err = r.str()
		case "dst":
			ed.Target, err = r.str()
		case "srcHandle":
			ed.SourceHandle, err = r.str()
		case "dstHandle":
			ed.TargetHandle, err = r.str()
		case "updatedAt":
			ed.UpdatedAt, err = r.int64()
		case "version":
			ed.Version, err = r.int64()
		default:
			err = r.skip(0)
		}
		if err != nil {
			return fieldErr(k, err)
		}
	}
	return c.end()
}
