//go:build js && wasm

package fsx

import (
	"context"
	"crypto/rand"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// TestBlobCRC32MatchesGo checks the JavaScript checksum, and the Go one it
// falls back to, against hash/crc32: sizes around the word and slice
// boundaries, and slices of a Blob that start at odd offsets.
func TestBlobCRC32MatchesGo(t *testing.T) {
	big := make([]byte, 2*crcPiece+crcDepth*crcPiece+13)
	rand.Read(big)
	whole, err := WrapBlob(jsBlobType.New([]any{jsutil.Uint8Array(big)}))
	if err != nil {
		t.Fatal(err)
	}
	type span struct{ off, n int }
	spans := []span{{0, 0}, {0, 1}, {3, 3}, {1, 15}, {5, 16}, {7, 17}, {0, 4096}, {1, 65537},
		{0, crcPiece}, {0, crcPiece + 1}, {9, crcPiece - 1}, {0, len(big)}, {11, len(big) - 11}}
	for _, inGo := range []bool{false, true} {
		crcInGo = inGo
		for _, s := range spans {
			b, err := WrapBlob(whole.Slice(int64(s.off), int64(s.off+s.n)))
			if err != nil {
				t.Fatal(err)
			}
			got, err := BlobCRC32(t.Context(), b)
			if want := crc32.ChecksumIEEE(big[s.off : s.off+s.n]); err != nil || got != want {
				t.Errorf("in Go %v, %d bytes at %d: %#08x (%v), want %#08x", inGo, s.n, s.off, got, err, want)
			}
		}
	}
	crcInGo = false
	if _, err := crcJS(); err != nil {
		t.Errorf("the JavaScript checksum did not compile here: %v", err)
	}
}

// TestBlobCRC32Fails: a removed file fails with ErrNotFound, a cancelled
// context with its error, both ways.
func TestBlobCRC32Fails(t *testing.T) {
	d := testDir(t)
	f := writeFile(t, d, "gone", make([]byte, 3*crcPiece))
	b, err := f.Blob(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(t.Context(), "gone", false); err != nil {
		t.Fatal(err)
	}
	defer func() { crcInGo = false }()
	for _, inGo := range []bool{false, true} {
		crcInGo = inGo
		if _, err := BlobCRC32(t.Context(), b); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("in Go %v: removed file: %v; want ErrNotFound", inGo, err)
		}
		big, _ := WrapBlob(jsBlobType.New([]any{jsutil.Uint8Array(make([]byte, 4*crcPiece))}))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := BlobCRC32(ctx, big); !errors.Is(err, context.Canceled) {
			t.Errorf("in Go %v: cancelled: %v", inGo, err)
		}
	}
}
