package assets

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/syncengine"
)

// Blobs: content the browser holds (assetref.Blob). A Blob the page hands
// over goes into the store by the store's Blob path, the browser copying it
// without its bytes passing through Go; stores give their content back as
// Blobs the same way. Any other implementation of assetref.Blob, and any
// store without a Blob path, goes through ReadAt and Put, as a reader
// would.

// blobPutter is implemented by stores that take an assetref.Blob (the OPFS
// and IndexedDB stores, which hand a browser Blob to the browser to copy).
type blobPutter interface {
	PutBlob(ctx context.Context, b assetref.Blob, hint assetref.Hint) (assetref.Ref, error)
}

// blobGetter is implemented by stores that give their content as an
// assetref.Blob (the OPFS and IndexedDB stores).
type blobGetter interface {
	Blob(ctx context.Context, ref assetref.Ref) (assetref.Blob, error)
}

// putBlob stores b in s by the best path s offers: its Blob path, or Put
// reading b through ReadAt.
func putBlob(ctx context.Context, s assetref.Store, b assetref.Blob, hint assetref.Hint) (assetref.Ref, error) {
	if p, ok := s.(blobPutter); ok {
		return p.PutBlob(ctx, b, hint)
	}
	return s.Put(ctx, io.NewSectionReader(b, 0, b.Size()), hint)
}

// getBlob returns the content of the asset at ref in s as a Blob. It fails
// with errs.ErrUnsupported when s cannot give one.
func getBlob(ctx context.Context, s assetref.Store, ref assetref.Ref) (assetref.Blob, error) {
	if g, ok := s.(blobGetter); ok {
		return g.Blob(ctx, ref)
	}
	return nil, fmt.Errorf("store %T cannot give a Blob: %w", s, errs.ErrUnsupported)
}

// PutBlob stores content the page holds, a Blob or File, and registers it;
// otherwise like Put. The browser copies the Blob into the store (and
// hashes it) without its bytes passing through Go. hint.MIME defaults to
// the Blob's. It fails with errs.ErrInvalid for a nil blob.
//
// Only the JavaScript binding makes Blobs the browser holds; any other
// implementation of assetref.Blob is read through ReadAt.
func (l *Library) PutBlob(ctx context.Context, blob assetref.Blob, hint assetref.Hint) (assetref.Ref, error) {
	if blob == nil {
		return assetref.Ref{}, &errs.ValidationError{Entity: "asset", Field: "blob", Reason: "no Blob"}
	}
	if hint.MIME == "" {
		hint.MIME = blob.MIME()
	}
	s, err := l.newStore(ctx)
	if err != nil {
		return assetref.Ref{}, err
	}
	hint = withID(hint)
	ref, err := l.withRoom(ctx, blob.Size(), func() (assetref.Ref, error) { return putBlob(ctx, s, blob, hint) })
	if errors.Is(err, errs.ErrUnsupported) && l.primary != nil && s == l.primary {
		// OPFS refused at write time, as Put handles it; a Blob can
		// always be read again.
		l.log.Warn("OPFS refused a write: using IndexedDB", "err", err)
		s = l.fallback
		ref, err = l.withRoom(ctx, blob.Size(), func() (assetref.Ref, error) { return putBlob(ctx, s, blob, hint) })
	}
	if err != nil {
		return assetref.Ref{}, err
	}
	return l.register(ctx, s, ref)
}

// Blob returns an asset's content as a Blob the browser holds, without
// reading it into Go (for an <img> through URL.createObjectURL, or an
// upload), fetching it first like Open. It fails like Open, and with
// errs.ErrUnsupported for a store that cannot give Blobs (outside the
// browser).
//
// The Blob reads the stored file when it is read: Evict keeps assets read
// within Options.EvictIdle, so display it (or copy it) well within that.
func (l *Library) Blob(ctx context.Context, ref assetref.Ref) (assetref.Blob, error) {
	var out assetref.Blob
	_, err := l.access(ctx, ref, false, func(s assetref.Store, loc assetref.Ref) error {
		b, err := getBlob(ctx, s, loc)
		out = b
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// upload is the content of one asset for an Uploader: a Blob, which the
// HTTP transport finds with the method Blob.
type upload struct {
	b    assetref.Blob
	mime string
}

func (u *upload) Size() int64         { return u.b.Size() }
func (u *upload) MIME() string        { return u.mime }
func (u *upload) Blob() assetref.Blob { return u.b }
func (u *upload) Close() error        { return nil }

// blobContent is UploadContent's content in the browser: the stored file
// as a Blob, which the HTTP transport sends without reading it into Go.
func blobContent(ctx context.Context, s assetref.Store, ref assetref.Ref, mime string) (syncengine.Content, error) {
	b, err := getBlob(ctx, s, ref)
	if err != nil {
		return nil, err
	}
	return &upload{b: b, mime: mime}, nil
}

// Remote is where assets are fetched from: a sync server's blob routes
// (implemented by *syncengine.HTTP).
type Remote interface {
	// DownloadBlob returns the content of the blob with the given hash
	// (in the browser, a Blob it holds). It fails with an error matching
	// errs.ErrNotFound when the server has no such blob (perhaps not
	// yet); an error with a method Permanent() bool that returns true
	// means asking again cannot help.
	DownloadBlob(ctx context.Context, hash string) (assetref.Blob, error)
}

// SetRemote makes the library fetch assets whose bytes are not on this
// device from r (nil: stop fetching), and lets the leading tab evict local
// copies of uploaded assets when storage nears its quota.
func (l *Library) SetRemote(r Remote) {
	if r == nil {
		l.setRemote(nil)
		return
	}
	l.setRemote(blobRemote{r})
}

// blobRemote fetches Blobs from a Remote.
type blobRemote struct{ r Remote }

func (b blobRemote) download(ctx context.Context, hash string) (fetched, error) {
	blob, err := b.r.DownloadBlob(ctx, hash)
	if err != nil {
		return nil, err
	}
	if blob == nil {
		// Asking again will not change that.
		return nil, permanent{fmt.Errorf("the remote gave no Blob for %s", hash)}
	}
	return fetchedBlob{blob}, nil
}

// permanent marks an error asking again cannot help with.
type permanent struct{ error }

func (p permanent) Unwrap() error   { return p.error }
func (p permanent) Permanent() bool { return true }

// fetchedBlob is a downloaded Blob, stored through the store's Blob path.
type fetchedBlob struct{ b assetref.Blob }

func (f fetchedBlob) size() int64  { return f.b.Size() }
func (f fetchedBlob) mime() string { return f.b.MIME() }

func (f fetchedBlob) putInto(ctx context.Context, s assetref.Store, hint assetref.Hint) (assetref.Ref, error) {
	return putBlob(ctx, s, f.b, hint)
}

// takesBlobs reports whether s has a Blob path of its own, by which the
// browser copies a Blob it holds into s.
func takesBlobs(s assetref.Store) bool {
	_, ok := s.(blobPutter)
	return ok
}

// givesBlobs reports whether s gives its content as Blobs the browser
// holds.
func givesBlobs(s assetref.Store) bool {
	_, ok := s.(blobGetter)
	return ok
}
