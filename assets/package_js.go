//go:build js && wasm

package assets

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"syscall/js"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/jsutil"
	"github.com/atelierstore/atelier/pack"
)

// BlobReaderAt reads a Blob or File (blob must be one) as an io.ReaderAt,
// a slice at a time, for Import; it returns the reader and the size. The
// reader also hands out slices of the Blob as parts (pack.PartReaderAt):
// Library.Import stores media assets from those, without their bytes
// passing through Go.
func BlobReaderAt(ctx context.Context, blob js.Value) (io.ReaderAt, int64, error) {
	b, err := fsx.WrapBlob(blob)
	if err != nil {
		return nil, 0, &errs.ValidationError{Entity: "package", Field: "file", Reason: err.Error()}
	}
	return blobAt{ctx, b}, b.Size(), nil
}

type blobAt struct {
	ctx context.Context
	b   *fsx.Blob
}

func (a blobAt) ReadAt(p []byte, off int64) (int, error) { return a.b.ReadAt(a.ctx, p, off) }

// BlobWriter collects what is written to it into a Blob, one part per
// Write (copied out of Go at once, so Go memory holds none of it). As a
// pack.PartWriter it also takes assets' stored files as parts, which the
// Blob then refers to rather than copies: like a Blob from Library.Blob,
// it reads them when it is read, so save or upload it soon (reading fails
// once an asset in it was deleted or evicted).
type BlobWriter struct{ parts []any }

// Write implements io.Writer.
func (w *BlobWriter) Write(p []byte) (int, error) {
	w.parts = append(w.parts, jsutil.Uint8Array(p))
	return len(p), nil
}

// Blob returns everything written so far as one Blob.
func (w *BlobWriter) Blob(mime string) js.Value {
	return js.Global().Get("Blob").New(w.parts, map[string]any{"type": mime})
}

// Fetch is a pack.FetchFunc over the browser's fetch: it returns when the
// response headers arrive and streams the body.
func Fetch(ctx context.Context, url string) (*pack.Fetched, error) {
	abort := js.Global().Get("AbortController").New()
	stop := context.AfterFunc(ctx, func() { abort.Call("abort") })
	resp, err := jsutil.Await(ctx, js.Global().Call("fetch", url, map[string]any{"signal": abort.Get("signal")}))
	if err != nil {
		stop()
		return nil, fmt.Errorf("fetch %s: %w", url, err)
	}
	if !resp.Get("ok").Bool() {
		stop()
		return nil, fmt.Errorf("fetch %s: %d %s", url, resp.Get("status").Int(), resp.Get("statusText").String())
	}
	f := &pack.Fetched{Size: -1, MIME: resp.Get("headers").Call("get", "content-type").String()}
	if n := resp.Get("headers").Call("get", "content-length"); n.Type() == js.TypeString {
		if v, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
			f.Size = v
		}
	}
	if resp.Get("headers").Call("get", "content-type").IsNull() {
		f.MIME = ""
	}
	f.Body = &streamReader{ctx: ctx, r: resp.Get("body").Call("getReader"), stop: stop}
	return f, nil
}

// streamReader reads a ReadableStream of Uint8Arrays.
type streamReader struct {
	ctx  context.Context
	r    js.Value
	buf  []byte
	done bool
	stop func() bool
}

func (s *streamReader) Read(p []byte) (int, error) {
	for len(s.buf) == 0 {
		if s.done {
			return 0, io.EOF
		}
		res, err := jsutil.Await(s.ctx, s.r.Call("read"))
		if err != nil {
			return 0, err
		}
		if res.Get("done").Bool() {
			s.done = true
			continue
		}
		s.buf, err = jsutil.Bytes(res.Get("value"))
		if err != nil {
			return 0, err
		}
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

func (s *streamReader) Close() error {
	s.stop()
	_ = jsutil.Try(func() { s.r.Call("cancel") })
	return nil
}
