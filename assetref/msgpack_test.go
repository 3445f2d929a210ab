package assetref

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

func TestMsgpackRoundTrip(t *testing.T) {
	t.Parallel()
	for _, c := range refCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b, err := msgpack.Marshal(c.ref)
			if c.field != "" {
				checkRefError(t, err, c.field)
				return
			}
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			var got Ref
			if err := msgpack.Unmarshal(b, &got); err != nil {
				t.Fatalf("Unmarshal(%x): %v", b, err)
			}
			if got != c.ref {
				t.Fatalf("round trip of %x:\n got %+v\nwant %+v", b, got, c.ref)
			}
			// The bytes must be what the Encoder's own methods write.
			if want := encodeWithEncoder(t, c.ref); !bytes.Equal(b, want) {
				t.Fatalf("encoding differs from Encoder methods:\n got %x\nwant %x", b, want)
			}
		})
	}
}

// encodeWithEncoder writes r's wire form with the msgpack Encoder's methods.
func encodeWithEncoder(t testing.TB, r Ref) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	s := shadowOf(r)
	type kv struct {
		k string
		v any
	}
	var fields []kv
	for _, f := range []kv{{"kind", s.Kind}, {"url", s.URL}, {"path", s.Path}, {"handleId", s.HandleID},
		{"blobKey", s.BlobKey}, {"id", s.ID}, {"mime", s.MIME}, {"bytes", s.Bytes}, {"hash", s.Hash}} {
		if f.v != "" && f.v != int64(0) {
			fields = append(fields, f)
		}
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(enc.EncodeMapLen(len(fields)))
	for _, f := range fields {
		must(enc.EncodeString(f.k))
		switch v := f.v.(type) {
		case string:
			must(enc.EncodeString(v))
		case int64:
			must(enc.EncodeInt(v))
		}
	}
	return buf.Bytes()
}

