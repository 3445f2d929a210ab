package assetref

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// The benchmarks use typicalRef, an OPFS image ref with MIME, size and hash:
// what most graph nodes carry.

func BenchmarkValidate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := typicalRef.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateURL(b *testing.B) {
	r := Ref{Kind: KindURL, URL: "https://cdn.example.com/generated/0190a5c8.png", MIME: "image/png", Hash: testHash}
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalJSON(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := typicalRef.MarshalJSON(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalJSON(b *testing.B) {
	data, err := typicalRef.MarshalJSON()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var r Ref
		if err := r.UnmarshalJSON(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnmarshalJSONReflect is the baseline: encoding/json decoding the
// same object into a struct by reflection (without validation).
func BenchmarkUnmarshalJSONReflect(b *testing.B) {
	data, err := typicalRef.MarshalJSON()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var s shadow
		if err := json.Unmarshal(data, &s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeMsgpack(b *testing.B) {
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = typicalRef.AppendMsgpack(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeMsgpack(b *testing.B) {
	data, err := msgpack.Marshal(typicalRef)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var r Ref
		if err := r.UnmarshalMsgpack(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeMsgpackReflect is the baseline: the msgpack package
// decoding the same map into a struct by reflection (without validation).
func BenchmarkDecodeMsgpackReflect(b *testing.B) {
	data, err := msgpack.Marshal(typicalRef)
	if err != nil {
		b.Fatal(err)
	}
	rd := bytes.NewReader(data)
	dec := msgpack.NewDecoder(rd)
	dec.SetCustomStructTag("json")
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(data)
		dec.Reset(rd)
		dec.SetCustomStructTag("json")
		var s shadow
		if err := dec.Decode(&s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHashBytes1MiB(b *testing.B) {
	data := make([]byte, 1<<20)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		HashBytes(data)
	}
}
