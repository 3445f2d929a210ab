// Command serve is the development server behind `make run`: it serves a
// directory on localhost with the right MIME type for .wasm and no caching,
// so a rebuilt module is picked up on reload.
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

func main() {
	dir := flag.String("dir", ".", "directory to serve")
	addr := flag.String("addr", "localhost:8080", "address to listen on")
	flag.Parse()

	if err := mime.AddExtensionType(".wasm", "application/wasm"); err != nil {
		log.Fatal(err)
	}
	if err := mime.AddExtensionType(".mjs", "text/javascript"); err != nil {
		log.Fatal(err)
	}
	if _, err := os.Stat(*dir); err != nil {
		log.Fatal(err)
	}
	files := http.FileServer(http.Dir(*dir))
	http.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/.") { // .git, .ci, editor files
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		files.ServeHTTP(w, r)
	}))
	fmt.Printf("serving %s on http://%s/ (Ctrl-C to stop)\n", *dir, *addr)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
