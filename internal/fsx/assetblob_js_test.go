//go:build js && wasm

package fsx

import (
	"bytes"
	"io"
	"syscall/js"
	"testing"

	"github.com/atelierstore/atelier/internal/jsutil"
)

// goBlob is an assetref.Blob the browser does not hold.
type goBlob struct {
	*bytes.Reader
	mime string
}

func (b goBlob) MIME() string { return b.mime }

func TestAssetBlob(t *testing.T) {
	v := jsBlobType.New([]any{"0123456789"}, map[string]any{"type": "text/plain"})
	a, err := WrapAssetBlob(v)
	if err != nil {
		t.Fatal(err)
	}
	if a.Size() != 10 || a.MIME() != "text/plain" {
		t.Fatalf("size %d, MIME %q", a.Size(), a.MIME())
	}
	p := make([]byte, 4)
	if n, err := a.ReadAt(p, 3); n != 4 || err != nil || string(p) != "3456" {
		t.Fatalf("ReadAt = %d %v %q", n, err, p)
	}
	if n, err := a.ReadAt(p, 8); n != 2 || err != io.EOF {
		t.Fatalf("ReadAt at the end = %d, %v", n, err)
	}
	b, ok := BlobOf(a)
	if !ok || !b.JSValue().Equal(v) {
		t.Fatal("BlobOf lost the Blob")
	}
	if got := b.Asset("image/png").MIME(); got != "image/png" {
		t.Fatalf("Asset(mime) = %q", got)
	}
	if jb, err := BlobJS(a); err != nil || !jb.Equal(v) {
		t.Fatalf("BlobJS of the browser's Blob: %v", err)
	}
	if _, ok := BlobOf(goBlob{bytes.NewReader(nil), ""}); ok {
		t.Fatal("BlobOf of Go bytes")
	}
	if _, err := WrapAssetBlob(js.ValueOf("text")); err == nil {
		t.Fatal("WrapAssetBlob of a string succeeded")
	}

	data := bytes.Repeat([]byte("abcdefg"), jsPiece/7+100) // more than one piece
	jb, err := BlobJS(goBlob{bytes.NewReader(data), "video/mp4"})
	if err != nil {
		t.Fatal(err)
	}
	back, err := WrapAssetBlob(jb)
	if err != nil || back.MIME() != "video/mp4" || back.Size() != int64(len(data)) {
		t.Fatalf("BlobJS of Go bytes: %v", err)
	}
	got := make([]byte, len(data))
	if _, err := back.ReadAt(got, 0); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("BlobJS of Go bytes holds other bytes: %v", err)
	}
}

func TestBlobBuilder(t *testing.T) {
	var bb BlobBuilder
	buf := []byte("head-")
	bb.Write(buf)
	buf[0] = 'X' // the builder holds a copy
	part, _ := WrapBlob(jsBlobType.New([]any{jsutil.Uint8Array([]byte("middle"))}))
	bb.Append(part)
	bb.Write([]byte("-tail"))
	if n := len(bb.Parts()); n != 3 {
		t.Fatalf("%d parts", n)
	}
	b := bb.Blob("text/plain")
	if s, err := b.Text(t.Context()); err != nil || s != "head-middle-tail" || b.Type() != "text/plain" {
		t.Fatalf("Blob = %q %q, %v", s, b.Type(), err)
	}
}