func TestDecodeMsgpack(t *testing.T) {
	t.Parallel()
	enc := func(v any) []byte {
		b, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	long := strings.Repeat("a", MaxIDLen+1)
	tests := []struct {
		name  string
		in    []byte
		want  Ref
		field string // non-empty: must fail with a RefError naming it; "!" for the whole value
	}{
		{"generic map", enc(map[string]any{"kind": "idb", "blobKey": "k", "bytes": uint32(7)}), Ref{Kind: KindIDB, BlobKey: "k", Bytes: 7}, ""},
		{"bytes as uint64", enc(map[string]any{"kind": "idb", "blobKey": "k", "bytes": uint64(MaxBytes)}), Ref{Kind: KindIDB, BlobKey: "k", Bytes: MaxBytes}, ""},
		{"bytes as int8", enc(map[string]any{"kind": "idb", "blobKey": "k", "bytes": int8(5)}), Ref{Kind: KindIDB, BlobKey: "k", Bytes: 5}, ""},
		{"unknown keys", enc(map[string]any{"kind": "idb", "blobKey": "k", "width": 640, "meta": map[string]any{"a": []any{1, "x", map[string]any{}}}, "raw": []byte{1, 2}}),
			Ref{Kind: KindIDB, BlobKey: "k"}, ""},
		{"long unknown key", enc(map[string]any{"kind": "idb", "blobKey": "k", strings.Repeat("x", 300): 1}), Ref{Kind: KindIDB, BlobKey: "k"}, ""},
		{"nil field", enc(map[string]any{"kind": "idb", "blobKey": "k", "mime": nil, "bytes": nil}), Ref{Kind: KindIDB, BlobKey: "k"}, ""},
		{"str8 for a short string", []byte{0x82, 0xa4, 'k', 'i', 'n', 'd', 0xd9, 3, 'i', 'd', 'b', 0xa7, 'b', 'l', 'o', 'b', 'K', 'e', 'y', 0xa1, 'k'},
			Ref{Kind: KindIDB, BlobKey: "k"}, ""},

		{"duplicate key last wins", []byte{0x83, 0xa4, 'k', 'i', 'n', 'd', 0xa3, 'i', 'd', 'b', 0xa7, 'b', 'l', 'o', 'b', 'K', 'e', 'y', 0xa2, 'a', 'a',
			0xa7, 'b', 'l', 'o', 'b', 'K', 'e', 'y', 0xa1, 'b'}, Ref{Kind: KindIDB, BlobKey: "b"}, ""},

		{"array", enc([]any{"kind", "idb"}), Ref{}, "!"},
		{"string", enc("opfs"), Ref{}, "!"},
		{"int key", enc(map[int]string{1: "idb"}), Ref{}, "!"},
		{"kind int", enc(map[string]any{"kind": 1, "blobKey": "k"}), Ref{}, "kind"},
		{"field bin", enc(map[string]any{"kind": "idb", "blobKey": []byte("k")}), Ref{}, "blobKey"},
		{"bytes float", enc(map[string]any{"kind": "idb", "blobKey": "k", "bytes": 1.0}), Ref{}, "bytes"},
		{"bytes string", enc(map[string]any{"kind": "idb", "blobKey": "k", "bytes": "1"}), Ref{}, "bytes"},
		{"bytes negative", enc(map[string]any{"kind": "idb", "blobKey": "k", "bytes": -1}), Ref{}, "bytes"},
		{"bytes over max", enc(map[string]any{"kind": "idb", "blobKey": "k", "bytes": uint64(MaxBytes + 1)}), Ref{}, "bytes"},
		{"bytes huge", enc(map[string]any{"kind": "idb", "blobKey": "k", "bytes": uint64(1 << 63)}), Ref{}, "bytes"},
		{"field too long", enc(map[string]any{"kind": "embedded", "id": long}), Ref{}, "id"},
		{"deep unknown", append(append([]byte{0x82, 0xa4, 'k', 'i', 'n', 'd', 0xa3, 'i', 'd', 'b', 0xa1, 'x'}, bytes.Repeat([]byte{0x91}, 100)...), 0xc0), Ref{}, "!"},
		{"invalid ref", enc(map[string]any{"kind": "opfs", "path": "../etc/passwd"}), Ref{}, "path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sentinel := Ref{Kind: KindEmbedded, ID: "unchanged"}
			got := sentinel
			err := got.UnmarshalMsgpack(tt.in)
			if tt.field != "" {
				field := tt.field
				if field == "!" {
					field = ""
				}
				checkRefError(t, err, field)
				if got != sentinel {
					t.Fatalf("failed UnmarshalMsgpack changed the ref to %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("UnmarshalMsgpack(%x): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("UnmarshalMsgpack(%x) =\n%+v\nwant\n%+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestDecodeMsgpackMalformed(t *testing.T) {
	t.Parallel()
	b, err := msgpack.Marshal(typicalRef)
	if err != nil {
		t.Fatal(err)
	}
	var r Ref
	if err := r.UnmarshalMsgpack(append(b, 0xc0)); !errors.Is(err, ErrMsgpackTrailing) {
		t.Errorf("trailing byte: %v, want ErrMsgpackTrailing", err)
	}
	bad := []byte{0x82, 0xa4, 'k', 'i', 'n', 'd', 0xa3, 'i', 'd', 'b', 0xa1, 'x', 0xc1}
	if err := r.UnmarshalMsgpack(bad); err == nil || errors.Is(err, errs.ErrInvalidRef) {
		t.Errorf("unknown key with the unused code 0xc1: %v, want a msgpack error", err)
	}
	if r != (Ref{}) {
		t.Errorf("failed UnmarshalMsgpack changed the ref to %+v", r)
	}
}

func TestDecodeMsgpackNil(t *testing.T) {
	t.Parallel()
	r := typicalRef
	if err := r.UnmarshalMsgpack([]byte{msgpcode.Nil}); err != nil {
		t.Fatal(err)
	}
	if r != typicalRef {
		t.Fatalf("nil changed the ref to %+v", r)
	}
}

func TestDecodeMsgpackTruncated(t *testing.T) {
	t.Parallel()
	b, err := msgpack.Marshal(typicalRef)
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(b) {
		var r Ref
		err := r.UnmarshalMsgpack(b[:n])
		if err == nil {
			t.Fatalf("decoding %d of %d bytes succeeded", n, len(b))
		}
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("decoding %d of %d bytes: %v, want an EOF error", n, len(b), err)
		}
	}
}

// TestDecodeMsgpackHostileLength checks that a length prefix is not trusted
// with an allocation: a 4 GiB string header on a few bytes of input fails
// at once.
func TestDecodeMsgpackHostileLength(t *testing.T) {
	// Not parallel: it measures the bytes allocated.
	for _, key := range []string{"url", "unknownKey"} {
		in := []byte{0x82, 0xa4, 'k', 'i', 'n', 'd', 0xa3, 'u', 'r', 'l', 0xa0 | byte(len(key))}
		in = append(in, key...)
		in = append(in, msgpcode.Str32, 0xff, 0xff, 0xff, 0xff, 'h')
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var r Ref
		err := r.UnmarshalMsgpack(in)
		runtime.ReadMemStats(&after)
		if key == "url" {
			checkRefError(t, err, "url")
		} else if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			t.Fatalf("%s: err = %v, want an EOF error", key, err)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
			t.Fatalf("%s: decoding a hostile length allocated %d bytes", key, n)
		}
	}
	// A string over the limit that is all there is a RefError.
	b, err := msgpack.Marshal(map[string]string{"kind": "url", "url": "https://x/" + strings.Repeat("a", MaxURLLen)})
	if err != nil {
		t.Fatal(err)
	}
	var r Ref
	checkRefError(t, r.UnmarshalMsgpack(b), "url")
}

// TestMsgpackInRecord checks Ref as a field of records encoded by the
// msgpack package, including with string interning on, which must not fall
// out of step around a Ref.
func TestMsgpackInRecord(t *testing.T) {
	t.Parallel()
	type node struct {
		ID     string `msgpack:"id"`
		Result Ref    `msgpack:"result"`
		Thumb  *Ref   `msgpack:"thumb"`
		Note   string `msgpack:"note"`
	}
	thumb := Ref{Kind: KindEmbedded, ID: "thumb", MIME: "image/png"}
	in := []node{
		{ID: "n1", Result: typicalRef, Thumb: &thumb, Note: "image/png"},
		{ID: "n2", Result: typicalRef, Note: "image/png"},
	}
	for _, intern := range []bool{false, true} {
		var buf bytes.Buffer
		enc := msgpack.NewEncoder(&buf)
		enc.UseInternedStrings(intern)
		if err := enc.Encode(in); err != nil {
			t.Fatal(err)
		}
		dec := msgpack.NewDecoder(&buf)
		dec.UseInternedStrings(intern)
		var out []node
		if err := dec.Decode(&out); err != nil {
			t.Fatalf("intern=%v: %v", intern, err)
		}
		if len(out) != 2 || out[0].Result != typicalRef || out[0].Thumb == nil || *out[0].Thumb != thumb ||
			out[1].Thumb != nil || out[1].Note != "image/png" || out[1].ID != "n2" {
			t.Fatalf("intern=%v: round trip = %+v", intern, out)
		}
	}

	// An invalid nested ref fails the record with ErrInvalidRef, both ways.
	_, err := msgpack.Marshal(node{Result: Ref{Kind: KindOPFS, Path: "a/../b"}})
	checkRefError(t, err, "path")
	b, err := msgpack.Marshal(map[string]any{"id": "n", "result": map[string]any{"kind": "url", "url": "file:///x"}})
	if err != nil {
		t.Fatal(err)
	}
	var out node
	checkRefError(t, msgpack.Unmarshal(b, &out), "url")
}

// TestOptionalRefField checks what the package documentation recommends for
// optional refs: the zero Ref does not encode, but a field tagged omitzero
// (JSON) or omitempty (msgpack) is left out when zero.
func TestOptionalRefField(t *testing.T) {
	t.Parallel()
	type rec struct {
		Name  string `json:"name" msgpack:"name"`
		Thumb Ref    `json:"thumb,omitzero" msgpack:"thumb,omitempty"`
	}
	if _, err := json.Marshal(struct{ R Ref }{}); !errors.Is(err, errs.ErrInvalidRef) {
		t.Fatalf("json.Marshal of a zero Ref field: %v, want ErrInvalidRef", err)
	}
	if _, err := msgpack.Marshal(struct{ R Ref }{}); !errors.Is(err, errs.ErrInvalidRef) {
		t.Fatalf("msgpack.Marshal of a zero Ref field: %v, want ErrInvalidRef", err)
	}
	for _, in := range []rec{{Name: "a"}, {Name: "b", Thumb: typicalRef}} {
		j, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var outJ rec
		if err := json.Unmarshal(j, &outJ); err != nil || outJ != in {
			t.Fatalf("JSON %s: %+v, %v", j, outJ, err)
		}
		m, err := msgpack.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var outM rec
		if err := msgpack.Unmarshal(m, &outM); err != nil || outM != in {
			t.Fatalf("msgpack %x: %+v, %v", m, outM, err)
		}
		if in.Thumb == (Ref{}) && (bytes.Contains(j, []byte("thumb")) || bytes.Contains(m, []byte("thumb"))) {
			t.Fatalf("zero thumb was written: %s / %x", j, m)
		}
	}
}
