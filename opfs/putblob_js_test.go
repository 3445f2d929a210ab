//go:build js && wasm

package opfs

import (
	"bytes"
	"context"
	"crypto/rand"
	"hash/crc32"
	"io"
	"syscall/js"
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/jsutil"
)

func TestPutBlobStoresWithoutGo(t *testing.T) {
	ctx := context.Background()
	s := openOPFS(t, Options{})
	data := make([]byte, 3<<20+11)
	rand.Read(data)
	b, err := fsx.WrapBlob(js.Global().Get("Blob").New([]any{jsutil.Uint8Array(data)}))
	if err != nil {
		t.Fatal(err)
	}
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
	if err != nil || out.Size() != int64(len(data)) {
		t.Fatalf("Blob: %v", err)
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
		b, err := fsx.WrapBlob(js.Global().Get("Blob").New([]any{jsutil.Uint8Array(data)}))
		if err != nil {
			t.Fatal(err)
		}
		ref, err = s.PutBlob(ctx, b, assetref.Hint{MIME: "video/mp4"})
		if err != nil {
			t.Fatal(err)
		}
		check("PutBlob", ref, data, true)
	}
	// A record written before CRC-32s were recorded.
	data := []byte("older asset")
	b, err := fsx.WrapBlob(js.Global().Get("Blob").New([]any{jsutil.Uint8Array(data)}))
	if err != nil {
		t.Fatal(err)
	}
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

// TestPutBlobWithoutCRC stores like PutBlob and records no CRC-32.
func TestPutBlobWithoutCRC(t *testing.T) {
	ctx := context.Background()
	s := openOPFS(t, Options{})
	data := []byte("imported content")
	b, err := fsx.WrapBlob(js.Global().Get("Blob").New([]any{jsutil.Uint8Array(data)}))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := s.PutBlobWithoutCRC(ctx, b, assetref.Hint{MIME: "text/plain"})
	if err != nil || ref.Hash != assetref.HashBytes(data) {
		t.Fatalf("PutBlobWithoutCRC: %+v %v", ref, err)
	}
	if _, _, ok, err := s.BlobCRC32(ctx, ref); err != nil || ok {
		t.Fatalf("BlobCRC32: has a CRC-32 (%v), %v", ok, err)
	}
}
