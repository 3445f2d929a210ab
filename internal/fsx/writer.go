//go:build js && wasm

package fsx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall/js"

	"github.com/atelierstore/atelier/internal/jsutil"
)

// Writer writes the new content of one file from its start, in order. The
// three implementations are Writable (createWritable, anywhere),
// SyncWriter (a sync access handle, in a dedicated worker) and HelperWriter
// (a sync access handle in a Helper worker, driven from the main thread).
//
// Write copies p before it returns, so the caller may reuse p at once; the
// browser may still be writing it, and an error of that write is returned
// by a later Write or by Close. After Close or Abort, or once a write
// failed, the Writer accepts nothing more; a call that returned ctx.Err()
// can be retried. Abort discards what was written as far as the
// implementation can (see each type) and releases the file; call it after
// any failure, before removing the file.
type Writer interface {
	Write(ctx context.Context, p []byte) error
	Close(ctx context.Context) error
	Abort(ctx context.Context) error
}

var (
	_ Writer = (*Writable)(nil)
	_ Writer = (*SyncWriter)(nil)
	_ Writer = (*HelperWriter)(nil)
)

// errDone is returned by writes after Close or Abort.
var errDone = errors.New("fsx: writer is closed")

// writeDepth is how many writes a Writable keeps in flight: one being
// written by the browser while Go prepares the next.
const writeDepth = 2

// Writable is a FileSystemWritableFileStream. The browser writes into a
// swap file and replaces the file with it on Close; Abort deletes the swap
// file and leaves the file as it was. Writable is not safe for concurrent
// use.
type Writable struct {
	v       js.Value
	name    string
	free    []js.Value // Uint8Arrays no write is using
	pending []pendingWrite
	err     error // sticky: the first failed write
	done    bool
}

type pendingWrite struct {
	f   *jsutil.Future
	arr js.Value
}

// Write copies p into a JavaScript buffer and starts writing it. It waits
// only while two earlier writes are still in flight. A rejected write (for
// instance QuotaExceededError, matching atelier.ErrQuotaExceeded) fails
// this or a later call.
func (w *Writable) Write(ctx context.Context, p []byte) error {
	if err := w.usable(); err != nil {
		return err
	}
	if len(p) == 0 {
		return nil
	}
	for len(w.pending) >= writeDepth {
		if err := w.waitOldest(ctx); err != nil {
			return err
		}
	}
	arr := w.buffer(len(p))
	view := arr
	if arr.Length() != len(p) {
		view = arr.Call("subarray", 0, len(p))
	}
	js.CopyBytesToJS(view, p)
	prom, err := callSync(w.v, "write", view)
	if err != nil {
		w.err = fmt.Errorf("fsx: write %q: %w", w.name, err)
		return w.err
	}
	w.pending = append(w.pending, pendingWrite{f: jsutil.Watch(prom), arr: arr})
	return nil
}

func (w *Writable) usable() error {
	if w.done {
		return errDone
	}
	return w.err
}

// buffer returns a free Uint8Array of at least n bytes, or a new one. The
// browser copies the data of a write before the write's promise resolves,
// so an array can be reused once its write settled.
func (w *Writable) buffer(n int) js.Value {
	for i, a := range w.free {
		if a.Length() >= n {
			w.free = append(w.free[:i], w.free[i+1:]...)
			return a
		}
	}
	return jsUint8Array.New(n)
}

func (w *Writable) waitOldest(ctx context.Context) error {
	pw := w.pending[0]
	_, err := pw.f.Wait(ctx)
	if !pw.f.Settled() {
		return err // ctx ended while the write is in flight: keep it queued
	}
	w.pending = w.pending[1:]
	if err != nil {
		w.err = fmt.Errorf("fsx: write %q: %w", w.name, err)
		return w.err
	}
	if len(w.free) < writeDepth {
		w.free = append(w.free, pw.arr)
	}
	return nil
}

