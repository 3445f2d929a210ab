//go:build js && wasm

package fsx

import (
	"context"
	"fmt"
	"sync"
	"syscall/js"
	"time"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/jsbridge"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// helperScript is the Helper worker's source for a blob: URL: the bridge
// (helper in internal/jsbridge/bridge.js), which installs the handler in
// a worker named atelier-fsx-helper, and a call that installs it in any
// other worker.
var helperScript = jsbridge.Source + "\nglobalThis.__atelierBridge.helper(globalThis);\n"

// helperStartTimeout bounds how long StartHelper waits for the worker to
// answer, in case the browser neither runs it nor reports an error.
const helperStartTimeout = 10 * time.Second

// helperDepth is the number of chunks a HelperWriter keeps in flight, and
// so the number of transfer buffers it cycles through.
const helperDepth = 3

// newWorker starts a dedicated worker from a URL. Tests replace it.
var newWorker = func(url string) (js.Value, error) {
	ctor := js.Global().Get("Worker")
	if ctor.Type() != js.TypeFunction {
		return js.Value{}, unsupported("Worker")
	}
	var w js.Value
	err := jsutil.Try(func() { w = ctor.New(url, object("name", "atelier-fsx-helper")) })
	return w, err
}

// Helper is a dedicated worker that writes files with sync access handles
// on behalf of a thread that cannot create them (the page's main thread).
// Data crosses to it by postMessage with transfer: Go copies each chunk
// once, into a JavaScript buffer, and the buffer itself moves to the worker
// and back without further copies. A Helper is safe for concurrent use and
// serves any number of HelperWriters.
type Helper struct {
	w           js.Value
	onMsg, onEr js.Func

	mu    sync.Mutex
	seq   int
	calls map[int]chan result
	err   error // why the helper stopped working; nil while it works
}

// StartHelper starts the helper worker and waits until it answers. The
// worker runs the bridge file (jsbridge.URL) where the page loaded it, so a
// Content-Security-Policy needs only worker-src 'self'; where that URL is
// unknown, or the worker fails from it, it starts from a Blob URL instead.
// StartHelper fails with an error matching errs.ErrUnsupported when the
// worker cannot run: no Worker or Blob URLs, a Content-Security-Policy
// whose worker-src forbids the URL (Chromium then reports an error event
// instead of throwing), or no sync access handles in workers. It returns
// ctx.Err() if ctx ends first.
func StartHelper(ctx context.Context) (*Helper, error) {
	if file := jsbridge.URL(); file != "" {
		h, err := startHelperFrom(ctx, file)
		if err == nil || ctx.Err() != nil {
			return h, err
		}
	}
	url, err := scriptURL(helperScript)
	if err != nil {
		return nil, fmt.Errorf("fsx: helper worker: %w", err)
	}
	defer js.Global().Get("URL").Call("revokeObjectURL", url)
	return startHelperFrom(ctx, url)
}

// startHelperFrom starts the helper worker from url and waits until it answers.
func startHelperFrom(ctx context.Context, url string) (*Helper, error) {
	w, err := newWorker(url)
	if err != nil {
		return nil, fmt.Errorf("fsx: helper worker: %w: %w", errs.ErrUnsupported, err)
	}
	h := &Helper{w: w, calls: map[int]chan result{}}
	h.onMsg = js.FuncOf(h.message)
	h.onEr = js.FuncOf(h.failure)
	w.Call("addEventListener", "message", h.onMsg)
	w.Call("addEventListener", "messageerror", h.onEr)
	w.Call("addEventListener", "error", h.onEr)

	pctx, cancel := context.WithTimeout(ctx, helperStartTimeout)
	defer cancel()
	_, err = h.call(pctx, object("op", "ping"), js.Undefined())
	if err != nil {
		h.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("fsx: helper worker: %w: %w", errs.ErrUnsupported, err)
	}
	return h, nil
}

// scriptURL returns a blob: URL of a JavaScript source.
func scriptURL(src string) (string, error) {
	blobCtor, urlCtor := js.Global().Get("Blob"), js.Global().Get("URL")
	if blobCtor.Type() != js.TypeFunction || urlCtor.Get("createObjectURL").Type() != js.TypeFunction {
		return "", unsupported("Blob URLs")
	}
	var url string
	err := jsutil.Try(func() {
		b := blobCtor.New([]any{src}, object("type", "text/javascript"))
		url = urlCtor.Call("createObjectURL", b).String()
	})
	return url, err
}

func (h *Helper) message(_ js.Value, args []js.Value) any {
	data := args[0].Get("data")
	if data.Type() != js.TypeObject || data.Get("id").Type() != js.TypeNumber {
		return nil
	}
	id := data.Get("id").Int()
	h.mu.Lock()
	ch := h.calls[id]
	delete(h.calls, id)
	h.mu.Unlock()
	if ch == nil {
		return nil
	}
	if e := data.Get("error"); e.Truthy() {
		ch <- result{v: data, err: jsutil.ToError(e)}
	} else {
		ch <- result{v: data}
	}
	return nil
}

// failure handles the worker's error events: a script that did not load
// (CSP), an exception escaping the script, a message that could not be
// deserialized. The helper is unusable afterwards.
func (h *Helper) failure(_ js.Value, args []js.Value) any {
	msg := "the worker failed"
	if ev := arg0(args); ev.Type() == js.TypeObject {
		if m := ev.Get("message"); m.Type() == js.TypeString && m.String() != "" {
			msg = m.String()
		}
		if ev.Get("type").String() == "messageerror" {
			msg = "a message could not be deserialized"
		}
		ev.Call("preventDefault")
	}
	h.stop(&jsutil.Error{Name: "WorkerError", Message: msg})
	return nil
}

// stop marks the helper unusable and fails every call in flight.
func (h *Helper) stop(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return
	}
	h.err = err
	for id, ch := range h.calls {
		ch <- result{err: err}
		delete(h.calls, id)
	}
}

