package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/server"
)

// RunBlobStore runs the conformance suite of server.BlobStore
// implementations on the BlobStore that newStore creates, empty, for one
// test.
func RunBlobStore(t *testing.T, newStore func(tb testing.TB) server.BlobStore) {
	ctx := context.Background()
	content := bytes.Repeat([]byte("0123456789"), 100_000)
	sum := sha256.Sum256(content)

	t.Run("PutOpen", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if _, err := s.Open(ctx, sum); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("Open of nothing: %v", err)
		}
		if err := s.Put(ctx, sum, iotest.HalfReader(bytes.NewReader(content))); err != nil {
			t.Fatal(err)
		}
		// A second Put of the same content reads it all and keeps one copy.
		r := &countingReader{r: bytes.NewReader(content)}
		if err := s.Put(ctx, sum, r); err != nil || r.n != int64(len(content)) {
			t.Fatalf("second Put: %v, read %d bytes", err, r.n)
		}
		f, err := s.Open(ctx, sum)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.Seek(5, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(f)
		if err != nil || !bytes.Equal(got, content[5:]) {
			t.Fatalf("read back %d bytes, %v", len(got), err)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		other := []byte("another blob")
		otherSum := sha256.Sum256(other)
		for _, c := range [][]byte{content, other} {
			if err := s.Put(ctx, sha256.Sum256(c), bytes.NewReader(c)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Delete(ctx, sum); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Open(ctx, sum); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("Open after Delete: %v", err)
		}
		// Deleting what is not there succeeds; other blobs stay.
		if err := s.Delete(ctx, sum); err != nil {
			t.Fatalf("second Delete: %v", err)
		}
		f, err := s.Open(ctx, otherSum)
		if err != nil {
			t.Fatalf("Open of the blob not deleted: %v", err)
		}
		got, err := io.ReadAll(f)
		f.Close()
		if err != nil || !bytes.Equal(got, other) {
			t.Fatalf("the blob not deleted reads %q, %v", got, err)
		}
		// A blob deleted can be put again.
		if err := s.Put(ctx, sum, bytes.NewReader(content)); err != nil {
			t.Fatal(err)
		}
		if f, err := s.Open(ctx, sum); err != nil {
			t.Fatalf("Open after putting again: %v", err)
		} else {
			f.Close()
		}
	})
	t.Run("FailedPutStoresNothing", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for _, r := range []io.Reader{
			io.MultiReader(bytes.NewReader(content[:1000]), iotest.ErrReader(server.ErrBlobMismatch)),
			iotest.ErrReader(server.ErrBlobTooLarge),
		} {
			if err := s.Put(ctx, sum, r); err == nil {
				t.Fatal("Put succeeded though its reader failed")
			}
			if _, err := s.Open(ctx, sum); !errors.Is(err, errs.ErrNotFound) {
				t.Fatalf("Open after a failed Put: %v", err)
			}
		}
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.Put(ctx, sum, bytes.NewReader(content)); err == nil {
			t.Fatal("Put succeeded on a cancelled context")
		}
	})
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
