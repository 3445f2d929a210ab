//go:build js && wasm

package syncengine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/jsnet"
	"github.com/atelierstore/atelier/syncproto"
)

// The blob routes over HTTP: a check, then a signed URL that the bytes go
// to (or come from) without the bearer token. Uploads send the Blob
// itself, with XMLHttpRequest for its progress events; downloads return
// the response as a Blob. Neither copies the bytes through Go.

var _ BlobTransport = (*HTTP)(nil)

// MissingBlobs implements BlobTransport.
func (h *HTTP) MissingBlobs(ctx context.Context, hashes []string) ([]string, error) {
	if len(hashes) == 0 {
		return nil, nil
	}
	if len(hashes) > syncproto.MaxCheckHashes {
		return nil, &errs.ValidationError{Entity: "blob check", Field: "hashes", Reason: fmt.Sprintf("more than %d", syncproto.MaxCheckHashes)}
	}
	var out syncproto.BlobCheckResponse
	if err := h.do(ctx, "POST", h.url(syncproto.RouteBlobCheck), &syncproto.BlobCheckRequest{Hashes: hashes}, &out); err != nil {
		return nil, err
	}
	return out.Missing, nil
}

// UploadBlob implements BlobTransport: it asks for a signed upload URL
// (a server that has the blob answers 409 "Exists", which is success) and
// PUTs the content there, with the headers the answer names; when the
// answer has a commit URL (the PUT went to an object store), it POSTs
// there once the PUT succeeded. A large blob the server wants in parts
// (syncproto.BlobParts) goes up part by part, from the parts the server
// has already: see uploadParts. c must hold a browser Blob: have a method
// Blob() assetref.Blob that returns one the browser holds; other content
// fails with an error matching errs.ErrUnsupported.
func (h *HTTP) UploadBlob(ctx context.Context, hash string, c Content, progress func(sent, total int64)) error {
	var b *fsx.Blob
	if bc, ok := c.(interface{ Blob() assetref.Blob }); ok {
		b, _ = fsx.BlobOf(bc.Blob())
	}
	if b == nil {
		return fmt.Errorf("upload %s: content %T holds no Blob: %w", hash, c, errs.ErrUnsupported)
	}
	grant, done, err := h.uploadGrant(ctx, hash, c)
	if err != nil || done {
		return err
	}
	if grant.Parts != nil {
		return h.uploadParts(ctx, hash, c, b, grant, progress)
	}
	var sent func(int64)
	if progress != nil {
		total := c.Size()
		sent = func(n int64) { progress(n, total) }
	}
	r, err := jsnet.Upload(ctx, "PUT", grant.URL, grant.Headers, b, sent)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		return fmt.Errorf("sync server unreachable: %w", err)
	}
	if err := statusError(r.Status, r.Text, r.StatusText); err != nil || grant.Commit == "" {
		return err
	}
	// The bytes went to an object store: the server checks them there
	// before the workspace has the blob.
	return commit(ctx, grant.Commit)
}

// uploadGrant asks for the upload URL of the blob; done reports that the
// server has it already.
func (h *HTTP) uploadGrant(ctx context.Context, hash string, c Content) (grant *syncproto.BlobURLResponse, done bool, err error) {
	grant = new(syncproto.BlobURLResponse)
	err = h.do(ctx, "POST", h.url(syncproto.RouteBlobUpload),
		&syncproto.BlobURLRequest{Hash: hash, Bytes: c.Size(), MIME: c.MIME()}, grant)
	var he *HTTPError
	if errors.As(err, &he) && he.Code == "Exists" {
		return nil, true, nil
	}
	return grant, false, err
}

// commit POSTs to the commit URL of an upload: the server checks what
// arrived and the workspace gets the blob.
func commit(ctx context.Context, url string) error {
	resp, err := jsnet.Fetch(ctx, jsnet.Request{Method: "POST", URL: url})
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		return fmt.Errorf("sync server unreachable: %w", err)
	}
	defer resp.Close()
	text, _ := resp.Text(ctx)
	return statusError(resp.Status, text, resp.StatusText)
}

// statusError is nil for a 2xx status and an *HTTPError otherwise.
func statusError(status int, text, statusText string) error {
	if status >= 200 && status <= 299 {
		return nil
	}
	var e syncproto.ErrorResponse
	_ = json.Unmarshal([]byte(text), &e)
	if e.Error == "" {
		e.Error = statusText
	}
	if status == 0 {
		return errors.New("sync server unreachable")
	}
	return &HTTPError{Status: status, Code: e.Code, Msg: e.Error}
}

// notFound adds errs.ErrNotFound to a 404 answer.
func notFound(hash string, err error) error {
	var he *HTTPError
	if errors.As(err, &he) && he.Status == 404 {
		return &missingBlob{hash: hash, err: he}
	}
	return err
}

// missingBlob is a 404 for a blob: it matches errs.ErrNotFound, and
// As finds the *HTTPError; it is worth retrying later.
type missingBlob struct {
	hash string
	err  *HTTPError
}

func (e *missingBlob) Error() string {
	return "the sync server has no blob " + e.hash + " (yet): " + e.err.Error()
}
func (e *missingBlob) Unwrap() error        { return e.err }
func (e *missingBlob) Is(target error) bool { return target == errs.ErrNotFound }
func (e *missingBlob) Permanent() bool      { return false }
