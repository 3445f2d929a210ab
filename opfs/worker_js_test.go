//go:build js && wasm

// Tests and benchmarks of the store when the Go program itself runs in a
// dedicated worker, where sync access handles exist. The test binary
// starts a copy of itself in a worker (TestDedicatedWorker,
// BenchmarkDedicatedWorker); the copy runs the *InWorker tests, which skip
// anywhere else.

package opfs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path"
	"strings"
	"syscall/js"
	"testing"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/assetref/storetest"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/fsx"
)

// workerEnv is set in the environment of the copy running in the worker.
const workerEnv = "ATELIER_OPFS_IN_WORKER"

// runnerScript loads wasm_exec.js and the test binary in a worker, runs it
// with the given arguments and posts its output back line by line.
const runnerScript = `onmessage = async (e) => {
  const { execURL, wasmURL, argv, env } = e.data;
  importScripts(execURL);
  const decoder = new TextDecoder();
  let pending = "";
  globalThis.fs.writeSync = (fd, b) => {
    pending += decoder.decode(b);
    const nl = pending.lastIndexOf("\n");
    if (nl >= 0) { postMessage({ out: pending.slice(0, nl + 1) }); pending = pending.slice(nl + 1); }
    return b.length;
  };
  const go = new Go();
  go.argv = argv;
  go.env = env;
  let code = 0;
  go.exit = (c) => { code = c; };
  try {
    const { instance } = await WebAssembly.instantiateStreaming(fetch(wasmURL), go.importObject);
    await go.run(instance);
  } catch (err) {
    pending += "worker: " + err + "\n";
    code = 1;
  }
  postMessage({ out: pending, exit: code });
};`

// runInWorker runs this test binary in a dedicated worker with the given
// test flags and returns its output and exit code.
func runInWorker(t testing.TB, flags ...string) (string, int) {
	t.Helper()
	origin := js.Global().Get("location").Get("origin").String()
	src := js.Global().Get("Blob").New([]any{runnerScript}, map[string]any{"type": "text/javascript"})
	url := js.Global().Get("URL").Call("createObjectURL", src)
	defer js.Global().Get("URL").Call("revokeObjectURL", url)
	w := js.Global().Get("Worker").New(url)
	defer w.Call("terminate")

	var out strings.Builder
	exit := make(chan int, 1)
	onMsg := js.FuncOf(func(_ js.Value, args []js.Value) any {
		d := args[0].Get("data")
		out.WriteString(d.Get("out").String())
		if code := d.Get("exit"); code.Type() == js.TypeNumber {
			exit <- code.Int()
		}
		return nil
	})
	defer onMsg.Release()
	onErr := js.FuncOf(func(_ js.Value, args []js.Value) any {
		out.WriteString("worker error: " + args[0].Get("message").String() + "\n")
		exit <- 2
		return nil
	})
	defer onErr.Release()
	w.Set("onmessage", onMsg)
	w.Set("onerror", onErr)

	argv := []any{"opfs.test"}
	for _, f := range flags {
		argv = append(argv, f)
	}
	w.Call("postMessage", map[string]any{
		"execURL": origin + "/wasm_exec.js",
		"wasmURL": origin + "/" + path.Base(os.Args[0]),
		"argv":    argv,
		"env":     map[string]any{workerEnv: "1"},
	})
	// No timeout of its own: the test binary's -test.timeout applies.
	code := <-exit
	return out.String(), code
}

func inWorker() bool { return os.Getenv(workerEnv) != "" }

// TestDedicatedWorker runs the *InWorker tests in a dedicated worker and
// fails if any fails, or if none ran.
func TestDedicatedWorker(t *testing.T) {
	if inWorker() {
		t.Skip("already in the worker")
	}
	out, code := runInWorker(t, "-test.run=InWorker", "-test.v", "-test.timeout=4m")
	for line := range strings.Lines(out) {
		t.Log(strings.TrimRight(line, "\n"))
	}
	if code != 0 {
		t.Fatalf("the tests in the worker failed (exit code %d)", code)
	}
	for _, name := range []string{"TestConformanceInWorker", "TestFailedPutsInWorker", "TestQuotaExceededInWorker", "Test64MiBInWorker", "TestPeakHeapInWorker", "TestReadHandlesInWorker"} {
		if !strings.Contains(out, "--- PASS: "+name+" ") {
			t.Errorf("%s did not pass in the worker", name)
		}
	}
}

func skipOutsideWorker(t testing.TB) {
	if !inWorker() {
		t.Skip("runs in a dedicated worker, started by TestDedicatedWorker")
	}
	if !fsx.InDedicatedWorker() || !fsx.SyncAccessSupported() {
		t.Fatal("the worker has no sync access handles")
	}
}

