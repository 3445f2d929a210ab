//go:build js && wasm

package fsx

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
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
// Blob's content. Up to 256 MiB it uses the browser's native SHA-256
// (WebCrypto), an order of magnitude faster than SHA-256 in Go on wasm;
// larger content streams through Go in 4 MiB slices to bound memory.
func HashBlob(ctx context.Context, b *Blob) (string, error) {
	s, err := sum(ctx, b, false)
	return s.Hash, err
}

// SumBlob is HashBlob that also returns the content's CRC-32 where it
// comes at little cost: up to 256 MiB, computed in JavaScript over the
// bytes WebCrypto hashes, while it hashes them (a piece at a time, the
// page running in between). Larger content, or a page that does not let
// the module compile JavaScript, gets no CRC-32 (HasCRC false).
func SumBlob(ctx context.Context, b *Blob) (Sum, error) { return sum(ctx, b, true) }

func sum(ctx context.Context, b *Blob, withCRC bool) (Sum, error) {
	subtle := js.Global().Get("crypto").Get("subtle")
	if b.size <= maxDigestBytes && subtle.Truthy() {
		ab, err := jsutil.Await(ctx, b.v.Call("arrayBuffer"))
		if err != nil {
			return Sum{}, fmt.Errorf("fsx: read blob: %w", err)
		}
		// digest copies the bytes before it returns: the checksum reads
		// the same buffer while WebCrypto hashes its copy.
		var digest js.Value
		if err := jsutil.Try(func() { digest = subtle.Call("digest", "SHA-256", ab) }); err != nil {
			return Sum{}, fmt.Errorf("fsx: digest: %w", err)
		}
		var out Sum
		if f, err := crcJS(); withCRC && err == nil && !crcInGo {
			if v, err := jsutil.Await(ctx, f.Call("bytes", ab, crcPiece)); err == nil {
				out.CRC32, out.HasCRC = uint32(v.Float()), true
			} else if ctx.Err() != nil {
				return Sum{}, ctx.Err()
			}
		}
		d, err := jsutil.Await(ctx, digest)
		if err != nil {
			return Sum{}, fmt.Errorf("fsx: digest: %w", err)
		}
		var h [sha256.Size]byte
		js.CopyBytesToGo(h[:], js.Global().Get("Uint8Array").New(d))
		out.Hash = assetref.FormatHash(h)
		return out, nil
	}
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
