//go:build js && wasm

package fsx

import (
	"context"
	"io"
	"syscall/js"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// AssetBlob is a Blob as the public packages see it: an assetref.Blob.
// The library's stores and transports recognize it (BlobOf) and give the
// browser the JavaScript Blob itself; other Go code reads it through
// ReadAt. It is safe for concurrent use.
type AssetBlob struct {
	b    *Blob
	mime string
}

var _ assetref.Blob = (*AssetBlob)(nil)

// Asset returns b as an assetref.Blob of the media type mime, or of b's
// own type (the browser's type property) if mime is "".
func (b *Blob) Asset(mime string) *AssetBlob {
	if mime == "" {
		mime = b.Type()
	}
	return &AssetBlob{b: b, mime: mime}
}

// Type returns the media type the browser records for the Blob ("" for
// none, as for files in OPFS).
func (b *Blob) Type() string {
	if t := b.v.Get("type"); t.Type() == js.TypeString {
		return t.String()
	}
	return ""
}

// WrapAssetBlob returns the assetref.Blob of a JavaScript Blob or File the
// application handed over, of the Blob's own type. It fails if v is not a
// Blob.
func WrapAssetBlob(v js.Value) (*AssetBlob, error) {
	b, err := WrapBlob(v)
	if err != nil {
		return nil, err
	}
	return b.Asset(""), nil
}

// BlobOf returns the browser Blob behind b when b is one (an *AssetBlob);
// ok is false for other implementations, which callers read through
// ReadAt.
func BlobOf(b assetref.Blob) (blob *Blob, ok bool) {
	a, ok := b.(*AssetBlob)
	if !ok || a == nil {
		return nil, false
	}
	return a.b, true
}

// Size returns the length of the content in bytes.
func (a *AssetBlob) Size() int64 { return a.b.Size() }

// MIME returns the content's media type.
func (a *AssetBlob) MIME() string { return a.mime }

// ReadAt reads len(p) bytes at off in one slice of the Blob, as
// io.ReaderAt does. io.ReaderAt takes no context: a read is one promise
// of the browser's, which settles by itself.
func (a *AssetBlob) ReadAt(p []byte, off int64) (int, error) {
	return a.b.ReadAt(context.Background(), p, off)
}

// jsPiece is how much BlobJS copies into JavaScript at a time.
const jsPiece = 4 << 20

// BlobJS returns b as a JavaScript Blob: for an AssetBlob the browser's
// own, and otherwise a new Blob of b's content and media type, read
// through ReadAt a piece at a time (the copy lives in JavaScript memory).
// It fails with the error of a failed read.
func BlobJS(b assetref.Blob) (js.Value, error) {
	if blob, ok := BlobOf(b); ok {
		return blob.JSValue(), nil
	}
	size := b.Size()
	buf := make([]byte, min(size, jsPiece))
	var parts []js.Value
	for off := int64(0); off < size; {
		n, err := b.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if n > 0 {
			parts = append(parts, jsutil.Uint8Array(buf[:n]))
			off += int64(n)
		}
		if n == 0 && err == nil {
			return js.Undefined(), io.ErrNoProgress
		}
		if err == io.EOF && off < size {
			return js.Undefined(), io.ErrUnexpectedEOF
		}
		if err != nil && err != io.EOF {
			return js.Undefined(), err
		}
	}
	return NewBlob(parts, b.MIME()).JSValue(), nil
}

// BlobBuilder collects the parts of a new Blob: bytes, copied out of Go as
// they come (Go memory holds none of them), and Blobs, which the new Blob
// refers to rather than copies. The zero value is empty and ready to use.
type BlobBuilder struct{ parts []js.Value }

// Write appends a copy of p.
func (b *BlobBuilder) Write(p []byte) {
	b.parts = append(b.parts, jsutil.Uint8Array(p))
}

// Append appends the content of blob, without copying it.
func (b *BlobBuilder) Append(blob *Blob) {
	b.parts = append(b.parts, blob.v)
}

// Parts returns the parts appended so far: Uint8Arrays and Blobs.
func (b *BlobBuilder) Parts() []js.Value { return b.parts }

// Blob returns the concatenation of the parts as one Blob of the media type
// mime.
func (b *BlobBuilder) Blob(mime string) *Blob { return NewBlob(b.parts, mime) }
