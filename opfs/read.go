//go:build js && wasm

package opfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// resolve finds the asset ref names: its record must exist, agree with the
// ref's type directory and (if the ref has one) hash, and its file must
// exist with the recorded size.
func (s *Store) resolve(ctx context.Context, ref assetref.Ref) (record, *fsx.Blob, error) {
	r, _, b, err := s.resolveFile(ctx, ref)
	return r, b, err
}

// resolveFile is resolve that also returns the asset file's handle.
func (s *Store) resolveFile(ctx context.Context, ref assetref.Ref) (record, *fsx.File, *fsx.Blob, error) {
	if err := s.check(ctx); err != nil {
		return record{}, nil, nil, err
	}
	typ, id, err := s.locate(ref)
	if err != nil {
		return record{}, nil, nil, err
	}
	r, ok, err := readRecord(ctx, s.meta, id)
	if err != nil {
		return record{}, nil, nil, err
	}
	if !ok || r.Type != typ || ref.Hash != "" && ref.Hash != r.Hash {
		return record{}, nil, nil, errs.ErrNotFound
	}
	f, b, ok, err := s.assetFileHandle(ctx, r)
	if err != nil {
		return record{}, nil, nil, err
	}
	if !ok {
		return record{}, nil, nil, errs.ErrNotFound
	}
	return r, f, b, nil
}

// Stat describes the asset. It fails with an error matching
// errs.ErrNotFound if there is no such asset (or the ref's Hash names
// other content), errs.ErrInvalidRef if ref is invalid, of another
// kind, of another folder or outside this store's layout, and
// errs.ErrClosed after Close.
func (s *Store) Stat(ctx context.Context, ref assetref.Ref) (assetref.Info, error) {
	r, _, err := s.resolve(ctx, ref)
	if err != nil {
		return assetref.Info{}, fmt.Errorf("opfs: stat %s: %w", describe(ref), err)
	}
	return s.info(r), nil
}

// Open returns a reader of the asset's content. It reads a snapshot of the
// file: sequential reads stream it (the browser reads ahead a few chunks,
// in JavaScript memory) and copy straight into the caller's buffer, so
// Go memory stays bounded whatever the asset's size. The reader also
// implements io.Seeker, io.ReaderAt (one Options.ChunkSize slice at a
// time; safe for concurrent use), io.WriterTo (through one chunk-sized
// buffer) and Size() int64. Reads fail with ctx.Err() once ctx is done,
// and with an error matching errs.ErrNotFound once the asset is
// deleted. Open fails like Stat.
//
// In a dedicated worker, sequential reads of an OPFS asset go through
// read-only sync access handles instead, several times faster: each fills
// a JavaScript buffer of readFill bytes with a handle opened for that one
// read and closed right after, so that the file is held for a few
// milliseconds at a time (a Delete meanwhile waits, see removeAsset).
func (s *Store) Open(ctx context.Context, ref assetref.Ref) (io.ReadCloser, error) {
	_, f, b, err := s.resolveFile(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("opfs: open %s: %w", describe(ref), err)
	}
	r := &reader{ctx: ctx, b: b, chunk: s.chunk}
	if s.kind == assetref.KindOPFS && readHandles.Load() && fsx.SyncAccessSupported() {
		r.f = f
	}
	return r, nil
}

// readHandles is cleared once the browser turns out to ignore the
// read-only mode of sync access handles: readers then stream Blobs.
var readHandles atomic.Bool

func init() { readHandles.Store(true) }

// readFill is how much a reader reads through one read-only handle.
const readFill = 8 << 20

var errReaderClosed = errors.New("opfs: read after Close")

// reader is what Open returns.
type reader struct {
	ctx    context.Context
	b      *fsx.Blob
	chunk  int
	closed atomic.Bool

	// Sequential reading state, used by Read, Seek and WriteTo.
	off int64       // offset of the next Read
	st  *fsx.Stream // a stream positioned at off, or nil

	// In a dedicated worker: the file, read with read-only handles into
	// fill, which holds the bytes at [fillOff, fillOff+fillLen).
	f       *fsx.File
	fill    *fsx.Buffer
	fillOff int64
	fillLen int
}

func (r *reader) check() error {
	if r.closed.Load() {
		return errReaderClosed
	}
	return r.ctx.Err()
}

