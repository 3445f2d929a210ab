//go:build js && wasm

package fsx

import (
	"bytes"
	"context"
	"errors"
	"syscall/js"
	"testing"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/jsutil"
)

func startHelper(t *testing.T) *Helper {
	t.Helper()
	h, err := StartHelper(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// withWorkerFactory makes StartHelper use start instead of new Worker(url)
// for the rest of the test.
func withWorkerFactory(t *testing.T, start func(url string) (js.Value, error)) {
	old := newWorker
	newWorker = start
	t.Cleanup(func() { newWorker = old })
}

func TestHelperWrites(t *testing.T) {
	ctx := t.Context()
	h := startHelper(t)
	d := testDir(t)
	f := writeFile(t, d, "f", []byte("old content that is longer than the new"))
	w, err := h.Create(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	for i := range 10 {
		chunk := bytes.Repeat([]byte{byte(i)}, 100_000-i*1000)
		want = append(want, chunk...)
		if err := w.Write(ctx, chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, f); !bytes.Equal(got, want) {
		t.Fatalf("read back %d bytes that differ from the %d written", len(got), len(want))
	}
	if err := w.Write(ctx, []byte("x")); err == nil {
		t.Fatal("Write after Close succeeded")
	}
	// Close released the file.
	if err := d.Remove(ctx, "f", false); err != nil {
		t.Fatal(err)
	}
}

func TestHelperConcurrentFiles(t *testing.T) {
	ctx := t.Context()
	h := startHelper(t)
	d := testDir(t)
	const n = 4
	errs := make(chan error, n)
	files := make([]*File, n)
	for i := range files {
		files[i] = writeFile(t, d, string(rune('a'+i)), nil)
		go func() {
			w, err := h.Create(ctx, files[i])
			if err == nil {
				for j := range 20 {
					if err = w.Write(ctx, bytes.Repeat([]byte{byte(i)}, 1000+j)); err != nil {
						break
					}
				}
			}
			if err == nil {
				err = w.Close(ctx)
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for i, f := range files {
		got := readFile(t, f)
		if len(got) != 20*1000+190 || bytes.Count(got, []byte{byte(i)}) != len(got) {
			t.Fatalf("file %d: %d bytes, not all %d", i, len(got), i)
		}
	}
}

func TestHelperAbortReleasesFile(t *testing.T) {
	ctx := t.Context()
	h := startHelper(t)
	d := testDir(t)
	f := writeFile(t, d, "f", nil)
	w, err := h.Create(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, make([]byte, 5000)); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(ctx, "f", false); !errors.Is(err, jsutil.Named("NoModificationAllowedError")) {
		t.Fatalf("Remove while the worker holds the file: %v", err)
	}
	if _, err := h.Create(ctx, f); !errors.Is(err, jsutil.Named("NoModificationAllowedError")) {
		t.Fatalf("a second Create of a held file: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := w.Write(cctx, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Write with a cancelled context: %v", err)
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(ctx, "f", false); err != nil {
		t.Fatalf("Remove after Abort: %v", err)
	}
}

func TestHelperQuotaExceeded(t *testing.T) {
	ctx := t.Context()
	// The same worker, with writes failing after two chunks as they do on
	// a full disk.
	withWorkerFactory(t, func(string) (js.Value, error) {
		src := `{ const write = FileSystemSyncAccessHandle.prototype.write; let calls = 0;
			FileSystemSyncAccessHandle.prototype.write = function (...a) {
				if (++calls > 2) throw new DOMException("synthetic: out of quota", "QuotaExceededError");
				return write.apply(this, a);
			}; }
			` + helperScript
		url, err := scriptURL(src)
		if err != nil {
			return js.Value{}, err
		}
		return js.Global().Get("Worker").New(url), nil
	})
	h := startHelper(t)
	d := testDir(t)
	f := writeFile(t, d, "f", nil)
	w, err := h.Create(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	for range 10 {
		if werr = w.Write(ctx, make([]byte, 1000)); werr != nil {
			break
		}
	}
	if werr == nil {
		werr = w.Close(ctx)
	}
	if !errors.Is(werr, errs.ErrQuotaExceeded) {
		t.Fatalf("error after the quota ran out = %v, want one matching ErrQuotaExceeded", werr)
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(ctx, "f", false); err != nil {
		t.Fatalf("Remove after Abort: %v", err)
	}
	if h.Err() != nil {
		t.Fatalf("a failed write stopped the helper: %v", h.Err())
	}
}

// TestHelperBlockedByCSP starts the worker from a document whose
// Content-Security-Policy forbids workers, as a strict page would.
func TestHelperBlockedByCSP(t *testing.T) {
	frame := await(t, `const f = document.createElement("iframe");
		f.srcdoc = '<meta http-equiv="Content-Security-Policy" content="worker-src \'none\'">';
		document.body.append(f);
		return new Promise(res => f.onload = () => res(f));`)
	t.Cleanup(func() { frame.Call("remove") })
	withWorkerFactory(t, func(url string) (js.Value, error) {
		return frame.Get("contentWindow").Get("Worker").New(url), nil
	})
	if _, err := StartHelper(t.Context()); !errors.Is(err, errs.ErrUnsupported) {
		t.Fatalf("StartHelper under worker-src 'none': %v, want one matching ErrUnsupported", err)
	}
	// And when the constructor itself throws.
	withWorkerFactory(t, func(string) (js.Value, error) {
		return js.Value{}, errors.New("SecurityError: synthetic")
	})
	if _, err := StartHelper(t.Context()); !errors.Is(err, errs.ErrUnsupported) {
		t.Fatalf("StartHelper with a throwing constructor: %v", err)
	}
}

func TestHelperClose(t *testing.T) {
	ctx := t.Context()
	h := startHelper(t)
	d := testDir(t)
	f := writeFile(t, d, "f", nil)
	w, err := h.Create(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	if err := h.Err(); !errors.Is(err, errs.ErrClosed) {
		t.Fatalf("Err after Close = %v", err)
	}
	if _, err := h.Create(ctx, f); !errors.Is(err, errs.ErrClosed) {
		t.Fatalf("Create after Close: %v", err)
	}
	if err := w.Write(ctx, []byte("x")); err != nil {
		// The write is posted to a terminated worker; the error shows
		// up here or in Close.
		if !errors.Is(err, errs.ErrClosed) {
			t.Fatalf("Write after Close: %v", err)
		}
	} else if err := w.Close(ctx); !errors.Is(err, errs.ErrClosed) {
		t.Fatalf("Close of a writer after the helper closed: %v", err)
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatalf("Abort after the helper closed: %v", err)
	}
	h.Close() // twice is harmless
}
