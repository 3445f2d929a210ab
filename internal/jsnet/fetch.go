//go:build js && wasm

package jsnet

import (
	"context"
	"fmt"
	"io"
	"syscall/js"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/jsutil"
)

var (
	jsObject          = js.Global().Get("Object")
	jsAbortController = js.Global().Get("AbortController")
)

// Request is what Fetch sends.
type Request struct {
	Method string // "GET" if empty
	URL    string
	Header map[string]string
	// The body: Blob if set (the browser reads it; its bytes never pass
	// through Go), else Body if not empty.
	Body string
	Blob *fsx.Blob
}

// Response is an answer whose headers have arrived. Read its body once,
// with Text, Blob or Body, then Close it.
type Response struct {
	Status     int    // the HTTP status
	StatusText string // its reason phrase, "" over HTTP/2
	v          js.Value
	ctx        context.Context
	abort      func()      // aborts the request
	stop       func() bool // stops ctx from aborting it
}

// Fetch sends req with fetch and returns once the answer's headers have
// arrived, whatever its status. Until the Response is closed, ending ctx
// aborts the request, and reading the body then fails. Fetch fails with
// ctx.Err() when ctx ends first, with the browser's rejection (a TypeError)
// when no answer comes, and with an error matching errs.ErrUnsupported
// where fetch is missing.
func Fetch(ctx context.Context, req Request) (*Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fetch := js.Global().Get("fetch")
	if fetch.Type() != js.TypeFunction || jsAbortController.Type() != js.TypeFunction {
		return nil, fmt.Errorf("fetch: %w", errs.ErrUnsupported)
	}
	init := jsObject.New()
	method := req.Method
	if method == "" {
		method = "GET"
	}
	init.Set("method", method)
	if len(req.Header) > 0 {
		h := jsObject.New()
		for k, v := range req.Header {
			h.Set(k, v)
		}
		init.Set("headers", h)
	}
	switch {
	case req.Blob != nil:
		init.Set("body", req.Blob.JSValue())
	case req.Body != "":
		init.Set("body", req.Body)
	}
	ctl := jsAbortController.New()
	init.Set("signal", ctl.Get("signal"))
	r := &Response{ctx: ctx, abort: func() { _ = jsutil.Try(func() { ctl.Call("abort") }) }}
	r.stop = context.AfterFunc(ctx, r.abort)
	var p js.Value
	if err := jsutil.Try(func() { p = fetch.Invoke(req.URL, init) }); err != nil {
		r.Close()
		return nil, err
	}
	v, err := jsutil.Await(ctx, p)
	if err != nil {
		r.Close()
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, err
	}
	r.v, r.Status, r.StatusText = v, v.Get("status").Int(), v.Get("statusText").String()
	return r, nil
}

// OK reports whether the status is 2xx.
func (r *Response) OK() bool { return r.Status >= 200 && r.Status <= 299 }

// Header returns the value of the header name, and whether the answer has
// it.
func (r *Response) Header(name string) (string, bool) {
	var v js.Value
	if err := jsutil.Try(func() { v = r.v.Get("headers").Call("get", name) }); err != nil || v.Type() != js.TypeString {
		return "", false
	}
	return v.String(), true
}

// Text reads the whole body as UTF-8 text. It fails with ctx.Err() once
// ctx ends, and with the browser's error if the body breaks off.
func (r *Response) Text(ctx context.Context) (string, error) {
	v, err := r.read(ctx, "text")
	if err != nil {
		return "", err
	}
	return v.String(), nil
}

// Blob reads the whole body into a Blob, which the browser keeps (on disk
// if it is large): it does not pass through Go. It fails like Text.
func (r *Response) Blob(ctx context.Context) (*fsx.Blob, error) {
	v, err := r.read(ctx, "blob")
	if err != nil {
		return nil, err
	}
	return fsx.WrapBlob(v)
}

func (r *Response) read(ctx context.Context, method string) (js.Value, error) {
	var p js.Value
	if err := jsutil.Try(func() { p = r.v.Call(method) }); err != nil {
		return js.Undefined(), err
	}
	v, err := jsutil.Await(ctx, p)
	if err != nil && ctx.Err() != nil {
		return js.Undefined(), ctx.Err()
	}
	return v, err
}

// Close stops ctx from aborting the request, or aborts it if ctx has
// ended. Call it once the body is read (or not wanted); Body's reader
// closes the Response itself.
func (r *Response) Close() {
	r.stop()
	if r.ctx.Err() != nil {
		// The watch on ctx may not have run yet, and now never will.
		r.abort()
	}
}

// Body returns a reader of the body as it arrives, a chunk at a time. Its
// reads fail with ctx.Err() once ctx ends; closing it cancels the rest of
// the body and closes the Response.
func (r *Response) Body(ctx context.Context) io.ReadCloser {
	s := &bodyReader{ctx: ctx, resp: r}
	b := r.v.Get("body")
	if b.IsNull() || b.IsUndefined() {
		s.done = true // no body (204, HEAD)
		return s
	}
	if err := jsutil.Try(func() { s.rd = b.Call("getReader") }); err != nil {
		s.err = err
	}
	return s
}

// bodyReader reads a ReadableStream of Uint8Arrays.
type bodyReader struct {
	ctx  context.Context
	resp *Response
	rd   js.Value // ReadableStreamDefaultReader; undefined without a body
	buf  []byte
	done bool
	err  error
}

func (s *bodyReader) Read(p []byte) (int, error) {
	for len(s.buf) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		if s.done {
			return 0, io.EOF
		}
		var p js.Value
		if err := jsutil.Try(func() { p = s.rd.Call("read") }); err != nil {
			return 0, err
		}
		res, err := jsutil.Await(s.ctx, p)
		if err != nil {
			return 0, err
		}
		if res.Get("done").Bool() {
			s.done = true
			continue
		}
		if s.buf, err = jsutil.Bytes(res.Get("value")); err != nil {
			return 0, err
		}
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

func (s *bodyReader) Close() error {
	s.resp.Close()
	if s.rd.Truthy() && !s.done {
		_ = jsutil.Try(func() { s.rd.Call("cancel") })
	}
	s.done, s.buf = true, nil
	return nil
}
