package dirblob

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/atelierstore/atelier/server"
)

var _ server.PartStore = (*Store)(nil)

// StaleUploadAge is how long the parts of an upload that nothing touched
// are kept: Open removes older ones, and so does StartParts, in the
// background, at most every sweepEvery.
const StaleUploadAge = 7 * 24 * time.Hour

const sweepEvery = time.Hour

// uploadDir is the directory of the parts of owner's upload of sum with
// the given id (the part size, in decimal), or "" for an id that is not
// one or an owner that is not a workspace name.
func (s *Store) uploadDir(owner string, sum [32]byte, upload string) string {
	if n, err := strconv.ParseInt(upload, 10, 64); err != nil || n <= 0 || strconv.FormatInt(n, 10) != upload || !server.ValidWorkspace(owner) {
		return ""
	}
	return filepath.Join(s.dir, "uploads", hex.EncodeToString(sum[:])+"-"+upload+"-"+owner)
}

// StartParts implements server.PartStore. The parts of an upload are
// files DIR/uploads/<hex digest>-<part size>-<owner>/<n>; the upload's id
// is the part size. The owner must be a valid workspace name.
func (s *Store) StartParts(ctx context.Context, owner string, sum [32]byte, size, partSize int64) (string, []int, error) {
	upload := strconv.FormatInt(partSize, 10)
	dir := s.uploadDir(owner, sum, upload)
	if dir == "" || size <= 0 {
		return "", nil, fmt.Errorf("dirblob: start parts: owner %q, size %d, part size %d", owner, size, partSize)
	}
	if now, last := time.Now().UnixNano(), s.swept.Load(); now-last > int64(sweepEvery) && s.swept.CompareAndSwap(last, now) {
		// A server that runs for weeks removes stale uploads too; an
		// error here is only a sweep missed.
		go s.RemoveStaleUploads(StaleUploadAge)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, fmt.Errorf("dirblob: start parts: %w", err)
	}
	// Touched, so that a resumed upload is not taken for a stale one.
	now := time.Now()
	if err := os.Chtimes(dir, now, now); err != nil {
		return "", nil, fmt.Errorf("dirblob: start parts: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", nil, fmt.Errorf("dirblob: start parts: %w", err)
	}
	var stored []int
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil || strconv.Itoa(n) != e.Name() {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() && fi.Size() == server.PartLen(size, partSize, n) {
			stored = append(stored, n)
		}
	}
	slices.Sort(stored)
	return upload, stored, nil
}

// PutPart implements server.PartStore. The part goes to a temporary file
// in the upload's directory, renamed into place once r ended well.
func (s *Store) PutPart(ctx context.Context, owner string, sum [32]byte, upload string, n int, r io.Reader) error {
	dir := s.uploadDir(owner, sum, upload)
	if dir == "" || n < 1 {
		return fmt.Errorf("dirblob: put part %d of %q: %w", n, upload, server.ErrPartsMissing)
	}
	tmp, err := writeTemp(ctx, dir, "tmp-*", r)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("dirblob: put part %d: upload %x-%s: %w", n, sum, upload, server.ErrPartsMissing)
	}
	if err != nil {
		return fmt.Errorf("dirblob: put part %d: %w", n, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, strconv.Itoa(n))); err != nil {
		return fmt.Errorf("dirblob: put part %d: %w", n, err)
	}
	syncDir(dir)
	return nil
}

// CompleteParts implements server.PartStore. It copies the parts, in
// order, into a temporary file while hashing them, and renames it into
// place when size and digest hold; then it removes the parts.
func (s *Store) CompleteParts(ctx context.Context, owner string, sum [32]byte, upload string, size, partSize int64) error {
	dir := s.uploadDir(owner, sum, upload)
	if dir == "" {
		return fmt.Errorf("dirblob: complete %x: upload %q: %w", sum, upload, server.ErrPartsMissing)
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("dirblob: complete %x: no upload %s: %w", sum, upload, server.ErrPartsMissing)
	}
	count := server.PartCount(size, partSize)
	for n := 1; n <= count; n++ {
		fi, err := os.Stat(filepath.Join(dir, strconv.Itoa(n)))
		if err != nil || fi.Size() != server.PartLen(size, partSize, n) {
			return fmt.Errorf("dirblob: complete %x: part %d: %w", sum, n, server.ErrPartsMissing)
		}
	}
	h := sha256.New()
	parts := &partFiles{dir: dir, count: count}
	tmp, err := writeTemp(ctx, filepath.Join(s.dir, "tmp"), "join-*", io.TeeReader(parts, h))
	parts.close()
	if err != nil {
		return fmt.Errorf("dirblob: complete %x: %w", sum, err)
	}
	if got := h.Sum(nil); parts.read != size || subtle.ConstantTimeCompare(got, sum[:]) != 1 {
		// The parts are not the blob: none of them is worth keeping.
		os.Remove(tmp)
		os.RemoveAll(dir)
		return fmt.Errorf("dirblob: complete %x: %w", sum, server.ErrBlobMismatch)
	}
	if err := s.place(tmp, sum); err != nil {
		return fmt.Errorf("dirblob: complete: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("dirblob: complete %x: removing the parts: %w", sum, err)
	}
	return nil
}

// RemoveStaleUploads removes the parts of uploads that nothing touched for
// longer than age. Open calls it with StaleUploadAge.
func (s *Store) RemoveStaleUploads(age time.Duration) error {
	root := filepath.Join(s.dir, "uploads")
	ents, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dirblob: remove stale uploads: %w", err)
	}
	cutoff := time.Now().Add(-age)
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil || !fi.ModTime().Before(cutoff) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(root, e.Name())); err != nil {
			return fmt.Errorf("dirblob: remove stale uploads: %w", err)
		}
	}
	return nil
}

// syncDir makes the renames in dir durable, as far as it can.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// partFiles reads the parts 1 to count of an upload's directory one after
// the other, as one stream, counting the bytes read.
type partFiles struct {
	dir      string
	n, count int
	cur      *os.File
	read     int64
}

func (p *partFiles) Read(b []byte) (int, error) {
	for {
		if p.cur == nil {
			if p.n == p.count {
				return 0, io.EOF
			}
			p.n++
			f, err := os.Open(filepath.Join(p.dir, strconv.Itoa(p.n)))
			if err != nil {
				return 0, fmt.Errorf("part %d: %w", p.n, server.ErrPartsMissing)
			}
			p.cur = f
		}
		k, err := p.cur.Read(b)
		p.read += int64(k)
		if err == io.EOF {
			p.close()
			if k == 0 {
				continue
			}
			err = nil
		}
		return k, err
	}
}

// close closes the part being read, if any.
func (p *partFiles) close() {
	if p.cur != nil {
		p.cur.Close()
		p.cur = nil
	}
}
