package jsonvalid

import (
	"encoding/json"
	"strings"
	"testing"
)

var jsonCases = []string{
	``, ` `, `0`, `-0`, `-`, `01`, `1.`, `1.5`, `.5`, `1e5`, `1E+5`, `1e-05`, `1e`, `1e+`, `-1.5e3`, `2.`, `+1`,
	`"`, `""`, `"a\"b"`, `"\u00e9"`, `"\u00G9"`, `"\u00e"`, `"\x"`, `"\/"`, "\"a\tb\"", "\"\x7f\xff\"", `"\`,
	`true`, `tru`, `truex`, `false`, `null`, `nul`, `NaN`, `Infinity`,
	`[]`, `[ ]`, `[1]`, `[1,]`, `[,1]`, `[1 2]`, `[[[]]]`, `[`, `]`, `[}`,
	`{}`, `{ }`, `{"a":1}`, `{"a" : [1, {"b": null}] }`, `{"a"}`, `{"a":}`, `{a:1}`, `{"a":1,}`, `{"a":1 "b":2}`, `{,}`, `{"a":1}}`,
	` {"a":1} `, "\n[1]\r\t", `1 2`, `{} []`, `"a" "b"`,
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
}

func TestAgreesWithEncodingJSON(t *testing.T) {
	for _, c := range jsonCases {
		if got, want := Valid([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("Valid(%.40q) = %v, encoding/json says %v", c, got, want)
		}
	}
}

func FuzzValid(f *testing.F) {
	for _, c := range jsonCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Valid(b), json.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %v, encoding/json says %v", b, got, want)
		}
	})
}

var benchConfig = []byte(`{"model":"sdxl-1.0","prompt":"a lighthouse on a cliff at dusk, volumetric light, 42","negative":"blurry, low quality","steps":30,"cfg":7.5,"seed":1042,"sampler":"dpmpp_2m"}`)

func BenchmarkValid(b *testing.B) {
	b.SetBytes(int64(len(benchConfig)))
	for i := 0; i < b.N; i++ {
		if !Valid(benchConfig) {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkValidEncodingJSON(b *testing.B) {
	b.SetBytes(int64(len(benchConfig)))
	for i := 0; i < b.N; i++ {
		if !json.Valid(benchConfig) {
			b.Fatal("invalid")
		}
	}
}