func TestConformanceInWorker(t *testing.T) {
	skipOutsideWorker(t)
	storetest.Run(t, func(t *testing.T) assetref.Store {
		s := openOPFS(t, Options{})
		if s.WriteMode() != WriteSyncHandle {
			t.Fatalf("WriteAuto in a worker chose %s", s.WriteMode())
		}
		return s
	})
}

func TestFailedPutsInWorker(t *testing.T) {
	skipOutsideWorker(t)
	s := openOPFS(t, Options{})
	r := newStream(5<<20, 1)
	r.failAt = 3<<20 + 7
	if _, err := s.Put(t.Context(), r, assetref.Hint{}); !errors.Is(err, errStreamFailed) {
		t.Fatalf("Put from a reader failing midway = %v", err)
	}
	wantLayout(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	if _, err := s.Put(ctx, &cancelAt{r: newStream(5<<20, 2), at: 2 << 20, cancel: cancel}, assetref.Hint{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put cancelled midway = %v", err)
	}
	wantLayout(t, s)
}

func TestQuotaExceededInWorker(t *testing.T) {
	skipOutsideWorker(t)
	s := openOPFS(t, Options{})
	write := js.Global().Get("FileSystemSyncAccessHandle").Get("prototype").Get("write")
	patch(t, "FileSystemSyncAccessHandle", "write", eval(`const [original] = arguments; let calls = 0;
		return function (...args) {
			if (++calls > 2) throw new DOMException("synthetic: out of quota", "QuotaExceededError");
			return original.apply(this, args);
		}`, write))
	_, err := s.Put(t.Context(), newStream(5<<20, 3), assetref.Hint{})
	if !errors.Is(err, errs.ErrQuotaExceeded) {
		t.Fatalf("Put = %v, want an error matching ErrQuotaExceeded", err)
	}
	wantLayout(t, s)
}

func Test64MiBInWorker(t *testing.T) {
	skipOutsideWorker(t)
	ctx := t.Context()
	s := openOPFS(t, Options{})
	const size = 64 << 20
	ref, err := s.Put(ctx, newStream(size, 6), assetref.Hint{MIME: "video/webm"})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := s.Open(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, want := make([]byte, 1<<20), make([]byte, 1<<20)
	src := newStream(size, 6)
	var h assetref.Hasher
	for {
		n, err := rc.Read(got)
		src.Read(want[:n])
		if !bytes.Equal(got[:n], want[:n]) {
			t.Fatalf("content differs at %d", h.Size())
		}
		h.Write(got[:n])
		if err != nil {
			break
		}
	}
	if h.Size() != size || h.Sum() != ref.Hash {
		t.Fatalf("read back %d bytes hashing to %s, want %d and %s", h.Size(), h.Sum(), size, ref.Hash)
	}
}

// TestReadHandlesInWorker: in a worker, sequential reads go through
// read-only sync access handles, a fill at a time, and give the content
// however they are cut; a Delete waits while a handle holds the file, and
// reads fail with ErrNotFound afterwards.
func TestReadHandlesInWorker(t *testing.T) {
	skipOutsideWorker(t)
	ctx := t.Context()
	s := openOPFS(t, Options{})
	const size = 2*readFill + 12345
	want, err := io.ReadAll(newStream(size, 9))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := s.Put(ctx, bytes.NewReader(want), assetref.Hint{MIME: "video/webm"})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := s.Open(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	r := rc.(*reader)
	if r.f == nil {
		t.Fatal("the reader does not use read-only handles")
	}
	got := make([]byte, 0, size)
	buf := make([]byte, 100<<10+3)
	for {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, want) || r.f == nil {
		t.Fatalf("read %d bytes, equal %v; handles still used: %v", len(got), bytes.Equal(got, want), r.f != nil)
	}
	if _, err := r.Seek(readFill-10, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	part := make([]byte, 20)
	if _, err := io.ReadFull(r, part); err != nil || !bytes.Equal(part, want[readFill-10:readFill+10]) {
		t.Fatalf("read across fills after Seek: %v", err)
	}

	// A handle held elsewhere makes Delete wait until it is closed.
	_, f, _, err := s.resolveFile(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	h, err := f.OpenReadOnly(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Delete(ctx, ref) }()
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Delete returned while a handle held the file: %v", err)
	default:
	}
	h.Close()
	if err := <-done; err != nil {
		t.Fatalf("Delete after the handle closed: %v", err)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(buf); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("read after Delete = %v, want ErrNotFound", err)
	}
}
