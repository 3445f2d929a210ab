package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func TestHandler(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"examples/editor/index.html": "<!doctype html><title>editor</title>",
		"examples/editor/main.mjs":   "export {};",
		".git/config":                "secret",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h := handler(dir)
	for _, c := range []struct {
		path, location, csp string
		code                int
	}{
		{"/", "/examples/editor/", "", http.StatusFound},
		{"/?sync=http%3A%2F%2F127.0.0.1%3A8787&workspace=dev", "/examples/editor/?sync=http%3A%2F%2F127.0.0.1%3A8787&workspace=dev", "", http.StatusFound},
		{"/examples/editor/", "", editorCSP, http.StatusOK},
		{"/examples/editor/main.mjs", "", editorCSP, http.StatusOK},
		{"/.git/config", "", "", http.StatusNotFound},
	} {
		t.Run(c.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", c.path, nil))
			got := rec.Header()
			if rec.Code != c.code || got.Get("Location") != c.location || got.Get("Content-Security-Policy") != c.csp {
				t.Fatalf("GET %s: %d Location %q CSP %q, want %d Location %q CSP %q", c.path,
					rec.Code, got.Get("Location"), got.Get("Content-Security-Policy"), c.code, c.location, c.csp)
			}
		})
	}
}

func TestPrecompressed(t *testing.T) {
	if runtime.GOOS == "js" {
		t.Skip("os.Chtimes is not implemented on js")
	}
	dir := t.TempDir()
	write := func(name, body string, age time.Duration) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		when := time.Now().Add(-age)
		if err := os.Chtimes(p, when, when); err != nil {
			t.Fatal(err)
		}
	}
	write("m.wasm", "raw", time.Hour)
	write("m.wasm.br", "brotli", 0)
	write("m.wasm.gz", "gzip", 0)
	write("old.wasm", "raw", 0)
	write("old.wasm.br", "stale brotli", time.Hour)
	write("old.wasm.gz", "gzip", 0)
	h := handler(dir)
	for _, c := range []struct {
		path, accept, body, encoding string
	}{
		{"/m.wasm", "gzip, deflate, br, zstd", "brotli", "br"},
		{"/m.wasm", "gzip", "gzip", "gzip"},
		{"/m.wasm", "br;q=0, gzip", "gzip", "gzip"},
		{"/m.wasm", "", "raw", ""},
		{"/old.wasm", "br, gzip", "gzip", "gzip"}, // the .br is older than the module
		{"/missing.wasm", "br", "404 page not found\n", ""},
	} {
		t.Run(c.path+" "+c.accept, func(t *testing.T) {
			req := httptest.NewRequest("GET", c.path, nil)
			if c.accept != "" {
				req.Header.Set("Accept-Encoding", c.accept)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			got := rec.Header()
			if rec.Body.String() != c.body || got.Get("Content-Encoding") != c.encoding {
				t.Fatalf("body %q Content-Encoding %q, want %q and %q", rec.Body, got.Get("Content-Encoding"), c.body, c.encoding)
			}
			if rec.Code == http.StatusOK && got.Get("Content-Type") != "application/wasm" {
				t.Errorf("Content-Type %q, want application/wasm", got.Get("Content-Type"))
			}
		})
	}
}
