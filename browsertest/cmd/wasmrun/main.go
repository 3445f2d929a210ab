// Command wasmrun runs a Go test binary built for js/wasm in Firefox or
// WebKitGTK, the way wasmbrowsertest runs one in Chromium: it serves the
// binary with Go's wasm_exec.js on 127.0.0.1 (a secure context), opens it
// in a fresh browser, streams what the program writes to stdout and
// stderr, and exits with its exit code. Use it as go test's -exec:
//
//	GOOS=js GOARCH=wasm go test -exec "wasmrun -browser firefox" ./idb/
//
// When the browser is not installed it prints why and exits 0 after
// printing a skip line for go test, so that a machine without it skips.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/atelierstore/atelier/browsertest/webdriver"
)

// page loads the program. Go's wasm_exec.js uses globalThis.fs and
// process when there are some: this fs keeps what the program writes for
// the runner to fetch, and reads files (testdata, fuzz corpora) from the
// package's directory through the runner's server, read-only; process
// gives the package's directory as the working directory.
const page = `<!doctype html>
<meta charset="utf-8">
<title>wasmrun</title>
<script>
(function () {
  const run = globalThis.wasmrun = { out: "", done: false, code: null, error: null, cwd: "/" };
  const dec = new TextDecoder("utf-8");
  const err = (code) => { const e = new Error(code); e.code = code; return e; };
  const enosys = () => err("ENOSYS");
  const abs = (p) => p.startsWith("/") ? p : run.cwd + "/" + p;
  const q = (p) => encodeURIComponent(abs(p));
  async function info(p) {
    const r = await fetch("/fs/stat?p=" + q(p));
    if (r.status === 404) throw err("ENOENT");
    if (r.status === 403) throw err("EACCES");
    if (!r.ok) throw err("EIO");
    return r.json();
  }
  const stat = (o) => ({ dev: 0, ino: 0, mode: o.mode, nlink: 1, uid: 0, gid: 0, rdev: 0, size: o.size,
    blksize: 4096, blocks: Math.ceil(o.size / 512), atimeMs: o.mtime, mtimeMs: o.mtime, ctimeMs: o.mtime,
    isDirectory: () => o.dir });
  const C = { O_WRONLY: 1, O_RDWR: 2, O_CREAT: 64, O_EXCL: 128, O_TRUNC: 512, O_APPEND: 1024, O_DIRECTORY: 65536 };
  const fds = new Map();
  let nextFd = 100;
  const cb0 = (cb, p) => p.then((v) => cb(null, v), (e) => cb(e));
  globalThis.fs = {
    constants: C,
    writeSync(fd, buf) { run.out += dec.decode(buf, { stream: true }); return buf.length; },
    write(fd, buf, offset, length, position, callback) {
      if (fd !== 1 && fd !== 2) { callback(err("EBADF")); return; }
      if (offset !== 0 || length !== buf.length || position !== null) { callback(enosys()); return; }
      callback(null, this.writeSync(fd, buf));
    },
    open(p, flags, mode, cb) {
      if (flags & (C.O_WRONLY | C.O_RDWR | C.O_CREAT | C.O_TRUNC | C.O_APPEND)) { cb(err("EROFS")); return; }
      cb0(cb, (async () => {
        const o = await info(p);
        let data = null;
        if (!o.dir) data = new Uint8Array(await (await fetch("/fs/read?p=" + q(p))).arrayBuffer());
        const fd = nextFd++;
        fds.set(fd, { o, data, pos: 0 });
        return fd;
      })());
    },
    fstat(fd, cb) { const f = fds.get(fd); if (!f) { cb(err("EBADF")); return; } cb(null, stat(f.o)); },
    stat(p, cb) { cb0(cb, info(p).then(stat)); },
    lstat(p, cb) { cb0(cb, info(p).then(stat)); },
    readdir(p, cb) { cb0(cb, info(p).then((o) => { if (!o.dir) throw err("ENOTDIR"); return o.entries; })); },
    read(fd, buf, offset, length, position, cb) {
      const f = fds.get(fd);
      if (!f || !f.data) { cb(err(f ? "EISDIR" : "EBADF")); return; }
      const at = position === null ? f.pos : position;
      const n = Math.max(0, Math.min(length, f.data.length - at));
      buf.set(f.data.subarray(at, at + n), offset);
      if (position === null) f.pos = at + n;
      cb(null, n);
    },
    close(fd, cb) { fds.delete(fd); cb(null); },
    fsync(fd, cb) { cb(null); },
    chmod(p, m, cb) { cb(err("EROFS")); }, chown(p, u, g, cb) { cb(err("EROFS")); },
    fchmod(fd, m, cb) { cb(err("EROFS")); }, fchown(fd, u, g, cb) { cb(err("EROFS")); },
    ftruncate(fd, l, cb) { cb(err("EROFS")); }, lchown(p, u, g, cb) { cb(err("EROFS")); },
    link(p, l, cb) { cb(err("EROFS")); }, mkdir(p, perm, cb) { cb(err("EROFS")); },
    readlink(p, cb) { cb(err("EINVAL")); }, rename(f, t, cb) { cb(err("EROFS")); }, rmdir(p, cb) { cb(err("EROFS")); },
    symlink(p, l, cb) { cb(err("EROFS")); }, truncate(p, l, cb) { cb(err("EROFS")); },
    unlink(p, cb) { cb(err("EROFS")); }, utimes(p, a, m, cb) { cb(err("EROFS")); },
  };
  globalThis.process = {
    getuid() { return -1; }, getgid() { return -1; }, geteuid() { return -1; }, getegid() { return -1; },
    getgroups() { throw enosys(); }, pid: -1, ppid: -1, umask() { throw enosys(); },
    cwd() { return run.cwd; }, chdir() { throw enosys(); },
  };
})();
</script>
<script src="/wasm_exec.js"></script>
<script>
(async () => {
  const run = globalThis.wasmrun;
  try {
    const cfg = await (await fetch("/config")).json();
    run.cwd = cfg.cwd;
    const go = new Go();
    go.argv = [cfg.name].concat(cfg.args);
    go.env = cfg.env;
    go.exit = (code) => { run.code = code; };
    const { instance } = await WebAssembly.instantiateStreaming(fetch("/" + cfg.name), go.importObject);
    await go.run(instance);
    if (run.code === null) run.code = 0;
  } catch (e) {
    run.error = String(e) + (e && e.stack ? "\n" + e.stack : "");
    run.code = 1;
  }
  run.done = true;
})();
</script>
`