// WriteBlob appends the content of b, a snapshot of another file. The
// browser copies it without passing the bytes through JavaScript or Go
// memory. It waits for the write.
func (w *Writable) WriteBlob(ctx context.Context, b *Blob) error {
	if err := w.usable(); err != nil {
		return err
	}
	for len(w.pending) > 0 {
		if err := w.waitOldest(ctx); err != nil {
			return err
		}
	}
	if _, err := callAsync(ctx, w.v, "write", b.v); err != nil {
		if ctx.Err() == nil {
			w.err = fmt.Errorf("fsx: write %q: %w", w.name, err)
		}
		return err
	}
	return nil
}

// Close waits for the writes in flight and commits the content: only now
// does the file change. It fails with the first failed write's error, or
// with close's rejection (QuotaExceededError when the swap file cannot be
// committed); call Abort then.
func (w *Writable) Close(ctx context.Context) error {
	if err := w.usable(); err != nil {
		return err
	}
	for len(w.pending) > 0 {
		if err := w.waitOldest(ctx); err != nil {
			return err
		}
	}
	if _, err := callAsync(ctx, w.v, "close"); err != nil {
		w.err = fmt.Errorf("fsx: close %q: %w", w.name, err)
		return w.err
	}
	w.done, w.free = true, nil
	return nil
}

// Abort discards everything written and leaves the file as it was before
// CreateWritable. It is a no-op after Close or Abort. It returns ctx.Err()
// if ctx ends first; the stream is aborted anyway.
func (w *Writable) Abort(ctx context.Context) error {
	if w.done {
		return nil
	}
	w.done, w.free, w.pending = true, nil, nil
	// abort() settles once the pending writes have failed and the swap file
	// is gone; on a stream that already errored it resolves at once.
	if _, err := callAsync(ctx, w.v, "abort"); err != nil && ctx.Err() != nil {
		return err
	}
	return nil
}

// SyncHandle is a FileSystemSyncAccessHandle: synchronous, unbuffered reads
// and writes at offsets, available only in dedicated workers. It holds an
// exclusive lock on its file until Close. It is not safe for concurrent
// use.
type SyncHandle struct {
	v       js.Value
	name    string
	scratch js.Value // reused Uint8Array for copies between Go and JS
}

func (h *SyncHandle) buffer(n int) js.Value {
	if h.scratch.IsUndefined() || h.scratch.Length() < n {
		h.scratch = jsUint8Array.New(n)
	}
	if h.scratch.Length() == n {
		return h.scratch
	}
	return h.scratch.Call("subarray", 0, n)
}

// WriteAt writes p at offset off, extending the file as needed. It returns
// len(p) or an error; a QuotaExceededError matches atelier.ErrQuotaExceeded.
func (h *SyncHandle) WriteAt(p []byte, off int64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	view := h.buffer(len(p))
	js.CopyBytesToJS(view, p)
	done := 0
	for done < len(p) {
		arg := view
		if done > 0 {
			arg = view.Call("subarray", done)
		}
		n, err := callSync(h.v, "write", arg, object("at", off+int64(done)))
		if err != nil {
			return done, fmt.Errorf("fsx: write %q: %w", h.name, err)
		}
		if n.Int() <= 0 {
			return done, fmt.Errorf("fsx: write %q: wrote nothing", h.name)
		}
		done += n.Int()
	}
	return done, nil
}

// ReadAt reads up to len(p) bytes at off. Like io.ReaderAt it returns
// io.EOF with n < len(p) at the end of the file.
func (h *SyncHandle) ReadAt(p []byte, off int64) (int, error) {
	size, err := h.Size()
	if err != nil {
		return 0, err
	}
	if off >= size {
		return 0, io.EOF
	}
	want := int(min(int64(len(p)), size-off))
	view := h.buffer(want)
	n, err := callSync(h.v, "read", view, object("at", off))
	if err != nil {
		return 0, fmt.Errorf("fsx: read %q: %w", h.name, err)
	}
	got := n.Int()
	if got > 0 {
		js.CopyBytesToGo(p[:got], view.Call("subarray", 0, got))
	}
	if got < len(p) {
		return got, io.EOF
	}
	return got, nil
}

