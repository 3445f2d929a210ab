package assetref

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"testing"
)

func TestJSONRoundTrip(t *testing.T) {
	t.Parallel()
	for _, c := range refCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(c.ref)
			if c.field != "" {
				checkRefError(t, unwrapMarshalerError(err), c.field)
				return
			}
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			var got Ref
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("Unmarshal(%s): %v", b, err)
			}
			if got != c.ref {
				t.Fatalf("round trip of %s:\n got %+v\nwant %+v", b, got, c.ref)
			}
			// The bytes must be what encoding/json itself would write for
			// the same fields, give or take its HTML escaping.
			want, err := json.Marshal(shadowOf(c.ref))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, want) {
				t.Fatalf("encoding differs from encoding/json:\n got %s\nwant %s", b, want)
			}
		})
	}
}

// shadow has the wire layout of Ref, for comparing with what encoding/json
// writes by reflection.
type shadow struct {
	Kind     string `json:"kind"`
	URL      string `json:"url,omitempty"`
	Path     string `json:"path,omitempty"`
	HandleID string `json:"handleId,omitempty"`
	BlobKey  string `json:"blobKey,omitempty"`
	ID       string `json:"id,omitempty"`
	MIME     string `json:"mime,omitempty"`
	Bytes    int64  `json:"bytes,omitempty"`
	Hash     string `json:"hash,omitempty"`
}

func shadowOf(r Ref) shadow {
	return shadow{string(r.Kind), r.URL, r.Path, r.HandleID, r.BlobKey, r.ID, r.MIME, r.Bytes, r.Hash}
}

// unwrapMarshalerError returns the error inside the *json.MarshalerError
// that json.Marshal wraps a MarshalJSON failure in, whose text
// checkRefError inspects.
func unwrapMarshalerError(err error) error {
	var me *json.MarshalerError
	if errors.As(err, &me) {
		return me.Err
	}
	return err
}

