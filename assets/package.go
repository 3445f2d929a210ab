//go:build js && wasm

package assets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"syscall/js"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/jsutil"
	"github.com/atelierstore/atelier/pack"
)

// Export writes the workflow with the given id, and the assets it uses,
// as a package (.genaiw.zip) to w, streaming: one chunk of asset content
// is in Go memory at a time. opts may be nil; when it asks for originals
// and has no Fetch, the browser's fetch is used.
//
// When w is a *BlobWriter, media assets (stored in the package, not
// deflated) do not pass through Go at all: their stored files become parts
// of the package Blob, and only their CRC-32 is computed, in JavaScript.
// Their SHA-256 is the one recorded when they were stored (verified then);
// assets in a folder the user picked, which other programs can change, are
// hashed again (WebCrypto) to catch that.
func (l *Library) Export(ctx context.Context, w io.Writer, workflowID string, opts *pack.ExportOptions) (*pack.ExportResult, error) {
	g, err := l.db.LoadWorkflow(ctx, workflowID)
	if err != nil {
		return nil, err
	}
	o := pack.ExportOptions{}
	if opts != nil {
		o = *opts
	}
	if o.Fetch == nil {
		o.Fetch = Fetch
	}
	return pack.Export(ctx, w, &g, libSource{l}, &o)
}

// libSource reads assets for an export.
type libSource struct{ l *Library }

func (s libSource) Open(ctx context.Context, ref assetref.Ref) (io.ReadCloser, error) {
	return s.l.Open(ctx, ref)
}

func (s libSource) Stat(ctx context.Context, ref assetref.Ref) (assetref.Info, error) {
	return s.l.Stat(ctx, ref)
}

// Import reads a package from r (size bytes; in the browser a File read a
// slice at a time) and stores it: its assets in the library, then its
// workflow in one transaction. If anything fails, nothing of it remains.
// A workflow that already exists is imported as a new one with fresh ids
// unless opts.Replace. Bad packages fail with pack.ErrInvalidPackage.
func (l *Library) Import(ctx context.Context, r io.ReaderAt, size int64, opts *pack.ImportOptions) (graph.Graph, *pack.Result, error) {
	o := pack.ImportOptions{}
	if opts != nil {
		o = *opts
	}
	o.WorkflowExists = func(ctx context.Context, id string) (bool, error) {
		_, err := l.db.LoadWorkflow(ctx, id)
		if errors.Is(err, errs.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
	var stored graph.Graph
	res, err := pack.ImportAndCommit(ctx, r, size, libSink{l}, &o, func(ctx context.Context, res *pack.Result) error {
		g, err := l.db.PutGraph(ctx, &res.Graph)
		stored = g
		return err
	})
	return stored, res, err
}

// libSink stores an import's assets, telling pack which it created so that
// a failed import deletes those and never an asset that was there before.
type libSink struct{ l *Library }

func (s libSink) Put(ctx context.Context, r io.Reader, hint assetref.Hint) (assetref.Ref, bool, error) {
	st, err := s.l.newStore(ctx)
	if err != nil {
		return assetref.Ref{}, false, err
	}
	ref, err := st.Put(ctx, r, withID(hint))
	if err != nil {
		return assetref.Ref{}, false, err
	}
	return s.register(ctx, st, ref)
}

// register records an asset the import stored in st, as Library.register
// does, also reporting whether it was new (pack deletes those on failure).
func (s libSink) register(ctx context.Context, st assetref.Store, ref assetref.Ref) (assetref.Ref, bool, error) {
	return s.l.registerNew(ctx, st, ref)
}

func (s libSink) Delete(ctx context.Context, ref assetref.Ref) error { return s.l.Delete(ctx, ref) }

// FindHash lets an import skip writing assets the library already has.
func (s libSink) FindHash(ctx context.Context, hash string) (assetref.Ref, bool, error) {
	rec, err := s.l.db.Asset(ctx, hash)
	if errors.Is(err, errs.ErrNotFound) {
		return assetref.Ref{}, false, nil
	}
	return rec.Ref, err == nil, err
}

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
