package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/syncproto"
)

// Bounds of uploads in parts (syncproto.BlobParts).
const (
	// DefaultPartThreshold is the size above which a blob goes up in
	// parts by default: 64 MiB.
	DefaultPartThreshold = 64 << 20
	// DefaultPartSize is the default size of those parts: 16 MiB.
	DefaultPartSize = 16 << 20
	// MinPartSize and MaxPartSize bound Options.PartSize, as S3 bounds
	// the parts of its multipart uploads.
	MinPartSize = 5 << 20
	MaxPartSize = 5 << 30
	// MaxParts is the most parts of one upload, as in S3: a blob too large
	// for MaxParts parts of Options.PartSize gets larger parts.
	MaxParts = 10_000
)

// PartStore is a BlobStore that takes a blob in parts, so that an upload
// that broke off resumes from the parts stored. It keeps the parts of an
// upload itself, found again by the owner and the blob's digest: the
// server keeps no record of uploads.
//
// The owner (the server passes the workspace, a valid workspace name)
// keeps uploads apart: the parts one owner stored never count for
// another's upload of the same blob, so that a commit gives a workspace
// a blob only when it sent every byte of it, as with one PUT; knowing a
// blob's hash is not enough. Parts of an upload never completed must be removed
// after a while (dirblob.Store does when opened, s3blob.Store leaves it
// to a lifecycle rule of the bucket).
type PartStore interface {
	BlobStore

	// StartParts returns the id of an upload of the blob with digest sum,
	// size bytes in parts of partSize, and the numbers of its parts that
	// are stored, with their full size. It resumes the upload begun
	// before for the same blob and part size, if there is one, and
	// begins one otherwise. Ids are printable ASCII.
	StartParts(ctx context.Context, owner string, sum [32]byte, size, partSize int64) (upload string, stored []int, err error)

	// PutPart reads r to its end and stores what it read as part n of
	// the upload, replacing any part n there was. When reading fails it
	// stores nothing and returns the error: the server hands it a reader
	// that checks the part's size and digest, as with BlobStore.Put. It
	// fails with an error matching ErrPartsMissing when the upload does
	// not exist.
	PutPart(ctx context.Context, owner string, sum [32]byte, upload string, n int, r io.Reader) error

	// CompleteParts joins the parts of the upload into the blob, checks
	// that it has size bytes and digest sum, and ends the upload; a blob
	// stored already is kept as it is. It fails with ErrPartsMissing when
	// a part is not stored or the upload is gone (the server answers a
	// repeated commit of a workspace that has the blob itself), and with
	// ErrBlobMismatch when the joined bytes are not the blob: the upload
	// is then dropped and nothing is stored.
	CompleteParts(ctx context.Context, owner string, sum [32]byte, upload string, size, partSize int64) error
}

// PartPresigner is a PartStore whose parts clients can PUT themselves,
// at URLs it signs (S3 presigned UploadPart URLs). With
// Options.PresignBlobs a Server hands them out.
type PartPresigner interface {
	PartStore

	// PresignPart returns a URL at which a PUT of size bytes with digest
	// partSum stores them as part n of the upload, and the headers the
	// PUT must carry, until ttl has passed. The store should refuse
	// other bytes there (S3 does with a signed x-amz-checksum-sha256);
	// CompleteParts checks the whole blob in any case.
	PresignPart(ctx context.Context, owner string, sum [32]byte, upload string, n int, partSum [32]byte, size int64, ttl time.Duration) (url string, header http.Header, err error)
}

// PartCount returns the number of parts of a blob of size bytes in parts
// of chunk bytes.
func PartCount(size, chunk int64) int {
	return int((size + chunk - 1) / chunk)
}

// PartLen returns the size of part n (from 1) of a blob of size bytes in
// parts of chunk bytes: chunk, but the rest for the last one, and 0 for
// a part that does not exist.
func PartLen(size, chunk int64, n int) int64 {
	off := int64(n-1) * chunk
	if n < 1 || off >= size {
		return 0
	}
	return min(chunk, size-off)
}

// chunkFor returns the part size of a blob of size bytes: Options.PartSize,
// or larger for a blob that would have more than MaxParts parts, in whole
// MiB so that it stays the same for the same size.
func (s *Server) chunkFor(size int64) int64 {
	c := s.partSize
	if PartCount(size, c) > MaxParts {
		c = ((size+MaxParts-1)/MaxParts + 1<<20 - 1) &^ (1<<20 - 1)
	}
	return c
}

// partsUpload answers an upload URL request with the grant of an upload
// in parts when the blob is large enough and the store takes parts, and
// reports whether it did; false means the caller hands out a URL for one
// PUT. Errors are answered here.
func (s *Server) partsUpload(w http.ResponseWriter, r *http.Request, g *blobGrant) (answered bool) {
	if s.parts == nil || s.partThreshold < 0 || g.size <= s.partThreshold {
		return false
	}
	chunk := s.chunkFor(g.size)
	upload, stored, err := s.parts.StartParts(r.Context(), g.ws, g.sum, g.size, chunk)
	if err == nil && (upload == "" || !printableASCII(upload)) {
		err = fmt.Errorf("the store gave the upload id %q", upload)
	}
	if err != nil {
		s.internal(w, r, fmt.Errorf("start upload in parts in %s: %w", g.ws, err))
		return true
	}
	g.expires = s.expiry()
	parts := *g
	parts.method, parts.kind, parts.upload, parts.chunk = "POST", kindParts, upload, chunk
	// The commit may come long after the grant expired: it works for
	// another URLTTL, and a client past that asks for the upload again.
	commit := parts
	commit.kind, commit.expires = kindCommit, g.expires+int64(s.ttl/time.Second)+1
	if stored == nil {
		stored = []int{}
	}
	base := s.baseURL(r)
	writeJSON(w, http.StatusOK, syncproto.BlobURLResponse{
		URL: base + s.sign.url(&parts), ExpiresAt: g.expires * 1000, Commit: base + s.sign.url(&commit),
		Parts: &syncproto.BlobParts{Size: chunk, Count: PartCount(g.size, chunk), Stored: stored},
	})
	return true
}

