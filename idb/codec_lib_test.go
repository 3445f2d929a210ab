package idb

import (
	"bytes"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
)

// libCodec decodes bodies with github.com/vmihailenco/msgpack/v5 as
// cheaply as that package allows: no closure per body, keys read into a
// scratch buffer instead of allocated. The benchmarks compare it (and
// refCodec's encoder) with the codec.
type libCodec struct {
	rd  bytes.Reader
	dec *msgpack.Decoder
	key [32]byte
}

func newLibCodec() *libCodec {
	c := &libCodec{}
	c.dec = msgpack.NewDecoder(&c.rd)
	return c
}

func (c *libCodec) begin(b []byte) (int, error) {
	c.rd.Reset(b)
	c.dec.ResetReader(&c.rd)
	return c.dec.DecodeMapLen()
}

// nextKey reads a map key into the scratch buffer (longer keys are
// allocated: none of ours are).
func (c *libCodec) nextKey() ([]byte, error) {
	n, err := c.dec.DecodeBytesLen()
	if err != nil || n <= 0 {
		return nil, err
	}
	k := c.key[:]
	if n > len(k) {
		k = make([]byte, n)
	}
	k = k[:n]
	return k, c.dec.ReadFull(k)
}

func (c *libCodec) end() error {
	if c.rd.Len() != 0 {
		return fmt.Errorf("%d trailing bytes", c.rd.Len())
	}
	return nil
}

func (c *libCodec) decodeNode(b []byte, nd *graph.Node) error {
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
			nd.Result, err = libDecodeResult(c)
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

func libDecodeResult(c *libCodec) (*graph.Result, error) {
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
			err = r.Asset.DecodeMsgpack(d)
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

func (c *libCodec) decodeEdge(b []byte, ed *graph.Edge) error {
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

func (c *libCodec) decodeWorkflow(b []byte, w *graph.Workflow) error {
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
