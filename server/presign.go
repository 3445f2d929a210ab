package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/syncproto"
)

// Presigner is a BlobStore whose bytes clients can move themselves,
// through URLs it signs (S3 presigned URLs), without them passing through
// the server. With Options.PresignBlobs a Server hands out its URLs for
// uploads and downloads; an upload then ends with a commit, a POST to a
// URL of the server's, at which the server has the store check what
// arrived before the workspace gets the blob (see
// syncproto.BlobURLResponse).
type Presigner interface {
	BlobStore

	// PresignPut returns a URL at which a PUT of the size bytes with
	// digest sum stores them as that blob, and the headers the PUT must
	// carry, until ttl has passed. The store must refuse other bytes
	// there (S3 does with a signed x-amz-checksum-sha256), so that they
	// never replace a blob's content. An empty URL means this blob cannot
	// be put so (it is too large for one PUT): the server's own URL is
	// handed out instead.
	PresignPut(ctx context.Context, sum [32]byte, size int64, ttl time.Duration) (url string, header http.Header, err error)

	// PresignGet returns a URL at which a GET serves the blob with digest
	// sum, as media type mime, until ttl has passed.
	PresignGet(ctx context.Context, sum [32]byte, mime string, ttl time.Duration) (string, error)

	// CheckBlob checks that the blob with digest sum is stored, with size
	// bytes. It fails with an error matching errs.ErrNotFound when nothing
	// is, and with ErrBlobMismatch when what is stored has another size
	// or digest; bytes that are not the blob's it removes.
	CheckBlob(ctx context.Context, sum [32]byte, size int64) error
}

// presignedUpload answers an upload URL request with the store's
// presigned URL and the server's commit URL for g, and reports whether it
// did; false means the caller hands out the server's own URL. Errors are
// answered here.
func (s *Server) presignedUpload(w http.ResponseWriter, r *http.Request, g *blobGrant) (answered bool) {
	if s.presign == nil {
		return false
	}
	g.expires = s.expiry()
	url, header, err := s.presign.PresignPut(r.Context(), g.sum, g.size, s.untilExpiry(g.expires))
	if err != nil {
		s.internal(w, r, fmt.Errorf("presign upload to %s: %w", g.ws, err))
		return true
	}
	if url == "" {
		return false
	}
	// The commit may come after the PUT URL expired, as a long upload
	// began just before: it works for another URLTTL.
	commit := *g
	commit.method, commit.expires = "POST", g.expires+int64(s.ttl/time.Second)+1
	writeJSON(w, http.StatusOK, syncproto.BlobURLResponse{URL: url, ExpiresAt: g.expires * 1000,
		Commit: s.baseURL(r) + s.sign.url(&commit), Headers: flatHeader(header)})
	return true
}

// presignedDownload answers a download URL request with the store's
// presigned URL, and reports whether it did.
func (s *Server) presignedDownload(w http.ResponseWriter, r *http.Request, g *blobGrant, info BlobInfo) (answered bool) {
	if s.presign == nil {
		return false
	}
	g.expires = s.expiry()
	url, err := s.presign.PresignGet(r.Context(), g.sum, info.MIME, s.untilExpiry(g.expires))
	if err != nil {
		s.internal(w, r, fmt.Errorf("presign download from %s: %w", g.ws, err))
		return true
	}
	writeJSON(w, http.StatusOK, syncproto.BlobURLResponse{URL: url, ExpiresAt: g.expires * 1000})
	return true
}

// blobCommit answers a POST to a signed commit URL: after a client PUT a
// blob at a presigned URL, the store checks it and the workspace gets it.
// 204 when it has it; 404 when nothing arrived; 400 when what arrived is
// not the declared blob.
func (s *Server) blobCommit(w http.ResponseWriter, r *http.Request) {
	g, hash, ok := s.newBlob(w, r, "blob commit in")
	if !ok {
		return
	}
	if g.kind == kindCommit {
		s.commitParts(w, r, g, hash)
		return
	}
	if s.presign == nil {
		writeError(w, http.StatusNotFound, "NotFound", "this server takes no uploads to presigned URLs")
		return
	}
	switch err := s.presign.CheckBlob(r.Context(), g.sum, g.size); {
	case errors.Is(err, errs.ErrNotFound):
		writeError(w, http.StatusNotFound, "NotFound", "nothing was uploaded for "+hash)
		return
	case errors.Is(err, ErrBlobMismatch):
		writeError(w, http.StatusBadRequest, "Invalid", fmt.Sprintf("the bytes are not the declared %d bytes with hash %s", g.size, hash))
		return
	case err != nil:
		s.internal(w, r, fmt.Errorf("blob commit in %s: %w", g.ws, err))
		return
	}
	s.recordBlob(w, r, g, hash, "blob commit in")
}

// expiry returns when a URL handed out now expires, in seconds since the
// Unix epoch, rounded up so that it never expires before ExpiresAt.
func (s *Server) expiry() int64 {
	return (s.now().Add(s.ttl).UnixMilli() + 999) / 1000
}

// untilExpiry is how long from now a URL expiring at exp (seconds) works.
func (s *Server) untilExpiry(exp int64) time.Duration {
	return time.Unix(exp, 0).Sub(s.now())
}

// flatHeader returns the first value of each of h's headers, or nil when
// h has none: the headers a client must send with a presigned request.
func flatHeader(h http.Header) map[string]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for k := range h {
		out[k] = h.Get(k)
	}
	return out
}
