package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestModule turns this toolchain's wasm_exec.js into the module and checks
// with Node (where it is installed) that importing it exports the Go class
// and leaves globalThis.Go alone.
func TestModule(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		t.Skipf("no wasm_exec.js in this toolchain: %v", err)
	}
	mod, err := module(src)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mod), "globalThis.Go =") {
		t.Error("the module still assigns globalThis.Go")
	}
	if _, err := module([]byte("(() => {})();\n")); err == nil {
		t.Error("a file without the assignment was accepted")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node on PATH to import the module with")
	}
	p := filepath.Join(t.TempDir(), "wasm_exec.mjs")
	if err := os.WriteFile(p, mod, 0o644); err != nil {
		t.Fatal(err)
	}
	script := `globalThis.Go = "mine";
const { Go } = await import(process.argv[1]);
if (typeof Go !== "function" || typeof new Go().importObject !== "object") throw new Error("no Go class exported");
if (globalThis.Go !== "mine") throw new Error("globalThis.Go changed");
console.log("ok");`
	out, err := exec.Command(node, "--input-type=module", "-e", script, p).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("node: %v\n%s", err, out)
	}
}
