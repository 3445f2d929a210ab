// Command wasmexec writes Go's wasm_exec.js as an ES module that exports
// the Go class instead of assigning globalThis.Go: the file atelier's
// loader (wasm/engine.mjs) imports, so that a page's own Go program, built
// with another Go version and its own wasm_exec.js, keeps its globalThis.Go,
// and so that bundlers bundle it like any module.
//
//	go run ./internal/cmd/wasmexec [-o build/wasm_exec.mjs] "$(go env GOROOT)/lib/wasm/wasm_exec.js"
//
// The input ("-": standard input) must be the file of the Go toolchain that
// builds the module. The rest of the file is left as it is: it still installs the
// fs, process and path stand-ins on globalThis when they are missing,
// which the Go runtime reads at start.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// assign is the one statement of wasm_exec.js that the module changes.
const assign = "globalThis.Go = class {"

const header = `// wasm_exec.mjs: Go's wasm_exec.js (below, under Go's BSD license) as an
// ES module: it exports Go instead of assigning globalThis.Go. Generated
// by atelier's internal/cmd/wasmexec; do not edit.
let Go;
`

// module returns src, Go's wasm_exec.js, as an ES module exporting Go.
func module(src []byte) ([]byte, error) {
	if n := bytes.Count(src, []byte(assign)); n != 1 {
		return nil, fmt.Errorf("wasm_exec.js has %d occurrences of %q, want 1: a Go release changed the file", n, assign)
	}
	var b bytes.Buffer
	b.WriteString(header)
	b.Write(bytes.Replace(src, []byte(assign), []byte("Go = class {"), 1))
	if !bytes.HasSuffix(src, []byte("\n")) {
		b.WriteByte('\n')
	}
	b.WriteString("\nexport { Go };\n")
	return b.Bytes(), nil
}

func main() {
	out := flag.String("o", "", "write the module to this file instead of standard output")
	flag.Parse()
	if err := run(*out, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "wasmexec:", err)
		os.Exit(1)
	}
}

func run(out, in string) error {
	var src []byte
	var err error
	switch in {
	case "":
		return errors.New("usage: wasmexec [-o FILE] wasm_exec.js|-")
	case "-":
		src, err = io.ReadAll(os.Stdin)
	default:
		src, err = os.ReadFile(in)
	}
	if err != nil {
		return err
	}
	mod, err := module(src)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if out == "" {
		_, err = os.Stdout.Write(mod)
		return err
	}
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, mod, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}
