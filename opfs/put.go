//go:build js && wasm

package opfs

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/fsx"
)

// Put streams r into the store, as assetref.Store documents: it reads and
// writes one chunk (Options.ChunkSize) at a time, so Go memory stays at
// one chunk whatever the asset's size, and hashes the file once it is
// written (see the package documentation, Writing).
//
// The bytes go to a new file in tmp/, and only once all of them are
// written and the file is closed does Put commit: under the store's commit
// lock it looks the hash up in by-hash/ and, if the content is already
// stored, removes the temporary file and returns the stored asset's ref;
// otherwise it writes the asset's records and moves the file to
// assets/<type>/<id> in one atomic step.
//
// Put fails with an error matching errs.ErrInvalid for a malformed hint
// or a hint id that holds other content, errs.ErrQuotaExceeded when
// the browser runs out of quota, errs.ErrClosed after Close, wraps r's
// error if reading fails, and returns ctx.Err() if ctx ends before the
// commit begins. Whatever fails, no file is left behind.
func (s *Store) Put(ctx context.Context, r io.Reader, hint assetref.Hint) (assetref.Ref, error) {
	ref, err := s.put(ctx, r, hint)
	if err != nil {
		return assetref.Ref{}, fmt.Errorf("opfs: put: %w", err)
	}
	return ref, nil
}

func (s *Store) put(ctx context.Context, r io.Reader, hint assetref.Hint) (ref assetref.Ref, err error) {
	hint, err = hint.Normalize()
	if err != nil {
		return ref, err
	}
	if err := s.check(ctx); err != nil {
		return ref, err
	}
	// Sweep takes this lock exclusively: it never removes the temporary
	// file of a Put in progress, in this tab or another.
	release, err := s.lock(ctx, s.tmpLock, true)
	if err != nil {
		return ref, err
	}
	defer release()

	// Creating the file and its writer, and closing the writer, are not
	// interrupted by ctx: an interrupted call could finish unseen and
	// leave a file (or a lock on it) behind.
	fctx, cancel := cleanupContext(ctx)
	defer cancel()
	name := tmpName()
	f, err := s.tmp.File(fctx, name, true)
	if err != nil {
		return ref, err
	}
	var w fsx.Writer
	moved := false
	defer func() {
		if moved {
			return
		}
		if w != nil {
			w.Abort(fctx)
		}
		// The temporary file may be gone already (a commit that found the
		// content stored removes it); anything else is for Sweep.
		_ = removeIfExists(fctx, s.tmp, name)
	}()
	if w, err = s.writer(fctx, f); err != nil {
		return ref, err
	}
	size, err := s.stream(ctx, r, w)
	if err != nil {
		return ref, err
	}
	if err := w.Close(fctx); err != nil {
		return ref, err
	}
	hash, err := hashFile(ctx, f, size)
	if err != nil {
		return ref, err
	}
	rec := record{ID: hint.ID, Type: mediaType(hint.MIME), MIME: hint.MIME, Hash: hash, Bytes: size}
	ref, moved, err = s.commit(ctx, f, rec)
	return ref, err
}

// writer opens the temporary file in the store's write mode. In WriteAuto
// a helper worker that stopped working is replaced by createWritable.
// On failure it returns a nil Writer, not a typed nil.
func (s *Store) writer(ctx context.Context, f *fsx.File) (fsx.Writer, error) {
	var (
		w   fsx.Writer
		err error
	)
	var h *fsx.Helper
	if s.mode == WriteWorker {
		if h, err = s.workerHelper(ctx); err != nil {
			return nil, err
		}
	}
	switch {
	case s.mode == WriteSyncHandle:
		w, err = fsx.NewSyncWriter(ctx, f)
	case h != nil:
		w, err = h.Create(ctx, f)
	default:
		w, err = f.CreateWritable(ctx)
	}
	if err != nil {
		return nil, err
	}
	return w, nil
}

