package storetest

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/server"
	"github.com/atelierstore/atelier/syncproto"
)

// PartsEnv is what RunParts needs for one test: a Store and a BlobStore,
// empty, which must be a server.PartStore.
type PartsEnv func(tb testing.TB) (server.Store, server.BlobStore)

// RunParts runs the conformance suite of uploads in parts
// (syncproto.BlobParts) through a Server over the stores newEnv
// creates, with Options.PresignBlobs as presign: resuming lists the parts
// stored, wrong part bytes are refused, a commit before the last part or
// of parts that are not the declared blob is refused with nothing
// visible, a repeated commit succeeds, and another workspace that knows
// the blob's hash gets none of the parts.
func RunParts(t *testing.T, newEnv PartsEnv, presign bool) {
	const part = server.MinPartSize
	content := randomContent(2*part+12345, 1)
	other := randomContent(len(content), 2)

	t.Run("Resume", func(t *testing.T) {
		t.Parallel()
		c := newPartsClient(t, newEnv, presign)
		hash := assetref.HashBytes(content)
		g := c.start(hash, len(content), http.StatusOK)
		if g.Parts == nil || g.Parts.Count != 3 || g.Parts.Size != part || len(g.Parts.Stored) != 0 || g.Commit == "" {
			t.Fatalf("grant %+v parts %+v", g, g.Parts)
		}
		if code := c.putPart(g, 1, content, content[:part]); code/100 != 2 {
			t.Fatalf("part 1: %d", code)
		}
		// A part whose bytes are not its declared hash is refused, and
		// nothing of it stays.
		if code := c.putPart(g, 2, content, other[part:2*part]); code != http.StatusBadRequest {
			t.Fatalf("part 2 with other bytes: %d, want 400", code)
		}
		g = c.start(hash, len(content), http.StatusOK)
		if !slices.Equal(g.Parts.Stored, []int{1}) {
			t.Fatalf("stored after part 1: %v", g.Parts.Stored)
		}
		if code := c.commit(g); code != http.StatusConflict {
			t.Fatalf("commit of 1 part of 3: %d, want 409", code)
		}
		c.wantMissing(hash, true)
		for n := 2; n <= 3; n++ {
			if code := c.putPart(g, n, content, content[(n-1)*part:min(n*part, len(content))]); code/100 != 2 {
				t.Fatalf("part %d: %d", n, code)
			}
		}
		if code := c.commit(g); code != http.StatusNoContent {
			t.Fatalf("commit: %d", code)
		}
		c.wantMissing(hash, false)
		if got := c.download(hash); !bytes.Equal(got, content) {
			t.Fatalf("downloaded %d bytes, not the %d uploaded", len(got), len(content))
		}
		if code := c.commit(g); code != http.StatusNoContent {
			t.Fatalf("repeated commit: %d", code)
		}
		c.start(hash, len(content), http.StatusConflict)
	})

	t.Run("WrongWhole", func(t *testing.T) {
		t.Parallel()
		c := newPartsClient(t, newEnv, presign)
		// The parts are other's, each with its own right hash, but the
		// blob declared is content.
		hash := assetref.HashBytes(content)
		g := c.start(hash, len(content), http.StatusOK)
		for n := 1; n <= 3; n++ {
			if code := c.putPart(g, n, other, other[(n-1)*part:min(n*part, len(other))]); code/100 != 2 {
				t.Fatalf("part %d: %d", n, code)
			}
		}
		if code := c.commit(g); code != http.StatusBadRequest {
			t.Fatalf("commit of other bytes: %d, want 400", code)
		}
		c.wantMissing(hash, true)
		if code := c.downloadCode(hash); code != http.StatusNotFound {
			t.Fatalf("download after a refused commit: %d", code)
		}
		// The upload is dropped: it starts again from nothing.
		g = c.start(hash, len(content), http.StatusOK)
		if len(g.Parts.Stored) != 0 {
			t.Fatalf("stored after a refused commit: %v", g.Parts.Stored)
		}
	})

	t.Run("OtherWorkspace", func(t *testing.T) {
		t.Parallel()
		c := newPartsClient(t, newEnv, presign)
		hash := assetref.HashBytes(content)
		g := c.start(hash, len(content), http.StatusOK)
		for n := 1; n <= 3; n++ {
			if code := c.putPart(g, n, content, content[(n-1)*part:min(n*part, len(content))]); code/100 != 2 {
				t.Fatalf("part %d: %d", n, code)
			}
		}
		// Another workspace that knows the hash does not get alpha's
		// parts, before or after alpha's commit.
		beta := c.as("beta")
		gb := beta.start(hash, len(content), http.StatusOK)
		if len(gb.Parts.Stored) != 0 {
			t.Fatalf("beta's upload has alpha's parts: %v", gb.Parts.Stored)
		}
		if code := beta.commit(gb); code != http.StatusConflict {
			t.Fatalf("beta's commit without parts: %d, want 409", code)
		}
		if code := c.commit(g); code != http.StatusNoContent {
			t.Fatalf("alpha's commit: %d", code)
		}
		gb = beta.start(hash, len(content), http.StatusOK)
		if len(gb.Parts.Stored) != 0 {
			t.Fatalf("beta's upload after alpha's commit: %v", gb.Parts.Stored)
		}
		if code := beta.commit(gb); code != http.StatusConflict {
			t.Fatalf("beta's commit without parts after alpha's: %d, want 409", code)
		}
		beta.wantMissing(hash, true)
		// beta sends its own parts and gets the blob, kept once.
		for n := 1; n <= 3; n++ {
			if code := beta.putPart(gb, n, content, content[(n-1)*part:min(n*part, len(content))]); code/100 != 2 {
				t.Fatalf("beta's part %d: %d", n, code)
			}
		}
		if code := beta.commit(gb); code != http.StatusNoContent {
			t.Fatalf("beta's commit: %d", code)
		}
		if got := beta.download(hash); !bytes.Equal(got, content) {
			t.Fatalf("beta downloaded %d bytes, not the %d uploaded", len(got), len(content))
		}
	})

	t.Run("Small", func(t *testing.T) {
		t.Parallel()
		c := newPartsClient(t, newEnv, presign)
		small := content[:100]
		g := c.start(assetref.HashBytes(small), len(small), http.StatusOK)
		if g.Parts != nil {
			t.Fatalf("a blob under the threshold got parts: %+v", g.Parts)
		}
	})
}

