package main

import "testing"

func TestPkgOf(t *testing.T) {
	for name, want := range map[string]string{
		"github.com_atelierstore_atelier_idb.(*DB).Update":   "github.com/atelierstore/atelier/idb",
		"github.com_mailru_easyjson_jlexer.(*Lexer).IsDelim": "github.com/mailru/easyjson/jlexer",
		"encoding_json.Marshal":                              "encoding/json",
		"runtime.mallocgc":                                   "runtime",
		"type_.eq.runtime._func":                             "(generated equality functions)",
		"":                                                   "(unnamed)",
	} {
		if got := pkgOf(name); got != want {
			t.Errorf("pkgOf(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestParse reads a module made by hand: one imported function, two
// defined ones with names, and their code.
func TestParse(t *testing.T) {
	mod := []byte("\x00asm\x01\x00\x00\x00")
	section := func(id byte, body ...byte) { mod = append(append(mod, id, byte(len(body))), body...) }
	section(1, 1, 0x60, 0, 0)                    // type: func() -> ()
	section(2, 1, 1, 'm', 1, 'f', 0, 0)          // import m.f, a function of type 0
	section(3, 2, 0, 0)                          // two functions of type 0
	section(10, 2, 2, 0, 0x0b, 3, 0, 0x01, 0x0b) // bodies of 3 and 4 bytes with their sizes
	name := []byte{4, 'n', 'a', 'm', 'e', 1, 0}  // the name section, function names
	names := []byte{2, 1, 5, 'a', '_', 'b', '.', 'f', 2, 3, 'c', '.', 'g'}
	name[len(name)-1] = byte(len(names))
	section(0, append(name, names...)...)
	m, err := parse(mod)
	if err != nil {
		t.Fatal(err)
	}
	if m.code["a/b"] != 2 || m.code["c"] != 3 || m.codeAll != 5 || !m.named {
		t.Fatalf("code by package %v (all %d), named %v", m.code, m.codeAll, m.named)
	}
	if _, err := parse(mod[:len(mod)-3]); err == nil {
		t.Error("a truncated module parsed")
	}
}
