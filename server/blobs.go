package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"hash"
	"io"
)

// BlobStore keeps the bytes of blobs, addressed by their SHA-256 digest.
// Which workspace has which blob is the Store's business: the BlobStore
// holds each content once. dirblob.Store keeps them in a directory,
// s3blob.Store in an S3 bucket; the conformance suite of both is
// storetest.RunBlobStore.
type BlobStore interface {
	// Put reads r to its end and stores what it read as the blob with
	// digest sum. When reading fails it stores nothing and returns the
	// error: the server hands Put a reader that checks size and digest as
	// the bytes stream through and fails at the end if they differ, so a
	// Put that returns nil stored exactly the declared content. Putting a
	// blob that exists reads r all the same and keeps one copy.
	Put(ctx context.Context, sum [32]byte, r io.Reader) error

	// Open returns the bytes of the blob with digest sum. It fails with an
	// error matching errs.ErrNotFound when there is none.
	Open(ctx context.Context, sum [32]byte) (io.ReadSeekCloser, error)

	// Delete removes the blob with digest sum; removing one that is not
	// there succeeds. Only GC deletes blobs, once no workspace has a
	// record of them and no upload holds them (see Store.DropBytes). A
	// reader Open returned before may fail afterwards.
	Delete(ctx context.Context, sum [32]byte) error
}

// verifier passes through at most size bytes of r, hashing them, and at
// the end of r fails unless exactly size bytes with digest sum came.
type verifier struct {
	r    io.Reader
	sum  [32]byte
	size int64
	n    int64
	h    hash.Hash
}

func newVerifier(r io.Reader, sum [32]byte, size int64) *verifier {
	return &verifier{r: r, sum: sum, size: size, h: sha256.New()}
}

func (v *verifier) Read(p []byte) (int, error) {
	// Read one byte past the declared size, so that a body that is too
	// long is noticed without reading the rest of it.
	if room := v.size + 1 - v.n; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := v.r.Read(p)
	v.n += int64(n)
	if v.n > v.size {
		return 0, ErrBlobTooLarge
	}
	v.h.Write(p[:n])
	if err == io.EOF {
		var got [32]byte
		v.h.Sum(got[:0])
		if v.n != v.size || subtle.ConstantTimeCompare(got[:], v.sum[:]) != 1 {
			return n, ErrBlobMismatch
		}
	}
	return n, err
}
