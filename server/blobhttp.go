package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/syncproto"
)

// emptyHash is the hash of zero bytes, the one blob whose upload request
// may leave Bytes out.
var emptyHash = assetref.HashBytes(nil)

// blobCheck answers syncproto.RouteBlobCheck.
func (s *Server) blobCheck(w http.ResponseWriter, r *http.Request, ws string) {
	body, ok := readBody(w, r, maxCheckBody)
	if !ok {
		return
	}
	var req syncproto.BlobCheckRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "Invalid", "malformed blob check request: "+err.Error())
		return
	}
	if len(req.Hashes) > MaxCheckHashes {
		writeError(w, http.StatusBadRequest, "Invalid", fmt.Sprintf("more than %d hashes", MaxCheckHashes))
		return
	}
	uniq := make([]string, 0, len(req.Hashes))
	seen := make(map[string]bool, len(req.Hashes))
	for i, h := range req.Hashes {
		if _, err := assetref.ParseHash(h); err != nil {
			writeError(w, http.StatusBadRequest, "Invalid", fmt.Sprintf("hash %d: %v", i, err))
			return
		}
		if !seen[h] {
			seen[h] = true
			uniq = append(uniq, h)
		}
	}
	missing, err := s.store.MissingBlobs(r.Context(), ws, uniq)
	if err != nil {
		s.internal(w, r, fmt.Errorf("blob check in %s: %w", ws, err))
		return
	}
	if missing == nil {
		missing = []string{}
	}
	writeJSON(w, http.StatusOK, syncproto.BlobCheckResponse{Missing: missing})
}

// readURLRequest decodes a BlobURLRequest, answering 400 on failure.
func readURLRequest(w http.ResponseWriter, r *http.Request) (*syncproto.BlobURLRequest, [32]byte, bool) {
	var sum [32]byte
	body, ok := readBody(w, r, maxURLBody)
	if !ok {
		return nil, sum, false
	}
	var req syncproto.BlobURLRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "Invalid", "malformed blob URL request: "+err.Error())
		return nil, sum, false
	}
	sum, err := assetref.ParseHash(req.Hash)
	if err != nil {
		writeError(w, http.StatusBadRequest, "Invalid", err.Error())
		return nil, sum, false
	}
	return &req, sum, true
}

// blobUploadURL answers syncproto.RouteBlobUpload: a signed PUT URL, or
// 409 "Exists" when the workspace has the blob already.
func (s *Server) blobUploadURL(w http.ResponseWriter, r *http.Request, ws string) {
	req, sum, ok := readURLRequest(w, r)
	if !ok {
		return
	}
	switch {
	case req.Bytes < 0:
		writeError(w, http.StatusBadRequest, "Invalid", "bytes must not be negative")
		return
	case req.Bytes == 0 && req.Hash != emptyHash:
		writeError(w, http.StatusBadRequest, "Invalid", "bytes, the blob's size, is required for uploads")
		return
	case req.Bytes > s.maxBlob:
		writeError(w, http.StatusRequestEntityTooLarge, "TooLarge", fmt.Sprintf("blob larger than %d bytes", s.maxBlob))
		return
	}
	media := req.MIME
	if media == "" {
		media = "application/octet-stream"
	}
	if _, _, err := mime.ParseMediaType(media); err != nil || len(media) > maxMIME || !printableASCII(media) {
		writeError(w, http.StatusBadRequest, "Invalid", "mime must be a media type like image/png")
		return
	}
	switch _, err := s.store.Blob(r.Context(), ws, req.Hash); {
	case err == nil:
		writeError(w, http.StatusConflict, "Exists", "the workspace already has "+req.Hash)
		return
	case !errors.Is(err, errs.ErrNotFound):
		s.internal(w, r, fmt.Errorf("blob upload URL in %s: %w", ws, err))
		return
	}
	g := &blobGrant{method: "PUT", ws: ws, sum: sum, size: req.Bytes, mime: media}
	if !s.hold(w, r, g) {
		return
	}
	if s.partsUpload(w, r, g) {
		return
	}
	if s.presignedUpload(w, r, g) {
		return
	}
	s.writeURL(w, r, g)
}

// blobDownloadURL answers syncproto.RouteBlobDownload: a signed GET URL,
// or 404 when the workspace has no such blob.
func (s *Server) blobDownloadURL(w http.ResponseWriter, r *http.Request, ws string) {
	req, sum, ok := readURLRequest(w, r)
	if !ok {
		return
	}
	info, err := s.store.Blob(r.Context(), ws, req.Hash)
	switch {
	case errors.Is(err, errs.ErrNotFound):
		writeError(w, http.StatusNotFound, "NotFound", "the workspace has no blob "+req.Hash)
		return
	case err != nil:
		s.internal(w, r, fmt.Errorf("blob download URL in %s: %w", ws, err))
		return
	}
	g := &blobGrant{method: "GET", ws: ws, sum: sum}
	if s.presignedDownload(w, r, g, info) {
		return
	}
	s.writeURL(w, r, g)
}

func (s *Server) writeURL(w http.ResponseWriter, r *http.Request, g *blobGrant) {
	g.expires = s.expiry()
	writeJSON(w, http.StatusOK, syncproto.BlobURLResponse{URL: s.baseURL(r) + s.sign.url(g), ExpiresAt: g.expires * 1000})
}

