package s3blob

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/server"
)

var _ server.Presigner = (*Store)(nil)

// MaxPresignedPut is the largest blob PresignPut gives a URL for: S3
// takes at most 5 GiB in one PUT. Larger blobs go through the server.
const MaxPresignedPut = 5 << 30

// PresignPut implements server.Presigner. The URL's signature covers the
// header x-amz-checksum-sha256 (the digest, base64), which the PUT must
// carry and with which the store refuses other bytes (400 BadDigest). ttl
// must be between a second and seven days, as S3 allows.
func (s *Store) PresignPut(ctx context.Context, sum [32]byte, size int64, ttl time.Duration) (string, http.Header, error) {
	if size > MaxPresignedPut {
		return "", nil, nil
	}
	h := http.Header{}
	h.Set("x-amz-checksum-sha256", base64.StdEncoding.EncodeToString(sum[:]))
	u, err := s.c.PresignHeader(ctx, http.MethodPut, s.bucket, s.Key(sum), ttl, nil, h)
	if err != nil {
		return "", nil, fmt.Errorf("s3blob: presign put %x: %w", sum, err)
	}
	return u.String(), h, nil
}

// PresignGet implements server.Presigner. The answer has media type mime,
// may be cached privately until the URL expires, and is marked as an
// attachment, so that a browser sent to the URL does not render it as a
// page of the store's origin.
func (s *Store) PresignGet(ctx context.Context, sum [32]byte, mime string, ttl time.Duration) (string, error) {
	q := url.Values{}
	q.Set("response-content-type", mime)
	q.Set("response-cache-control", "private, max-age="+strconv.FormatInt(int64(ttl/time.Second), 10)+", immutable")
	q.Set("response-content-disposition", "attachment")
	u, err := s.c.Presign(ctx, http.MethodGet, s.bucket, s.Key(sum), ttl, q)
	if err != nil {
		return "", fmt.Errorf("s3blob: presign get %x: %w", sum, err)
	}
	return u.String(), nil
}

// CheckBlob implements server.Presigner. It trusts the SHA-256 the store
// computed of the bytes it received when it kept one (S3 does for a PUT
// with x-amz-checksum-sha256), and otherwise reads the object and hashes
// it. An object whose bytes are not the blob's is removed; one that is
// the blob but not of size bytes is kept (the declared size was wrong),
// and both fail with server.ErrBlobMismatch.
func (s *Store) CheckBlob(ctx context.Context, sum [32]byte, size int64) error {
	key := s.Key(sum)
	info, err := s.c.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{Checksum: true})
	if isNotFound(err) {
		return fmt.Errorf("s3blob: blob %x: %w", sum, errs.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("s3blob: check %x: %w", sum, err)
	}
	if info.ChecksumSHA256 != base64.StdEncoding.EncodeToString(sum[:]) {
		got, n, err := s.hash(ctx, key)
		if isNotFound(err) {
			return fmt.Errorf("s3blob: blob %x: %w", sum, errs.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("s3blob: check %x: %w", sum, err)
		}
		if got != sum {
			if err := s.c.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
				return fmt.Errorf("s3blob: check %x: %w (and removing it failed: %v)", sum, server.ErrBlobMismatch, err)
			}
			return fmt.Errorf("s3blob: check %x: %w", sum, server.ErrBlobMismatch)
		}
		info.Size = n
	}
	if info.Size != size {
		return fmt.Errorf("s3blob: check %x: %d bytes stored, %d declared: %w", sum, info.Size, size, server.ErrBlobMismatch)
	}
	return nil
}

// hash reads the object at key and returns its SHA-256 and size.
func (s *Store) hash(ctx context.Context, key string) (sum [32]byte, n int64, err error) {
	obj, err := s.c.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return sum, 0, err
	}
	defer obj.Close()
	h := sha256.New()
	n, err = io.Copy(h, obj)
	if err != nil {
		return sum, n, err
	}
	h.Sum(sum[:0])
	return sum, n, nil
}
