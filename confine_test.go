package atelier_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestSyscallJSConfined keeps the browser in its place: only the
// browser-plumbing packages under internal/ and the JavaScript binding in
// wasm/ import syscall/js, so that every other package's API is plain Go
// that other modules can call. Tests, benchmarks, test programs and the
// separate modules (browsertest, bench, server) are exempt.
func TestSyscallJSConfined(t *testing.T) {
	var found []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch name := d.Name(); {
			case path == ".":
				return nil
			case strings.HasPrefix(name, "."), name == "testdata", name == "node_modules",
				path == "internal", path == "wasm", path == "bench", path == "browsertest", path == "server":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == jsPackage {
				found = append(found, filepath.ToSlash(path))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(found)
	for _, path := range found {
		t.Errorf("%s imports syscall/js: browser plumbing belongs in a package under internal/ (or in wasm/), and this package's API in Go types", path)
	}
}