func TestMarshalJSONTypical(t *testing.T) {
	t.Parallel()
	b, err := typicalRef.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"opfs","path":"atelier/assets/image/0190a5c8-7b3e-7d2a-9f1e-3c4b5a6d7e8f","mime":"image/png","bytes":1834521,"hash":"` + testHash + `"}`
	if string(b) != want {
		t.Fatalf("MarshalJSON =\n%s\nwant\n%s", b, want)
	}
}

func TestUnmarshalJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    string
		want  Ref
		field string // non-empty: must fail with a RefError naming it; "!" for the whole value
	}{
		{"minimal", `{"kind":"idb","blobKey":"k"}`, Ref{Kind: KindIDB, BlobKey: "k"}, ""},
		{"whitespace", " {\n\t\"kind\" : \"idb\" ,\r\n \"blobKey\":\"k\" } ", Ref{Kind: KindIDB, BlobKey: "k"}, ""},
		{"key order free", `{"bytes":3,"blobKey":"k","kind":"idb"}`, Ref{Kind: KindIDB, BlobKey: "k", Bytes: 3}, ""},
		{"unknown keys", `{"kind":"idb","width":640,"tags":["a","}"],"meta":{"x":{"y":[1,{"z":"\"]"}]}},"blobKey":"k","ok":true,"n":null,"f":-1.5e3}`,
			Ref{Kind: KindIDB, BlobKey: "k"}, ""},
		{"long unknown key", `{"kind":"idb","blobKey":"k","aVeryLongKeyThatIsNotKnownAtAll":"x"}`, Ref{Kind: KindIDB, BlobKey: "k"}, ""},
		{"escaped key", `{"\u006bind":"idb","blobKey":"k"}`, Ref{Kind: KindIDB, BlobKey: "k"}, ""},
		{"escapes", `{"kind":"idb","blobKey":"a\"b\\c\/d\u00e9\ud83d\ude00"}`, Ref{Kind: KindIDB, BlobKey: "a\"b\\c/dé😀"}, ""},
		{"lone surrogate", `{"kind":"idb","blobKey":"a\ud800b"}`, Ref{Kind: KindIDB, BlobKey: "a\ufffdb"}, ""},
		{"reversed surrogates", `{"kind":"idb","blobKey":"\ude00\ud83d"}`, Ref{Kind: KindIDB, BlobKey: "\ufffd\ufffd"}, ""},
		{"invalid UTF-8 replaced", "{\"kind\":\"idb\",\"blobKey\":\"a\xffb\"}", Ref{Kind: KindIDB, BlobKey: "a\ufffdb"}, ""},
		{"null field", `{"kind":"idb","blobKey":"k","mime":null,"bytes":null}`, Ref{Kind: KindIDB, BlobKey: "k"}, ""},
		{"duplicate key last wins", `{"kind":"idb","blobKey":"a","blobKey":"b"}`, Ref{Kind: KindIDB, BlobKey: "b"}, ""},
		{"later null keeps earlier", `{"kind":"idb","blobKey":"a","blobKey":null}`, Ref{Kind: KindIDB, BlobKey: "a"}, ""},
		{"bytes minus zero", `{"kind":"idb","blobKey":"k","bytes":-0}`, Ref{Kind: KindIDB, BlobKey: "k"}, ""},
		{"bytes max", `{"kind":"idb","blobKey":"k","bytes":9007199254740991}`, Ref{Kind: KindIDB, BlobKey: "k", Bytes: MaxBytes}, ""},

		{"empty object", `{}`, Ref{}, "kind"},
		{"keys are case-sensitive", `{"Kind":"idb","blobKey":"k"}`, Ref{}, "kind"},
		{"array", `[]`, Ref{}, "!"},
		{"string", `"opfs"`, Ref{}, "!"},
		{"number", `1`, Ref{}, "!"},
		{"kind number", `{"kind":1,"blobKey":"k"}`, Ref{}, "kind"},
		{"field object", `{"kind":"idb","blobKey":{}}`, Ref{}, "blobKey"},
		{"field bool", `{"kind":"idb","blobKey":"k","mime":true}`, Ref{}, "mime"},
		{"bytes string", `{"kind":"idb","blobKey":"k","bytes":"3"}`, Ref{}, "bytes"},
		{"bytes fraction", `{"kind":"idb","blobKey":"k","bytes":1.0}`, Ref{}, "bytes"},
		{"bytes exponent", `{"kind":"idb","blobKey":"k","bytes":1e3}`, Ref{}, "bytes"},
		{"bytes negative", `{"kind":"idb","blobKey":"k","bytes":-1}`, Ref{}, "bytes"},
		{"bytes huge negative", `{"kind":"idb","blobKey":"k","bytes":-99999999999999999999}`, Ref{}, "bytes"},
		{"bytes over max", `{"kind":"idb","blobKey":"k","bytes":9007199254740992}`, Ref{}, "bytes"},
		{"bytes overflow", `{"kind":"idb","blobKey":"k","bytes":99999999999999999999999}`, Ref{}, "bytes"},
		{"field too long", `{"kind":"embedded","id":"` + string(bytes.Repeat([]byte("a"), MaxIDLen+1)) + `"}`, Ref{}, "id"},
		{"invalid ref", `{"kind":"opfs","path":"../etc/passwd"}`, Ref{}, "path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sentinel := Ref{Kind: KindEmbedded, ID: "unchanged"}
			got := sentinel
			err := got.UnmarshalJSON([]byte(tt.in))
			if tt.field != "" {
				field := tt.field
				if field == "!" {
					field = ""
				}
				checkRefError(t, err, field)
				if got != sentinel {
					t.Fatalf("failed UnmarshalJSON changed the ref to %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("UnmarshalJSON(%s): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("UnmarshalJSON(%s) =\n%+v\nwant\n%+v", tt.in, got, tt.want)
			}
			// The hand-written decoder must agree with encoding/json.
			ref, _, err := referenceDecodeJSON([]byte(tt.in))
			if err != nil || ref != got {
				t.Fatalf("reference decoder: %+v, %v", ref, err)
			}
		})
	}
}

func TestUnmarshalJSONSyntaxError(t *testing.T) {
	t.Parallel()
	for _, in := range []string{``, `{`, `{"kind":"idb",}`, `{"kind" "idb"}`, `{"kind":"idb"} x`, `nul`, "{\"kind\":\"a\x01\"}"} {
		var r Ref
		err := r.UnmarshalJSON([]byte(in))
		var se *json.SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("UnmarshalJSON(%q) = %v, want a *json.SyntaxError", in, err)
		}
	}
}

func TestUnmarshalJSONNull(t *testing.T) {
	t.Parallel()
	r := typicalRef
	if err := r.UnmarshalJSON([]byte(" null ")); err != nil {
		t.Fatal(err)
	}
	if r != typicalRef {
		t.Fatalf("null changed the ref to %+v", r)
	}
}

// TestJSONInRecord checks Ref as a field of a record encoded by
// encoding/json, by value and by pointer.
func TestJSONInRecord(t *testing.T) {
	t.Parallel()
	type node struct {
		ID     string `json:"id"`
		Result Ref    `json:"result"`
		Thumb  *Ref   `json:"thumb"`
		Extra  *Ref   `json:"extra,omitempty"`
	}
	thumb := Ref{Kind: KindURL, URL: "blob:https://app.example/1"}
	in := node{ID: "n1", Result: typicalRef, Thumb: &thumb}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out node
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.ID != in.ID || out.Result != in.Result || out.Thumb == nil || *out.Thumb != thumb || out.Extra != nil {
		t.Fatalf("round trip of %s = %+v", b, out)
	}

	// An invalid nested ref fails the whole record with ErrInvalidRef.
	err = json.Unmarshal([]byte(`{"id":"n1","result":{"kind":"url","url":"javascript:x"}}`), &out)
	checkRefError(t, err, "url")

	// Writing an invalid ref fails instead of storing something unreadable.
	_, err = json.Marshal(node{Result: Ref{Kind: KindOPFS, Path: "/abs"}})
	checkRefError(t, unwrapMarshalerError(err), "path")
}

// referenceDecodeJSON is UnmarshalJSON's specification written with
// encoding/json's tokenizer: exact keys, last duplicate wins, null means
// absent, unknown values skipped. It reports whether the input was null.
func referenceDecodeJSON(data []byte) (Ref, bool, error) {
	var raw json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return Ref{}, false, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return Ref{}, false, err
	}
	if tok == nil {
		return Ref{}, true, nil
	}
	if tok != json.Delim('{') {
		return Ref{}, false, refErr("", "must be a JSON object")
	}
	var s shadow
	strs := map[string]*string{
		"kind": &s.Kind, "url": &s.URL, "path": &s.Path, "handleId": &s.HandleID,
		"blobKey": &s.BlobKey, "id": &s.ID, "mime": &s.MIME, "hash": &s.Hash,
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return Ref{}, false, err
		}
		key := k.(string)
		p, isString := strs[key]
		if !isString && key != "bytes" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return Ref{}, false, err
			}
			continue
		}
		v, err := dec.Token()
		if err != nil {
			return Ref{}, false, err
		}
		switch v := v.(type) {
		case nil:
		case string:
			if !isString {
				return Ref{}, false, refErr(key, "wrong type")
			}
			*p = v
		case json.Number:
			if isString {
				return Ref{}, false, refErr(key, "wrong type")
			}
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil {
				return Ref{}, false, refErr(key, "not an integer")
			}
			s.Bytes = n
		default:
			return Ref{}, false, refErr(key, "wrong type")
		}
	}
	r := Ref{Kind(s.Kind), s.URL, s.Path, s.HandleID, s.BlobKey, s.ID, s.MIME, s.Bytes, s.Hash}
	return r, false, r.Validate()
}
