package browsertest

import (
	"net/http"
	"testing"
)

// Server is the test server alone, for a browser the test starts itself
// (a persistent profile, which no driver session offers).
type Server struct {
	url string
	mux *http.ServeMux
}

// Serve builds the wasm module (once per test process) and serves the
// checkout as Start does, until tb ends. Only opts.Root is used.
func Serve(tb testing.TB, opts *Options) *Server {
	tb.Helper()
	root := ""
	if opts != nil {
		root = opts.Root
	}
	var err error
	if root == "" {
		if root, err = findRoot(); err != nil {
			tb.Fatalf("browsertest: %v", err)
		}
	}
	a := build(root)
	if a.err != nil {
		tb.Fatalf("browsertest: %v", a.err)
	}
	srv, mux := newServer(root, a)
	tb.Cleanup(srv.Close)
	return &Server{url: srv.URL, mux: mux}
}

// URL returns the absolute URL of path on the server.
func (s *Server) URL(path string) string { return s.url + path }

// Handle serves h for pattern (as http.ServeMux patterns).
func (s *Server) Handle(tb testing.TB, pattern string, h http.Handler) {
	tb.Helper()
	defer func() {
		if r := recover(); r != nil {
			tb.Fatalf("browsertest: Handle(%q): %v", pattern, r)
		}
	}()
	s.mux.Handle(pattern, h)
}
