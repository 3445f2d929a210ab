package s3blob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/server"
	"github.com/atelierstore/atelier/server/internal/s3test"
	"github.com/atelierstore/atelier/server/s3blob"
	"github.com/atelierstore/atelier/server/sqlite"
	"github.com/atelierstore/atelier/syncproto"
)

// presignEnv is a sync server whose blobs are in a bucket, handing out
// presigned URLs or its own.
type presignEnv struct {
	t     testing.TB
	cfg   s3blob.Config
	blobs *s3blob.Store
	admin *minio.Client
	srv   *httptest.Server
}

func newPresignEnv(t testing.TB, presign bool) *presignEnv {
	cfg := s3test.Config(t)
	e := &presignEnv{t: t, cfg: cfg, blobs: open(t, cfg)}
	var err error
	if e.admin, err = s3test.Client(cfg.Endpoint); err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "sync.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	tokens, err := server.NewTokens(map[string]string{"token-alpha": "alpha"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := server.New(store, e.blobs, &server.Options{Tokens: tokens, PresignBlobs: presign, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request; token "" sends none, header adds headers.
func (e *presignEnv) do(method, url, token string, body []byte, header map[string]string) answer {
	e.t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, b}
}

func (e *presignEnv) grant(route string, req syncproto.BlobURLRequest) syncproto.BlobURLResponse {
	e.t.Helper()
	body, _ := json.Marshal(req)
	a := e.do("POST", e.srv.URL+strings.Replace(route, "{ws}", "alpha", 1), "token-alpha", body, nil)
	var g syncproto.BlobURLResponse
	if a.status != http.StatusOK || json.Unmarshal(a.body, &g) != nil {
		e.t.Fatalf("%s: %d %s", route, a.status, a.body)
	}
	return g
}

func (e *presignEnv) missing(hash string) bool {
	e.t.Helper()
	body, _ := json.Marshal(syncproto.BlobCheckRequest{Hashes: []string{hash}})
	a := e.do("POST", e.srv.URL+strings.Replace(syncproto.RouteBlobCheck, "{ws}", "alpha", 1), "token-alpha", body, nil)
	var c syncproto.BlobCheckResponse
	if a.status != http.StatusOK || json.Unmarshal(a.body, &c) != nil {
		e.t.Fatalf("check: %d %s", a.status, a.body)
	}
	return len(c.Missing) == 1
}

func (e *presignEnv) stored(sum [32]byte) bool {
	e.t.Helper()
	_, err := e.admin.StatObject(context.Background(), e.cfg.Bucket, e.blobs.Key(sum), minio.StatObjectOptions{})
	if err != nil && minio.ToErrorResponse(err).Code != minio.NoSuchKey {
		e.t.Fatal(err)
	}
	return err == nil
}

// TestPresignedUpload goes through an upload to a presigned URL: the
// store refuses bytes other than the declared ones, and the workspace has
// the blob only once the commit found it stored.
func TestPresignedUpload(t *testing.T) {
	e := newPresignEnv(t, true)
	content := randomBytes(300_000)
	sum := sha256.Sum256(content)
	hash := assetref.HashBytes(content)
	g := e.grant(syncproto.RouteBlobUpload, syncproto.BlobURLRequest{Hash: hash, Bytes: int64(len(content)), MIME: "image/png"})
	if !strings.HasPrefix(g.URL, e.cfg.Endpoint+"/") || g.Commit == "" || !strings.HasPrefix(g.Commit, e.srv.URL+"/") {
		t.Fatalf("grant: %+v", g)
	}
	if len(g.Headers) != 1 || g.Headers["X-Amz-Checksum-Sha256"] == "" {
		t.Fatalf("grant headers: %v", g.Headers)
	}

	if a := e.do("POST", g.Commit, "", nil, nil); a.status != http.StatusNotFound {
		t.Fatalf("commit before the upload: %d %s", a.status, a.body)
	}
	other := append([]byte(nil), content...)
	other[1000] ^= 1
	for name, tc := range map[string]struct {
		body   []byte
		header map[string]string
	}{
		"without the checksum header": {content, nil},
		"other bytes":                 {other, g.Headers},
		"fewer bytes":                 {content[:len(content)-1], g.Headers},
		"more bytes":                  {append(append([]byte(nil), content...), 0), g.Headers},
		"another checksum":            {other, map[string]string{"X-Amz-Checksum-Sha256": "Z0VUamFvenNmbHpFenN0d2ZxbXR2ZGZ1Z2t6dWJ1dmg="}},
	} {
		a := e.do("PUT", g.URL, "", tc.body, tc.header)
		if a.status < 400 {
			t.Fatalf("PUT %s: %d %s", name, a.status, a.body)
		}
		var code struct{ Code string }
		xml.Unmarshal(a.body, &code)
		t.Logf("PUT %s: %d %s", name, a.status, code.Code)
		if e.stored(sum) {
			t.Fatalf("PUT %s: stored", name)
		}
	}

	if a := e.do("PUT", g.URL, "", content, g.Headers); a.status != http.StatusOK {
		t.Fatalf("PUT: %d %s", a.status, a.body)
	}
	if !e.missing(hash) {
		t.Fatal("the workspace has the blob before the commit")
	}
	if a := e.do("POST", g.Commit, "", nil, nil); a.status != http.StatusNoContent {
		t.Fatalf("commit: %d %s", a.status, a.body)
	}
	if e.missing(hash) {
		t.Fatal("the workspace lacks the blob after the commit")
	}
	if a := e.do("POST", g.Commit, "", nil, nil); a.status != http.StatusNoContent {
		t.Fatalf("second commit: %d %s", a.status, a.body)
	}
	// The commit URL is signed: another workspace's or size's is refused.
	if a := e.do("POST", strings.Replace(g.Commit, "size=", "size=1", 1), "", nil, nil); a.status != http.StatusForbidden {
		t.Fatalf("tampered commit: %d %s", a.status, a.body)
	}

	d := e.grant(syncproto.RouteBlobDownload, syncproto.BlobURLRequest{Hash: hash})
	if !strings.HasPrefix(d.URL, e.cfg.Endpoint+"/") {
		t.Fatalf("download URL %s is not the store's", d.URL)
	}
	a := e.do("GET", d.URL, "", nil, nil)
	if a.status != http.StatusOK || !bytes.Equal(a.body, content) || a.header.Get("Content-Type") != "image/png" {
		t.Fatalf("download: %d, %d bytes, %v", a.status, len(a.body), a.header)
	}
	a = e.do("GET", d.URL, "", nil, map[string]string{"Range": "bytes=10-19"})
	if a.status != http.StatusPartialContent || !bytes.Equal(a.body, content[10:20]) {
		t.Fatalf("range: %d %x", a.status, a.body)
	}
}

