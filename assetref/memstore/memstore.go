package memstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/errs"
)

var (
	_ assetref.Store  = (*Store)(nil)
	_ assetref.Lister = (*Store)(nil)
)

// opfsPrefix is the directory of the paths an opfs-kind store hands out.
const opfsPrefix = "memstore/"

// Store is an in-memory assetref.Store and assetref.Lister. It is safe for
// concurrent use. The zero value is not usable: call New or NewKind.
type Store struct {
	kind assetref.Kind

	mu     sync.RWMutex
	byID   map[string]*asset
	byHash map[string]*asset
}

// asset is immutable once stored: readers share data without copying.
type asset struct {
	id   string
	mime string
	hash string
	data []byte
}

// New returns an empty store whose refs have kind embedded, with the asset
// id as Ref.ID.
func New() *Store { return NewKind(assetref.KindEmbedded) }

// NewKind returns an empty store whose refs have the given kind; see the
// package documentation for the locator of each kind. It panics if kind is
// assetref.KindURL or unknown: a URL is not something a store holds, and
// kinds are constants, so either is a programming error.
func NewKind(kind assetref.Kind) *Store {
	switch kind {
	case assetref.KindEmbedded, assetref.KindIDB, assetref.KindFSHandle, assetref.KindOPFS:
	default:
		panic(fmt.Sprintf("memstore: cannot store assets of kind %q", kind))
	}
	return &Store{kind: kind, byID: map[string]*asset{}, byHash: map[string]*asset{}}
}

// Kind returns the kind of the refs the store hands out and accepts.
func (s *Store) Kind() assetref.Kind { return s.kind }

// Put reads r to the end and stores its content, as assetref.Store
// documents: identical content is stored once, and a hint id that holds
// other content is an error matching errs.ErrInvalid. Cancellation of
// ctx is noticed between reads.
func (s *Store) Put(ctx context.Context, r io.Reader, hint assetref.Hint) (assetref.Ref, error) {
	hint, err := hint.Normalize()
	if err != nil {
		return assetref.Ref{}, fmt.Errorf("memstore: put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return assetref.Ref{}, fmt.Errorf("memstore: put: %w", err)
	}
	var buf bytes.Buffer
	var h assetref.Hasher
	if _, err := io.Copy(io.MultiWriter(&buf, &h), ctxReader{ctx, r}); err != nil {
		return assetref.Ref{}, fmt.Errorf("memstore: put: %w", err)
	}
	data := buf.Bytes()
	if cap(data)-len(data) > len(data)/4 {
		data = bytes.Clone(data) // do not keep the buffer's slack for the asset's lifetime
	}
	a := &asset{id: hint.ID, mime: hint.MIME, hash: h.Sum(), data: data}

	s.mu.Lock()
	defer s.mu.Unlock()
	// Checked under the lock: a Put that returns an error stores nothing.
	if err := ctx.Err(); err != nil {
		return assetref.Ref{}, fmt.Errorf("memstore: put: %w", err)
	}
	if old := s.byHash[a.hash]; old != nil {
		return s.ref(old), nil
	}
	if s.byID[a.id] != nil {
		return assetref.Ref{}, fmt.Errorf("memstore: put: %w", &errs.ValidationError{
			Entity: "asset", ID: a.id, Field: "id", Reason: "already holds other content"})
	}
	s.byID[a.id] = a
	s.byHash[a.hash] = a
	return s.ref(a), nil
}

// ctxReader fails reads once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

func (s *Store) ref(a *asset) assetref.Ref {
	r := assetref.Ref{Kind: s.kind, MIME: a.mime, Bytes: int64(len(a.data)), Hash: a.hash}
	switch s.kind {
	case assetref.KindEmbedded:
		r.ID = a.id
	case assetref.KindIDB:
		r.BlobKey = a.id
	case assetref.KindFSHandle:
		r.HandleID = a.id
	case assetref.KindOPFS:
		r.Path = opfsPrefix + a.id
	}
	return r
}

// lookup finds the asset ref names. The caller holds s.mu.
func (s *Store) lookup(ctx context.Context, ref assetref.Ref) (*asset, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := ref.Validate(); err != nil {
		return nil, err
	}
	if ref.Kind != s.kind {
		return nil, &assetref.RefError{Field: "kind", Reason: fmt.Sprintf("this store holds %s refs, not %s", s.kind, ref.Kind)}
	}
	var id string
	switch s.kind {
	case assetref.KindEmbedded:
		id = ref.ID
	case assetref.KindIDB:
		id = ref.BlobKey
	case assetref.KindFSHandle:
		id = ref.HandleID
	case assetref.KindOPFS:
		id, _ = strings.CutPrefix(ref.Path, opfsPrefix)
		if id == ref.Path {
			id = "" // not a path this store hands out
		}
	}
	a := s.byID[id]
	if a == nil || ref.Hash != "" && ref.Hash != a.hash {
		return nil, errs.ErrNotFound
	}
	return a, nil
}

// Open returns a reader of the asset's content that also implements
// io.Seeker, io.ReaderAt and Size() int64. Read and ReadAt fail with
// ctx.Err() once ctx is done. Open fails with an error matching
// errs.ErrNotFound if there is no such asset, and errs.ErrInvalidRef
// if ref is invalid or of another kind.
func (s *Store) Open(ctx context.Context, ref assetref.Ref) (io.ReadCloser, error) {
	s.mu.RLock()
	a, err := s.lookup(ctx, ref)
	s.mu.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("memstore: open %s: %w", describe(ref), err)
	}
	return &reader{ctx: ctx, r: bytes.NewReader(a.data)}, nil
}

