package s3blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/atelierstore/atelier/server"
)

var _ server.PartPresigner = (*Store)(nil)

// Uploads in parts are S3 multipart uploads of a staging object of their
// owner, StagingKey, never of the blob's own key: the parts are joined there,
// hashed, and copied to Key only when they are the declared blob, so that
// the blob's key never holds other bytes, not even for a moment. The
// store keeps no record of them: the upload of a blob is found with
// ListMultipartUploads. Parts carry x-amz-checksum-sha256, so that the
// store refuses a part whose bytes are not the ones declared. The upload
// itself names no checksum algorithm: one of SHA-256 would make the
// completion repeat every part's checksum, which ListParts does not give
// back on every store (SeaweedFS), and the server keeps none.
//
// Uploads never completed stay in the bucket until a lifecycle rule
// aborts them (AbortIncompleteMultipartUpload, a few days after they
// began); staging objects are removed once copied, and a staging object
// left by a crash between the two is found and used by the next commit of
// the same blob, or can be expired by a rule on the prefix "uploads/".

// StagingKey returns the key of the staging object of owner's uploads in
// parts of the blob with digest sum: PREFIX + "uploads/" + owner +
// "/sha256/" + the hex digest.
func (s *Store) StagingKey(owner string, sum [32]byte) string {
	return s.prefix + "uploads/" + owner + "/sha256/" + hex.EncodeToString(sum[:])
}

// staging is StagingKey after checking that owner is a workspace name,
// which keeps keys of different owners apart.
func (s *Store) staging(owner string, sum [32]byte) (string, error) {
	if !server.ValidWorkspace(owner) {
		return "", fmt.Errorf("s3blob: upload owner %q is not a workspace name", owner)
	}
	return s.StagingKey(owner, sum), nil
}

// StartParts implements server.PartStore: it resumes the oldest
// multipart upload of owner's staging object, and begins one if there is
// none.
func (s *Store) StartParts(ctx context.Context, owner string, sum [32]byte, size, partSize int64) (string, []int, error) {
	key, err := s.staging(owner, sum)
	if err != nil {
		return "", nil, err
	}
	id, err := s.findUpload(ctx, key)
	if err != nil {
		return "", nil, fmt.Errorf("s3blob: start parts of %x: %w", sum, err)
	}
	if id == "" {
		id, err = s.core.NewMultipartUpload(ctx, s.bucket, key, minio.PutObjectOptions{})
		if err != nil {
			return "", nil, fmt.Errorf("s3blob: start parts of %x: %w", sum, err)
		}
		return id, nil, nil
	}
	parts, err := s.listParts(ctx, key, id)
	if isNotFound(err) {
		// Aborted since it was listed: begin again.
		return s.StartParts(ctx, owner, sum, size, partSize)
	}
	if err != nil {
		return "", nil, fmt.Errorf("s3blob: start parts of %x: %w", sum, err)
	}
	var stored []int
	for _, p := range parts {
		if p.Size == server.PartLen(size, partSize, p.PartNumber) {
			stored = append(stored, p.PartNumber)
		}
	}
	slices.Sort(stored)
	return id, stored, nil
}

// findUpload returns the id of the oldest multipart upload of key, or ""
// when there is none.
func (s *Store) findUpload(ctx context.Context, key string) (string, error) {
	var (
		id              string
		at              time.Time
		keyMark, idMark string
	)
	for {
		res, err := s.core.ListMultipartUploads(ctx, s.bucket, key, keyMark, idMark, "", 1000)
		if err != nil {
			return "", err
		}
		for _, u := range res.Uploads {
			if u.Key == key && (id == "" || u.Initiated.Before(at)) {
				id, at = u.UploadID, u.Initiated
			}
		}
		if !res.IsTruncated || res.NextKeyMarker == "" && res.NextUploadIDMarker == "" {
			return id, nil
		}
		keyMark, idMark = res.NextKeyMarker, res.NextUploadIDMarker
	}
}

// listParts returns all the parts of the upload.
func (s *Store) listParts(ctx context.Context, key, id string) ([]minio.ObjectPart, error) {
	var out []minio.ObjectPart
	mark := 0
	for {
		res, err := s.core.ListObjectParts(ctx, s.bucket, key, id, mark, 1000)
		if err != nil {
			return nil, err
		}
		out = append(out, res.ObjectParts...)
		if !res.IsTruncated || res.NextPartNumberMarker <= mark {
			return out, nil
		}
		mark = res.NextPartNumberMarker
	}
}

// PutPart implements server.PartStore. The part is read into memory (the
// store needs its length and checksum before its bytes), so a part costs
// its size in memory while it goes up.
func (s *Store) PutPart(ctx context.Context, owner string, sum [32]byte, upload string, n int, r io.Reader) error {
	key, err := s.staging(owner, sum)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("s3blob: put part %d of %x: %w", n, sum, err)
	}
	ps := sha256.Sum256(b)
	h := http.Header{}
	h.Set("x-amz-checksum-sha256", base64.StdEncoding.EncodeToString(ps[:]))
	_, err = s.core.PutObjectPart(ctx, s.bucket, key, upload, n, bytes.NewReader(b), int64(len(b)),
		minio.PutObjectPartOptions{Sha256Hex: hex.EncodeToString(ps[:]), CustomHeader: h})
	if isNotFound(err) {
		return fmt.Errorf("s3blob: put part %d of %x: %w", n, sum, server.ErrPartsMissing)
	}
	if err != nil {
		return fmt.Errorf("s3blob: put part %d of %x: %w", n, sum, err)
	}
	return nil
}

