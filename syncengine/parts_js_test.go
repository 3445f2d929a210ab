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
	serveFetch(t, func(url string, init js.Value) answer {
		m := method(init)
		switch {
		case strings.HasSuffix(url, "/blobs/upload"):
			got = append(got, "grant")
			return answer{status: 200, body: grant}
		case m == "POST" && strings.Contains(url, "/blobparts/"):
			req := js.Global().Get("JSON").Call("parse", init.Get("body"))
			n := req.Get("part").Int()
			got = append(got, fmt.Sprintf("url %d %s", n, req.Get("hash").String()))
			return answer{status: 200, body: fmt.Sprintf(`{"url":"https://sync.example/part/%d","expiresAt":1}`, n)}
		case m == "PUT":
			got = append(got, fmt.Sprintf("put %s %d", url[strings.LastIndex(url, "/")+1:], init.Get("body").Get("size").Int()))
			if strings.HasSuffix(url, "/3") && !failed {
				failed = true
				return answer{status: 503, body: `{"error":"busy","code":"Unavailable"}`}
			}
			return answer{status: 204}
		case m == "POST" && strings.Contains(url, "upload=16"):
			got = append(got, "commit")
			return answer{status: 204}
		}
		return answer{status: 404, body: `{"error":"no","code":"NotFound"}`}
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
	serveFetch(t, func(url string, init js.Value) answer {
		m := method(init)
		got = append(got, m+" "+url)
		switch {
		case strings.HasSuffix(url, "/blobs/upload"):
			return answer{status: 200, body: grant}
		case m == "POST" && strings.Contains(url, "/blobparts/"):
			return answer{status: 200, body: `{"url":"https://sync.example/part","expiresAt":1}`}
		}
		// A PUT that never ends, nor does anything else.
		return answer{pending: true}
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
