// Command wasmsize lists what takes the room in a Go wasm module: the
// size of each section, and the code of each Go package, from the
// module's name section. `go tool nm` does not read wasm files; this is
// what make size prints.
//
//	GOOS=js GOARCH=wasm go build -o atelier-names.wasm ./wasm   # without -s: names kept
//	go run ./internal/cmd/wasmsize [-top N] atelier-names.wasm
//
// Code is attributed to the package of each function's name; data (the
// data section: read-only data, type descriptors, the pc-line tables)
// cannot be, and is listed as one line.
package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
)

func main() {
	top := flag.Int("top", 25, "packages to list")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: wasmsize [-top N] MODULE.wasm")
		os.Exit(2)
	}
	b, err := os.ReadFile(flag.Arg(0))
	if err == nil {
		var m *module
		if m, err = parse(b); err == nil {
			m.print(os.Stdout, *top)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "wasmsize:", err)
		os.Exit(1)
	}
}

type module struct {
	sections map[string]int // by name
	code     map[string]int // function body bytes by package
	codeAll  int
	named    bool
}

var sectionNames = map[byte]string{0: "custom", 1: "type", 2: "import", 3: "function", 4: "table",
	5: "memory", 6: "global", 7: "export", 8: "start", 9: "element", 10: "code", 11: "data", 12: "datacount"}

var errTruncated = errors.New("truncated module")

// reader reads the LEB128 integers, names and bytes of a wasm binary.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uint() int {
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > uint64(len(r.b))*8+1<<32 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return int(v)
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || n > len(r.b) {
		r.fail()
		return nil
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return s
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errTruncated
	}
	r.b = nil
}

func parse(b []byte) (*module, error) {
	if len(b) < 8 || string(b[:4]) != "\x00asm" {
		return nil, errors.New("not a wasm module")
	}
	m := &module{sections: map[string]int{}, code: map[string]int{}}
	var bodies []int
	names := map[int]string{}
	imported := 0
	r := &reader{b: b[8:]}
	for len(r.b) > 0 && r.err == nil {
		id := r.bytes(1)
		if id == nil {
			break
		}
		sec := &reader{b: r.bytes(r.uint())}
		switch id[0] {
		case 0:
			if string(sec.bytes(sec.uint())) == "name" {
				m.named = true
				readNames(sec, names)
			}
		case 2:
			for n := sec.uint(); n > 0 && sec.err == nil; n-- {
				sec.bytes(sec.uint()) // module
				sec.bytes(sec.uint()) // field
				switch kind := sec.bytes(1); {
				case kind == nil:
				case kind[0] == 0: // a function: its type index
					sec.uint()
					imported++
				default:
					return nil, fmt.Errorf("import of kind %d: only functions are read", kind[0])
				}
			}
		case 10:
			for n := sec.uint(); n > 0 && sec.err == nil; n-- {
				size := sec.uint()
				sec.bytes(size)
				bodies = append(bodies, size)
			}
		}
		if sec.err != nil {
			return nil, sec.err
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	// Section sizes: measured again from the top, whole.
	m.sections = map[string]int{}
	r = &reader{b: b[8:]}
	for len(r.b) > 0 && r.err == nil {
		id := r.bytes(1)
		body := r.bytes(r.uint())
		name := sectionNames[id[0]]
		if id[0] == 0 {
			s := &reader{b: body}
			name = "custom " + string(s.bytes(s.uint()))
		}
		m.sections[name] += len(body)
	}
	for i, size := range bodies {
		m.code[pkgOf(names[imported+i])] += size
		m.codeAll += size
	}
	return m, nil
}

// readNames reads the function names subsection (1) of a name section.
func readNames(sec *reader, names map[int]string) {
	for len(sec.b) > 0 && sec.err == nil {
		id := sec.bytes(1)
		sub := &reader{b: sec.bytes(sec.uint())}
		if id == nil || id[0] != 1 {
			continue
		}
		for n := sub.uint(); n > 0 && sub.err == nil; n-- {
			idx := sub.uint()
			names[idx] = string(sub.bytes(sub.uint()))
		}
	}
}

// pkgOf returns the package of a Go function's name as the wasm linker
// writes it: "github.com_atelierstore_atelier_idb.(*DB).Update" is in
// github.com/atelierstore/atelier/idb (the linker turns a path's slashes
// into underscores, so the first dot after the host ends the path).
// Generated equality functions ("type_.eq.runtime._func") are listed apart.
func pkgOf(name string) string {
	switch {
	case name == "":
		return "(unnamed)"
	case strings.HasPrefix(name, "type_."):
		return "(generated equality functions)"
	}
	host := ""
	for _, h := range []string{"github.com_", "golang.org_", "gopkg.in_", "google.golang.org_"} {
		if rest, ok := strings.CutPrefix(name, h); ok {
			host, name = strings.TrimSuffix(h, "_")+"/", rest
			break
		}
	}
	if i := strings.IndexByte(name, '.'); i >= 0 {
		name = name[:i]
	}
	return host + strings.ReplaceAll(name, "_", "/")
}

func (m *module) print(w *os.File, top int) {
	total := 8
	for _, n := range m.sections {
		total += n
	}
	fmt.Fprintf(w, "module: %d bytes: code %d, data %d, names %d\n", total, m.sections["code"], m.sections["data"], m.sections["custom name"])
	if !m.named {
		fmt.Fprintln(w, "no name section (built with -ldflags=-s?): code cannot be attributed")
		return
	}
	type row struct {
		pkg  string
		size int
	}
	var rows []row
	for p, s := range m.code {
		rows = append(rows, row{p, s})
	}
	sort.Slice(rows, func(i, j int) bool {
		return rows[i].size > rows[j].size || rows[i].size == rows[j].size && rows[i].pkg < rows[j].pkg
	})
	fmt.Fprintf(w, "code by package (%d packages; the first %d):\n", len(rows), min(top, len(rows)))
	for i, r := range rows {
		if i == top {
			break
		}
		fmt.Fprintf(w, "%9d  %4.1f%%  %s\n", r.size, 100*float64(r.size)/float64(m.codeAll), r.pkg)
	}
}