// stream returns a stream positioned at r.off, starting a new one after a
// Seek.
func (r *reader) stream() *fsx.Stream {
	if r.st != nil && r.st.Offset() != r.off {
		r.st.Close()
		r.st = nil
	}
	if r.st == nil {
		r.st = r.b.StreamFrom(r.off)
	}
	return r.st
}

// Read reads the next bytes of the asset: at most the rest of the chunk
// the browser delivered last.
func (r *reader) Read(p []byte) (int, error) {
	if err := r.check(); err != nil {
		return 0, err
	}
	if r.off >= r.b.Size() {
		return 0, io.EOF
	}
	if r.f != nil {
		n, err := r.readHandle(p)
		if !errors.Is(err, errs.ErrUnsupported) {
			return n, err
		}
		readHandles.Store(false)
		r.f = nil
	}
	n, err := r.stream().Read(r.ctx, p)
	r.off += int64(n)
	if err == io.EOF {
		if r.off < r.b.Size() {
			return n, fmt.Errorf("opfs: read: %w", io.ErrUnexpectedEOF)
		}
		return n, io.EOF
	}
	if err != nil {
		return n, r.fail(err)
	}
	return n, nil
}

// readHandle is Read through read-only sync access handles: it copies
// from the buffered bytes, filling the buffer first if r.off is outside.
func (r *reader) readHandle(p []byte) (int, error) {
	if r.off < r.fillOff || r.off >= r.fillOff+int64(r.fillLen) {
		size := r.b.Size()
		if r.fill == nil {
			r.fill = fsx.NewBuffer(int(min(int64(readFill), size)))
		}
		h, err := r.f.OpenReadOnly(r.ctx)
		if err != nil {
			if errors.Is(err, errs.ErrUnsupported) {
				return 0, err
			}
			return 0, r.fail(err)
		}
		n, err := h.ReadInto(r.fill, r.off)
		_ = h.Close()
		if err != nil {
			return 0, r.fail(err)
		}
		if n == 0 {
			// The file is shorter than its record says: it was replaced.
			return 0, fmt.Errorf("opfs: read: %w", io.ErrUnexpectedEOF)
		}
		r.fillOff, r.fillLen = r.off, n
	}
	at := int(r.off - r.fillOff)
	k := r.fill.CopyTo(p[:min(len(p), r.fillLen-at)], at)
	r.off += int64(k)
	if r.off >= r.b.Size() {
		return k, io.EOF
	}
	return k, nil
}

func (r *reader) fail(err error) error {
	if cerr := r.ctx.Err(); cerr != nil {
		return cerr
	}
	// The file was deleted or replaced under the reader: Chromium says
	// NotFoundError, Firefox AbortError, and a changed file is
	// NotReadableError.
	if errors.Is(err, jsutil.Named("AbortError")) || errors.Is(err, jsutil.Named("NotReadableError")) {
		return fmt.Errorf("opfs: read: the file went away (%v): %w", err, errs.ErrNotFound)
	}
	return fmt.Errorf("opfs: read: %w", err)
}