// Err returns why the helper stopped working (the worker failed, or Close
// was called), or nil while it works.
func (h *Helper) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// helperStopTimeout bounds how long Close waits for the worker to release
// its files before terminating it.
const helperStopTimeout = 5 * time.Second

// Close asks the worker to release the files it holds open, waits for it
// to finish the chunks posted before (a few milliseconds, at most
// helperStopTimeout), and terminates it. Files are released by then;
// terminating a worker alone would leave them locked for a while. Calls in
// flight and later ones fail with an error matching errs.ErrClosed.
// Closing twice is harmless.
func (h *Helper) Close() error {
	if h.Err() == nil {
		ctx, cancel := context.WithTimeout(context.Background(), helperStopTimeout)
		_, _ = h.call(ctx, object("op", "shutdown"), js.Undefined())
		cancel()
	}
	h.stop(fmt.Errorf("fsx: helper worker: %w", errs.ErrClosed))
	h.mu.Lock()
	w := h.w
	h.w = js.Undefined()
	h.mu.Unlock()
	if !w.IsUndefined() {
		w.Call("removeEventListener", "message", h.onMsg)
		w.Call("removeEventListener", "messageerror", h.onEr)
		w.Call("removeEventListener", "error", h.onEr)
		w.Call("terminate")
		h.onMsg.Release()
		h.onEr.Release()
	}
	return nil
}

// send posts msg, transferring the objects in transfer (an array, or
// undefined for none), and returns the channel its reply arrives on.
func (h *Helper) send(msg, transfer js.Value) (chan result, error) {
	h.mu.Lock()
	if h.err != nil {
		err := h.err
		h.mu.Unlock()
		return nil, err
	}
	h.seq++
	id := h.seq
	ch := make(chan result, 1)
	h.calls[id] = ch
	w := h.w
	h.mu.Unlock()
	msg.Set("id", id)
	err := jsutil.Try(func() {
		if transfer.IsUndefined() {
			w.Call("postMessage", msg)
		} else {
			w.Call("postMessage", msg, transfer)
		}
	})
	if err != nil {
		h.mu.Lock()
		delete(h.calls, id)
		h.mu.Unlock()
		return nil, err
	}
	return ch, nil
}

// call sends msg and waits for its reply.
func (h *Helper) call(ctx context.Context, msg, transfer js.Value) (js.Value, error) {
	ch, err := h.send(msg, transfer)
	if err != nil {
		return js.Undefined(), err
	}
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		return js.Undefined(), ctx.Err()
	}
}

func (h *Helper) nextID() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	return h.seq
}