// maxEmptyReads is how many reads in a row may return no data and no
// error before Put gives up with io.ErrNoProgress, as bufio does.
const maxEmptyReads = 100

// hashFile returns the hash of the file Put just wrote and closed, which
// must hold size bytes. The file is read back rather than the bytes hashed
// in Go as they pass: the browser reads the file and hashes it (WebCrypto)
// several times faster than SHA-256 runs in Go on wasm. Content over 256
// MiB, which WebCrypto would need in memory at once, is hashed in Go, a
// slice at a time. No CRC-32 is recorded: unlike PutBlob's, this hash runs
// after the write, and a checksum would lengthen every Put (by 15-30% in
// Chromium) for the sake of an export, which computes it then.
func hashFile(ctx context.Context, f *fsx.File, size int64) (string, error) {
	b, err := f.Blob(ctx)
	if err != nil {
		return "", err
	}
	if b.Size() != size {
		return "", fmt.Errorf("wrote %d bytes but the file holds %d", size, b.Size())
	}
	return fsx.HashBlob(ctx, b)
}

// stream copies r to w chunk by chunk and returns the size of what it
// copied. It checks ctx before every read.
func (s *Store) stream(ctx context.Context, r io.Reader, w fsx.Writer) (size int64, err error) {
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	buf := *bp
	for eof := false; !eof; {
		// Fill the chunk: readers often return less than asked for, and
		// each write to the browser has a fixed cost.
		n, empty := 0, 0
		for n < len(buf) {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			k, rerr := r.Read(buf[n:])
			n += k
			if rerr == io.EOF {
				eof = true
				break
			}
			if rerr != nil {
				return 0, fmt.Errorf("read: %w", rerr)
			}
			if k == 0 {
				if empty++; empty >= maxEmptyReads {
					return 0, fmt.Errorf("read: %w", io.ErrNoProgress)
				}
			}
		}
		if n == 0 {
			continue
		}
		if err := w.Write(ctx, buf[:n]); err != nil {
			return 0, err
		}
		size += int64(n)
	}
	return size, nil
}

// commit makes the closed temporary file f the asset rec describes, or
// finds that its content is stored already. moved reports whether f
// became the asset; if not, the caller removes it.
//
// Every step runs under the store's commit lock, so commits of all tabs
// and workers happen one at a time. The order keeps a crash harmless: the
// records are written before the asset appears (by the atomic move) and
// removed after it disappears (Delete), so an asset always has its
// records, and a record without an asset is ignored by lookups and
// removed by Sweep.
func (s *Store) commit(ctx context.Context, f *fsx.File, rec record) (ref assetref.Ref, moved bool, err error) {
	release, err := s.lock(ctx, s.commitLock, false)
	if err != nil {
		return ref, false, err
	}
	defer release()
	// The last point where cancellation stops the Put: what follows
	// finishes (or undoes itself) even if ctx ends.
	if err := ctx.Err(); err != nil {
		return ref, false, err
	}
	ctx, cancel := cleanupContext(ctx)
	defer cancel()

	hname, err := hashName(rec.Hash)
	if err != nil {
		return ref, false, err
	}
	if old, ok, err := s.findHash(ctx, hname, rec.Hash); err != nil || ok {
		return s.ref(old), false, err
	}
	old, ok, err := s.findID(ctx, rec.ID)
	if err != nil {
		return ref, false, err
	}
	if ok {
		if old.Hash != rec.Hash {
			return ref, false, &errs.ValidationError{Entity: "asset", ID: rec.ID, Field: "id", Reason: "already holds other content"}
		}
		// The content is stored under this id but its by-hash record is
		// missing (a crash, or a hand-edited folder): restore it.
		_ = writeRecord(ctx, s.byHash, hname, old)
		return s.ref(old), false, nil
	}

	undo := func() {
		_ = removeIfExists(ctx, s.meta, rec.ID)
		_ = removeIfExists(ctx, s.byHash, hname)
	}
	if err := writeRecord(ctx, s.byHash, hname, rec); err != nil {
		undo()
		return ref, false, err
	}
	if err := writeRecord(ctx, s.meta, rec.ID, rec); err != nil {
		undo()
		return ref, false, err
	}
	dir, err := s.typeDir(ctx, rec.Type, true)
	if err == nil {
		err = s.move(ctx, f, dir, rec.ID)
		if errors.Is(err, errs.ErrNotFound) {
			// assets/<type> was removed behind the cache's back.
			s.forgetType(rec.Type)
		}
	}
	if err != nil {
		undo()
		return ref, false, err
	}
	return s.ref(rec), true, nil
}

