package jsbridge

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// TestVendoredHashWasm checks that the hash-wasm files in bridge.js are
// exactly the ones npm publishes (hash-wasm 4.13.0), by their SHA-256.
func TestVendoredHashWasm(t *testing.T) {
	src, err := os.ReadFile("bridge.js")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"sha256.umd.min.js": "0ab0ba5a8242ca02d4403e08a60b9308cb7322a175c3a5c3071c595fad1e65de",
		"crc32.umd.min.js":  "025e24ac27ca81839d8765ee3886376c6760a8dc663fe94c62680eea831cb782",
	} {
		begin := "// BEGIN hash-wasm 4.13.0 dist/" + name + "\n"
		end := "// END hash-wasm 4.13.0 dist/" + name + "\n"
		_, rest, ok := strings.Cut(string(src), begin)
		if !ok {
			t.Errorf("bridge.js has no %q", strings.TrimSpace(begin))
			continue
		}
		text, _, ok := strings.Cut(rest, end)
		if !ok {
			t.Errorf("bridge.js has no %q", strings.TrimSpace(end))
			continue
		}
		if got := fmt.Sprintf("%x", sha256.Sum256([]byte(text))); got != want {
			t.Errorf("dist/%s in bridge.js has SHA-256 %s, the published file %s", name, got, want)
		}
	}
	if _, err := os.Stat("LICENSE.hash-wasm"); err != nil {
		t.Errorf("hash-wasm's license is not next to bridge.js: %v", err)
	}
}
