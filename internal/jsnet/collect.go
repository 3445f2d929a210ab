//go:build js && wasm

package jsnet

import (
	"context"
	"errors"
	"syscall/js"

	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// collectPiece is how many bytes of arrived chunks a Collector joins into
// one Blob: the browser may keep a Blob on disk, while the chunks are
// memory of the page.
const collectPiece = 4 << 20

var jsBlob = js.Global().Get("Blob")

// Collector gathers bodies into one Blob the browser holds, keeping what
// arrived when a body breaks off, so that a download can go on from there
// (with a Range request). The bytes stay in the browser: Go sees only
// their counts.
type Collector struct {
	pieces  []any // Blobs of collectPiece bytes or so
	chunks  []any // Uint8Arrays not yet joined into a piece
	pending int64 // bytes in chunks
	n       int64 // bytes collected in all
}

// Len returns how many bytes the Collector holds.
func (c *Collector) Len() int64 { return c.n }

// Reset throws away what the Collector holds.
func (c *Collector) Reset() { *c = Collector{} }

// ReadBody appends the body of r to what the Collector holds, chunk by
// chunk as it arrives, calling got (if not nil) with the bytes collected
// so far after each chunk, and closes r. It returns nil at the body's end,
// ctx.Err() once ctx ends, and the browser's error when the body breaks
// off; the chunks that arrived before are kept either way.
func (c *Collector) ReadBody(ctx context.Context, r *Response, got func(n int64)) error {
	defer r.Close()
	b := r.v.Get("body")
	if b.IsNull() || b.IsUndefined() {
		return nil
	}
	var rd js.Value
	if err := jsutil.Try(func() { rd = b.Call("getReader") }); err != nil {
		return err
	}
	// No cancel of the reader on the way out: the body has ended or
	// failed then, or ctx has, and closing r aborts the request.
	for {
		var p js.Value
		if err := jsutil.Try(func() { p = rd.Call("read") }); err != nil {
			return err
		}
		res, err := jsutil.Await(ctx, p)
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			return err
		}
		if res.Get("done").Bool() {
			return nil
		}
		chunk := res.Get("value")
		n := int64(chunk.Get("byteLength").Int())
		c.chunks = append(c.chunks, chunk)
		c.pending += n
		c.n += n
		if c.pending >= collectPiece {
			c.join()
		}
		if got != nil {
			got(c.n)
		}
	}
}

// join makes one Blob of the chunks.
func (c *Collector) join() {
	if len(c.chunks) == 0 {
		return
	}
	c.pieces = append(c.pieces, jsBlob.New(c.chunks))
	c.chunks, c.pending = nil, 0
}

// Blob returns what the Collector holds as one Blob of media type mime.
func (c *Collector) Blob(mime string) (*fsx.Blob, error) {
	if jsBlob.Type() != js.TypeFunction {
		return nil, errors.New("jsnet: no Blob in this browser")
	}
	c.join()
	var v js.Value
	if err := jsutil.Try(func() { v = jsBlob.New(c.pieces, map[string]any{"type": mime}) }); err != nil {
		return nil, err
	}
	return fsx.WrapBlob(v)
}