// move renames the temporary file to its final name. Where the browser
// has no FileSystemFileHandle.move, it copies the content (the browser
// copies the file; no bytes pass through Go or JavaScript) and removes the
// temporary file; the copy appears at the final name only when complete,
// but a crash during it can leave an empty file there, which lookups
// ignore (its size differs from the record) and Sweep removes.
func (s *Store) move(ctx context.Context, f *fsx.File, dir *fsx.Dir, name string) error {
	tmp := f.Name()
	err := f.Move(ctx, dir, name)
	if !errors.Is(err, errs.ErrUnsupported) {
		return err
	}
	src, err := f.Blob(ctx)
	if err != nil {
		return err
	}
	dst, err := dir.File(ctx, name, true)
	if err != nil {
		return err
	}
	w, err := dst.CreateWritable(ctx)
	if err != nil {
		_ = removeIfExists(ctx, dir, name)
		return err
	}
	if err := w.WriteBlob(ctx, src); err != nil {
		w.Abort(ctx)
		_ = removeIfExists(ctx, dir, name)
		return err
	}
	if err := w.Close(ctx); err != nil {
		w.Abort(ctx)
		_ = removeIfExists(ctx, dir, name)
		return err
	}
	return removeIfExists(ctx, s.tmp, tmp)
}

// findHash returns the stored asset whose content hashes to hash, if there
// is one: by-hash/<hname> names it, and its own record and file agree.
func (s *Store) findHash(ctx context.Context, hname, hash string) (record, bool, error) {
	r, ok, err := readRecord(ctx, s.byHash, hname)
	if err != nil || !ok || r.Hash != hash {
		return record{}, false, err
	}
	cur, ok, err := s.findID(ctx, r.ID)
	if err != nil || !ok || cur.Hash != hash {
		return record{}, false, err
	}
	return cur, true, nil
}

// findID returns the stored asset with the given id, if there is one: its
// record in meta/ and its file, of the recorded size, in assets/.
func (s *Store) findID(ctx context.Context, id string) (record, bool, error) {
	r, ok, err := readRecord(ctx, s.meta, id)
	if err != nil || !ok {
		return record{}, false, err
	}
	_, ok, err = s.assetFile(ctx, r)
	return r, ok, err
}

// assetFile returns a snapshot of the asset r describes, if its file
// exists and has the recorded size.
func (s *Store) assetFile(ctx context.Context, r record) (*fsx.Blob, bool, error) {
	_, b, ok, err := s.assetFileHandle(ctx, r)
	return b, ok, err
}

// assetFileHandle is assetFile that also returns the file's handle.
func (s *Store) assetFileHandle(ctx context.Context, r record) (*fsx.File, *fsx.Blob, bool, error) {
	dir, err := s.typeDir(ctx, r.Type, false)
	if errors.Is(err, errs.ErrNotFound) {
		s.forgetType(r.Type)
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, err
	}
	f, err := dir.File(ctx, r.ID, false)
	if errors.Is(err, errs.ErrNotFound) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, err
	}
	b, err := f.Blob(ctx)
	if errors.Is(err, errs.ErrNotFound) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, err
	}
	return f, b, b.Size() == r.Bytes, nil
}
