//go:build js && wasm

package opfs

import (
	"bytes"
	"context"
	"crypto/rand"
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
