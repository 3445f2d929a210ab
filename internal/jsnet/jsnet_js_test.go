//go:build js && wasm

package jsnet

import (
	"context"
	"errors"
	"io"
	"syscall/js"
	"testing"
	"time"

	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// eval runs JavaScript source as a function body, for tests only.
func eval(src string, args ...any) js.Value {
	return js.Global().Get("Function").New(src).Invoke(args...)
}

// setGlobal replaces globalThis[name] for the rest of the test.
func setGlobal(t *testing.T, name string, v js.Value) {
	t.Helper()
	old := js.Global().Get(name)
	js.Global().Set(name, v)
	t.Cleanup(func() { js.Global().Set(name, old) })
}

func blobOf(t *testing.T, text, mime string) *fsx.Blob {
	t.Helper()
	b, err := fsx.WrapBlob(eval(`return new Blob([arguments[0]], {type: arguments[1]})`, text, mime))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFetchBlobURL reads one answer each way: as text, as a Blob, as a
// stream; a URL that no longer exists fails with the browser's error.
func TestFetchBlobURL(t *testing.T) {
	ctx := t.Context()
	url := js.Global().Get("URL").Call("createObjectURL", blobOf(t, "hello", "text/plain").JSValue()).String()
	get := func() *Response {
		t.Helper()
		r, err := Fetch(ctx, Request{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Close)
		if !r.OK() || r.Status != 200 {
			t.Fatalf("status %d %q", r.Status, r.StatusText)
		}
		return r
	}
	r := get()
	if ct, ok := r.Header("Content-Type"); !ok || ct != "text/plain" {
		t.Fatalf("Content-Type = %q, %v", ct, ok)
	}
	if _, ok := r.Header("X-Missing"); ok {
		t.Fatal("a missing header is present")
	}
	if s, err := r.Text(ctx); err != nil || s != "hello" {
		t.Fatalf("Text = %q, %v", s, err)
	}
	b, err := get().Blob(ctx)
	if err != nil || b.Size() != 5 || b.Type() != "text/plain" {
		t.Fatalf("Blob = %v, %v", b, err)
	}
	body := get().Body(ctx)
	got, err := io.ReadAll(body)
	if err != nil || string(got) != "hello" {
		t.Fatalf("Body = %q, %v", got, err)
	}
	body.Close()
	js.Global().Get("URL").Call("revokeObjectURL", url)
	var jerr *jsutil.Error
	if _, err := Fetch(ctx, Request{URL: url}); !errors.As(err, &jerr) || jerr.Name != "TypeError" {
		t.Fatalf("fetch of a revoked URL = %v", err)
	}
}

// TestFetchSends: method, headers and body (text or a Blob, as it is)
// reach fetch.
func TestFetchSends(t *testing.T) {
	ctx := t.Context()
	rec := eval(`const rec = {}; rec.fetch = (url, init) => { rec.url = url; rec.init = init;
		return Promise.resolve(new Response("done", {status: 409, statusText: "Conflict"})) }; return rec`)
	setGlobal(t, "fetch", rec.Get("fetch"))
	r, err := Fetch(ctx, Request{Method: "POST", URL: "https://example.test/x", Header: map[string]string{"Authorization": "Bearer t"}, Body: `{"a":1}`})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	init := rec.Get("init")
	if rec.Get("url").String() != "https://example.test/x" || init.Get("method").String() != "POST" ||
		init.Get("headers").Get("Authorization").String() != "Bearer t" || init.Get("body").String() != `{"a":1}` {
		t.Fatalf("fetch got %s %v", rec.Get("url"), js.Global().Get("JSON").Call("stringify", init))
	}
	if r.OK() || r.Status != 409 || r.StatusText != "Conflict" {
		t.Fatalf("status %d %q", r.Status, r.StatusText)
	}
	if s, _ := r.Text(ctx); s != "done" {
		t.Fatalf("Text = %q", s)
	}
	b := blobOf(t, "bytes", "")
	if _, err := Fetch(ctx, Request{Method: "PUT", URL: "https://example.test/y", Blob: b}); err != nil {
		t.Fatal(err)
	}
	if init := rec.Get("init"); !init.Get("body").Equal(b.JSValue()) || init.Get("method").String() != "PUT" {
		t.Fatal("the Blob was not sent as it is")
	}
}

// TestFetchCancel: ending the context aborts the request's signal and
// returns ctx.Err().
func TestFetchCancel(t *testing.T) {
	rec := eval(`const rec = {}; rec.fetch = (url, init) => { rec.signal = init.signal;
		return new Promise((_, reject) => init.signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")))) }; return rec`)
	setGlobal(t, "fetch", rec.Get("fetch"))
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := Fetch(ctx, Request{URL: "https://example.test/"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Fetch = %v", err)
	}
	if !rec.Get("signal").Get("aborted").Bool() {
		t.Fatal("the request was not aborted")
	}
	if _, err := Fetch(ctx, Request{URL: "https://example.test/"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Fetch with a done context = %v", err)
	}
}

// fakeXHR is an XMLHttpRequest whose send does what globalThis.xhrSend
// says: "load" answers 201 after a progress event, "error" fails on the
// network, anything else waits (for abort).
const fakeXHR = `return class {
	constructor() { this.on = {}; this.onUpload = {}; this.upload = {addEventListener: (t, f) => this.onUpload[t] = f}; globalThis.lastXHR = this }
	open(method, url) { this.method = method; this.url = url; this.headers = {} }
	setRequestHeader(k, v) { this.headers[k] = v }
	addEventListener(t, f) { this.on[t] = f }
	send(body) {
		this.body = body
		setTimeout(() => {
			switch (globalThis.xhrSend) {
			case "load":
				this.onUpload.progress?.({loaded: 3})
				this.status = 201; this.statusText = "Created"; this.responseText = "{}"
				this.on.load({type: "load"}); break
			case "error":
				this.on.error({type: "error"}); break
			}
		}, 0)
	}
	abort() { this.aborted = true; setTimeout(() => this.on.abort({type: "abort"}), 0) }
}`

func TestUpload(t *testing.T) {
	setGlobal(t, "XMLHttpRequest", eval(fakeXHR))
	b := blobOf(t, "12345", "image/png")

	setGlobal(t, "xhrSend", js.ValueOf("load"))
	var sent []int64
	r, err := Upload(t.Context(), "PUT", "https://example.test/up", map[string]string{"X-Amz-Checksum-Sha256": "c3VtCg=="}, b, func(n int64) { sent = append(sent, n) })
	if err != nil || r.Status != 201 || r.StatusText != "Created" || r.Text != "{}" || !r.OK() {
		t.Fatalf("Upload = %+v, %v", r, err)
	}
	x := js.Global().Get("lastXHR")
	if x.Get("method").String() != "PUT" || x.Get("url").String() != "https://example.test/up" || !x.Get("body").Equal(b.JSValue()) {
		t.Fatal("the request was not the Blob PUT to the URL")
	}
	if h := x.Get("headers").Get("X-Amz-Checksum-Sha256"); h.Type() != js.TypeString || h.String() != "c3VtCg==" {
		t.Fatalf("header sent: %v", h)
	}
	if len(sent) != 1 || sent[0] != 3 {
		t.Fatalf("progress %v", sent)
	}

	js.Global().Set("xhrSend", "error")
	var jerr *jsutil.Error
	if _, err := Upload(t.Context(), "PUT", "https://example.test/up", nil, b, nil); !errors.As(err, &jerr) || jerr.Name != "NetworkError" {
		t.Fatalf("Upload on a failing network = %v", err)
	}

	js.Global().Set("xhrSend", "wait")
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := Upload(ctx, "PUT", "https://example.test/up", nil, b, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Upload = %v", err)
	}
	if !js.Global().Get("lastXHR").Get("aborted").Truthy() {
		t.Fatal("the upload was not aborted")
	}
	// Let the abort event arrive and the listeners go.
	time.Sleep(10 * time.Millisecond)
}

// TestUploadWithoutXHR: where XMLHttpRequest is missing, fetch sends it.
func TestUploadWithoutXHR(t *testing.T) {
	setGlobal(t, "XMLHttpRequest", js.Undefined())
	rec := eval(`const rec = {}; rec.fetch = (url, init) => { rec.init = init;
		return Promise.resolve(new Response('{"error":"no"}', {status: 403, statusText: "Forbidden"})) }; return rec`)
	setGlobal(t, "fetch", rec.Get("fetch"))
	b := blobOf(t, "12345", "")
	r, err := Upload(t.Context(), "PUT", "https://example.test/up", map[string]string{"X-Test": "yes"}, b, func(int64) { t.Error("progress without XMLHttpRequest") })
	if err != nil || r.Status != 403 || r.StatusText != "Forbidden" || r.Text != `{"error":"no"}` || r.OK() {
		t.Fatalf("Upload = %+v, %v", r, err)
	}
	if init := rec.Get("init"); init.Get("method").String() != "PUT" || !init.Get("body").Equal(b.JSValue()) {
		t.Fatal("fetch did not PUT the Blob")
	}
	if h := rec.Get("init").Get("headers"); h.Type() == js.TypeUndefined || js.Global().Get("Headers").New(h).Call("get", "X-Test").String() != "yes" {
		t.Fatal("fetch did not send the header")
	}
}

func TestFollowOnline(t *testing.T) {
	var got []bool
	stop := FollowOnline(func(on bool) { got = append(got, on) })
	want := []bool{js.Global().Get("navigator").Get("onLine").Bool(), false, true}
	fire := func(name string) {
		js.Global().Call("dispatchEvent", js.Global().Get("Event").New(name))
	}
	fire("offline")
	fire("online")
	stop()
	stop() // harmless
	fire("offline")
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("set calls %v, want %v", got, want)
	}
}
