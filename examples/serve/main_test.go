package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
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