func randomContent(n int, seed byte) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}

// partsClient speaks the upload protocol to a test server.
type partsClient struct {
	tb  testing.TB
	srv *httptest.Server
	ws  string
}

// as is the client of workspace ws on the same server.
func (c *partsClient) as(ws string) *partsClient {
	return &partsClient{tb: c.tb, srv: c.srv, ws: ws}
}

func newPartsClient(tb testing.TB, newEnv PartsEnv, presign bool) *partsClient {
	tb.Helper()
	store, blobs := newEnv(tb)
	tokens, err := server.NewTokens(map[string]string{tokenOf("alpha"): "alpha", tokenOf("beta"): "beta"})
	if err != nil {
		tb.Fatal(err)
	}
	h, err := server.New(store, blobs, &server.Options{
		Tokens: tokens, Logger: slog.New(slog.NewTextHandler(logWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn})), PresignBlobs: presign,
		PartThreshold: 1 << 20, PartSize: server.MinPartSize,
	})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return &partsClient{tb: tb, srv: srv, ws: "alpha"}
}

// call sends a request and decodes a 2xx JSON answer into out (if not
// nil), returning the status.
func (c *partsClient) call(method, url string, header map[string]string, body []byte, out any) int {
	c.tb.Helper()
	if strings.HasPrefix(url, "/") {
		url = c.srv.URL + url
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		c.tb.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.tb.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(data, out); err != nil {
			c.tb.Fatalf("%s %s: %v in %s", method, url, err, data)
		}
	}
	return resp.StatusCode
}

func (c *partsClient) authed(route string, req, out any) int {
	c.tb.Helper()
	body, _ := json.Marshal(req)
	return c.call("POST", strings.Replace(route, "{ws}", c.ws, 1),
		map[string]string{"Authorization": "Bearer " + tokenOf(c.ws)}, body, out)
}

func (c *partsClient) start(hash string, size, want int) *syncproto.BlobURLResponse {
	c.tb.Helper()
	var g syncproto.BlobURLResponse
	if code := c.authed(syncproto.RouteBlobUpload, syncproto.BlobURLRequest{Hash: hash, Bytes: int64(size), MIME: "application/x-test"}, &g); code != want {
		c.tb.Fatalf("upload URL: %d, want %d", code, want)
	}
	return &g
}

// putPart asks for the URL of part n of blob (declaring the hash of
// blob's part n) and PUTs body there.
func (c *partsClient) putPart(g *syncproto.BlobURLResponse, n int, blob, body []byte) int {
	c.tb.Helper()
	size := g.Parts.Size
	declared := blob[int64(n-1)*size : min(int64(n)*size, int64(len(blob)))]
	req, _ := json.Marshal(syncproto.BlobPartRequest{Part: n, Hash: assetref.HashBytes(declared)})
	var p syncproto.BlobPartResponse
	if code := c.call("POST", g.URL, nil, req, &p); code != http.StatusOK {
		c.tb.Fatalf("part %d URL: %d", n, code)
	}
	return c.call("PUT", p.URL, p.Headers, body, nil)
}

func (c *partsClient) commit(g *syncproto.BlobURLResponse) int {
	c.tb.Helper()
	return c.call("POST", g.Commit, nil, nil, nil)
}

func (c *partsClient) wantMissing(hash string, missing bool) {
	c.tb.Helper()
	var r syncproto.BlobCheckResponse
	if code := c.authed(syncproto.RouteBlobCheck, syncproto.BlobCheckRequest{Hashes: []string{hash}}, &r); code != http.StatusOK {
		c.tb.Fatalf("blob check: %d", code)
	}
	if got := len(r.Missing) == 1; got != missing {
		c.tb.Fatalf("blob %s missing: %v, want %v", hash, got, missing)
	}
}

func (c *partsClient) downloadCode(hash string) int {
	c.tb.Helper()
	return c.authed(syncproto.RouteBlobDownload, syncproto.BlobURLRequest{Hash: hash}, nil)
}

func (c *partsClient) download(hash string) []byte {
	c.tb.Helper()
	var g syncproto.BlobURLResponse
	if code := c.authed(syncproto.RouteBlobDownload, syncproto.BlobURLRequest{Hash: hash}, &g); code != http.StatusOK {
		c.tb.Fatalf("download URL: %d", code)
	}
	resp, err := http.Get(g.URL)
	if err != nil {
		c.tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		c.tb.Fatalf("download: %d %v", resp.StatusCode, err)
	}
	return b
}

// logWriter sends the server's log lines to the test's log.
type logWriter struct{ tb testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
