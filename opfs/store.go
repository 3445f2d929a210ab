//go:build js && wasm

package opfs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/fsx"
)

var (
	_ assetref.Store  = (*Store)(nil)
	_ assetref.Lister = (*Store)(nil)
)

// cleanupTimeout bounds the work a failed or cancelled call still does to
// leave nothing behind (abort the writer, remove the temporary file) and
// the commit of a Put that got that far.
const cleanupTimeout = 30 * time.Second

// startHelper starts the helper worker; tests replace it.
var startHelper = fsx.StartHelper

// Store is an assetref.Store and assetref.Lister over a directory: the
// origin private file system (Open, refs of kind opfs) or a folder the
// user picked (OpenFolder, refs of kind fs-handle). It is safe for
// concurrent use, also by several tabs and workers at once: they
// coordinate through Web Locks named after the store.
type Store struct {
	kind      assetref.Kind
	handleKey string // KindFSHandle: the folder's key in HandleIDs
	root      string
	chunk     int
	mode      WriteMode // the mode asked for or chosen: never WriteAuto
	auto      bool      // mode was chosen by WriteAuto: may fall back

	// helperReady is closed once the helper worker has started or failed
	// to (helper, helperErr). In WriteAuto the worker starts in the
	// background, so that Open does not wait for it; the first write does.
	helperReady chan struct{}
	helperMu    sync.Mutex
	helper      *fsx.Helper
	helperErr   error

	assets, meta, byHash, tmp *fsx.Dir

	commitLock, tmpLock string

	typesMu sync.Mutex
	types   map[string]*fsx.Dir // assets/<type> directories known to exist

	bufs   sync.Pool // *[]byte chunk buffers
	closed atomic.Bool
}

// Open opens the asset store in the origin private file system, creating
// its directories (Options.Root, by default "atelier") if needed. Refs it
// hands out have kind opfs and Path "<root>/assets/<type>/<id>".
//
// Open fails with an error matching errs.ErrUnsupported if the browser
// has no OPFS (or refuses it to this page) or cannot provide
// Options.WriteMode, with errs.ErrInvalid for invalid options, and with
// ctx.Err() if ctx ends first.
func Open(ctx context.Context, opts *Options) (*Store, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("opfs: open: %w", err)
	}
	root, err := fsx.StorageRoot(ctx)
	if err != nil {
		return nil, fmt.Errorf("opfs: open: %w", err)
	}
	return open(ctx, assetref.KindOPFS, "", root, o)
}

// OpenFolder opens the asset store in a folder the user picked, under the
// same layout as Open (Options.Root inside the folder). Refs it hands out
// have kind fs-handle and HandleID "<key>/<root>/assets/<type>/<id>"; key
// is the id under which the application persists the folder's handle (see
// ParseHandleID for what a key may hold). The store accepts only refs with
// this key.
//
// The page must hold read and write permission on the folder. OpenFolder
// fails with an error matching errs.ErrInvalidRef for an invalid key, with
// errs.ErrInvalid for a folder the browser does not hold (only the
// JavaScript binding makes them), and otherwise like Open; without
// permission it fails with the browser's NotAllowedError.
func OpenFolder(ctx context.Context, key string, folder assetref.Folder, opts *Options) (*Store, error) {
	if err := checkHandleKey(key); err != nil {
		return nil, fmt.Errorf("opfs: open folder: %w", err)
	}
	dir, ok := fsx.DirOf(folder)
	if !ok {
		return nil, fmt.Errorf("opfs: open folder: %w: not a directory the browser holds", errs.ErrInvalid)
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("opfs: open folder: %w", err)
	}
	return open(ctx, assetref.KindFSHandle, key, dir, o)
}

func open(ctx context.Context, kind assetref.Kind, key string, dir *fsx.Dir, o Options) (*Store, error) {
	s := &Store{kind: kind, handleKey: key, root: o.Root, chunk: o.ChunkSize, types: map[string]*fsx.Dir{}}
	s.bufs.New = func() any { b := make([]byte, s.chunk); return &b }
	id := "atelier-opfs " + string(kind) + " " + key + " " + o.Root
	s.commitLock, s.tmpLock = id+" commit", id+" tmp"

	base, err := dir.Path(ctx, o.Root, true)
	if err != nil {
		return nil, fmt.Errorf("opfs: open %s: %w", o.Root, err)
	}
	// The four directories at once: one wait instead of four.
	dirs := []struct {
		name string
		dst  **fsx.Dir
		err  error
	}{{name: assetsDir, dst: &s.assets}, {name: metaDir, dst: &s.meta}, {name: hashDir, dst: &s.byHash}, {name: tmpDir, dst: &s.tmp}}
	var wg sync.WaitGroup
	for i := range dirs {
		d := &dirs[i]
		wg.Go(func() { *d.dst, d.err = base.Dir(ctx, d.name, true) })
	}
	wg.Wait()
	for _, d := range dirs {
		if d.err != nil {
			return nil, fmt.Errorf("opfs: open %s: %w", o.Root, d.err)
		}
	}
	if err := s.chooseMode(ctx, o.WriteMode); err != nil {
		return nil, fmt.Errorf("opfs: open %s: %w", o.Root, err)
	}
	return s, nil
}

