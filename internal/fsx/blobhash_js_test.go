//go:build js && wasm

package fsx

import (
	"context"
	"crypto/rand"
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
