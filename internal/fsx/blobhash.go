//go:build js && wasm

package fsx

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"syscall/js"

	"github.com/atelierstore/atelier/assetref"
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

// SetDigestLimit sets DigestLimit to n and returns the function that puts
// it back: for tests, which reach the paths for larger content with small
// content this way.
func SetDigestLimit(n int64) (restore func()) {
	old := maxDigestBytes
	maxDigestBytes = n
	return func() { maxDigestBytes = old }
}

// Sum is what SumBlob learns of a Blob's content.
type Sum struct {
	Hash string // hash string, assetref form ("sha256-…")
	// CRC32 is the CRC-32 (IEEE, as zip uses) of the content, when HasCRC.
	CRC32  uint32
	HasCRC bool
}

// StartSum starts SumBlob and returns a function that waits for the
// result (and returns it again at every later call): the browser hashes
// while the caller does other work, such as writing the same Blob.
func StartSum(ctx context.Context, b *Blob) func() (Sum, error) { return start(ctx, b, true) }

// StartHashOnly is StartSum without the CRC-32 (HasCRC false).
func StartHashOnly(ctx context.Context, b *Blob) func() (Sum, error) { return start(ctx, b, false) }

func start(ctx context.Context, b *Blob, withCRC bool) func() (Sum, error) {
	type result struct {
		s   Sum
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := sum(ctx, b, withCRC)
		ch <- result{s, err}
	}()
	// The result is kept: a caller that waited for it on its way to a
	// failure may wait again while it cleans up.
	var (
		once sync.Once
		r    result
	)
	return func() (Sum, error) {
		once.Do(func() { r = <-ch })
		return r.s, r.err
	}
}

// HashBlob returns the hash string (assetref form, "sha256-…") of the
// Blob's content, without its bytes passing through Go: the bridge hashes
// it, in its digest worker where that can start (off the calling thread)
// and on the calling thread otherwise. Up to DigestLimit the content is
// read whole for WebCrypto's SHA-256 (see Streaming); larger content is
// read as a stream for the streaming SHA-256 of hash-wasm, so that memory
// stays at a few chunks. Without the bridge it is hashed in Go.
func HashBlob(ctx context.Context, b *Blob) (string, error) {
	s, err := sum(ctx, b, false)
	return s.Hash, err
}

// SumBlob is HashBlob that also returns the content's CRC-32, computed in
// WebAssembly over the same bytes while they are hashed. Without the
// bridge it has none (HasCRC false).
func SumBlob(ctx context.Context, b *Blob) (Sum, error) { return sum(ctx, b, true) }

func sum(ctx context.Context, b *Blob, withCRC bool) (Sum, error) {
	f, err := sumJS()
	if err != nil || streamInGo {
		return sumGo(ctx, b)
	}
	return streamSum(ctx, withCRC, nil, func(o js.Value) js.Value {
		o.Set("piece", crcPiece)
		if b.size > maxDigestBytes {
			o.Set("piece", streamPiece)
		}
		return f.Call("blob", b.v, o)
	})
}

// sumGo hashes in Go, 4 MiB at a time: only without the bridge.
func sumGo(ctx context.Context, b *Blob) (Sum, error) {
	h := sha256.New()
	buf := make([]byte, 4<<20)
	for off := int64(0); off < b.size; {
		n, err := b.ReadAt(ctx, buf[:min(int64(len(buf)), b.size-off)], off)
		h.Write(buf[:n])
		off += int64(n)
		if err != nil && off < b.size {
			return Sum{}, err
		}
	}
	var hs [sha256.Size]byte
	return Sum{Hash: assetref.FormatHash([sha256.Size]byte(h.Sum(hs[:0])))}, nil
}