// baseURL is what signed URLs start with: Options.BaseURL, or the scheme
// and Host of r.
func (s *Server) baseURL(r *http.Request) string {
	if s.base != "" {
		return s.base
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// grant checks the signature and expiry of a blob URL, answering 403
// when they do not hold.
func (s *Server) grant(w http.ResponseWriter, r *http.Request) (*blobGrant, bool) {
	g, ok := s.sign.parse(r.Method, r.PathValue("ws"), r.PathValue("digest"), r.URL.Query(), strings.HasPrefix(r.URL.Path, partPath))
	switch {
	case !ok:
		writeError(w, http.StatusForbidden, "Forbidden", "bad URL signature")
		return nil, false
	case s.now().Unix() >= g.expires:
		writeError(w, http.StatusForbidden, "Forbidden", "URL expired")
		return nil, false
	}
	return g, true
}

// blobPut receives the bytes of a blob at a signed PUT URL. It stores
// them only if size and hash are the declared ones: 413 when more bytes
// come, 400 when fewer come or the hash differs. Uploading a blob the
// workspace has already succeeds without reading it.
func (s *Server) blobPut(w http.ResponseWriter, r *http.Request) {
	g, hash, ok := s.newBlob(w, r, "blob upload to")
	if !ok {
		return
	}
	if r.ContentLength > g.size {
		writeError(w, http.StatusRequestEntityTooLarge, "TooLarge", fmt.Sprintf("declared %d bytes, got %d", g.size, r.ContentLength))
		return
	}
	err := s.blobs.Put(r.Context(), g.sum, newVerifier(clientReader{r.Body}, g.sum, g.size))
	var cerr *clientError
	switch {
	case errors.Is(err, ErrBlobTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "TooLarge", fmt.Sprintf("more than the declared %d bytes", g.size))
		return
	case errors.Is(err, ErrBlobMismatch):
		writeError(w, http.StatusBadRequest, "Invalid", fmt.Sprintf("the bytes are not the declared %d bytes with hash %s", g.size, hash))
		return
	case errors.As(err, &cerr) || err != nil && r.Context().Err() != nil:
		if !bodyError(w, err) {
			writeError(w, http.StatusBadRequest, "Invalid", "upload broke off")
		}
		return
	case err != nil:
		s.internal(w, r, fmt.Errorf("blob upload to %s: %w", g.ws, err))
		return
	}
	s.recordBlob(w, r, g, hash, "blob upload to")
}

// newBlob reads the grant of a signed upload or commit URL. It answers,
// and returns ok false, when the URL is not good, and with 204 when the
// workspace has the blob already. what starts the error logged.
func (s *Server) newBlob(w http.ResponseWriter, r *http.Request, what string) (g *blobGrant, hash string, ok bool) {
	g, ok = s.grant(w, r)
	if !ok {
		return nil, "", false
	}
	hash = assetref.FormatHash(g.sum)
	switch _, err := s.store.Blob(r.Context(), g.ws, hash); {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
		return nil, "", false
	case !errors.Is(err, errs.ErrNotFound):
		s.internal(w, r, fmt.Errorf("%s %s: %w", what, g.ws, err))
		return nil, "", false
	}
	return g, hash, true
}

// recordBlob records that the workspace of g has the blob, stored and
// checked, and answers 204.
func (s *Server) recordBlob(w http.ResponseWriter, r *http.Request, g *blobGrant, hash, what string) {
	info := BlobInfo{Hash: hash, Size: g.size, MIME: g.mime, Created: s.now().UnixMilli()}
	if err := s.store.PutBlob(r.Context(), g.ws, info); err != nil {
		s.internal(w, r, fmt.Errorf("%s %s: %w", what, g.ws, err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// blobGet serves the bytes of a blob at a signed GET URL, with ranges.
func (s *Server) blobGet(w http.ResponseWriter, r *http.Request) {
	g, ok := s.grant(w, r)
	if !ok {
		return
	}
	hash := assetref.FormatHash(g.sum)
	info, err := s.store.Blob(r.Context(), g.ws, hash)
	if errors.Is(err, errs.ErrNotFound) {
		writeError(w, http.StatusNotFound, "NotFound", "the workspace has no blob "+hash)
		return
	}
	if err != nil {
		s.internal(w, r, fmt.Errorf("blob download from %s: %w", g.ws, err))
		return
	}
	f, err := s.blobs.Open(r.Context(), g.sum)
	if err != nil {
		s.internal(w, r, fmt.Errorf("blob download from %s: %w", g.ws, err))
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", info.MIME)
	h.Set("ETag", strconv.Quote(hash))
	h.Set("Cache-Control", "private, max-age="+strconv.FormatInt(max(0, g.expires-s.now().Unix()), 10)+", immutable")
	// The bytes are the users', with a media type they chose: never let a
	// browser run them as a page of this origin.
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	http.ServeContent(w, r, "", time.Time{}, f)
}

// clientReader marks the errors of reading a request body as the
// client's, to tell them from the BlobStore's own.
type clientReader struct{ r io.Reader }

func (c clientReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		err = &clientError{err}
	}
	return n, err
}

type clientError struct{ err error }

func (e *clientError) Error() string { return "reading the request: " + e.err.Error() }
func (e *clientError) Unwrap() error { return e.err }

// printableASCII reports whether s is all printable ASCII: a media type
// is served back as a Content-Type header.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
