package browsertest

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// modulePath is the module whose checkout the server serves.
const modulePath = "github.com/atelierstore/atelier"

// AppPath is the path of the page that Tab.Open loads: it imports
// /wasm/atelier.mjs, sets globalThis.atelier to the loaded API and, when the
// query has db=NAME, globalThis.db to atelier.open({name: NAME}).
const AppPath = "/browsertest/app.html"

// EditorPath is the path of the example editor, examples/editor in the
// checkout: the page the journey tests drive. Its files are served with
// EditorCSP, as examples/serve (make run) serves them.
const EditorPath = "/examples/editor/"

// EditorCSP is the Content-Security-Policy of the example editor: scripts
// from its own origin and WebAssembly, no eval, no inline script.
const EditorCSP = "script-src 'self' 'wasm-unsafe-eval'"

//go:embed app.html
var appHTML []byte

// artifacts is the wasm module, Go's wasm_exec.js and the library's
// bridge.js, built from one checkout.
type artifacts struct {
	wasm, execJS, bridgeJS []byte
	execModule             []byte // wasm_exec.js as the module wasm/engine.mjs imports
	took                   time.Duration
	err                    error
}

var (
	buildMu sync.Mutex
	builds  = map[string]*artifacts{} // by checkout root
)

// build compiles the checkout's ./wasm for js/wasm once per test process and
// keeps the result in memory, so no temporary files outlive the process.
func build(root string) *artifacts {
	buildMu.Lock()
	defer buildMu.Unlock()
	if a := builds[root]; a != nil {
		return a
	}
	a := &artifacts{}
	builds[root] = a
	start := time.Now()
	a.wasm, a.execJS, a.err = compile(root)
	if a.err == nil {
		a.bridgeJS, a.err = os.ReadFile(filepath.Join(root, "internal", "jsbridge", "bridge.js"))
	}
	if a.err == nil {
		a.execModule, a.err = execModule(root, a.execJS)
	}
	a.took = time.Since(start)
	return a
}

func compile(root string) (wasm, execJS []byte, err error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, nil, fmt.Errorf("building the wasm module needs the go command on PATH: %w", err)
	}
	dir, err := os.MkdirTemp("", "browsertest-wasm")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)

	out := filepath.Join(dir, "atelier.wasm")
	// The same flags as `make build`, so the tests load what ships.
	cmd := exec.Command(goBin, "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./wasm")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, nil, fmt.Errorf("GOOS=js GOARCH=wasm go build ./wasm in %s: %v\n%s", root, err, msg)
	}
	if wasm, err = os.ReadFile(out); err != nil {
		return nil, nil, err
	}

	goroot, err := exec.Command(goBin, "env", "GOROOT").Output()
	if err != nil {
		return nil, nil, fmt.Errorf("go env GOROOT: %w", err)
	}
	gr := strings.TrimSpace(string(goroot))
	for _, p := range []string{"lib/wasm/wasm_exec.js", "misc/wasm/wasm_exec.js"} { // Go 1.24+, older
		if execJS, err = os.ReadFile(filepath.Join(gr, p)); err == nil {
			return wasm, execJS, nil
		}
	}
	return nil, nil, fmt.Errorf("wasm_exec.js not found in GOROOT %s: %w", gr, err)
}

// execModule turns Go's wasm_exec.js into the ES module make build writes
// as build/wasm_exec.mjs, with the checkout's own command for it.
func execModule(root string, execJS []byte) ([]byte, error) {
	cmd := exec.Command("go", "run", "./internal/cmd/wasmexec", "-")
	cmd.Dir = root
	cmd.Stdin = bytes.NewReader(execJS)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go run ./internal/cmd/wasmexec in %s: %v\n%s", root, err, stderr.Bytes())
	}
	return out, nil
}

// findRoot returns the directory of the atelier checkout: the first
// directory, from the working directory up, whose go.mod declares modulePath.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if declares(filepath.Join(dir, "go.mod"), modulePath) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of module %s in the working directory or above it", modulePath)
		}
		dir = parent
	}
}

func declares(gomod, module string) bool {
	f, err := os.Open(gomod)
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if name, ok := strings.CutPrefix(strings.TrimSpace(s.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(name), `"`) == module
		}
	}
	return false
}

// newServer serves, on 127.0.0.1 (a secure context, so OPFS and the other
// secure-only APIs work):
//
//   - /build/atelier.wasm, /build/wasm_exec.js, /build/wasm_exec.mjs and
//     /build/atelier-bridge.js (what make build copies from
//     internal/jsbridge) from a, not from the
//     checkout's build directory, which may be stale or missing;
//   - AppPath, the page behind Tab.Open;
//   - everything else from the checkout at root, except paths with a
//     dot-segment (.git, .ci), and what is under EditorPath with EditorCSP;
//   - what the test adds with Browser.Handle and Browser.AddFile.
func newServer(root string, a *artifacts) (*httptest.Server, *http.ServeMux) {
	mux := http.NewServeMux()
	mux.Handle("/build/atelier.wasm", bytesHandler("application/wasm", a.wasm))
	mux.Handle("/build/wasm_exec.js", bytesHandler("text/javascript; charset=utf-8", a.execJS))
	mux.Handle("/build/wasm_exec.mjs", bytesHandler("text/javascript; charset=utf-8", a.execModule))
	// The bridge is also the script of the library's workers (the digest
	// and OPFS helper workers): a cross-origin isolated page (the bench's
	// js.html) may start a worker only from a script served with
	// Cross-Origin-Embedder-Policy itself, as an isolated app serves all
	// its files. Elsewhere the header changes nothing.
	mux.Handle("/build/atelier-bridge.js", withHeaders(bytesHandler("text/javascript; charset=utf-8", a.bridgeJS),
		"Cross-Origin-Embedder-Policy", "require-corp", "Cross-Origin-Resource-Policy", "same-origin"))
	mux.Handle(AppPath, bytesHandler("text/html; charset=utf-8", appHTML))
	mux.Handle("/favicon.ico", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent) // keep the console free of 404s
	}))
	files := http.FileServer(http.Dir(root))
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/.") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if strings.HasPrefix(r.URL.Path, EditorPath) {
			w.Header().Set("Content-Security-Policy", EditorCSP)
		}
		if t := contentType(r.URL.Path); t != "" {
			w.Header().Set("Content-Type", t)
		}
		files.ServeHTTP(w, r)
	}))
	return httptest.NewServer(mux), mux
}

// contentType is the type of a served file, fixed for the extensions whose
// system MIME entry may be missing or wrong.
func contentType(p string) string {
	switch path.Ext(p) {
	case ".mjs", ".js":
		return "text/javascript; charset=utf-8"
	case ".wasm":
		return "application/wasm"
	}
	return mime.TypeByExtension(path.Ext(p))
}

// withHeaders serves h with the given headers (name, value pairs) added.
func withHeaders(h http.Handler, kv ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(kv); i += 2 {
			w.Header().Set(kv[i], kv[i+1])
		}
		h.ServeHTTP(w, r)
	})
}

func bytesHandler(typ string, body []byte) http.Handler {
	modified := time.Now()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", typ)
		w.Header().Set("Cache-Control", "no-store")
		http.ServeContent(w, r, "", modified, bytes.NewReader(body))
	})
}
