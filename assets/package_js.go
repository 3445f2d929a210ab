//go:build js && wasm

package assets

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/jsnet"
	"github.com/atelierstore/atelier/pack"
)

// BlobReaderAt reads a package, a Blob or File the page holds, as an
// io.ReaderAt, a slice at a time, for Import; it returns the reader and
// the size. The reader also hands out slices of the Blob as parts
// (pack.PartReaderAt): Library.Import stores media assets from those,
// without their bytes passing through Go. A Blob the browser does not hold
// is read as it is. It fails with errs.ErrInvalid for a nil blob.
func BlobReaderAt(ctx context.Context, blob assetref.Blob) (io.ReaderAt, int64, error) {
	if blob == nil {
		return nil, 0, &errs.ValidationError{Entity: "package", Field: "file", Reason: "no Blob"}
	}
	b, ok := fsx.BlobOf(blob)
	if !ok {
		return blob, blob.Size(), nil
	}
	return blobAt{ctx, b}, b.Size(), nil
}

type blobAt struct {
	ctx context.Context
	b   *fsx.Blob
}

func (a blobAt) ReadAt(p []byte, off int64) (int, error) { return a.b.ReadAt(a.ctx, p, off) }

// BlobWriter collects what is written to it into a Blob, one part per
// Write (copied out of Go at once, so Go memory holds none of it). As a
// pack.PartWriter it also takes assets' stored files as parts, which the
// Blob then refers to rather than copies: like a Blob from Library.Blob,
// it reads them when it is read, so save or upload it soon (reading fails
// once an asset in it was deleted or evicted).
type BlobWriter struct{ parts fsx.BlobBuilder }

// Write implements io.Writer.
func (w *BlobWriter) Write(p []byte) (int, error) {
	w.parts.Write(p)
	return len(p), nil
}

// Blob returns everything written so far as one Blob the browser holds,
// of the media type mime.
func (w *BlobWriter) Blob(mime string) assetref.Blob {
	return w.parts.Blob(mime).Asset(mime)
}

// Fetch is a pack.FetchFunc over the browser's fetch: it returns when the
// response headers arrive and streams the body.
func Fetch(ctx context.Context, url string) (*pack.Fetched, error) {
	resp, err := jsnet.Fetch(ctx, jsnet.Request{URL: url})
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", url, err)
	}
	if !resp.OK() {
		resp.Close()
		return nil, fmt.Errorf("fetch %s: %d %s", url, resp.Status, resp.StatusText)
	}
	f := &pack.Fetched{Size: -1}
	f.MIME, _ = resp.Header("content-type")
	if n, ok := resp.Header("content-length"); ok {
		if v, err := strconv.ParseInt(n, 10, 64); err == nil {
			f.Size = v
		}
	}
	f.Body = resp.Body(ctx)
	return f, nil
}
