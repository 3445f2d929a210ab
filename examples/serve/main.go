// Command serve is the development server behind `make run`: it serves a
// directory (the checkout) on localhost with the right MIME types for .wasm
// and .mjs and no caching, so a rebuilt module is picked up on reload.
//
// The example editor is at /examples/editor/, and / redirects there (with
// its query, so /?sync=... opens the editor synced). Its files are sent with
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
		files.ServeHTTP(w, r)
	})
}
