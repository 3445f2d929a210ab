package atelier_test

import (
	"go/build/constraint"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// jsPackage is spelled in two parts so that text searches for the import
// do not mistake this test for a browser file.
const jsPackage = "syscall" + "/js"

// TestBrowserFilesAreTagged fails when a Go file that imports syscall/js
// can be built for anything but js/wasm. A bare `wasm` tag is not enough:
// it also matches wasip1, which has no JavaScript host.
func TestBrowserFilesAreTagged(t *testing.T) {
	checked := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, src, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		usesJS := false
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == jsPackage {
				usesJS = true
			}
		}
		if !usesJS {
			return nil
		}
		checked++
		expr := buildConstraint(src)
		if expr == nil {
			t.Errorf("%s imports syscall/js but has no //go:build line (want //go:build js && wasm)", path)
			return nil
		}
		for _, env := range []struct{ goos, goarch string }{
			{"linux", "amd64"}, {"darwin", "arm64"}, {"windows", "amd64"}, {"wasip1", "wasm"}, {"js", "amd64"},
		} {
			if expr.Eval(func(tag string) bool { return tag == env.goos || tag == env.goarch }) {
				t.Errorf("%s imports syscall/js but builds for %s/%s; want //go:build js && wasm", path, env.goos, env.goarch)
			}
		}
		if !expr.Eval(func(tag string) bool { return tag == "js" || tag == "wasm" }) {
			t.Errorf("%s imports syscall/js but does not build for js/wasm", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Fatal("found no file importing syscall/js: is the walk looking at the module?")
	}
}

func buildConstraint(src []byte) constraint.Expr {
	for _, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "package ") {
			return nil
		}
		if constraint.IsGoBuild(line) {
			expr, err := constraint.Parse(line)
			if err != nil {
				return nil
			}
			return expr
		}
	}
	return nil
}

// TestReadmeGoSnippet keeps the README's Go example identical to
// examples/quickstart/main.go, which CI compiles.
func TestReadmeGoSnippet(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "```go\n")
	snippet, _, ok2 := strings.Cut(rest, "```\n")
	if !ok || !ok2 {
		t.Fatal("README.md has no ```go block")
	}
	src, err := os.ReadFile(filepath.Join("examples", "quickstart", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, line := range strings.SplitAfter(string(src), "\n") {
		if !strings.HasPrefix(line, "// ") { // the file's doc comment
			kept = append(kept, line)
		}
	}
	if want := strings.Join(kept, ""); snippet != want {
		t.Errorf("README.md's Go example differs from examples/quickstart/main.go:\n--- README\n%s\n--- file\n%s", snippet, want)
	}
}
