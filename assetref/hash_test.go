package assetref

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"strings"
	"testing"
)

func TestHashBytes(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		// Values from `printf %s "$in" | openssl dgst -sha256 -binary | base64`.
		{"", "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
		{"hello", "sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="},
	}
	for _, tt := range tests {
		if got := HashBytes([]byte(tt.in)); got != tt.want {
			t.Errorf("HashBytes(%q) = %s, want %s", tt.in, got, tt.want)
		}
		sum, err := ParseHash(tt.want)
		if err != nil {
			t.Fatalf("ParseHash(%s): %v", tt.want, err)
		}
		if sum != sha256.Sum256([]byte(tt.in)) {
			t.Errorf("ParseHash(%s) = %x, want the digest of %q", tt.want, sum, tt.in)
		}
		if got := FormatHash(sum); got != tt.want {
			t.Errorf("FormatHash(%x) = %s, want %s", sum, got, tt.want)
		}
	}
}

func TestParseHashRejects(t *testing.T) {
	t.Parallel()
	// The hash cases of the shared table, through ParseHash directly.
	n := 0
	for _, c := range refCases {
		if c.field != "hash" {
			continue
		}
		n++
		_, err := ParseHash(c.ref.Hash)
		checkRefError(t, err, "hash")
	}
	if n < 5 {
		t.Fatalf("only %d hash cases in refCases", n)
	}
}

func TestHasher(t *testing.T) {
	t.Parallel()
	data := bytes.Repeat([]byte("0123456789abcdef"), 10000)
	var h Hasher
	if got, want := h.Sum(), HashBytes(nil); got != want {
		t.Fatalf("zero Hasher Sum = %s, want %s", got, want)
	}
	// Odd-sized writes, as io.CopyBuffer with a 7-byte buffer makes them.
	if _, err := io.CopyBuffer(&h, io.LimitReader(bytes.NewReader(data), int64(len(data))), make([]byte, 7)); err != nil {
		t.Fatal(err)
	}
	if got, want := h.Sum(), HashBytes(data); got != want {
		t.Fatalf("Sum = %s, want %s", got, want)
	}
	if h.Size() != int64(len(data)) {
		t.Fatalf("Size = %d, want %d", h.Size(), len(data))
	}
	// Sum does not disturb the state.
	h.Write([]byte("x"))
	if got, want := h.Sum(), HashBytes(append(data, 'x')); got != want {
		t.Fatalf("Sum after more writes = %s, want %s", got, want)
	}
	h.Reset()
	if h.Size() != 0 || h.Sum() != HashBytes(nil) {
		t.Fatalf("after Reset: Size %d, Sum %s", h.Size(), h.Sum())
	}
}

// FuzzParseHash checks the hand-written decoder against encoding/base64 in
// strict mode, which is the definition ParseHash follows, except that
// encoding/base64 skips CR and LF, which ParseHash rejects.
func FuzzParseHash(f *testing.F) {
	for _, c := range refCases {
		if c.ref.Hash != "" {
			f.Add(c.ref.Hash)
		}
	}
	f.Add(HashBytes(nil))
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseHash(s)
		payload, hasPrefix := strings.CutPrefix(s, "sha256-")
		dec, derr := base64.StdEncoding.Strict().DecodeString(payload)
		want := hasPrefix && derr == nil && len(dec) == 32 && len(payload) == 44 && !strings.ContainsAny(payload, "\r\n")
		if (err == nil) != want {
			t.Fatalf("ParseHash(%q) err = %v, want ok=%v (base64: %v, %d bytes)", s, err, want, derr, len(dec))
		}
		if err != nil {
			return
		}
		if !bytes.Equal(got[:], dec) {
			t.Fatalf("ParseHash(%q) = %x, want %x", s, got, dec)
		}
		if FormatHash(got) != s {
			t.Fatalf("FormatHash(ParseHash(%q)) = %q", s, FormatHash(got))
		}
	})
}
