package jsbridge

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestSourceVersion checks that bridge.js declares the version the Go side
// compares with the loaded bridge.
func TestSourceVersion(t *testing.T) {
	src, err := os.ReadFile("bridge.js")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := sourceVersion(string(src)); !ok {
		t.Fatalf("bridge.js declares no %q<number>; (got %d)", versionMark, v)
	}
	for _, bad := range []string{"", "const VERSION = x;", "const VERSION = 1", "const VERSION = 0;"} {
		if v, ok := sourceVersion(bad); ok {
			t.Errorf("sourceVersion(%q) = %d, true; want false", bad, v)
		}
	}
}

// TestSourceParses checks that bridge.js is valid both as a classic script
// and as an ES module, as pages and workers load it either way.
func TestSourceParses(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on PATH")
	}
	src, err := os.ReadFile("bridge.js")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"bridge.cjs", "bridge.mjs"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, src, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(node, "--check", p).CombinedOutput(); err != nil {
			t.Errorf("bridge.js as %s: %v\n%s", filepath.Ext(name), err, out)
		}
	}
}