// blobPartURL answers a POST of a syncproto.BlobPartRequest to a signed
// part URL with the URL to PUT that part to: the store's presigned one
// with Options.PresignBlobs, the server's own otherwise.
func (s *Server) blobPartURL(w http.ResponseWriter, r *http.Request) {
	g, _, ok := s.newBlob(w, r, "blob part URL in")
	if !ok {
		return
	}
	if g.kind != kindParts || s.parts == nil {
		writeError(w, http.StatusForbidden, "Forbidden", "bad URL signature")
		return
	}
	body, ok := readBody(w, r, maxURLBody)
	if !ok {
		return
	}
	var req syncproto.BlobPartRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "Invalid", "malformed part URL request: "+err.Error())
		return
	}
	size := PartLen(g.size, g.chunk, req.Part)
	if size == 0 {
		writeError(w, http.StatusBadRequest, "Invalid", fmt.Sprintf("part %d: the blob has parts 1 to %d", req.Part, PartCount(g.size, g.chunk)))
		return
	}
	partSum, err := assetref.ParseHash(req.Hash)
	if err != nil {
		writeError(w, http.StatusBadRequest, "Invalid", "part hash: "+err.Error())
		return
	}
	expires := s.expiry()
	if s.partPresign != nil {
		url, header, err := s.partPresign.PresignPart(r.Context(), g.ws, g.sum, g.upload, req.Part, partSum, size, s.untilExpiry(expires))
		if err != nil {
			s.internal(w, r, fmt.Errorf("presign part %d in %s: %w", req.Part, g.ws, err))
			return
		}
		writeJSON(w, http.StatusOK, syncproto.BlobPartResponse{URL: url, ExpiresAt: expires * 1000, Headers: flatHeader(header)})
		return
	}
	part := *g
	part.method, part.kind, part.part, part.partSum, part.expires = "PUT", kindPart, req.Part, partSum, expires
	writeJSON(w, http.StatusOK, syncproto.BlobPartResponse{URL: s.baseURL(r) + s.sign.url(&part), ExpiresAt: expires * 1000})
}

// blobPartPut receives the bytes of one part at a signed part URL. It
// stores them only if they are the part's size and declared hash: 413
// when more bytes come, 400 when fewer come or the hash differs.
func (s *Server) blobPartPut(w http.ResponseWriter, r *http.Request) {
	g, _, ok := s.newBlob(w, r, "blob part upload to")
	if !ok {
		return
	}
	size := PartLen(g.size, g.chunk, g.part)
	if g.kind != kindPart || s.parts == nil || size == 0 {
		writeError(w, http.StatusForbidden, "Forbidden", "bad URL signature")
		return
	}
	if r.ContentLength > size {
		writeError(w, http.StatusRequestEntityTooLarge, "TooLarge", fmt.Sprintf("part %d has %d bytes, got %d", g.part, size, r.ContentLength))
		return
	}
	err := s.parts.PutPart(r.Context(), g.ws, g.sum, g.upload, g.part, newVerifier(clientReader{r.Body}, g.partSum, size))
	var cerr *clientError
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, ErrBlobTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "TooLarge", fmt.Sprintf("part %d has %d bytes, more came", g.part, size))
	case errors.Is(err, ErrBlobMismatch):
		writeError(w, http.StatusBadRequest, "Invalid", fmt.Sprintf("the bytes are not part %d's declared %d bytes with its declared hash", g.part, size))
	case errors.Is(err, ErrPartsMissing):
		writeError(w, http.StatusConflict, "Incomplete", "the upload is gone: ask for it again")
	case errors.As(err, &cerr) || r.Context().Err() != nil:
		if !bodyError(w, err) {
			writeError(w, http.StatusBadRequest, "Invalid", "upload broke off")
		}
	default:
		s.internal(w, r, fmt.Errorf("blob part upload to %s: %w", g.ws, err))
	}
}

// commitParts answers a POST to the commit URL of an upload in parts: the
// store joins and checks the parts, and the workspace gets the blob.
func (s *Server) commitParts(w http.ResponseWriter, r *http.Request, g *blobGrant, hash string) {
	if s.parts == nil {
		writeError(w, http.StatusNotFound, "NotFound", "this server takes no uploads in parts")
		return
	}
	switch err := s.parts.CompleteParts(r.Context(), g.ws, g.sum, g.upload, g.size, g.chunk); {
	case errors.Is(err, ErrPartsMissing):
		writeError(w, http.StatusConflict, "Incomplete", "not all parts of "+hash+" are stored: ask for the upload again")
		return
	case errors.Is(err, ErrBlobMismatch):
		writeError(w, http.StatusBadRequest, "Invalid", fmt.Sprintf("the parts are not the declared %d bytes with hash %s", g.size, hash))
		return
	case err != nil:
		s.internal(w, r, fmt.Errorf("blob commit in %s: %w", g.ws, err))
		return
	}
	s.recordBlob(w, r, g, hash, "blob commit in")
}
