//go:build js && wasm

package jsnet

import (
	"context"
	"syscall/js"

	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// Reply is the answer to an Upload.
type Reply struct {
	Status     int    // the HTTP status
	StatusText string // its reason phrase
	Text       string // the body
}

// OK reports whether the status is 2xx.
func (r Reply) OK() bool { return r.Status >= 200 && r.Status <= 299 }

// Upload sends the Blob body to url with method (PUT, say) and the
// headers in header (nil for none), and returns the answer, whatever its
// status. The browser reads the Blob: its bytes never
// pass through Go. It goes through XMLHttpRequest, whose upload progress
// events fetch lacks, calling progress (if not nil; it must not block) with
// the bytes sent so far; where XMLHttpRequest is missing (service workers)
// it goes through fetch, without progress.
//
// Ending ctx aborts the upload and Upload returns ctx.Err(). When no answer
// comes it fails with an error describing the failure: a *jsutil.Error
// named NetworkError (or fetch's TypeError).
func Upload(ctx context.Context, method, url string, header map[string]string, body *fsx.Blob, progress func(sent int64)) (Reply, error) {
	xhrClass := js.Global().Get("XMLHttpRequest")
	if xhrClass.Type() != js.TypeFunction {
		return uploadFetch(ctx, method, url, header, body)
	}
	if err := ctx.Err(); err != nil {
		return Reply{}, err
	}
	type result struct {
		r   Reply
		err error
	}
	done := make(chan result, 1)
	finish := func(r result) {
		select {
		case done <- r:
		default:
		}
	}
	xhr := xhrClass.New()
	var fs jsutil.Funcs
	onload := fs.Add(func(js.Value, []js.Value) any {
		finish(result{r: Reply{Status: xhr.Get("status").Int(), StatusText: xhr.Get("statusText").String(),
			Text: xhr.Get("responseText").String()}})
		return nil
	})
	onerror := fs.Add(func(_ js.Value, args []js.Value) any {
		msg := "the upload failed on the network"
		if len(args) > 0 && args[0].Get("type").String() == "timeout" {
			msg = "the upload timed out"
		}
		finish(result{err: &jsutil.Error{Name: "NetworkError", Message: msg}})
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
				progress(int64(args[0].Get("loaded").Float()))
			}
			return nil
		})
	}
	err := jsutil.Try(func() {
		xhr.Call("open", method, url)
		for k, v := range header {
			xhr.Call("setRequestHeader", k, v)
		}
		xhr.Call("addEventListener", "load", onload)
		xhr.Call("addEventListener", "error", onerror)
		xhr.Call("addEventListener", "timeout", onerror)
		xhr.Call("addEventListener", "abort", onabort)
		if progress != nil {
			xhr.Get("upload").Call("addEventListener", "progress", onprogress)
		}
		xhr.Call("send", body.JSValue())
	})
	if err != nil {
		fs.Release()
		return Reply{}, err
	}
	select {
	case r := <-done:
		// The request has settled: no event of ours follows.
		fs.Release()
		return r.r, r.err
	case <-ctx.Done():
		_ = jsutil.Try(func() { xhr.Call("abort") })
		// Release the listeners only once the abort (or whatever came
		// first) has been delivered.
		go func() {
			<-done
			fs.Release()
		}()
		return Reply{}, ctx.Err()
	}
}

// uploadFetch is Upload where XMLHttpRequest is missing.
func uploadFetch(ctx context.Context, method, url string, header map[string]string, body *fsx.Blob) (Reply, error) {
	resp, err := Fetch(ctx, Request{Method: method, URL: url, Header: header, Blob: body})
	if err != nil {
		return Reply{}, err
	}
	defer resp.Close()
	text, err := resp.Text(ctx)
	if err != nil {
		return Reply{}, err
	}
	return Reply{Status: resp.Status, StatusText: resp.StatusText, Text: text}, nil
}
