//go:build !js

package jsoncodec

import (
	"bytes"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestGeneratedIsCurrent runs the generator and compares its output with
// the committed file: a change to graph's types, or to the rewrites, needs
// go generate.
func TestGeneratedIsCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the generator")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out := filepath.Join(t.TempDir(), "graph_easyjson.go")
	cmd := exec.Command(goCmd, "run", "./gen", "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./gen: %v\n%s", err, b)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("graph_easyjson.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("graph_easyjson.go is not what ./gen writes now: run go generate ./internal/jsoncodec")
	}
}

// TestImportsOnlyLexer: easyjson's root package imports net/http and
// jwriter imports net, which would grow the wasm module; the package needs
// only jlexer.
func TestImportsOnlyLexer(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, "github.com/mailru/easyjson") && p != "github.com/mailru/easyjson/jlexer" || strings.HasPrefix(p, "net") {
				t.Errorf("%s imports %s", name, p)
			}
		}
	}
}
