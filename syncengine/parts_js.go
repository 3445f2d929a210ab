//go:build js && wasm

package syncengine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/jsnet"
	"github.com/atelierstore/atelier/syncproto"
)

// Uploads in parts (syncproto.BlobParts). The server says which parts it
// has; the others go up one at a time, each PUT of a slice of the Blob
// (the browser reads it: no byte passes through Go), after its SHA-256,
// which the part URL is signed for. A part that fails is sent again a few
// times; an upload that still fails returns its error, and the next
// UploadBlob asks the server again and resumes from the parts it has.
var (
	// partAttempts is how many times one part is sent before the upload
	// gives up (for now).
	partAttempts = 4
	// partBackoff is the wait after the first failure of a part, doubled
	// after each further one.
	partBackoff = 500 * time.Millisecond
	// partRounds is how many times an upload asks for its grant again
	// when the server lost it or it expired.
	partRounds = 3
)

// errRegrant is a part failure cured by asking for the upload again: the
// grant expired, or the server lost the upload.
var errRegrant = errors.New("the upload grant expired or the upload is gone")

// errHave stops an upload in parts whose blob the workspace got meanwhile
// (another device uploaded it): success.
var errHave = errors.New("the workspace has the blob")

// uploadParts sends the parts of b that the grant does not list as
// stored, then commits. progress counts stored parts as sent.
func (h *HTTP) uploadParts(ctx context.Context, hash string, c Content, b *fsx.Blob, grant *syncproto.BlobURLResponse, progress func(sent, total int64)) error {
	for round := 1; ; round++ {
		err := sendParts(ctx, grant, b, progress)
		if errors.Is(err, errHave) {
			return nil
		}
		if err == nil {
			err = commit(ctx, grant.Commit)
			var he *HTTPError
			if errors.As(err, &he) && he.Code == "Incomplete" {
				err = errRegrant
			}
		}
		if !errors.Is(err, errRegrant) || round == partRounds {
			if err != nil {
				if cerr := ctx.Err(); cerr != nil {
					return cerr
				}
				return fmt.Errorf("upload %s in parts: %w", hash, err)
			}
			return nil
		}
		var done bool
		grant, done, err = h.uploadGrant(ctx, hash, c)
		if err != nil || done {
			return err
		}
		if grant.Parts == nil {
			return fmt.Errorf("upload %s: the server no longer takes it in parts: %w", hash, errRegrant)
		}
	}
}

// sendParts sends the parts the grant does not list as stored. It hashes
// the next part while the current one goes up.
func sendParts(ctx context.Context, grant *syncproto.BlobURLResponse, b *fsx.Blob, progress func(sent, total int64)) error {
	p, total := grant.Parts, b.Size()
	if p.Size <= 0 || int64(p.Count) != (total+p.Size-1)/p.Size {
		return fmt.Errorf("the server's parts (%d of %d bytes) do not make %d bytes", p.Count, p.Size, total)
	}
	bounds := func(n int) (int64, int64) {
		off := int64(n-1) * p.Size
		return off, min(off+p.Size, total)
	}
	stored := make(map[int]bool, len(p.Stored))
	var done int64
	for _, n := range p.Stored {
		if n >= 1 && n <= p.Count && !stored[n] {
			stored[n] = true
			off, end := bounds(n)
			done += end - off
		}
	}
	report := func(sent int64) {
		if progress != nil {
			progress(sent, total)
		}
	}
	report(done)
	var todo []int
	for n := 1; n <= p.Count; n++ {
		if !stored[n] {
			todo = append(todo, n)
		}
	}
	hashOf := func(n int) (*fsx.Blob, func() (fsx.Sum, error)) {
		off, end := bounds(n)
		slice, err := fsx.WrapBlob(b.Slice(off, end))
		if err != nil {
			return nil, func() (fsx.Sum, error) { return fsx.Sum{}, err }
		}
		return slice, fsx.StartHashOnly(ctx, slice)
	}
	var next func() (fsx.Sum, error)
	var nextSlice *fsx.Blob
	if len(todo) > 0 {
		nextSlice, next = hashOf(todo[0])
	}
	for i, n := range todo {
		slice, sum := nextSlice, next
		if i+1 < len(todo) {
			nextSlice, next = hashOf(todo[i+1])
		}
		s, err := sum()
		if err != nil {
			return fmt.Errorf("hash part %d: %w", n, err)
		}
		base := done
		err = sendPart(ctx, grant.URL, n, s.Hash, slice, func(sent int64) { report(base + sent) })
		if err != nil {
			return fmt.Errorf("part %d of %d: %w", n, p.Count, err)
		}
		done += slice.Size()
		report(done)
	}
	return nil
}

// sendPart sends one part, again after a failure, up to partAttempts
// times.
func sendPart(ctx context.Context, partsURL string, n int, hash string, slice *fsx.Blob, sent func(int64)) error {
	wait := partBackoff
	for attempt := 1; ; attempt++ {
		err := sendPartOnce(ctx, partsURL, n, hash, slice, sent)
		if err == nil || errors.Is(err, errRegrant) || errors.Is(err, errHave) || ctx.Err() != nil || attempt == partAttempts {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait *= 2
	}
}

// sendPartOnce asks for the URL of part n and PUTs the slice there.
func sendPartOnce(ctx context.Context, partsURL string, n int, hash string, slice *fsx.Blob, sent func(int64)) error {
	body, _ := json.Marshal(syncproto.BlobPartRequest{Part: n, Hash: hash})
	resp, err := jsnet.Fetch(ctx, jsnet.Request{Method: "POST", URL: partsURL,
		Header: map[string]string{"Content-Type": "application/json"}, Body: string(body)})
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		return fmt.Errorf("sync server unreachable: %w", err)
	}
	text, terr := resp.Text(ctx)
	resp.Close()
	if err := regrant(statusError(resp.Status, text, resp.StatusText)); err != nil {
		return err
	}
	if terr != nil {
		return fmt.Errorf("reading the sync server's answer: %w", terr)
	}
	if resp.Status == 204 {
		return errHave
	}
	var part syncproto.BlobPartResponse
	if err := json.Unmarshal([]byte(text), &part); err != nil || part.URL == "" {
		return fmt.Errorf("malformed part URL answer: %v", err)
	}
	r, err := jsnet.Upload(ctx, "PUT", part.URL, part.Headers, slice, sent)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		return fmt.Errorf("upload of a part broke off: %w", err)
	}
	return regrant(statusError(r.Status, r.Text, r.StatusText))
}

// regrant turns the answers that call for a new grant into errRegrant.
func regrant(err error) error {
	var he *HTTPError
	if errors.As(err, &he) && (he.Status == 403 || he.Code == "Incomplete") {
		return fmt.Errorf("%w: %w", errRegrant, err)
	}
	return err
}