// WriteTo writes the rest of the asset to w through one chunk-sized
// buffer; io.Copy uses it.
func (r *reader) WriteTo(w io.Writer) (int64, error) {
	buf := make([]byte, r.chunk)
	var total int64
	for {
		n := 0
		var err error
		// Fill the buffer from several browser chunks before writing.
		for n < len(buf) && err == nil {
			var k int
			k, err = r.Read(buf[n:])
			n += k
		}
		if n > 0 {
			k, werr := w.Write(buf[:n])
			total += int64(k)
			if werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// ReadAt reads len(p) bytes at off, one chunk-sized slice at a time. It
// does not move the offset of Read and may be called concurrently.
func (r *reader) ReadAt(p []byte, off int64) (int, error) {
	if err := r.check(); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, errors.New("opfs: ReadAt: negative offset")
	}
	done := 0
	for done < len(p) {
		end := min(len(p), done+r.chunk)
		n, err := r.b.ReadAt(r.ctx, p[done:end], off+int64(done))
		done += n
		if err == io.EOF {
			return done, io.EOF
		}
		if err != nil {
			return done, r.fail(err)
		}
	}
	return done, nil
}

// Seek sets the offset of the next Read.
func (r *reader) Seek(offset int64, whence int) (int64, error) {
	if r.closed.Load() {
		return 0, errReaderClosed
	}
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.b.Size()
	default:
		return 0, errors.New("opfs: Seek: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("opfs: Seek: negative position")
	}
	r.off = offset
	return offset, nil
}

// Size returns the length of the asset.
func (r *reader) Size() int64 { return r.b.Size() }

// Close stops the reader's stream; later reads fail.
func (r *reader) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	if r.st != nil {
		r.st.Close()
		r.st = nil
	}
	r.fill = nil
	return nil
}

// List returns every stored asset, grouped by type directory. It reads
// each asset's record and checks its file, a few browser calls per asset.
// Files in assets/ without a valid record are not assets and are left out.
// It fails only if ctx ends, the store is closed, or the browser fails.
func (s *Store) List(ctx context.Context) ([]assetref.Info, error) {
	if err := s.check(ctx); err != nil {
		return nil, fmt.Errorf("opfs: list: %w", err)
	}
	types, err := s.assets.Entries(ctx)
	if err != nil {
		return nil, fmt.Errorf("opfs: list: %w", err)
	}
	var infos []assetref.Info
	for _, te := range types {
		dir, ok := te.Dir()
		if !ok || !validType(te.Name) {
			continue
		}
		files, err := dir.Entries(ctx)
		if err != nil {
			return nil, fmt.Errorf("opfs: list: %w", err)
		}
		for _, fe := range files {
			if fe.Kind != fsx.KindFile || !validID(fe.Name) {
				continue
			}
			r, ok, err := readRecord(ctx, s.meta, fe.Name)
			if err != nil {
				return nil, fmt.Errorf("opfs: list: %w", err)
			}
			if !ok || r.Type != te.Name {
				continue
			}
			if _, ok, err := s.assetFile(ctx, r); err != nil {
				return nil, fmt.Errorf("opfs: list: %w", err)
			} else if ok {
				infos = append(infos, s.info(r))
			}
		}
	}
	return infos, nil
}

// Delete removes the asset, for every ref that shares it: its file first
// (the asset is gone from then on), then its records. While a reader in a
// dedicated worker holds the file (see Open) it waits, for up to two
// seconds. It fails like Stat.
func (s *Store) Delete(ctx context.Context, ref assetref.Ref) error {
	if err := s.delete(ctx, ref); err != nil {
		return fmt.Errorf("opfs: delete %s: %w", describe(ref), err)
	}
	return nil
}

func (s *Store) delete(ctx context.Context, ref assetref.Ref) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if _, _, err := s.locate(ref); err != nil {
		return err
	}
	release, err := s.lock(ctx, s.commitLock, false)
	if err != nil {
		return err
	}
	defer release()
	r, _, err := s.resolve(ctx, ref)
	if err != nil {
		return err
	}
	// Past this point the deletion finishes even if ctx ends.
	ctx, cancel := cleanupContext(ctx)
	defer cancel()
	dir, err := s.typeDir(ctx, r.Type, false)
	if err == nil {
		err = removeAsset(ctx, dir, r.ID)
	}
	if err != nil {
		return err
	}
	return s.removeRecords(ctx, r)
}

// removeAsset removes an asset's file. Readers in dedicated workers hold
// it with a read-only handle for a few milliseconds at a time (see Open),
// during which removing it fails with a NoModificationAllowedError: it
// tries again, for up to about two seconds.
func removeAsset(ctx context.Context, dir *fsx.Dir, name string) error {
	wait := time.Millisecond
	for deadline := time.Now().Add(2 * time.Second); ; {
		err := dir.Remove(ctx, name, false)
		if !errors.Is(err, jsutil.Named("NoModificationAllowedError")) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// removeRecords removes the records of an asset whose file is gone. The
// by-hash record goes only if it names this asset.
func (s *Store) removeRecords(ctx context.Context, r record) error {
	if err := removeIfExists(ctx, s.meta, r.ID); err != nil {
		return err
	}
	hname, err := hashName(r.Hash)
	if err != nil {
		return err
	}
	if h, ok, err := readRecord(ctx, s.byHash, hname); err != nil {
		return err
	} else if ok && h.ID != r.ID {
		return nil
	}
	return removeIfExists(ctx, s.byHash, hname)
}