// poll hands over the output written since the last poll, and the exit
// code once the program has exited.
const poll = `(() => { const r = globalThis.wasmrun; if (!r) return JSON.stringify({ out: "" });
	const out = r.out; r.out = "";
	return JSON.stringify({ out, done: r.done, code: r.code, error: r.error }); })()`

func main() {
	browser := flag.String("browser", "firefox", "the browser to run in: "+strings.Join(webdriver.Kinds, " or "))
	limit := flag.Duration("limit", 20*time.Minute, "give up after this long")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: wasmrun [-browser firefox|webkit] prog.wasm [args...]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() < 1 {
		flag.Usage()
		os.Exit(2)
	}
	code, err := run(*browser, *limit, flag.Arg(0), flag.Args()[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "wasmrun: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func run(kind string, limit time.Duration, prog string, args []string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	execJS, err := wasmExecJS()
	if err != nil {
		return 1, err
	}
	srv, err := serve(prog, execJS, args)
	if err != nil {
		return 1, err
	}
	defer srv.Close()

	b, err := webdriver.Start(ctx, kind, nil)
	if errors.Is(err, webdriver.ErrNotInstalled) {
		// go test reads this as a skipped package, not a pass.
		fmt.Printf("--- SKIP: %s not installed\n    %v\nPASS\n", kind, err)
		return 0, nil
	}
	if err != nil {
		return 1, err
	}
	defer b.Close()
	w, err := b.NewWindow(ctx)
	if err != nil {
		return 1, err
	}
	if err := w.Navigate(ctx, "http://"+srv.Addr+"/"); err != nil {
		return 1, err
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		s, err := w.Eval(ctx, poll)
		if err != nil {
			return 1, fmt.Errorf("%s: %w", b.Name(), err)
		}
		var r struct {
			Out   string `json:"out"`
			Done  bool   `json:"done"`
			Code  *int   `json:"code"`
			Error string `json:"error"`
		}
		if err := json.Unmarshal([]byte(s), &r); err != nil {
			return 1, err
		}
		os.Stdout.WriteString(r.Out)
		if r.Done {
			if r.Error != "" {
				return 1, fmt.Errorf("%s: %s", b.Name(), r.Error)
			}
			if r.Code == nil {
				return 1, errors.New("no exit code")
			}
			return *r.Code, nil
		}
		select {
		case <-ctx.Done():
			return 1, fmt.Errorf("%s: %w", b.Name(), ctx.Err())
		case <-tick.C:
		}
	}
}

// wasmExecJS reads the wasm_exec.js of the Go that runs go test.
func wasmExecJS() ([]byte, error) {
	goroot := os.Getenv("GOROOT")
	if goroot == "" {
		out, err := exec.Command("go", "env", "GOROOT").Output()
		if err != nil {
			return nil, fmt.Errorf("go env GOROOT: %w", err)
		}
		goroot = strings.TrimSpace(string(out))
	}
	for _, p := range []string{"lib/wasm/wasm_exec.js", "misc/wasm/wasm_exec.js"} {
		if b, err := os.ReadFile(filepath.Join(goroot, p)); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("no wasm_exec.js in %s", goroot)
}

type server struct {
	Addr string
	http *http.Server
}

func (s *server) Close() { _ = s.http.Close() }

// serve serves the page, wasm_exec.js, the program and its arguments on a
// port of 127.0.0.1.
func serve(prog string, execJS []byte, args []string) (*server, error) {
	// The program sees the environment go test gives it, as under
	// wasmbrowsertest, less what it has no use for in a browser.
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "GO") || k == "HOME" || k == "TMPDIR" || k == "PATH" || strings.HasPrefix(k, "ATELIER") {
			env[k] = v
		}
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	name := filepath.Base(prog) // what the program sees as os.Args[0], and fetches itself at
	cfg, err := json.Marshal(map[string]any{"name": name, "args": args, "env": env, "cwd": cwd})
	if err != nil {
		return nil, err
	}
	// Files the program may read: its module's.
	root := cwd
	for d := cwd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			root = d
			break
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	mux := http.NewServeMux()
	static := func(typ string, body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", typ)
			w.Header().Set("Cache-Control", "no-store")
			_, _ = w.Write(body)
		}
	}
	mux.Handle("/{$}", static("text/html; charset=utf-8", []byte(page)))
	mux.Handle("/wasm_exec.js", static("text/javascript; charset=utf-8", execJS))
	mux.Handle("/config", static("application/json", cfg))
	mux.HandleFunc("/"+name, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/wasm")
		http.ServeFile(w, r, prog)
	})
	mux.HandleFunc("/fs/stat", func(w http.ResponseWriter, r *http.Request) { fsStat(w, r, root) })
	mux.HandleFunc("/fs/read", func(w http.ResponseWriter, r *http.Request) {
		p, ok := inside(w, r, root)
		if !ok {
			return
		}
		b, err := os.ReadFile(p)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(b)
	})
	mux.HandleFunc("/favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &server{Addr: l.Addr().String(), http: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.http.Serve(l) }()
	return s, nil
}

// inside returns the path the request names, when it is inside root.
func inside(w http.ResponseWriter, r *http.Request, root string) (string, bool) {
	p := filepath.Clean(r.URL.Query().Get("p"))
	if rel, err := filepath.Rel(root, p); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		http.Error(w, "outside the module", http.StatusForbidden)
		return "", false
	}
	return p, true
}

// fsStat answers what fs.stat and fs.readdir need: mode (with the file
// type bits), size, time and, for a directory, its entries.
func fsStat(w http.ResponseWriter, r *http.Request, root string) {
	p, ok := inside(w, r, root)
	if !ok {
		return
	}
	fi, err := os.Stat(p)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	mode := uint32(fi.Mode().Perm())
	out := map[string]any{"size": fi.Size(), "mtime": fi.ModTime().UnixMilli(), "dir": fi.IsDir()}
	if fi.IsDir() {
		mode |= syscall.S_IFDIR
		es, err := os.ReadDir(p)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		names := make([]string, len(es))
		for i, e := range es {
			names[i] = e.Name()
		}
		out["entries"] = names
	} else {
		mode |= syscall.S_IFREG
	}
	out["mode"] = mode
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}
