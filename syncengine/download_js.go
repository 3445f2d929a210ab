//go:build js && wasm

package syncengine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/jsnet"
	"github.com/atelierstore/atelier/syncproto"
)

// resumeFrom is the size from which a download is collected as it
// arrives, so that one that breaks off goes on from where it stopped,
// with a Range request, instead of starting again. Smaller ones are read
// whole, which costs the browser less.
const resumeFrom = 8 << 20

// reportEvery is how many bytes come between two progress reports.
const reportEvery = 4 << 20

// maxStalls is how many times in a row a download may break off without
// having brought a byte before it fails.
const maxStalls = 4

// DownloadBlob returns the content of the blob with the given hash as a
// Blob the browser holds, of the media type the answer names. It asks for
// a signed download URL and GETs it. A download of resumeFrom bytes or
// more that breaks off goes on where it stopped (a Range request, with a
// new URL once the last one expired), as long as each try brings bytes;
// it fails after maxStalls tries in a row that bring none. The
// ProgressFunc ctx carries (assetref.WithProgress) hears of the bytes
// received: every reportEvery bytes, and once all have come. When the
// server has no such blob it fails with an error matching both
// errs.ErrNotFound and an *HTTPError (404), which is not permanent: the
// device that has the asset may not have uploaded it yet.
func (h *HTTP) DownloadBlob(ctx context.Context, hash string) (assetref.Blob, error) {
	d := &download{h: h, hash: hash, total: -1}
	return d.run(ctx)
}

// download is one DownloadBlob.
type download struct {
	h     *HTTP
	hash  string
	grant syncproto.BlobURLResponse
	got   jsnet.Collector
	total int64 // the blob's size; -1 until an answer tells it
	mime  string
}

func (d *download) run(ctx context.Context) (assetref.Blob, error) {
	for stalls := 0; ; {
		before := d.got.Len()
		blob, err := d.try(ctx)
		switch {
		case err == nil:
			return blob, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case !resumable(err):
			return nil, err
		}
		if d.got.Len() > before {
			stalls = 0
		} else if stalls++; stalls >= maxStalls {
			return nil, err
		}
		t := time.NewTimer(time.Duration(250<<stalls) * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// brokeOff is a download that broke off after some bytes came: worth
// going on from there.
type brokeOff struct{ err error }

func (e *brokeOff) Error() string { return e.err.Error() }
func (e *brokeOff) Unwrap() error { return e.err }

// resumable reports whether a failed try is worth another one that
// starts where it stopped.
func resumable(err error) bool {
	_, ok := err.(*brokeOff)
	return ok
}

// try asks for the rest of the blob once. It fails with a *brokeOff when
// there is more to come and asking again may bring it.
func (d *download) try(ctx context.Context) (assetref.Blob, error) {
	if d.grant.URL == "" || time.Now().UnixMilli() > d.grant.ExpiresAt-5000 {
		d.grant = syncproto.BlobURLResponse{}
		err := d.h.do(ctx, "POST", d.h.url(syncproto.RouteBlobDownload), &syncproto.BlobURLRequest{Hash: d.hash}, &d.grant)
		if err != nil {
			return nil, d.retry(notFound(d.hash, err))
		}
	}
	req := jsnet.Request{URL: d.grant.URL}
	if d.got.Len() > 0 {
		req.Header = map[string]string{"Range": "bytes=" + strconv.FormatInt(d.got.Len(), 10) + "-"}
	}
	resp, err := jsnet.Fetch(ctx, req)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, d.retry(fmt.Errorf("sync server unreachable: %w", err))
	}
	if err := d.span(resp); err != nil {
		resp.Close()
		return nil, err
	}
	if d.got.Len() == 0 && d.total >= 0 && d.total < resumeFrom {
		defer resp.Close()
		blob, err := resp.Blob(ctx)
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return nil, cerr
			}
			return nil, fmt.Errorf("downloading %s broke off: %w", d.hash, err)
		}
		assetref.ReportProgress(ctx, blob.Size(), blob.Size())
		return blob.Asset(""), nil
	}
	next := (d.got.Len()/reportEvery + 1) * reportEvery
	err = d.got.ReadBody(ctx, resp, func(n int64) {
		if n >= next && n < d.total {
			assetref.ReportProgress(ctx, n, d.total)
			next = (n/reportEvery + 1) * reportEvery
		}
	})
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, &brokeOff{fmt.Errorf("downloading %s broke off after %d of %d bytes: %w", d.hash, d.got.Len(), d.total, err)}
	}
	if d.total >= 0 && d.got.Len() != d.total {
		return nil, &brokeOff{fmt.Errorf("downloading %s: %d of %d bytes came", d.hash, d.got.Len(), d.total)}
	}
	blob, err := d.got.Blob(d.mime)
	if err != nil {
		return nil, err
	}
	assetref.ReportProgress(ctx, blob.Size(), blob.Size())
	return blob.Asset(""), nil
}

// retry makes err resumable when the download has bytes already: the
// first try's failures are the caller's to retry, as before a download
// could go on.
func (d *download) retry(err error) error {
	if d.got.Len() > 0 {
		return &brokeOff{err}
	}
	return err
}

// span checks the status of an answer and learns the blob's size and
// media type from it: a 200 is the whole blob (a server that ignored the
// Range starts it again), a 206 the rest from where the download stopped.
func (d *download) span(resp *jsnet.Response) error {
	switch {
	case resp.Status == 200:
		d.got.Reset()
		d.total = -1
		if n, err := strconv.ParseInt(header(resp, "Content-Length"), 10, 64); err == nil {
			d.total = n
		}
		d.mime = header(resp, "Content-Type")
		return nil
	case resp.Status == 206 && d.got.Len() > 0:
		// Content-Range is "bytes first-last/total"; a browser hides it
		// from another origin unless the server exposes it, and then the
		// rest's length tells the total.
		if cr := header(resp, "Content-Range"); cr != "" {
			first, total, ok := contentRange(cr)
			if !ok || first != d.got.Len() {
				return fmt.Errorf("downloading %s: asked for the bytes from %d, got %q", d.hash, d.got.Len(), cr)
			}
			d.total = total
		} else if n, err := strconv.ParseInt(header(resp, "Content-Length"), 10, 64); err == nil {
			d.total = d.got.Len() + n
		}
		return nil
	}
	text, _ := resp.Text(context.Background())
	d.grant.URL = "" // an expired or refused URL: ask for another
	return d.retry(notFound(d.hash, statusError(resp.Status, text, resp.StatusText)))
}

// header returns the value of an answer's header, "" when it has none.
func header(resp *jsnet.Response, name string) string {
	v, _ := resp.Header(name)
	return v
}

// contentRange reads "bytes first-last/total".
func contentRange(s string) (first, total int64, ok bool) {
	rest, ok := strings.CutPrefix(s, "bytes ")
	if !ok {
		return 0, 0, false
	}
	span, size, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, false
	}
	a, _, ok := strings.Cut(span, "-")
	if !ok {
		return 0, 0, false
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	total, err2 := strconv.ParseInt(size, 10, 64)
	return first, total, err1 == nil && err2 == nil && first >= 0 && first < total
}
