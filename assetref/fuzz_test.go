package assetref

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// Both fuzz targets are seeded with every ref of refCases, valid or not,
// written without validation, so the fuzzer starts next to both sides of
// every rule.

func FuzzUnmarshalJSON(f *testing.F) {
	for _, c := range refCases {
		f.Add(c.ref.appendJSON(nil))
	}
	for _, s := range []string{
		`null`, `{}`, `[]`, `{"kind":"idb","blobKey":"k","x":{"y":[1,"}",{"z":null}]}}`,
		`{"kind":"idb","blobKey":"\ud83d\ude00\ud800","bytes":-0}`, `{"kind":"idb","blobKey":"a","blobKey":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Ref
		err := r.UnmarshalJSON(data)

		// The hand-written decoder must agree with encoding/json.
		want, isNull, werr := referenceDecodeJSON(data)
		if (err == nil) != (werr == nil) {
			t.Fatalf("UnmarshalJSON(%q): err = %v, reference decoder err = %v", data, err, werr)
		}
		if err != nil || isNull {
			if r != (Ref{}) {
				t.Fatalf("UnmarshalJSON(%q) = %v and changed the ref to %+v", data, err, r)
			}
			return
		}
		if r != want {
			t.Fatalf("UnmarshalJSON(%q) =\n%+v\nreference decoder:\n%+v", data, r, want)
		}
		checkAccepted(t, r)
	})
}

func FuzzDecodeMsgpack(f *testing.F) {
	for _, c := range refCases {
		f.Add(c.ref.appendMsgpack(nil))
	}
	for _, v := range []any{
		nil, map[string]any{}, []any{1},
		map[string]any{"kind": "idb", "blobKey": "k", "x": map[string]any{"y": []any{1, "a", nil, 1.5, []byte{1}}}},
		map[string]any{"kind": "idb", "blobKey": "k", "bytes": uint64(1 << 60)},
	} {
		b, err := msgpack.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Ref
		err := r.UnmarshalMsgpack(data)
		if err != nil || data[0] == msgpcode.Nil {
			if r != (Ref{}) {
				t.Fatalf("UnmarshalMsgpack(%x) = %v and changed the ref to %+v", data, err, r)
			}
			return
		}
		checkAccepted(t, r)
		// What this decoder accepts is one whole msgpack map to the
		// msgpack package too.
		dec := msgpack.NewDecoder(bytes.NewReader(data))
		if v, err := dec.DecodeInterface(); err != nil {
			t.Fatalf("accepted %x, which the msgpack package rejects: %v", data, err)
		} else if _, ok := v.(map[string]any); !ok {
			t.Fatalf("accepted %x, which the msgpack package reads as %T", data, v)
		}
		if _, err := dec.PeekCode(); err == nil {
			t.Fatalf("accepted %x with bytes after the map", data)
		}
	})
}

// checkAccepted checks what must hold for any decoded ref: it validates,
// and it survives both codecs unchanged.
func checkAccepted(t *testing.T, r Ref) {
	t.Helper()
	if err := r.Validate(); err != nil {
		t.Fatalf("decoded %+v does not validate: %v", r, err)
	}
	j, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("MarshalJSON(%+v): %v", r, err)
	}
	var rj Ref
	if err := json.Unmarshal(j, &rj); err != nil || rj != r {
		t.Fatalf("JSON round trip of %+v via %s = %+v, %v", r, j, rj, err)
	}
	m, err := msgpack.Marshal(r)
	if err != nil {
		t.Fatalf("EncodeMsgpack(%+v): %v", r, err)
	}
	var rm Ref
	if err := msgpack.Unmarshal(m, &rm); err != nil || rm != r {
		t.Fatalf("msgpack round trip of %+v via %x = %+v, %v", r, m, rm, err)
	}
}