// HelperWriter is the Writer of one file through a Helper. The worker
// writes straight into the file (there is no swap file): Abort only
// releases the file, and the caller removes it. It is not safe for
// concurrent use.
type HelperWriter struct {
	h        *Helper
	name     string
	fid      int
	off      int64
	free     []js.Value // ArrayBuffers back from the worker
	inflight []chan result
	err      error
	done     bool
}

// Create opens f in the worker with a sync access handle and empties it.
// It waits for the worker's answer even if ctx ends, so that no handle is
// left open behind the caller's back, and then returns ctx.Err(). It fails
// with a NoModificationAllowedError if f is open elsewhere, and with the
// helper's error once it stopped working.
func (h *Helper) Create(ctx context.Context, f *File) (*HelperWriter, error) {
	fid := h.nextID()
	w := &HelperWriter{h: h, name: f.name, fid: fid}
	if _, err := h.call(context.WithoutCancel(ctx), object("op", "open", "fid", fid, "file", f.v), js.Undefined()); err != nil {
		return nil, fmt.Errorf("fsx: open %q in the helper worker: %w", f.name, err)
	}
	if err := ctx.Err(); err != nil {
		w.Abort(context.WithoutCancel(ctx))
		return nil, err
	}
	return w, nil
}

// Write copies p into a transfer buffer and posts it to the worker. It
// waits only while three chunks are in flight.
func (w *HelperWriter) Write(ctx context.Context, p []byte) error {
	switch {
	case w.done:
		return errDone
	case w.err != nil:
		return w.err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(p) == 0 {
		return nil
	}
	for len(w.inflight) >= helperDepth {
		if err := w.waitOldest(ctx); err != nil {
			return err
		}
	}
	var buf js.Value
	for i, b := range w.free {
		if b.Get("byteLength").Int() >= len(p) {
			buf = b
			w.free = append(w.free[:i], w.free[i+1:]...)
			break
		}
	}
	if buf.IsUndefined() {
		buf = js.Global().Get("ArrayBuffer").New(len(p))
	}
	js.CopyBytesToJS(jsUint8Array.New(buf, 0, len(p)), p)
	ch, err := w.h.send(object("op", "write", "fid", w.fid, "buf", buf, "n", len(p), "at", w.off),
		jsArray.Call("of", buf))
	if err != nil {
		w.err = fmt.Errorf("fsx: write %q: %w", w.name, err)
		return w.err
	}
	w.off += int64(len(p))
	w.inflight = append(w.inflight, ch)
	return nil
}

func (w *HelperWriter) waitOldest(ctx context.Context) error {
	select {
	case r := <-w.inflight[0]:
		w.inflight = w.inflight[1:]
		if r.err != nil {
			w.err = fmt.Errorf("fsx: write %q: %w", w.name, r.err)
			return w.err
		}
		if b := r.v.Get("buf"); b.Truthy() && len(w.free) < helperDepth {
			w.free = append(w.free, b)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close waits for the chunks in flight, then releases the
// file in the worker. It fails with the first failed write's error (a
// QuotaExceededError matches errs.ErrQuotaExceeded); call Abort then.
func (w *HelperWriter) Close(ctx context.Context) error {
	switch {
	case w.done:
		return errDone
	case w.err != nil:
		return w.err
	}
	for len(w.inflight) > 0 {
		if err := w.waitOldest(ctx); err != nil {
			return err
		}
	}
	v, err := w.h.call(ctx, object("op", "close", "fid", w.fid), js.Undefined())
	if err != nil {
		w.err = fmt.Errorf("fsx: close %q: %w", w.name, err)
		return w.err
	}
	w.done, w.free = true, nil
	if size := int64(v.Get("size").Float()); size != w.off {
		return fmt.Errorf("fsx: close %q: the file holds %d bytes, %d were written", w.name, size, w.off)
	}
	return nil
}

// Abort releases the file in the worker once the chunks posted before it
// are handled. It is a no-op after Close or Abort, and returns nil if the
// helper stopped (the browser released its files then).
func (w *HelperWriter) Abort(ctx context.Context) error {
	if w.done {
		return nil
	}
	w.done, w.free, w.inflight = true, nil, nil
	_, err := w.h.call(ctx, object("op", "abort", "fid", w.fid), js.Undefined())
	if err != nil && ctx.Err() == nil && w.h.Err() != nil {
		return nil
	}
	return err
}
