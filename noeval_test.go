package atelier_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// compiles matches the ways code can compile JavaScript at run time, which a
// Content-Security-Policy without 'unsafe-eval' refuses.
var compiles = regexp.MustCompile(`new Function\b|Function"\)\.New\(|\beval\(`)

// TestNoEval fails if library code compiles JavaScript at run time: an app
// served with script-src 'self' 'wasm-unsafe-eval' could not use it. The
// JavaScript the library needs ships in internal/jsbridge/bridge.js.
// Tests, benchmarks and test pages may do as they like.
func TestNoEval(t *testing.T) {
	var found []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "bench", "browsertest", "node_modules", "testdata", "test", "build", ".git":
				return filepath.SkipDir
			}
			return nil
		}
		ext := filepath.Ext(path)
		if (ext != ".go" && ext != ".js" && ext != ".mjs" && ext != ".html") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if c := strings.TrimSpace(line); strings.HasPrefix(c, "//") || strings.HasPrefix(c, "*") {
				continue // a comment may name what it avoids
			}
			if compiles.MatchString(line) {
				found = append(found, path+":"+strconv.Itoa(i+1)+": "+strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Errorf("compiles JavaScript at run time: %s", f)
	}
}
