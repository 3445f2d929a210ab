//go:build js && wasm

package syncengine

import (
	"fmt"
	"strings"
	"syscall/js"
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/fsx"
)

// blobContent is Content holding a browser Blob.
type blobContent struct{ b *fsx.Blob }

func (c blobContent) Size() int64         { return c.b.Size() }
func (c blobContent) MIME() string        { return "text/plain" }
func (c blobContent) Close() error        { return nil }
func (c blobContent) Blob() assetref.Blob { return c.b.Asset("") }

// fakeBlobServer replaces fetch (and removes XMLHttpRequest, so that the
// upload goes through fetch too) with a server whose upload URL request
// is answered grant, whose PUT is answered putStatus and commit
// commitStatus; it returns the requests: method, URL and the checksum
// header.
func fakeBlobServer(t *testing.T, grant string, putStatus, commitStatus int) (requests func() []string) {
	t.Helper()
	var got []string
	serveFetch(t, func(url string, init js.Value) answer {
		m := method(init)
		got = append(got, fmt.Sprintf("%s %s %v", m, url, reqHeader(init, "x-amz-checksum-sha256")))
		switch {
		case strings.HasSuffix(url, "/blobs/upload"):
			return answer{status: 200, body: grant}
		case m == "PUT":
			return answer{status: putStatus}
		case m == "POST" && strings.Contains(url, "/commit"):
			if commitStatus == 400 {
				return answer{status: 400, body: `{"error":"the bytes are not the declared ones","code":"Invalid"}`}
			}
			return answer{status: commitStatus}
		}
		return answer{status: 404, body: `{"error":"no","code":"NotFound"}`}
	})
	return func() []string { return got }
}

// TestUploadBlobCommits uploads to a presigned URL: the PUT carries the
// headers of the answer, and the commit follows it; a refused commit is
// the upload's error.
func TestUploadBlobCommits(t *testing.T) {
	b, err := fsx.WrapBlob(js.Global().Get("Blob").New([]any{"hello"}, map[string]any{"type": "text/plain"}))
	if err != nil {
		t.Fatal(err)
	}
	hash := assetref.HashBytes([]byte("hello"))
	grant := `{"url":"https://store.example/bucket/key?X-Amz-Signature=s","expiresAt":1,` +
		`"headers":{"X-Amz-Checksum-Sha256":"LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="},` +
		`"commit":"https://sync.example/v1/blobs/ws/2cf2/commit?signature=c"}`
	h := NewHTTP("https://sync.example", "ws", "tok")
	h.spoken.Store(true)

	requests := fakeBlobServer(t, grant, 200, 204)
	if err := h.UploadBlob(t.Context(), hash, blobContent{b}, nil); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"POST https://sync.example/v1/workspaces/ws/blobs/upload <null>",
		"PUT https://store.example/bucket/key?X-Amz-Signature=s LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=",
		"POST https://sync.example/v1/blobs/ws/2cf2/commit?signature=c <null>",
	}
	if got := requests(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	fakeBlobServer(t, grant, 200, 400)
	if err := h.UploadBlob(t.Context(), hash, blobContent{b}, nil); err == nil || !strings.Contains(err.Error(), "not the declared") {
		t.Fatalf("upload with a refused commit: %v", err)
	}
	// A refused PUT is not committed.
	requests = fakeBlobServer(t, grant, 403, 204)
	if err := h.UploadBlob(t.Context(), hash, blobContent{b}, nil); err == nil {
		t.Fatal("upload with a refused PUT succeeded")
	}
	if got := requests(); len(got) != 2 {
		t.Fatalf("requests after a refused PUT: %v", got)
	}
	// A server's own URL needs no commit.
	requests = fakeBlobServer(t, `{"url":"https://sync.example/v1/blobs/ws/2cf2?signature=s","expiresAt":1}`, 204, 500)
	if err := h.UploadBlob(t.Context(), hash, blobContent{b}, nil); err != nil {
		t.Fatal(err)
	}
	if got := requests(); len(got) != 2 {
		t.Fatalf("requests of an upload to the server: %v", got)
	}
}
