//go:build js && wasm

package syncengine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall/js"
	"testing"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/syncproto"
)

// TestUploadBlobParts uploads in parts to a fake server that has part 2
// already and fails the first PUT of part 3: parts 1 and 3 go up, each
// after asking for its URL with its hash, part 3 twice, then the commit;
// progress counts part 2 as sent from the start.
func TestUploadBlobParts(t *testing.T) {
	defer func(d time.Duration) { partBackoff = d }(partBackoff)
	partBackoff = time.Millisecond
	content := "hello"
	b, err := fsx.WrapBlob(js.Global().Get("Blob").New([]any{content}, map[string]any{"type": "text/plain"}))
	if err != nil {
		t.Fatal(err)
	}
	hash := assetref.HashBytes([]byte(content))
	grant := `{"url":"https://sync.example/v1/blobparts/ws/2cf2?signature=p","expiresAt":1,` +
		`"commit":"https://sync.example/v1/blobs/ws/2cf2?upload=16&signature=c","parts":{"size":2,"count":3,"stored":[2]}}`
	var got []string
	failed := false
	f := js.FuncOf(func(_ js.Value, args []js.Value) any {
		url, init := args[0].String(), args[1]
		method := init.Get("method").String()
		status, body := 404, `{"error":"no","code":"NotFound"}`
		switch {
		case strings.HasSuffix(url, "/blobs/upload"):
			got = append(got, "grant")
			status, body = 200, grant
		case method == "POST" && strings.Contains(url, "/blobparts/"):
			req := js.Global().Get("JSON").Call("parse", init.Get("body"))
			n := req.Get("part").Int()
			got = append(got, fmt.Sprintf("url %d %s", n, req.Get("hash").String()))
			status, body = 200, fmt.Sprintf(`{"url":"https://sync.example/part/%d","expiresAt":1}`, n)
		case method == "PUT":
			got = append(got, fmt.Sprintf("put %s %d", url[strings.LastIndex(url, "/")+1:], init.Get("body").Get("size").Int()))
			status, body = 204, ""
			if strings.HasSuffix(url, "/3") && !failed {
				failed, status, body = true, 503, `{"error":"busy","code":"Unavailable"}`
			}
		case method == "POST" && strings.Contains(url, "upload=16"):
			got = append(got, "commit")
			status, body = 204, ""
		}
		var bd any = body
		if body == "" {
			bd = nil
		}
		resp := js.Global().Get("Response").New(bd, map[string]any{"status": status,
			"headers": map[string]any{"Content-Type": "application/json", syncproto.ProtocolHeader: syncproto.Protocol}})
		return js.Global().Get("Promise").Call("resolve", resp)
	})
	oldFetch, oldXHR := js.Global().Get("fetch"), js.Global().Get("XMLHttpRequest")
	js.Global().Set("fetch", f)
	js.Global().Set("XMLHttpRequest", js.Undefined())
	t.Cleanup(func() {
		js.Global().Set("fetch", oldFetch)
		js.Global().Set("XMLHttpRequest", oldXHR)
		f.Release()
	})
	h := NewHTTP("https://sync.example", "ws", "tok")
	h.spoken.Store(true)
	var progress []string
	err = h.UploadBlob(t.Context(), hash, blobContent{b}, func(sent, total int64) {
		progress = append(progress, fmt.Sprintf("%d/%d", sent, total))
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"grant",
		"url 1 " + assetref.HashBytes([]byte("he")),
		"put 1 2",
		"url 3 " + assetref.HashBytes([]byte("o")),
		"put 3 1",
		"url 3 " + assetref.HashBytes([]byte("o")),
		"put 3 1",
		"commit",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if progress[0] != "2/5" || progress[len(progress)-1] != "5/5" {
		t.Fatalf("progress %v", progress)
	}
}

// TestUploadBlobPartsCancel cancels an upload in parts while a part is on
// its way: UploadBlob returns the context's error, and commits nothing.
func TestUploadBlobPartsCancel(t *testing.T) {
	b, err := fsx.WrapBlob(js.Global().Get("Blob").New([]any{"hello"}, map[string]any{"type": "text/plain"}))
	if err != nil {
		t.Fatal(err)
	}
	grant := `{"url":"https://sync.example/v1/blobparts/ws/2cf2?signature=p","expiresAt":1,` +
		`"commit":"https://sync.example/v1/blobs/ws/2cf2?upload=16&signature=c","parts":{"size":2,"count":3,"stored":[]}}`
	var got []string
	never := js.FuncOf(func(js.Value, []js.Value) any { return nil })
	f := js.FuncOf(func(_ js.Value, args []js.Value) any {
		url, init := args[0].String(), args[1]
		method := init.Get("method").String()
		got = append(got, method+" "+url)
		body := ""
		switch {
		case strings.HasSuffix(url, "/blobs/upload"):
			body = grant
		case method == "POST" && strings.Contains(url, "/blobparts/"):
			body = `{"url":"https://sync.example/part","expiresAt":1}`
		default:
			// A PUT that never ends, nor does anything else.
			return js.Global().Get("Promise").New(never)
		}
		resp := js.Global().Get("Response").New(body, map[string]any{"status": 200,
			"headers": map[string]any{"Content-Type": "application/json", syncproto.ProtocolHeader: syncproto.Protocol}})
		return js.Global().Get("Promise").Call("resolve", resp)
	})
	oldFetch, oldXHR := js.Global().Get("fetch"), js.Global().Get("XMLHttpRequest")
	js.Global().Set("fetch", f)
	js.Global().Set("XMLHttpRequest", js.Undefined())
	t.Cleanup(func() {
		js.Global().Set("fetch", oldFetch)
		js.Global().Set("XMLHttpRequest", oldXHR)
		// The pending PUT keeps its listeners: f and never stay.
	})
	h := NewHTTP("https://sync.example", "ws", "tok")
	h.spoken.Store(true)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = h.UploadBlob(ctx, assetref.HashBytes([]byte("hello")), blobContent{b}, nil)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("UploadBlob after %v: %v, want the deadline's error", time.Since(start), err)
	}
	if last := got[len(got)-1]; last != "PUT https://sync.example/part" {
		t.Fatalf("requests %v, want the part PUT last", got)
	}
}