func (s *Store) chooseMode(ctx context.Context, want WriteMode) error {
	if want == WriteAuto {
		s.auto = true
		switch {
		case s.kind != assetref.KindOPFS:
			// Sync access handles, which the two other modes write
			// with, exist only for files of the origin private file
			// system: a user's folder is written with createWritable.
			want = WriteStream
		case fsx.SyncAccessSupported():
			want = WriteSyncHandle
		default:
			want = DefaultMainThreadMode
		}
	}
	switch want {
	case WriteSyncHandle:
		if !fsx.SyncAccessSupported() {
			return fmt.Errorf("write mode %s needs a dedicated worker: %w", want, errs.ErrUnsupported)
		}
	case WriteWorker:
		s.helperReady = make(chan struct{})
		if s.auto {
			go s.startHelper(context.Background())
			break
		}
		s.startHelper(ctx)
		if s.helperErr != nil {
			return s.helperErr
		}
	}
	s.mode = want
	return nil
}

// startHelper starts the helper worker and records the outcome.
func (s *Store) startHelper(ctx context.Context) {
	h, err := startHelper(ctx)
	s.helperMu.Lock()
	if err == nil && s.closed.Load() {
		h.Close() // closed while the worker started
		h, err = nil, errs.ErrClosed
	}
	s.helper, s.helperErr = h, err
	s.helperMu.Unlock()
	close(s.helperReady)
}

// workerHelper waits for the helper worker to have started and returns
// it, or nil when it could not start and WriteAuto falls back to
// createWritable (an error otherwise).
func (s *Store) workerHelper(ctx context.Context) (*fsx.Helper, error) {
	select {
	case <-s.helperReady:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.helperMu.Lock()
	h, err := s.helper, s.helperErr
	s.helperMu.Unlock()
	switch {
	case err == nil && (h.Err() == nil || !s.auto):
		return h, nil
	case err == nil || s.auto && errors.Is(err, errs.ErrUnsupported):
		return nil, nil // stopped working, or never started: fall back
	}
	return nil, err
}

// Kind returns the kind of the refs the store hands out and accepts:
// assetref.KindOPFS or assetref.KindFSHandle.
func (s *Store) Kind() assetref.Kind { return s.kind }

// WriteMode returns the mode Put writes with: what Options.WriteMode asked
// for, or what WriteAuto chose. In WriteAuto on the main thread it waits
// for the helper worker to start (or fail to: then it is WriteStream).
func (s *Store) WriteMode() WriteMode {
	if s.mode == WriteWorker && s.auto {
		if h, err := s.workerHelper(context.Background()); h == nil && err == nil {
			return WriteStream
		}
	}
	return s.mode
}

// Close stops the helper worker, if the store started one, and makes
// later calls fail with an error matching errs.ErrClosed. Readers
// already open keep working. Closing twice is harmless.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.helperMu.Lock()
	h := s.helper
	s.helperMu.Unlock()
	if h != nil {
		h.Close()
	}
	return nil
}

func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return errs.ErrClosed
	}
	return ctx.Err()
}

// lock takes one of the store's locks: a Web Lock, shared by every tab
// and worker of the origin, or an in-process lock where the browser has
// no Web Locks.
func (s *Store) lock(ctx context.Context, name string, shared bool) (func(), error) {
	if !fsx.LocksSupported() {
		return processLocks.lock(ctx, name, shared)
	}
	mode := fsx.Exclusive
	if shared {
		mode = fsx.Shared
	}
	return fsx.Lock(ctx, name, mode)
}