// PresignPart implements server.PartPresigner: a presigned UploadPart URL
// whose signature covers x-amz-checksum-sha256.
func (s *Store) PresignPart(ctx context.Context, owner string, sum [32]byte, upload string, n int, partSum [32]byte, size int64, ttl time.Duration) (string, http.Header, error) {
	key, err := s.staging(owner, sum)
	if err != nil {
		return "", nil, err
	}
	h := http.Header{}
	h.Set("x-amz-checksum-sha256", base64.StdEncoding.EncodeToString(partSum[:]))
	q := url.Values{}
	q.Set("partNumber", strconv.Itoa(n))
	q.Set("uploadId", upload)
	u, err := s.c.PresignHeader(ctx, http.MethodPut, s.bucket, key, ttl, q, h)
	if err != nil {
		return "", nil, fmt.Errorf("s3blob: presign part %d of %x: %w", n, sum, err)
	}
	return u.String(), h, nil
}

// CompleteParts implements server.PartStore. It completes the multipart
// upload of the staging object, reads it back to hash it (S3's checksum
// of a multipart object is one of the parts' checksums, not the blob's),
// copies it to the blob's key when it is the declared blob and the key
// holds nothing yet, and removes it. The parts are joined and checked
// even when the blob is stored already (another workspace uploaded it):
// the owner gets the blob only for sending all of it.
func (s *Store) CompleteParts(ctx context.Context, owner string, sum [32]byte, upload string, size, partSize int64) error {
	staging, err := s.staging(owner, sum)
	if err != nil {
		return err
	}
	parts, err := s.listParts(ctx, staging, upload)
	switch {
	case isNotFound(err):
		// Completed before, but not copied (a crash), or gone.
		if _, serr := s.c.StatObject(ctx, s.bucket, staging, minio.StatObjectOptions{}); serr != nil {
			return fmt.Errorf("s3blob: complete %x: no upload %s: %w", sum, upload, server.ErrPartsMissing)
		}
	case err != nil:
		return fmt.Errorf("s3blob: complete %x: list parts: %w", sum, err)
	default:
		count := server.PartCount(size, partSize)
		byNum := make(map[int]minio.ObjectPart, len(parts))
		for _, p := range parts {
			byNum[p.PartNumber] = p
		}
		done := make([]minio.CompletePart, 0, count)
		for n := 1; n <= count; n++ {
			p, ok := byNum[n]
			if !ok || p.Size != server.PartLen(size, partSize, n) {
				return fmt.Errorf("s3blob: complete %x: part %d: %w", sum, n, server.ErrPartsMissing)
			}
			done = append(done, minio.CompletePart{PartNumber: n, ETag: p.ETag})
		}
		if _, err := s.core.CompleteMultipartUpload(ctx, s.bucket, staging, upload, done, minio.PutObjectOptions{}); err != nil {
			return fmt.Errorf("s3blob: complete %x: join the parts: %w", sum, err)
		}
	}
	got, n, err := s.hash(ctx, staging)
	if err != nil {
		return fmt.Errorf("s3blob: complete %x: hash the joined parts: %w", sum, err)
	}
	if got != sum || n != size {
		if err := s.c.RemoveObject(ctx, s.bucket, staging, minio.RemoveObjectOptions{}); err != nil {
			return fmt.Errorf("s3blob: complete %x: %w (and removing it failed: %v)", sum, server.ErrBlobMismatch, err)
		}
		return fmt.Errorf("s3blob: complete %x: %w", sum, server.ErrBlobMismatch)
	}
	switch _, err := s.c.StatObject(ctx, s.bucket, s.Key(sum), minio.StatObjectOptions{}); {
	case err == nil:
		// Same digest, same bytes: keep the object there is.
	case !isNotFound(err):
		return fmt.Errorf("s3blob: complete %x: %w", sum, err)
	default:
		dst := minio.CopyDestOptions{Bucket: s.bucket, Object: s.Key(sum)}
		src := minio.CopySrcOptions{Bucket: s.bucket, Object: staging}
		if size <= MaxPresignedPut {
			_, err = s.c.CopyObject(ctx, dst, src)
		} else {
			_, err = s.c.ComposeObject(ctx, dst, src)
		}
		if err != nil {
			return fmt.Errorf("s3blob: complete %x: copy to the blob's key: %w", sum, err)
		}
	}
	if err := s.c.RemoveObject(ctx, s.bucket, staging, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("s3blob: complete %x: removing the staging object: %w", sum, err)
	}
	return nil
}