// Stat describes the asset. It fails like Open.
func (s *Store) Stat(ctx context.Context, ref assetref.Ref) (assetref.Info, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, err := s.lookup(ctx, ref)
	if err != nil {
		return assetref.Info{}, fmt.Errorf("memstore: stat %s: %w", describe(ref), err)
	}
	return s.info(a), nil
}

func (s *Store) info(a *asset) assetref.Info {
	return assetref.Info{Ref: s.ref(a), Size: int64(len(a.data)), MIME: a.mime, Hash: a.hash}
}

// Delete removes the asset, for every ref that shares it. It fails like
// Open.
func (s *Store) Delete(ctx context.Context, ref assetref.Ref) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.lookup(ctx, ref)
	if err != nil {
		return fmt.Errorf("memstore: delete %s: %w", describe(ref), err)
	}
	delete(s.byID, a.id)
	delete(s.byHash, a.hash)
	return nil
}

// List returns every stored asset, ordered by asset id. It fails only if
// ctx is done.
func (s *Store) List(ctx context.Context) ([]assetref.Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: list: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := slices.Sorted(maps.Keys(s.byID))
	infos := make([]assetref.Info, len(ids))
	for i, id := range ids {
		infos[i] = s.info(s.byID[id])
	}
	return infos, nil
}

// describe names a ref in an error message, shortened so that a hostile ref
// cannot make the message huge.
func describe(ref assetref.Ref) string {
	loc := ref.URL + ref.Path + ref.HandleID + ref.BlobKey + ref.ID
	if len(loc) > 64 {
		loc = loc[:64] + "…"
	}
	return fmt.Sprintf("%s %q", ref.Kind, loc)
}

var errClosed = errors.New("memstore: read after Close")

// reader is what Open returns.
type reader struct {
	ctx    context.Context
	r      *bytes.Reader
	closed bool
}

func (r *reader) check() error {
	if r.closed {
		return errClosed
	}
	return r.ctx.Err()
}

// Read reads the next bytes of the asset.
func (r *reader) Read(p []byte) (int, error) {
	if err := r.check(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// ReadAt reads len(p) bytes at offset off.
func (r *reader) ReadAt(p []byte, off int64) (int, error) {
	if err := r.check(); err != nil {
		return 0, err
	}
	return r.r.ReadAt(p, off)
}

// Seek sets the offset of the next Read.
func (r *reader) Seek(offset int64, whence int) (int64, error) {
	if r.closed {
		return 0, errClosed
	}
	return r.r.Seek(offset, whence)
}

// Size returns the length of the asset.
func (r *reader) Size() int64 { return r.r.Size() }

// Close releases the reader; later reads fail.
func (r *reader) Close() error {
	r.closed = true
	return nil
}
