//go:build js && wasm

package syncengine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"syscall/js"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/jsutil"
	"github.com/atelierstore/atelier/syncproto"
)

// The blob routes over HTTP: a check, then a signed URL that the bytes go
// to (or come from) without the bearer token. Uploads send the Blob
// itself, with XMLHttpRequest for its progress events; downloads return
// the response as a Blob. Neither copies the bytes through Go.

var _ BlobTransport = (*HTTP)(nil)

// jsBlob is implemented by Content that holds a JavaScript Blob.
type jsBlob interface{ JSValue() js.Value }

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
// PUTs the content there. c must hold a Blob (have a method JSValue).
func (h *HTTP) UploadBlob(ctx context.Context, hash string, c Content, progress func(sent, total int64)) error {
	b, ok := c.(jsBlob)
	if !ok {
		return fmt.Errorf("upload %s: content %T holds no Blob: %w", hash, c, errs.ErrUnsupported)
	}
	var grant syncproto.BlobURLResponse
	err := h.do(ctx, "POST", h.url(syncproto.RouteBlobUpload),
		&syncproto.BlobURLRequest{Hash: hash, Bytes: c.Size(), MIME: c.MIME()}, &grant)
	var he *HTTPError
	if errors.As(err, &he) && he.Code == "Exists" {
		return nil
	}
	if err != nil {
		return err
	}
	return put(ctx, grant.URL, b.JSValue(), c.Size(), progress)
}

// put sends body to a signed URL with XMLHttpRequest, whose upload
// progress events fetch lacks. ctx aborts it.
func put(ctx context.Context, url string, body js.Value, total int64, progress func(sent, total int64)) error {
	xhrClass := js.Global().Get("XMLHttpRequest")
	if xhrClass.Type() != js.TypeFunction {
		return putFetch(ctx, url, body)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	type result struct {
		status int
		text   string
		err    error
	}
	done := make(chan result, 1)
	xhr := xhrClass.New()
	var fs jsutil.Funcs
	finish := func(r result) {
		select {
		case done <- r:
		default:
		}
	}
	onload := fs.Add(func(js.Value, []js.Value) any {
		finish(result{status: xhr.Get("status").Int(), text: xhr.Get("responseText").String()})
		return nil
	})
	onerror := fs.Add(func(js.Value, []js.Value) any {
		finish(result{err: errors.New("sync server unreachable: the upload failed on the network")})
		return nil
	})
	onabort := fs.Add(func(js.Value, []js.Value) any {
		finish(result{err: context.Canceled})
		return nil
	})
	var onprogress js.Func
	if progress != nil {
		onprogress = fs.Add(func(_ js.Value, args []js.Value) any {
			if len(args) > 0 {
				progress(int64(args[0].Get("loaded").Float()), total)
			}
			return nil
		})
	}
	err := jsutil.Try(func() {
		xhr.Call("open", "PUT", url)
		xhr.Call("addEventListener", "load", onload)
		xhr.Call("addEventListener", "error", onerror)
		xhr.Call("addEventListener", "timeout", onerror)
		xhr.Call("addEventListener", "abort", onabort)
		if progress != nil {
			xhr.Get("upload").Call("addEventListener", "progress", onprogress)
		}
		xhr.Call("send", body)
	})
	if err != nil {
		fs.Release()
		return fmt.Errorf("upload: %w", err)
	}
	select {
	case r := <-done:
		// The request has settled: no event of ours follows.
		fs.Release()
		if r.err != nil {
			return r.err
		}
		return statusError(r.status, r.text, "")
	case <-ctx.Done():
		_ = jsutil.Try(func() { xhr.Call("abort") })
		// Release the listeners only once the abort (or whatever came
		// first) has been delivered.
		go func() {
			<-done
			fs.Release()
		}()
		return ctx.Err()
	}
}

// putFetch is put where XMLHttpRequest is missing (service workers).
func putFetch(ctx context.Context, url string, body js.Value) error {
	resp, err := fetch(ctx, url, map[string]any{"method": "PUT", "body": body})
	if err != nil {
		return err
	}
	text, err := jsutil.Await(ctx, resp.Call("text"))
	if err != nil {
		return fmt.Errorf("reading the sync server's answer: %w", err)
	}
	return statusError(resp.Get("status").Int(), text.String(), resp.Get("statusText").String())
}

// fetch calls fetch with an AbortSignal bound to ctx.
func fetch(ctx context.Context, url string, init map[string]any) (js.Value, error) {
	abort := js.Global().Get("AbortController").New()
	init["signal"] = abort.Get("signal")
	stop := context.AfterFunc(ctx, func() { abort.Call("abort") })
	defer stop()
	resp, err := jsutil.Await(ctx, js.Global().Call("fetch", url, init))
	if err != nil {
		if ctx.Err() != nil {
			return js.Undefined(), ctx.Err()
		}
		return js.Undefined(), fmt.Errorf("sync server unreachable: %w", err)
	}
	return resp, nil
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

// DownloadBlob returns the content of the blob with the given hash as a
// Blob. It asks for a signed download URL and GETs it. When the server
// has no such blob it fails with an error matching both
// errs.ErrNotFound and an *HTTPError (404), which is not permanent:
// the device that has the asset may not have uploaded it yet.
func (h *HTTP) DownloadBlob(ctx context.Context, hash string) (js.Value, error) {
	var grant syncproto.BlobURLResponse
	err := h.do(ctx, "POST", h.url(syncproto.RouteBlobDownload), &syncproto.BlobURLRequest{Hash: hash}, &grant)
	if err != nil {
		return js.Undefined(), notFound(hash, err)
	}
	resp, err := fetch(ctx, grant.URL, map[string]any{"method": "GET"})
	if err != nil {
		return js.Undefined(), err
	}
	if status := resp.Get("status").Int(); status < 200 || status > 299 {
		text, _ := jsutil.Await(ctx, resp.Call("text"))
		t := ""
		if text.Type() == js.TypeString {
			t = text.String()
		}
		return js.Undefined(), notFound(hash, statusError(status, t, resp.Get("statusText").String()))
	}
	blob, err := jsutil.Await(ctx, resp.Call("blob"))
	if err != nil {
		if ctx.Err() != nil {
			return js.Undefined(), ctx.Err()
		}
		return js.Undefined(), fmt.Errorf("downloading %s broke off: %w", hash, err)
	}
	return blob, nil
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