// TestCommitChecksStoredBytes commits what a store that did not check
// the checksum would have kept: bytes that are not the blob are refused
// and removed, a wrong declared size is refused and the blob kept.
func TestCommitChecksStoredBytes(t *testing.T) {
	e := newPresignEnv(t, true)
	ctx := context.Background()
	content := []byte("the real bytes")
	sum := sha256.Sum256(content)
	hash := assetref.HashBytes(content)
	put := func(b []byte) {
		t.Helper()
		if _, err := e.admin.PutObject(ctx, e.cfg.Bucket, e.blobs.Key(sum), bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	g := e.grant(syncproto.RouteBlobUpload, syncproto.BlobURLRequest{Hash: hash, Bytes: int64(len(content))})
	put([]byte("other bytes, same key"))
	if a := e.do("POST", g.Commit, "", nil, nil); a.status != http.StatusBadRequest {
		t.Fatalf("commit of other bytes: %d %s", a.status, a.body)
	}
	if e.stored(sum) || !e.missing(hash) {
		t.Fatal("other bytes were kept, or the blob recorded")
	}

	put(content)
	lie := e.grant(syncproto.RouteBlobUpload, syncproto.BlobURLRequest{Hash: hash, Bytes: int64(len(content)) + 1})
	if a := e.do("POST", lie.Commit, "", nil, nil); a.status != http.StatusBadRequest {
		t.Fatalf("commit with a wrong size: %d %s", a.status, a.body)
	}
	if !e.stored(sum) || !e.missing(hash) {
		t.Fatal("the blob's bytes were removed, or the blob recorded with a wrong size")
	}
	// Stored without a checksum: the commit hashes the object.
	if a := e.do("POST", g.Commit, "", nil, nil); a.status != http.StatusNoContent || e.missing(hash) {
		t.Fatalf("commit: %d %s", a.status, a.body)
	}
	if err := e.blobs.CheckBlob(ctx, sha256.Sum256([]byte("nothing")), 7); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("CheckBlob of nothing: %v", err)
	}
}

// BenchmarkUpload256MiB uploads a 256 MiB blob to a presigned URL of the
// store (and commits it), and to the server's own URL, which streams it
// into the store: the bytes' one trip against their two.
func BenchmarkUpload256MiB(b *testing.B) {
	content := randomBytes(256 << 20)
	for _, presign := range []bool{true, false} {
		name := map[bool]string{true: "presigned", false: "server"}[presign]
		b.Run(name, func(b *testing.B) {
			e := newPresignEnv(b, presign)
			b.SetBytes(int64(len(content)))
			for i := 0; b.Loop(); i++ {
				content[0], content[1] = byte(i), byte(i>>8)
				hash := assetref.HashBytes(content)
				g := e.grant(syncproto.RouteBlobUpload, syncproto.BlobURLRequest{Hash: hash, Bytes: int64(len(content))})
				if a := e.do("PUT", g.URL, "", content, g.Headers); a.status/100 != 2 {
					b.Fatalf("PUT: %d %s", a.status, a.body)
				}
				if g.Commit != "" {
					if a := e.do("POST", g.Commit, "", nil, nil); a.status != http.StatusNoContent {
						b.Fatalf("commit: %d %s", a.status, a.body)
					}
				}
			}
		})
	}
}
