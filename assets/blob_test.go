package assets

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/syncengine"
)

// bytesBlob is an assetref.Blob the browser does not hold: bytes in Go
// memory, read through ReadAt.
type bytesBlob struct {
	*bytes.Reader
	mime string
}

func (b bytesBlob) MIME() string { return b.mime }

// TestHostPutBlob: a Blob the browser does not hold is stored through
// ReadAt and registered like Put's bytes; stores that give no Blobs say
// so.
func TestHostPutBlob(t *testing.T) {
	t.Parallel()
	ctx := hostCtx(t)
	h := newHostLib(t, true, Options{}, Env{})
	data := content(200<<10, 40)
	ref, err := h.PutBlob(ctx, bytesBlob{bytes.NewReader(data), "image/webp"}, assetref.Hint{})
	if err != nil {
		t.Fatal(err)
	}
	if ref.Hash != assetref.HashBytes(data) || ref.Kind != assetref.KindOPFS || ref.MIME != "image/webp" || ref.Bytes != int64(len(data)) {
		t.Fatalf("ref %+v: want the content's hash, the Blob's type, the primary store", ref)
	}
	if rec, err := h.reg.Asset(ctx, ref.Hash); err != nil || rec.Ref != ref {
		t.Fatalf("record %+v %v", rec, err)
	}
	if got := readT(t, h.Library, ref); !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
	if again := putT(t, h.Library, data); again != ref {
		t.Fatalf("Put of the same bytes: %+v, want %+v", again, ref)
	}
	typed, err := h.PutBlob(ctx, bytesBlob{bytes.NewReader(content(10, 41)), "image/webp"}, assetref.Hint{MIME: "image/png"})
	if err != nil || typed.MIME != "image/png" {
		t.Fatalf("the hint's MIME: %+v %v", typed, err)
	}
	if _, err := h.PutBlob(ctx, nil, assetref.Hint{}); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("PutBlob(nil) = %v", err)
	}
	if _, err := h.Blob(ctx, ref); !errors.Is(err, errs.ErrUnsupported) {
		t.Fatalf("Blob from a memory store = %v", err)
	}
}

// bytesRemote is a Remote whose Blobs are bytes.
type bytesRemote struct{ h *memHub }

func (r bytesRemote) DownloadBlob(ctx context.Context, hash string) (assetref.Blob, error) {
	f, err := r.h.download(ctx, hash)
	if err != nil {
		return nil, err
	}
	return bytesBlob{bytes.NewReader(f.(fetchedBytes).b), "image/png"}, nil
}

// nilRemote answers without a Blob.
type nilRemote struct{}

func (nilRemote) DownloadBlob(context.Context, string) (assetref.Blob, error) { return nil, nil }

// TestHostSetRemote: Blobs from a Remote are stored through ReadAt when
// they are not the browser's; a Remote that gives none fails for good.
func TestHostSetRemote(t *testing.T) {
	t.Parallel()
	ctx := hostCtx(t)
	h := newMemHub()
	a := memDevice(t, h, true, Options{})
	data := content(300<<10, 42)
	ref := putT(t, a.Library, data)
	if err := syncengine.NewUploader(a, h, nil).Round(ctx); err != nil {
		t.Fatal(err)
	}
	b := newHostLib(t, true, Options{}, Env{})
	b.SetRemote(bytesRemote{h})
	synced(t, b, ref)
	if got := readT(t, b.Library, ref); !bytes.Equal(got, data) {
		t.Fatal("B read other bytes")
	}
	if rec, err := b.reg.Asset(ctx, ref.Hash); err != nil || rec.Remote {
		t.Fatalf("B's record after fetching: %+v %v", rec, err)
	}

	c := newHostLib(t, true, Options{FetchWait: -1}, Env{})
	c.SetRemote(nilRemote{})
	synced(t, c, ref)
	var fe *FetchError
	if _, err := c.Open(ctx, ref); !errors.As(err, &fe) || fe.Temporary() {
		t.Fatalf("Open through a Remote without Blobs = %v", err)
	}
	c.SetRemote(nil)
}
