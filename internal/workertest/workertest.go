//go:build js && wasm

// Package workertest runs a package's browser tests in a dedicated worker,
// where APIs the page's main thread lacks exist (sync access handles):
// the test binary, running on the page under wasmbrowsertest, starts a
// copy of itself in a worker and collects its output.
//
// A package's worker tests are named *InWorker and call Skip first, so
// that they run only in the copy; one test on the page calls Run with
// -test.run=InWorker and checks that each of them passed.
package workertest

import (
	"os"
	"path"
	"strings"
	"syscall/js"
	"testing"
)

// env is set in the environment of the copy running in the worker.
const env = "ATELIER_TEST_IN_WORKER"

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

// InWorker reports whether this test binary is the copy in the worker.
func InWorker() bool { return os.Getenv(env) != "" }

// Skip skips t unless it runs in the worker.
func Skip(t testing.TB) {
	t.Helper()
	if !InWorker() {
		t.Skip("runs in a dedicated worker, started from the page")
	}
}

// Run runs this test binary in a dedicated worker with the given test
// flags and returns its output and exit code. It has no timeout of its
// own: give one in flags (-test.timeout), or the page's applies.
func Run(t testing.TB, flags ...string) (string, int) {
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

	argv := []any{path.Base(os.Args[0])}
	for _, f := range flags {
		argv = append(argv, f)
	}
	w.Call("postMessage", map[string]any{
		"execURL": origin + "/wasm_exec.js",
		"wasmURL": origin + "/" + path.Base(os.Args[0]),
		"argv":    argv,
		"env":     map[string]any{env: "1"},
	})
	code := <-exit
	return out.String(), code
}

// RunAll runs the *InWorker tests in a worker, logs their output, and
// fails t if the run failed or if any test named in want did not pass
// (a test that skipped itself, saying why, counts as passed: what it
// tests does not exist in this browser).
func RunAll(t *testing.T, want ...string) {
	t.Helper()
	if InWorker() {
		t.Skip("already in the worker")
	}
	out, code := Run(t, "-test.run=InWorker", "-test.v", "-test.timeout=4m")
	for line := range strings.Lines(out) {
		t.Log(strings.TrimRight(line, "\n"))
	}
	if code != 0 {
		t.Fatalf("the tests in the worker failed (exit code %d)", code)
	}
	for _, name := range want {
		if !strings.Contains(out, "--- PASS: "+name+" ") && !strings.Contains(out, "--- SKIP: "+name+" ") {
			t.Errorf("%s did not pass in the worker", name)
		}
	}
}
