//go:build js && wasm

package syncengine

import (
	"bytes"
	"fmt"
	"strings"
	"syscall/js"
	"testing"

	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// blobBytes is an n-byte content where every byte tells its offset.
func blobBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>16)
	}
	return b
}

// cutServer replaces fetch with a server of one blob, content, whose GETs
// honour a Range "bytes=N-" with a 206 unless ignoreRange, and whose
// body breaks off (the stream errors, as a dropped connection does) after
// cut(n) bytes of the n-th GET (from 1; a negative cut never). It returns
// the GETs' Range headers.
func cutServer(t *testing.T, content []byte, ignoreRange bool, cut func(n int) int) (ranges func() []string) {
	t.Helper()
	var got []string
	var fs jsutil.Funcs
	t.Cleanup(fs.Release)
	serveFetch(t, func(url string, init js.Value) answer {
		if strings.HasSuffix(url, "/blobs/download") {
			return answer{status: 200, body: `{"url":"https://blobs.example/b?sig=1","expiresAt":9000000000000000}`}
		}
		rg := reqHeader(init, "Range")
		got = append(got, fmt.Sprint(rg))
		start, status := 0, 200
		headers := map[string]any{"Content-Type": "video/mp4"}
		if rg.Type() == js.TypeString && !ignoreRange {
			fmt.Sscanf(rg.String(), "bytes=%d-", &start)
			status = 206
			headers["Content-Range"] = fmt.Sprintf("bytes %d-%d/%d", start, len(content)-1, len(content))
		}
		rest := content[start:]
		headers["Content-Length"] = fmt.Sprint(len(rest))
		limit := cut(len(got))
		off := 0
		pull := fs.Add(func(_ js.Value, a []js.Value) any {
			ctl := a[0]
			if limit >= 0 && off >= limit {
				ctl.Call("error", js.Global().Get("TypeError").New("network error"))
				return nil
			}
			if off == len(rest) {
				ctl.Call("close")
				return nil
			}
			end := min(off+1<<20, len(rest))
			if limit >= 0 {
				end = min(end, limit)
			}
			ctl.Call("enqueue", jsutil.Uint8Array(rest[off:end]))
			off = end
			return nil
		})
		body := js.Global().Get("ReadableStream").New(map[string]any{"pull": pull})
		return answer{status: status, body: body, headers: headers}
	})
	return func() []string { return got }
}

func readAll(t *testing.T, b *fsx.Blob) []byte {
	t.Helper()
	p := make([]byte, b.Size())
	if n, err := b.ReadAt(t.Context(), p, 0); err != nil || n != len(p) {
		t.Fatalf("reading the downloaded Blob: %d bytes, %v", n, err)
	}
	return p
}

// A large download that breaks off goes on from the byte where it
// stopped, and the Blob it gives is the whole content.
func TestDownloadResumes(t *testing.T) {
	content := blobBytes(resumeFrom + 3<<20 + 5)
	for _, tc := range []struct {
		name        string
		ignoreRange bool
		cuts        map[int]int // the GETs that break off, after how many bytes
		ranges      string
	}{
		{"broken twice", false, map[int]int{1: 5 << 20, 2: 1<<20 + 17}, "<null> bytes=5242880- bytes=6291473-"},
		{"unbroken", false, nil, "<null>"},
		{"a 200 for a Range starts again", true, map[int]int{1: 3 << 20}, "<null> bytes=3145728-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ranges := cutServer(t, content, tc.ignoreRange, func(n int) int {
				if c, ok := tc.cuts[n]; ok {
					return c
				}
				return -1
			})
			h := NewHTTP("https://sync.example", "ws", "tok")
			ab, err := h.DownloadBlob(t.Context(), "sha256-x")
			if err != nil {
				t.Fatal(err)
			}
			b, ok := fsx.BlobOf(ab)
			if !ok {
				t.Fatalf("DownloadBlob gave %T, not a browser Blob", ab)
			}
			if got := strings.Join(ranges(), " "); got != tc.ranges {
				t.Errorf("GETs with Range %s, want %s", got, tc.ranges)
			}
			if ab.MIME() != "video/mp4" {
				t.Errorf("MIME %q", ab.MIME())
			}
			if got := readAll(t, b); !bytes.Equal(got, content) {
				t.Fatalf("downloaded %d bytes, not the content (%d bytes)", len(got), len(content))
			}
		})
	}
}

// Tries that bring no byte end the download after maxStalls of them.
func TestDownloadGivesUpWhenNothingComes(t *testing.T) {
	content := blobBytes(resumeFrom + 1)
	ranges := cutServer(t, content, false, func(n int) int {
		if n == 1 {
			return 2 << 20
		}
		return 0
	})
	h := NewHTTP("https://sync.example", "ws", "tok")
	_, err := h.DownloadBlob(t.Context(), "sha256-x")
	if err == nil || !strings.Contains(err.Error(), "broke off after 2097152 of") {
		t.Fatalf("download that stalls: %v", err)
	}
	if got := len(ranges()); got != 1+maxStalls {
		t.Fatalf("%d GETs, want %d", got, 1+maxStalls)
	}
}
