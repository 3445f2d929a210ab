package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/server/internal/s3test"
	"github.com/atelierstore/atelier/server/s3blob"
	"github.com/atelierstore/atelier/syncproto"
)

func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }

func TestS3Flags(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "s3-secret")
	os.WriteFile(keyFile, []byte("from-file\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	env := map[string]string{"AWS_ACCESS_KEY_ID": "env-id", "AWS_SECRET_ACCESS_KEY": "env-secret"}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want *s3blob.Config // nil: no S3
		bad  bool
	}{
		{name: "no S3", args: nil, env: env},
		{name: "everything", env: env,
			args: []string{"-s3-endpoint", "http://127.0.0.1:8333", "-s3-bucket", "b", "-s3-region", "r", "-s3-prefix", "p/", "-s3-path-style",
				"-s3-access-key", "flag-id", "-s3-secret-key-file", keyFile},
			want: &s3blob.Config{Endpoint: "http://127.0.0.1:8333", Bucket: "b", Region: "r", Prefix: "p/", PathStyle: true, AccessKey: "flag-id", SecretKey: "from-file"}},
		{name: "credentials from the environment", env: env,
			args: []string{"-s3-endpoint", "https://s3.example.com", "-s3-bucket", "b"},
			want: &s3blob.Config{Endpoint: "https://s3.example.com", Bucket: "b", AccessKey: "env-id", SecretKey: "env-secret"}},
		{name: "no credentials", args: []string{"-s3-endpoint", "https://s3.example.com", "-s3-bucket", "b"},
			want: &s3blob.Config{Endpoint: "https://s3.example.com", Bucket: "b"}},
		{name: "bucket without endpoint", args: []string{"-s3-bucket", "b"}, bad: true},
		{name: "path style without endpoint", args: []string{"-s3-path-style"}, bad: true},
		{name: "presign without endpoint", args: []string{"-s3-presign"}, bad: true},
		{name: "endpoint without bucket", args: []string{"-s3-endpoint", "https://s3.example.com"}, bad: true},
		{name: "missing key file", args: []string{"-s3-endpoint", "https://s3.example.com", "-s3-bucket", "b", "-s3-secret-key-file", filepath.Join(dir, "none")}, bad: true},
		{name: "empty key file", args: []string{"-s3-endpoint", "https://s3.example.com", "-s3-bucket", "b", "-s3-secret-key-file", empty}, bad: true},
	} {
		fl := flag.NewFlagSet("test", flag.ContinueOnError)
		f := addS3Flags(fl)
		if err := fl.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		cfg, ok, err := f.config(func(k string) string { return tc.env[k] })
		switch {
		case tc.bad:
			if err == nil {
				t.Errorf("%s: no error", tc.name)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want == nil && ok:
			t.Errorf("%s: S3 chosen: %+v", tc.name, cfg)
		case tc.want != nil && (!ok || cfg != *tc.want):
			t.Errorf("%s: %+v (%v), want %+v", tc.name, cfg, ok, *tc.want)
		}
	}
}

func TestRunRefusesBadS3(t *testing.T) {
	dir := t.TempDir()
	for name, args := range map[string][]string{
		"bad endpoint": {"-s3-endpoint", "s3.example.com", "-s3-bucket", "b"},
		"no bucket":    {"-s3-endpoint", "http://127.0.0.1:1"},
		"no store":     {"-s3-endpoint", "http://127.0.0.1:1", "-s3-bucket", "b", "-s3-access-key", "a"},
	} {
		t.Setenv("AWS_SECRET_ACCESS_KEY", "s")
		args = append([]string{"-data", dir, "-token", "t=w", "-addr", "127.0.0.1:0"}, args...)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		if err := run(ctx, args, slog.New(slog.DiscardHandler), nil); err == nil {
			t.Errorf("%s: run succeeded", name)
		}
		cancel()
	}
}

// TestRunWithS3 starts the command with its blobs in a bucket and checks
// that uploads land there, and not in DATA/blobs: through the server, and
// with -s3-presign straight to the bucket and committed.
func TestRunWithS3(t *testing.T) {
	cfg := s3test.Config(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "s3-secret")
	os.WriteFile(keyFile, []byte(cfg.SecretKey), 0o600)
	c, err := s3test.Client(cfg.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	for _, presign := range []bool{false, true} {
		args := []string{"-addr", "127.0.0.1:0", "-data", dir, "-token", "dev-token=dev",
			"-s3-endpoint", cfg.Endpoint, "-s3-bucket", cfg.Bucket, "-s3-region", cfg.Region, "-s3-path-style", "-s3-prefix", "atelier",
			"-s3-access-key", cfg.AccessKey, "-s3-secret-key-file", keyFile}
		if presign {
			args = append(args, "-s3-presign")
		}
		base, stop := startRun(t, args)
		content := []byte(fmt.Sprintf("bytes kept in a bucket, presigned: %v", presign))
		u := postJSON(t, base+strings.Replace(syncproto.RouteBlobUpload, "{ws}", "dev", 1),
			syncproto.BlobURLRequest{Hash: assetref.HashBytes(content), Bytes: int64(len(content)), MIME: "text/plain"})
		if got := strings.HasPrefix(u.URL, cfg.Endpoint+"/"); got != presign || (u.Commit != "") != presign {
			t.Fatalf("presign %v: grant %+v", presign, u)
		}
		if status := send(t, "PUT", u.URL, content, u.Headers); status/100 != 2 {
			t.Fatalf("upload: %d", status)
		}
		if u.Commit != "" {
			if status := send(t, "POST", u.Commit, nil, nil); status != 204 {
				t.Fatalf("commit: %d", status)
			}
		}
		d := postJSON(t, base+strings.Replace(syncproto.RouteBlobDownload, "{ws}", "dev", 1), syncproto.BlobURLRequest{Hash: assetref.HashBytes(content)})
		if got := strings.HasPrefix(d.URL, cfg.Endpoint+"/"); got != presign {
			t.Fatalf("presign %v: download URL %s", presign, d.URL)
		}
		stop()

		sum := sha256.Sum256(content)
		obj, err := c.GetObject(context.Background(), cfg.Bucket, "atelier/sha256/"+hex.EncodeToString(sum[:]), minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(obj)
		obj.Close()
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("the bucket holds %q, %v", got, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "blobs")); !os.IsNotExist(err) {
		t.Fatalf("DATA/blobs was created: %v", err)
	}
}

// startRun runs the command with args until the returned stop.
func startRun(t *testing.T, args []string) (base string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, slog.New(slog.DiscardHandler), func(a string) { addr <- a }) }()
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		cancel()
		t.Fatalf("run: %v", err)
	}
	return base, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run after shutdown: %v", err)
		}
	}
}

// postJSON asks url for a blob URL with dev's token.
func postJSON(t *testing.T, url string, req syncproto.BlobURLRequest) syncproto.BlobURLResponse {
	t.Helper()
	body, _ := json.Marshal(req)
	r, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	r.Header.Set("Authorization", "Bearer dev-token")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var u syncproto.BlobURLResponse
	if err := json.NewDecoder(resp.Body).Decode(&u); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%s: %d %v", url, resp.StatusCode, err)
	}
	return u
}

// send sends body to url without a token and returns the status.
func send(t *testing.T, method, url string, body []byte, header map[string]string) int {
	t.Helper()
	r, _ := http.NewRequest(method, url, bytes.NewReader(body))
	for k, v := range header {
		r.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
