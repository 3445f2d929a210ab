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
	for _, n := range []int{0, 1, 1 << 20, 3<<20 + 7} {
		data := make([]byte, n)
		rand.Read(data)
		b, err := WrapBlob(jsBlobType.New([]any{jsutil.Uint8Array(data)}))
		if err != nil {
			t.Fatal(err)
		}
		got, err := HashBlob(context.Background(), b)
		if err != nil || got != assetref.HashBytes(data) {
			t.Fatalf("%d bytes: HashBlob %q (%v), want %q", n, got, err, assetref.HashBytes(data))
		}
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
