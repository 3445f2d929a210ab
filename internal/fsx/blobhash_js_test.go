//go:build js && wasm

package fsx

import (
	"context"
	"crypto/rand"
	"hash/crc32"
	"syscall/js"
	"testing"
	"time"

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
	// Over maxDigestBytes the content is hashed a slice at a time: by the
	// bridge (hash-wasm), or in Go without it.
	defer SetDigestLimit(1 << 20)()
	for _, inGo := range []bool{false, true} {
		streamInGo = inGo
		for _, n := range []int{1<<20 + 1, 4 << 20, 9<<20 + 3} {
			check(n)
		}
	}
	streamInGo = false
	if _, err := WrapBlob(js.ValueOf("text")); err == nil {
		t.Fatal("wrapped a string")
	}
	parts := []js.Value{jsBlobType.New([]any{"ab"}), jsBlobType.New([]any{"cd"})}
	joined := NewBlob(parts, "text/plain")
	if s, _ := joined.Text(context.Background()); s != "abcd" || joined.Size() != 4 || joined.JSValue().Get("type").String() != "text/plain" {
		t.Fatalf("NewBlob: %q", s)
	}
}

// sumModes runs fn in each way the bridge may hash: in its digest worker
// (checking that the worker runs), on this thread (as where the worker
// cannot start), and with a digest worker whose script fails to load.
func sumModes(t *testing.T, fn func(t *testing.T)) {
	t.Run("DigestWorker", func(t *testing.T) {
		f, err := sumJS()
		if err != nil {
			t.Fatal(err)
		}
		d, err := jsutil.Await(t.Context(), f.Call("digester", digestURL()))
		if err != nil || d.IsNull() {
			t.Fatalf("the digest worker did not start: %v", err)
		}
		fn(t)
	})
	t.Run("InThread", func(t *testing.T) {
		digestInThread = true
		defer func() { digestInThread = false }()
		fn(t)
	})
	t.Run("WorkerFails", func(t *testing.T) {
		url, err := scriptURL(`throw new Error("synthetic: the digest worker fails as it starts");`)
		if err != nil {
			t.Fatal(err)
		}
		old := digestFrom
		digestFrom = func() string { return url }
		defer func() { digestFrom = old }()
		fn(t)
	})
}

// TestSumBlob: SumBlob's hash is HashBlob's, with the content's CRC-32,
// over several slices too, whether the content is hashed whole (WebCrypto)
// or in slices (over DigestLimit, hash-wasm); hashed in Go (without the
// bridge) it has none.
func TestSumBlob(t *testing.T) {
	sumOf := func(t *testing.T, n int) ([]byte, Sum) {
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
	sumModes(t, func(t *testing.T) {
		for _, limit := range []int64{maxDigestBytes, 1 << 20} {
			restore := SetDigestLimit(limit)
			for _, n := range []int{0, 1, 4099, 1<<20 + 1, crcPiece + 3, 2*crcPiece + 1} {
				data, s := sumOf(t, n)
				if !s.HasCRC || s.CRC32 != crc32.ChecksumIEEE(data) {
					t.Fatalf("%d bytes, limit %d: CRC-32 %08x (has %v), want %08x", n, limit, s.CRC32, s.HasCRC, crc32.ChecksumIEEE(data))
				}
			}
			restore()
		}
	})
	streamInGo = true
	defer func() { streamInGo = false }()
	if _, s := sumOf(t, 1<<20+1); s.HasCRC {
		t.Fatalf("hashed in Go, yet a CRC-32: %+v", s)
	}
}

// TestSumBlobCancelled: a hash whose context ends stops with ctx.Err(),
// and the next one works.
func TestSumBlobCancelled(t *testing.T) {
	data := make([]byte, 24<<20)
	rand.Read(data)
	b, err := WrapBlob(jsBlobType.New([]any{jsutil.Uint8Array(data)}))
	if err != nil {
		t.Fatal(err)
	}
	sumModes(t, func(t *testing.T) {
		for _, limit := range []int64{maxDigestBytes, 1 << 20} {
			restore := SetDigestLimit(limit)
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			if _, err := SumBlob(ctx, b); err != context.Canceled {
				t.Fatalf("limit %d: SumBlob with a cancelled context = %v", limit, err)
			}
			ctx, cancel = context.WithTimeout(t.Context(), 5*time.Millisecond)
			_, err := SumBlob(ctx, b)
			cancel()
			if err != nil && err != context.DeadlineExceeded {
				t.Fatalf("limit %d: SumBlob cancelled midway = %v", limit, err)
			}
			if s, err := SumBlob(t.Context(), b); err != nil || s.Hash != assetref.HashBytes(data) {
				t.Fatalf("limit %d: SumBlob after a cancelled one = %+v, %v", limit, s, err)
			}
			restore()
		}
	})
}