// ReadInto reads up to dst.Len() bytes at off into dst without copying
// them into Go, and returns how many it read (0 at the end of the file).
func (h *SyncHandle) ReadInto(dst *Buffer, off int64) (int, error) {
	n, err := callSync(h.v, "read", dst.v, object("at", off))
	if err != nil {
		return 0, fmt.Errorf("fsx: read %q: %w", h.name, err)
	}
	return n.Int(), nil
}

// Size returns the file's current length.
func (h *SyncHandle) Size() (int64, error) {
	v, err := callSync(h.v, "getSize")
	if err != nil {
		return 0, fmt.Errorf("fsx: size of %q: %w", h.name, err)
	}
	return int64(v.Float()), nil
}

// Truncate sets the file's length to n.
func (h *SyncHandle) Truncate(n int64) error {
	if _, err := callSync(h.v, "truncate", n); err != nil {
		return fmt.Errorf("fsx: truncate %q: %w", h.name, err)
	}
	return nil
}

// Flush persists the writes made so far.
func (h *SyncHandle) Flush() error {
	if _, err := callSync(h.v, "flush"); err != nil {
		return fmt.Errorf("fsx: flush %q: %w", h.name, err)
	}
	return nil
}

// Close releases the handle and its lock. Closing twice is harmless.
func (h *SyncHandle) Close() error {
	h.scratch = js.Undefined()
	if _, err := callSync(h.v, "close"); err != nil {
		return fmt.Errorf("fsx: close %q: %w", h.name, err)
	}
	return nil
}

// Buffer is bytes in JavaScript memory: a SyncHandle reads into it
// (ReadInto) and Go copies out of it a piece at a time (CopyTo), so that
// reading ahead keeps no second copy in Go memory. It is not safe for
// concurrent use.
type Buffer struct{ v js.Value }

// NewBuffer returns a Buffer of n bytes.
func NewBuffer(n int) *Buffer { return &Buffer{v: jsUint8Array.New(n)} }

// Len returns the size of the buffer.
func (b *Buffer) Len() int { return b.v.Length() }

// CopyTo copies the bytes at off, as many as fit in dst and the buffer
// holds, into dst and returns how many it copied.
func (b *Buffer) CopyTo(dst []byte, off int) int {
	n := max(0, min(len(dst), b.Len()-off))
	if n > 0 {
		js.CopyBytesToGo(dst[:n], b.v.Call("subarray", off, off+n))
	}
	return n
}

// SyncWriter is the Writer over a SyncHandle, for Go code that runs in a
// dedicated worker. Writes go straight to the file (there is no swap file):
// Abort only releases the handle, and the caller removes the file.
type SyncWriter struct {
	h    *SyncHandle
	off  int64
	err  error
	done bool
}

// NewSyncWriter opens f with a sync access handle and empties it. It fails
// like CreateSyncAccessHandle.
func NewSyncWriter(ctx context.Context, f *File) (*SyncWriter, error) {
	h, err := f.CreateSyncAccessHandle(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.Truncate(0); err != nil {
		h.Close()
		return nil, err
	}
	return &SyncWriter{h: h}, nil
}

// Write writes p at the end of what was written so far. It blocks the
// worker for the duration of the write.
func (w *SyncWriter) Write(ctx context.Context, p []byte) error {
	switch {
	case w.done:
		return errDone
	case w.err != nil:
		return w.err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	n, err := w.h.WriteAt(p, w.off)
	w.off += int64(n)
	w.err = err
	return err
}

// Close releases the handle, without a flush (see SyncHandle.CopyBlob):
// the bytes are then where a closed createWritable stream leaves them.
func (w *SyncWriter) Close(ctx context.Context) error {
	switch {
	case w.done:
		return errDone
	case w.err != nil:
		return w.err
	}
	w.done = true
	return w.h.Close()
}

// Abort releases the handle. The bytes written stay in the file.
func (w *SyncWriter) Abort(ctx context.Context) error {
	if w.done {
		return nil
	}
	w.done = true
	return w.h.Close()
}
