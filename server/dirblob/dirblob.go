package dirblob

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/server"
	"github.com/atelierstore/atelier/server/internal/ctxio"
)

// Store is a server.BlobStore in a directory. Create it with Open.
type Store struct {
	dir   string
	swept atomic.Int64 // when stale uploads were last removed, in ns since the epoch
}

var _ server.BlobStore = (*Store)(nil)

// Open returns the Store in dir, creating the directory if needed and
// removing temporary files left by uploads that never finished, and the
// parts of uploads untouched for StaleUploadAge. Do not open one
// directory from two processes while either runs uploads: the second
// would remove the first one's temporary files.
func Open(dir string) (*Store, error) {
	s := &Store{dir: dir}
	tmp := filepath.Join(dir, "tmp")
	if err := os.RemoveAll(tmp); err != nil {
		return nil, fmt.Errorf("dirblob: open %s: %w", dir, err)
	}
	for _, d := range []string{tmp, filepath.Join(dir, "sha256")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("dirblob: open %s: %w", dir, err)
		}
	}
	if err := s.RemoveStaleUploads(StaleUploadAge); err != nil {
		return nil, err
	}
	s.swept.Store(time.Now().UnixNano())
	return s, nil
}

func (s *Store) path(sum [32]byte) string {
	d := hex.EncodeToString(sum[:])
	return filepath.Join(s.dir, "sha256", d[:2], d)
}

// Put implements server.BlobStore.
func (s *Store) Put(ctx context.Context, sum [32]byte, r io.Reader) error {
	tmp, err := writeTemp(ctx, filepath.Join(s.dir, "tmp"), "upload-*", r)
	if err != nil {
		return fmt.Errorf("dirblob: put: %w", err)
	}
	if err := s.place(tmp, sum); err != nil {
		return fmt.Errorf("dirblob: put: %w", err)
	}
	return nil
}

// writeTemp writes what r gives to a new file in dir, named after
// pattern as os.CreateTemp does, synced and closed, and returns its name.
// When r or the file fails, it removes the file.
func writeTemp(ctx context.Context, dir, pattern string, r io.Reader) (name string, err error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := io.Copy(f, ctxio.Reader{Ctx: ctx, R: r}); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	return f.Name(), f.Close()
}

// place renames the file tmp, complete and synced, to the blob with
// digest sum, or removes it when the blob is there already.
func (s *Store) place(tmp string, sum [32]byte) error {
	final := s.path(sum)
	if _, err := os.Stat(final); err == nil {
		// Same digest, same bytes: keep the copy there is.
		return os.Remove(tmp)
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	// Make the rename durable before the caller records the blob.
	syncDir(filepath.Dir(final))
	return nil
}

// Open implements server.BlobStore.
func (s *Store) Open(ctx context.Context, sum [32]byte) (io.ReadSeekCloser, error) {
	f, err := os.Open(s.path(sum))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("dirblob: blob %x: %w", sum, errs.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("dirblob: %w", err)
	}
	return f, nil
}

// Delete implements server.BlobStore. A reader opened before keeps
// reading the bytes it opened (the file is unlinked, not truncated).
func (s *Store) Delete(ctx context.Context, sum [32]byte) error {
	if err := os.Remove(s.path(sum)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("dirblob: delete %x: %w", sum, err)
	}
	return nil
}
