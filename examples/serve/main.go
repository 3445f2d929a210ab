// Command serve is the development server behind `make run`: it serves a
// directory (the checkout) on localhost with the right MIME types for .wasm
// and .mjs and no caching, so a rebuilt module is picked up on reload.
//
// The example editor is at /examples/editor/, and / redirects there (with
// its query, so /?sync=... opens the editor synced). A .wasm file is sent
// as the precompressed copy beside it (make build's atelier.wasm.gz, make
// package's atelier.wasm.br) when the browser accepts that encoding and the
// copy is not older than the file, with Content-Encoding and the
// application/wasm type, so that the browser still compiles it while it
// downloads. Its files are sent with
// the strict Content-Security-Policy editorCSP, so that the editor is tried
// as an app that forbids eval and inline scripts would serve it.
package main

import (
	"flag"
	"fmt"
	"log"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// editorPath is where the example editor is served: examples/editor in the
// checkout.
const editorPath = "/examples/editor/"

// editorCSP allows scripts from the page's origin and WebAssembly, and no
// eval, inline script or inline handler. browsertest serves the editor with
// the same policy (browsertest.EditorCSP).
const editorCSP = "script-src 'self' 'wasm-unsafe-eval'"

func main() {
	dir := flag.String("dir", ".", "directory to serve: the checkout")
	addr := flag.String("addr", "localhost:8080", "address to listen on")
	flag.Parse()

	for ext, typ := range map[string]string{".wasm": "application/wasm", ".mjs": "text/javascript"} {
		if err := mime.AddExtensionType(ext, typ); err != nil {
			log.Fatal(err)
		}
	}
	if _, err := os.Stat(*dir); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("serving %s on http://%s/ (Ctrl-C to stop)\nthe example editor: http://%s%s\n", *dir, *addr, *addr, editorPath)
	log.Fatal(http.ListenAndServe(*addr, handler(*dir)))
}

// handler serves the files of dir, except paths with a dot-segment,
// redirects / to the editor and sends the editor's files with editorCSP.
func handler(dir string) http.Handler {
	files := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/.") { // .git, .ci, editor files
			http.NotFound(w, r)
			return
		}
		if r.URL.Path == "/" {
			to := editorPath
			if r.URL.RawQuery != "" {
				to += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if strings.HasPrefix(r.URL.Path, editorPath) {
			w.Header().Set("Content-Security-Policy", editorCSP)
		}
		if path.Ext(r.URL.Path) == ".wasm" && servePrecompressed(w, r, dir) {
			return
		}
		files.ServeHTTP(w, r)
	})
}

// encodings are the precompressed copies servePrecompressed looks for, best first.
var encodings = []struct{ name, ext string }{{"br", ".br"}, {"gzip", ".gz"}}

// servePrecompressed sends the precompressed copy of the file r asks for,
// if the browser accepts its encoding and the copy is at least as new as the
// file (a copy older than a rebuilt module is stale). It reports whether it
// answered.
func servePrecompressed(w http.ResponseWriter, r *http.Request, dir string) bool {
	name := filepath.Join(dir, filepath.FromSlash(path.Clean("/"+r.URL.Path)))
	orig, err := os.Stat(name)
	if err != nil || orig.IsDir() {
		return false
	}
	w.Header().Add("Vary", "Accept-Encoding")
	for _, enc := range encodings {
		if !accepts(r.Header.Get("Accept-Encoding"), enc.name) {
			continue
		}
		f, err := os.Open(name + enc.ext)
		if err != nil {
			continue
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil || st.ModTime().Before(orig.ModTime()) {
			continue
		}
		w.Header().Set("Content-Type", "application/wasm")
		w.Header().Set("Content-Encoding", enc.name)
		http.ServeContent(w, r, "", st.ModTime(), f)
		return true
	}
	return false
}

// accepts reports whether an Accept-Encoding header value allows enc (a
// listed coding without q=0; "*" counts).
func accepts(header, enc string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if coding = strings.TrimSpace(coding); coding != enc && coding != "*" {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		if q == "q=0" || q == "q=0.0" || q == "q=0.00" || q == "q=0.000" {
			return false
		}
		return true
	}
	return false
}
