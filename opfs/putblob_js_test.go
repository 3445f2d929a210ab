//go:build js && wasm

package opfs

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"hash/crc32"
	"io"
	"syscall/js"
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// pageBlob returns a Blob of data as the page would hand it over.
func pageBlob(t *testing.T, data []byte) assetref.Blob {
	t.Helper()
	b, err := fsx.WrapAssetBlob(js.Global().Get("Blob").New([]any{jsutil.Uint8Array(data)}))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPutBlobStoresWithoutGo(t *testing.T) {
	ctx := context.Background()
	s := openOPFS(t, Options{})
	data := make([]byte, 3<<20+11)
	rand.Read(data)
	b := pageBlob(t, data)
	ref, err := s.PutBlob(ctx, b, assetref.Hint{MIME: "image/png"})
	if err != nil {
		t.Fatal(err)
	}
	if ref.Hash != assetref.HashBytes(data) || ref.Bytes != int64(len(data)) || ref.Kind != assetref.KindOPFS {
		t.Fatalf("ref %+v", ref)
	}
	rc, err := s.Open(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
	// The same content again, through either path: found by hash.
	again, err := s.PutBlob(ctx, b, assetref.Hint{MIME: "image/png"})
	if err != nil || again.Path != ref.Path {
		t.Fatalf("second PutBlob: %+v %v", again, err)
	}
	viaGo, err := s.Put(ctx, bytes.NewReader(data), assetref.Hint{})
	if err != nil || viaGo.Path != ref.Path {
		t.Fatalf("Put of the same bytes: %+v %v", viaGo, err)
	}
	list, _ := s.List(ctx)
	if len(list) != 1 {
		t.Fatalf("%d assets stored", len(list))
	}
	out, err := s.Blob(ctx, ref)
	if err != nil || out.Size() != int64(len(data)) || out.MIME() != "image/png" {
		t.Fatalf("Blob: %v", err)
	}
	if _, ok := fsx.BlobOf(out); !ok {
		t.Fatal("Blob is not the browser's")
	}
	head := make([]byte, 100)
	if n, err := out.ReadAt(head, 5); n != len(head) || err != nil || !bytes.Equal(head, data[5:105]) {
		t.Fatalf("Blob.ReadAt = %d, %v", n, err)
	}
}

// bytesBlob is an assetref.Blob the browser does not hold.
type bytesBlob struct {
	*bytes.Reader
	mime string
}

func (b bytesBlob) MIME() string { return b.mime }

// TestPutBlobOfGoBytes: a Blob of another kind is read through ReadAt and
// stored like Put stores it.
func TestPutBlobOfGoBytes(t *testing.T) {
	ctx := context.Background()
	s := openOPFS(t, Options{})
	data := make([]byte, 1<<20+3)
	rand.Read(data)
	ref, err := s.PutBlob(ctx, bytesBlob{bytes.NewReader(data), "image/png"}, assetref.Hint{MIME: "image/webp"})
	if err != nil || ref.Hash != assetref.HashBytes(data) || ref.MIME != "image/webp" {
		t.Fatalf("PutBlob = %+v, %v", ref, err)
	}
	if again, err := s.PutBlob(ctx, pageBlob(t, data), assetref.Hint{}); err != nil || again.Path != ref.Path {
		t.Fatalf("PutBlob of the same bytes from the page: %+v %v", again, err)
	}
	if _, err := s.PutBlob(ctx, nil, assetref.Hint{}); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("PutBlob(nil) = %v", err)
	}
}

// TestStoredCRC32: PutBlob records the content's CRC-32 with the asset,
// and BlobCRC32 returns it; Put records none, nor do records from before
// the CRC-32 (an export then computes it).
func TestStoredCRC32(t *testing.T) {
	ctx := context.Background()
	s := openOPFS(t, Options{})
	check := func(how string, ref assetref.Ref, data []byte, want bool) {
		t.Helper()
		b, crc, ok, err := s.BlobCRC32(ctx, ref)
		if err != nil || b.Size() != int64(len(data)) || ok != want || ok && crc != crc32.ChecksumIEEE(data) {
			t.Fatalf("%s: BlobCRC32 = %08x, %v, %v; want %08x, %v", how, crc, ok, err, crc32.ChecksumIEEE(data), want)
		}
	}
	for _, n := range []int{0, 5, 9<<20 + 1} {
		data := make([]byte, n)
		rand.Read(data)
		ref, err := s.Put(ctx, bytes.NewReader(data), assetref.Hint{MIME: "video/mp4"})
		if err != nil {
			t.Fatal(err)
		}
		check("Put", ref, data, false)
		data = append(data, 7) // other content for PutBlob
		b := pageBlob(t, data)
		ref, err = s.PutBlob(ctx, b, assetref.Hint{MIME: "video/mp4"})
		if err != nil {
			t.Fatal(err)
		}
		check("PutBlob", ref, data, true)
	}
	// A record written before CRC-32s were recorded.
	data := []byte("older asset")
	b := pageBlob(t, data)
	ref, err := s.PutBlob(ctx, b, assetref.Hint{MIME: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	check("PutBlob", ref, data, true)
	_, id, err := s.locate(ref)
	if err != nil {
		t.Fatal(err)
	}
	r, ok, err := readRecord(ctx, s.meta, id)
	if err != nil || !ok {
		t.Fatalf("readRecord: %v %v", ok, err)
	}
	r.HasCRC, r.CRC32 = false, 0
	if err := writeRecord(ctx, s.meta, id, r); err != nil {
		t.Fatal(err)
	}
	check("old record", ref, data, false)
}

// TestPutBlobSkipCRC stores like PutBlob and records no CRC-32.
func TestPutBlobSkipCRC(t *testing.T) {
	ctx := context.Background()
	s := openOPFS(t, Options{})
	data := []byte("imported content")
	b := pageBlob(t, data)
	ref, err := s.PutBlob(ctx, b, assetref.Hint{MIME: "text/plain", SkipCRC: true})
	if err != nil || ref.Hash != assetref.HashBytes(data) {
		t.Fatalf("PutBlob with SkipCRC: %+v %v", ref, err)
	}
	if _, _, ok, err := s.BlobCRC32(ctx, ref); err != nil || ok {
		t.Fatalf("BlobCRC32: has a CRC-32 (%v), %v", ok, err)
	}
}
