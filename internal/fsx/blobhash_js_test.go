//go:build js && wasm

package fsx

import (
	"context"
	"crypto/rand"
	"hash/crc32"
	"syscall/js"
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/jsutil"
)

func TestHashBlobMatchesGo(t *testing.T) {
	check := func(n int) {
		t.Helper()
		data := make([]byte, n)
		rand.Read(data)
		b, err := WrapBlob(jsBlobType.New([]any{jsutil.Uint8Array(data)}))
		if err != nil {
			t.Fatal(err)
		}
		got, err := HashBlob(context.Background(), b)
		if err != nil || got != assetref.HashBytes(data) {
			t.Fatalf("%d bytes (WebCrypto up to %d): HashBlob %q (%v), want %q", n, maxDigestBytes, got, err, assetref.HashBytes(data))
		}
	}
	for _, n := range []int{0, 1, 1 << 20, 3<<20 + 7} {
		check(n)
	}
	// Over maxDigestBytes the content is hashed in Go, 4 MiB at a time.
	defer func(m int64) { maxDigestBytes = m }(maxDigestBytes)
	maxDigestBytes = 1 << 20
	for _, n := range []int{1<<20 + 1, 4 << 20, 9<<20 + 3} {
		check(n)
	}
	if _, err := WrapBlob(js.ValueOf("text")); err == nil {
		t.Fatal("wrapped a string")
	}
	parts := []js.Value{jsBlobType.New([]any{"ab"}), jsBlobType.New([]any{"cd"})}
	joined := NewBlob(parts, "text/plain")
	if s, _ := joined.Text(context.Background()); s != "abcd" || joined.Size() != 4 || joined.JSValue().Get("type").String() != "text/plain" {
		t.Fatalf("NewBlob: %q", s)
	}
}

// TestSumBlob: SumBlob's hash is HashBlob's, and up to maxDigestBytes it
// carries the content's CRC-32 (over several checksum pieces too); above,
// none.
func TestSumBlob(t *testing.T) {
	sumOf := func(n int) ([]byte, Sum) {
		t.Helper()
		data := make([]byte, n)
		rand.Read(data)
		b, err := WrapBlob(jsBlobType.New([]any{jsutil.Uint8Array(data)}))
		if err != nil {
			t.Fatal(err)
		}
		s, err := SumBlob(context.Background(), b)
		if err != nil || s.Hash != assetref.HashBytes(data) {
			t.Fatalf("%d bytes: SumBlob %+v (%v), want hash %q", n, s, err, assetref.HashBytes(data))
		}
		return data, s
	}
	for _, n := range []int{0, 1, 4099, crcPiece + 3, 2*crcPiece + 1} {
		data, s := sumOf(n)
		if !s.HasCRC || s.CRC32 != crc32.ChecksumIEEE(data) {
			t.Fatalf("%d bytes: CRC-32 %08x (has %v), want %08x", n, s.CRC32, s.HasCRC, crc32.ChecksumIEEE(data))
		}
	}
	defer func(m int64) { maxDigestBytes = m }(maxDigestBytes)
	maxDigestBytes = 1 << 20
	if _, s := sumOf(1<<20 + 1); s.HasCRC {
		t.Fatalf("hashed in Go, yet a CRC-32: %+v", s)
	}
}