// typeDir returns assets/<typ>, creating it if create is set.
func (s *Store) typeDir(ctx context.Context, typ string, create bool) (*fsx.Dir, error) {
	s.typesMu.Lock()
	d := s.types[typ]
	s.typesMu.Unlock()
	if d != nil {
		return d, nil
	}
	d, err := s.assets.Dir(ctx, typ, create)
	if err != nil {
		return nil, err
	}
	s.typesMu.Lock()
	s.types[typ] = d
	s.typesMu.Unlock()
	return d, nil
}

// forgetType drops a cached assets/<typ> that turned out to be gone.
func (s *Store) forgetType(typ string) {
	s.typesMu.Lock()
	delete(s.types, typ)
	s.typesMu.Unlock()
}

// ref returns the canonical ref of a stored asset.
func (s *Store) ref(r record) assetref.Ref {
	ref := assetref.Ref{Kind: s.kind, MIME: r.MIME, Bytes: r.Bytes, Hash: r.Hash}
	p := assetPath(s.root, r.Type, r.ID)
	if s.kind == assetref.KindOPFS {
		ref.Path = p
	} else {
		ref.HandleID = s.handleKey + "/" + p
	}
	return ref
}

func (s *Store) info(r record) assetref.Info {
	return assetref.Info{Ref: s.ref(r), Size: r.Bytes, MIME: r.MIME, Hash: r.Hash}
}

// locate validates ref and returns the type directory and id it names. It
// fails with a *assetref.RefError for an invalid ref, one of another kind,
// another folder, or a path outside this store's layout.
func (s *Store) locate(ref assetref.Ref) (typ, id string, err error) {
	if err := ref.Validate(); err != nil {
		return "", "", err
	}
	if ref.Kind != s.kind {
		return "", "", &assetref.RefError{Field: "kind", Reason: fmt.Sprintf("this store holds %s refs, not %s", s.kind, ref.Kind)}
	}
	if s.kind == assetref.KindOPFS {
		return parseAssetPath("path", s.root, ref.Path)
	}
	key, p, err := ParseHandleID(ref.HandleID)
	if err != nil {
		return "", "", err
	}
	if key != s.handleKey {
		return "", "", &assetref.RefError{Field: "handleId", Reason: fmt.Sprintf("names folder %q, this store is folder %q", key, s.handleKey)}
	}
	return parseAssetPath("handleId", s.root, p)
}

// describe names a ref in an error message, shortened so that a hostile
// ref cannot make the message huge.
func describe(ref assetref.Ref) string {
	loc := ref.URL + ref.Path + ref.HandleID + ref.BlobKey + ref.ID
	if len(loc) > 80 {
		loc = loc[:80] + "…"
	}
	return fmt.Sprintf("%s %q", ref.Kind, loc)
}

// cleanupContext returns a context for finishing or undoing work after ctx
// may have ended: it keeps ctx's values, not its cancellation.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
}

// readRecord reads the record in dir/name. found is false if there is no
// such file or it does not hold a valid record.
func readRecord(ctx context.Context, dir *fsx.Dir, name string) (r record, found bool, err error) {
	f, err := dir.File(ctx, name, false)
	if err != nil {
		if errors.Is(err, errs.ErrNotFound) {
			err = nil
		}
		return record{}, false, err
	}
	b, err := f.Blob(ctx)
	if err != nil {
		if errors.Is(err, errs.ErrNotFound) {
			err = nil
		}
		return record{}, false, err
	}
	if b.Size() > maxRecordLen {
		return record{}, false, nil
	}
	p := make([]byte, b.Size())
	if _, err := b.ReadAt(ctx, p, 0); err != nil && len(p) > 0 {
		if errors.Is(err, errs.ErrNotFound) {
			err = nil
		}
		return record{}, false, err
	}
	r, err = decodeRecord(p)
	return r, err == nil, nil
}

// writeRecord writes r to dir/name, replacing what was there. The file
// changes atomically when the writable closes; a failed write removes it.
func writeRecord(ctx context.Context, dir *fsx.Dir, name string, r record) error {
	f, err := dir.File(ctx, name, true)
	if err != nil {
		return err
	}
	w, err := f.CreateWritable(ctx)
	if err == nil {
		err = w.Write(ctx, r.encode())
		if err == nil {
			err = w.Close(ctx)
		}
		if err != nil {
			w.Abort(ctx)
		}
	}
	if err != nil {
		_ = dir.Remove(ctx, name, false)
	}
	return err
}

// removeIfExists removes dir/name, treating a missing entry as success.
func removeIfExists(ctx context.Context, dir *fsx.Dir, name string) error {
	err := dir.Remove(ctx, name, false)
	if errors.Is(err, errs.ErrNotFound) {
		return nil
	}
	return err
}
