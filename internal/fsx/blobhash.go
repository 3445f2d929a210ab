//go:build js && wasm

package fsx

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"syscall/js"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/jsutil"
)

var jsBlobType = js.Global().Get("Blob")

// WrapBlob wraps a JavaScript Blob (or File) that the application handed
// over, so that it can be stored without its bytes passing through Go.
func WrapBlob(v js.Value) (*Blob, error) {
	if v.Type() != js.TypeObject || !v.InstanceOf(jsBlobType) {
		return nil, errors.New("fsx: not a Blob or File")
	}
	return &Blob{v: v, size: int64(v.Get("size").Float())}, nil
}

// NewBlob makes one Blob of the concatenation of parts (Blobs), without
// copying their bytes, with the given media type.
func NewBlob(parts []js.Value, mime string) *Blob {
	list := make([]any, len(parts))
	for i, p := range parts {
		list[i] = p
	}
	v := jsBlobType.New(list, map[string]any{"type": mime})
	return &Blob{v: v, size: int64(v.Get("size").Float())}
}

// Slice returns the bytes [start, end) as a Blob, without copying them.
func (b *Blob) Slice(start, end int64) js.Value { return b.v.Call("slice", start, end) }

// maxDigestBytes is the largest Blob HashBlob hashes in one piece with
// WebCrypto, which needs the whole content in memory; larger ones are
// hashed in Go, a slice at a time. A variable for the tests.
var maxDigestBytes int64 = 256 << 20

// DigestLimit is the largest content HashBlob hashes with WebCrypto.
func DigestLimit() int64 { return maxDigestBytes }

// StartHash starts hashing the Blob's content (as HashBlob does) and
// returns a function that waits for the result: the browser hashes while
// the caller does other work, such as writing the same Blob.
func StartHash(ctx context.Context, b *Blob) func() (string, error) {
	type result struct {
		h   string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		h, err := HashBlob(ctx, b)
		ch <- result{h, err}
	}()
	return func() (string, error) {
		r := <-ch
		return r.h, r.err
	}
}

// HashBlob returns the hash string (assetref form, "sha256-…") of the
// Blob's content. Up to 256 MiB it uses the browser's native SHA-256
// (WebCrypto), an order of magnitude faster than SHA-256 in Go on wasm;
// larger content streams through Go in 4 MiB slices to bound memory.
func HashBlob(ctx context.Context, b *Blob) (string, error) {
	subtle := js.Global().Get("crypto").Get("subtle")
	if b.size <= maxDigestBytes && subtle.Truthy() {
		ab, err := jsutil.Await(ctx, b.v.Call("arrayBuffer"))
		if err != nil {
			return "", fmt.Errorf("fsx: read blob: %w", err)
		}
		d, err := jsutil.Await(ctx, subtle.Call("digest", "SHA-256", ab))
		if err != nil {
			return "", fmt.Errorf("fsx: digest: %w", err)
		}
		var sum [sha256.Size]byte
		js.CopyBytesToGo(sum[:], js.Global().Get("Uint8Array").New(d))
		return assetref.FormatHash(sum), nil
	}
	h := sha256.New()
	buf := make([]byte, 4<<20)
	for off := int64(0); off < b.size; {
		n, err := b.ReadAt(ctx, buf[:min(int64(len(buf)), b.size-off)], off)
		h.Write(buf[:n])
		off += int64(n)
		if err != nil && off < b.size {
			return "", err
		}
	}
	var sum [sha256.Size]byte
	return assetref.FormatHash([sha256.Size]byte(h.Sum(sum[:0]))), nil
}
