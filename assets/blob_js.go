//go:build js && wasm

package assets

import (
	"context"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/fsx"
)

// The IndexedDB store (idb.BlobStore) takes and gives browser Blobs as
// *fsx.Blob.

// fsxBlobPutter is implemented by stores that take a browser Blob.
type fsxBlobPutter interface {
	PutBlob(ctx context.Context, b *fsx.Blob, hint assetref.Hint) (assetref.Ref, error)
}

// fsxBlobGetter is implemented by stores that give a browser Blob.
type fsxBlobGetter interface {
	Blob(ctx context.Context, ref assetref.Ref) (*fsx.Blob, error)
}

// putBrowserBlob stores b by s's browser Blob path, when s has one and the
// browser holds b; ok is false otherwise.
func putBrowserBlob(ctx context.Context, s assetref.Store, b assetref.Blob, hint assetref.Hint) (ref assetref.Ref, ok bool, err error) {
	p, ok := s.(fsxBlobPutter)
	if !ok {
		return assetref.Ref{}, false, nil
	}
	fb, ok := fsx.BlobOf(b)
	if !ok {
		return assetref.Ref{}, false, nil
	}
	ref, err = p.PutBlob(ctx, fb, hint)
	return ref, true, err
}

// browserBlob returns the asset at ref by s's browser Blob path; ok is
// false when s has none.
func browserBlob(ctx context.Context, s assetref.Store, ref assetref.Ref) (b assetref.Blob, ok bool, err error) {
	g, ok := s.(fsxBlobGetter)
	if !ok {
		return nil, false, nil
	}
	fb, err := g.Blob(ctx, ref)
	if err != nil {
		return nil, true, err
	}
	return fb.Asset(""), true, nil
}

// takesBlobs reports whether s has a Blob path of its own, by which the
// browser copies a Blob it holds into s.
func takesBlobs(s assetref.Store) bool {
	switch s.(type) {
	case blobPutter, fsxBlobPutter:
		return true
	}
	return false
}

// givesBlobs reports whether s gives its content as Blobs the browser
// holds.
func givesBlobs(s assetref.Store) bool {
	switch s.(type) {
	case blobGetter, fsxBlobGetter:
		return true
	}
	return false
}
